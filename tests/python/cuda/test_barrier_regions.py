"""Kernels whose barriers split them into regions, in the shapes the CPU
fallback treats specially: thread geometry kept in locals across barriers
(recomputed per region rather than stored), and regions guarded by
``threadIdx.x < b`` for a block-uniform ``b`` (run over the first ``b``
threads only) -- with ``<``, ``<=``, ``>``, ``>=``, a ``b`` below zero or
beyond the block, unsigned and narrow types. Every result against NumPy."""

import numpy as np
import pytest

from cuda_harness import cuda, random_array

TPB = 96  # three warps, not a power of two


@cuda.jit
def guarded_shapes(vals, first, step, out):
    """Each column of ``out`` is written by the threads a guard lets through.
    The bound is block-uniform arithmetic on scalars (not loaded from memory)."""
    sh = cuda.shared.array(TPB, dtype=np.float64)
    tid = cuda.threadIdx.x
    wide = np.int64(tid)
    b = first + step * cuda.blockIdx.x
    sh[tid] = vals[cuda.grid(1)]
    cuda.syncthreads()
    row = cuda.blockIdx.x * cuda.blockDim.x + tid
    if tid < b:
        out[row, 0] = sh[tid] * 2.0
    cuda.syncthreads()
    if wide <= b:
        out[row, 1] = sh[(tid + 1) % TPB]
    cuda.syncthreads()
    if b > tid:
        out[row, 2] = sh[tid] + 1.0
    cuda.syncthreads()
    if b >= wide:
        out[row, 3] = -sh[tid]
    cuda.syncthreads()
    if np.uint32(tid) < np.uint32(max(b, 0)):
        out[row, 4] = sh[TPB - 1 - tid]


def guarded_model(vals, bounds):
    out = np.full((vals.size, 5), -7.0)
    for blk, b in enumerate(bounds):
        sh = vals[blk * TPB:(blk + 1) * TPB]
        for t in range(TPB):
            r = blk * TPB + t
            if t < b:
                out[r, 0] = sh[t] * 2.0
                out[r, 2] = sh[t] + 1.0
                out[r, 4] = sh[TPB - 1 - t]
            if t <= b:
                out[r, 1] = sh[(t + 1) % TPB]
                out[r, 3] = -sh[t]
    return out


def test_regions_guarded_by_thread_index(device):
    # Bounds below zero, zero, inside, the last thread, the block size and past it.
    # Bounds from below zero, through the block, to past it.
    first, step = -5, 19
    bounds = first + step * np.arange(8)
    vals = random_array(bounds.size * TPB, np.float64, seed=11)
    out = np.full((vals.size, 5), -7.0)
    guarded_shapes[bounds.size, TPB](vals, first, step, out)
    np.testing.assert_array_equal(out, guarded_model(vals, bounds))


