"""Heat diffusion on a float32 grid: Jacobi sweeps of a 5-point stencil, one
thread per cell on a 2-D grid of 16 x 16 blocks; edges stay fixed. Two device
arrays are swapped between sweeps."""

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 16
ALPHA = 0.2


@cuda.jit
def stencil5(u, out, alpha):
    i, j = cuda.grid(2)
    n = u.shape[0]
    m = u.shape[1]
    if i < n and j < m:
        if i == 0 or j == 0 or i == n - 1 or j == m - 1:
            out[i, j] = u[i, j]
        else:
            out[i, j] = u[i, j] + alpha * (
                u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * u[i, j])


SIGNATURES = {"stencil5": (stencil5, "void(float32[:, :], float32[:, :], float32)")}
TEST_SIZES = [1, 3, 16, 17, 45]
DEMO_SIZE = 2048
BENCH_SIZE = 2048
SIM_SIZE = 20
STEPS = 5


def make_inputs(size, rng):
    u = rng.uniform(0.0, 100.0, (size, size + 5)).astype(np.float32)
    return u, STEPS


def run(u, steps):
    d_u = cuda.to_device(u)
    d_tmp = cuda.device_array_like(u)
    grid = (blocks_for(u.shape[0], TPB), blocks_for(u.shape[1], TPB))
    for _ in range(steps):
        stencil5[grid, (TPB, TPB)](d_u, d_tmp, np.float32(ALPHA))
        d_u, d_tmp = d_tmp, d_u
    return d_u.copy_to_host()


def prepare(u, steps):
    """The first sweep reads the input, later ones ping-pong between two arrays:
    every call computes the same ``steps`` sweeps from ``u``."""
    d_u = cuda.to_device(u)
    bufs = [cuda.device_array_like(u), cuda.device_array_like(u)]
    grid = (blocks_for(u.shape[0], TPB), blocks_for(u.shape[1], TPB))
    alpha = np.float32(ALPHA)

    def launch():
        src = d_u
        for s in range(steps):
            dst = bufs[s % 2]
            stencil5[grid, (TPB, TPB)](src, dst, alpha)
            src = dst

    last = d_u if steps == 0 else bufs[(steps - 1) % 2]
    return launcher(cuda, launch, last.copy_to_host)


def reference(u, steps):
    u = u.copy()
    a = np.float32(ALPHA)
    for _ in range(steps):
        v = u.astype(np.float64)
        new = u.copy()
        new[1:-1, 1:-1] = (v[1:-1, 1:-1] + a * (v[:-2, 1:-1] + v[2:, 1:-1] + v[1:-1, :-2]
                                                + v[1:-1, 2:] - 4.0 * v[1:-1, 1:-1]))
        u = new
    return u


def check(got, want):
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-4)
