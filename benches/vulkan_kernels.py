"""The @cuda.jit kernels of kernels/gpu on Vulkan (Mesa's lavapipe) against the CPU fallback,
and the SPIR-V path's compile time against the PTX path's, in one run (by hand, not by CI):

  * PTX: ``cuda.compile_ptx`` (cc 8.0) of every kernel the module's ``prepare`` launches,
    summed (front end + PTX; best of --ptx-reps calls);
  * SPIR-V: the Python package has no direct SPIR-V compile, so this is the first-launch
    overhead on the Vulkan device -- the first call of ``prepare``'s launcher minus the best of
    the next ones, on small inputs (the module's largest TEST_SIZE, which launches the same
    kernels as BENCH_SIZE) -- i.e. front end + SPIR-V + vkCreateComputePipelines (lavapipe
    compiling SPIR-V -> NIR -> LLVM -> x86). Best of --compile-runs fresh processes, each with
    Mesa's on-disk shader cache off (MESA_SHADER_CACHE_DISABLE=true; --mesa-cache keeps it);
    the same is measured on the CPU device (front end + the CPU SIMT lowering through LLVM),
    for information;
  * run time at BENCH_SIZE on ``HYPERSONIC_DEVICE=cpu`` and ``HYPERSONIC_DEVICE=vulkan``
    (one subprocess per device, so each picks its device at start): the kernel work alone
    (``prepare``: inputs already on the device, launches + ``cuda.synchronize()``) and,
    for information, end-to-end (``run``: copies in, allocation, launches, copy back);
    every result checked against NumPy.

    .venv/bin/python benches/vulkan_kernels.py [--reps N] [--only vector_add,scan]
                                              [--compile-runs N] [--mesa-cache]

Lavapipe is a CPU driver: the lavapipe/CPU column compares two CPU code generators (Mesa's
llvmpipe JIT against Hypersonic's SIMT lowering), not a GPU. Prints one table; no assertions.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (ROOT, HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from cuda_kernels import PTX_CC, best_time, ratio, seconds, table  # noqa: E402
from kernels.gpu import MODULES, load  # noqa: E402


def _error(e, width=80):
    first = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {first[:width]}"


def _kernel_functions(mod):
    """{id(function): function} of the module's kernels (not device functions)."""
    devfns = getattr(mod, "DEVICE_FUNCTIONS", set())
    return {id(f): f for key, (f, _) in mod.SIGNATURES.items() if key not in devfns}


def _spec_counts(mod):
    return {i: len(getattr(f, "_specs", {})) for i, f in _kernel_functions(mod).items()}


def _launched_keys(mod, before):
    """The SIGNATURES keys whose kernel got a new specialization since ``before``: the kernels
    ``prepare`` launched (compiled on first launch for the device arrays' types)."""
    after = _spec_counts(mod)
    grown = {i for i, n in after.items() if n > before.get(i, 0)}
    devfns = getattr(mod, "DEVICE_FUNCTIONS", set())
    return [k for k, (f, _) in mod.SIGNATURES.items() if k not in devfns and id(f) in grown]


def _device():
    from hypersonic import cuda

    dev = cuda.current_device()
    return {"kind": dev.kind, "name": dev.name, "index": dev.index}


# -- workers (subprocesses; HYPERSONIC_DEVICE chooses the device) --------------------------------

def compile_worker(names):
    """First-launch overhead per module on the current device, on small inputs."""
    out = {"device": _device(), "kernels": {}}
    for name in names:
        r = {}
        try:
            mod = load(name)
            small = mod.make_inputs(max(mod.TEST_SIZES), np.random.default_rng(7))
            want = mod.reference(*small)
            before = _spec_counts(mod)
            go = mod.prepare(*small)
            t0 = time.perf_counter()
            go()
            t_first = time.perf_counter() - t0
            ok = mod.check(go.result(), want)
            t_next = best_time(go, 3, min_total=0.05)
            r = {"first": t_first, "next": t_next, "overhead": max(0.0, t_first - t_next),
                 "launched": _launched_keys(mod, before), "ok": bool(ok)}
        except Exception as e:  # noqa: BLE001
            r = {"error": _error(e)}
        out["kernels"][name] = r
    print(json.dumps(out))


