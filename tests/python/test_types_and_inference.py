"""Scalar types, None, tuples, complex numbers, and type inference."""

import numpy as np
import pytest

from harness import check, njit, rng

SCALAR_INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                    np.uint64]


def arith(a, b):
    return a + b, a * b, a - b, a // b, a % b, a > b


@pytest.mark.parametrize("t", SCALAR_INT_TYPES, ids=lambda t: np.dtype(t).name)
def test_numpy_integer_scalar_arguments(t):
    cf = njit(arith)
    info = np.iinfo(t)
    r = rng(70)
    for a, b in r.integers(1, min(info.max, 120), size=(15, 2), endpoint=True):
        if info.min == 0 and a < b:
            a, b = b, a  # unsigned: Numba computes a - b in uint64, Python goes negative
        a, b = t(a), t(b)
        # NumPy's own int8 arithmetic wraps; compiled code computes like Numba, in
        # at least the machine integer, so the reference uses Python ints.
        check(arith, a, b, cfunc=cf, reference_args=(int(a), int(b)))


def test_small_int_arithmetic_does_not_wrap_at_8_bits():
    def f(a, b):
        return a * b + a

    cf = njit(f)
    assert cf(np.int8(100), np.int8(100)) == 10100
    assert cf(np.uint8(255), np.uint8(2)) == 765


@pytest.mark.parametrize("t,rtol", [(np.float32, 1e-6), (np.float64, 1e-14)],
                         ids=["float32", "float64"])
def test_numpy_float_scalar_arguments(t, rtol):
    def f(a, b):
        return a + b, a * b, a / b, a - b * a

    cf = njit(f)
    for a, b in rng(71).uniform(-10, 10, size=(15, 2)):
        check(f, t(a), t(b), cfunc=cf, rtol=rtol)


def test_float32_arithmetic_stays_single_precision():
    def f(a, b):
        return a + b

    cf = njit(f)
    x, y = np.float32(1.0), np.float32(1e-8)
    assert cf(x, y) == 1.0  # in float64 it would be 1.00000001
    assert cf(1.0, 1e-8) != 1.0


@pytest.mark.parametrize("t,rtol", [(np.complex64, 1e-6), (np.complex128, 1e-14), (complex, 1e-14)],
                         ids=["complex64", "complex128", "python-complex"])
def test_complex_arguments(t, rtol):
    def f(z, w):
        return z + w, z * w, z / w, z - w, z.real, z.imag, z.conjugate(), abs(z), z == w

    cf = njit(f)
    r = rng(72)
    for a, b, c, d in r.uniform(-5, 5, size=(12, 4)):
        check(f, t(complex(a, b)), t(complex(c, d)), cfunc=cf, rtol=rtol)
    check(f, t(1 + 2j), t(1 + 2j), cfunc=cf, rtol=rtol)


def test_complex_mixed_with_real():
    def f(z, x, n):
        return z * x + n, z ** 2, x + 1j

    cf = njit(f)
    for z, x, n in [(1 + 1j, 0.5, 3), (-2.5j, -1.25, -7)]:
        check(f, z, x, n, cfunc=cf, rtol=1e-14)


def test_bool_arguments_and_results():
    def f(a, b, x):
        return (a and not b), a == b, x > 0 and a, bool(x)

    cf = njit(f)
    for a in (True, False):
        for b in (True, False):
            for x in (-1, 0, 2):
                check(f, a, b, x, cfunc=cf)
    cf = njit(f)
    check(f, np.bool_(True), np.bool_(False), 3, cfunc=cf)


def test_python_scalars():
    def f(i, x, z, b):
        return i * 2, x * 2, z * 2, b

    check(f, 7, 1.5, 2 - 1j, True)
    check(f, -(2**62), -0.0, 0j, False)


def test_none_argument_tested_with_is():
    def maybe_add(a, b):
        if b is None:
            return a
        return a + b

    check(maybe_add, 5, None)
    check(maybe_add, 5, 6)


