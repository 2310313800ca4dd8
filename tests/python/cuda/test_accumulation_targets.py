"""Arrays that a kernel only accumulates into with atomics (the textbook
global-memory histogram). The CPU fallback gives each task a private copy of
such an array and folds the copies in at the end; these tests run grids of
many blocks (many tasks) through every accumulating operation and integer
type, next to kernels that must not be privatised (the old value read, the
array also read or written, mixed operations, a large or strided array)."""

import numpy as np
import pytest

from cuda_harness import cuda, random_array

BLOCKS, TPB = 48, 64
# Kernels with one element per thread need many blocks to be spread over
# several tasks (a grid the CPU device estimates as tiny runs on one thread).
MANY = 1024


@cuda.jit
def hist_add(data, hist):
    for i in range(cuda.grid(1), data.shape[0], cuda.gridsize(1)):
        cuda.atomic.add(hist, data[i] % hist.shape[0], 1)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64],
                         ids=lambda d: np.dtype(d).name)
def test_histogram_add(device, dtype):
    data = random_array(50_000, np.int64, seed=31, low=0, high=10_000)
    hist = np.full(37, 5, dtype=dtype)  # accumulates onto what is there
    hist_add[BLOCKS, TPB](data, hist)
    want = (np.bincount(data % 37, minlength=37) + 5).astype(dtype)
    np.testing.assert_array_equal(hist, want)


@cuda.jit
def accumulate_all(vals, add_sub, mx, mn, a, o, x):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        v = vals[i]
        k = i % 8
        if v % 3 == 0:
            cuda.atomic.sub(add_sub, k, v)
        else:
            cuda.atomic.add(add_sub, k, v)
        cuda.atomic.max(mx, k, v)
        cuda.atomic.min(mn, k, v)
        cuda.atomic.and_(a, k, v)
        cuda.atomic.or_(o, k, v)
        cuda.atomic.xor(x, k, v)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64],
                         ids=lambda d: np.dtype(d).name)
def test_every_accumulating_operation(device, dtype):
    n = MANY * TPB
    info = np.iinfo(dtype)
    low = max(info.min, -(2**40))
    vals = random_array(n, dtype, seed=32, low=low, high=min(info.max, 2**40))
    start = random_array(8, dtype, seed=33, low=low // 2, high=min(info.max, 2**39))
    outs = [start.copy() for _ in range(6)]
    accumulate_all[MANY, TPB](vals, *outs)
    k = np.arange(n) % 8
    want = [s.copy() for s in [start] * 6]
    with np.errstate(over="ignore"):
        for j in range(8):
            sel = vals[k == j]
            signs = np.where(sel % 3 == 0, -1, 1).astype(np.int64)
            total = (sel.astype(np.uint64) * signs.astype(np.uint64)).sum(dtype=np.uint64)
            want[0][j] = (np.uint64(start[j]) + total).astype(dtype)
            want[1][j] = max(start[j], sel.max())
            want[2][j] = min(start[j], sel.min())
            want[3][j] = np.bitwise_and.reduce(sel, initial=start[j])
            want[4][j] = np.bitwise_or.reduce(sel, initial=start[j])
            want[5][j] = np.bitwise_xor.reduce(sel, initial=start[j])
    for got, exp, name in zip(outs, want, ["add/sub", "max", "min", "and", "or", "xor"]):
        np.testing.assert_array_equal(got, exp, err_msg=name)


@cuda.jit
def add_and_keep_old(hist, olds):
    i = cuda.grid(1)
    olds[i] = cuda.atomic.add(hist, 0, 1)


def test_old_values_are_still_distinct(device):
    # The old value is read: a real atomic, every thread sees a different count.
    hist = np.zeros(1, dtype=np.int64)
    olds = np.zeros(BLOCKS * TPB, dtype=np.int64)
    add_and_keep_old[BLOCKS, TPB](hist, olds)
    assert hist[0] == BLOCKS * TPB
    np.testing.assert_array_equal(np.sort(olds), np.arange(BLOCKS * TPB))


@cuda.jit
def add_then_read(hist, seen):
    i = cuda.grid(1)
    cuda.atomic.add(hist, i % 4, 1)
    if i == 0:
        seen[0] = hist.shape[0]


@cuda.jit
def add_and_max_same_array(hist, vals):
    i = cuda.grid(1)
    cuda.atomic.add(hist, 0, 1)
    cuda.atomic.max(hist, 1, vals[i])


def test_mixed_operations_on_one_array(device):
    vals = random_array(BLOCKS * TPB, np.int64, seed=34, low=-1000, high=1000)
    hist = np.array([0, -5000], dtype=np.int64)
    add_and_max_same_array[BLOCKS, TPB](hist, vals)
    np.testing.assert_array_equal(hist, [BLOCKS * TPB, vals.max()])


@cuda.jit
def alias_through_local(data, hist):
    h = hist
    for i in range(cuda.grid(1), data.shape[0], cuda.gridsize(1)):
        cuda.atomic.add(h, data[i], np.int32(2))


def test_target_through_a_local(device):
    data = random_array(20_000, np.int64, seed=35, low=0, high=99)
    hist = np.zeros(100, dtype=np.int32)
    alias_through_local[BLOCKS, TPB](data, hist)
    np.testing.assert_array_equal(hist, 2 * np.bincount(data, minlength=100))


def test_large_target_stays_shared(device):
    # 400 KB: larger than a private copy is worth.
    data = random_array(200_000, np.int64, seed=36, low=0, high=99_999)
    hist = np.zeros(100_000, dtype=np.int32)
    hist_add[BLOCKS, TPB](data, hist)
    np.testing.assert_array_equal(hist, np.bincount(data % 100_000, minlength=100_000))


@cuda.jit
def hist_2d(data, hist):
    for i in range(cuda.grid(1), data.shape[0], cuda.gridsize(1)):
        v = data[i]
        cuda.atomic.add(hist, (v // 10, v % 10), 1)


def test_two_dimensional_target(device):
    data = random_array(30_000, np.int64, seed=37, low=0, high=59)
    hist = np.zeros((6, 10), dtype=np.int64)
    hist_2d[BLOCKS, TPB](data, hist)
    np.testing.assert_array_equal(hist.ravel(), np.bincount(data, minlength=60))


def test_strided_target(device):
    data = random_array(30_000, np.int64, seed=38, low=0, high=1000)
    backing = np.zeros(2 * 37, dtype=np.int64)
    view = backing[::2]
    hist_add[BLOCKS, TPB](data, view)
    np.testing.assert_array_equal(backing[::2], np.bincount(data % 37, minlength=37))
    assert not backing[1::2].any()


@cuda.jit
def add_then_read_alias(hist, same_memory, seen):
    # `hist` only receives atomics; `same_memory` is the same array, read.
    b = cuda.blockIdx.x
    if cuda.threadIdx.x == 0:
        cuda.atomic.add(hist, b, 1)
    cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        seen[b] = same_memory[b]


def test_target_passed_again_as_another_argument(device):
    # Each block must see at least its own addition through the alias. (One
    # device array: a host array passed twice is copied in and back twice.)
    hist = cuda.to_device(np.zeros(MANY, dtype=np.int64))
    seen = np.zeros(MANY, dtype=np.int64)
    add_then_read_alias[MANY, TPB](hist, hist, seen)
    assert (hist.copy_to_host() == 1).all()
    assert (seen == 1).all()
