"""cuda.atomic.* on global and shared memory for every dtype Numba supports,
checked against a sequential NumPy model (final values and returned old values)."""

import numpy as np
import pytest

from cuda_harness import cuda, random_array

INT = [np.int32, np.uint32, np.int64, np.uint64]
ALL = [np.int32, np.uint32, np.int64, np.uint64, np.float32, np.float64]
# What Numba's CUDA target types (numba/cuda/cudadecl.py).
SUPPORTED = {
    "add": ALL, "sub": ALL, "max": ALL, "min": ALL,
    "and_": INT, "or_": INT, "xor": INT, "exch": INT,
    "inc": [np.uint32, np.uint64], "dec": [np.uint32, np.uint64],
    "cas": INT,
}
NAME = lambda d: np.dtype(d).name  # noqa: E731
N = 96   # threads
SLOTS = 4


def values_for(op, dtype):
    if op in ("and_", "or_", "xor"):
        return random_array(N, dtype, seed=1, low=0, high=255)
    if op == "sub":
        return random_array(N, dtype, seed=2, low=0, high=20).round()  # exact float sums
    return random_array(N, dtype, seed=3, low=0, high=100).round()


def initial_for(op, dtype):
    start = {"add": 5, "sub": 10_000, "max": 50, "min": 50, "and_": 255, "or_": 0, "xor": 17,
             "inc": 0, "dec": 3, "exch": 7, "cas": 0}[op]
    return np.full(SLOTS, start, dtype=dtype)


# -- global memory ---------------------------------------------------------------------------

