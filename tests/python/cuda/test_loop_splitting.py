"""Kernels that are one grid-stride loop, whose iterations the CPU fallback
shares out between its workers (each streams through its own part of the
arrays), next to grid-stride kernels it must not split: a per-thread sum
carried from iteration to iteration, a store before the loop, code after it.
Every result against NumPy, for grids that cover the array many times, once,
or not at all, and lengths that leave threads with one iteration fewer."""

import numpy as np
import pytest

from cuda_harness import cuda, hypersonic_only, random_array


@cuda.jit
def scaled_copy(a, x, out):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        out[i] = a * x[i] + 1.0


@cuda.jit
def strided_from_block(x, out):
    """The loop starts at a block-dependent offset with its own step."""
    tid = cuda.threadIdx.x
    step = cuda.blockDim.x * cuda.gridDim.x
    start = cuda.blockIdx.x * cuda.blockDim.x + tid
    for i in range(start, x.shape[0], step):
        out[i] = x[i] * x[i] - tid


@cuda.jit
def counts_into_bins(data, bins):
    for i in range(cuda.grid(1), data.shape[0], cuda.gridsize(1)):
        cuda.atomic.add(bins, data[i], 1)


@cuda.jit
def per_thread_sum(x, sums):
    """Carries `acc` between iterations: each thread's own total."""
    t = cuda.grid(1)
    acc = 0.0
    for i in range(t, x.shape[0], cuda.gridsize(1)):
        acc += x[i]
    if t < sums.shape[0]:
        sums[t] = acc


@cuda.jit
def running_sums(x, out):
    """Carries `acc` between iterations, with nothing after the loop."""
    acc = 0.0
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        acc += x[i]
        out[i] = acc


@cuda.jit
def strided_prefix(x, out):
    """Each thread's running sum through global memory: iteration k reads
    what the same thread wrote in iteration k - 1."""
    t = cuda.grid(1)
    step = cuda.gridsize(1)
    if t < x.shape[0]:
        out[t] = x[t]
    for i in range(t + step, x.shape[0], step):
        out[i] = out[i - step] + x[i]


@cuda.jit
def strided_prefix_only_loop(x, out):
    """The same with nothing before the loop (out starts as a copy of x)."""
    step = cuda.gridsize(1)
    for i in range(cuda.grid(1) + step, x.shape[0], step):
        out[i] = out[i - step] + x[i]


@cuda.jit
def keeps_last(x, last):
    """Every iteration overwrites the thread's element: the last one stays."""
    t = cuda.grid(1)
    for i in range(t, x.shape[0], cuda.gridsize(1)):
        last[t] = x[i]


@cuda.jit
def in_place(x):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        x[i] = x[i] * 2.0 + 1.0


@cuda.jit
def flag_then_copy(x, out, flag):
    """Writes memory before the loop."""
    if cuda.grid(1) == 0:
        flag[0] += 1
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        out[i] = x[i]


# Under 65,536 iterations per thread: lavapipe (Mesa's Vulkan on the CPU) stops
# any shader loop after 65,535 iterations.
@pytest.mark.parametrize("n", [0, 1, 511, 512, 513, 60_001])
@pytest.mark.parametrize("grid", [(8, 64), (3, 32), (1, 1)])
def test_grid_stride_copy(device, n, grid):
    x = random_array(n, np.float64, seed=1) if n else np.zeros(0)
    out = random_array(n, np.float64, seed=2) if n else np.zeros(0)
    scaled_copy[grid](np.float64(1.5), x, out)
    np.testing.assert_array_equal(out, 1.5 * x + 1.0)


@pytest.mark.parametrize("grid", [(5, 96), (16, 128)])
def test_block_offsets_and_steps(device, grid):
    x = random_array(70_001, np.float64, seed=3)
    out = np.zeros_like(x)
    strided_from_block[grid](x, out)
    tid = np.arange(x.shape[0]) % grid[1]
    np.testing.assert_array_equal(out, x * x - tid)


