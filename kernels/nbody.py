"""Total energy (kinetic + pairwise gravitational potential) of n bodies."""

import math

import numpy as np

from hypersonic import njit


@njit
def energy(pos, vel, mass):
    n = pos.shape[0]
    e = 0.0
    for i in range(n):
        v2 = vel[i, 0] * vel[i, 0] + vel[i, 1] * vel[i, 1] + vel[i, 2] * vel[i, 2]
        e += 0.5 * mass[i] * v2
        for j in range(i + 1, n):
            dx = pos[i, 0] - pos[j, 0]
            dy = pos[i, 1] - pos[j, 1]
            dz = pos[i, 2] - pos[j, 2]
            e -= mass[i] * mass[j] / math.sqrt(dx * dx + dy * dy + dz * dz)
    return e


KERNEL = energy
DEMO_SIZE = 600
TEST_SIZE = 60


def make_inputs(size, rng):
    pos = rng.uniform(-1.0, 1.0, (size, 3))
    vel = rng.normal(0.0, 0.1, (size, 3))
    mass = rng.uniform(0.5, 2.0, size)
    return pos, vel, mass


def compute(func, args):
    return func(*args)


def check(got, want):
    return bool(np.isclose(got, want, rtol=1e-10))