@cuda.jit
def g_add(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.add(arr, i % 4, vals[i])


@cuda.jit
def g_sub(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.sub(arr, i % 4, vals[i])


@cuda.jit
def g_max(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.max(arr, i % 4, vals[i])


@cuda.jit
def g_min(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.min(arr, i % 4, vals[i])


@cuda.jit
def g_and(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.and_(arr, i % 4, vals[i])


@cuda.jit
def g_or(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.or_(arr, i % 4, vals[i])


@cuda.jit
def g_xor(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.xor(arr, i % 4, vals[i])


@cuda.jit
def g_exch(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.exch(arr, i % 4, vals[i])


@cuda.jit
def g_inc(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.inc(arr, i % 4, vals[0])


@cuda.jit
def g_dec(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.dec(arr, i % 4, vals[0])


@cuda.jit
def g_cas(arr, vals, old):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        old[i] = cuda.atomic.cas(arr, i % 4, 0, vals[i])


GLOBAL = {"add": g_add, "sub": g_sub, "max": g_max, "min": g_min, "and_": g_and, "or_": g_or,
          "xor": g_xor, "exch": g_exch, "inc": g_inc, "dec": g_dec, "cas": g_cas}


# -- shared memory: the block's threads update a shared array, then copy it out ------------

def make_shared_kernel(op, dtype):
    if op == "add":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.add(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "sub":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.sub(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "max":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.max(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "min":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.min(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "and_":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.and_(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "or_":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.or_(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "xor":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.xor(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "exch":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.exch(sh, t % 4, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "inc":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.inc(sh, t % 4, vals[0])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    elif op == "dec":
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.dec(sh, t % 4, vals[0])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    else:
        @cuda.jit
        def k(arr, vals, old):
            sh = cuda.shared.array(4, dtype)
            t = cuda.threadIdx.x
            if t < 4:
                sh[t] = arr[t]
            cuda.syncthreads()
            if t < vals.shape[0]:
                old[t] = cuda.atomic.cas(sh, t % 4, 0, vals[t])
            cuda.syncthreads()
            if t < 4:
                arr[t] = sh[t]
    return k


_SHARED = {}


def shared_kernel(op, dtype):
    key = (op, np.dtype(dtype).name)
    if key not in _SHARED:
        _SHARED[key] = make_shared_kernel(op, dtype)
    return _SHARED[key]


# -- the sequential model ---------------------------------------------------------------------

def apply(op, current, v, limit):
    """(new value, ...) of one atomic op, as CUDA defines it."""
    if op == "add":
        return current + v
    if op == "sub":
        return current - v
    if op == "max":
        return max(current, v)
    if op == "min":
        return min(current, v)
    if op == "and_":
        return current & v
    if op == "or_":
        return current | v
    if op == "xor":
        return current ^ v
    if op == "inc":
        return 0 if current >= limit else current + 1
    if op == "dec":
        return limit if current == 0 or current > limit else current - 1
    raise AssertionError(op)


def check_result(op, dtype, initial, vals, final, old):
    dtype = np.dtype(dtype)
    slots = np.arange(N) % SLOTS
    if op in ("exch", "cas"):
        for s in range(SLOTS):
            mine = vals[slots == s]
            olds = old[slots == s]
            if op == "exch":
                # The values seen (initial, then each thread's) chain: the old values and the
                # final value are the initial value and the threads' values, each once.
                seen = sorted(np.append(olds, final[s]).tolist())
                assert seen == sorted(np.append(mine, initial[s]).tolist()), (s, olds, final[s])
            else:
                winners = np.flatnonzero(olds == 0)
                assert len(winners) == 1, f"slot {s}: {len(winners)} threads won the cas"
                assert final[s] == mine[winners[0]]
                assert np.all(olds[olds != 0] == final[s])
        return
    limit = int(vals[0])
    for s in range(SLOTS):
        current = initial[s].item()
        for v in vals[slots == s]:
            current = apply(op, current, v.item(), limit)
        want = np.array(current).astype(dtype)
        assert final[s] == want, f"{op} slot {s}: {final[s]} vs {want}"
    if op in ("add", "sub"):
        # Each thread saw the value before its own update, in some order: replaying the
        # updates in the order of the returned values reproduces them.
        for s in range(SLOTS):
            current = initial[s].item()
            mine = vals[slots == s]
            got = old[slots == s]
            if op in ("add", "sub"):
                # by old value (rising for add, falling for sub); an update by 0 first on ties
                key = got.astype(np.float64) if op == "add" else -got.astype(np.float64)
                order = np.lexsort((mine, key))
                for k in order:
                    assert got[k] == np.array(current).astype(dtype), (op, s)
                    current = apply(op, current, mine[k].item(), limit)


def run_atomic(kernel, op, dtype, blocks):
    vals = values_for(op, dtype)
    if op == "inc":
        vals[0] = 5
    if op == "dec":
        vals[0] = 9
    if op == "cas":
        vals = np.arange(1, N + 1).astype(dtype)
    initial = initial_for(op, dtype)
    arr = cuda.to_device(initial)
    old = cuda.to_device(np.zeros(N, dtype=dtype))
    kernel[blocks, 128](arr, cuda.to_device(vals), old)
    return initial, vals, arr.copy_to_host(), old.copy_to_host()


CASES = [(op, d) for op, dtypes in SUPPORTED.items() for d in dtypes]
IDS = [f"{op}-{NAME(d)}" for op, d in CASES]


@pytest.mark.parametrize("op,dtype", CASES, ids=IDS)
def test_global_atomic(device, op, dtype):
    initial, vals, final, old = run_atomic(GLOBAL[op], op, dtype, blocks=1)
    check_result(op, dtype, initial, vals, final, old)


@pytest.mark.parametrize("op,dtype", CASES, ids=IDS)
def test_shared_atomic(device, op, dtype):
    initial, vals, final, old = run_atomic(shared_kernel(op, dtype), op, dtype, blocks=1)
    check_result(op, dtype, initial, vals, final, old)


@cuda.jit
def count_across_blocks(counter, per_block):
    i = cuda.grid(1)
    if i < per_block.shape[0] * cuda.blockDim.x:
        cuda.atomic.add(counter, 0, 1)
        cuda.atomic.add(per_block, cuda.blockIdx.x, 1)


def test_atomics_across_many_blocks(device):
    blocks, tpb = 16, 64
    counter = cuda.to_device(np.zeros(1, dtype=np.int64))
    per_block = cuda.to_device(np.zeros(blocks, dtype=np.int32))
    count_across_blocks[blocks, tpb](counter, per_block)
    assert counter.copy_to_host()[0] == blocks * tpb
    np.testing.assert_array_equal(per_block.copy_to_host(), np.full(blocks, tpb))


@cuda.jit
def float_add_2d(grid, vals):
    i = cuda.grid(1)
    if i < vals.shape[0]:
        cuda.atomic.add(grid, (i % 3, i % 5), vals[i])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=NAME)
def test_atomic_add_with_a_tuple_index(device, dtype):
    vals = random_array(300, dtype, seed=5, low=-8, high=8).round()  # exact sums
    grid = np.zeros((3, 5), dtype=dtype)
    float_add_2d[3, 128](grid, vals)
    want = np.zeros((3, 5))
    for i, v in enumerate(vals):
        want[i % 3, i % 5] += v
    np.testing.assert_array_equal(grid, want.astype(dtype))


@cuda.jit
def atomic_max_index(arr, out):
    i = cuda.grid(1)
    if i < arr.shape[0]:
        cuda.atomic.max(out, 0, arr[i])
        cuda.atomic.min(out, 1, arr[i])


def test_atomic_max_min_of_an_array(device):
    a = random_array(1000, np.float64, seed=6)
    out = np.array([-np.inf, np.inf])
    atomic_max_index[8, 128](a, out)
    assert out[0] == a.max() and out[1] == a.min()
