#!/usr/bin/env bash
# Idempotent: bench/.venv with the Python `span_marker` library (and the torch the Rust side
# links), for the parity check and the benchmark. Prints the venv's python.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="$VENV/bin/python"
if [[ ! -x "$PY" ]]; then
  python3 -m venv "$VENV" >&2
fi
if ! "$PY" -c 'import span_marker, transformers' 2>/dev/null; then
  # span_marker 1.8.1 predates transformers 5; keep the 4.x line it was written for.
  "$PY" -m pip install --quiet --upgrade pip >&2
  "$PY" -m pip install --quiet "torch==${JNER_TORCH_VERSION:-2.13.0}" "span-marker==1.8.1" \
    "transformers>=4.46,<5" "datasets<4" >&2
fi
echo "$PY"
