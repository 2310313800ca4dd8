"""Histogram of byte values with atomics: straight to global memory, and
privatised per block in shared memory (then merged with one atomic per bin)."""

import numpy as np

from kernels.gpu import backend, launcher

cuda, njit = backend()

NBINS = 256
TPB = 128


@cuda.jit
def histogram_global(data, hist):
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, data.shape[0], stride):
        cuda.atomic.add(hist, data[i], 1)


@cuda.jit
def histogram_shared(data, hist):
    local_hist = cuda.shared.array(NBINS, dtype=np.int32)
    t = cuda.threadIdx.x
    for b in range(t, NBINS, cuda.blockDim.x):
        local_hist[b] = 0
    cuda.syncthreads()
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    for i in range(start, data.shape[0], stride):
        cuda.atomic.add(local_hist, data[i], 1)
    cuda.syncthreads()
    for b in range(t, NBINS, cuda.blockDim.x):
        if local_hist[b] != 0:
            cuda.atomic.add(hist, b, local_hist[b])


_SIG = "void(uint8[:], int32[:])"
SIGNATURES = {"histogram_global": (histogram_global, _SIG),
              "histogram_shared": (histogram_shared, _SIG)}
TEST_SIZES = [1, 100, 4097, 50_000]
DEMO_SIZE = 20_000_000
BENCH_SIZE = 20_000_000
SIM_SIZE = 2_000


def make_inputs(size, rng):
    # Skewed, so that some bins are hot (contended atomics) and some empty.
    data = np.minimum(rng.exponential(40.0, size), NBINS - 1).astype(np.uint8)
    return (data,)


def grid_for(n):
    return max(1, min(64, (n + TPB - 1) // TPB))


def run_kernel(kernel, data):
    d_data = cuda.to_device(data)
    d_hist = cuda.to_device(np.zeros(NBINS, dtype=np.int32))
    kernel[grid_for(data.shape[0]), TPB](d_data, d_hist)
    return d_hist.copy_to_host()


def run(data):
    """The shared-memory kernel (the other is ``run_kernel(histogram_global, data)``)."""
    return run_kernel(histogram_shared, data)


def prepare_kernel(kernel, data):
    """A call clears the histogram (a 1 KiB copy) and launches."""
    d_data = cuda.to_device(data)
    zeros = np.zeros(NBINS, dtype=np.int32)
    d_hist = cuda.to_device(zeros)
    grid = grid_for(data.shape[0])

    def launch():
        d_hist.copy_to_device(zeros)
        kernel[grid, TPB](d_data, d_hist)

    return launcher(cuda, launch, d_hist.copy_to_host)


def prepare(data):
    """The shared-memory kernel, as ``run``."""
    return prepare_kernel(histogram_shared, data)


def reference(data):
    return np.bincount(data, minlength=NBINS).astype(np.int32)


def check(got, want):
    return np.array_equal(got, want)
