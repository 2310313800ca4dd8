"""Kernels the CPU fallback may run with neighbouring blocks merged into one
wider block (they see their position only as ``cuda.grid``/``cuda.gridsize``),
next to kernels it must not merge because they read ``threadIdx``,
``blockIdx``, ``blockDim`` or ``gridDim`` on their own: each result against
NumPy, on grids whose extents have few divisors (the merge takes the largest
that keeps the workers busy) and blocks that overhang the arrays."""

import numpy as np
import pytest

from cuda_harness import cuda, random_array


@cuda.jit
def shifted_rows(a, out):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = a[i, j] * 2.0 + a[i, (j + 1) % a.shape[1]]


@pytest.mark.parametrize("grid", [(13, 7), (31, 1), (2, 53)])
def test_grid_index_2d(device, grid):
    n, m = grid[0] * 8 - 3, grid[1] * 8 - 5
    a = random_array((n, m), np.float64, seed=1)
    out = np.zeros_like(a)
    shifted_rows[grid, (8, 8)](a, out)
    np.testing.assert_array_equal(out, a * 2.0 + np.roll(a, -1, axis=1))


@cuda.jit
def block_coordinates(out):
    """threadIdx, blockIdx, blockDim and gridDim read on their own."""
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j, 0] = cuda.threadIdx.y
        out[i, j, 1] = cuda.blockIdx.y
        out[i, j, 2] = cuda.blockDim.y
        out[i, j, 3] = cuda.gridDim.y


@cuda.jit
def thread_index_only(out):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = cuda.threadIdx.y


@cuda.jit
def block_dim_only(out):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] = cuda.blockDim.y * 1000 + cuda.gridDim.y


def test_block_coordinates_stay_per_block(device):
    grid, block = (40, 9), (4, 8)
    out = np.zeros((160, 72, 4), dtype=np.int64)
    block_coordinates[grid, block](out)
    j = np.arange(72)
    np.testing.assert_array_equal(out[:, :, 0], np.broadcast_to(j % 8, (160, 72)))
    np.testing.assert_array_equal(out[:, :, 1], np.broadcast_to(j // 8, (160, 72)))
    assert (out[:, :, 2] == 8).all() and (out[:, :, 3] == 9).all()
    # Each register alone, too (each keeps its kernel from merging by itself).
    t = np.zeros((160, 72), dtype=np.int64)
    thread_index_only[grid, block](t)
    np.testing.assert_array_equal(t, np.broadcast_to(j % 8, (160, 72)))
    d = np.zeros((160, 72), dtype=np.int64)
    block_dim_only[grid, block](d)
    assert (d == 8 * 1000 + 9).all()


@cuda.jit
def strided_sum(x, out):
    """A grid-stride loop adding into per-element outputs and one global counter."""
    for k in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        out[k] = x[k] * 3.0
        cuda.atomic.add(out, x.shape[0], 1.0)


@pytest.mark.parametrize("blocks", [64, 96, 7])
def test_grid_stride_with_many_blocks(device, blocks):
    x = random_array(50_001, np.float64, seed=2)
    out = np.zeros(50_002)
    strided_sum[blocks, 32](x, out)
    np.testing.assert_array_equal(out[:-1], x * 3.0)
    assert out[-1] == 50_001


@cuda.jit
def per_thread_scratch(x, out):
    """A local array per thread: merged blocks keep one per thread."""
    i = cuda.grid(1)
    tmp = cuda.local.array(4, dtype=np.float64)
    if i < x.shape[0]:
        for k in range(4):
            tmp[k] = x[i] + k
        out[i] = tmp[0] * tmp[3] - tmp[1] * tmp[2]


def test_local_arrays_in_merged_blocks(device):
    x = random_array(3000, np.float64, seed=3)
    out = np.zeros_like(x)
    per_thread_scratch[94, 32](x, out)
    np.testing.assert_allclose(out, x * (x + 3) - (x + 1) * (x + 2), rtol=1e-12, atol=1e-9)
