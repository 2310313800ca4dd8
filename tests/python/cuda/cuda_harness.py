"""What the CUDA kernel tests share: ``cuda`` of the compiler under test, the
device fixture's helpers, and random inputs.

``BACKEND`` is ``"hypersonic"`` (default) or ``"numba"``
(``HYPERSONIC_TEST_AGAINST=numba``). Under Numba the suite runs on Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``), which stands in for the CPU device.
"""

import contextlib
import os

import numpy as np
import pytest

from kernels.gpu import MODULES, backend, backend_name, compiler, load  # noqa: F401

BACKEND = backend_name()
IS_NUMBA = BACKEND == "numba"
SIMULATOR = IS_NUMBA and os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "1"

cuda, njit = backend()
compiler_module = compiler()
int32, int64, uint32, uint64 = (compiler_module.int32, compiler_module.int64,
                                compiler_module.uint32, compiler_module.uint64)
float32, float64 = compiler_module.float32, compiler_module.float64

if IS_NUMBA:
    from numba.core.errors import TypingError
else:
    from hypersonic import TypingError  # noqa: F401

if SIMULATOR:
    from kernels.gpu import _simwarp

    _simwarp.install()

DEVICE_KINDS = ["cpu", "cuda", "vulkan"]  # every device kind; those absent are skipped
FULL_MASK = 0xFFFFFFFF


def hypersonic_only(reason):
    """Mark a test whose expectation Numba does not meet (skipped under Numba)."""
    return pytest.mark.hypersonic_only(reason)


def rng(seed):
    return np.random.default_rng(seed)


def random_array(shape, dtype, seed=0, low=None, high=None):
    """Random values of ``dtype``, never all zeros: ints in [low, high], floats in [low, high)."""
    r = rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        out = r.random(shape) < 0.5
        out.flat[0] = True
        return out
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = max(info.min, -100) if low is None else low
        hi = min(info.max, 100) if high is None else high
        out = r.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
        if out.size and not out.any():
            out.flat[0] = 1
        return out
    lo = -10.0 if low is None else low
    hi = 10.0 if high is None else high
    if dtype.kind == "c":
        return (r.uniform(lo, hi, shape) + 1j * r.uniform(lo, hi, shape)).astype(dtype)
    return r.uniform(lo, hi, shape).astype(dtype)


def blocks_for(n, tpb):
    return max(1, (n + tpb - 1) // tpb)


# -- choosing the device a test runs on ---------------------------------------------------

def _hypersonic_devices():
    import hypersonic

    return list(hypersonic.devices())


@contextlib.contextmanager
def on_device(kind):
    """Runs the body with kernels launching on a device of ``kind``; skips the
    test when there is none."""
    if IS_NUMBA:
        if kind == "cpu":
            if not SIMULATOR:
                pytest.skip("under Numba the CPU device is its CUDA simulator: set NUMBA_ENABLE_CUDASIM=1")
            yield kind
            return
        if kind != "cuda":
            pytest.skip("Numba has no Vulkan target")
        if SIMULATOR:
            pytest.skip("Numba's CUDA simulator runs the suite once, as the CPU device")
        if not cuda.is_available():
            pytest.skip("no CUDA GPU: numba.cuda.is_available() is False")
        yield kind
        return

    import hypersonic.cuda.devices as hdevices

    if kind == "cuda" and not cuda.is_available():
        pytest.skip("no CUDA GPU: hypersonic.cuda.is_available() is False")
    matches = [d for d in _hypersonic_devices() if d.kind == kind]
    if not matches:
        pytest.skip(f"no {kind} device among hypersonic.devices()")
    wanted = matches[0]
    previous = cuda.current_device()
    if previous == wanted:
        yield kind
        return
    # There is no public way to make the CPU current while a GPU is present
    # (except HYPERSONIC_DEVICE=cpu before the first launch): set the current
    # device for the duration of the test.
    hdevices._current = wanted
    try:
        yield kind
    finally:
        hdevices._current = previous


def device_ids(kind):
    return f"dev={kind}"
