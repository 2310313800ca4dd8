"""Devices, the current device, streams, events and moving arrays between
host and device."""

from __future__ import annotations


import numpy as np

from .. import _core
from .devicearray import DeviceNDArray, _contiguous_strides


class Device:
    """A device kernels run on: a CUDA GPU, or the CPU."""

    def __init__(self, core):
        self._core = core

    kind = property(lambda self: self._core.kind)
    name = property(lambda self: self._core.name)
    id = index = property(lambda self: self._core.index)

    @property
    def compute_capability(self):
        return self._core.compute_capability

    @property
    def limits(self):
        return dict(self._core.limits)

    def synchronize(self):
        self._core.synchronize()

    def __repr__(self):
        return f"<hypersonic device {self.kind}:{self.index} {self.name!r}>"

    def __eq__(self, other):
        return isinstance(other, Device) and (self.kind, self.index) == (other.kind, other.index)

    def __hash__(self):
        return hash((self.kind, self.index))


_all = None
_current = None


def all_devices():
    global _all
    if _all is None:
        _all = [Device(d) for d in _core.devices()]
    return _all


def _choose():
    chosen = _core.default_device()  # HYPERSONIC_DEVICE, else CUDA, a Vulkan GPU, the CPU
    return next(d for d in all_devices() if (d.kind, d.index) == (chosen.kind, chosen.index))


def current_device() -> Device:
    """The device kernels launch on: a CUDA GPU, else a Vulkan GPU, else the
    CPU; ``HYPERSONIC_DEVICE=cpu|cuda[:N]|vulkan[:N]`` chooses."""
    global _current
    if _current is None:
        _current = _choose()
    return _current


def select_device(index):
    """Makes CUDA device ``index`` current (as Numba's ``cuda.select_device``)."""
    global _current
    for d in all_devices():
        if d.kind == "cuda" and d.index == index:
            _current = d
            return d
    raise RuntimeError(f"there is no CUDA device {index}; see hypersonic.cuda.detect()")


def default_cc():
    d = current_device()
    return d.compute_capability or (8, 0)


class Stream:
    """A queue of work on a device (Numba's ``cuda.stream()``)."""

    def __init__(self, device):
        self.device = device
        self._core = device._core.stream()

    def synchronize(self):
        self._core.synchronize()

    def __repr__(self):
        return f"<hypersonic stream on {self.device.kind}:{self.device.index}>"


class Event:
    """A point in a stream's work, with a time (``cuda.event()``)."""

    def __init__(self, device, timing=True):
        self._core = device._core.event()

    def record(self, stream=0):
        self._core.record(core_stream(stream))

    def synchronize(self):
        self._core.synchronize()

    def wait(self, stream=0):
        self._core.wait(core_stream(stream))

    def query(self):
        return self._core.query()

    def elapsed_time(self, end):
        """Milliseconds from this event to ``end``."""
        return self._core.elapsed_ms(end._core)


def event_elapsed_time(start, end):
    return start.elapsed_time(end)


def core_stream(stream):
    return None if stream in (0, None) else stream._core


def device_of_stream(stream):
    return current_device() if stream in (0, None) else stream.device


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in "biufc" or not dtype.isnative:
        raise TypeError(f"device arrays hold bool, integer, float or complex numbers in native byte order, not {dtype}")
    return dtype


