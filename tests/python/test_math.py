"""The math module, NumPy's scalar functions, and the builtins on numbers."""

import math

import numpy as np
import pytest

from harness import check, hypersonic_only, njit, rng

# --- math: one float argument ----------------------------------------------------

# (function, low, high) -- the domain the inputs are drawn from.
def m_sin(x): return math.sin(x)            # noqa: E704
def m_cos(x): return math.cos(x)            # noqa: E704
def m_tan(x): return math.tan(x)            # noqa: E704
def m_asin(x): return math.asin(x)          # noqa: E704
def m_acos(x): return math.acos(x)          # noqa: E704
def m_atan(x): return math.atan(x)          # noqa: E704
def m_sinh(x): return math.sinh(x)          # noqa: E704
def m_cosh(x): return math.cosh(x)          # noqa: E704
def m_tanh(x): return math.tanh(x)          # noqa: E704
def m_asinh(x): return math.asinh(x)        # noqa: E704
def m_acosh(x): return math.acosh(x)        # noqa: E704
def m_atanh(x): return math.atanh(x)        # noqa: E704
def m_exp(x): return math.exp(x)            # noqa: E704
def m_expm1(x): return math.expm1(x)        # noqa: E704
def m_log(x): return math.log(x)            # noqa: E704
def m_log2(x): return math.log2(x)          # noqa: E704
def m_log10(x): return math.log10(x)        # noqa: E704
def m_log1p(x): return math.log1p(x)        # noqa: E704
def m_sqrt(x): return math.sqrt(x)          # noqa: E704
def m_erf(x): return math.erf(x)            # noqa: E704
def m_erfc(x): return math.erfc(x)          # noqa: E704
def m_gamma(x): return math.gamma(x)        # noqa: E704
def m_lgamma(x): return math.lgamma(x)      # noqa: E704
def m_fabs(x): return math.fabs(x)          # noqa: E704
def m_degrees(x): return math.degrees(x)    # noqa: E704
def m_radians(x): return math.radians(x)    # noqa: E704
def m_floor(x): return math.floor(x)        # noqa: E704
def m_ceil(x): return math.ceil(x)          # noqa: E704
def m_trunc(x): return math.trunc(x)        # noqa: E704
def m_isnan(x): return math.isnan(x)        # noqa: E704
def m_isinf(x): return math.isinf(x)        # noqa: E704
def m_isfinite(x): return math.isfinite(x)  # noqa: E704
def m_frexp(x): return math.frexp(x)        # noqa: E704
def m_modf(x): return math.modf(x)          # noqa: E704
def m_cbrt(x): return math.cbrt(x)          # noqa: E704  (Python >= 3.11)
def m_exp2(x): return math.exp2(x)          # noqa: E704  (Python >= 3.11)


def _numba_lacks(name):
    return hypersonic_only(f"Numba has no math.{name}")


def _needs_311(f):
    return pytest.mark.skipif(not hasattr(math, f.__name__[2:]), reason="Python >= 3.11")


UNARY = [
    (m_sin, -10, 10), (m_cos, -10, 10), (m_tan, -1.5, 1.5), (m_asin, -1, 1),
    (m_acos, -1, 1), (m_atan, -50, 50), (m_sinh, -5, 5), (m_cosh, -5, 5),
    (m_tanh, -5, 5), (m_asinh, -50, 50), (m_acosh, 1, 50), (m_atanh, -0.99, 0.99),
    (m_exp, -20, 20), (m_expm1, -1, 1), (m_log, 1e-3, 1e3), (m_log2, 1e-3, 1e3),
    (m_log10, 1e-3, 1e3), (m_log1p, -0.9, 10), (m_sqrt, 0, 1e4), (m_erf, -3, 3),
    (m_erfc, -3, 3), (m_gamma, 0.1, 20), (m_lgamma, 0.1, 50), (m_fabs, -9, 9),
    (m_degrees, -7, 7), (m_radians, -400, 400), (m_floor, -50, 50), (m_ceil, -50, 50),
    (m_trunc, -50, 50), (m_isnan, -1, 1), (m_isinf, -1, 1), (m_isfinite, -1, 1),
    (m_frexp, -1e5, 1e5),
    pytest.param(m_modf, -100, 100, marks=_numba_lacks("modf"), id="m_modf"),
    pytest.param(m_exp2, -20, 20, marks=_needs_311(m_exp2), id="m_exp2"),
    pytest.param(m_cbrt, -1e3, 1e3, marks=[_needs_311(m_cbrt), _numba_lacks("cbrt")], id="m_cbrt"),
]

