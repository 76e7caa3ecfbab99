#!/usr/bin/env bash
# The project's test command (README, CI): format, lints and every test of the default
# workspace members (no libtorch needed), then the libtorch backends (scripts/test-torch.sh,
# which provisions libtorch; skip it with JNER_SKIP_TORCH=1), with a 20 s smoke run of each
# fuzz target between the two (JNER_SKIP_FUZZ=1 skips it; it needs nightly and cargo-fuzz).
# schemathesis runs against `jner serve` after the tests (JNER_SKIP_SCHEMATHESIS=1 skips it);
# `jner compare` on the demo corpus, with its report opened in headless Chromium
# (JNER_SKIP_BROWSER=1 skips it); the Python package's wheel and its pytest suite
# (scripts/test-python.sh; JNER_SKIP_PYTHON=1 skips it).
# Tests read the real data from ../shared/data (override with JNER_DATA=/path/to/data).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
if [[ "${JNER_SKIP_BROWSER:-0}" != 1 ]]; then
  scripts/test-report.sh
fi
if [[ "${JNER_SKIP_PYTHON:-0}" != 1 ]]; then
  scripts/test-python.sh
fi
if [[ "${JNER_SKIP_SCHEMATHESIS:-0}" != 1 ]]; then
  # property-based tests of `jner serve` from its /openapi.json (a venv, once)
  scripts/test-schemathesis.sh
fi
if [[ "${JNER_SKIP_FUZZ:-0}" != 1 ]]; then
  # a smoke run of every fuzz target (the long runs: scripts/fuzz.sh 600)
  scripts/fuzz.sh "${JNER_FUZZ_SECONDS:-20}"
fi
if [[ "${JNER_SKIP_TORCH:-0}" != 1 ]]; then
  scripts/test-torch.sh
fi
