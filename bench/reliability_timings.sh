#!/usr/bin/env bash
# Timings for the quadratic-span-check issue: loading a reviews CSV whose one review is
# 1 MB / 10 MB of "son " (every "son" is a MinorChild span, so span hygiene sees ~262k /
# ~2.6M spans in one document), and scoring one document with 100k gold and 100k predicted
# spans, half of them matching.
#
# Usage: bench/reliability_timings.sh [JNER_BINARY]
#   JNER_BINARY  default target/release/jner (build it with `cargo build --release -p jner`)
# Environment:
#   REPEAT=3     runs per case (min/max reported)
#   CAP=120      seconds after which one run is stopped and reported as ">CAP"
#   SIZES="1 10" review sizes in MB
#   SPANS=100000 gold (and predicted) spans in the eval case
#   WORK=DIR     where the inputs go (default: a fresh temp dir, removed at the end)
#
# Writes only under WORK (a temp dir unless given). Prints one line per case:
#   case  min_s  max_s  runs...
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jner="${1:-$root/target/release/jner}"
repeat="${REPEAT:-3}"
cap="${CAP:-120}"
sizes="${SIZES:-1 10}"
spans="${SPANS:-100000}"

if [[ ! -x "$jner" ]]; then
    echo "no binary at $jner; run: cargo build --release -p jner" >&2
    exit 2
fi

if [[ -n "${WORK:-}" ]]; then
    work="$WORK"
    mkdir -p "$work"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/jner-reliability.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi

# --- inputs -----------------------------------------------------------------------------

# Reviews CSV (mydata.csv layout): one labelled row whose ori_review is N MB of "son ";
# minor_col "son" makes the row count (a row with neither minor_col nor gender_col is
# skipped, one with medical_col is excluded).
make_csv() { # MB OUT
    local mb="$1" out="$2" reps=$(( $1 * 1024 * 1024 / 4 ))
    {
        printf 'qid,ori_review,minor_col,gender_col,medical_col\n'
        printf '1,"'
        awk -v n="$reps" 'BEGIN { s = "son "; r = ""; while (n > 0) { if (n % 2) r = r s; s = s s; n = int(n / 2) } printf "%s", r }'
        printf '",son,,\n'
    } > "$out"
}

# Gold/pred JSONL, one document of 10*SPANS characters: gold span i is 10i..10i+5 "A";
# predicted span i is the same for even i, shifted by one (10i+1..10i+6, a wrong_boundary
# false positive and a partial false negative) for odd i.
make_eval() { # N GOLD PRED
    awk -v n="$1" -v gold="$2" -v pred="$3" 'BEGIN {
        unit = "abcd efgh "; text = ""; k = n
        while (k > 0) { if (k % 2) text = text unit; unit = unit unit; k = int(k / 2) }
        printf "{\"id\":\"d1\",\"text\":\"%s\",\"spans\":[", text > gold
        printf "{\"id\":\"d1\",\"entities\":[" > pred
        for (i = 0; i < n; i++) {
            sep = (i ? "," : "")
            printf "%s{\"start\":%d,\"end\":%d,\"label\":\"A\"}", sep, 10*i, 10*i+5 > gold
            o = (i % 2) ? 1 : 0
            printf "%s{\"start\":%d,\"end\":%d,\"label\":\"A\"}", sep, 10*i+o, 10*i+5+o > pred
        }
        printf "]}\n" > gold
        printf "]}\n" > pred
    }'
}

# --- timing -----------------------------------------------------------------------------

# Runs "$@" REPEAT times (each capped at CAP s) and prints: name min max runs.
time_case() { # NAME CMD...
    local name="$1"; shift
    local runs=() t0 t1 rc dt
    for _ in $(seq "$repeat"); do
        t0=$(date +%s.%N)
        rc=0
        timeout "$cap" "$@" > "$work/last.out" 2> "$work/last.err" || rc=$?
        t1=$(date +%s.%N)
        if [[ $rc -eq 124 ]]; then
            runs+=(">$cap")
        elif [[ $rc -ne 0 ]]; then
            echo "$name: exit $rc" >&2
            cat "$work/last.err" >&2
            runs+=("fail")
        else
            dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
            runs+=("$dt")
        fi
    done
    printf '%s\n' "${runs[@]}" | awk -v name="$name" '
        { v[NR] = $0; if ($0 ~ /^[0-9.]+$/) { if (lo == "" || $0 + 0 < lo) lo = $0 + 0; if (hi == "" || $0 + 0 > hi) hi = $0 + 0 } else capped = capped " " $0 }
        END {
            line = sprintf("%-24s min %s  max %s  runs:", name, (lo == "" ? "-" : sprintf("%.2f", lo)), (capped != "" ? "n/a" : sprintf("%.2f", hi)))
            for (i = 1; i <= NR; i++) line = line " " v[i]
            print line
        }'
}

echo "binary: $jner"
echo "inputs: $work"
for mb in $sizes; do
    csv="$work/big_${mb}mb.csv"
    make_csv "$mb" "$csv"
    time_case "reviews_${mb}MB_son" "$jner" data stats --no-maccrobat --no-corona --csv "$csv"
done
make_eval "$spans" "$work/gold.jsonl" "$work/pred.jsonl"
time_case "eval_${spans}_spans" "$jner" eval --gold "$work/gold.jsonl" --pred "$work/pred.jsonl"
