"""Sum of arctan over a ragged array: row i of ``X`` is ``X[jind[i]:jind[i + 1]]``.

The accumulator starts as the integer ``0`` and becomes a float: it is a float64.
"""

import numpy as np

from hypersonic import njit


@njit
def ragged_sum(X, jind):
    s = 0
    for i in range(jind.shape[0] - 1):
        for j in range(jind[i], jind[i + 1]):
            s += np.arctan(X[j] * i * j)
    return s


KERNEL = ragged_sum
DEMO_SIZE = 200_000
TEST_SIZE = 2_000


def make_inputs(size, rng):
    """``size`` values split into rows of random length (about 50 on average)."""
    X = rng.standard_normal(size)
    nrows = max(1, size // 50)
    cuts = np.sort(rng.integers(0, size, nrows - 1))
    jind = np.concatenate(([0], cuts, [size])).astype(np.int64)
    return X, jind


def compute(func, args):
    return func(*args)


def check(got, want):
    return bool(np.isclose(got, want, rtol=1e-9, atol=1e-9))
