"""The @cuda.jit kernels of kernels/gpu, measured in one run (by hand, not by CI):

  * Hypersonic's CPU fallback (compiled SIMT code) against Numba's CUDA simulator
    (``NUMBA_ENABLE_CUDASIM=1``, in a subprocess, on small inputs because the
    simulator runs one Python thread per CUDA thread) -- target: >= 1000x faster;
  * the CPU fallback against the same algorithm written with ``@njit(parallel=True)``
    and ``prange`` in Numba, on large inputs -- target: within 1.5x;
  * ``cuda.compile_ptx`` time against numba-cuda's (which needs NVVM: taken from the
    ``nvidia-cuda-nvcc-cu12`` wheel when no CUDA toolkit is installed), each in a fresh
    process compiling every function in turn -- target: <= 1/10;
  * registers and spills reported by ``ptxas -v`` (sm_80) for our PTX and Numba's.

    .venv/bin/python benches/cuda_kernels.py [--reps N] [--only vector_add,scan] [--no-sim] [--no-ptx]

Against njit the table shows the kernel work alone (each module's ``prepare``: inputs
already on the device, outputs allocated once; launches and ``cuda.synchronize()``)
-- the target column -- next to the njit version doing the same work in place on
preallocated host arrays; and, for information, the end-to-end time of ``run``
(copies to and from the device, allocation, launches). Prints tables; no assertions.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from kernels.gpu import MODULES, load  # noqa: E402

PTX_CC = (8, 0)


def best_time(fn, reps, min_total=0.3):
    best = float("inf")
    start = time.perf_counter()
    n = 0
    while n < reps or (time.perf_counter() - start < min_total and n < 10 * reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        n += 1
    return best


def seconds(t):
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "-"
    if t >= 1.0:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.0f} us"


def ratio(a, b, fmt="{:,.1f}x"):
    if a is None or b is None or b == 0:
        return "-"
    return fmt.format(a / b)


def table(columns, rows):
    widths = {k: max(len(t), *(len(str(r.get(k, ""))) for r in rows)) for k, t in columns}
    print("  ".join(t.ljust(widths[k]) for k, t in columns))
    print("  ".join("-" * widths[k] for k, _ in columns))
    for r in rows:
        print("  ".join(str(r.get(k, "")).ljust(widths[k]) for k, _ in columns))
    print()


def find_ptxas():
    for base in sys.path:
        candidate = os.path.join(base, "nvidia", "cuda_nvcc", "bin", "ptxas")
        if os.path.isfile(candidate):
            return candidate
    import shutil

    return shutil.which("ptxas")


def ptxas_usage(ptx, cc=PTX_CC):
    """{function: (registers, spill stores + loads in bytes)} from ``ptxas -v``."""
    ptxas = find_ptxas()
    if ptxas is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        p = subprocess.run([ptxas, "-v", "--gpu-name", f"sm_{cc[0]}{cc[1]}", path, "-o", os.devnull],
                           capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "ptxas failed"}
    usage, current = {}, None
    for line in p.stderr.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'|Function properties for (\S+)", line)
        if m:
            current = m.group(1) or m.group(2)
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and current:
            regs, _ = usage.get(current, (None, 0))
            usage[current] = (regs, int(m.group(1)) + int(m.group(2)))
        m = re.search(r"Used (\d+) registers", line)
        if m and current:
            _, spills = usage.get(current, (None, 0))
            usage[current] = (int(m.group(1)), spills)
    return usage


def summarize_usage(usage):
    """(max registers, total spill bytes) over the functions of one PTX module."""
    if not usage or "error" in usage:
        return None, None
    regs = [r for r, _ in usage.values() if r is not None]
    return (max(regs) if regs else None), sum(s for _, s in usage.values())


# -- the same algorithms with @njit(parallel=True) + prange ----------------------------------------
#
# Each entry of ``njit_versions()`` is, like a kernel module's ``prepare``, a function of the
# inputs that allocates its outputs and scratch once and returns a zero-argument callable doing
# the work alone (in place, on host arrays) with ``.result()`` for checking. So the "kernel" column
# compares the kernels' work with the same work done by Numba's parallel CPU code. Where the
# algorithms differ, the comment on each says how.

def _prepared(run, result):
    run.result = result
    return run


def njit_versions():
    import numba
    from numba import njit, prange

    threads = numba.get_num_threads()

    @njit(parallel=True)
    def vector_add(a, b, out):
        for i in prange(a.shape[0]):
            out[i] = a[i] + b[i]

    def prep_vector_add(a, b):
        out = np.empty_like(a)
        return _prepared(lambda: vector_add(a, b, out), lambda: out)

    # The kernel (tiled, or naive) computes each C[i, j] as a dot product; the CPU's natural order
    # is i-k-j (rows of C in parallel, the j loop vectorised): the same 2nk·m flops.
    @njit(parallel=True)
    def matmul(A, B, C):
        n, k = A.shape
        m = B.shape[1]
        for i in prange(n):
            for j in range(m):
                C[i, j] = 0.0
            for kk in range(k):
                a = A[i, kk]
                for j in range(m):
                    C[i, j] += a * B[kk, j]

    def prep_matmul(A, B):
        C = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
        return _prepared(lambda: matmul(A, B, C), lambda: C)

    # The kernel sums in blocks of 256 (tree in shared memory), then sums the partial sums the
    # same way; prange's reduction sums each thread's range, then the threads' sums: the same
    # loads and adds, float32 values summed in float64.
    @njit(parallel=True)
    def reduction(a):
        s = 0.0
        for i in prange(a.shape[0]):
            s += a[i]
        return s

    def prep_reduction(a):
        box = [None]

        def go():
            box[0] = reduction(a)

        return _prepared(go, lambda: box[0])

    # The kernel privatises a histogram per block (atomics in shared memory), merged with one
    # atomic per bin; here one private histogram per chunk (plain increments), merged serially.
    @njit(parallel=True)
    def histogram(data, per, out):
        chunks = per.shape[0]
        size = (data.shape[0] + chunks - 1) // chunks
        for c in prange(chunks):
            for b in range(per.shape[1]):
                per[c, b] = 0
            for i in range(c * size, min(data.shape[0], (c + 1) * size)):
                per[c, data[i]] += 1
        for b in range(out.shape[0]):
            out[b] = 0
        for c in range(chunks):
            for b in range(out.shape[0]):
                out[b] += per[c, b]

    def prep_histogram(data):
        per = np.zeros((threads * 4, 256), dtype=np.int32)
        out = np.zeros(256, dtype=np.int32)
        return _prepared(lambda: histogram(data, per, out), lambda: out)

    # The kernels: a block scan (warp shuffles; reads a, writes out), a recursive scan of the
    # blocks' totals, and a pass adding each block's offset (reads and writes out). Here: a scan
    # of each chunk (reads a, writes out), a serial scan of the chunks' totals, and a pass adding
    # the offsets (reads and writes out): the same memory traffic; the kernels add more (log2 32
    # shuffle steps per element), which is inherent to the GPU algorithm.
    @njit(parallel=True)
    def scan(a, out, totals, offsets):
        n = a.shape[0]
        chunks = totals.shape[0]
        size = (n + chunks - 1) // chunks
        for c in prange(chunks):
            s = 0
            for i in range(c * size, min(n, (c + 1) * size)):
                s += a[i]
                out[i] = s
            totals[c] = s
        offsets[0] = 0
        for c in range(1, chunks):
            offsets[c] = offsets[c - 1] + totals[c - 1]
        for c in prange(1, chunks):
            off = offsets[c]
            for i in range(c * size, min(n, (c + 1) * size)):
                out[i] += off

    def prep_scan(a):
        out = np.empty(a.shape[0], dtype=np.int64)
        totals = np.zeros(threads * 4, dtype=np.int64)
        offsets = np.zeros(threads * 4, dtype=np.int64)
        return _prepared(lambda: scan(a, out, totals, offsets), lambda: out)

    # As the kernel (and its prepare): the first sweep reads u, the next ones ping-pong between
    # two buffers; the edges are copied on each sweep as the kernel does.
    @njit(parallel=True)
    def stencil2d(u, bufs, steps):
        alpha = np.float32(0.2)
        n, m = u.shape
        for s in range(steps):
            src = u if s == 0 else bufs[(s - 1) % 2]
            dst = bufs[s % 2]
            for i in prange(n):
                if i == 0 or i == n - 1:
                    for j in range(m):
                        dst[i, j] = src[i, j]
                else:
                    dst[i, 0] = src[i, 0]
                    for j in range(1, m - 1):
                        dst[i, j] = src[i, j] + alpha * (src[i - 1, j] + src[i + 1, j] + src[i, j - 1]
                                                         + src[i, j + 1] - 4.0 * src[i, j])
                    dst[i, m - 1] = src[i, m - 1]

    def prep_stencil2d(u, steps):
        bufs = np.empty((2,) + u.shape, dtype=u.dtype)
        last = u if steps == 0 else bufs[(steps - 1) % 2]
        return _prepared(lambda: stencil2d(u, bufs, steps), lambda: last)

    # Per thread, the same generator and test; the kernel also sums its block's counts in shared
    # memory (a tree) and adds one atomic per block: here prange's reduction.
    @njit(parallel=True)
    def monte_carlo_pi(seed, samples, blocks):
        mask = 0xFFFFFFFF
        n = blocks * 128
        total = 0
        for tid in prange(n):
            s = ((seed & mask) * 2654435761 + (tid & mask) * 2246822519 + 12345) & mask
            s |= 1
            for _ in range(2):
                s ^= (s << 13) & mask
                s ^= s >> 17
                s ^= (s << 5) & mask
            if s == 0:
                s = 1
            inside = 0
            for _ in range(samples):
                s ^= (s << 13) & mask
                s ^= s >> 17
                s ^= (s << 5) & mask
                x = s >> 8
                s ^= (s << 13) & mask
                s ^= s >> 17
                s ^= (s << 5) & mask
                y = s >> 8
                if x * x + y * y < 281474976710656:
                    inside += 1
            total += inside
        return total

    def prep_monte_carlo_pi(seed, samples, blocks):
        box = [None]

        def go():
            box[0] = int(monte_carlo_pi(seed, samples, blocks))

        return _prepared(go, lambda: box[0])

    # The kernel stages each chunk in (dynamic) shared memory and writes it back reversed; here
    # straight from input to output (no staging copy).
    @njit(parallel=True)
    def dynamic_shared(a, tpb, out):
        n = a.shape[0]
        for c in prange((n + tpb - 1) // tpb):
            start = c * tpb
            valid = min(tpb, n - start)
            for t in range(valid):
                out[start + t] = a[start + valid - 1 - t]

    def prep_dynamic_shared(a, tpb):
        out = np.empty_like(a)
        return _prepared(lambda: dynamic_shared(a, tpb, out), lambda: out)

    @njit(parallel=True)
    def device_functions(x, y, out):
        for i in prange(x.shape[0]):
            r = math.sqrt(x[i] * x[i] + y[i] * y[i])
            theta = math.atan2(y[i], x[i])
            t = min(max((r - 0.25) / (2.0 - 0.25), 0.0), 1.0)
            out[i] = t * t * (3.0 - 2.0 * t) * math.cos(theta) + 1.0 / (1.0 + r * r)

    def prep_device_functions(x, y):
        out = np.empty_like(x)
        return _prepared(lambda: device_functions(x, y, out), lambda: out)

    # The kernel's 512 threads each take every 512th element; prange gives each core a
    # contiguous range: the same elements and arithmetic, a different order.
    @njit(parallel=True)
    def grid_stride(a, x, y, out):
        for i in prange(x.shape[0]):
            out[i] = a * x[i] + y[i]

    def prep_grid_stride(a, x, y):
        out = np.empty_like(x)
        return _prepared(lambda: grid_stride(a, x, y, out), lambda: out)

    return {
        "vector_add": prep_vector_add, "matmul": prep_matmul, "reduction": prep_reduction,
        "histogram": prep_histogram, "scan": prep_scan, "stencil2d": prep_stencil2d,
        "monte_carlo_pi": prep_monte_carlo_pi, "dynamic_shared": prep_dynamic_shared,
        "device_functions": prep_device_functions, "grid_stride": prep_grid_stride,
    }


# Other kernels of a module, measured the same way (kernel only) against the same njit version.
VARIANTS = {
    "matmul": [("matmul (naive)", lambda mod, *inp: mod.prepare_kernel(mod.matmul_naive, *inp))],
    "histogram": [("histogram (global)",
                   lambda mod, *inp: mod.prepare_kernel(mod.histogram_global, *inp))],
}


# -- workers (subprocesses) ---------------------------------------------------------------------

def simulator_worker(names):
    """Under NUMBA_ENABLE_CUDASIM=1: one timed run per kernel at SIM_SIZE."""
    from kernels.gpu import _simwarp

    _simwarp.install()
    out = {}
    for name in names:
        mod = load(name)
        inputs = mod.make_inputs(mod.SIM_SIZE, np.random.default_rng(7))
        mod.run(*inputs)  # warm up the simulator's own caches
        t0 = time.perf_counter()
        got = mod.run(*inputs)
        out[name] = {"time": time.perf_counter() - t0, "ok": bool(mod.check(got, mod.reference(*inputs)))}
    print(json.dumps(out))


def numba_ptx_worker(names):
    """numba-cuda's compile_ptx on every entry of SIGNATURES, with its times and PTX."""
    from numba import cuda
    from numba.cuda.cudadrv import nvvm

    try:  # no libcudart here: NVVM alone compiles, but numba asks cudart which ccs it supports
        nvvm.get_supported_ccs()
        if not nvvm.get_supported_ccs():
            nvvm.get_supported_ccs = lambda: nvvm.ccs_supported_by_ctk((12, 9))
            if hasattr(nvvm, "_supported_cc"):
                nvvm._supported_cc = None
    except Exception:  # noqa: BLE001
        pass
    # Device functions called from a kernel are compiled for the current device's cc,
    # and there is no device here: answer for the cc we compile for.
    import numba.cuda.dispatcher as dispatcher

    class _NoDevice:
        compute_capability = PTX_CC

    dispatcher.get_current_device = lambda: _NoDevice()
    print(json.dumps(compile_all(cuda, names)))


