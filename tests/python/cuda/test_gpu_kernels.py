"""Every kernel of kernels/gpu against NumPy on random inputs, on every device,
including sizes that are not multiples of the block size."""

import math

import numpy as np
import pytest

from cuda_harness import MODULES, SIMULATOR, load, rng

# Numba's simulator runs one Python thread per CUDA thread: keep its sizes small.
SIM_LIMIT = 3


def sizes(name):
    mod = load(name)
    if SIMULATOR:
        return [s for s in mod.TEST_SIZES if s <= SIM_LIMIT * mod.SIM_SIZE][:4]
    return mod.TEST_SIZES


CASES = [(name, size) for name in MODULES for size in sizes(name)]


@pytest.mark.parametrize("name,size", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_kernel_matches_numpy(device, name, size):
    mod = load(name)
    inputs = mod.make_inputs(size, rng(size + 11))
    got = mod.run(*inputs)
    want = mod.reference(*inputs)
    assert mod.check(got, want), f"{name} (size {size}) on {device}: {got!r} vs {want!r}"


@pytest.mark.parametrize("seed", [1, 2])
def test_kernels_on_other_seeds(device, seed):
    for name in MODULES:
        mod = load(name)
        size = mod.TEST_SIZES[min(2, len(mod.TEST_SIZES) - 1)]
        inputs = mod.make_inputs(size, rng(100 + seed))
        assert mod.check(mod.run(*inputs), mod.reference(*inputs)), name


@pytest.mark.parametrize("size", [1, 16, 37])
def test_matmul_naive(device, size):
    mod = load("matmul")
    A, B = mod.make_inputs(size, rng(size))
    got = mod.run_kernel(mod.matmul_naive, A, B)
    assert mod.check(got, mod.reference(A, B))


def test_matmul_naive_and_tiled_agree(device):
    mod = load("matmul")
    A, B = mod.make_inputs(40, rng(5))
    naive = mod.run_kernel(mod.matmul_naive, A, B)
    tiled = mod.run_kernel(mod.matmul_tiled, A, B)
    np.testing.assert_allclose(naive, tiled, rtol=1e-5, atol=1e-5)


def test_histogram_global_atomics(device):
    mod = load("histogram")
    (data,) = mod.make_inputs(3000 if SIMULATOR else 100_000, rng(8))
    got = mod.run_kernel(mod.histogram_global, data)
    np.testing.assert_array_equal(got, mod.reference(data))
    assert got.sum() == data.shape[0]


def test_monte_carlo_pi_estimate(device):
    mod = load("monte_carlo_pi")
    blocks, samples = (4, 64) if SIMULATOR else (64, 512)
    seed, samples, blocks = mod.make_inputs(blocks, rng(9), samples=samples)
    hits = mod.run(seed, samples, blocks)
    assert hits == mod.reference(seed, samples, blocks)
    tolerance = 0.1 if SIMULATOR else 0.01
    assert abs(mod.estimate(hits, samples, blocks) - math.pi) < tolerance


def test_monte_carlo_threads_differ(device):
    """Each thread has its own generator: two seeds give different counts."""
    mod = load("monte_carlo_pi")
    a = mod.run(1, 32, 2)
    b = mod.run(2, 32, 2)
    assert a != b
    assert a == mod.reference(1, 32, 2) and b == mod.reference(2, 32, 2)


@pytest.mark.parametrize("tpb", [32, 64, 256])
def test_dynamic_shared_block_sizes(device, tpb):
    mod = load("dynamic_shared")
    a, _ = mod.make_inputs(3 * tpb + 5, rng(tpb))
    np.testing.assert_array_equal(mod.run(a, tpb), mod.reference(a, tpb))


@pytest.mark.parametrize("blocks,tpb", [(1, 1), (1, 32), (3, 7), (8, 64)])
def test_grid_stride_any_grid(device, blocks, tpb):
    mod = load("grid_stride")
    a, x, y = mod.make_inputs(1000, rng(blocks * tpb))
    got = mod.run(a, x, y, blocks=blocks, tpb=tpb)
    assert mod.check(got, mod.reference(a, x, y))


def test_stencil_many_steps_keeps_edges(device):
    mod = load("stencil2d")
    u, _ = mod.make_inputs(18, rng(12))
    got = mod.run(u, 12)
    assert mod.check(got, mod.reference(u, 12))
    np.testing.assert_array_equal(got[0], u[0])
    np.testing.assert_array_equal(got[:, -1], u[:, -1])
    assert got[1:-1, 1:-1].std() < u[1:-1, 1:-1].std()  # diffusion smooths


def test_scan_of_negative_and_positive_values(device):
    mod = load("scan")
    a = np.tile(np.array([5, -3, 0, 7, -100], dtype=np.int32), 120)
    np.testing.assert_array_equal(mod.run(a), np.cumsum(a, dtype=np.int64))


def test_reduction_float64_input(device):
    mod = load("reduction")
    a = rng(13).uniform(-5.0, 5.0, 1234)
    assert mod.run(a) == pytest.approx(a.sum(), rel=1e-12, abs=1e-9)
