"""if/elif/else, conditional expressions, while, for, break/continue/else, return,
assert, raise, and division by zero."""

import numpy as np
import pytest

import assert_funcs

from harness import check, njit, random_array, rng


def test_if_elif_else():
    def classify(x):
        if x < -10:
            r = -2
        elif x < 0:
            r = -1
        elif x == 0:
            r = 0
        elif x <= 10:
            r = 1
        else:
            r = 2
        return r

    cf = njit(classify)
    for x in list(rng(20).integers(-30, 30, 40)) + [-10, 0, 10, 11]:
        check(classify, int(x), cfunc=cf)
    cf = njit(classify)
    for x in list(rng(21).uniform(-30.0, 30.0, 30)) + [0.0, -0.0, 10.0]:
        check(classify, float(x), cfunc=cf)


def test_if_without_else_and_nested():
    def f(a, b):
        r = 0
        if a > 0:
            r += 1
            if b > 0:
                r += 10
            else:
                if b < -5:
                    r -= 100
        if not a:
            r = 42
        return r

    cf = njit(f)
    for a, b in rng(22).integers(-10, 10, size=(50, 2)):
        check(f, int(a), int(b), cfunc=cf)


def test_truthiness_of_numbers():
    def f(x):
        if x:
            return 1
        return 0

    for vals in ([0, 3, -2], [0.0, 0.5, -1e-300]):
        cf = njit(f)
        for v in vals:
            check(f, v, cfunc=cf)


def test_conditional_expressions():
    def clamp(x, lo, hi):
        return lo if x < lo else (hi if x > hi else x)

    def sign(x):
        return 1 if x > 0 else -1 if x < 0 else 0

    cf = njit(clamp)
    for x in rng(23).uniform(-3.0, 3.0, 30):
        check(clamp, float(x), -1.0, 1.5, cfunc=cf)
    cf = njit(sign)
    for x in [-5, 0, 7, -1, 1]:
        check(sign, x, cfunc=cf)


def test_while_loop():
    def collatz_steps(n):
        steps = 0
        while n != 1:
            if n % 2 == 0:
                n //= 2
            else:
                n = 3 * n + 1
            steps += 1
        return steps

    def gcd(a, b):
        while b:
            a, b = b, a % b
        return a

    cf = njit(collatz_steps)
    for n in list(rng(24).integers(1, 10_000, 30)) + [1, 27, 97]:
        check(collatz_steps, int(n), cfunc=cf)
    cf = njit(gcd)
    for a, b in rng(25).integers(1, 100_000, size=(30, 2)):
        check(gcd, int(a), int(b), cfunc=cf)


def range1(n):
    s = 0
    for i in range(n):
        s += i * i - 3 * i
    return s


def range2(a, b):
    s = 0
    for i in range(a, b):
        s = s * 3 % 1000003 + i
    return s


def range3(a, b, c):
    s = 0
    k = 0
    for i in range(a, b, c):
        s += i * (k + 1)
        k += 1
    return s, k


def test_for_range_one_arg():
    cf = njit(range1)
    for n in [0, 1, 2, 17, 1000, -5]:
        check(range1, n, cfunc=cf)


def test_for_range_two_args():
    cf = njit(range2)
    for a, b in [(0, 10), (5, 5), (10, 3), (-20, 7), (-3, -1)]:
        check(range2, a, b, cfunc=cf)


def test_for_range_three_args_with_negative_steps():
    cf = njit(range3)
    cases = [(0, 10, 3), (10, 0, -1), (10, 0, -3), (10, -11, -7), (0, 10, -1),
             (5, 5, 2), (-5, 20, 4), (7, 8, 100), (100, -100, -33)]
    for a, b, c in cases:
        check(range3, a, b, c, cfunc=cf)
    for a, b, c in rng(26).integers(-50, 50, size=(30, 3)):
        if c != 0:
            check(range3, int(a), int(b), int(c), cfunc=cf)


def test_loop_variable_keeps_last_value():
    def f(n):
        i = -1
        for i in range(n):
            pass
        return i

    cf = njit(f)
    for n in [0, 1, 9]:
        check(f, n, cfunc=cf)


def test_for_over_1d_array():
    def total(a):
        s = 0.0
        for x in a:
            s += x * x
        return s

    cf = njit(total)
    base = random_array(41, np.float64, seed=27)
    for a in (base, base[::2], base[::-3], base[:0]):
        check(total, a, cfunc=cf)

    def count_odd(a):
        c = 0
        for x in a:
            if x % 2:
                c += 1
        return c

    cf = njit(count_odd)
    ib = random_array(33, np.int64, seed=28)
    for a in (ib, ib[1::2], ib[:0]):
        check(count_odd, a, cfunc=cf)


def test_for_over_homogeneous_tuple():
    def f(a, b, c):
        s = 0
        for x in (a, b, c):
            s = s * 10 + x
        return s

    def g(t):
        best = t[0]
        for x in t:
            if x > best:
                best = x
        return best

    cf = njit(f)
    check(f, 1, 2, 3, cfunc=cf)
    check(f, -4, 0, 9, cfunc=cf)
    cf = njit(g)
    for t in [(1.5, -2.0, 7.25, 3.0), (-1.0, -2.0, -0.5, -9.0)]:
        check(g, t, cfunc=cf)


