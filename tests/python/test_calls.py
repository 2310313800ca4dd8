"""Calls between compiled functions, recursion, plain Python callees, and globals
captured as constants."""

import math

import numpy as np
import pytest

from harness import check, hypersonic_only, njit, random_array


@njit
def hypot3(x, y, z):
    return math.sqrt(x * x + y * y + z * z)


@njit
def norms(pts, out):
    for i in range(pts.shape[0]):
        out[i] = hypot3(pts[i, 0], pts[i, 1], pts[i, 2])


@njit
def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


@njit
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@njit
def gcd_rec(a, b):
    if b == 0:
        return a
    return gcd_rec(b, a % b)


@njit
def ackermann_small(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ackermann_small(m - 1, 1)
    return ackermann_small(m - 1, ackermann_small(m, n - 1))


def fib_ref(n):
    return n if n < 2 else fib_ref(n - 1) + fib_ref(n - 2)


def test_call_other_njit_function():
    def f(x, y):
        return hypot3(x, y, 2.0) + clamp(x, -1.0, 1.0)

    cf = njit(f)
    for x, y in [(0.5, 3.0), (-7.0, 1.0), (3.0, -4.0)]:
        check(f, x, y, cfunc=cf)


def test_callee_writes_arrays_in_place():
    pts = random_array((20, 3), np.float64, seed=80)
    out = np.zeros(20)
    norms(pts, out)
    np.testing.assert_allclose(out, np.sqrt((pts ** 2).sum(axis=1)), rtol=1e-14)


def test_same_callee_with_different_types():
    def f(i, x):
        return clamp(i, 0, 10), clamp(x, 0.0, 1.0)

    cf = njit(f)
    for i, x in [(-3, 0.5), (15, -2.0), (5, 3.5)]:
        check(f, i, x, cfunc=cf)


def test_recursion_fib():
    for n in [0, 1, 2, 10, 20]:
        assert fib(n) == fib_ref(n)
    assert isinstance(fib(15), int)


def test_recursion_gcd_and_ackermann():
    for a, b in [(48, 18), (17, 5), (1071, 462), (0, 9)]:
        assert gcd_rec(a, b) == math.gcd(a, b)
    assert ackermann_small(2, 3) == 9
    assert ackermann_small(3, 3) == 61


def plain_square_plus(x, c):
    return x * x + c


def plain_poly(x):
    y = plain_square_plus(x, 1.0)
    return y * 2 - x


@hypersonic_only("Numba refuses calls of plain Python functions")
def test_plain_python_functions_are_compiled_automatically():
    def f(a):
        s = 0.0
        for i in range(a.shape[0]):
            s += plain_poly(a[i])
        return s

    cf = njit(f)
    a = random_array(30, np.float64, seed=81)
    check(f, a, cfunc=cf)
    check(f, a[::-2], cfunc=cf)


# --- globals captured at compile time -------------------------------------------------

SCALE = 3.5
OFFSET = -2
COEFFS = (1.0, -2.0, 0.5, 4.0)
TABLE = np.array([2.0, 3.0, 5.0, 7.0, 11.0, 13.0])
ITABLE = np.arange(12, dtype=np.int32).reshape(3, 4)


def use_globals(x):
    s = 0.0
    for c in COEFFS:
        s = s * x + c
    return s * SCALE + OFFSET + TABLE[-1] + ITABLE[2, 1] + math.pi


def test_globals_numbers_tuples_arrays():
    cf = njit(use_globals)
    for x in [0.0, 1.5, -2.25]:
        check(use_globals, x, cfunc=cf)


def test_globals_are_captured_when_compiled():
    global SCALE, COEFFS, TABLE
    cf = njit(use_globals)
    first = cf(1.5)
    saved = SCALE, COEFFS, TABLE
    try:
        SCALE, COEFFS, TABLE = 100.0, (9.0, 9.0, 9.0, 9.0), np.array([-1.0])
        assert cf(1.5) == first  # the compiled code keeps the values it was compiled with
        fresh = njit(use_globals)
        assert fresh(1.5) == pytest.approx(use_globals(1.5), rel=1e-14)  # a new one sees them
        assert fresh(1.5) != first
    finally:
        SCALE, COEFFS, TABLE = saved
