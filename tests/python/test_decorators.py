"""@njit / @jit in every form, and every option Numba users pass."""

import numpy as np
import pytest

from harness import IS_NUMBA, check, hypersonic_only, jit, njit, random_array


def kernel(a, k):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * k
    return s


A = random_array(50, np.float64, seed=100)


def test_njit_without_parentheses():
    @njit
    def f(x):
        return x * 2 + 1

    assert f(20) == 41
    assert f.py_func(20) == 41


def test_njit_with_empty_parentheses():
    @njit()
    def f(x):
        return x * 2 + 1

    assert f(20) == 41


def test_njit_called_as_a_function():
    check(kernel, A, 2.0, cfunc=njit(kernel))
    check(kernel, A, 2.0, cfunc=njit()(kernel))


def test_jit_nopython_true():
    @jit(nopython=True)
    def f(x):
        return x - 1

    assert f(10) == 9
    check(kernel, A, 0.5, cfunc=jit(nopython=True)(kernel))


def test_jit_without_arguments_compiles():
    @jit
    def f(x):
        return x ** 2

    assert f(9) == 81
    check(kernel, A, 0.5, cfunc=jit()(kernel))


@hypersonic_only("Numba supports object mode")
def test_jit_forceobj_is_refused_clearly():
    with pytest.raises(Exception) as excinfo:
        f = jit(forceobj=True)(kernel)
        f(A, 1.0)
    assert "forceobj" in str(excinfo.value)


@hypersonic_only("Numba accepts nopython=False (object-mode fallback)")
def test_jit_nopython_false_is_refused_clearly():
    with pytest.raises(Exception) as excinfo:
        f = jit(nopython=False)(kernel)
        f(A, 1.0)
    assert "nopython" in str(excinfo.value)


OPTIONS = [
    {"cache": True},
    {"cache": False},
    {"parallel": True},
    {"parallel": False},
    {"fastmath": True},
    {"fastmath": False},
    {"nogil": True},
    {"boundscheck": True},
    {"boundscheck": False},
    {"error_model": "python"},
    {"error_model": "numpy"},
    {"inline": "always"},
    {"inline": "never"},
    {"cache": True, "parallel": True, "fastmath": True, "nogil": True, "boundscheck": True,
     "error_model": "numpy", "inline": "never"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_options_are_accepted_and_results_correct(options):
    rtol = 1e-10 if options.get("fastmath") else 1e-13
    check(kernel, A, 1.75, cfunc=njit(**options)(kernel), rtol=rtol)
    check(kernel, A[::-3], -0.5, cfunc=jit(nopython=True, **options)(kernel), rtol=rtol)


@pytest.mark.parametrize("options", [{"cache": True}, {"parallel": True}, {"nogil": True}],
                         ids=lambda o: next(iter(o)))
def test_options_with_decorator_syntax(options):
    @njit(**options)
    def f(a):
        n = 0
        for x in a:
            if x > 0:
                n += 1
        return n

    assert f(A) == int((A > 0).sum())


def test_boundscheck_true_raises_index_error():
    @njit(boundscheck=True)
    def get(a, i):
        return a[i]

    assert get(A, 3) == A[3]
    assert get(A, -1) == A[-1]
    with pytest.raises(IndexError):
        get(A, 50)
    with pytest.raises(IndexError):
        get(A, -51)


def test_error_model_numpy_float_division_by_zero():
    @njit(error_model="numpy")
    def div(a, b):
        return a / b

    assert div(1.0, 0.0) == np.inf
    assert div(-1.0, 0.0) == -np.inf
    assert np.isnan(div(0.0, 0.0))


def test_error_model_python_float_division_by_zero():
    @njit(error_model="python")
    def div(a, b):
        return a / b

    with pytest.raises(ZeroDivisionError):
        div(1.0, 0.0)


def test_unknown_option_is_not_silently_ignored():
    with pytest.raises((TypeError, KeyError, ValueError)):
        f = njit(no_such_option=True)(kernel)
        f(A, 1.0)


@pytest.mark.skipif(IS_NUMBA, reason="needs both compilers")
def test_same_results_as_numba():
    numba = pytest.importorskip("numba")
    ours = njit(kernel)
    theirs = numba.njit(kernel)
    for a, k in [(A, 2.0), (A[::2], -1.0), (A[:0], 3.0)]:
        assert ours(a, k) == pytest.approx(theirs(a, k), rel=1e-13)
