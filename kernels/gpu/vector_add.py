"""c = a + b, one thread per element (1-D grid, bounds check)."""

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 128


@cuda.jit
def vector_add(a, b, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = a[i] + b[i]


SIGNATURES = {"vector_add": (vector_add, "void(float32[:], float32[:], float32[:])")}
TEST_SIZES = [1, 127, 128, 1000, 4099]
DEMO_SIZE = 10_000_000
BENCH_SIZE = 10_000_000
SIM_SIZE = 2_000


def make_inputs(size, rng):
    a = rng.standard_normal(size).astype(np.float32)
    b = rng.standard_normal(size).astype(np.float32)
    return a, b


def run(a, b):
    d_a = cuda.to_device(a)
    d_b = cuda.to_device(b)
    d_out = cuda.device_array_like(a)
    vector_add[blocks_for(a.shape[0], TPB), TPB](d_a, d_b, d_out)
    return d_out.copy_to_host()


def prepare(a, b):
    d_a, d_b = cuda.to_device(a), cuda.to_device(b)
    d_out = cuda.device_array_like(a)
    blocks = blocks_for(a.shape[0], TPB)

    def launch():
        vector_add[blocks, TPB](d_a, d_b, d_out)

    return launcher(cuda, launch, d_out.copy_to_host)


def reference(a, b):
    return a + b


def check(got, want):
    return got.shape == want.shape and np.array_equal(got, want)
