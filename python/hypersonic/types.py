"""Hypersonic's type objects, spelled as Numba spells them.

``int32`` is a scalar type; ``int32(int32, int32)`` builds a signature;
``float64[:, ::1]`` is a C-contiguous 2-D array type; ``float64[:]`` an array of
any layout. ``str()`` of a type is the text the compiler core parses.
"""

from __future__ import annotations

import functools


class Type:
    """Base class of all Hypersonic types."""

    def __str__(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def __repr__(self) -> str:
        return str(self)

    def _text(self) -> str:
        # Types never change: their text (identity, hash) is worked out once.
        # A kernel launch looks up its specialization by argument types.
        try:
            return self.__dict__["_text_cache"]
        except KeyError:
            text = self.__dict__["_text_cache"] = str(self)
            return text

    def __eq__(self, other) -> bool:
        return self is other or (isinstance(other, Type) and self._text() == other._text())

    def __hash__(self) -> int:
        return hash(self._text())

    def __call__(self, *args):
        """``ret(arg, ...)`` is a signature."""
        return Signature(self, tuple(as_type(a) for a in args))


class Scalar(Type):
    def __init__(self, name: str, kind: str, bits: int):
        self.name = name
        self.kind = kind  # 'b', 'i', 'u', 'f', 'c'
        self.bits = bits

    def __str__(self) -> str:
        return self.name

    def __call__(self, *args):
        # int32(x) with a plain number casts like NumPy's scalar type.
        if len(args) == 1 and not isinstance(args[0], (Type, str)):
            import numpy as np

            return getattr(np, self.name if self.name != "bool" else "bool_")(args[0])
        return super().__call__(*args)

    def __getitem__(self, key) -> "Array":
        """``float64[:]``, ``float64[:, ::1]`` (C order), ``float64[::1, :]`` (F order)."""
        if not isinstance(key, tuple):
            key = (key,)
        if not all(isinstance(k, slice) and k.start is None and k.stop is None for k in key):
            raise TypeError(f"array types are written like {self.name}[:, ::1], got {self.name}{list(key)}")
        steps = [k.step for k in key]
        if any(s not in (None, 1) for s in steps):
            raise TypeError("only ::1 may mark the contiguous axis of an array type")
        layout = "A"
        if steps[-1] == 1 and all(s is None for s in steps[:-1]):
            layout = "C"
        elif steps[0] == 1 and all(s is None for s in steps[1:]) and len(steps) > 1:
            layout = "F"
        elif steps.count(1) > 0:
            raise TypeError("::1 marks the last axis (C order) or the first (Fortran order)")
        return Array(self, len(key), layout)


class NoneType(Type):
    def __str__(self) -> str:
        return "none"


class Array(Type):
    def __init__(self, dtype: Scalar, ndim: int, layout: str = "A"):
        self.dtype = dtype
        self.ndim = ndim
        self.layout = layout

    def __str__(self) -> str:
        return f"array({self.dtype}, {self.ndim}d, {self.layout})"


class Tuple(Type):
    def __init__(self, items):
        self.items = tuple(items)

    def __str__(self) -> str:
        return "Tuple(" + ", ".join(str(t) for t in self.items) + ")"


def UniTuple(dtype: Type, count: int) -> Tuple:
    return Tuple([dtype] * count)


class Signature:
    """A return type and argument types: ``float64(int32, int32)``."""

    def __init__(self, ret: Type | None, args: tuple):
        self.return_type = ret
        self.args = args

    def __str__(self) -> str:
        ret = "" if self.return_type is None else str(self.return_type)
        return f"{ret}({', '.join(str(a) for a in self.args)})"

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, Signature) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


boolean = bool_ = b1 = Scalar("bool", "b", 8)
int8 = Scalar("int8", "i", 8)
int16 = Scalar("int16", "i", 16)
int32 = Scalar("int32", "i", 32)
int64 = Scalar("int64", "i", 64)
uint8 = Scalar("uint8", "u", 8)
uint16 = Scalar("uint16", "u", 16)
uint32 = Scalar("uint32", "u", 32)
uint64 = Scalar("uint64", "u", 64)
float32 = Scalar("float32", "f", 32)
float64 = Scalar("float64", "f", 64)
complex64 = Scalar("complex64", "c", 64)
complex128 = Scalar("complex128", "c", 128)
none = void = NoneType()
intp = int64
uintp = uint64
byte = uint8
char = int8
double = float64
f4, f8, c8, c16 = float32, float64, complex64, complex128
i1, i2, i4, i8 = int8, int16, int32, int64
u1, u2, u4, u8 = uint8, uint16, uint32, uint64

