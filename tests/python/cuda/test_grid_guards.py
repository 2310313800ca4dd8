"""Kernels guarded by their grid index (``if i < n and j < m``), the shape the
CPU fallback turns into shorter thread loops (each axis runs only the threads
that pass), and kernels whose threads share arrays in the ways a race-free
kernel may: in place (the output is the input), and a thread reading back what
it wrote. The CPU fallback runs a region's threads as independent loop
iterations for these. Every result against NumPy, on grids that do not divide
the arrays, with bounds below zero, inside the grid and past it."""

import numpy as np
import pytest

from cuda_harness import cuda, random_array, uint64


@cuda.jit
def scale_2d(a, n, m, out):
    i, j = cuda.grid(2)
    if i < n and j < m:
        out[i, j] = a[i, j] * 2.0 + j


def scale_2d_model(a, n, m, out):
    out = out.copy()
    n, m = max(0, min(n, a.shape[0])), max(0, min(m, a.shape[1]))
    out[:n, :m] = a[:n, :m] * 2.0 + np.arange(m)
    return out


@pytest.mark.parametrize("n, m", [(37, 45), (0, 45), (-3, 20), (37, -1), (16, 16), (15, 33),
                                  (100, 100)])
def test_two_axis_guard(device, n, m):
    # 37 x 45 elements, 16 x 16 blocks: partial blocks on both axes; bounds
    # from below zero to past the arrays (the guard then lets the grid decide).
    a = random_array((48, 48), np.float64, seed=1)
    out = random_array((48, 48), np.float64, seed=2)
    want = scale_2d_model(a, n, m, out)
    scale_2d[(3, 3), (16, 16)](a, n, m, out)
    np.testing.assert_array_equal(out, want)


@cuda.jit
def inclusive_and_reversed(a, last, out):
    i = cuda.grid(1)
    if last >= i:
        out[i, 0] = a[i] + 1.0
    if i <= last:
        out[i, 1] = a[i] - 1.0


@pytest.mark.parametrize("last", [-2, -1, 0, 40, 63, 64, 90])
def test_inclusive_guards(device, last):
    a = random_array(96, np.float64, seed=3)
    out = np.full((96, 2), -9.0)
    inclusive_and_reversed[3, 32](a, last, out)
    want = np.full((96, 2), -9.0)
    k = max(0, min(last + 1, 96))
    want[:k, 0] = a[:k] + 1.0
    want[:k, 1] = a[:k] - 1.0
    np.testing.assert_array_equal(out, want)


@cuda.jit
def unsigned_bound(a, n, out):
    i = cuda.grid(1)
    if i < n:
        out[i] = a[i] * 3.0


def test_unsigned_bound(device):
    a = random_array(70, np.float64, seed=4)
    out = np.zeros(70)
    unsigned_bound[3, 32](a, uint64(50), out)
    want = np.zeros(70)
    want[:50] = a[:50] * 3.0
    np.testing.assert_array_equal(out, want)


@cuda.jit
def three_axis_guard(a, out):
    x, y, z = cuda.grid(3)
    if x < a.shape[0] and y < a.shape[1] and z < a.shape[2]:
        out[x, y, z] = a[x, y, z] + x * 100 + y * 10 + z


def test_three_axis_guard(device):
    a = random_array((9, 7, 5), np.float64, seed=5)
    out = np.zeros_like(a)
    three_axis_guard[(3, 2, 2), (4, 4, 4)](a, out)
    x, y, z = np.indices(a.shape)
    np.testing.assert_array_equal(out, a + x * 100 + y * 10 + z)


@cuda.jit
def guard_with_data_test(a, n, out):
    """One conjunct bounds the threads, the other depends on the data: the
    guard is still tested per thread."""
    i = cuda.grid(1)
    if i < n and a[min(i, a.shape[0] - 1)] > 0.0:
        out[i] = a[i]


def test_guard_partly_about_data(device):
    a = random_array(64, np.float64, seed=6, low=-1.0, high=1.0)
    out = np.zeros(64)
    guard_with_data_test[2, 32](a, 40, out)
    want = np.where((np.arange(64) < 40) & (a > 0.0), a, 0.0)
    np.testing.assert_array_equal(out, want)


@cuda.jit
def guard_or(a, lo, hi, out):
    """``or`` is not a bound: every thread tests it."""
    i = cuda.grid(1)
    if i < lo or i >= hi:
        out[i] = a[i]


def test_or_guard(device):
    a = random_array(64, np.float64, seed=7)
    out = np.zeros(64)
    guard_or[2, 32](a, 10, 50, out)
    idx = np.arange(64)
    np.testing.assert_array_equal(out, np.where((idx < 10) | (idx >= 50), a, 0.0))


@cuda.jit
def guard_after_barrier(a, n, out):
    """A grid guard in a region after a barrier (the staged value crosses it)."""
    sh = cuda.shared.array(32, dtype=np.float64)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    sh[t] = a[i]
    cuda.syncthreads()
    if i < n:
        out[i] = sh[31 - t]