def run_worker(names, reps):
    """Kernel-only (prepare) and end-to-end (run) times at BENCH_SIZE on the current device."""
    out = {"device": _device(), "kernels": {}}
    for name in names:
        r = {}
        try:
            mod = load(name)
            big = mod.make_inputs(mod.BENCH_SIZE, np.random.default_rng(8))
            want = mod.reference(*big)
            go = mod.prepare(*big)
            go()  # compiles
            ok = mod.check(go.result(), want)
            r["kernel"] = best_time(go, reps)
            ok = ok and mod.check(go.result(), want)  # still right after repeated calls
            ok = ok and mod.check(mod.run(*big), want)
            r["e2e"] = best_time(lambda: mod.run(*big), reps)
            r["ok"] = bool(ok)
        except Exception as e:  # noqa: BLE001
            r["error"] = _error(e)
        out["kernels"][name] = r
        print(f"    {name} done", file=sys.stderr, flush=True)
    print(json.dumps(out))


def spawn(kind, device, names, args, extra_env=None):
    env = dict(os.environ)
    env["HYPERSONIC_DEVICE"] = device
    if not args.mesa_cache:
        env["MESA_SHADER_CACHE_DISABLE"] = "true"
    env.update(extra_env or {})
    cmd = [sys.executable, os.path.abspath(__file__), f"--worker={kind}", f"--only={','.join(names)}",
           f"--reps={args.reps}"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or [f"exit code {p.returncode}, no output"])[-1]
        return None, tail
    got = json.loads(lines[-1])
    if got["device"]["kind"] != device.split(":")[0]:
        return None, f"HYPERSONIC_DEVICE={device} gave a {got['device']['kind']} device"
    return got, None


def best_of_compiles(runs):
    """{module: the run with the least first-launch overhead} over several worker runs; its
    ``ok`` is whether every run's result was right."""
    per = {}
    for run in runs:
        for name, r in run["kernels"].items():
            per.setdefault(name, []).append(r)
    best = {}
    for name, rs in per.items():
        good = [r for r in rs if "error" not in r]
        if not good:
            best[name] = rs[0]
            continue
        best[name] = dict(min(good, key=lambda r: r["overhead"]),
                          ok=all(r.get("ok", False) for r in rs))
    return best


def ptx_times(names, launched, reps):
    """{module: (summed best compile_ptx time, error)} over the kernels ``launched[module]``."""
    from hypersonic import cuda

    out = {}
    for name in names:
        mod = load(name)
        keys = launched.get(name) or [k for k in mod.SIGNATURES
                                      if k not in getattr(mod, "DEVICE_FUNCTIONS", set())]
        total = 0.0
        try:
            for key in keys:
                func, sig = mod.SIGNATURES[key]
                best = float("inf")
                for _ in range(reps):
                    t0 = time.perf_counter()
                    cuda.compile_ptx(func.py_func, sig, cc=PTX_CC)
                    best = min(best, time.perf_counter() - t0)
                total += best
            out[name] = (total, keys, None)
        except Exception as e:  # noqa: BLE001
            out[name] = (None, keys, _error(e, 40))
    return out


