"""``@cuda.jit``: kernels, launch configurations and device functions."""

from __future__ import annotations

import math
import sys

import numpy as np

from .. import _core, _resolve
from .. import types as hstypes
from .devicearray import DeviceNDArray
from . import devices as _devices

# Numba's @cuda.jit options: accepted, and what each does here.
_OPTIONS = {
    "device": False,
    "debug": False,  # accepted; kernels are always compiled with optimisation
    "lineinfo": False,  # accepted; no line table is emitted yet
    "fastmath": False,
    "opt": True,
    "cache": False,  # accepted; compiles are fast and not cached on disk yet
    "max_registers": None,  # accepted; not passed to the CUDA JIT yet
    "inline": "never",
    "link": (),
    "boundscheck": False,
    "error_model": "python",
}


def _check_options(options):
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"unknown @cuda.jit option(s) {', '.join(unknown)}; accepted: {', '.join(sorted(_OPTIONS))}")
    if options.get("link"):
        raise TypeError("link= (linking CUDA C or PTX files into a kernel) is not supported")
    merged = dict(_OPTIONS)
    merged.update(options)
    return merged


def jit(func_or_sig=None, device=False, **options):
    """Compiles a CUDA kernel (or, with ``device=True``, a device function)."""
    options = _check_options({"device": device, **options})
    if callable(func_or_sig) and not isinstance(func_or_sig, (hstypes.Type, str)):
        return _make(func_or_sig, [], options)
    sigs = [] if func_or_sig is None else (func_or_sig if isinstance(func_or_sig, list) else [func_or_sig])
    sigs = [hstypes.parse_signature(s) for s in sigs]

    def decorate(func):
        return _make(func, sigs, options)

    return decorate


def _make(func, sigs, options):
    if options["device"]:
        return DeviceFunction(func, sigs, options)
    return Kernel(func, sigs, options)


class DeviceFunction:
    """A function kernels call (``@cuda.jit(device=True)``): compiled into each
    kernel that calls it."""

    def __init__(self, py_func, sigs, options):
        self.py_func = py_func
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func
        self.targetoptions = options
        self.signatures = sigs

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"{self.__qualname__} is a CUDA device function: call it from a @cuda.jit kernel, "
            f"or call {self.__qualname__}.py_func(...) to run the Python function"
        )

    def __repr__(self):
        return f"<hypersonic.cuda device function {self.__qualname__}>"


def _dims(value, what):
    if isinstance(value, (int, np.integer)):
        value = (int(value),)
    value = tuple(int(v) for v in value)
    if not 1 <= len(value) <= 3:
        raise ValueError(f"{what} must have 1 to 3 dimensions, got {len(value)}")
    if any(v < 1 for v in value):
        raise ValueError(f"{what} {value}: every dimension must be at least 1")
    return value + (1,) * (3 - len(value))


def _shared_bytes(value):
    value = int(value)
    if value < 0:
        raise ValueError(f"the dynamic shared memory size must be at least 0 bytes, not {value}")
    return value


def _arg_type(arg):
    if isinstance(arg, DeviceNDArray):
        return arg._hs_type
    cai = getattr(arg, "__cuda_array_interface__", None) if not isinstance(arg, np.ndarray) else None
    if cai is not None:
        return _devices.foreign_array(arg)._hs_type
    return hstypes.typeof(arg)


