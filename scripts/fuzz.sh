#!/usr/bin/env bash
# Fuzz every reader, the data rules, the scorer and model-folder loading with cargo-fuzz
# (libFuzzer; needs the nightly toolchain and `cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s for each of all targets
#
# Each target starts from its committed corpus (fuzz/corpus/TARGET) and the hand-written
# seeds (fuzz/seeds/TARGET); new inputs it finds are added to the corpus. A run slower than
# 1 s counts as a failure (libFuzzer's -timeout=1), as does a crash or more than 2 GiB of
# memory. Prints one line per target (executions, seconds, result) and exits non-zero if any
# target failed; the failing input is in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(brat corona reviews_csv jsonl rules scorer model_folder redact)
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: cargo-fuzz is missing (cargo install cargo-fuzz --locked)" >&2
  exit 1
fi
cargo +nightly fuzz build >&2
failed=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
printf '%-14s %12s %8s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  if cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see fuzz/artifacts/$t/)"
    failed=1
    tail -n 30 "$log" >&2
  fi
  runs="$( (grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" || true) | grep -o '[0-9]*$' | tail -1 || true)"
  took="$( (grep -o 'Done [0-9]* runs in [0-9]* second' "$log" || true) | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1 || true)"
  printf '%-14s %12s %8s  %s\n' "$t" "${runs:-?}" "${took:-$secs}" "$result"
done
exit "$failed"
