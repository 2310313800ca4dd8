"""What the compiler core asks the Python side: a function's source, and what
the free names of a function refer to. The answers are plain tuples that
``hypersonic._core`` reads."""

from __future__ import annotations

import builtins
import inspect
import linecache
import math
import cmath
import textwrap
import types as pytypes

import numpy as np

from . import types as hstypes

# Functions the compiler may be asked about, by their key (``id()``); the
# registry keeps them alive so keys stay unique.
_functions: dict[int, pytypes.FunctionType] = {}

_MODULES = {np: "numpy", math: "math", cmath: "cmath"}


def source_info(func) -> tuple:
    """``(key, name, filename, first_line, col_offset, source)`` of a Python function."""
    func = inspect.unwrap(getattr(func, "py_func", func))
    if not isinstance(func, pytypes.FunctionType):
        raise TypeError(f"{func!r} is not a Python function; only functions defined with def can be compiled")
    found = _fast_source_lines(func)
    if found is None:
        try:
            found = inspect.getsourcelines(func)
        except (OSError, TypeError) as e:
            raise TypeError(
                f"cannot read the source of {func.__qualname__}: {e}. Hypersonic compiles "
                "functions defined in files (or in notebooks and the REPL where source is kept)"
            ) from None
    lines, first_line = found
    raw = "".join(lines)
    source = textwrap.dedent(raw)
    first = next((ln for ln in lines if ln.strip()), "")
    col_offset = len(first) - len(first.lstrip()) if source != raw else 0
    filename = func.__code__.co_filename
    key = id(func)
    _functions[key] = func
    return (key, func.__name__, filename, max(first_line, 1), col_offset, source)


def _fast_source_lines(func):
    """The function's lines found by indentation, without ``inspect``'s tokenizer
    (which costs milliseconds on a first compile). None when unsure: the caller
    then asks ``inspect``."""
    code = func.__code__
    lines = linecache.getlines(code.co_filename, func.__globals__)
    start = code.co_firstlineno - 1
    if not lines or start >= len(lines):
        return None
    head = lines[start]
    indent = len(head) - len(head.lstrip())
    end = start + 1
    in_def_header = not head.lstrip().startswith("def ")
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if in_def_header:
            if stripped.startswith(("def ", "async def ")):
                in_def_header = False
            end += 1
            continue
        if stripped and not stripped.startswith("#") and len(line) - len(line.lstrip()) <= indent:
            break
        end += 1
    block = lines[start:end]
    while block and not block[-1].strip():
        block.pop()
    text = textwrap.dedent("".join(block))
    # A cut inside a string, a bracket or a continuation does not compile.
    try:
        compile(text, code.co_filename, "exec", dont_inherit=True)
    except SyntaxError:
        return None
    return block, start + 1


def _builtin_name(obj) -> str | None:
    """Qualified name of a function or type the compiler knows, else None."""
    for mod, modname in _MODULES.items():
        name = getattr(obj, "__name__", None)
        if name is not None and getattr(mod, name, None) is obj:
            return f"{modname}.{name}"
    name = getattr(obj, "__name__", None)
    if name is not None and getattr(builtins, name, None) is obj:
        return f"builtins.{name}"
    if isinstance(obj, hstypes.Type):
        return f"hypersonic.{obj}"
    return None


def _const(value):
    if isinstance(value, (bool, int, float, complex)) or value is None:
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
            return None
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return value.item()
    if isinstance(value, tuple):
        items = [_const(v) for v in value]
        if any(i is None and v is not None for i, v in zip(items, value)):
            return None
        return tuple(items)
    return None


def describe(value) -> tuple:
    """The compiler's view of a global value."""
    if isinstance(value, pytypes.ModuleType):
        if value in _MODULES:
            return ("module", _MODULES[value])
        if value.__name__ in ("hypersonic", "hypersonic.cuda", "numba.cuda"):
            return ("module", value.__name__)
        if value.__name__ == "numba":
            return ("module", "numba")
        return ("unsupported", f"the module {value.__name__}, which compiled code cannot use")
    if isinstance(value, type) and issubclass(value, BaseException):
        if getattr(builtins, value.__name__, None) is value:
            return ("exception", value.__name__)
        return ("unsupported", f"the exception class {value.__name__}; compiled code can raise builtin exceptions")
    qualname = getattr(value, "_hs_qualname", None)
    if isinstance(qualname, str):
        return ("builtin", qualname)
    name = _builtin_name(value)
    if name is not None:
        return ("builtin", name)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return ("unsupported", f"an array of dtype {value.dtype}")
        layout = hstypes._layout(value)
        dtype = "bool" if value.dtype.kind == "b" else value.dtype.name
        return ("array", value, dtype, layout, value.ctypes.data, tuple(value.shape), tuple(value.strides))
    py_func = getattr(value, "py_func", None)
    if isinstance(py_func, pytypes.FunctionType):
        return ("function", source_info(py_func))
    if isinstance(value, pytypes.FunctionType):
        return ("function", source_info(value))
    const = _const(value)
    if const is not None or value is None:
        return ("const", const)
    return ("unsupported", f"a {type(value).__name__} object")


def resolve(key: int, name: str):
    """What ``name``, free in the function with ``key``, refers to, or None."""
    func = _functions[key]
    if func.__closure__:
        for cell_name, cell in zip(func.__code__.co_freevars, func.__closure__):
            if cell_name == name:
                try:
                    return describe(cell.cell_contents)
                except ValueError:
                    return None
    if name in func.__globals__:
        return describe(func.__globals__[name])
    if hasattr(builtins, name):
        return describe(getattr(builtins, name))
    return None
