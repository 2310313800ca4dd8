"""Warp functions for Numba's CUDA simulator, which has none.

Only for checking kernels and tests under ``NUMBA_ENABLE_CUDASIM=1``: the
simulator runs each CUDA thread as a Python thread and has no warps, so here a
warp function exchanges values through the block's barrier. That is right for
kernels whose warp functions are called by every thread of the block at the
same point (full masks, no divergence), which is how the kernels and tests here
use them. ``install()`` adds the functions to the simulator's fake ``cuda``."""

from __future__ import annotations

import threading

WARP = 32


def _exchange(value):
    """Every thread's value, keyed by linear thread id (all threads must call)."""
    me = threading.current_thread()
    manager = me._manager
    store = manager.__dict__.setdefault("_hs_warp_values", {})
    store[me.thread_id] = value
    me.syncthreads()
    values = dict(store)
    me.syncthreads()
    return me.thread_id, values


def _lane_value(tid, values, src_lane, own):
    base = tid - tid % WARP
    src = base + src_lane
    return values.get(src, own)


def shfl_sync(self, mask, value, src_lane):
    tid, values = _exchange(value)
    return _lane_value(tid, values, int(src_lane) % WARP, value)


def shfl_up_sync(self, mask, value, delta):
    tid, values = _exchange(value)
    lane = tid % WARP
    return value if lane - delta < 0 else _lane_value(tid, values, lane - delta, value)


def shfl_down_sync(self, mask, value, delta):
    tid, values = _exchange(value)
    lane = tid % WARP
    return value if lane + delta >= WARP else _lane_value(tid, values, lane + delta, value)


def shfl_xor_sync(self, mask, value, lane_mask):
    tid, values = _exchange(value)
    lane = tid % WARP
    return _lane_value(tid, values, (lane ^ lane_mask) % WARP, value)


def _warp_predicates(predicate):
    tid, values = _exchange(bool(predicate))
    base = tid - tid % WARP
    return [(k, values[base + k]) for k in range(WARP) if base + k in values]


def ballot_sync(self, mask, predicate):
    bits = 0
    for lane, p in _warp_predicates(predicate):
        if p and (mask >> lane) & 1:
            bits |= 1 << lane
    return bits


def all_sync(self, mask, predicate):
    return int(all(p for lane, p in _warp_predicates(predicate) if (mask >> lane) & 1))


def any_sync(self, mask, predicate):
    return int(any(p for lane, p in _warp_predicates(predicate) if (mask >> lane) & 1))


def syncwarp(self, mask=0xFFFFFFFF):
    threading.current_thread().syncthreads()


def activemask(self):
    return 0xFFFFFFFF


def install():
    """Adds the warp functions to the simulator (idempotent); False when not simulating."""
    try:
        from numba.cuda.simulator.kernelapi import FakeCUDAModule
    except ImportError:  # pragma: no cover
        return False
    for f in (shfl_sync, shfl_up_sync, shfl_down_sync, shfl_xor_sync, ballot_sync,
              all_sync, any_sync, syncwarp, activemask):
        if not hasattr(FakeCUDAModule, f.__name__):
            setattr(FakeCUDAModule, f.__name__, f)
    return True
