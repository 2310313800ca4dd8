#!/usr/bin/env bash
# Install what is missing, build Hypersonic, then run every check CI runs:
# rustfmt, clippy, the Rust tests, and the Python test suite (tests/python).
# Every step runs even if an earlier one fails; the script fails if any step failed.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

FAILED=()
step() {
    local name="$1"; shift
    section "$name"
    local t0=$SECONDS
    if "$@" </dev/null; then
        echo "-- $name: ok ($((SECONDS - t0)) s)"
    else
        echo "-- $name: FAILED ($((SECONDS - t0)) s)"
        FAILED+=("$name")
    fi
}

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace -- -D warnings
# hypersonic-python is a PyO3 extension built with pyo3/extension-module: it does not
# link libpython, so a Rust test binary of it cannot link. It is tested through pytest.
step "cargo test" cargo test --workspace --exclude hypersonic-python
step "pytest tests/python" "$PY" -m pytest tests/python -q

section "summary"
if [ ${#FAILED[@]} -ne 0 ]; then
    printf 'FAILED: %s\n' "${FAILED[@]}"
    exit 1
fi
echo "all steps passed"
