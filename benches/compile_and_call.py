"""Hypersonic against Numba, measured in one run (by hand, not by CI):

  * ``import`` time added to ``import numpy`` (fresh subprocess each, median);
  * first call (compile + run) of a trivial function and of the ragged sum
    (fresh subprocess each, median of many);
  * steady-state time of the ragged sum on ~1e6 elements;
  * call overhead of a trivial function with a scalar and with an array argument.

    .venv/bin/python benches/compile_and_call.py [--reps N]

Prints both numbers, the ratio, and the issue's target for each.  No assertions.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import timeit

import numpy as np

RAGGED_SUM = '''
@njit
def ragged_sum(X, jind):
    s = 0
    for i in range(jind.shape[0] - 1):
        for j in range(jind[i], jind[i + 1]):
            s += np.arctan(X[j] * i * j)
    return s
'''

TRIVIAL = '''
@njit
def trivial(x):
    return x + 1
'''

IMPORT_SCRIPT = '''
import sys, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import {lib}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
'''

FIRST_CALL_SCRIPT = '''
import time
import numpy as np
from {lib} import njit
{source}
rng = np.random.default_rng(0)
X = rng.standard_normal(1000)
jind = np.concatenate(([0], np.sort(rng.integers(0, 1000, 19)), [1000])).astype(np.int64)
args = {args}
t0 = time.perf_counter()
{name}(*args)
print(time.perf_counter() - t0)
'''


def available(lib):
    try:
        __import__(lib)
        return True
    except ImportError:
        return False


def run_script(text, tmpdir):
    # Written to a file: Hypersonic compiles from the function's source.
    path = os.path.join(tmpdir, "bench_script.py")
    with open(path, "w") as f:
        f.write(text)
    out = subprocess.run([sys.executable, path], capture_output=True, text=True, check=True,
                         cwd=tmpdir)
    return [float(v) for v in out.stdout.split()]


def import_time(lib, reps, tmpdir):
    samples = [run_script(IMPORT_SCRIPT.format(lib=lib), tmpdir)[1] for _ in range(reps)]
    return statistics.median(samples)


def first_call(lib, source, name, args, reps, tmpdir):
    script = FIRST_CALL_SCRIPT.format(lib=lib, source=source, name=name, args=args)
    return statistics.median(run_script(script, tmpdir)[0] for _ in range(reps))


def ragged_inputs(n, rng):
    X = rng.standard_normal(n)
    cuts = np.sort(rng.integers(0, n, n // 100 - 1))
    return X, np.concatenate(([0], cuts, [n])).astype(np.int64)


def compile_in_process(lib, source, name):
    ns = {"np": np}
    mod = __import__(lib)
    ns["njit"] = mod.njit
    path = os.path.join(tempfile.mkdtemp(), f"bench_{lib}_{name}.py")
    with open(path, "w") as f:
        f.write("import numpy as np\nfrom %s import njit\n%s" % (lib, source))
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), ns)  # a real file: Hypersonic reads the source
    return ns[name]


def best_time(stmt, number, repeat=5):
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def fmt(t):
    if t is None:
        return "n/a"
    if t >= 1.0:
        return f"{t:.3f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    if t >= 1e-6:
        return f"{t * 1e6:.2f} us"
    return f"{t * 1e9:.0f} ns"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=9, help="subprocess repetitions (median)")
    ap.add_argument("--n", type=int, default=1_000_000, help="ragged sum size")
    opts = ap.parse_args()

    libs = [lib for lib in ("hypersonic", "numba") if available(lib)]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}; measuring: {', '.join(libs)}")
    results = {lib: {} for lib in ("hypersonic", "numba")}
    rng = np.random.default_rng(0)
    X, jind = ragged_inputs(opts.n, rng)

    with tempfile.TemporaryDirectory() as tmpdir:
        for lib in libs:
            r = results[lib]
            print(f"[{lib}] import time ...", flush=True)
            r["import"] = import_time(lib, opts.reps, tmpdir)
            print(f"[{lib}] first calls ...", flush=True)
            r["first_trivial"] = first_call(lib, TRIVIAL, "trivial", "(1,)", opts.reps, tmpdir)
            r["first_ragged"] = first_call(lib, RAGGED_SUM, "ragged_sum", "(X, jind)", opts.reps,
                                           tmpdir)
            print(f"[{lib}] steady state and call overhead ...", flush=True)
            ragged = compile_in_process(lib, RAGGED_SUM, "ragged_sum")
            trivial = compile_in_process(lib, TRIVIAL, "trivial")
            arr_src = "\n@njit\ndef first(a):\n    return a[0]\n"
            first = compile_in_process(lib, arr_src, "first")
            ragged(X, jind)
            trivial(1)
            a = np.ones(10)
            first(a)
            r["steady_ragged"] = best_time(lambda: ragged(X, jind), number=3)
            r["call_scalar"] = best_time(lambda: trivial(1), number=200_000)
            r["call_array"] = best_time(lambda: first(a), number=200_000)
            r["value"] = ragged(X, jind)

    hs, nb = results["hypersonic"], results["numba"]
    if "value" in hs and "value" in nb:
        agree = np.isclose(hs["value"], nb["value"], rtol=1e-9)
        print(f"ragged sum: hypersonic {hs['value']!r}, numba {nb['value']!r}"
              f" ({'agree' if agree else 'DISAGREE'})")

    rows = [
        ("import (added to numpy)", "import", "hypersonic <= 50 ms", lambda h, n: h <= 0.050),
        ("first call, trivial", "first_trivial", "ratio <= 1/25", lambda h, n: h <= n / 25),
        ("first call, ragged sum", "first_ragged", "ratio <= 1/25", lambda h, n: h <= n / 25),
        (f"steady state, ragged sum n={opts.n:.0e}", "steady_ragged", "ratio <= 1",
         lambda h, n: h <= n),
        ("call overhead, scalar arg", "call_scalar", "ratio <= 1", lambda h, n: h <= n),
        ("call overhead, array arg", "call_array", "ratio <= 1", lambda h, n: h <= n),
    ]
    header = ("measure", "hypersonic", "numba", "ratio", "target", "met")
    table = []
    for title, key, target, ok in rows:
        h, n = hs.get(key), nb.get(key)
        ratio = f"{h / n:.3f}" if h is not None and n else "n/a"
        if key == "import":
            met = ("yes" if ok(h, n) else "no") if h is not None else "n/a"
        else:
            met = ("yes" if ok(h, n) else "no") if h is not None and n is not None else "n/a"
        table.append((title, fmt(h), fmt(n), ratio, target, met))
    widths = [max(len(str(row[i])) for row in table + [header]) for i in range(len(header))]
    print()
    for row in [header, tuple("-" * w for w in widths)] + table:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    print()
    print(textwrap.dedent("""\
        ratio = hypersonic / numba (lower is better). First calls and import times are medians
        over fresh subprocesses; steady state and call overhead are the best of 5 timeit runs."""))


if __name__ == "__main__":
    main()