# -- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5, help="timed calls per kernel (at least)")
    ap.add_argument("--only", default="")
    ap.add_argument("--worker", default="")
    ap.add_argument("--compile-runs", type=int, default=3,
                    help="fresh processes per device for the first-launch overhead (best of)")
    ap.add_argument("--ptx-reps", type=int, default=3)
    ap.add_argument("--mesa-cache", action="store_true",
                    help="keep Mesa's on-disk shader cache (default: off, a cold compile)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or MODULES

    if args.worker == "compile":
        return compile_worker(names)
    if args.worker == "run":
        return run_worker(names, args.reps)

    load_start = os.getloadavg()
    t_start = time.perf_counter()
    print(f"{os.cpu_count()} CPUs, load average {load_start[0]:.2f} at start; NumPy {np.__version__}",
          flush=True)

    compiles, errors = {"cpu": [], "vulkan": []}, {}
    for i in range(args.compile_runs):
        for device in ("cpu", "vulkan"):
            print(f"first launches on {device} ({i + 1}/{args.compile_runs}) ...", flush=True)
            got, err = spawn("compile", device, names, args)
            if got:
                compiles[device].append(got)
            else:
                errors[f"compile:{device}"] = err
    runs = {}
    for device in ("cpu", "vulkan"):
        print(f"kernel suite at BENCH_SIZE on {device} ...", flush=True)
        runs[device], err = spawn("run", device, names, args)
        if err:
            errors[f"run:{device}"] = err
    first = {d: best_of_compiles(c) for d, c in compiles.items()}
    launched = {n: r.get("launched") for n, r in first["vulkan"].items() if "launched" in r}
    print("cuda.compile_ptx ...", flush=True)
    ptx = ptx_times(names, launched, args.ptx_reps)
    load_end = os.getloadavg()

    for d in ("cpu", "vulkan"):
        info = (runs.get(d) or (compiles[d] or [None])[0] or {}).get("device")
        if info:
            print(f"  HYPERSONIC_DEVICE={d}: {info['kind']}:{info['index']} ({info['name']})")
    for k, v in errors.items():
        print(f"  {k} failed: {v}")
    print()

    rows = []
    for name in names:
        row = {"kernel": name}
        t_ptx, keys, perr = ptx[name]
        row["launched"] = ", ".join(keys)
        row["ptx"] = seconds(t_ptx) if perr is None else f"FAILED {perr}"
        checks = []
        spv = first["vulkan"].get(name, {})
        cpu_first = first["cpu"].get(name, {})
        if "overhead" in spv:
            row["spirv"] = seconds(spv["overhead"])
            row["spirv_vs_ptx"] = ratio(spv["overhead"], t_ptx, "{:.1f}x") if t_ptx else "-"
            checks.append(("vulkan small", spv["ok"]))
        else:
            row["spirv"] = f"FAILED {spv.get('error', '-')}"[:60]
        if "overhead" in cpu_first:
            row["cpu_first"] = seconds(cpu_first["overhead"])
            checks.append(("cpu small", cpu_first["ok"]))
        cpu = ((runs.get("cpu") or {}).get("kernels") or {}).get(name, {})
        lvp = ((runs.get("vulkan") or {}).get("kernels") or {}).get(name, {})
        row["size"] = load(name).BENCH_SIZE
        for key, r in (("cpu", cpu), ("lvp", lvp)):
            if "kernel" in r:
                row[f"{key}_kernel"] = seconds(r["kernel"])
                row[f"{key}_e2e"] = seconds(r.get("e2e"))
            if "ok" in r:
                checks.append((f"{key} bench", r["ok"]))
            elif "error" in r:
                row[f"{key}_kernel"] = f"FAILED {r['error']}"[:60]
        row["ratio"] = ratio(lvp.get("kernel"), cpu.get("kernel"), "{:.2f}x")
        row["e2e_ratio"] = ratio(lvp.get("e2e"), cpu.get("e2e"), "{:.2f}x")
        bad = [k for k, ok in checks if not ok]
        row["check"] = "WRONG: " + ", ".join(bad) if bad else ("ok" if checks else "-")
        rows.append(row)

    print(f"Compile: 'ptx' is cuda.compile_ptx (cc {PTX_CC[0]}.{PTX_CC[1]}; front end + PTX) of the "
          f"kernels listed, summed, best of {args.ptx_reps};")
    print("'spir-v + pipeline' is the first launch on lavapipe minus a later launch (front end + "
          "SPIR-V + vkCreateComputePipelines),")
    print(f"best of {args.compile_runs} fresh processes, Mesa shader cache "
          f"{'on' if args.mesa_cache else 'off'}; 'cpu first launch' is the same on the CPU device "
          "(front end + CPU SIMT via LLVM).")
    print("Run time at BENCH_SIZE ('size'): 'kernel' is prepare()'s launches on data already on "
          "the device; 'e2e' is run() (copies, allocation,")
    print(f"launches, copy back); best of >= {args.reps} calls. lavapipe is a CPU driver "
          "(llvmpipe), on the same cores as the CPU fallback.\n")
    table([("kernel", "kernel"), ("ptx", "ptx compile"), ("spirv", "spir-v + pipeline"),
           ("spirv_vs_ptx", "spir-v/ptx"), ("cpu_first", "cpu first launch"), ("size", "size"),
           ("cpu_kernel", "cpu kernel"), ("lvp_kernel", "lavapipe kernel"),
           ("ratio", "lavapipe/cpu"), ("cpu_e2e", "cpu e2e"), ("lvp_e2e", "lavapipe e2e"),
           ("e2e_ratio", "e2e lavapipe/cpu"), ("check", "check")], rows)
    print("Kernels compiled per module: " + "; ".join(f"{r['kernel']}: {r['launched']}" for r in rows))
    print(f"Load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end "
          f"({os.cpu_count()} CPUs; other work on the machine adds noise); "
          f"{time.perf_counter() - t_start:.0f} s in all.")


if __name__ == "__main__":
    main()
