#!/usr/bin/env bash
# The project's test command (README, CI): format, lints, then every test of the default
# workspace members (the libtorch crate joins them once its provisioning runs here too).
# Tests read the real data from ../shared/data (override with JNER_DATA=/path/to/data).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
