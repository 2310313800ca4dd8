"""The CUDA kernel suite: written once with Numba's CUDA API and run on every
device present (``device`` fixture: "cpu", the compiled SIMT fallback, and
"cuda", an NVIDIA GPU, skipped when ``cuda.is_available()`` is False).

    .venv/bin/python -m pytest tests/python/cuda -q
    HYPERSONIC_TEST_AGAINST=numba NUMBA_ENABLE_CUDASIM=1 .venv/bin/python -m pytest tests/python/cuda -q

The second line checks the tests themselves against Numba's CUDA simulator
(which stands in for the CPU device; the warp functions it lacks come from
kernels/gpu/_simwarp.py). Tests marked ``hypersonic_only`` are skipped there.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
for path in (HERE, ROOT):  # cuda_harness.py, and the kernels/ package
    if path not in sys.path:
        sys.path.insert(0, path)

from cuda_harness import DEVICE_KINDS, on_device  # noqa: E402


@pytest.fixture(params=DEVICE_KINDS, ids=lambda kind: kind)
def device(request):
    """The kind of device ("cpu" or "cuda") the test's kernels launch on."""
    with on_device(request.param) as kind:
        yield kind