# Special values each function is also checked on, where CPython does not raise.
SPECIALS = {
    m_isnan: [math.nan, math.inf, -math.inf, 0.0],
    m_isinf: [math.nan, math.inf, -math.inf, 0.0],
    m_isfinite: [math.nan, math.inf, -math.inf, 0.0],
    m_sqrt: [0.0, 1.0, 4.0],
    m_exp: [0.0, -math.inf, math.inf],
    m_atan: [math.inf, -math.inf],
    m_tanh: [math.inf, -math.inf, 0.0],
    m_floor: [-0.5, 0.5, -1.0, 2.0],
    m_ceil: [-0.5, 0.5, -1.0, 2.0],
    m_trunc: [-0.5, 0.5, -1.9, 1.9],
    m_fabs: [-0.0, -math.inf],
    m_erf: [math.inf, -math.inf],
}


@pytest.mark.parametrize("f,lo,hi", UNARY, ids=lambda v: getattr(v, "__name__", ""))
def test_math_unary(f, lo, hi):
    cf = njit(f)
    xs = [float(x) for x in rng(40).uniform(lo, hi, 25)] + SPECIALS.get(f, [])
    for x in xs:
        check(f, x, cfunc=cf, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("f", [m_sin, m_exp, m_sqrt, m_floor, m_log], ids=lambda f: f.__name__)
def test_math_unary_on_int_argument(f):
    cf = njit(f)
    for x in [1, 2, 7, 100]:
        check(f, x, cfunc=cf, rtol=1e-13)


# --- math: two arguments --------------------------------------------------------------

def m_atan2(y, x): return math.atan2(y, x)        # noqa: E704
def m_hypot(x, y): return math.hypot(x, y)        # noqa: E704
def m_pow(x, y): return math.pow(x, y)            # noqa: E704
def m_copysign(x, y): return math.copysign(x, y)  # noqa: E704
def m_fmod(x, y): return math.fmod(x, y)          # noqa: E704
def m_log_base(x, b): return math.log(x, b)       # noqa: E704
def m_remainder(x, y): return math.remainder(x, y)  # noqa: E704


BINARY = [
    (m_atan2, (-5, 5), (-5, 5)), (m_hypot, (-100, 100), (-100, 100)),
    (m_pow, (0.01, 10), (-3, 3)), (m_copysign, (-5, 5), (-5, 5)),
    pytest.param(m_fmod, (-50, 50), (0.5, 7), marks=_numba_lacks("fmod"), id="m_fmod"),
    pytest.param(m_log_base, (0.1, 1000), (1.5, 20),
                 marks=_numba_lacks("log with a base"), id="m_log_base"),
    pytest.param(m_remainder, (-50, 50), (0.5, 7),
                 marks=_numba_lacks("remainder"), id="m_remainder"),
]


@pytest.mark.parametrize("f,a,b", BINARY, ids=lambda v: getattr(v, "__name__", ""))
def test_math_binary(f, a, b):
    cf = njit(f)
    r = rng(41)
    for x, y in zip(r.uniform(*a, 25), r.uniform(*b, 25)):
        check(f, float(x), float(y), cfunc=cf, rtol=1e-13, atol=1e-15)


def test_math_ldexp():
    def f(x, e):
        return math.ldexp(x, e)

    cf = njit(f)
    for x, e in zip(rng(42).uniform(-10, 10, 20), rng(43).integers(-30, 30, 20)):
        check(f, float(x), int(e), cfunc=cf)


def test_math_constants():
    def f():
        return math.pi, math.e, math.tau, math.inf, -math.inf

    def g():
        return math.nan

    def area(r):
        return math.pi * r * r

    check(f)
    check(g)
    cf = njit(area)
    for r in [0.5, 1.0, 3.25]:
        check(area, r, cfunc=cf)


# --- NumPy scalar functions ---------------------------------------------------------

def np_sin(x): return np.sin(x)            # noqa: E704
def np_cos(x): return np.cos(x)            # noqa: E704
def np_tan(x): return np.tan(x)            # noqa: E704
def np_arcsin(x): return np.arcsin(x)      # noqa: E704
def np_arccos(x): return np.arccos(x)      # noqa: E704
def np_arctan(x): return np.arctan(x)      # noqa: E704
def np_sinh(x): return np.sinh(x)          # noqa: E704
def np_cosh(x): return np.cosh(x)          # noqa: E704
def np_tanh(x): return np.tanh(x)          # noqa: E704
def np_arcsinh(x): return np.arcsinh(x)    # noqa: E704
def np_arctanh(x): return np.arctanh(x)    # noqa: E704
def np_exp(x): return np.exp(x)            # noqa: E704
def np_exp2(x): return np.exp2(x)          # noqa: E704
def np_expm1(x): return np.expm1(x)        # noqa: E704
def np_log(x): return np.log(x)            # noqa: E704
def np_log2(x): return np.log2(x)          # noqa: E704
def np_log10(x): return np.log10(x)        # noqa: E704
def np_log1p(x): return np.log1p(x)        # noqa: E704
def np_sqrt(x): return np.sqrt(x)          # noqa: E704
def np_cbrt(x): return np.cbrt(x)          # noqa: E704
def np_abs(x): return np.abs(x)            # noqa: E704
def np_absolute(x): return np.absolute(x)  # noqa: E704
def np_fabs(x): return np.fabs(x)          # noqa: E704
def np_floor(x): return np.floor(x)        # noqa: E704
def np_ceil(x): return np.ceil(x)          # noqa: E704
def np_trunc(x): return np.trunc(x)        # noqa: E704
def np_rint(x): return np.rint(x)          # noqa: E704
def np_sign(x): return np.sign(x)          # noqa: E704
def np_square(x): return np.square(x)      # noqa: E704
def np_deg2rad(x): return np.deg2rad(x)    # noqa: E704
def np_rad2deg(x): return np.rad2deg(x)    # noqa: E704
def np_isnan(x): return np.isnan(x)        # noqa: E704
def np_isinf(x): return np.isinf(x)        # noqa: E704
def np_isfinite(x): return np.isfinite(x)  # noqa: E704


NP_UNARY = [
    (np_sin, -10, 10), (np_cos, -10, 10), (np_tan, -1.5, 1.5), (np_arcsin, -1, 1),
    (np_arccos, -1, 1), (np_arctan, -50, 50), (np_sinh, -5, 5), (np_cosh, -5, 5),
    (np_tanh, -5, 5), (np_arcsinh, -50, 50), (np_arctanh, -0.99, 0.99),
    (np_exp, -20, 20), (np_exp2, -20, 20), (np_expm1, -1, 1), (np_log, 1e-3, 1e3),
    (np_log2, 1e-3, 1e3), (np_log10, 1e-3, 1e3), (np_log1p, -0.9, 10),
    (np_sqrt, 0, 1e4), (np_cbrt, -1e3, 1e3), (np_abs, -9, 9), (np_absolute, -9, 9),
    (np_fabs, -9, 9), (np_floor, -50, 50), (np_ceil, -50, 50), (np_trunc, -50, 50),
    (np_rint, -50, 50), (np_sign, -3, 3), (np_square, -30, 30), (np_deg2rad, -400, 400),
    (np_rad2deg, -7, 7), (np_isnan, -1, 1), (np_isinf, -1, 1), (np_isfinite, -1, 1),
]


@pytest.mark.parametrize("f,lo,hi", NP_UNARY, ids=[u[0].__name__ for u in NP_UNARY])
def test_numpy_unary_float64(f, lo, hi):
    cf = njit(f)
    xs = [float(x) for x in rng(44).uniform(lo, hi, 20)]
    if f in (np_isnan, np_isinf, np_isfinite, np_sign, np_abs, np_floor):
        xs += [math.nan, math.inf, -math.inf, 0.0]
    for x in xs:
        check(f, x, cfunc=cf, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "f,lo,hi",
    [u for u in NP_UNARY if u[0] in (np_sin, np_exp, np_sqrt, np_arctan, np_floor, np_abs, np_log)],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_numpy_unary_float32(f, lo, hi):
    cf = njit(f)
    for x in rng(45).uniform(lo, hi, 20).astype(np.float32):
        got = check(f, x, cfunc=cf, rtol=2e-6, atol=1e-7)
        assert float(got) == pytest.approx(float(f(x)), rel=2e-6, abs=1e-7)


def test_numpy_functions_on_int_arguments():
    def f(n):
        return np.sin(n), np.sqrt(n), np.abs(-n), np.exp(n / 10)

    cf = njit(f)
    for n in [0, 1, 5, 99]:
        check(f, n, cfunc=cf, rtol=1e-13)


def test_numpy_binary():
    def f(y, x):
        return (np.arctan2(y, x), np.hypot(y, x), np.power(abs(y) + 0.5, x),
                np.maximum(y, x), np.minimum(y, x), np.copysign(y, x))

    cf = njit(f)
    r = rng(46)
    for y, x in zip(r.uniform(-5, 5, 25), r.uniform(-5, 5, 25)):
        check(f, float(y), float(x), cfunc=cf, rtol=1e-13)


def test_complex_scalar_attributes_and_abs():
    def f(z):
        return abs(z), z.real, z.imag, z.conjugate()

    cf = njit(f)
    r = rng(47)
    for re, im in zip(r.uniform(-3, 3, 15), r.uniform(-3, 3, 15)):
        check(f, complex(re, im), cfunc=cf, rtol=1e-13)


def test_numpy_functions_on_complex_scalars():
    def f(z):
        return np.exp(z), np.abs(z), np.sqrt(z)

    cf = njit(f)
    r = rng(47)
    for re, im in zip(r.uniform(-3, 3, 15), r.uniform(-3, 3, 15)):
        check(f, complex(re, im), cfunc=cf, rtol=1e-13)


# --- builtins ------------------------------------------------------------------------------

def test_abs():
    def f(x):
        return abs(x)

    for vals in ([-3, 0, 7, -(2**40)], [-2.5, 0.0, -0.0, 3.75, -math.inf]):
        cf = njit(f)
        for v in vals:
            check(f, v, cfunc=cf)
    cf = njit(f)
    for z in [3 + 4j, -1.5 - 2j, 0j]:
        check(f, z, cfunc=cf)


def test_min_max():
    def f2(a, b):
        return min(a, b), max(a, b)

    def f3(a, b, c):
        return min(a, b, c), max(a, b, c)

    r = rng(48)
    cf = njit(f2)
    for a, b in r.integers(-100, 100, size=(20, 2)):
        check(f2, int(a), int(b), cfunc=cf)
    cf = njit(f2)
    for a, b in r.uniform(-100, 100, size=(20, 2)):
        check(f2, float(a), float(b), cfunc=cf)
    cf = njit(f3)
    for a, b, c in r.integers(-100, 100, size=(20, 3)):
        check(f3, int(a), int(b), int(c), cfunc=cf)


def test_min_max_mixed_int_float_is_float():
    def f(a, b):
        return min(a, b), max(a, b)

    cf = njit(f)
    for a, b in [(3, 2.5), (-1, 4.0), (2, 2.5)]:
        got = check(f, a, b, cfunc=cf, types=False)
        assert all(isinstance(v, float) for v in got)


def test_int_float_bool_complex_conversions():
    def f(x):
        return int(x), float(x), bool(x)

    def g(a, b):
        return complex(a, b), complex(a)

    cf = njit(f)
    for x in [-2.7, -0.5, 0.0, 0.5, 3.99, 1e10]:
        check(f, x, cfunc=cf)  # int() truncates toward zero
    cf = njit(f)
    for x in [-3, 0, 5]:
        check(f, x, cfunc=cf)
    cg = njit(g)
    for a, b in [(1.5, -2.0), (0.0, 0.0), (-3.25, 7.0)]:
        check(g, a, b, cfunc=cg)


@hypersonic_only("Numba refuses float(bool)")
def test_conversions_of_bool():
    def f(x):
        return int(x), float(x), bool(x), complex(x)

    cf = njit(f)
    for x in [True, False]:
        check(f, x, cfunc=cf)


def test_len():
    def f(a, t):
        return len(a), len(t)

    cf = njit(f)
    check(f, np.arange(7.0), (1, 2, 3), cfunc=cf)
    check(f, np.arange(0.0), (4, 5, 6), cfunc=cf)
    cf = njit(f)
    check(f, np.ones((4, 9)), (1.0, 2.0), cfunc=cf)


def test_round():
    def r0(x):
        return round(x)

    def r2(x, n):
        return round(x, n)

    cf = njit(r0)
    # Python rounds halves to even.
    for x in [2.5, 3.5, -2.5, -3.5, 0.5, 1.49, -1.51, 1234.5678]:
        check(r0, x, cfunc=cf)
    cf = njit(r2)
    for x in rng(49).uniform(-100, 100, 20):
        check(r2, float(x), 2, cfunc=cf, rtol=1e-15)


def test_pow():
    def f(a, b):
        return pow(a, b)

    cf = njit(f)
    for a, b in [(2, 10), (-3, 3), (7, 0), (10, 5)]:
        check(f, a, b, cfunc=cf)
    cf = njit(f)
    for a, b in [(2.0, 0.5), (9.0, -1.5), (1.5, 3.0)]:
        check(f, a, b, cfunc=cf, rtol=1e-14)


def test_divmod():
    def f(a, b):
        return divmod(a, b)

    cf = njit(f)
    for a, b in [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 3)]:
        check(f, a, b, cfunc=cf)
    cf = njit(f)
    for a, b in [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (1e6, 0.3)]:
        check(f, a, b, cfunc=cf, rtol=1e-13)
