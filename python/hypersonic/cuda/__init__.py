"""Numba's CUDA target, on NVIDIA GPUs and on the CPU.

``from hypersonic import cuda`` and write kernels as with ``numba.cuda``. Kernels
launch on the current device: the first CUDA GPU, or, with none (or with
``HYPERSONIC_DEVICE=cpu``), all CPU cores through compiled SIMT code.
"""

from __future__ import annotations

from .. import _core
from .. import types as _hstypes
from .devicearray import DeviceNDArray
from .devices import (
    Device, Event, Stream, as_cuda_array, current_device, detect, device_array,
    device_array_like, event_elapsed_time, is_available, is_cuda_array, pinned_array,
    select_device, synchronize, to_device,
)
from .devices import all_devices as _all_devices
from .intrinsics import (
    activemask, all_sync, any_sync, atomic, ballot_sync, blockDim, blockIdx, brev, clz, const,
    ffs, fma, grid, gridDim, gridsize, laneid, local, popc, shared, shfl_down_sync, shfl_sync,
    shfl_up_sync, shfl_xor_sync, syncthreads, syncthreads_and, syncthreads_count, syncthreads_or,
    syncwarp, threadfence, threadfence_block, threadfence_system, threadIdx, warpsize,
)
from .kernel import DeviceFunction, Kernel, jit


def stream():
    """A new stream on the current device."""
    return Stream(current_device())


def default_stream():
    return 0


def event(timing=True):
    """A new event on the current device."""
    return Event(current_device(), timing)


def get_current_device():
    return current_device()


def list_devices():
    return [d for d in _all_devices() if d.kind == "cuda"]


def compile_ptx(pyfunc, sig, debug=False, lineinfo=False, device=False, fastmath=False, cc=None,
                opt=True, abi="numba", abi_info=None):
    """PTX for ``pyfunc`` with signature ``sig``, and its return type, without a GPU.

    ``cc`` is the compute capability, ``(8, 0)`` by default."""
    from .. import _resolve

    sig = _hstypes.parse_signature(sig)
    cc = tuple(cc) if cc else (8, 0)
    options = {"fastmath": bool(fastmath), "device": bool(device)}
    ptx, ret = _core.compile_ptx(
        _resolve.source_info(pyfunc),
        [str(a) for a in sig.args],
        None if sig.return_type is None else str(sig.return_type),
        cc,
        options,
    )
    return ptx, _hstypes.parse_type(ret)


def compile_ptx_for_current_device(pyfunc, sig, **kwargs):
    return compile_ptx(pyfunc, sig, cc=current_device().compute_capability or (8, 0), **kwargs)


__all__ = [
    "jit", "Kernel", "DeviceFunction", "DeviceNDArray", "Device", "Stream", "Event",
    "to_device", "device_array", "device_array_like", "pinned_array", "as_cuda_array",
    "is_cuda_array", "synchronize", "stream", "default_stream", "event", "event_elapsed_time",
    "is_available", "detect", "select_device", "get_current_device", "current_device",
    "list_devices", "compile_ptx", "compile_ptx_for_current_device",
    "threadIdx", "blockIdx", "blockDim", "gridDim", "grid", "gridsize", "laneid", "warpsize",
    "shared", "local", "const", "syncthreads", "syncthreads_count", "syncthreads_and",
    "syncthreads_or", "threadfence", "threadfence_block", "threadfence_system", "syncwarp",
    "atomic", "shfl_sync", "shfl_up_sync", "shfl_down_sync", "shfl_xor_sync", "ballot_sync",
    "all_sync", "any_sync", "activemask", "fma", "popc", "clz", "ffs", "brev",
]
