#!/usr/bin/env bash
# `jner compare` on the demo corpus, end to end, then its report.html in headless Chromium
# (scripts/test-report-html.sh). The report and the screenshot stay in target/report-test/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p jner
out=target/report-test
rm -rf "$out"
target/debug/jner compare --demo --backends cnn --folds 2 --epochs-for cnn=5 \
  --bootstrap 200 --output-dir "$out/demo"
scripts/test-report-html.sh "$out/demo/report.html" "$out/screenshot.png"
