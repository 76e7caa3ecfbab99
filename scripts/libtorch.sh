#!/usr/bin/env bash
# Provision libtorch for the `jner-torch` crate (the `tch` crate) from PyPI's `torch` wheel.
#
# Idempotent: creates `.venv-torch` at the repository root with torch==$JNER_TORCH_VERSION when
# it is absent or holds another version, then prints the `export` lines the build needs:
#
#     eval "$(scripts/libtorch.sh)"
#     CARGO_TARGET_DIR=target/torch cargo build -p jner-torch
#
# Progress goes to stderr; only the export lines go to stdout. On any failure it prints nothing
# to stdout and exits non-zero; scripts should capture first so that `set -e` stops them:
#
#     torch_env="$(scripts/libtorch.sh)"; eval "$torch_env"
set -euo pipefail

TORCH_VERSION="${JNER_TORCH_VERSION:-2.13.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JNER_TORCH_VENV:-$ROOT/.venv-torch}"
PY="$VENV/bin/python"

log() { echo "libtorch.sh: $*" >&2; }

installed_version() {
  "$PY" - <<'PY' 2>/dev/null || true
import importlib.metadata as m
print(m.version("torch"))
PY
}

if [[ ! -x "$PY" ]]; then
  base_python="${JNER_PYTHON:-$(command -v python3 || true)}"
  if [[ -z "$base_python" ]]; then
    log "no python3 found; install Python 3.10+ (e.g. apt-get install python3 python3-venv)"
    exit 1
  fi
  log "creating $VENV with $base_python"
  "$base_python" -m venv "$VENV" >&2
fi

current="$(installed_version)"
if [[ "${current%%+*}" != "$TORCH_VERSION" ]]; then
  log "installing torch==$TORCH_VERSION into $VENV (a large download, once)"
  if ! "$PY" -m pip install --quiet --upgrade pip >&2; then
    log "could not upgrade pip in $VENV (is the package index reachable?)"
    exit 1
  fi
  # PyPI publishes one Linux build per version (CUDA-enabled; it also runs on CPU-only
  # machines). A smaller CPU-only build is used when the configured index offers one.
  if ! "$PY" -m pip install --quiet "torch==$TORCH_VERSION" >&2; then
    log "pip could not install torch==$TORCH_VERSION into $VENV; nothing was exported"
    log "(check the package index and disk space; JNER_TORCH_VERSION picks another version)"
    exit 1
  fi
fi

if ! lib_dir="$("$PY" -W ignore -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"; then
  log "torch does not import in $VENV; remove $VENV and run again"
  exit 1
fi
if [[ ! -e "$lib_dir/libtorch_cpu.so" && ! -e "$lib_dir/libtorch_cpu.dylib" ]]; then
  log "torch is installed but $lib_dir has no libtorch_cpu; remove $VENV and run again"
  exit 1
fi

# torch-sys's build script runs `python` (when VIRTUAL_ENV is set, else `python3`) from PATH to
# find torch's headers and libraries; it has no variable naming the interpreter.
echo "export LIBTORCH_USE_PYTORCH=1"
echo "export VIRTUAL_ENV=\"$VENV\""
echo "export PATH=\"$VENV/bin:\$PATH\""
echo "export LD_LIBRARY_PATH=\"$lib_dir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