def test_none_returns():
    def returns_none(a):
        a[0] = 1.0
        return None

    def no_return(a):
        a[0] = 2.0

    a = np.zeros(3)
    check(returns_none, a)
    check(no_return, a)
    assert njit(no_return)(a) is None and a[0] == 2.0


# --- tuples ----------------------------------------------------------------------------


def test_tuple_unpacking_and_returns():
    def f(t):
        a, b, c = t
        return c, b, a, a + b + c

    def g(p):
        (x, y), z = p
        return x * z, y * z

    def h(a, b):
        return (a, b), a - b

    cf = njit(f)
    check(f, (1, 2, 3), cfunc=cf)
    check(f, (-4, 5, 0), cfunc=cf)
    check(f, (1.5, 2.5, -1.0))
    check(g, ((1.5, 2.0), 3))
    check(h, 7, 2.5)


def test_heterogeneous_tuple_argument():
    def f(t):
        return t[0] * t[1], t[-1], len(t), t[2] + 1

    check(f, (3, 2.5, 7))
    check(f, (True, 4, -1.5))


def test_tuple_indexing_in_loops():
    def f(t, u):
        s = 0
        for i in range(len(t)):
            s += t[i] * u[i]
        return s

    cf = njit(f)
    check(f, (1, 2, 3), (1, 2, 3), cfunc=cf)
    check(f, (1, 2, 3), (3, -2, 1), cfunc=cf)


def test_tuple_comparison():
    def f(t, u):
        return t == u, t != u

    cf = njit(f)
    check(f, (1, 2, 3), (1, 2, 3), cfunc=cf)
    check(f, (1, 2, 3), (3, 2, 1), cfunc=cf)


def test_shape_tuple_unpacking():
    def f(a):
        n, m = a.shape
        return n * 100 + m

    cf = njit(f)
    check(f, np.ones((3, 7)), cfunc=cf)
    check(f, np.ones((5, 2)).T, cfunc=cf)


# --- inference -----------------------------------------------------------------------------


def test_accumulator_starting_at_int_zero_becomes_float():
    def f(n):
        s = 0
        for i in range(n):
            s += i * 0.5
        return s

    cf = njit(f)
    for n in [0, 1, 10]:
        got = cf(n)
        assert isinstance(got, float)
        assert got == f(n)


def test_variable_assigned_int_or_float_in_branches_is_float():
    def f(c):
        x = 0
        if c > 3:
            x = 2.5
        return x

    cf = njit(f)
    for c in [0, 5]:
        got = cf(c)
        assert isinstance(got, float) and got == f(c)


def test_int_and_float_return_paths_give_float64():
    def f(x):
        if x > 0:
            return 1
        return 0.5

    cf = njit(f)
    assert cf(3) == 1.0 and isinstance(cf(3), float)
    assert cf(-3) == 0.5


def test_ragged_sum_accumulator():
    def ragged_sum(X, jind):
        s = 0
        for i in range(jind.shape[0] - 1):
            for j in range(jind[i], jind[i + 1]):
                s += np.arctan(X[j] * i * j)
        return s

    cf = njit(ragged_sum)
    r = rng(73)
    X = r.uniform(-1, 1, 200)
    jind = np.sort(r.integers(0, 200, 12))
    check(ragged_sum, X, jind, cfunc=cf, rtol=1e-12)


def test_variable_rebound_from_int_to_float_in_loop():
    def f(n):
        x = 1
        for i in range(n):
            if i == 2:
                x = x / 4
            else:
                x = x * 3
        return x

    cf = njit(f)
    for n in [0, 1, 2, 3, 6]:
        got = cf(n)
        assert isinstance(got, float) and got == pytest.approx(f(n), rel=1e-15)


def test_bool_then_int():
    def f(n):
        flag = False
        for i in range(n):
            flag = flag + i
        return flag

    cf = njit(f)
    for n in [3, 5]:
        check(f, n, cfunc=cf)


def test_int_unified_with_complex():
    def f(n):
        z = 0
        for i in range(n):
            z = z * 1j + i
        return z

    cf = njit(f)
    for n in [1, 4]:
        check(f, n, cfunc=cf, rtol=1e-14)
