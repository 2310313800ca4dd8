"""Sum of an array: each block reduces TPB elements in shared memory with a tree
(halving the active threads after each barrier) and writes one partial sum;
launches repeat on the partial sums until one value is left."""

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 256  # a power of two


@cuda.jit
def block_sum(a, partial):
    sh = cuda.shared.array(TPB, dtype=np.float64)
    tid = cuda.threadIdx.x
    i = cuda.grid(1)
    if i < a.shape[0]:
        sh[tid] = a[i]
    else:
        sh[tid] = 0.0
    cuda.syncthreads()
    s = TPB // 2
    while s > 0:
        if tid < s:
            sh[tid] += sh[tid + s]
        cuda.syncthreads()
        s //= 2
    if tid == 0:
        partial[cuda.blockIdx.x] = sh[0]


SIGNATURES = {
    "block_sum": (block_sum, "void(float32[:], float64[:])"),
    "block_sum_f64": (block_sum, "void(float64[:], float64[:])"),
}
TEST_SIZES = [1, 255, 256, 257, 5000, 70_000]
DEMO_SIZE = 10_000_000
BENCH_SIZE = 10_000_000
SIM_SIZE = 1_000


def make_inputs(size, rng):
    return (rng.uniform(-1.0, 1.0, size).astype(np.float32),)


def run(a):
    d = cuda.to_device(a)
    while True:
        blocks = blocks_for(d.shape[0], TPB)
        partial = cuda.device_array(blocks, dtype=np.float64)
        block_sum[blocks, TPB](d, partial)
        d = partial
        if blocks == 1:
            return d.copy_to_host()[0]


def prepare(a):
    """Every level's partial sums allocated once; a call runs all the levels."""
    d_a = cuda.to_device(a)
    levels, d = [], d_a
    while True:
        blocks = blocks_for(d.shape[0], TPB)
        partial = cuda.device_array(blocks, dtype=np.float64)
        levels.append((blocks, d, partial))
        d = partial
        if blocks == 1:
            break

    def launch():
        for blocks, src, dst in levels:
            block_sum[blocks, TPB](src, dst)

    return launcher(cuda, launch, lambda: d.copy_to_host()[0])


def reference(a):
    return np.sum(a, dtype=np.float64)


def check(got, want):
    return bool(np.isclose(got, want, rtol=1e-9, atol=1e-9))
