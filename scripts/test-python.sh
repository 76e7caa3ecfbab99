#!/usr/bin/env bash
# The Python package: lints of its native module, an abi3 wheel built with maturin (dev
# profile), installed into a venv (.venv-python), and pytest against the `jner` binary
# (python/tests: the same entities as `jner predict`, the same scores as `jner eval`; the
# spaCy component on a blank English pipeline, in one process and in n_process=2;
# jner.spark.screen in a local[2] Spark session on 3,000 shared reviews; jner.ray.screen on a
# local Ray). test_torch.py skips here: scripts/test-torch.sh runs it on the torch build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo clippy -p jner-py --all-targets -- -D warnings
cargo build -q -p jner
venv=.venv-python
if ! "$venv/bin/python" -c "import maturin, pytest, spacy, pyspark, pandas, pyarrow, ray.data" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "maturin>=1.5,<2" pytest "spacy>=3.7,<4" "pyspark>=3.5,<5" \
    "pandas>=2,<3" pyarrow "ray[data]>=2.9,<3"
fi
# pyspark needs Java (the machine's, or Debian's default-jre-headless: .ci/run installs it)
command -v java >/dev/null || { echo "test-python: no java for the Spark test" >&2; exit 1; }
rm -rf target/wheels
(cd python && "../$venv/bin/maturin" build --profile dev -o ../target/wheels)
"$venv/bin/pip" install -q --force-reinstall --no-deps target/wheels/jner-*.whl
JNER_BIN=target/debug/jner "$venv/bin/pytest" -q python/tests
