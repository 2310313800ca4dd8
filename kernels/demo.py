"""Compile and run every example kernel, check it against the plain Python function,
and print timings next to plain Python's.

    python kernels/demo.py            # what ci/demo.sh runs
    python kernels/demo.py --quick    # small inputs
    python kernels/demo.py --host     # only the @njit kernels
    python kernels/demo.py --gpu      # only the @cuda.jit kernels (kernels/gpu)

The GPU part runs the @cuda.jit kernels of kernels/gpu on the best device present
(a CUDA GPU, else the CPU through compiled SIMT code), says which, and checks
each result against NumPy.

Exits with status 1 if any kernel gives a wrong result or fails.
"""

import importlib
import os
import sys
import time
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from kernels import MODULES  # noqa: E402


def seconds(t):
    if t >= 1.0:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} us"


def summary(value):
    if isinstance(value, tuple):
        return summary(value[0])
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{list(value.shape)} sum={value.sum():.6g}"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def steady_time(fn, min_total=0.2, max_reps=50):
    """Best of several runs, for at least ``min_total`` seconds (at most ``max_reps``)."""
    best = float("inf")
    start = time.perf_counter()
    reps = 0
    while reps < 3 or (time.perf_counter() - start < min_total and reps < max_reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return best


def run_one(name, quick):
    mod = importlib.import_module(f"kernels.{name}")
    kernel = mod.KERNEL
    size = mod.TEST_SIZE if quick else mod.DEMO_SIZE
    args = mod.make_inputs(size, np.random.default_rng(2024))

    t0 = time.perf_counter()
    got = mod.compute(kernel, args)
    first = time.perf_counter() - t0
    steady = steady_time(lambda: mod.compute(kernel, args))

    t0 = time.perf_counter()
    want = mod.compute(getattr(mod, "PLAIN", kernel.py_func), args)
    plain = time.perf_counter() - t0

    ok = mod.check(got, want)
    return {
        "kernel": name, "device": "cpu", "size": size, "first": seconds(first),
        "steady": seconds(steady), "python": seconds(plain),
        "speedup": f"{plain / steady:,.0f}x" if steady > 0 else "-",
        "result": summary(got), "check": "ok" if ok else "WRONG",
    }, ok


def print_table(columns, rows):
    widths = {k: max(len(title), *(len(str(r.get(k, ""))) for r in rows)) for k, title in columns}
    print()
    print("  ".join(title.ljust(widths[k]) for k, title in columns))
    print("  ".join("-" * widths[k] for k, _ in columns))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k, _ in columns))
    print()


# -- GPU kernels (kernels/gpu), on the best device present ------------------------------------

def run_gpu_one(name, quick, device):
    from kernels.gpu import load

    mod = load(name)
    size = mod.TEST_SIZES[-1] if quick else mod.DEMO_SIZE
    if device == "numba-simulator":
        size = mod.SIM_SIZE
    inputs = mod.make_inputs(size, np.random.default_rng(2024))

    t0 = time.perf_counter()
    got = mod.run(*inputs)
    first = time.perf_counter() - t0
    steady = steady_time(lambda: mod.run(*inputs), min_total=0.2, max_reps=10)

    t0 = time.perf_counter()
    want = mod.reference(*inputs)
    numpy_time = time.perf_counter() - t0

    ok = bool(mod.check(got, want))
    return {
        "kernel": name, "device": device, "size": size, "first": seconds(first),
        "steady": seconds(steady), "numpy": seconds(numpy_time),
        "ratio": f"{numpy_time / steady:,.1f}x" if steady > 0 else "-",
        "result": summary(got if not isinstance(got, (int, np.integer)) else int(got)),
        "check": "ok" if ok else "WRONG",
    }, ok


def gpu_device():
    """("kind:index", description) of the device the kernels launch on."""
    from kernels.gpu import backend_name

    if backend_name() == "numba":  # HYPERSONIC_TEST_AGAINST=numba: checking the demo itself
        from kernels.gpu import _simwarp

        _simwarp.install()
        return "numba-simulator", "Numba's CUDA simulator (HYPERSONIC_TEST_AGAINST=numba)"
    from hypersonic import cuda

    dev = cuda.current_device()
    how = ("an NVIDIA GPU" if dev.kind == "cuda"
           else "the CPU, through compiled SIMT code (no CUDA GPU found)")
    return f"{dev.kind}:{dev.index}", f"{dev.name!r}: {how}"


def gpu_main(quick):
    from kernels.gpu import MODULES as GPU_MODULES

    try:
        device, how = gpu_device()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("FAILED: no device to run the GPU kernels on")
        return 1
    print(f"GPU kernels (@cuda.jit) run on {device} {how}", flush=True)
    columns = [("kernel", "kernel"), ("device", "device"), ("size", "size"),
               ("first", "first launch (compile+run)"), ("steady", "steady state"),
               ("numpy", "NumPy"), ("ratio", "NumPy / steady"), ("result", "result"),
               ("check", "check")]
    rows, failures = [], []
    for name in GPU_MODULES:
        try:
            row, ok = run_gpu_one(name, quick, device)
        except Exception:  # noqa: BLE001 - report every kernel, then fail
            traceback.print_exc()
            row = {"kernel": name, "device": device, "check": "FAILED"}
            ok = False
        rows.append(row)
        if not ok:
            failures.append(name)
        print(f"  {name}: {row['check']}", flush=True)
    print_table(columns, rows)
    print("steady state includes copies to and from the device; NumPy computes the reference.")
    if failures:
        print(f"FAILED on {device}: {', '.join(failures)}")
        return 1
    print(f"all GPU kernel results match NumPy on {device}")
    return 0


def main(argv):
    quick = "--quick" in argv
    host = "--gpu" not in argv or "--host" in argv
    gpu = "--host" not in argv or "--gpu" in argv
    status = host_main(quick) if host else 0
    if gpu:
        print()
        status = gpu_main(quick) or status
    return status


def host_main(quick):
    columns = [("kernel", "kernel"), ("device", "device"), ("size", "size"),
               ("first", "first call (compile+run)"), ("steady", "steady state"),
               ("python", "plain Python"), ("speedup", "speed-up"), ("result", "result"),
               ("check", "check")]
    rows, failures = [], []
    for name in MODULES:
        try:
            row, ok = run_one(name, quick)
        except Exception:  # noqa: BLE001 - report every kernel, then fail
            traceback.print_exc()
            row = {"kernel": name, "device": "cpu", "check": "FAILED"}
            ok = False
        rows.append(row)
        if not ok:
            failures.append(name)
        print(f"  {name}: {row['check']}", flush=True)

    widths = {k: max(len(title), *(len(str(r.get(k, ""))) for r in rows)) for k, title in columns}
    print()
    print("  ".join(title.ljust(widths[k]) for k, title in columns))
    print("  ".join("-" * widths[k] for k, _ in columns))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k, _ in columns))
    print()
    print("speed-up = plain Python time / steady-state time.")
    if failures:
        print(f"FAILED: {', '.join(failures)}")
        return 1
    print("all results match plain Python")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
