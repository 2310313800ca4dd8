"""What the tests share: the compiler under test and the differential ``check``.

``BACKEND`` is ``"hypersonic"`` (default) or ``"numba"`` (set
``HYPERSONIC_TEST_AGAINST=numba`` to validate the tests against Numba).
"""

import array
import copy
import math
import os
import sys
import types

import numpy as np
import pytest

BACKEND = os.environ.get("HYPERSONIC_TEST_AGAINST", "hypersonic")

if BACKEND == "numba":
    import numba as compiler
    from numba.core.errors import TypingError
elif BACKEND == "hypersonic":
    import hypersonic as compiler
    from hypersonic import TypingError
else:  # pragma: no cover
    raise RuntimeError(f"HYPERSONIC_TEST_AGAINST must be hypersonic or numba, not {BACKEND!r}")

njit = compiler.njit
jit = compiler.jit
int8, int16, int32, int64 = compiler.int8, compiler.int16, compiler.int32, compiler.int64
uint8, uint16, uint32, uint64 = compiler.uint8, compiler.uint16, compiler.uint32, compiler.uint64
float32, float64 = compiler.float32, compiler.float64
complex64, complex128 = compiler.complex64, compiler.complex128

IS_NUMBA = BACKEND == "numba"


def hypersonic_only(reason):
    """Mark a test whose expectation Numba does not meet (skipped under Numba)."""
    return pytest.mark.hypersonic_only(reason)


def rng(seed):
    return np.random.default_rng(seed)


INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOAT_DTYPES = [np.float32, np.float64]
COMPLEX_DTYPES = [np.complex64, np.complex128]
ALL_DTYPES = [np.bool_] + INT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES


def random_array(shape, dtype, seed=0, low=None, high=None):
    """Random values of ``dtype`` (never all zeros): small ints, floats in [-10, 10)."""
    r = rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        out = r.random(shape) < 0.5
        if out.size:
            out.flat[0] = True
        return out
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = max(info.min, -100) if low is None else low
        hi = min(info.max, 100) if high is None else high
        out = r.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
        if out.size and not out.any():
            out.flat[0] = 1
        return out
    lo = -10.0 if low is None else low
    hi = 10.0 if high is None else high
    if dtype.kind == "c":
        return (r.uniform(lo, hi, shape) + 1j * r.uniform(lo, hi, shape)).astype(dtype)
    return r.uniform(lo, hi, shape).astype(dtype)


def layouts(base):
    """Views of a 2-D array with different memory layouts: C, Fortran, transposed,
    strided, reversed, and empty."""
    return {
        "C": np.ascontiguousarray(base),
        "F": np.asfortranarray(base),
        "T": base.T,
        "strided": base[::2, 1::3],
        "reversed": base[::-1, ::-2],
        "empty-rows": base[:0],
        "empty-cols": base[:, :0],
    }


# ---------------------------------------------------------------------------
# Cloning arguments without losing their layout
# ---------------------------------------------------------------------------

