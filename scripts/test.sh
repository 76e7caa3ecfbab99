#!/usr/bin/env bash
# The project's test command (README, CI): format, lints, then every test of the workspace.
# Tests read the real data from ../shared/data (override with JNER_DATA=/path/to/data).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
