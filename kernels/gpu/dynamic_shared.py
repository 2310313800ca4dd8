"""Dynamic shared memory: ``cuda.shared.array(0, float32)`` sized at launch
(``kernel[blocks, threads, stream, nbytes]``). Each block loads its chunk of the
input, and writes it back reversed (the last, partial chunk too)."""

import numpy as np

from kernels.gpu import backend, blocks_for, compiler, launcher

cuda, njit = backend()
float32 = compiler().float32

TPB = 128


@cuda.jit
def reverse_chunks(a, out):
    buf = cuda.shared.array(0, dtype=float32)
    t = cuda.threadIdx.x
    block_start = cuda.blockIdx.x * cuda.blockDim.x
    i = block_start + t
    if i < a.shape[0]:
        buf[t] = a[i]
    cuda.syncthreads()
    valid = min(cuda.blockDim.x, a.shape[0] - block_start)
    if t < valid:
        out[i] = buf[valid - 1 - t]


SIGNATURES = {"reverse_chunks": (reverse_chunks, "void(float32[:], float32[:])")}
TEST_SIZES = [1, 127, 128, 129, 1000]
DEMO_SIZE = 10_000_000
BENCH_SIZE = 10_000_000
SIM_SIZE = 1_000


def make_inputs(size, rng, tpb=TPB):
    return rng.standard_normal(size).astype(np.float32), tpb


def run(a, tpb=TPB):
    d_a = cuda.to_device(a)
    d_out = cuda.device_array_like(a)
    nbytes = tpb * np.dtype(np.float32).itemsize
    reverse_chunks[blocks_for(a.shape[0], tpb), tpb, 0, nbytes](d_a, d_out)
    return d_out.copy_to_host()


def prepare(a, tpb=TPB):
    d_a = cuda.to_device(a)
    d_out = cuda.device_array_like(a)
    nbytes = tpb * np.dtype(np.float32).itemsize
    blocks = blocks_for(a.shape[0], tpb)

    def launch():
        reverse_chunks[blocks, tpb, 0, nbytes](d_a, d_out)

    return launcher(cuda, launch, d_out.copy_to_host)


def reference(a, tpb=TPB):
    out = np.empty_like(a)
    for start in range(0, a.shape[0], tpb):
        out[start:start + tpb] = a[start:start + tpb][::-1]
    return out


def check(got, want):
    return np.array_equal(got, want)
