"""C = A @ B in float32: a naive kernel (one thread per element of C, 2-D grid)
and a tiled one staging TPB x TPB tiles of A and B in shared memory."""

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 16


@cuda.jit
def matmul_naive(A, B, C):
    i, j = cuda.grid(2)
    if i < C.shape[0] and j < C.shape[1]:
        acc = np.float32(0.0)
        for k in range(A.shape[1]):
            acc += A[i, k] * B[k, j]
        C[i, j] = acc


@cuda.jit
def matmul_tiled(A, B, C):
    sA = cuda.shared.array(shape=(TPB, TPB), dtype=np.float32)
    sB = cuda.shared.array(shape=(TPB, TPB), dtype=np.float32)
    x, y = cuda.grid(2)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tiles = (A.shape[1] + TPB - 1) // TPB
    acc = np.float32(0.0)
    for t in range(tiles):
        # Stage one tile of A and one of B; zeros outside the matrices.
        sA[tx, ty] = 0.0
        sB[tx, ty] = 0.0
        if x < A.shape[0] and t * TPB + ty < A.shape[1]:
            sA[tx, ty] = A[x, t * TPB + ty]
        if y < B.shape[1] and t * TPB + tx < B.shape[0]:
            sB[tx, ty] = B[t * TPB + tx, y]
        cuda.syncthreads()
        for k in range(TPB):
            acc += sA[tx, k] * sB[k, ty]
        cuda.syncthreads()
    if x < C.shape[0] and y < C.shape[1]:
        C[x, y] = acc


_SIG = "void(float32[:, :], float32[:, :], float32[:, :])"
SIGNATURES = {"matmul_naive": (matmul_naive, _SIG), "matmul_tiled": (matmul_tiled, _SIG)}
TEST_SIZES = [1, 15, 16, 33, 50]
DEMO_SIZE = 512
BENCH_SIZE = 512
SIM_SIZE = 24


def make_inputs(size, rng):
    """A is size x (size+3), B is (size+3) x m: not square, rarely multiples of TPB."""
    n, k, m = size, size + 3, max(1, size - 1) if size > 1 else 2
    A = rng.uniform(-1.0, 1.0, (n, k)).astype(np.float32)
    B = rng.uniform(-1.0, 1.0, (k, m)).astype(np.float32)
    return A, B


def run_kernel(kernel, A, B):
    d_A = cuda.to_device(A)
    d_B = cuda.to_device(B)
    d_C = cuda.device_array((A.shape[0], B.shape[1]), dtype=np.float32)
    grid = (blocks_for(A.shape[0], TPB), blocks_for(B.shape[1], TPB))
    kernel[grid, (TPB, TPB)](d_A, d_B, d_C)
    return d_C.copy_to_host()


def prepare_kernel(kernel, A, B):
    d_A, d_B = cuda.to_device(A), cuda.to_device(B)
    d_C = cuda.device_array((A.shape[0], B.shape[1]), dtype=np.float32)
    grid = (blocks_for(A.shape[0], TPB), blocks_for(B.shape[1], TPB))

    def launch():
        kernel[grid, (TPB, TPB)](d_A, d_B, d_C)

    return launcher(cuda, launch, d_C.copy_to_host)


def prepare(A, B):
    """The tiled kernel, as ``run``."""
    return prepare_kernel(matmul_tiled, A, B)


def run(A, B):
    """The tiled kernel (the naive one is ``run_kernel(matmul_naive, A, B)``)."""
    return run_kernel(matmul_tiled, A, B)


def reference(A, B):
    return (A.astype(np.float64) @ B.astype(np.float64)).astype(np.float32)


def check(got, want):
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-4)
