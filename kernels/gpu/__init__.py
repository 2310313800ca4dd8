"""GPU kernels written with Numba's CUDA API (``@cuda.jit``).

Each module defines its kernels at module level with ``cuda`` bound to
``hypersonic.cuda`` (or to ``numba.cuda`` when ``HYPERSONIC_TEST_AGAINST=numba``,
which is how the test suite checks itself against Numba's CUDA simulator), and:

- ``SIGNATURES``: ``{name: (kernel or device function, explicit signature)}``,
  every compiled function of the module, for ``cuda.compile_ptx``;
- ``make_inputs(size, rng)``: a tuple of host NumPy inputs (random, never zeros);
- ``run(*inputs)``: copies the inputs to the current device, launches, returns
  the result on the host;
- ``prepare(*inputs)``: copies the inputs to the device and allocates every
  device array once, and returns a zero-argument callable that only launches the
  kernel(s) on them and waits (``cuda.synchronize()``): the kernel work alone,
  for timing. Calling it again repeats the same work on the same data; its
  ``result()`` copies the result of the last call to the host (what ``run``
  returns);
- ``reference(*inputs)``: the same result computed with NumPy;
- ``check(got, want)``: whether they agree;
- ``TEST_SIZES``, ``DEMO_SIZE``, ``BENCH_SIZE`` and ``SIM_SIZE`` (small: for
  Numba's simulator, which runs one Python thread per CUDA thread).

``load(name, backend)`` imports a module once more with the other compiler's
``cuda`` (the benchmarks compare both in one process).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

MODULES = [
    "vector_add", "matmul", "reduction", "histogram", "scan", "stencil2d",
    "monte_carlo_pi", "dynamic_shared", "device_functions", "grid_stride",
]

_forced = None


def backend_name() -> str:
    """``"numba"`` when ``HYPERSONIC_TEST_AGAINST=numba``, else ``"hypersonic"``."""
    return "numba" if os.environ.get("HYPERSONIC_TEST_AGAINST", "hypersonic") == "numba" else "hypersonic"


def backend():
    """``(cuda, njit)`` of the compiler the kernels are compiled with."""
    name = _forced or backend_name()
    if name == "numba":
        import numba
        from numba import cuda

        return cuda, numba.njit
    import hypersonic
    from hypersonic import cuda

    return cuda, hypersonic.njit


def compiler():
    """The compiler module itself (``hypersonic`` or ``numba``): for its scalar
    types, e.g. ``compiler().float32``."""
    if (_forced or backend_name()) == "numba":
        import numba

        return numba
    import hypersonic

    return hypersonic


def load(name: str, backend: str | None = None):
    """``kernels.gpu.<name>`` compiled with ``backend`` ("hypersonic" or "numba")."""
    if backend is None or backend == backend_name():
        return importlib.import_module(f"kernels.gpu.{name}")
    global _forced
    modname = f"kernels.gpu.{name}__{backend}"
    if modname in sys.modules:
        return sys.modules[modname]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    _forced = backend
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[modname]
        raise
    finally:
        _forced = None
    return mod


def launcher(cuda, launch, result):
    """The callable ``prepare`` returns: ``launch()`` then ``cuda.synchronize()``;
    its ``.result()`` is ``result()``."""

    def go():
        launch()
        cuda.synchronize()

    go.result = result
    return go


def blocks_for(n: int, tpb: int) -> int:
    """Blocks of ``tpb`` threads that cover ``n`` elements."""
    return max(1, (int(n) + tpb - 1) // tpb)
