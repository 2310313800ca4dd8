"""cuda.compile_ptx on every kernel and device function of kernels/gpu, for
sm_70, sm_80 and sm_90, assembled by ptxas from the nvidia-cuda-nvcc-cu12 wheel
(no GPU needed). If ptxas is missing these tests fail: CI installs the wheel."""

import os
import shutil
import site
import subprocess
import sys
import tempfile

import pytest

from cuda_harness import MODULES, cuda, float32, hypersonic_only, load

pytestmark = hypersonic_only("compile_ptx without NVVM is Hypersonic's")

CCS = [(7, 0), (8, 0), (9, 0)]


def find_ptxas():
    """ptxas from the nvidia-cuda-nvcc-cu12 wheel (or, failing that, on PATH)."""
    bases = list(sys.path)
    try:
        bases += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:  # pragma: no cover - virtualenv without site functions
        pass
    for base in bases:
        candidate = os.path.join(base, "nvidia", "cuda_nvcc", "bin", "ptxas")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("ptxas")


def assemble(ptx, cc):
    ptxas = find_ptxas()
    if ptxas is None:
        pytest.fail("ptxas not found: `pip install nvidia-cuda-nvcc-cu12` (CI installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernel.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        arch = f"sm_{cc[0]}{cc[1]}"
        proc = subprocess.run([ptxas, "--gpu-name", arch, path, "-o", os.devnull],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"ptxas --gpu-name {arch} failed:\n{proc.stderr}\n--- PTX ---\n{ptx}"


def entries():
    out = []
    for name in MODULES:
        mod = load(name)
        device_functions = getattr(mod, "DEVICE_FUNCTIONS", set())
        for fname, (func, sig) in mod.SIGNATURES.items():
            out.append((name, fname, fname in device_functions))
    return out


ENTRIES = entries()


@pytest.mark.parametrize("cc", CCS, ids=lambda cc: f"sm_{cc[0]}{cc[1]}")
@pytest.mark.parametrize("module,name,is_device", ENTRIES, ids=[f"{m}.{n}" for m, n, _ in ENTRIES])
def test_ptx_assembles(module, name, is_device, cc):
    func, sig = load(module).SIGNATURES[name]
    ptx, resty = cuda.compile_ptx(func.py_func, sig, cc=cc, device=is_device)
    assert isinstance(ptx, str) and ptx
    assert f".target sm_{cc[0]}{cc[1]}" in ptx
    if is_device:
        assert ".func" in ptx
    else:
        assert ".entry" in ptx
        assert str(resty) in ("none", "void")
    assemble(ptx, cc)


def test_kernel_returns_none_type():
    mod = load("vector_add")
    func, sig = mod.SIGNATURES["vector_add"]
    ptx, resty = cuda.compile_ptx(func.py_func, sig)  # cc defaults to (8, 0)
    from hypersonic import types

    assert resty == types.none
    assert ".entry" in ptx and "vector_add" in ptx
    assert ".target sm_80" in ptx


def add_f32(a, b):
    return a + b


def test_device_function_returns_its_type():
    ptx, resty = cuda.compile_ptx(add_f32, "float32(float32, float32)", device=True, cc=(8, 0))
    assert resty == float32
    assert ".func" in ptx and ".entry" not in ptx
    assemble(ptx, (8, 0))


def test_device_function_infers_its_return_type():
    ptx, resty = cuda.compile_ptx(add_f32, (float32, float32), device=True)
    assert resty == float32


def test_compile_ptx_accepts_a_kernel_object():
    mod = load("grid_stride")
    func, sig = mod.SIGNATURES["saxpy"]
    ptx, _ = cuda.compile_ptx(func, sig, cc=(7, 0))
    assert ".entry" in ptx
    assemble(ptx, (7, 0))


import math as _math  # noqa: E402


def exp_sin(x, out):
    i = cuda.grid(1)
    if i < out.shape[0]:
        out[i] = _math.exp(x[i]) + _math.sin(x[i]) + _math.pow(x[i], 1.5)


@pytest.mark.parametrize("ty", ["float32", "float64"])
def test_math_links_libdevice(ty):
    ptx, _ = cuda.compile_ptx(exp_sin, f"void({ty}[:], {ty}[:])", cc=(8, 0))
    assert "__nv_" not in ptx or ".func" in ptx  # libdevice is linked in, not left external
    assert ".extern .func __nv_" not in ptx
    assemble(ptx, (8, 0))


def test_fastmath_option():
    ptx, _ = cuda.compile_ptx(exp_sin, "void(float32[:], float32[:])", fastmath=True, cc=(8, 0))
    assemble(ptx, (8, 0))


def test_bad_signature_raises():
    with pytest.raises((TypeError, ValueError)):
        cuda.compile_ptx(add_f32, "float32(float32, not_a_type)", device=True)


def test_ptxas_is_present():
    assert find_ptxas() is not None, "ptxas not found: pip install nvidia-cuda-nvcc-cu12"


@hypersonic_only
def test_inspect_spirv_passes_spirv_val(tmp_path):
    """The SPIR-V of a kernel, for 32- and 8-lane subgroups, is valid for Vulkan 1.2."""
    import shutil
    import subprocess

    spirv_val = shutil.which("spirv-val")
    assert spirv_val, "spirv-val not found: install Debian's spirv-tools (ci/common.sh does)"

    @cuda.jit("void(float32[:], float32[:])")
    def warp_sum(a, out):
        i = cuda.grid(1)
        v = a[i] if i < a.shape[0] else 0.0
        for off in (16, 8, 4, 2, 1):
            v += cuda.shfl_down_sync(0xFFFFFFFF, v, off)
        if cuda.laneid == 0:
            cuda.atomic.add(out, 0, v)

    for lanes in (32, 8):
        words = warp_sum.inspect_spirv(subgroup_size=lanes)
        (blob,) = words.values()
        path = tmp_path / f"k{lanes}.spv"
        path.write_bytes(blob)
        r = subprocess.run([spirv_val, "--target-env", "vulkan1.2", str(path)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
