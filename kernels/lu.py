"""LU factorisation with partial pivoting, in place, written with loops.

On return ``a`` holds U on and above the diagonal and the multipliers of L (unit
diagonal) below it; ``piv[k]`` is the row swapped with row k at step k (LAPACK's
getrf convention, 0-based).
"""

import numpy as np

from hypersonic import njit


@njit
def lu_factor(a, piv):
    n = a.shape[0]
    for k in range(n):
        p = k
        pmax = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > pmax:
                pmax = v
                p = i
        piv[k] = p
        if pmax == 0.0:
            raise ValueError("matrix is singular")
        if p != k:
            for j in range(n):
                t = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = t
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            a[i, k] *= inv
            f = a[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= f * a[k, j]


KERNEL = lu_factor
DEMO_SIZE = 120
TEST_SIZE = 30


def make_inputs(size, rng):
    a = rng.standard_normal((size, size))
    piv = np.zeros(size, dtype=np.int64)
    return a, piv


def compute(func, args):
    a, piv = args[0].copy(), args[1].copy()
    func(a, piv)
    return a, piv


def reconstruct(lu, piv):
    """P^T L U: the original matrix, from the factors."""
    n = lu.shape[0]
    L = np.tril(lu, -1) + np.eye(n)
    U = np.triu(lu)
    a = L @ U
    for k in range(n - 1, -1, -1):
        a[[k, piv[k]]] = a[[piv[k], k]]
    return a


def check(got, want):
    return (np.array_equal(got[1], want[1])
            and np.allclose(got[0], want[0], rtol=1e-9, atol=1e-12))
