"""Device functions (``@cuda.jit(device=True)``) calling each other, one
returning a tuple, and an ``@njit`` function, all called from one kernel."""

import math

import numpy as np

from kernels.gpu import backend, blocks_for, launcher

cuda, njit = backend()

TPB = 128


@cuda.jit(device=True)
def clamp(x, lo, hi):
    return min(max(x, lo), hi)


@cuda.jit(device=True)
def smoothstep(edge0, edge1, x):
    t = clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@cuda.jit(device=True)
def polar(x, y):
    return math.sqrt(x * x + y * y), math.atan2(y, x)


@njit
def weight(r):
    return 1.0 / (1.0 + r * r)


@cuda.jit
def shade(x, y, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        r, theta = polar(x[i], y[i])
        out[i] = smoothstep(0.25, 2.0, r) * math.cos(theta) + weight(r)


SIGNATURES = {
    "clamp": (clamp, "float64(float64, float64, float64)"),
    "smoothstep": (smoothstep, "float64(float64, float64, float64)"),
    "polar": (polar, "UniTuple(float64, 2)(float64, float64)"),
    "shade": (shade, "void(float64[:], float64[:], float64[:])"),
}
DEVICE_FUNCTIONS = {"clamp", "smoothstep", "polar"}
TEST_SIZES = [1, 129, 1000]
DEMO_SIZE = 5_000_000
BENCH_SIZE = 5_000_000
SIM_SIZE = 1_000


def make_inputs(size, rng):
    return rng.uniform(-3.0, 3.0, size), rng.uniform(-3.0, 3.0, size)


def run(x, y):
    d_out = cuda.device_array_like(x)
    shade[blocks_for(x.shape[0], TPB), TPB](cuda.to_device(x), cuda.to_device(y), d_out)
    return d_out.copy_to_host()


def prepare(x, y):
    d_x, d_y = cuda.to_device(x), cuda.to_device(y)
    d_out = cuda.device_array_like(x)
    blocks = blocks_for(x.shape[0], TPB)

    def launch():
        shade[blocks, TPB](d_x, d_y, d_out)

    return launcher(cuda, launch, d_out.copy_to_host)


def reference(x, y):
    r = np.hypot(x, y)
    theta = np.arctan2(y, x)
    t = np.clip((r - 0.25) / (2.0 - 0.25), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t) * np.cos(theta) + 1.0 / (1.0 + r * r)


def check(got, want):
    return np.allclose(got, want, rtol=1e-12, atol=1e-12)
