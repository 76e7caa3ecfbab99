#!/usr/bin/env bash
# schemathesis (property-based API testing) against a running `jner serve`: it generates
# requests from /openapi.json, valid and invalid, and fails on any 5xx, any response that
# does not match the documented schema, status code, content type or headers, and any
# invalid request that is accepted. Excluded: `positive_data_acceptance` (schema-valid
# requests that jner refuses on purpose with 422: a model name that is not served, a label
# the model does not know, restore items whose offsets do not fit their text; a schema
# cannot say those). The deadline header is fixed at 30 s: a generated `x-request-timeout:
# 5e-324` gets the 504 it asks for, which is the documented contract (tests/http.rs covers
# it), not a server error.
#
#   scripts/test-schemathesis.sh            # builds jner (debug) if needed
#   JNER=target/release/jner EXAMPLES=500 scripts/test-schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
JNER="${JNER:-target/debug/jner}"
VENV="${SCHEMATHESIS_VENV:-.venv-schemathesis}"
EXAMPLES="${EXAMPLES:-100}"
if [[ ! -x "$JNER" ]]; then
  cargo build -p jner
fi
if [[ ! -x "$VENV/bin/schemathesis" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'schemathesis>=4.0,<5'
fi
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
"$JNER" train --demo --epochs 5 --output-dir "$tmp/m" >/dev/null 2>&1
head -c 32 /dev/urandom | base64 >"$tmp/key"  # text: raw bytes may start or end with whitespace, which is trimmed
"$JNER" serve --model "$tmp/m/best" --addr 127.0.0.1:0 --key-file "$tmp/key" \
  --max-texts 64 --max-text-chars 20000 2>"$tmp/serve.log" &
pid=$!
base=""
for _ in $(seq 1 200); do
  base="$(sed -n 's/^listening on //p' "$tmp/serve.log" | head -1)"
  [[ -n "$base" ]] && curl -fs "$base/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
[[ -n "$base" ]] || { cat "$tmp/serve.log"; echo "jner serve did not start" >&2; exit 1; }
"$VENV/bin/schemathesis" run "$base/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  --header 'x-request-timeout: 30' \
  --max-examples "$EXAMPLES" --seed "${SEED:-42}" --workers 1
# still serving after everything schemathesis sent, then a clean exit on SIGTERM
curl -fs "$base/live" >/dev/null
kill -TERM "$pid"
wait "$pid"
pid=""
if grep -q "panicked" "$tmp/serve.log"; then
  cat "$tmp/serve.log"
  echo "jner serve logged a panic" >&2
  exit 1
fi
echo "schemathesis: no failures"
