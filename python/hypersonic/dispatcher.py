"""The object ``@njit`` returns: compiles a specialization per argument types and
calls native code. The call path itself lives in Rust (``_core.Dispatcher``);
this class adds what Numba's dispatcher offers around it."""

from __future__ import annotations

import sys

from . import _core, _resolve
from . import types as hstypes
from .errors import TypingError


_OPTIONS = {
    # Numba's options and their defaults; README.md says what each does here.
    "nopython": True,
    "cache": False,
    "parallel": False,
    "fastmath": False,
    "nogil": False,
    "boundscheck": False,
    "error_model": "python",
    "inline": "never",
    "looplift": True,
    "forceobj": False,
    "no_cpython_wrapper": False,
    "no_cfunc_wrapper": False,
    "_nrt": True,
}


def check_options(options: dict) -> dict:
    """Validates decorator options as Numba users pass them."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(unknown)}; Hypersonic accepts {', '.join(sorted(o for o in _OPTIONS if not o.startswith('_')))}"
        )
    if options.get("forceobj"):
        raise TypeError(
            "forceobj=True asks for Numba's object mode, which Hypersonic does not have: "
            "it always compiles to native code. Remove forceobj=True, or leave this function in plain Python"
        )
    if options.get("nopython") is False:
        raise TypeError(
            "nopython=False asks for Numba's object-mode fallback, which Hypersonic does not have; "
            "remove it (Hypersonic always compiles in nopython mode)"
        )
    if options.get("error_model", "python") not in ("python", "numpy"):
        raise ValueError(f"error_model must be 'python' or 'numpy', not {options['error_model']!r}")
    if options.get("inline", "never") not in ("never", "always") and not callable(options.get("inline")):
        raise ValueError(f"inline must be 'never', 'always' or a function, not {options['inline']!r}")
    merged = {k: v for k, v in _OPTIONS.items()}
    merged.update(options)
    return merged


class Dispatcher(_core.Dispatcher):
    """A compiled function: call it like the Python function it wraps."""

    def __init__(self, py_func, options: dict, signatures=()):
        self.py_func = py_func
        self.targetoptions = options
        self.__name__ = py_func.__name__
        self.__qualname__ = getattr(py_func, "__qualname__", py_func.__name__)
        self.__doc__ = py_func.__doc__
        self.__module__ = py_func.__module__
        self.__wrapped__ = py_func
        self._source = None
        # argument types (tuple of hstypes.Type) -> _core.CompiledFunction
        self._specs = {}
        self._declared = []
        for sig in signatures:
            self.compile(sig)
        self._frozen = bool(signatures)

    # -- Numba's dispatcher API ------------------------------------------------

    @property
    def signatures(self):
        """The argument types of every compiled specialization."""
        return list(self._specs)

    @property
    def nopython_signatures(self):
        return [hstypes.Signature(hstypes.parse_type(cf.ret_type), args) for args, cf in self._specs.items()]

    def compile(self, sig):
        """Compiles for a signature (``float64(int32, int32)``, a tuple of types or a string)."""
        sig = hstypes.parse_signature(sig)
        args = tuple(sig.args)
        if args in self._specs and sig.return_type is None:
            return self._specs[args]
        ret = None if sig.return_type is None else str(sig.return_type)
        cf = _core.compile(self._source_info(), [str(a) for a in args], ret, self._core_options())
        self._specs[args] = cf
        if sig.return_type is not None:
            self._declared.append(sig)
        return cf

    def inspect_types(self, file=None, signature=None, pretty=False):
        """Prints the source annotated with the type of each variable, per specialization."""
        out = file or sys.stdout
        for args, cf in self._specs.items():
            if signature is not None and tuple(signature) != args:
                continue
            print(f"{self.__qualname__} ({', '.join(map(str, args))})", file=out)
            print("-" * 80, file=out)
            print(cf.annotated_source, file=out)
            print("=" * 80, file=out)

    def inspect_llvm(self, signature=None):
        """The optimised LLVM IR of each specialization, by argument types."""
        if signature is not None:
            return self._specs[tuple(signature)].llvm_ir()
        return {args: cf.llvm_ir() for args, cf in self._specs.items()}

    def inspect_asm(self, signature=None):
        """The native assembly of each specialization, by argument types."""
        if signature is not None:
            return self._specs[tuple(signature)].asm()
        return {args: cf.asm() for args, cf in self._specs.items()}

    def inspect_ir(self, signature=None):
        """Hypersonic's typed IR of each specialization, by argument types."""
        if signature is not None:
            return self._specs[tuple(signature)].ir
        return {args: cf.ir for args, cf in self._specs.items()}

    def __repr__(self):
        return f"<hypersonic.Dispatcher {self.__qualname__}>"

    def __get__(self, obj, objtype=None):
        # Like a plain function, so that a compiled function can be a method.
        if obj is None:
            return self
        import types

        return types.MethodType(self, obj)

    # -- called by the Rust call path ------------------------------------------

    def _source_info(self):
        if self._source is None:
            self._source = _resolve.source_info(self.py_func)
        return self._source

    def _core_options(self):
        o = self.targetoptions
        return {
            "fastmath": bool(o.get("fastmath")),
            "boundscheck": bool(o.get("boundscheck")),
            "error_model": o.get("error_model", "python"),
            "nogil": bool(o.get("nogil")),
        }

    def _compile_for(self, args):
        """The specialization for these arguments (called on a cache miss)."""
        types = tuple(hstypes.typeof(a) for a in args)
        cf = self._specs.get(types)
        if cf is not None:
            return cf
        if self._frozen:
            cf = self._best_declared(types)
            if cf is None:
                sigs = "\n".join(f"  {self.__qualname__}{_sig_text(a, s)}" for a, s in self._specs.items())
                raise TypeError(
                    f"{self.__qualname__}() got arguments of types ({', '.join(map(str, types))}), "
                    f"which fit none of its signatures:\n{sigs}"
                )
            return cf
        return self.compile(types)

    def _best_declared(self, types):
        best, best_cost = None, None
        for args, cf in self._specs.items():
            cost = _conversion_cost(types, args)
            if cost is not None and (best_cost is None or cost < best_cost):
                best, best_cost = cf, cost
        return best

    def _call_slow(self, args, kwargs):
        """Calls with keyword arguments, or with arguments the Rust fast path does
        not recognise (buffer-protocol objects): normalise, then call again."""
        import inspect
        import numpy as np

        if kwargs:
            bound = inspect.signature(self.py_func).bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        else:
            params = inspect.signature(self.py_func).parameters.values()
            defaults = [p.default for p in params if p.default is not inspect.Parameter.empty]
            nparams = len(params)
            if len(args) < nparams and len(args) >= nparams - len(defaults):
                args = tuple(args) + tuple(defaults[len(defaults) - (nparams - len(args)):])
        converted = []
        for a in args:
            if isinstance(a, (bool, int, float, complex, tuple, np.ndarray, np.generic)) or a is None:
                converted.append(a)
            else:
                hstypes.typeof(a)  # raises a clear TypeError for unsupported objects
                converted.append(np.asarray(memoryview(a)))
        return _core.Dispatcher._call_converted(self, tuple(converted))


def _sig_text(args, cf):
    return f"({', '.join(map(str, args))}) -> {cf.ret_type}"


def _conversion_cost(have, want):
    """How far the argument types ``have`` are from a declared signature ``want``,
    or None if they cannot be converted (Numba's safe/unsafe conversions)."""
    if len(have) != len(want):
        return None
    cost = 0
    for h, w in zip(have, want):
        if h == w:
            continue
        if isinstance(h, hstypes.Array) and isinstance(w, hstypes.Array):
            if h.dtype != w.dtype or h.ndim != w.ndim or (w.layout != "A" and w.layout != h.layout):
                return None
            cost += 1
        elif isinstance(h, hstypes.Scalar) and isinstance(w, hstypes.Scalar):
            order = "buifc"
            if h.kind == "c" and w.kind != "c":
                return None
            safe = order.index(w.kind) > order.index(h.kind) or (h.kind == w.kind and w.bits >= h.bits)
            cost += 1 if safe else 10
        elif isinstance(h, hstypes.Tuple) and isinstance(w, hstypes.Tuple):
            sub = _conversion_cost(h.items, w.items)
            if sub is None:
                return None
            cost += sub
        else:
            return None
    return cost
