"""Warp scans written as ``shfl_up_sync`` steps (Hillis and Steele), which the
CPU fallback runs as one scan per warp: each result against a NumPy model of
what a GPU computes, step by step (``gpu_steps``), on random inputs, for every
integer operation the CPU recognises, several integer types (wrapping), whole
and partial warps, ``cuda.laneid`` and ``threadIdx.x % 32`` lanes, and 2-D
blocks where ``threadIdx.x % 32`` is not the lane (the steps then run as
written). Loops that are not the idiom (a float sum, ``offset`` read after the
loop) must give the same results through the general lowering."""

import numpy as np
import pytest

from cuda_harness import FULL_MASK, cuda, hypersonic_only, random_array


@cuda.jit(device=True)
def scan_add(value, lane):
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value += other
        offset *= 2
    return value


@cuda.jit(device=True)
def scan_max(value, lane):
    offset = 1
    while offset <= 16:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if offset <= lane:
            value = max(value, other)
        offset <<= 1
    return value


@cuda.jit(device=True)
def scan_min(value, lane):
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value = min(other, value)
        offset += offset
    return value


@cuda.jit(device=True)
def scan_xor(value, lane):
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value ^= other
        offset *= 2
    return value


@cuda.jit(device=True)
def scan_mul(value, lane):
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value *= other
        offset *= 2
    return value


@cuda.jit(device=True)
def scan_or(value, lane):
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value |= other
        offset *= 2
    return value


@cuda.jit
def scan_add_kernel(a, out):
    t = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x * cuda.blockDim.y + t
    out[g] = scan_add(a[g], cuda.threadIdx.x % 32)


@cuda.jit
def scan_add_laneid(a, out):
    t = cuda.threadIdx.y * cuda.blockDim.x + cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x * cuda.blockDim.y + t
    out[g] = scan_add(a[g], cuda.laneid)


@cuda.jit
def scan_max_kernel(a, out):
    g = cuda.grid(1)
    out[g] = scan_max(a[g], cuda.threadIdx.x & 31)


@cuda.jit
def scan_min_kernel(a, out):
    g = cuda.grid(1)
    out[g] = scan_min(a[g], cuda.threadIdx.x % 32)


@cuda.jit
def scan_xor_kernel(a, out):
    g = cuda.grid(1)
    out[g] = scan_xor(a[g], cuda.threadIdx.x % 32)


@cuda.jit
def scan_mul_kernel(a, out):
    g = cuda.grid(1)
    out[g] = scan_mul(a[g], cuda.threadIdx.x % 32)


@cuda.jit
def scan_or_kernel(a, out):
    g = cuda.grid(1)
    out[g] = scan_or(a[g], cuda.threadIdx.x % 32)


@cuda.jit
def scan_reads_offset_after(a, out, last):
    """The loop's `offset` is read after it: not the idiom, same results."""
    g = cuda.grid(1)
    lane = cuda.threadIdx.x % 32
    value = a[g]
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value += other
        offset *= 2
    out[g] = value
    last[g] = offset


def gpu_steps(values, block, op, lanes):
    """What a GPU computes: per block (threads in linear order, warps of 32
    consecutive threads), five steps in which each thread whose `lanes` value
    is at least `d` combines its value with that of the lane `d` below it in its
    warp (its own when there is none, as ``shfl_up_sync`` returns)."""
    size = int(np.prod(block))
    v = values.reshape(-1, size).copy()
    true_lane = np.arange(size) % 32
    user_lane = lanes(np.arange(size), block)
    d = 1
    while d < 32:
        old = v.copy()
        other = np.where(true_lane >= d, np.roll(old, d, axis=1), old)
        v = np.where(user_lane >= d, op(old, other), old)
        d *= 2
    return v.reshape(values.shape)


def thread_x_lane(t, block):
    return (t % block[0]) % 32


def true_lane(t, block):
    return t % 32


def launch(kernel, a, block, blocks=3):
    out = np.zeros_like(a)
    kernel[blocks, block](a, out)
    return out


