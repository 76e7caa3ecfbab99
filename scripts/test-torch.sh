#!/usr/bin/env bash
# Tests of the libtorch backends (crate jner-torch, and the CLI built with `--features torch`).
# Provisions libtorch first (scripts/libtorch.sh: a venv with torch==2.13.0, idempotent).
# Builds in target/torch so switching between the plain and the libtorch build rebuilds nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
# The real encoder for the MiniLM smoke test; the test must not skip here.
scripts/fetch-minilm.sh
export JNER_REQUIRE_MINILM=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/torch}"
cargo clippy -p jner-torch -p jner --features jner/torch --all-targets -- -D warnings
cargo test -p jner-torch -p jner --features jner/torch
