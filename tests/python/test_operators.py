"""Arithmetic, bitwise, comparison and boolean operators with Python's meaning."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from harness import check, njit, rng

# --- binary arithmetic ------------------------------------------------------


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def truediv(a, b):
    return a / b


def floordiv(a, b):
    return a // b


def mod(a, b):
    return a % b


def power(a, b):
    return a ** b


def divmod_(a, b):
    return divmod(a, b)


ARITH = [add, sub, mul, truediv, floordiv, mod]


def _int_pairs(seed, n=40, lo=-1000, hi=1000, nonzero_b=True):
    r = rng(seed)
    pairs = [(int(a), int(b)) for a, b in r.integers(lo, hi, size=(n, 2))]
    # The cases where flooring differs from C's truncation.
    pairs += [(-7, 2), (7, -2), (-7, -2), (7, 2), (-6, 3), (6, -3), (0, -5), (-1, 1000)]
    if nonzero_b:
        pairs = [(a, b if b != 0 else 3) for a, b in pairs]
    return pairs


def _float_pairs(seed, n=40):
    r = rng(seed)
    pairs = [(float(a), float(b)) for a, b in r.uniform(-100.0, 100.0, size=(n, 2))]
    pairs += [(-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (-0.5, 0.25), (1e300, 1e-300), (-3.0, 1.5)]
    return pairs


@pytest.mark.parametrize("op", ARITH + [divmod_], ids=lambda f: f.__name__)
def test_int_arithmetic(op):
    cf = njit(op)
    for a, b in _int_pairs(1):
        check(op, a, b, cfunc=cf)


@pytest.mark.parametrize("op", ARITH + [divmod_], ids=lambda f: f.__name__)
def test_float_arithmetic(op):
    cf = njit(op)
    for a, b in _float_pairs(2):
        check(op, a, b, cfunc=cf)


@pytest.mark.parametrize("op", ARITH, ids=lambda f: f.__name__)
def test_mixed_int_float_arithmetic_is_float(op):
    cf = njit(op)
    r = rng(3)
    for a, b in zip(r.integers(-50, 50, 20), r.uniform(-9.0, 9.0, 20)):
        got = check(op, int(a), float(b), cfunc=cf)
        assert isinstance(got, float)
    cf2 = njit(op)
    for a, b in zip(r.uniform(-9.0, 9.0, 20), r.integers(1, 50, 20)):
        check(op, float(a), int(b), cfunc=cf2)


def test_true_division_of_ints_is_float():
    cf = njit(truediv)
    for a, b in [(7, 2), (-7, 2), (1, 3), (6, 3), (-9, -4)]:
        got = check(truediv, a, b, cfunc=cf)
        assert isinstance(got, float)


def test_floor_division_and_modulo_floor_on_negative_operands():
    fd, md = njit(floordiv), njit(mod)
    assert fd(-7, 2) == -4
    assert fd(7, -2) == -4
    assert md(-7, 2) == 1
    assert md(7, -2) == -1
    assert fd(-7.5, 2.0) == -4.0
    assert md(-7.5, 2.0) == pytest.approx(0.5)
    assert md(7.5, -2.0) == pytest.approx(-0.5)


def test_int_power():
    cf = njit(power)
    r = rng(4)
    for a, b in zip(r.integers(-12, 12, 30), r.integers(0, 12, 30)):
        check(power, int(a), int(b), cfunc=cf)
    check(power, 0, 0, cfunc=cf)


def test_float_power():
    cf = njit(power)
    r = rng(5)
    for a, b in zip(r.uniform(0.01, 20.0, 30), r.uniform(-4.0, 4.0, 30)):
        check(power, float(a), float(b), cfunc=cf)
    cf2 = njit(power)
    for a, b in zip(r.uniform(-5.0, 5.0, 30), r.integers(-5, 6, 30)):
        check(power, float(a), int(b), cfunc=cf2)


def test_unary_operators():
    def unary(a):
        return -a, +a, ~a, not a

    def unary_float(a):
        return -a, +a, not a

    cf = njit(unary)
    for a in [0, 1, -1, 7, -123456789, 2**40]:
        check(unary, a, cfunc=cf)
    cf = njit(unary_float)
    for a in [0.0, 1.5, -2.25, 1e-300]:
        check(unary_float, a, cfunc=cf)


def test_bool_arithmetic_promotes_to_int():
    def f(a, b):
        return a + b, a * 3, a - b

    cf = njit(f)
    for a in (True, False):
        for b in (True, False):
            check(f, a, b, cfunc=cf)


# --- bitwise -----------------------------------------------------------------


def bitwise(a, b):
    return a & b, a | b, a ^ b, ~a


def shifts(a, s):
    return a << s, a >> s


def test_bitwise_int():
    cf = njit(bitwise)
    for a, b in _int_pairs(6, lo=-(2**40), hi=2**40, nonzero_b=False):
        check(bitwise, a, b, cfunc=cf)


def test_shifts():
    cf = njit(shifts)
    r = rng(7)
    for a, s in zip(r.integers(-(2**20), 2**20, 40), r.integers(0, 40, 40)):
        check(shifts, int(a), int(s), cfunc=cf)
    check(shifts, -1, 3, cfunc=cf)
    check(shifts, -17, 2, cfunc=cf)  # arithmetic right shift floors


def test_bitwise_bool():
    def f(a, b):
        return a & b, a | b, a ^ b

    cf = njit(f)
    for a in (True, False):
        for b in (True, False):
            check(f, a, b, cfunc=cf)


# --- comparisons ---------------------------------------------------------------


def compare(a, b):
    return a < b, a <= b, a == b, a != b, a > b, a >= b


def test_comparisons():
    cf = njit(compare)
    for a, b in _int_pairs(8, nonzero_b=False) + [(3, 3), (-4, -4)]:
        check(compare, a, b, cfunc=cf)
    cf = njit(compare)
    for a, b in _float_pairs(9) + [(1.5, 1.5), (float("nan"), 1.0), (float("inf"), 1e308)]:
        check(compare, a, b, cfunc=cf)
    cf = njit(compare)
    for a, b in [(1, 1.0), (2, 1.5), (-3, -2.5), (10**15, 1e15)]:
        check(compare, a, b, cfunc=cf)


def test_chained_comparisons():
    def in_range(lo, x, hi):
        return lo <= x < hi

    def zigzag(a, b, c):
        return a < b > c

    def all_equal(a, b, c):
        return a == b == c

    def four(a, b, c, d):
        return a < b <= c < d

    r = rng(10)
    for f in (in_range, zigzag, all_equal):
        cf = njit(f)
        for a, b, c in r.integers(-3, 3, size=(40, 3)):
            check(f, int(a), int(b), int(c), cfunc=cf)
    cf = njit(four)
    for row in r.integers(-2, 3, size=(40, 4)):
        check(four, *map(int, row), cfunc=cf)
    cf = njit(in_range)
    for lo, x, hi in r.uniform(-1.0, 1.0, size=(20, 3)):
        check(in_range, float(lo), float(x), float(hi), cfunc=cf)


# --- boolean operators ------------------------------------------------------------


def test_and_or_return_an_operand():
    def and_(a, b):
        return a and b

    def or_(a, b):
        return a or b

    for f in (and_, or_):
        cf = njit(f)
        for a, b in [(0, 5), (3, 5), (3, 0), (0, 0), (-2, 7)]:
            check(f, a, b, cfunc=cf)
        cf = njit(f)
        for a, b in [(0.0, 2.5), (1.5, 2.5), (1.5, 0.0), (-0.5, 0.0)]:
            check(f, a, b, cfunc=cf)


def test_not_and_bool_combinations():
    def f(a, b, c):
        return (a and not b) or c, not (a or b), a and b and c, a or b or c

    cf = njit(f)
    for a in (True, False):
        for b in (True, False):
            for c in (True, False):
                check(f, a, b, c, cfunc=cf)


def test_and_or_short_circuit():
    def safe_ratio_above(a, b):
        return b != 0 and a // b > 1

    def zero_or_small(a, b):
        return b == 0 or a // b < 2

    for f in (safe_ratio_above, zero_or_small):
        cf = njit(f)
        for a, b in [(10, 0), (10, 3), (3, 10), (-9, 0), (-9, 4)]:
            check(f, a, b, cfunc=cf)  # b == 0 must not divide


def test_short_circuit_protects_array_access():
    def first_positive(a, i):
        return i < a.shape[0] and a[i] > 0

    cf = njit(first_positive)
    a = np.array([3, -1, 2], dtype=np.int64)
    for i in range(5):
        check(first_positive, a, i, cfunc=cf)


# --- augmented assignment ----------------------------------------------------------


def test_augmented_assignment_int():
    def f(a, b):
        x = a
        x += b
        x -= 3
        x *= b
        x //= 7
        x %= 1000
        x **= 2
        x <<= 3
        x >>= 1
        x &= 0xFFFF
        x |= 0x10
        x ^= b
        return x

    cf = njit(f)
    for a, b in _int_pairs(11, lo=-50, hi=50):
        check(f, a, b, cfunc=cf)


def test_augmented_assignment_float():
    def f(a, b):
        x = a
        x += b
        x -= 0.5
        x *= b
        x /= 3.0
        x //= 0.25
        x %= 7.5
        x **= 2
        return x

    cf = njit(f)
    for a, b in _float_pairs(12):
        check(f, a, b, cfunc=cf)


def test_augmented_assignment_on_array_elements():
    def f(a, b):
        a[0] += b
        a[1] -= b
        a[2] *= b
        a[3] //= 2
        a[4] %= 3
        a[-1] += a[0]

    cf = njit(f)
    a = np.arange(-5, 5, dtype=np.int64) * 7
    check(f, a, 9, cfunc=cf)
    cf = njit(f)
    check(f, rng(13).uniform(-5.0, 5.0, 8), 1.5, cfunc=cf)


# --- properties, hypothesis -----------------------------------------------------------

INT64 = st.integers(-(2**63), 2**63 - 1)


def wrap64(x):
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


def poly(a, b):
    return a * b + a - b * 3


def int_ops(a, b):
    return a + b, a - b, a * b, a & b, a | b, a ^ b, -a


_poly = njit(poly)
_int_ops = njit(int_ops)
_floordiv_mod = njit(divmod_)


def fd_and_mod(a, b):
    return a // b, a % b


_fd_mod = njit(fd_and_mod)
_fd_mod_float = njit(fd_and_mod)


@given(INT64, INT64)
def test_int64_arithmetic_wraps(a, b):
    assert _poly(a, b) == wrap64(a * b + a - b * 3)
    got = _int_ops(a, b)
    want = tuple(wrap64(v) for v in (a + b, a - b, a * b, a & b, a | b, a ^ b, -a))
    assert got == want


@given(INT64, INT64.filter(lambda b: b != 0))
def test_int64_floordiv_mod_property(a, b):
    if a == -(2**63) and b == -1:
        return  # overflows
    assert _fd_mod(a, b) == (a // b, a % b)
    q, r = _floordiv_mod(a, b)
    assert (q, r) == divmod(a, b)
    assert q * b + r == a
    assert r == 0 or (r < 0) == (b < 0)


@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(-1e9, 1e9, allow_nan=False).filter(lambda b: abs(b) > 1e-6),
)
def test_float_floordiv_mod_property(a, b):
    q, r = _fd_mod_float(a, b)
    assert q == a // b
    assert r == pytest.approx(a % b, rel=1e-12, abs=1e-9)
