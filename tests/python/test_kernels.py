"""The example kernels in kernels/: compiled vs plain Python, vs Numba, and a few
properties of the results."""

import numpy as np
import pytest

from harness import IS_NUMBA, import_kernel

KERNELS = ["ragged_sum", "mandelbrot", "lu", "nbody", "primes", "stencil"]


def plain(mod):
    return getattr(mod, "PLAIN", mod.KERNEL.py_func)


@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("seed", [1, 2])
def test_kernel_matches_plain_python(name, seed):
    mod = import_kernel(name)
    args = mod.make_inputs(mod.TEST_SIZE, np.random.default_rng(seed))
    got = mod.compute(mod.KERNEL, args)
    want = mod.compute(plain(mod), args)
    assert mod.check(got, want), f"{name}: {got!r} vs {want!r}"


@pytest.mark.skipif(IS_NUMBA, reason="comparing Numba with itself")
@pytest.mark.parametrize("name", [k for k in KERNELS if k != "primes"])
def test_kernel_matches_numba(name):
    numba = pytest.importorskip("numba")
    mod = import_kernel(name)
    args = mod.make_inputs(mod.TEST_SIZE, np.random.default_rng(3))
    got = mod.compute(mod.KERNEL, args)
    want = mod.compute(numba.njit(mod.KERNEL.py_func), args)
    assert mod.check(got, want)


def test_lu_reconstructs_the_matrix():
    mod = import_kernel("lu")
    a, piv = mod.make_inputs(25, np.random.default_rng(4))
    lu, p = mod.compute(mod.KERNEL, (a, piv))
    np.testing.assert_allclose(mod.reconstruct(lu, p), a, rtol=1e-10, atol=1e-12)
    assert np.all(np.abs(np.tril(lu, -1)) <= 1.0 + 1e-15)  # partial pivoting bounds L


def test_lu_singular_matrix_raises():
    mod = import_kernel("lu")
    a = np.ones((4, 4))
    with pytest.raises(ValueError, match="singular"):
        mod.KERNEL(a, np.zeros(4, dtype=np.int64))


def test_lu_fortran_order_and_views():
    mod = import_kernel("lu")
    a, piv = mod.make_inputs(12, np.random.default_rng(5))
    want = mod.compute(plain(mod), (a, piv))
    for view in (np.asfortranarray(a), np.ascontiguousarray(a.T).T):
        got = mod.compute(mod.KERNEL, (view, piv))
        assert mod.check(got, want)
    big = np.zeros((24, 24))
    big[::2, ::2] = a
    strided = big[::2, ::2]
    mod.KERNEL(strided, piv)  # in place, through a non-contiguous view
    assert mod.check((strided, piv), want)
    assert not big[1::2].any()


def test_mandelbrot_known_points():
    mod = import_kernel("mandelbrot")
    counts = np.zeros((3, 4), dtype=np.int32)
    mod.KERNEL(counts, -2.0, 2.0, -1.5, 1.5, 50)
    want = counts.copy()
    plain(mod)(want, -2.0, 2.0, -1.5, 1.5, 50)
    np.testing.assert_array_equal(counts, want)
    assert counts[1, 2] == 50  # c = -0.5j stays bounded
    assert counts[0, 0] == 0  # c = -2 - 1.5j escapes at once


def test_primes_count_and_sieve():
    mod = import_kernel("primes")
    assert mod.KERNEL(0, 100) == 25
    assert mod.KERNEL(0, 10_000) == 1229
    flags = np.zeros(1000, dtype=np.uint8)
    assert mod.sieve(flags) == 168
    assert flags[997] == 1 and flags[999] == 0 and flags[2] == 1 and flags[1] == 0
    for n in [0, 1, 2, 3, 4, 97, 7919, 7917]:
        assert mod.is_prime(n) == mod.is_prime.py_func(n)


def test_ragged_sum_against_numpy():
    mod = import_kernel("ragged_sum")
    X, jind = mod.make_inputs(5_000, np.random.default_rng(6))
    want = 0.0
    for i in range(jind.shape[0] - 1):
        j = np.arange(jind[i], jind[i + 1])
        want += np.arctan(X[j] * i * j).sum()
    assert mod.KERNEL(X, jind) == pytest.approx(want, rel=1e-10)