def hs_ptx_worker(names):
    """Hypersonic's compile_ptx, measured as numba_ptx_worker measures Numba's: in a fresh
    process, every function in turn, the first one carrying the first-use set-up."""
    from hypersonic import cuda

    print(json.dumps(compile_all(cuda, names)))


def compile_all(cuda, names):
    """{"module.function": {"time", "ptx"} or {"error"}} for every entry of SIGNATURES."""
    out = {}
    for name in names:
        mod = load(name)
        devfns = getattr(mod, "DEVICE_FUNCTIONS", set())
        for fname, (func, sig) in mod.SIGNATURES.items():
            key = f"{name}.{fname}"
            try:
                t0 = time.perf_counter()
                ptx, _ = cuda.compile_ptx(func.py_func, sig, cc=PTX_CC, device=fname in devfns)
                out[key] = {"time": time.perf_counter() - t0, "ptx": ptx}
            except Exception as e:  # noqa: BLE001
                out[key] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"}
    return out


def run_worker(kind, names, extra_env):
    env = dict(os.environ)
    env.update(extra_env)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), f"--worker={kind}",
                        f"--only={','.join(names)}"], capture_output=True, text=True, env=env,
                       cwd=ROOT)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
        return None, tail
    return json.loads(lines[-1]), None


def nvvm_home():
    """A CUDA_HOME numba can read, made of the nvidia-cuda-nvcc-cu12 wheel's NVVM
    (numba looks for libnvvm.so.<version>; the wheel ships libnvvm.so)."""
    for base in sys.path:
        wheel = os.path.join(base, "nvidia", "cuda_nvcc")
        lib = os.path.join(wheel, "nvvm", "lib64", "libnvvm.so")
        if os.path.isfile(lib):
            home = tempfile.mkdtemp(prefix="hs-nvvm-")
            os.makedirs(os.path.join(home, "nvvm", "lib64"))
            os.symlink(lib, os.path.join(home, "nvvm", "lib64", "libnvvm.so.4"))
            os.symlink(os.path.join(wheel, "nvvm", "libdevice"), os.path.join(home, "nvvm", "libdevice"))
            return home
    return None