def test_break_and_continue():
    def f(n, stop):
        s = 0
        for i in range(n):
            if i % 3 == 0:
                continue
            if i > stop:
                break
            s += i
        return s

    def w(n):
        i = 0
        s = 0
        while True:
            i += 1
            if i % 2:
                continue
            if i > n:
                break
            s += i
        return s

    cf = njit(f)
    for n, stop in [(20, 100), (20, 7), (0, 3), (50, 0)]:
        check(f, n, stop, cfunc=cf)
    cf = njit(w)
    for n in [0, 1, 10, 37]:
        check(w, n, cfunc=cf)


def test_for_else_and_while_else():
    def find(a, x):
        for i in range(a.shape[0]):
            if a[i] == x:
                r = i
                break
        else:
            r = -1
        return r

    def first_divisor(n):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            return n
        return d

    cf = njit(find)
    a = random_array(20, np.int64, seed=29, low=0, high=10)
    for x in range(-1, 12):
        check(find, a, x, cfunc=cf)
    check(find, a[:0], 3, cfunc=cf)
    cf = njit(first_divisor)
    for n in [2, 9, 97, 91, 1_000_003, 1_000_001]:
        check(first_divisor, n, cfunc=cf)


def test_nested_loops_break_inner_only():
    def f(n):
        count = 0
        for i in range(n):
            for j in range(n):
                if j > i:
                    break
                count += i * j
        return count

    cf = njit(f)
    for n in [0, 1, 5, 30]:
        check(f, n, cfunc=cf)


def test_early_return():
    def first_above(a, t):
        for i in range(a.shape[0]):
            if a[i] > t:
                return i
        return -1

    cf = njit(first_above)
    a = random_array(50, np.float64, seed=30)
    for t in [-20.0, 0.0, 5.0, 9.5, 20.0]:
        check(first_above, a, t, cfunc=cf)

    def early(x):
        if x < 0:
            return -x
        y = x * 2
        if y > 10:
            return y - 10
        return y

    cf = njit(early)
    for x in [-3, 0, 4, 6, 100]:
        check(early, x, cfunc=cf)


def test_assert():
    f, g, mean = assert_funcs.positive_plus_one, assert_funcs.not_three, assert_funcs.checked_mean
    cf = njit(f)
    check(f, 5, cfunc=cf)
    check(f, -5, cfunc=cf)
    with pytest.raises(AssertionError, match="x must be positive"):
        cf(0)
    cg = njit(g)
    check(g, 2, cfunc=cg)
    check(g, 3, cfunc=cg)
    with pytest.raises(AssertionError):
        cg(3)
    cm = njit(mean)
    check(mean, random_array(9, np.float64, seed=31), cfunc=cm)
    check(mean, np.zeros(0), cfunc=cm)


def test_raise_reaches_python_with_its_message():
    def f(x):
        if x < 0:
            raise ValueError("x must not be negative")
        if x > 100:
            raise RuntimeError("x is too large")
        if x == 13:
            raise IndexError("unlucky")
        return x * 2

    cf = njit(f)
    for x in [5, -1, 101, 13, 0]:
        check(f, x, cfunc=cf)
    with pytest.raises(ValueError, match="^x must not be negative$"):
        cf(-7)
    with pytest.raises(RuntimeError, match="^x is too large$"):
        cf(1000)
    # The function still works after raising.
    assert cf(21) == 42


def test_raise_inside_loop():
    def check_sorted(a):
        for i in range(1, a.shape[0]):
            if a[i - 1] > a[i]:
                raise ValueError("array is not sorted")
        return True

    cf = njit(check_sorted)
    check(check_sorted, np.arange(10.0), cfunc=cf)
    check(check_sorted, np.array([1.0, 3.0, 2.0]), cfunc=cf)


def test_integer_division_by_zero_raises_zero_division_error():
    def fd(a, b):
        return a // b

    def md(a, b):
        return a % b

    def dm(a, b):
        return divmod(a, b)

    for f in (fd, md, dm):
        cf = njit(f)
        check(f, 7, 0, cfunc=cf)
        with pytest.raises(ZeroDivisionError):
            cf(7, 0)
        with pytest.raises(ZeroDivisionError):
            cf(-3, 0)
        check(f, 7, 2, cfunc=cf)


def test_float_division_by_zero_raises_like_python():
    def f(a, b):
        return a / b

    cf = njit(f)
    with pytest.raises(ZeroDivisionError):
        cf(1.0, 0.0)
    check(f, 1.0, 4.0, cfunc=cf)


def test_multiple_assignment_and_swap():
    def f(a, b):
        x = y = a
        x += 1
        a, b = b, a
        return a, b, x, y

    cf = njit(f)
    check(f, 3, 8, cfunc=cf)
    check(f, -1, 0, cfunc=cf)
