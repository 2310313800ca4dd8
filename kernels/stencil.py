"""A few Jacobi sweeps of a 5-point stencil on a float32 grid (heat diffusion)."""

import numpy as np

from hypersonic import njit


@njit
def diffuse(u, tmp, alpha, steps):
    n, m = u.shape
    for _ in range(steps):
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                tmp[i, j] = u[i, j] + alpha * (
                    u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4 * u[i, j])
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                u[i, j] = tmp[i, j]


KERNEL = diffuse
DEMO_SIZE = 100
TEST_SIZE = 24


def make_inputs(size, rng):
    u = rng.uniform(0.0, 100.0, (size, size)).astype(np.float32)
    return u, u.copy(), np.float32(0.2), 10


def compute(func, args):
    u, tmp = args[0].copy(), args[1].copy()
    func(u, tmp, *args[2:])
    return u


def check(got, want):
    return np.allclose(got, want, rtol=1e-4, atol=1e-3)
