"""Arrays in a device's memory, as Numba's ``DeviceNDArray``.

On a CUDA device the memory is the GPU's; on the CPU device it is host memory,
so copies are memcpy and kernels read it in place.
"""

from __future__ import annotations

import numpy as np

from .. import types as hstypes


def _contiguous(shape, strides, itemsize, order) -> bool:
    """NumPy's rule: an empty array is contiguous, and dimensions of length
    one may have any stride."""
    if 0 in shape:
        return True
    expect = itemsize
    dims = zip(shape, strides) if order == "F" else zip(reversed(shape), reversed(strides))
    for n, s in dims:
        if n != 1 and s != expect:
            return False
        expect *= n
    return True


def _layout_of(shape, strides, itemsize) -> str:
    if _contiguous(shape, strides, itemsize, "C"):
        return "C"
    if _contiguous(shape, strides, itemsize, "F"):
        return "F"
    return "A"


def _contiguous_strides(shape, itemsize, order="C"):
    strides = []
    acc = itemsize
    dims = list(shape) if order == "F" else list(reversed(shape))
    for n in dims:
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(strides) if order == "F" else tuple(reversed(strides))


class DeviceNDArray:
    """An n-dimensional array in a device's memory."""

    def __init__(self, shape, strides, dtype, buffer, offset=0, stream=None):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.strides = tuple(int(s) for s in strides)
        self._buffer = buffer  # _core.DeviceBuffer: owns (or wraps) the memory
        self._offset = int(offset)
        self.stream = stream

    # -- NumPy-like attributes --------------------------------------------------

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def device(self):
        return self._buffer.device

    @property
    def device_ctypes_pointer(self):
        return self._buffer.address + self._offset

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d device array")
        return self.shape[0]

    def is_c_contiguous(self):
        return _layout_of(self.shape, self.strides, self.itemsize) == "C" or self.size <= 1

    def is_f_contiguous(self):
        return _layout_of(self.shape, self.strides, self.itemsize) == "F" or self.ndim <= 1 and self.is_c_contiguous()

    @property
    def T(self):
        return self.transpose()

    def transpose(self, axes=None):
        axes = tuple(reversed(range(self.ndim))) if axes is None else tuple(axes)
        return DeviceNDArray([self.shape[a] for a in axes], [self.strides[a] for a in axes],
                             self.dtype, self._buffer, self._offset, self.stream)

    def __repr__(self):
        return f"<DeviceNDArray shape={self.shape} dtype={self.dtype} on {self.device.name}>"

    # -- the compiler's view -----------------------------------------------------

    @property
    def _hs_type(self):
        # Shape, strides and dtype never change: worked out on the first launch.
        t = self.__dict__.get("_hs_type_cache")
        if t is None:
            kind = "bool" if self.dtype.kind == "b" else self.dtype.name
            t = hstypes.Array(hstypes.SCALARS[kind], self.ndim,
                              _layout_of(self.shape, self.strides, self.itemsize))
            self.__dict__["_hs_type_cache"] = t
        return t

    @property
    def _launch_arg(self):
        """``(address, shape, strides)``: what an array argument of a kernel gets."""
        return (self._buffer.address + self._offset, self.shape, self.strides)

    # -- copies ------------------------------------------------------------------

    def _span(self):
        """(first byte offset, byte length) covered by the elements."""
        if self.size == 0:
            return self._offset, 0
        lo = sum(min(0, (n - 1) * s) for n, s in zip(self.shape, self.strides))
        hi = sum(max(0, (n - 1) * s) for n, s in zip(self.shape, self.strides)) + self.itemsize
        return self._offset + lo, hi - lo

    def _is_dense_c(self):
        return self.strides == _contiguous_strides(self.shape, self.itemsize)

    def copy_to_host(self, ary=None, stream=0):
        """Copies to a NumPy array (a new one, or ``ary``) and returns it."""
        if self._is_dense_c() and (ary is None or (ary.flags.c_contiguous and ary.shape == self.shape
                                                   and ary.dtype == self.dtype)):
            # One copy, straight into the result.
            out = np.empty(self.shape, self.dtype) if ary is None else ary
            if self.nbytes:
                self._buffer.copy_to_host(out.reshape(-1).view(np.uint8), self._offset, _stream(stream))
            return out
        start, length = self._span()
        raw = np.empty(max(length, 1), dtype=np.uint8)
        if length:
            self._buffer.copy_to_host(raw[:length], start, _stream(stream))
        view = np.ndarray(self.shape, self.dtype, raw.data, self._offset - start, self.strides)
        if ary is None:
            return np.array(view, copy=True, order="K")
        if ary.shape != self.shape or ary.dtype != self.dtype:
            raise ValueError(f"copy_to_host into an array of shape {ary.shape} and dtype {ary.dtype}; "
                             f"expected {self.shape} {self.dtype}")
        ary[...] = view
        return ary

    def copy_to_device(self, ary, stream=0):
        """Copies a host array (or another device array) into this one."""
        if isinstance(ary, DeviceNDArray):
            ary = ary.copy_to_host()
        ary = np.asarray(ary)
        if ary.shape != self.shape:
            raise ValueError(f"copy_to_device of shape {ary.shape} into a device array of shape {self.shape}")
        if self._is_dense_c():
            src = np.ascontiguousarray(ary, dtype=self.dtype)
            if src.nbytes:
                self._buffer.copy_from_host(src.reshape(-1).view(np.uint8), self._offset, _stream(stream))
            return
        # A strided destination: read, modify, write back the span it covers.
        start, length = self._span()
        raw = np.empty(length, dtype=np.uint8)
        if length:
            self._buffer.copy_to_host(raw, start, _stream(stream))
            view = np.ndarray(self.shape, self.dtype, raw.data, self._offset - start, self.strides)
            view[...] = ary
            self._buffer.copy_from_host(raw, start, _stream(stream))

    def __array__(self, dtype=None, copy=None):
        host = self.copy_to_host()
        return host if dtype is None else host.astype(dtype)

    # -- views -------------------------------------------------------------------

    def _view(self, key):
        """The view ``self[key]`` as (shape, strides, byte offset), computed by
        NumPy on a stand-in array that shares our geometry."""
        base = np.empty(1, dtype=self.dtype)
        probe = np.lib.stride_tricks.as_strided(base, self.shape, self.strides)
        # Indexing with a trailing Ellipsis keeps even a single element a (0-d) view.
        key = key if isinstance(key, tuple) else (key,)
        if not any(k is Ellipsis for k in key):
            key = key + (Ellipsis,)
        view = probe[key]
        delta = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return view.shape, view.strides, self._offset + delta

    def __getitem__(self, key):
        shape, strides, offset = self._view(key)
        sub = DeviceNDArray(shape, strides, self.dtype, self._buffer, offset, self.stream)
        return sub.copy_to_host()[()] if sub.ndim == 0 else sub

    def __setitem__(self, key, value):
        shape, strides, offset = self._view(key)
        target = DeviceNDArray(shape, strides, self.dtype, self._buffer, offset, self.stream)
        target.copy_to_device(np.broadcast_to(np.asarray(value, dtype=self.dtype), shape))

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = list(shape)
        if -1 in shape:
            known = int(np.prod([n for n in shape if n != -1]))
            shape[shape.index(-1)] = self.size // max(known, 1)
        if int(np.prod(shape)) != self.size:
            raise ValueError(f"cannot reshape a device array of size {self.size} into shape {tuple(shape)}")
        if not self.is_c_contiguous():
            raise NotImplementedError("reshape of a non-contiguous device array; copy it first")
        return DeviceNDArray(shape, _contiguous_strides(shape, self.itemsize, order), self.dtype,
                             self._buffer, self._offset, self.stream)

    def ravel(self, order="C"):
        return self.reshape(self.size)

    # -- interoperability ----------------------------------------------------------

    @property
    def __cuda_array_interface__(self):
        if self.device.kind != "cuda":
            raise AttributeError("__cuda_array_interface__ is only defined for arrays on a CUDA device")
        return {
            "shape": self.shape,
            "strides": None if self.is_c_contiguous() else self.strides,
            "typestr": self.dtype.str,
            "data": (self.device_ctypes_pointer, False),
            "version": 3,
            "stream": None,
        }


def _stream(stream):
    return None if stream in (0, None) else stream._core
