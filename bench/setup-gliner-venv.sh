#!/usr/bin/env bash
# Idempotent: bench/.venv-gliner with the Python `gliner` library (and the torch the Rust side
# links, see scripts/libtorch.sh), for the GLiNER parity fixtures (bench/gliner_fixtures.py).
# Prints the venv's python on stdout; progress goes to stderr.
#
# Versions are pinned so that regenerated fixtures are comparable; override with
# JNER_TORCH_VERSION / JNER_GLINER_VERSION / JNER_TRANSFORMERS_VERSION.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-gliner"
PY="$VENV/bin/python"
TORCH_VERSION="${JNER_TORCH_VERSION:-2.13.0}"
GLINER_VERSION="${JNER_GLINER_VERSION:-0.2.29}"
# gliner 0.2.29 requires transformers>=4.51.3,<5.17.0; 5.16.1 is the newest allowed.
TRANSFORMERS_VERSION="${JNER_TRANSFORMERS_VERSION:-5.16.1}"

log() { echo "setup-gliner-venv.sh: $*" >&2; }

if [[ ! -x "$PY" ]]; then
  base_python="${JNER_PYTHON:-$(command -v python3 || true)}"
  if [[ -z "$base_python" ]]; then
    log "no python3 found; install Python 3.10+"
    exit 1
  fi
  log "creating $VENV with $base_python"
  "$base_python" -m venv "$VENV" >&2
fi

have_versions() {
  "$PY" - "$TORCH_VERSION" "$GLINER_VERSION" "$TRANSFORMERS_VERSION" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
want = dict(zip(["torch", "gliner", "transformers"], sys.argv[1:]))
for pkg, ver in want.items():
    if m.version(pkg).split("+")[0] != ver:
        sys.exit(1)
for pkg in ["sentencepiece", "protobuf", "safetensors", "tokenizers", "numpy", "accelerate"]:
    m.version(pkg)
import gliner, transformers, sentencepiece, google.protobuf, safetensors, accelerate  # noqa: F401
PY
}

if ! have_versions; then
  log "installing torch==$TORCH_VERSION gliner==$GLINER_VERSION transformers==$TRANSFORMERS_VERSION"
  "$PY" -m pip install --quiet --upgrade pip >&2
  "$PY" -m pip install --quiet "torch==$TORCH_VERSION" >&2
  "$PY" -m pip install --quiet "gliner==$GLINER_VERSION" "transformers==$TRANSFORMERS_VERSION" \
    sentencepiece protobuf safetensors tokenizers numpy "accelerate>=1.1.0" >&2
  have_versions || { log "installed versions do not match the pins"; exit 1; }
fi
echo "$PY"