# -- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--only", default="")
    ap.add_argument("--worker", default="")
    ap.add_argument("--no-sim", action="store_true", help="skip the (slow) simulator runs")
    ap.add_argument("--no-ptx", action="store_true", help="skip compile_ptx and ptxas")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or MODULES

    if args.worker == "sim":
        return simulator_worker(names)
    if args.worker == "numba-ptx":
        return numba_ptx_worker(names)
    if args.worker == "hs-ptx":
        return hs_ptx_worker(names)

    from hypersonic import cuda

    dev = cuda.current_device()
    print(f"Hypersonic kernels launch on {dev.kind}:{dev.index} ({dev.name})")
    import numba

    print(f"Numba {numba.__version__}, {numba.get_num_threads()} threads; NumPy {np.__version__}\n")

    # 1. Numba's simulator, small inputs (subprocess).
    sim, sim_error = (None, "skipped (--no-sim)")
    if not args.no_sim:
        print("running Numba's CUDA simulator (slow) ...", flush=True)
        sim, sim_error = run_worker("sim", names, {"NUMBA_ENABLE_CUDASIM": "1",
                                                   "HYPERSONIC_TEST_AGAINST": "numba"})
    # 2. numba-cuda compile_ptx (subprocess with NVVM from the wheel).
    numba_ptx, numba_ptx_error = None, "skipped (--no-ptx)"
    hs_ptx, hs_ptx_error = None, "skipped (--no-ptx)"
    if not args.no_ptx:
        print("running numba-cuda's compile_ptx ...", flush=True)
        home = nvvm_home()
        env = {"HYPERSONIC_TEST_AGAINST": "numba", "NUMBA_ENABLE_CUDASIM": "0"}
        if home and not os.environ.get("CUDA_HOME"):
            env["CUDA_HOME"] = home
        numba_ptx, numba_ptx_error = run_worker("numba-ptx", names, env)
        print("running Hypersonic's compile_ptx ...", flush=True)
        hs_ptx, hs_ptx_error = run_worker("hs-ptx", names, {})

    nj = njit_versions()
    rows, ptx_rows = [], []
    for name in names:
        mod = load(name)
        row = {"kernel": name}
        print(f"  {name} ...", flush=True)
        variant_rows = []
        try:
            # CPU fallback vs the simulator, at SIM_SIZE, both through ``run`` (copies included;
            # they are nothing next to the simulator's time)
            small = mod.make_inputs(mod.SIM_SIZE, np.random.default_rng(7))
            mod.run(*small)
            t_small = best_time(lambda: mod.run(*small), args.reps)
            row["sim_size"] = mod.SIM_SIZE
            row["hs_small"] = seconds(t_small)
            s = (sim or {}).get(name)
            row["sim"] = seconds(s["time"]) if s else "-"
            row["vs_sim"] = ratio(s["time"], t_small, "{:,.0f}x") if s else (sim_error or "-")
            # CPU fallback vs @njit(parallel=True), at BENCH_SIZE: the kernel work alone
            # (``prepare``: data already on the device) against the same work in place on host
            # arrays; and, for information, ``run`` (copies in, allocation, launch, copy back).
            big = mod.make_inputs(mod.BENCH_SIZE, np.random.default_rng(8))
            want = mod.reference(*big)
            nj_run = nj[name](*big)
            nj_run()
            nj_ok = mod.check(nj_run.result(), want)
            t_nj = best_time(nj_run, args.reps)
            go = mod.prepare(*big)
            go()
            ok = mod.check(go.result(), want)
            t_kernel = best_time(go, args.reps)
            ok = ok and mod.check(go.result(), want)  # and still right after repeated calls
            ok = ok and mod.check(mod.run(*big), want)
            t_e2e = best_time(lambda: mod.run(*big), args.reps)
            row.update(size=mod.BENCH_SIZE, hs_kernel=seconds(t_kernel), njit=seconds(t_nj),
                       hs_vs_njit=ratio(t_kernel, t_nj, "{:.2f}x"), hs_e2e=seconds(t_e2e),
                       e2e_vs_njit=ratio(t_e2e, t_nj, "{:.2f}x"),
                       check="ok" if ok and nj_ok else f"WRONG (hs {ok}, njit {nj_ok})")
            for label, prep in VARIANTS.get(name, []):
                vrow = {"kernel": label, "size": mod.BENCH_SIZE, "njit": seconds(t_nj)}
                try:
                    vgo = prep(mod, *big)
                    vgo()
                    vok = mod.check(vgo.result(), want)
                    t_v = best_time(vgo, args.reps)
                    vrow.update(hs_kernel=seconds(t_v), hs_vs_njit=ratio(t_v, t_nj, "{:.2f}x"),
                                check="ok" if vok else "WRONG")
                except Exception as e:  # noqa: BLE001
                    vrow["check"] = f"FAILED: {type(e).__name__}: {str(e).splitlines()[0][:60] if str(e) else ''}"
                variant_rows.append(vrow)
        except Exception as e:  # noqa: BLE001
            row["check"] = f"FAILED: {type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
        rows.append(row)
        rows.extend(variant_rows)

    for name in names if not args.no_ptx else []:
        for fname in load(name).SIGNATURES:
            key = f"{name}.{fname}"
            prow = {"function": key}
            ours = (hs_ptx or {}).get(key)
            if ours and "ptx" in ours:
                prow["ours"] = seconds(ours["time"])
                regs, spills = summarize_usage(ptxas_usage(ours["ptx"]))
                prow["regs"], prow["spills"] = regs if regs is not None else "-", spills if spills is not None else "-"
            else:
                prow["ours"] = (ours or {}).get("error") or hs_ptx_error or "-"
            theirs = (numba_ptx or {}).get(key)
            if theirs and "ptx" in theirs:
                prow["numba"] = seconds(theirs["time"])
                if ours and "time" in ours:
                    prow["ours_vs_numba"] = ratio(ours["time"], theirs["time"], "{:.3f}")
                nregs, nspills = summarize_usage(ptxas_usage(theirs["ptx"]))
                prow["nregs"] = nregs if nregs is not None else "-"
                prow["nspills"] = nspills if nspills is not None else "-"
            else:
                prow["numba"] = (theirs or {}).get("error") or numba_ptx_error or "-"
            ptx_rows.append(prow)

    print()
    print("Kernels: Hypersonic's CPU fallback vs Numba's CUDA simulator (target >= 1000x; both "
          "through run(), copies included)")
    print("and vs the same algorithm with @njit(parallel=True) (target: kernel / njit <= 1.5). "
          "'kernel' is the launches alone on")
    print("data already on the device (prepare()); 'end-to-end' is run(): copies in, allocation, "
          "launches, copy back (for information).\n")
    table([("kernel", "kernel"), ("sim_size", "sim size"), ("hs_small", "hypersonic cpu"),
           ("sim", "numba simulator"), ("vs_sim", "speed-up"), ("size", "size"),
           ("hs_kernel", "hs kernel"), ("njit", "njit parallel"), ("hs_vs_njit", "kernel / njit"),
           ("hs_e2e", "hs end-to-end"), ("e2e_vs_njit", "end-to-end / njit"),
           ("check", "check")], rows)
    if args.no_ptx:
        return
    print(f"compile_ptx (cc {PTX_CC[0]}.{PTX_CC[1]}; target ours/numba <= 0.1) and ptxas -v "
          f"(sm_{PTX_CC[0]}{PTX_CC[1]}; target: registers and spills no more than Numba's)\n")
    if numba_ptx is None:
        print(f"numba-cuda compile_ptx unavailable: {numba_ptx_error}\n")
    if find_ptxas() is None:
        print("ptxas not found (pip install nvidia-cuda-nvcc-cu12): no register counts\n")
    table([("function", "function"), ("ours", "hypersonic"), ("numba", "numba-cuda"),
           ("ours_vs_numba", "ours/numba"), ("regs", "regs"), ("nregs", "numba regs"),
           ("spills", "spill bytes"), ("nspills", "numba spill bytes")], ptx_rows)
    print("Both compile_ptx columns come from a fresh process compiling every function in turn; the "
          "first function of each carries its first-use set-up.")


if __name__ == "__main__":
    main()
