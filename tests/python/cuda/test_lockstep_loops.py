"""Loops that threads leave at different times and that index arrays by
thread -- grid-stride loops above all. The CPU fallback runs them in
lockstep (one iteration of every thread, then the next) and computes the
loop's iterator from the iteration number; these kernels cover the shapes
around that: negative starts and steps, constant steps, `continue` and
`break` in the body, the loop variable read after the loop, nested and 2-D
grid-stride loops, and a loop whose step changes. Every result against NumPy."""

import numpy as np
import pytest

from cuda_harness import cuda, random_array


@cuda.jit
def saxpy_stride(a, x, y, out):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        out[i] = a * x[i] + y[i]


@pytest.mark.parametrize("n", [1, 100, 1000, 4097])
def test_grid_stride(device, n):
    x = random_array(n, np.float32, seed=21)
    y = random_array(n, np.float32, seed=22)
    out = np.zeros_like(x)
    saxpy_stride[3, 64](np.float32(1.5), x, y, out)
    np.testing.assert_allclose(out, np.float32(1.5) * x + y, rtol=1e-6)


@cuda.jit
def shifted_start(x, out, shift):
    # The start may be negative: Python's negative indices count from the end.
    for i in range(cuda.grid(1) - shift, x.shape[0], cuda.gridsize(1)):
        out[i] += x[i]


def test_negative_start(device):
    x = random_array(500, np.float64, seed=23)
    out = np.zeros_like(x)
    shifted_start[2, 32](x, out, 5)
    want = np.zeros_like(x)
    for t in range(64):
        for i in range(t - 5, 500, 64):
            want[i] += x[i]
    np.testing.assert_array_equal(out, want)


@cuda.jit
def backwards(x, out):
    n = x.shape[0]
    for i in range(n - 1 - cuda.grid(1), -1, -cuda.gridsize(1)):
        out[i] = x[i] * 2.0 + i


def test_negative_step(device):
    x = random_array(777, np.float64, seed=24)
    out = np.zeros_like(x)
    backwards[4, 32](x, out)
    np.testing.assert_array_equal(out, x * 2.0 + np.arange(777))


@cuda.jit
def constant_step_with_continue(x, out):
    t = cuda.threadIdx.x
    for i in range(t, x.shape[0], 16):
        if x[i] < 0:
            continue
        out[i] = x[i] + 100.0


def test_constant_step_and_continue(device):
    x = random_array(300, np.float64, seed=25)
    out = np.zeros_like(x)
    constant_step_with_continue[1, 16](x, out)
    np.testing.assert_array_equal(out, np.where(x < 0, 0.0, x + 100.0))


@cuda.jit
def first_negative(x, out, counts):
    # Each thread scans its slice and stops at the first negative value.
    t = cuda.grid(1)
    last = -1
    for i in range(t, x.shape[0], cuda.gridsize(1)):
        last = i
        if x[i] < 0:
            break
        counts[t] += 1
    out[t] = last


def test_break_and_loop_variable_after_the_loop(device):
    x = np.abs(random_array(1000, np.float64, seed=26)) + 0.1
    x[[70, 333, 640, 999]] *= -1
    out = np.zeros(128, dtype=np.int64)
    counts = np.zeros(128, dtype=np.int64)
    first_negative[2, 64](x, out, counts)
    want_out = np.full(128, -1)
    want_counts = np.zeros(128, dtype=np.int64)
    for t in range(128):
        for i in range(t, 1000, 128):
            want_out[t] = i
            if x[i] < 0:
                break
            want_counts[t] += 1
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(counts, want_counts)


@cuda.jit
def stride_2d(a, out):
    x0, y0 = cuda.grid(2)
    sx, sy = cuda.gridsize(2)
    for i in range(x0, a.shape[0], sx):
        for j in range(y0, a.shape[1], sy):
            out[i, j] = a[i, j] * a[i, j] - i + j


def test_nested_2d_grid_stride(device):
    a = random_array((45, 70), np.float64, seed=27)
    out = np.zeros_like(a)
    stride_2d[(2, 3), (4, 8)](a, out)
    i, j = np.indices(a.shape)
    np.testing.assert_array_equal(out, a * a - i + j)


@cuda.jit
def growing_step(out):
    # The step changes inside the loop: not a fixed stride.
    t = cuda.grid(1)
    i = t
    step = 1
    while i < out.shape[0]:
        out[i] += t + 1
        i += step
        step += 1


def test_loop_with_changing_step(device):
    out = np.zeros(200, dtype=np.int64)
    growing_step[1, 8](out)
    want = np.zeros(200, dtype=np.int64)
    for t in range(8):
        i, step = t, 1
        while i < 200:
            want[i] += t + 1
            i += step
            step += 1
    np.testing.assert_array_equal(out, want)


@cuda.jit
def atomics_in_stride(x, hist):
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        cuda.atomic.add(hist, x[i] % 10, 1)


def test_atomics_in_grid_stride(device):
    x = random_array(5000, np.int64, seed=28, low=0, high=1000)
    hist = np.zeros(10, dtype=np.int64)
    atomics_in_stride[4, 32](x, hist)
    np.testing.assert_array_equal(hist, np.bincount(x % 10, minlength=10))
