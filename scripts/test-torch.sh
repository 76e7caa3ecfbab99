#!/usr/bin/env bash
# Tests of the libtorch backends (crate jner-torch, and the CLI built with `--features torch`).
# Provisions libtorch first (scripts/libtorch.sh: a venv with torch==2.13.0, idempotent).
# Builds in target/torch so switching between the plain and the libtorch build rebuilds nothing.
# Last, the Python package built with the torch feature and its pytest suite (test_torch.py).
set -euo pipefail
cd "$(dirname "$0")/.."
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
# The real encoder for the MiniLM smoke test; the test must not skip here.
scripts/fetch-minilm.sh
export JNER_REQUIRE_MINILM=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/torch}"
cargo clippy -p jner-torch -p jner -p jner-py --features jner/torch --all-targets -- -D warnings
cargo test -p jner-torch -p jner --features jner/torch
# The Python package with the libtorch backends: built against the torch package's libtorch
# (the module's run path finds it in the site-packages it is installed into), installed into
# the torch venv beside torch, and tested there (python/tests/test_torch.py must not skip).
target="$(pwd)/$CARGO_TARGET_DIR"
py="$VIRTUAL_ENV/bin/python"
"$py" -c "import maturin, pytest" 2>/dev/null || "$py" -m pip install -q "maturin>=1.5,<2" pytest
rm -rf "$target/wheels"
(cd python && CARGO_TARGET_DIR="$target" "$py" -m maturin build --profile dev --features torch \
  --auditwheel skip --compatibility linux -o "$target/wheels")
"$py" -m pip install -q --force-reinstall --no-deps "$target"/wheels/jner-*.whl
JNER_REQUIRE_TORCH=1 JNER_BIN="$target/debug/jner" "$py" -m pytest -q python/tests/test_torch.py
