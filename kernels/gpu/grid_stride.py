"""out = a * x + y with a grid-stride loop: a fixed, small grid covers any n,
each thread taking every ``cuda.gridsize(1)``-th element."""

import numpy as np

from kernels.gpu import backend, launcher

cuda, njit = backend()

TPB = 64
BLOCKS = 8


@cuda.jit
def saxpy(a, x, y, out):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, x.shape[0], stride):
        out[i] = a * x[i] + y[i]


SIGNATURES = {"saxpy": (saxpy, "void(float32, float32[:], float32[:], float32[:])")}
TEST_SIZES = [1, 511, 512, 513, 10_000]
DEMO_SIZE = 10_000_000
BENCH_SIZE = 10_000_000
SIM_SIZE = 2_000


def make_inputs(size, rng):
    return (np.float32(rng.uniform(0.5, 2.0)), rng.standard_normal(size).astype(np.float32),
            rng.standard_normal(size).astype(np.float32))


def run(a, x, y, blocks=BLOCKS, tpb=TPB):
    d_out = cuda.device_array_like(x)
    saxpy[blocks, tpb](a, cuda.to_device(x), cuda.to_device(y), d_out)
    return d_out.copy_to_host()


def prepare(a, x, y, blocks=BLOCKS, tpb=TPB):
    d_x, d_y = cuda.to_device(x), cuda.to_device(y)
    d_out = cuda.device_array_like(x)

    def launch():
        saxpy[blocks, tpb](a, d_x, d_y, d_out)

    return launcher(cuda, launch, d_out.copy_to_host)


def reference(a, x, y):
    return (np.float64(a) * x.astype(np.float64) + y).astype(np.float32)


def check(got, want):
    return np.allclose(got, want, rtol=1e-6, atol=1e-6)
