"""Hypersonic: Python kernels compiled to fast native code.

Change ``from numba import njit`` to ``from hypersonic import njit``.
"""

import atexit as _atexit

from . import _core
from .decorators import jit, njit
from .errors import CudaError, InternalCompilerError, LaunchError, TypingError, UnsupportedError
from .types import (
    Array, Signature, Tuple, UniTuple, typeof,
    boolean, bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64, intp, uintp,
    float32, float64, complex64, complex128, double, byte, char, none, void,
    b1, f4, f8, c8, c16, i1, i2, i4, i8, u1, u2, u4, u8,
)
from . import types
from . import cuda


def devices():
    """Every device kernels can run on, with its kind and limits."""
    return cuda.devices.all_devices()

# Numba's parallel range; loops over it run serially until parallel loops land.
prange = range

__version__ = "0.1.0"

# Optimised second-tier compiles run on background threads; none may still be
# inside LLVM when the interpreter tears the process down.
_atexit.register(_core.wait_for_background_compiles)

__all__ = [
    "jit", "njit", "prange", "cuda", "devices", "TypingError", "UnsupportedError", "InternalCompilerError", "typeof", "types",
    "boolean", "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "intp", "uintp", "float32", "float64", "complex64", "complex128", "double", "none", "void",
    "Array", "Signature", "Tuple", "UniTuple",
]