@pytest.mark.parametrize("block", [(256,), (64, 2), (48,), (100,), (16, 4), (40, 3)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint32])
def test_add(device, block, dtype):
    size, blocks = int(np.prod(block)), 3
    info = np.iinfo(dtype)
    a = random_array(size * blocks, dtype, seed=size, low=info.min // 2, high=info.max // 2)
    got = launch(scan_add_kernel, a, block, blocks)
    np.testing.assert_array_equal(got, gpu_steps(a, block, np.add, thread_x_lane))
    if size % 32 == 0 and block[0] % 32 == 0:
        # The lane is the warp's: each warp's running sum, wrapping.
        warps = a.reshape(-1, 32)
        np.testing.assert_array_equal(got.reshape(-1, 32), np.cumsum(warps, axis=1, dtype=dtype))


@pytest.mark.parametrize("block", [(96,), (16, 4), (33,)])
def test_add_with_laneid(device, block):
    size, blocks = int(np.prod(block)), 2
    a = random_array(size * blocks, np.int64, seed=3)
    got = launch(scan_add_laneid, a, block, blocks)
    np.testing.assert_array_equal(got, gpu_steps(a, block, np.add, true_lane))


OPS = [
    (scan_max_kernel, np.maximum, np.int32),
    (scan_min_kernel, np.minimum, np.int64),
    (scan_min_kernel, np.minimum, np.uint64),
    (scan_xor_kernel, np.bitwise_xor, np.uint32),
    (scan_mul_kernel, np.multiply, np.int32),
    (scan_or_kernel, np.bitwise_or, np.int64),
]


@pytest.mark.parametrize("kernel, op, dtype", OPS, ids=lambda x: getattr(x, "__name__", str(x)))
@pytest.mark.parametrize("block", [(128,), (80,)])
def test_other_operations(device, kernel, op, dtype, block):
    size, blocks = block[0], 4
    a = random_array(size * blocks, dtype, seed=7)
    if op is np.bitwise_or:
        # A few bits each, so that the running `or` is not all ones at once.
        a = (np.int64(1) << (a.astype(np.int64) % 60)).astype(dtype)
    got = launch(kernel, a, block, blocks)
    np.testing.assert_array_equal(got, gpu_steps(a, block, op, thread_x_lane))


@pytest.mark.parametrize("block", [(64,), (48,), (16, 4)])
def test_float_sum_keeps_the_gpu_order(device, block):
    size, blocks = int(np.prod(block)), 3
    a = random_array(size * blocks, np.float64, seed=11, low=-1e6, high=1e6)
    a[::7] *= 1e-9  # rounding differs with the order of the sums
    got = launch(scan_add_kernel, a, block, blocks)
    np.testing.assert_array_equal(got, gpu_steps(a, block, np.add, thread_x_lane))


def test_offset_read_after_the_loop(device):
    a = random_array(160, np.int64, seed=5)
    out, last = np.zeros_like(a), np.zeros_like(a)
    scan_reads_offset_after[2, 80](a, out, last)
    np.testing.assert_array_equal(out, gpu_steps(a, (80,), np.add, thread_x_lane))
    assert (last == 32).all()


@hypersonic_only("Hypersonic's CPU lowering")
def test_which_loops_are_scans():
    """The CPU runs the idiom as a scan per warp, and nothing else as one."""
    from test_cpu_plan import plan_of

    ints, floats = np.zeros(64, np.int64), np.zeros(64, np.float64)
    for kernel, args in [
        (scan_add_kernel, (ints, ints)),
        (scan_add_laneid, (ints, ints)),
        (scan_max_kernel, (ints, ints)),
        (scan_min_kernel, (ints, ints)),
        (scan_xor_kernel, (ints, ints)),
        (scan_mul_kernel, (ints, ints)),
        (scan_or_kernel, (ints, ints)),
    ]:
        assert plan_of(kernel, args)["warp scans of"], kernel
    assert plan_of(scan_add_kernel, (floats, floats))["warp scans of"] == ""
    assert plan_of(scan_reads_offset_after, (ints, ints, ints))["warp scans of"] == ""
