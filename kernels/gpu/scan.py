"""Inclusive prefix sum (scan) of int32 values into int64: each warp scans with
``cuda.shfl_up_sync``; the warps' totals go through shared memory and are
scanned by a second warp scan; each block then adds its warps' offsets. Blocks'
totals are scanned recursively and added back by a second kernel."""

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 256
WARPS = TPB // 32
FULL_MASK = 0xFFFFFFFF


@cuda.jit(device=True)
def warp_inclusive_scan(value, lane):
    """Inclusive scan across the 32 lanes of a warp (every lane must call it)."""
    offset = 1
    while offset < 32:
        other = cuda.shfl_up_sync(FULL_MASK, value, offset)
        if lane >= offset:
            value += other
        offset *= 2
    return value


@cuda.jit
def block_scan(a, out, block_totals):
    warp_totals = cuda.shared.array(WARPS, dtype=np.int64)
    tid = cuda.threadIdx.x
    lane = tid % 32
    warp = tid // 32
    i = cuda.grid(1)
    v = np.int64(0)
    if i < a.shape[0]:
        v = np.int64(a[i])
    v = warp_inclusive_scan(v, lane)
    if lane == 31:
        warp_totals[warp] = v
    cuda.syncthreads()
    # Every warp scans the warps' totals (all lanes take part in the shuffles).
    t = np.int64(0)
    if lane < WARPS:
        t = warp_totals[lane]
    t = warp_inclusive_scan(t, lane)
    src = warp - 1
    if src < 0:
        src = 0
    before = cuda.shfl_sync(FULL_MASK, t, src)
    if warp > 0:
        v += before
    if i < a.shape[0]:
        out[i] = v
    if tid == TPB - 1:
        block_totals[cuda.blockIdx.x] = v


@cuda.jit
def add_block_offsets(out, scanned_totals):
    i = cuda.grid(1)
    b = cuda.blockIdx.x
    if b > 0 and i < out.shape[0]:
        out[i] += scanned_totals[b - 1]


SIGNATURES = {
    "warp_inclusive_scan": (warp_inclusive_scan, "int64(int64, int32)"),
    "block_scan": (block_scan, "void(int32[:], int64[:], int64[:])"),
    "block_scan_i64": (block_scan, "void(int64[:], int64[:], int64[:])"),
    "add_block_offsets": (add_block_offsets, "void(int64[:], int64[:])"),
}
DEVICE_FUNCTIONS = {"warp_inclusive_scan"}
TEST_SIZES = [1, 31, 32, 33, 255, 256, 1000, 70_000]
DEMO_SIZE = 10_000_000
BENCH_SIZE = 10_000_000
SIM_SIZE = 600


def make_inputs(size, rng):
    return (rng.integers(-100, 101, size).astype(np.int32),)


def _scan_device(d_a):
    n = d_a.shape[0]
    blocks = blocks_for(n, TPB)
    d_out = cuda.device_array(n, dtype=np.int64)
    d_totals = cuda.device_array(blocks, dtype=np.int64)
    block_scan[blocks, TPB](d_a, d_out, d_totals)
    if blocks > 1:
        d_scanned = _scan_device(d_totals)
        add_block_offsets[blocks, TPB](d_out, d_scanned)
    return d_out


def prepare(a):
    """The launches of ``_scan_device`` with every array allocated once."""
    plan = []  # (kernel, blocks, args) in launch order

    def build(d_a):
        n = d_a.shape[0]
        blocks = blocks_for(n, TPB)
        d_out = cuda.device_array(n, dtype=np.int64)
        d_totals = cuda.device_array(blocks, dtype=np.int64)
        plan.append((block_scan, blocks, (d_a, d_out, d_totals)))
        if blocks > 1:
            d_scanned = build(d_totals)
            plan.append((add_block_offsets, blocks, (d_out, d_scanned)))
        return d_out

    d_out = build(cuda.to_device(a))

    def launch():
        for kernel, blocks, args in plan:
            kernel[blocks, TPB](*args)

    return launcher(cuda, launch, d_out.copy_to_host)


def run(a):
    return _scan_device(cuda.to_device(a)).copy_to_host()


def reference(a):
    return np.cumsum(a, dtype=np.int64)


def check(got, want):
    return np.array_equal(got, want)
