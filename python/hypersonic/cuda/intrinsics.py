"""The names kernels use: ``cuda.threadIdx``, ``cuda.grid``, ``cuda.shared.array``,
``cuda.atomic.add``... They only mean something inside compiled kernels, where
the compiler knows each by its qualified name (``hypersonic.cuda.shared.array``);
called from plain Python, they say so."""

from __future__ import annotations


class Intrinsic:
    """A name with a meaning in compiled kernels only."""

    def __init__(self, qualname: str):
        self._hs_qualname = qualname

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            f"{self._hs_qualname.replace('hypersonic.', '')}() can only be called inside a "
            "@cuda.jit kernel or device function"
        )

    def __repr__(self):
        return f"<hypersonic kernel intrinsic {self._hs_qualname}>"


class Namespace(Intrinsic):
    """``cuda.threadIdx`` (with ``.x``, ``.y``, ``.z``), ``cuda.shared`` (with
    ``.array``), ``cuda.atomic`` (with ``.add``...)."""

    def __init__(self, qualname: str, members):
        super().__init__(qualname)
        for m in members:
            setattr(self, m, Intrinsic(f"{qualname}.{m}"))

    def __getattr__(self, name):
        raise AttributeError(f"{self._hs_qualname.replace('hypersonic.', '')} has no attribute {name!r}")


_XYZ = ("x", "y", "z")
threadIdx = Namespace("hypersonic.cuda.threadIdx", _XYZ)
blockIdx = Namespace("hypersonic.cuda.blockIdx", _XYZ)
blockDim = Namespace("hypersonic.cuda.blockDim", _XYZ)
gridDim = Namespace("hypersonic.cuda.gridDim", _XYZ)
shared = Namespace("hypersonic.cuda.shared", ("array",))
local = Namespace("hypersonic.cuda.local", ("array",))
const = Namespace("hypersonic.cuda.const", ("array_like",))
atomic = Namespace(
    "hypersonic.cuda.atomic",
    ("add", "sub", "max", "min", "and_", "or_", "xor", "exch", "inc", "dec", "cas",
     "compare_and_swap"),
)

_FUNCTIONS = (
    "grid", "gridsize", "syncthreads", "syncthreads_count", "syncthreads_and", "syncthreads_or",
    "threadfence", "threadfence_block", "threadfence_system", "syncwarp", "shfl_sync",
    "shfl_up_sync", "shfl_down_sync", "shfl_xor_sync", "ballot_sync", "all_sync", "any_sync",
    "activemask", "fma", "popc", "clz", "ffs", "brev", "laneid",
)
globals().update({name: Intrinsic(f"hypersonic.cuda.{name}") for name in _FUNCTIONS})

warpsize = 32

__all__ = ["threadIdx", "blockIdx", "blockDim", "gridDim", "shared", "local", "const", "atomic",
           "warpsize", *_FUNCTIONS]