def test_atomics_in_a_split_loop(device):
    data = random_array(200_000, np.int32, seed=4, low=0, high=63)
    bins = np.zeros(64, dtype=np.int32)
    counts_into_bins[4, 128](data, bins)
    np.testing.assert_array_equal(bins, np.bincount(data, minlength=64))


@pytest.mark.parametrize("grid", [(4, 64), (1, 32)])
def test_carried_sum_is_not_split(device, grid):
    x = random_array(30_011, np.float64, seed=5)
    threads = grid[0] * grid[1]
    sums = np.zeros(threads)
    per_thread_sum[grid](x, sums)
    want = np.array([x[t::threads].sum() for t in range(threads)])
    np.testing.assert_allclose(sums, want, rtol=1e-12)


def test_carried_running_sum_is_not_split(device):
    x = random_array(50_000, np.float64, seed=7)
    out = np.zeros_like(x)
    running_sums[4, 64](x, out)
    want = np.empty_like(x)
    for t in range(256):
        want[t::256] = np.cumsum(x[t::256])
    np.testing.assert_allclose(out, want, rtol=1e-12)


def strided_cumsum(x, threads):
    want = np.empty_like(x)
    for t in range(threads):
        want[t::threads] = np.cumsum(x[t::threads])
    return want


# Large enough, and launched often enough, that the CPU device spreads the work
# over its workers (its first launches of a kernel may run the blocks in order).
# A wrongly split loop races, which these results show only sometimes: the
# plan pins in `test_which_loops_are_split` are what reliably fail.
CARRIED_N = 1_000_003


def test_carried_through_memory_is_not_split(device):
    x = random_array(CARRIED_N, np.float64, seed=8)
    want = strided_cumsum(x, 256)
    for _ in range(4):
        out = np.zeros_like(x)
        strided_prefix[4, 64](x, out)
        np.testing.assert_allclose(out, want, rtol=1e-12)
        out = x.copy()
        strided_prefix_only_loop[4, 64](x, out)
        np.testing.assert_allclose(out, want, rtol=1e-12)


def test_last_write_wins(device):
    x = random_array(CARRIED_N, np.float64, seed=9)
    want = np.array([x[t::256][-1] for t in range(256)])
    for _ in range(4):
        last = np.zeros(256)
        keeps_last[4, 64](x, last)
        np.testing.assert_array_equal(last, want)


def test_in_place_update(device):
    x = random_array(70_001, np.float64, seed=10)
    want = x * 2.0 + 1.0
    in_place[4, 64](x)
    np.testing.assert_array_equal(x, want)


def test_store_before_the_loop_runs_once(device):
    x = random_array(40_000, np.float64, seed=6)
    out = np.zeros_like(x)
    flag = np.zeros(1, dtype=np.int64)
    flag_then_copy[4, 64](x, out, flag)
    np.testing.assert_array_equal(out, x)
    assert flag[0] == 1


@hypersonic_only("Hypersonic's CPU lowering")
def test_which_loops_are_split():
    from test_cpu_plan import plan_of

    x, out = np.zeros(10), np.zeros(10)
    key = "loop split between workers"
    assert plan_of(scaled_copy, (np.float64(1.0), x, out))[key] == "true"
    assert plan_of(strided_from_block, (x, out))[key] == "true"
    assert plan_of(counts_into_bins, (np.zeros(4, np.int32), np.zeros(4, np.int32)))[key] == "true"
    assert plan_of(per_thread_sum, (x, out))[key] == "false"
    assert plan_of(running_sums, (x, out))[key] == "false"
    assert plan_of(strided_prefix_only_loop, (x, out))[key] == "false"
    assert plan_of(keeps_last, (x, out))[key] == "false"
    assert plan_of(in_place, (x,))[key] == "true"
    assert plan_of(flag_then_copy, (x, out, np.zeros(1, np.int64)))[key] == "false"
