"""Monte Carlo estimate of pi: every thread runs its own xorshift32 generator
(plain integer arithmetic in device functions, kept to 32 bits with masks),
counts points of the unit square inside the quarter disc (an exact integer
test on 24-bit coordinates), the block sums its counts in shared memory, and
one atomic per block adds to the total."""

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 128
MASK32 = 0xFFFFFFFF
ONE_48 = 1 << 48  # (2**24)**2: the radius squared, in 24-bit units


@cuda.jit(device=True)
def xorshift32(state):
    state ^= (state << 13) & MASK32
    state ^= state >> 17
    state ^= (state << 5) & MASK32
    return state


@cuda.jit(device=True)
def seed_state(seed, tid):
    """A non-zero 32-bit state, different for each thread."""
    s = ((seed & MASK32) * 2654435761 + (tid & MASK32) * 2246822519 + 12345) & MASK32
    s = xorshift32(xorshift32(s | 1))
    if s == 0:
        s = 1
    return s


@cuda.jit
def monte_carlo_pi(seed, samples, hits):
    counts = cuda.shared.array(TPB, dtype=np.int64)
    t = cuda.threadIdx.x
    state = seed_state(seed, cuda.grid(1))
    inside = 0
    for _ in range(samples):
        state = xorshift32(state)
        x = state >> 8
        state = xorshift32(state)
        y = state >> 8
        if x * x + y * y < ONE_48:
            inside += 1
    counts[t] = inside
    cuda.syncthreads()
    s = TPB // 2
    while s > 0:
        if t < s:
            counts[t] += counts[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        cuda.atomic.add(hits, 0, counts[0])


SIGNATURES = {
    "xorshift32": (xorshift32, "int64(int64)"),
    "seed_state": (seed_state, "int64(int64, int64)"),
    "monte_carlo_pi": (monte_carlo_pi, "void(int64, int64, int64[:])"),
}
DEVICE_FUNCTIONS = {"xorshift32", "seed_state"}
TEST_SIZES = [1, 3, 40]  # blocks of TPB threads
DEMO_SIZE = 2048
BENCH_SIZE = 2048
SIM_SIZE = 4
SAMPLES = 64  # per thread
DEMO_SAMPLES = 4096


def make_inputs(size, rng, samples=SAMPLES):
    return int(rng.integers(1, 2**31)), int(samples), int(size)


def run(seed, samples, blocks):
    d_hits = cuda.to_device(np.zeros(1, dtype=np.int64))
    monte_carlo_pi[blocks, TPB](seed, samples, d_hits)
    return int(d_hits.copy_to_host()[0])


def prepare(seed, samples, blocks):
    """A call clears the counter (an 8-byte copy) and launches."""
    zero = np.zeros(1, dtype=np.int64)
    d_hits = cuda.to_device(zero)

    def launch():
        d_hits.copy_to_device(zero)
        monte_carlo_pi[blocks, TPB](seed, samples, d_hits)

    return launcher(cuda, launch, lambda: int(d_hits.copy_to_host()[0]))


def _xorshift32(s):
    s = s ^ ((s << 13) & MASK32)
    s = s ^ (s >> 17)
    return s ^ ((s << 5) & MASK32)


def reference(seed, samples, blocks):
    """The exact number of hits, with the same generator vectorised over threads."""
    tid = np.arange(blocks * TPB, dtype=np.int64)
    s = (((seed & MASK32) * 2654435761 + (tid & MASK32) * 2246822519 + 12345) & MASK32)
    s = _xorshift32(_xorshift32(s | 1))
    s[s == 0] = 1
    inside = 0
    for _ in range(samples):
        s = _xorshift32(s)
        x = s >> 8
        s = _xorshift32(s)
        y = s >> 8
        inside += int(np.count_nonzero(x * x + y * y < ONE_48))
    return inside


def estimate(hits, samples, blocks):
    return 4.0 * hits / (samples * blocks * TPB)


def check(got, want):
    return got == want