def test_guard_after_barrier(device):
    a = random_array(96, np.float64, seed=8)
    out = np.zeros(96)
    guard_after_barrier[3, 32](a, 70, out)
    want = a.reshape(3, 32)[:, ::-1].reshape(-1).copy()
    want[70:] = 0.0
    np.testing.assert_array_equal(out, want)


@cuda.jit
def smooth_in_place(a, out, n):
    """Each thread reads and writes only its own element: ``out`` may be ``a``."""
    i = cuda.grid(1)
    if i < n:
        x = a[i]
        out[i] = x * 0.5
        out[i] += a[i] * 0.25  # reads back what this thread just wrote when out is a


def test_output_is_input(device):
    a = random_array(100, np.float64, seed=9)
    want = a * 0.5 + a * 0.5 * 0.25  # in place: the second read sees x * 0.5
    d = cuda.to_device(a)
    smooth_in_place[4, 32](d, d, 100)
    np.testing.assert_allclose(d.copy_to_host(), want, rtol=0, atol=0)
    # And into a separate output, for contrast.
    out = np.zeros(100)
    smooth_in_place[4, 32](a, out, 100)
    np.testing.assert_array_equal(out, a * 0.5 + a * 0.25)


@cuda.jit
def shifted_views(buf, n):
    """Each thread updates its even element from itself and the odd one after
    it: reads and writes through one array, no two threads on one element."""
    i = cuda.grid(1)
    if i < n:
        buf[2 * i] = buf[2 * i] * 3.0 + buf[2 * i + 1]


def test_overlapping_views(device):
    b = random_array(256, np.float64, seed=10)
    want = b.copy()
    want[0:128:2] = b[0:128:2] * 3.0 + b[1:128:2]
    shifted_views[2, 32](b, 64)
    np.testing.assert_array_equal(b, want)


@cuda.jit
def guarded_dot(A, B, C, n):
    """The guard's threads run a loop in lockstep: regions after it are
    predicated on the guard, and the loop bounds stand for it."""
    i, j = cuda.grid(2)
    if i < n and j < C.shape[1]:
        acc = 0.0
        for k in range(A.shape[1]):
            acc += A[i, k] * B[k, j]
        C[i, j] = acc


@pytest.mark.parametrize("n", [21, 0, -4, 13, 1])
def test_guard_around_a_loop(device, n):
    A = random_array((21, 7), np.float64, seed=11)
    B = random_array((7, 19), np.float64, seed=12)
    C = np.full((21, 19), -1.0)
    guarded_dot[(3, 3), (8, 8)](A, B, C, n)
    want = np.full((21, 19), -1.0)
    k = max(0, min(n, 21))
    want[:k] = A[:k] @ B
    np.testing.assert_allclose(C, want, rtol=1e-12, atol=1e-12)


@cuda.jit
def guarded_dot_by_data(A, B, C, flags):
    """A conjunct about the data: every thread still tests the guard."""
    i, j = cuda.grid(2)
    if i < C.shape[0] and flags[j % flags.shape[0]] > 0 and j < C.shape[1]:
        acc = 0.0
        for k in range(A.shape[1]):
            acc += A[i, k] * B[k, j]
        C[i, j] = acc


def test_data_guard_around_a_loop(device):
    A = random_array((21, 7), np.float64, seed=13)
    B = random_array((7, 19), np.float64, seed=14)
    flags = random_array(24, np.int32, seed=15, low=-1, high=1)
    C = np.full((21, 19), -1.0)
    guarded_dot_by_data[(3, 3), (8, 8)](A, B, C, flags)
    want = A @ B
    keep = flags[np.arange(19) % 24] > 0
    np.testing.assert_allclose(C, np.where(keep, want, -1.0), rtol=1e-12, atol=1e-12)


# Equality guards: the CPU fallback runs only the threads they pick (one index
# along an axis, or one lane in every 32), for any value, in range or not.


@cuda.jit
def one_thread_after_barrier(a, k, out):
    s = cuda.shared.array(64, dtype=np.float64)
    tid = cuda.threadIdx.x
    s[tid] = a[cuda.grid(1)]
    cuda.syncthreads()
    if tid == k:
        out[cuda.blockIdx.x] = s[0] + s[tid] * 2.0


@pytest.mark.parametrize("k", [0, 5, 63, 64, -1])
def test_one_thread_of_each_block(device, k):
    a = random_array(64 * 5, np.float64, seed=3)
    out = random_array(5, np.float64, seed=4)
    want = out.copy()
    if 0 <= k < 64:
        blocks = a.reshape(5, 64)
        want = blocks[:, 0] + blocks[:, k] * 2.0
    one_thread_after_barrier[5, 64](a, k, out)
    np.testing.assert_array_equal(out, want)


@cuda.jit
def one_lane_per_warp(a, k, out):
    i = cuda.grid(1)
    lane = cuda.threadIdx.x % 32
    v = a[i] * 3 + lane
    if lane == k:
        out[i] = v


@cuda.jit
def one_lane_per_warp_2d(a, k, out):
    t = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    i = cuda.blockIdx.x * cuda.blockDim.x * cuda.blockDim.y + t
    lane = cuda.threadIdx.x & 31
    v = a[i] * 3 + lane
    if lane == k:
        out[i] = v


