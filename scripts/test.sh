#!/usr/bin/env bash
# The project's test command (README, CI): format, lints and every test of the default
# workspace members (no libtorch needed), then the libtorch backends (scripts/test-torch.sh,
# which provisions libtorch; skip it with JNER_SKIP_TORCH=1).
# Tests read the real data from ../shared/data (override with JNER_DATA=/path/to/data).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
if [[ "${JNER_SKIP_TORCH:-0}" != 1 ]]; then
  scripts/test-torch.sh
fi