def device_array(shape, dtype=np.float64, strides=None, order="C", stream=0):
    """An uninitialised array on the current device."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    dtype = _check_dtype(dtype)
    strides = strides or _contiguous_strides(shape, dtype.itemsize, order)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    device = device_of_stream(stream)
    buffer = device._core.alloc(max(nbytes, 1))
    return DeviceNDArray(shape, strides, dtype, buffer, 0, stream if stream else None)


def device_array_like(ary, stream=0):
    order = "F" if ary.flags.f_contiguous and not ary.flags.c_contiguous else "C"
    return device_array(ary.shape, ary.dtype, order=order, stream=stream)


def to_device(obj, stream=0, copy=True, to=None):
    """Copies a host array to the current device (or into ``to``)."""
    if isinstance(obj, DeviceNDArray):
        return obj
    ary = np.asarray(obj)
    if to is None:
        order = "F" if ary.flags.f_contiguous and not ary.flags.c_contiguous else "C"
        to = device_array(ary.shape, ary.dtype, order=order, stream=stream)
    if copy:
        to.copy_to_device(ary, stream=stream)
    return to


def pinned_array(shape, dtype=np.float64, strides=None, order="C"):
    """A host array (page-locking is not needed by the devices here)."""
    return np.empty(shape, dtype=dtype, order=order)


def is_cuda_array(obj):
    return hasattr(obj, "__cuda_array_interface__")


def foreign_array(obj):
    """A device array over memory another library owns (CuPy, PyTorch...),
    through ``__cuda_array_interface__``; no copy."""
    cai = obj.__cuda_array_interface__
    dtype = _check_dtype(np.dtype(cai["typestr"]))
    shape = tuple(cai["shape"])
    strides = cai.get("strides") or _contiguous_strides(shape, dtype.itemsize)
    address = cai["data"][0]
    cuda = [d for d in all_devices() if d.kind == "cuda"]
    if not cuda:
        raise RuntimeError("an object with __cuda_array_interface__ needs a CUDA device, and none is present")
    device = current_device() if current_device().kind == "cuda" else cuda[0]
    span = sum((n - 1) * abs(s) for n, s in zip(shape, strides)) + dtype.itemsize if shape else dtype.itemsize
    buffer = device._core.wrap(address, span, obj)
    return DeviceNDArray(shape, strides, dtype, buffer, 0)


def as_cuda_array(obj):
    return foreign_array(obj)


def launch_argument(device, arg, stream, copy_back):
    """What a kernel argument becomes for a launch on ``device``: scalars and
    tuples as they are, arrays as ``(address, shape, strides)``. Host NumPy
    arrays are used in place on the CPU device and copied in and back (as
    Numba does) on a GPU."""
    if isinstance(arg, DeviceNDArray):
        if arg.device.kind != device.kind or arg.device.index != device.index:
            raise ValueError(f"{arg!r} lives on {arg.device.kind}:{arg.device.index}, "
                             f"but the kernel launches on {device.kind}:{device.index}")
        return arg._launch_arg
    if isinstance(arg, np.ndarray):
        if device.kind == "cpu":
            return arg
        d = to_device(arg, stream=stream)
        if arg.flags.writeable:
            copy_back.append((d, arg))
        return d._launch_arg
    if not isinstance(arg, (bool, int, float, complex, tuple, np.generic)) and arg is not None:
        if hasattr(arg, "__cuda_array_interface__"):
            return foreign_array(arg)._launch_arg
        view = np.asarray(memoryview(arg))
        return launch_argument(device, view, stream, copy_back)
    return arg


def synchronize():
    current_device().synchronize()


def detect():
    """Prints the devices found and returns whether a CUDA GPU is among them."""
    print("Found devices:")
    for d in all_devices():
        cc = f", compute capability {d.compute_capability[0]}.{d.compute_capability[1]}" if d.compute_capability else ""
        lim = d.limits
        print(f"  [{d.kind}:{d.index}] {d.name}{cc}")
        print(f"      up to {lim['max_threads_per_block']} threads per block "
              f"(block dims {tuple(lim['max_block_dim'])}), grid dims {tuple(lim['max_grid_dim'])}, "
              f"{lim['max_shared_memory_per_block'] // 1024} KiB shared memory per block, "
              f"{lim['total_memory'] / 2**30:.1f} GiB memory")
    print(f"Kernels launch on: {current_device().kind}:{current_device().index}")
    return any(d.kind == "cuda" for d in all_devices())


def is_available():
    """Whether a CUDA GPU and driver are present (kernels still run on the CPU when not)."""
    return any(d.kind == "cuda" for d in all_devices())