@pytest.mark.parametrize("k", [0, 7, 31, 32, -3])
@pytest.mark.parametrize("block", [(80,), (64,), (16, 4), (40, 3)])
def test_one_lane_of_each_warp(device, k, block):
    size, blocks = int(np.prod(block)), 3
    a = random_array(size * blocks, np.int64, seed=5)
    out = random_array(size * blocks, np.int64, seed=6)
    want = out.copy()
    t = np.arange(size * blocks) % size
    x_lane = (t % block[0]) % 32
    picked = x_lane == k
    want[picked] = a[picked] * 3 + x_lane[picked]
    kernel = one_lane_per_warp if len(block) == 1 else one_lane_per_warp_2d
    kernel[blocks, block](a, k, out)
    np.testing.assert_array_equal(out, want)


@cuda.jit
def last_element(a, out):
    i = cuda.grid(1)
    if i == a.shape[0] - 1:
        out[0] = a[i]


@cuda.jit
def one_row(a, k, out):
    x, y = cuda.grid(2)
    if cuda.threadIdx.y == k:
        if x < out.shape[0] and y < out.shape[1]:
            out[x, y] = a[x, y] + 1.0


@pytest.mark.parametrize("n", [1, 100, 127, 128, 300])
def test_one_grid_index(device, n):
    a = random_array(n, np.float64, seed=7)
    out = np.full(1, -1.0)
    last_element[3, 128](a, out)
    assert out[0] == (a[-1] if n <= 3 * 128 else -1.0)


@pytest.mark.parametrize("k", [0, 3, 7, 8])
def test_one_row_of_each_block(device, k):
    a = random_array((20, 30), np.float64, seed=8)
    out = random_array((20, 30), np.float64, seed=9)
    want = out.copy()
    rows = (np.arange(30) % 8) == k
    want[:, rows] = a[:, rows] + 1.0
    one_row[(3, 4), (8, 8)](a, k, out)
    np.testing.assert_array_equal(out, want)


@cuda.jit
def one_thread_inside_a_region(a, k, out, firsts):
    """A store by one thread amid the block's other work (the CPU runs the
    threads below, at and above `k` as three loops)."""
    i = cuda.grid(1)
    v = a[i] * 2.0
    out[i] = v
    if cuda.threadIdx.x == k:
        firsts[cuda.blockIdx.x] = v + 1.0
    out[i] += 1.0


@cuda.jit
def one_column_inside_a_region(a, k, out, col):
    x, y = cuda.grid(2)
    v = a[x, y] - 1.0
    if y == k:
        col[x] = v
    out[x, y] = v * 3.0


@pytest.mark.parametrize("k", [0, 1, 31, 63, 64, -2])
def test_one_thread_amid_other_work(device, k):
    a = random_array(64 * 4, np.float64, seed=10)
    out = np.zeros_like(a)
    firsts = random_array(4, np.float64, seed=11)
    want_firsts = firsts.copy()
    if 0 <= k < 64:
        want_firsts = a.reshape(4, 64)[:, k] * 2.0 + 1.0
    one_thread_inside_a_region[4, 64](a, k, out, firsts)
    np.testing.assert_array_equal(out, a * 2.0 + 1.0)
    np.testing.assert_array_equal(firsts, want_firsts)


@pytest.mark.parametrize("k", [0, 5, 15, 16, 31, 40])
def test_one_grid_column_amid_other_work(device, k):
    a = random_array((16, 32), np.float64, seed=12)
    out = np.zeros_like(a)
    col = random_array(16, np.float64, seed=13)
    want_col = col.copy()
    if 0 <= k < 32:
        want_col = a[:, k] - 1.0
    one_column_inside_a_region[(2, 4), (8, 8)](a, k, out, col)
    np.testing.assert_array_equal(out, (a - 1.0) * 3.0)
    np.testing.assert_array_equal(col, want_col)


@cuda.jit
def two_columns(a, p, q, out):
    """Two equality tests of one axis deciding loads (the CPU runs the columns
    below, at and between them as separate loops; `j - 1` wraps at 0)."""
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        if j == p:
            out[i, j] += a[i, j]
        elif j == q:
            out[i, j] += a[i, j] * 3.0
        else:
            out[i, j] += a[i, j - 1] * 2.0 + a[i, j]


@pytest.mark.parametrize("p, q", [(0, 40), (40, 0), (5, 5), (-1, 100), (0, 0), (17, 18),
                                  (44, 3), (-5, 20)])
def test_two_equal_columns(device, p, q):
    a = random_array((20, 45), np.float64, seed=14)
    out = random_array((20, 45), np.float64, seed=15)
    j = np.arange(45)
    shifted = a[:, j - 1] * 2.0 + a  # Python's wrap: column -1 is the last
    want = out + np.where(j == p, a, np.where(j == q, a * 3.0, shifted))
    two_columns[(3, 6), (8, 8)](a, p, q, out)
    np.testing.assert_array_equal(out, want)