@cuda.jit
def tree_sum_int32(vals, out):
    """The classic tree reduction with an int32 index and a halving int32 stride."""
    sh = cuda.shared.array(128, dtype=np.int64)
    tid = cuda.threadIdx.x
    sh[tid] = vals[cuda.grid(1)]
    cuda.syncthreads()
    s = np.int32(64)
    while s > 0:
        if tid < s:
            sh[tid] += sh[tid + s]
        cuda.syncthreads()
        s = np.int32(s // 2)
    if tid == 0:
        out[cuda.blockIdx.x] = sh[0]


def test_tree_reduction_int32_stride(device):
    vals = random_array(128 * 5, np.int64, seed=12, low=-1000, high=1000)
    out = np.zeros(5, dtype=np.int64)
    tree_sum_int32[5, 128](vals, out)
    np.testing.assert_array_equal(out, vals.reshape(5, 128).sum(axis=1))


@cuda.jit
def transpose_tiles(a, out):
    """Geometry in locals (x, y from cuda.grid(2), tx, ty) read after a barrier."""
    tile = cuda.shared.array((8, 9), dtype=np.float32)
    x, y = cuda.grid(2)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    if x < a.shape[0] and y < a.shape[1]:
        tile[tx, ty] = a[x, y]
    cuda.syncthreads()
    # Thread (tx, ty) writes the element its mirror thread (ty, tx) loaded.
    ox = cuda.blockIdx.x * 8 + ty
    oy = cuda.blockIdx.y * 8 + tx
    if ox < a.shape[0] and oy < a.shape[1]:
        out[ox, oy] = tile[ty, tx] + x * 0 + y * 0


def test_geometry_locals_across_barrier(device):
    a = random_array((19, 26), np.float32, seed=13)
    out = np.zeros_like(a)
    transpose_tiles[(3, 4), (8, 8)](a, out)
    np.testing.assert_array_equal(out, a)


@cuda.jit
def geometry_3d(out):
    """Every axis of the thread and block index kept across barriers."""
    sh = cuda.shared.array(1, dtype=np.int64)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tz = cuda.threadIdx.z
    gx, gy, gz = cuda.grid(3)
    if tx == 0 and ty == 0 and tz == 0:
        sh[0] = 0
    cuda.syncthreads()
    cuda.atomic.add(sh, 0, 1)
    cuda.syncthreads()
    out[gx, gy, gz, 0] = tx + 10 * ty + 100 * tz
    out[gx, gy, gz, 1] = sh[0]


def test_geometry_locals_3d(device):
    out = np.zeros((6, 4, 6, 2), dtype=np.int64)
    geometry_3d[(2, 2, 3), (3, 2, 2)](out)
    gx, gy, gz = np.meshgrid(np.arange(6), np.arange(4), np.arange(6), indexing="ij")
    np.testing.assert_array_equal(out[..., 0], gx % 3 + 10 * (gy % 2) + 100 * (gz % 2))
    assert np.all(out[..., 1] == 12)


@cuda.jit
def guard_any_block(vals, first, step, out):
    sh = cuda.shared.array(128, dtype=np.float64)
    tid = cuda.threadIdx.x
    b = first + step * cuda.blockIdx.x
    row = cuda.grid(1)
    sh[tid] = vals[row]
    cuda.syncthreads()
    if tid < b:
        out[row, 0] = sh[tid] * 2.0
    cuda.syncthreads()
    if tid <= b:
        out[row, 1] = -sh[tid]


@pytest.mark.parametrize("threads", [1, 7, 32, 100])
def test_guard_clamped_to_block(device, threads):
    first, step = -1, max(1, threads // 3)
    bounds = first + step * np.arange(6)
    vals = random_array(bounds.size * threads, np.float64, seed=14)
    out = np.full((vals.size, 2), -7.0)
    guard_any_block[bounds.size, threads](vals, first, step, out)
    want = np.full_like(out, -7.0)
    for blk, b in enumerate(bounds):
        for t in range(threads):
            r = blk * threads + t
            if t < b:
                want[r, 0] = vals[r] * 2.0
            if t <= b:
                want[r, 1] = -vals[r]
    np.testing.assert_array_equal(out, want)


@cuda.jit
def lanes_across_barriers(out):
    """Geometry locals made with %, //, &, >>, ^, min and max, read after
    barriers (recomputed per region, not kept per thread)."""
    sh = cuda.shared.array(96, dtype=np.int64)
    tid = cuda.threadIdx.x
    lane = tid % 32
    warp = tid // 32
    low = tid & 7
    half = tid >> 1
    mixed = min(tid ^ 5, 90) + max(tid, 10)
    sh[tid] = tid
    cuda.syncthreads()
    row = cuda.grid(1)
    out[row, 0] = lane + sh[95 - tid]
    cuda.syncthreads()
    out[row, 1] = warp * 1000 + low * 10 + half
    out[row, 2] = mixed


def test_geometry_arithmetic_across_barriers(device):
    out = np.zeros((2 * 96, 3), dtype=np.int64)
    lanes_across_barriers[2, 96](out)
    t = np.tile(np.arange(96), 2)
    want = np.stack([t % 32 + (95 - t), (t // 32) * 1000 + (t & 7) * 10 + (t >> 1),
                     np.minimum(t ^ 5, 90) + np.maximum(t, 10)], axis=1)
    np.testing.assert_array_equal(out, want)
