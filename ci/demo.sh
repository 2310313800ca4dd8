#!/usr/bin/env bash
# Install what is missing, build Hypersonic, then compile and run the example kernels
# in kernels/ and compare them (results and timings) with plain Python.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

section "demo: kernels/demo.py"
"$PY" kernels/demo.py