SCALARS = {t.name: t for t in (boolean, int8, int16, int32, int64, uint8, uint16, uint32,
                               uint64, float32, float64, complex64, complex128)}
_ALIASES = {"b1": boolean, "bool_": boolean, "boolean": boolean, "intp": int64, "uintp": uint64,
            "void": none, "none": none, "double": float64, "f4": float32, "f8": float64,
            "c8": complex64, "c16": complex128, "i1": int8, "i2": int16, "i4": int32, "i8": int64,
            "u1": uint8, "u2": uint16, "u4": uint32, "u8": uint64, "byte": uint8}


def as_type(t) -> Type:
    """A type from a type object, a NumPy dtype or scalar type, or a type string."""
    if isinstance(t, Type):
        return t
    if isinstance(t, str):
        return parse_type(t)
    import numpy as np

    try:
        dt = np.dtype(t)
    except TypeError:
        raise TypeError(f"{t!r} is not a type Hypersonic knows") from None
    if not dt.isnative:
        raise TypeError(
            f"dtype {dt} is not in this machine's byte order; convert it with "
            f"a.astype(a.dtype.newbyteorder('='))"
        )
    name = "bool" if dt.kind == "b" else dt.name
    if name not in SCALARS:
        raise TypeError(f"dtype {dt} is not supported; use a bool, integer, float or complex dtype")
    return SCALARS[name]


def _namespace():
    ns = dict(SCALARS)
    ns.update(_ALIASES)
    ns["UniTuple"] = UniTuple
    ns["Tuple"] = lambda *items: Tuple(items)
    return ns


def parse_type(text: str) -> Type:
    """``'float64[:, ::1]'``, ``'int32'``, ``'UniTuple(int64, 2)'``."""
    value = _eval(text)
    if isinstance(value, Signature):
        raise TypeError(f"{text!r} is a signature, not a type")
    return as_type(value)


def parse_signature(sig) -> Signature:
    """A signature from ``float64(int32)``, a tuple of argument types, or a string
    such as ``'float64(float64, uint64)'``."""
    if isinstance(sig, Signature):
        return sig
    if isinstance(sig, str):
        value = _eval(sig)
        if isinstance(value, Signature):
            return value
        if isinstance(value, tuple):
            return Signature(None, tuple(as_type(a) for a in value))
        raise TypeError(f"{sig!r} is not a signature; write it like 'float64(float64, int64)'")
    if isinstance(sig, (tuple, list)):
        return Signature(None, tuple(as_type(a) for a in sig))
    raise TypeError(f"{sig!r} is not a signature; write it like float64(float64, int64)")


@functools.lru_cache(maxsize=1024)
def _eval(text: str):
    # Cached: types never change, and compile_ptx and eager signatures read the
    # same few texts again and again (parsing one costs ~30 us).
    import ast

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise TypeError(f"cannot read the type {text!r}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.Call, ast.Name, ast.Load, ast.Subscript,
                               ast.Slice, ast.Tuple, ast.Constant))
        if not ok:
            raise TypeError(f"cannot read the type {text!r}")
    try:
        return eval(compile(tree, "<signature>", "eval"), {"__builtins__": {}}, _namespace())
    except NameError as e:
        raise TypeError(f"unknown type in {text!r}: {e}") from None


def typeof(value) -> Type:
    """The Hypersonic type of a Python value, as the dispatcher specialises on it."""
    import numpy as np

    if isinstance(value, bool):
        return boolean
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return int64
        if 0 <= value < 2**64:
            return uint64
        raise OverflowError(f"the integer {value} does not fit in 64 bits")
    if isinstance(value, float):
        return float64
    if isinstance(value, complex):
        return complex128
    if value is None:
        return none
    if isinstance(value, np.ndarray):
        return Array(as_type(value.dtype), value.ndim, _layout(value))
    if isinstance(value, np.generic):
        return as_type(value.dtype)
    if isinstance(value, tuple):
        return Tuple([typeof(v) for v in value])
    try:
        view = memoryview(value)
    except TypeError:
        raise TypeError(
            f"an argument of type {type(value).__name__} cannot be passed to compiled code; "
            "pass numbers, tuples, NumPy arrays or objects with the buffer protocol"
        ) from None
    arr = np.asarray(view)
    return Array(as_type(arr.dtype), arr.ndim, _layout(arr))


def _layout(a) -> str:
    if a.flags.c_contiguous:
        return "C"
    if a.flags.f_contiguous:
        return "F"
    return "A"