class Kernel:
    """A ``@cuda.jit`` kernel: ``kernel[blocks, threads](args)`` launches it."""

    def __init__(self, py_func, sigs, options):
        self.py_func = py_func
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func
        self.targetoptions = options
        self._source = None
        self._specs = {}  # argument types -> _core.CompiledKernel
        for sig in sigs:
            self.compile(sig)
        self._frozen = bool(sigs)

    def __repr__(self):
        return f"<hypersonic.cuda kernel {self.__qualname__}>"

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"launch the kernel {self.__qualname__} with a configuration: "
            f"{self.__name__}[blocks, threads_per_block](...)"
        )

    # -- compilation -----------------------------------------------------------

    def _source_info(self):
        if self._source is None:
            self._source = _resolve.source_info(self.py_func)
        return self._source

    def _core_options(self):
        o = self.targetoptions
        return {
            "fastmath": bool(o.get("fastmath")),
            "boundscheck": bool(o.get("boundscheck")),
            "error_model": o.get("error_model", "python"),
        }

    def compile(self, sig):
        """Compiles for a signature (``void(float32[:], float32[:])`` or a tuple of types)."""
        sig = hstypes.parse_signature(sig)
        if sig.return_type not in (None, hstypes.none):
            raise TypeError(f"a kernel returns nothing: declare it as void(...), not {sig}")
        args = tuple(sig.args)
        if args not in self._specs:
            self._specs[args] = _core.compile_kernel(
                self._source_info(), [str(a) for a in args], self._core_options()
            )
        return self._specs[args]

    def specialize(self, *args):
        """A kernel fixed to the types of ``args``."""
        types = tuple(_arg_type(a) for a in args)
        self.compile(types)
        k = Kernel.__new__(Kernel)
        k.__dict__.update(self.__dict__)
        k._specs = {types: self._specs[types]}
        k._frozen = True
        return k

    def _compiled_for(self, args):
        types = tuple(_arg_type(a) for a in args)
        ck = self._specs.get(types)
        if ck is not None:
            return ck
        if self._frozen:
            from ..dispatcher import _conversion_cost

            costs = ((_conversion_cost(types, sig), sig) for sig in self._specs)
            fits = [(cost, sig) for cost, sig in costs if cost is not None]
            if not fits:
                sigs = "\n".join(f"  {self.__qualname__}({', '.join(map(str, s))})" for s in self._specs)
                raise TypeError(
                    f"kernel {self.__qualname__} got arguments of types ({', '.join(map(str, types))}), "
                    f"which fit none of its signatures:\n{sigs}"
                )
            return self._specs[min(fits, key=lambda cs: cs[0])[1]]
        return self.compile(types)

    @property
    def signatures(self):
        return list(self._specs)

    def inspect_types(self, file=None):
        out = file or sys.stdout
        for args, ck in self._specs.items():
            print(f"{self.__qualname__} ({', '.join(map(str, args))})", file=out)
            print("-" * 80, file=out)
            print(ck.annotated_source, file=out)
            print("=" * 80, file=out)

    def inspect_asm(self, signature=None, cc=None):
        """PTX of each specialization, by argument types."""
        cc = cc or _devices.default_cc()
        if signature is not None:
            return self._specs[tuple(signature)].ptx(cc)
        return {args: ck.ptx(cc) for args, ck in self._specs.items()}

    def inspect_spirv(self, signature=None, subgroup_size=32):
        """SPIR-V (bytes, for ``spirv-dis``) of each specialization, for a Vulkan
        device with ``subgroup_size`` lanes."""
        if signature is not None:
            return self._specs[tuple(signature)].spirv(subgroup_size)
        return {args: ck.spirv(subgroup_size) for args, ck in self._specs.items()}

    def inspect_llvm(self, signature=None):
        """LLVM IR of the CPU fallback's block function (the compiled SIMT
        lowering), by argument types. (Numba returns NVVM IR here.)"""
        if signature is not None:
            return self._specs[tuple(signature)].cpu_code()
        return {args: ck.cpu_code() for args, ck in self._specs.items()}

    def inspect_cpu_asm(self, signature=None):
        """Host assembly of the CPU fallback's block function, by argument types."""
        if signature is not None:
            return self._specs[tuple(signature)].cpu_code("asm")
        return {args: ck.cpu_code("asm") for args, ck in self._specs.items()}

    def inspect_ir(self, signature=None):
        """Hypersonic's typed IR of each specialization, by argument types."""
        if signature is not None:
            return self._specs[tuple(signature)].ir
        return {args: ck.ir for args, ck in self._specs.items()}

    # -- launching -----------------------------------------------------------------

    def __getitem__(self, config):
        if not isinstance(config, tuple) or not 2 <= len(config) <= 4:
            raise ValueError(
                "a launch configuration is [blocks, threads_per_block] or "
                "[blocks, threads_per_block, stream, dynamic_shared_bytes]"
            )
        griddim, blockdim = config[0], config[1]
        stream = config[2] if len(config) > 2 else 0
        sharedmem = config[3] if len(config) > 3 else 0
        return _Launcher(self, _dims(griddim, "the grid"), _dims(blockdim, "the block"), stream,
                         _shared_bytes(sharedmem))

    def forall(self, ntasks, tpb=0, stream=0, sharedmem=0):
        """A launcher running at least ``ntasks`` threads in 1-D blocks."""
        tpb = int(tpb) or 128
        blocks = max(1, math.ceil(int(ntasks) / tpb))
        return _Launcher(self, _dims(blocks, "the grid"), _dims(tpb, "the block"), stream,
                         _shared_bytes(sharedmem))

    def _launch(self, grid, block, stream, sharedmem, args):
        device = _devices.device_of_stream(stream)
        ck = self._compiled_for(args)
        packed, copy_back = [], []
        for arg in args:
            packed.append(_devices.launch_argument(device, arg, stream, copy_back))
        _core.launch(ck, device._core, grid, block, sharedmem, _devices.core_stream(stream), tuple(packed))
        for device_array, host_array in copy_back:
            device_array.copy_to_host(host_array, stream=stream)


class _Launcher:
    def __init__(self, kernel, grid, block, stream, sharedmem):
        self.kernel, self.grid, self.block = kernel, grid, block
        self.stream, self.sharedmem = stream, sharedmem

    def __call__(self, *args):
        self.kernel._launch(self.grid, self.block, self.stream, self.sharedmem, args)