def _owner(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def clone(x):
    """A deep copy of ``x`` that keeps an array's strides (views stay views)."""
    if isinstance(x, np.ndarray):
        owner = _owner(x)
        if owner is x or x.size == 0 or owner.base is not None:
            return x.copy(order="K") if owner is x else x.copy()
        buf = owner.copy(order="K")
        offset = x.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
        flat = buf.ravel(order="K")
        assert np.shares_memory(flat, buf)
        return np.ndarray(x.shape, dtype=x.dtype, buffer=flat, offset=offset, strides=x.strides)
    if isinstance(x, array.array):
        return copy.copy(x)
    if isinstance(x, memoryview):
        obj = x.obj
        if isinstance(obj, np.ndarray):
            return memoryview(obj.copy())
        return memoryview(copy.copy(obj))
    if isinstance(x, tuple):
        return tuple(clone(v) for v in x)
    return x


# ---------------------------------------------------------------------------
# Comparing results
# ---------------------------------------------------------------------------

class Raised:
    """An exception caught while calling a function, compared by type and message."""

    def __init__(self, exc):
        self.type = type(exc)
        self.message = str(exc)
        self.exc = exc

    def __repr__(self):
        return f"Raised({self.type.__name__}: {self.message})"


def call(f, args):
    try:
        return f(*args)
    except Exception as exc:  # noqa: BLE001 - we compare exceptions too
        return Raised(exc)


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_float(v):
    return isinstance(v, (float, np.floating))


def _is_complex(v):
    return isinstance(v, (complex, np.complexfloating))


def assert_same(got, want, rtol=1e-12, atol=0.0, types=True, messages=True, path="result"):
    """Assert that ``got`` (compiled) matches ``want`` (CPython)."""
    if isinstance(want, Raised):
        if isinstance(got, Raised):
            assert issubclass(got.type, want.type), (
                f"{path}: compiled code raised {got!r}, CPython raised {want!r}"
            )
            if messages and want.type is not ZeroDivisionError:
                assert got.message == want.message, f"{path}: {got!r} vs CPython {want!r}"
            return
        raise AssertionError(f"{path}: compiled code returned {got!r}, CPython raised {want!r}")
    if isinstance(got, Raised):
        raise AssertionError(f"{path}: compiled code raised {got!r}, CPython returned {want!r}") from got.exc
    if want is None:
        assert got is None, f"{path}: expected None, got {got!r}"
        return
    if isinstance(want, tuple):
        assert isinstance(got, tuple), f"{path}: expected a tuple, got {got!r}"
        assert len(got) == len(want), f"{path}: {got!r} vs {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, rtol, atol, types, messages, f"{path}[{i}]")
        return
    if isinstance(want, np.ndarray):
        g = np.asarray(got)
        assert g.shape == want.shape, f"{path}: shape {g.shape} vs {want.shape}"
        if want.dtype.kind in "fc":
            np.testing.assert_allclose(g, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=path)
        else:
            np.testing.assert_array_equal(g, want, err_msg=path)
        return
    if isinstance(want, (bool, np.bool_)):
        if types:
            assert isinstance(got, (bool, np.bool_)), f"{path}: expected a bool, got {got!r}"
        assert bool(got) == bool(want), f"{path}: {got!r} vs {want!r}"
        return
    if _is_int(want):
        if types:
            assert _is_int(got), f"{path}: expected an int, got {got!r} ({type(got).__name__})"
        assert got == want, f"{path}: {got!r} vs {want!r}"
        return
    if _is_float(want):
        if types:
            assert _is_float(got), f"{path}: expected a float, got {got!r} ({type(got).__name__})"
        w = float(want)
        g = float(got)
        if math.isnan(w):
            assert math.isnan(g), f"{path}: expected nan, got {got!r}"
        elif math.isinf(w):
            assert g == w, f"{path}: {got!r} vs {want!r}"
        else:
            assert g == pytest.approx(w, rel=rtol, abs=atol), f"{path}: {got!r} vs {want!r}"
        return
    if _is_complex(want):
        if types:
            assert _is_complex(got), f"{path}: expected a complex, got {got!r}"
        w = complex(want)
        g = complex(got)
        for part_g, part_w, name in ((g.real, w.real, "real"), (g.imag, w.imag, "imag")):
            if math.isnan(part_w):
                assert math.isnan(part_g), f"{path}.{name}: {got!r} vs {want!r}"
            else:
                assert abs(part_g - part_w) <= atol + rtol * abs(w), f"{path}: {got!r} vs {want!r}"
        return
    assert got == want, f"{path}: {got!r} vs {want!r}"


def check(pyfunc, *args, cfunc=None, rtol=1e-12, atol=0.0, types=True, messages=True,
          reference_args=None):
    """Run ``pyfunc`` under CPython and compiled (``cfunc``, default ``njit(pyfunc)``)
    on copies of ``args``; compare results, exceptions, and arrays written in place.

    ``reference_args`` (optional) are the arguments CPython gets instead, e.g. plain
    Python ints for NumPy int8 scalars whose NumPy arithmetic would wrap.
    Returns the compiled result.
    """
    if cfunc is None:
        cfunc = njit(pyfunc)
    ref_in = [clone(a) for a in (args if reference_args is None else reference_args)]
    got_in = [clone(a) for a in args]
    want = call(pyfunc, ref_in)
    got = call(cfunc, got_in)
    assert_same(got, want, rtol=rtol, atol=atol, types=types, messages=messages)
    for i, (g, w) in enumerate(zip(got_in, ref_in)):
        if isinstance(g, np.ndarray):
            assert_same(g, np.asarray(w), rtol=rtol, atol=atol, path=f"argument {i} after the call")
        elif isinstance(g, (array.array, memoryview)):
            assert_same(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol,
                        path=f"argument {i} after the call")
    return got


def import_kernel(name):
    """Import kernels/<name>.py.  Under Numba, when Hypersonic is not installed, a shim
    ``hypersonic`` module (njit = numba.njit) lets the module import."""
    import importlib

    if IS_NUMBA and "hypersonic" not in sys.modules:
        try:
            import hypersonic  # noqa: F401
        except ImportError:
            shim = types.ModuleType("hypersonic")
            shim.njit = compiler.njit
            shim.jit = compiler.jit
            sys.modules["hypersonic"] = shim
    return importlib.import_module(f"kernels.{name}")
