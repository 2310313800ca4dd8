#!/usr/bin/env bash
# Shared set-up for ci/demo.sh and ci/test.sh (source it, do not run it).
#
# Installs only what is missing on a Debian 12 machine, then builds the extension:
#   1. apt packages (LLVM 19 and the libraries it links, Vulkan/SPIR-V tools),
#      checked one by one with `dpkg -s`; `apt-get update` runs once, and only if
#      something has to be installed;
#   2. Rust (rustup) with rustfmt and clippy, if cargo is absent;
#   3. a virtualenv at .venv (python3 -m venv) and the pip packages that are missing;
#   4. `maturin develop --release` into .venv, so `.venv/bin/python -c "import hypersonic"` works.
# Safe to run again: every step is skipped when its result is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

export LLVM_SYS_191_PREFIX="${LLVM_SYS_191_PREFIX:-/usr/lib/llvm-19}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export DEBIAN_FRONTEND=noninteractive

section() {
    printf '\n==================== %s ====================\n' "$*"
}

APT_PACKAGES=(
    build-essential pkg-config ca-certificates curl git
    python3 python3-venv python3-dev
    llvm-19-dev libpolly-19-dev libzstd-dev libz3-dev libxml2-dev libffi-dev zlib1g-dev
    spirv-tools mesa-vulkan-drivers libvulkan1
)
# nvidia-cuda-nvcc-cu12 carries ptxas (which checks every PTX test) and libdevice.
PIP_PACKAGES=(maturin numpy pytest numba hypothesis nvidia-cuda-nvcc-cu12)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "error: need root (or sudo) to run: $*" >&2; return 1
    fi
}

install_apt_packages() {
    section "system packages"
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all ${#APT_PACKAGES[@]} apt packages present"
        return
    fi
    echo "installing: ${missing[*]}"
    as_root apt-get update -q </dev/null
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

install_rust() {
    section "rust toolchain"
    # shellcheck disable=SC1091
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    if ! command -v cargo >/dev/null 2>&1; then
        echo "installing rustup (stable, minimal profile)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
            | sh -s -- -y --profile minimal --component rustfmt,clippy </dev/null
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    if command -v rustup >/dev/null 2>&1; then
        cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
        cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
    fi
    cargo --version
    rustc --version
}

missing_pip_packages() {
    "$PY" - "$@" <<'PYEOF'
import sys
import importlib.metadata as md
for name in sys.argv[1:]:
    try:
        md.version(name)
    except md.PackageNotFoundError:
        print(name)
PYEOF
}

install_python_env() {
    section "python virtualenv (.venv)"
    if [ ! -x "$PY" ]; then
        echo "creating $VENV"
        python3 -m venv "$VENV"
    fi
    "$PY" --version
    local missing
    missing="$(missing_pip_packages "${PIP_PACKAGES[@]}")"
    if [ -n "$missing" ]; then
        echo "pip installing: $(echo $missing)"
        # shellcheck disable=SC2086
        "$PY" -m pip install -q $missing </dev/null
    else
        echo "pip packages present: ${PIP_PACKAGES[*]}"
    fi
}

build_extension() {
    section "build hypersonic (maturin develop --release)"
    local t0=$SECONDS
    VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
        "$VENV/bin/maturin" develop --release --manifest-path crates/python/Cargo.toml </dev/null
    "$PY" -c "import hypersonic, sys; print('hypersonic imported from', hypersonic.__file__)"
    echo "build took $((SECONDS - t0)) s"
}

install_apt_packages
install_rust
install_python_env
build_extension
