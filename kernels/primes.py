"""Counting primes in [lo, hi) by trial division (while loops, early return, a call of
another compiled function), and a sieve of Eratosthenes into a uint8 array."""

import types

from hypersonic import njit


@njit
def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


@njit
def count_primes(lo, hi):
    count = 0
    for n in range(lo, hi):
        if is_prime(n):
            count += 1
    return count


@njit
def sieve(flags):
    """flags[i] = 1 if i is prime; returns how many primes are below len(flags)."""
    n = flags.shape[0]
    for i in range(n):
        flags[i] = 1
    for i in range(min(n, 2)):
        flags[i] = 0
    i = 2
    while i * i < n:
        if flags[i]:
            j = i * i
            while j < n:
                flags[j] = 0
                j += i
        i += 1
    total = 0
    for f in flags:
        total += f
    return total


KERNEL = count_primes
# count_primes.py_func calls the compiled is_prime; this one is plain Python throughout.
PLAIN = types.FunctionType(count_primes.py_func.__code__,
                           {**globals(), "is_prime": is_prime.py_func}, "count_primes")
DEMO_SIZE = 200_000
TEST_SIZE = 3_000


def make_inputs(size, rng):
    lo = int(rng.integers(0, 10 * size))
    return lo, lo + size


def compute(func, args):
    return func(*args)


def check(got, want):
    return got == want
