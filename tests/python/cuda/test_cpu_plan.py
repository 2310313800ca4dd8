"""What the CPU fallback's planner decides for the example kernels: the
optimisations the performance of `benches/cuda_kernels.py` rests on. Results
are checked elsewhere; these tests fail when a change silently loses one
(a grid-stride loop no longer counted, a histogram no longer privatised)."""

import numpy as np

from cuda_harness import hypersonic_only
from kernels.gpu import load

pytestmark = hypersonic_only("Hypersonic's CPU lowering")


def plan_of(kernel, args):
    """The planner's facts for `kernel` specialised for `args`, as a dict."""
    from hypersonic.cuda.kernel import _arg_type

    ck = kernel.compile(tuple(_arg_type(a) for a in args))
    facts = {}
    for line in ck.cpu_code("plan").splitlines():
        key, _, value = line.partition(":")
        facts[key.strip()] = value.strip()
    return facts


def test_grid_stride_loop_is_counted():
    m = load("grid_stride")
    a, x, y = m.make_inputs(100, np.random.default_rng(0))
    facts = plan_of(m.saxpy, (a, x, y, np.empty_like(x)))
    assert facts["counted loops"] == "1"
    assert facts["induction locals"] != ""
    assert facts["scratch locals"] == ""


def test_global_histogram_is_privatised():
    m = load("histogram")
    (data,) = m.make_inputs(100, np.random.default_rng(0))
    hist = np.zeros(m.NBINS, dtype=np.int32)
    assert plan_of(m.histogram_global, (data, hist))["private params"] == "1"
    # The shared-memory version accumulates globally too (once per bin and block).
    assert plan_of(m.histogram_shared, (data, hist))["private params"] == "1"


def test_atomics_whose_old_value_is_read_stay_shared():
    from test_accumulation_targets import add_and_keep_old

    facts = plan_of(add_and_keep_old, (np.zeros(1, np.int64), np.zeros(8, np.int64)))
    assert facts["private params"] == ""


def test_tree_reduction_recomputes_its_thread_index():
    m = load("reduction")
    (a,) = m.make_inputs(100, np.random.default_rng(0))
    facts = plan_of(m.block_sum, (a, np.zeros(1)))
    assert facts["recomputed locals"] == "tid"
    assert facts["scratch locals"] == ""


def test_matmuls_walk_rows():
    m = load("matmul")
    A, B = m.make_inputs(20, np.random.default_rng(0))[:2]
    C = np.zeros((A.shape[0], B.shape[1]), dtype=np.float32)
    naive = plan_of(m.matmul_naive, (A, B, C))
    assert naive["counted loops"] == "1"  # the k loop, in lockstep
    assert naive["blocks y-major"] == "true" and naive["scratch y-major"] == "true"
    tiled = plan_of(m.matmul_tiled, (A, B, C))
    assert tiled["recomputed locals"] == "tx ty x y"
    assert tiled["scratch locals"] == "acc"
    # Its k loop reads shared memory: per thread (unrolled, vectorised across
    # threads), not in lockstep like the naive one's walk through B.
    assert tiled["counted loops"] == "0"


def test_stencil_runs_blocks_along_rows():
    m = load("stencil2d")
    u, _ = m.make_inputs(20, np.random.default_rng(0))
    facts = plan_of(m.stencil5, (u, np.empty_like(u), np.float32(0.2)))
    assert facts["regions"] == "1"
    assert facts["blocks y-major"] == "true"


def test_grid_index_kernels_merge_blocks():
    """Kernels that see their position only through cuda.grid / cuda.gridsize
    may run neighbouring blocks as one wider block; shared memory, or
    threadIdx read on its own, forbid it."""
    s = load("stencil2d")
    u, _ = s.make_inputs(20, np.random.default_rng(0))
    assert plan_of(s.stencil5, (u, u.copy(), np.float32(0.2)))["blocks mergeable along"] == "x, y, z"
    h = load("histogram")
    (data,) = h.make_inputs(100, np.random.default_rng(0))
    hist = np.zeros(h.NBINS, dtype=np.int32)
    assert plan_of(h.histogram_global, (data, hist))["blocks mergeable along"] == "x, y, z"
    assert plan_of(h.histogram_shared, (data, hist))["blocks mergeable along"] == "-"
    r = load("reduction")
    (a,) = r.make_inputs(100, np.random.default_rng(0))
    assert plan_of(r.block_sum, (a, np.zeros(1)))["blocks mergeable along"] == "-"


def test_grid_stride_reads_are_prefetched():
    """A block of a grid-stride loop reads pieces gridsize apart, which the
    hardware prefetchers cannot follow: the CPU code prefetches them."""
    h = load("histogram")
    (data,) = h.make_inputs(1000, np.random.default_rng(0))
    hist = np.zeros(h.NBINS, dtype=np.int32)
    h.histogram_shared[4, 32](data, hist)
    code = "".join(h.histogram_shared.inspect_llvm().values())
    assert "llvm.prefetch" in code
    np.testing.assert_array_equal(hist, np.bincount(data, minlength=h.NBINS))


def test_scan_recomputes_lane_and_warp():
    m = load("scan")
    (a,) = m.make_inputs(1000, np.random.default_rng(0))
    facts = plan_of(m.block_scan, (a, np.zeros(1000, np.int64), np.zeros(4, np.int64)))
    assert {"lane", "warp", "tid"} <= set(facts["recomputed locals"].split())
    assert "lane" not in facts["scratch locals"].split()
    # Both warp scans (the values', the warp totals') run as scans per warp.
    assert facts["warp scans of"].split() == ["warp_inclusive_scan.value"] * 2


def test_block_prefetches_the_next_blocks_reads():
    """`a[i]` at the grid index: each block prefetches a later block's piece."""
    m = load("scan")
    (a,) = m.make_inputs(1000, np.random.default_rng(0))
    out, totals = np.zeros(1000, np.int64), np.zeros(4, np.int64)
    m.block_scan[4, m.TPB](a, out, totals)
    code = "".join(m.block_scan.inspect_llvm().values())
    assert "llvm.prefetch" in code
