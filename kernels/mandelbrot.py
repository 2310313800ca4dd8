"""Escape-time Mandelbrot set on complex numbers, written into a 2-D int32 array."""

import numpy as np

from hypersonic import njit


@njit
def mandelbrot(counts, xmin, xmax, ymin, ymax, max_iter):
    height, width = counts.shape
    for i in range(height):
        y = ymin + (ymax - ymin) * i / height
        for j in range(width):
            c = complex(xmin + (xmax - xmin) * j / width, y)
            z = 0j
            n = 0
            while n < max_iter:
                z = z * z + c
                if abs(z) > 2.0:
                    break
                n += 1
            counts[i, j] = n


KERNEL = mandelbrot
DEMO_SIZE = 200
TEST_SIZE = 40


def make_inputs(size, rng):
    """A ``size`` x ``1.5 size`` image of a slightly jittered view of the whole set."""
    counts = np.zeros((size, size * 3 // 2), dtype=np.int32)
    dx, dy = rng.uniform(-0.05, 0.05, 2)
    return counts, -2.2 + dx, 1.0 + dx, -1.2 + dy, 1.2 + dy, 100


def compute(func, args):
    counts = args[0].copy()
    func(counts, *args[1:])
    return counts


def check(got, want):
    # The iteration is chaotic near the boundary: one ulp of difference in hypot()
    # may change a count there, so allow a handful of pixels to differ.
    return got.shape == want.shape and np.count_nonzero(got != want) <= max(1, want.size // 2000)
