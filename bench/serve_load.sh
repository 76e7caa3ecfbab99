#!/usr/bin/env bash
# `jner serve` under load: oha (crates.io) against a server on 127.0.0.1, one review per
# request (the shared unlabeled reviews), at 1, 8 and 64 concurrent clients, batching on
# and off, beside the same model's offline throughput (`jner predict` on the same texts),
# then an overload run at 10x capacity (peak RSS, 429s, every accepted request answered).
#
#   bash bench/serve_load.sh                 # the cnn model (trained here on the full corpus)
#   BACKEND=spanmarker bash bench/serve_load.sh   # a MiniLM spanmarker model (needs the torch build)
#   PRESIDIO=1 PRESIDIO_SPACY_MODEL=... bash bench/serve_load.sh   # also Presidio on the same texts
#
# Environment: OUT=bench/out/serve_load DATA=../shared/data DURATION=10s REPEAT=3 N=4078
#   THREADS=2 (inference threads; the load generator runs on the same 2 cores)
#   JNER=target/release/jner (target/torch/release/jner for spanmarker) MODEL=DIR (skip training)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
BACKEND="${BACKEND:-cnn}"; DATA="${DATA:-../shared/data}"
OUT="${OUT:-bench/out/serve_load}/$BACKEND"; DURATION="${DURATION:-10s}"; REPEAT="${REPEAT:-3}"
THREADS="${THREADS:-2}"; N="${N:-4078}"; CLIENTS="${CLIENTS:-1 8 64}"
OHA="${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}"
if [ "$BACKEND" = cnn ]; then JNER="${JNER:-target/release/jner}"; else JNER="${JNER:-target/torch/release/jner}"; fi
BATCH="${BATCH:-32}"
mkdir -p "$OUT"
log() { printf '[serve_load %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[ -x "$OHA" ] || { echo "oha is needed: cargo install oha --locked" >&2; exit 1; }
[ -x "$JNER" ] || { echo "$JNER is not built" >&2; exit 1; }

# --- the model ------------------------------------------------------------------------------
if [ -n "${MODEL:-}" ]; then
    model="$MODEL"
elif [ "$BACKEND" = cnn ]; then
    model="$OUT/model/best"
    if [ ! -f "$model/jner.json" ]; then
        log "training the default cnn on the full corpus"
        "$JNER" train --data-dir "$DATA/maccrobat" --corona "$DATA/corona/Corona2.json" \
            --csv "$DATA/reviews/mydata.csv" --output-dir "$OUT/model" --overwrite 2> "$OUT/train.log"
    fi
else
    # throughput only: a real-sized MiniLM spanmarker whose head saw 64 reviews for one epoch
    model="$OUT/model/final"
    if [ ! -f "$model/jner.json" ]; then
        bash scripts/fetch-minilm.sh >&2
        "$JNER" data split --no-maccrobat --no-corona --csv "$DATA/reviews/mydata.csv" \
            --output-dir "$OUT/split" 2> /dev/null
        head -64 "$OUT/split/train.jsonl" > "$OUT/train64.jsonl"
        head -16 "$OUT/split/eval.jsonl" > "$OUT/eval16.jsonl"
        log "training a $BACKEND model for one epoch on 64 reviews (throughput only)"
        "$JNER" train --backend "$BACKEND" --model models/all-MiniLM-L6-v2 --epochs 1 \
            --train-jsonl "$OUT/train64.jsonl" --eval-jsonl "$OUT/eval16.jsonl" \
            --output-dir "$OUT/model" --overwrite --threads "$THREADS" 2> "$OUT/train.log"
    fi
fi

# --- the texts: one review per request -------------------------------------------------------
head -n "$N" "$DATA/unlabeled/reviews.jsonl" > "$OUT/texts.jsonl"
python3 - "$OUT/texts.jsonl" "$OUT/bodies.txt" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        out.write(json.dumps({"texts": [json.loads(line)["text"]]}) + "\n")
PY
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); model $model"

# --- offline: jner predict on the same texts (wall time minus a one-text run: loading) -------
res="$OUT/runs.tsv"; : > "$res"
head -1 "$OUT/texts.jsonl" > "$OUT/one.jsonl"
for r in $(seq 1 "$REPEAT"); do
    for t in $(printf '%s\n' 1 "$THREADS" | sort -un); do
        t0=$(date +%s.%N)
        "$JNER" predict --model "$model" -i "$OUT/one.jsonl" -o "$OUT/one.pred" --threads "$t" --batch-size "$BATCH" 2> /dev/null
        t1=$(date +%s.%N)
        "$JNER" predict --model "$model" -i "$OUT/texts.jsonl" -o "$OUT/offline.pred" --threads "$t" --batch-size "$BATCH" 2> /dev/null
        t2=$(date +%s.%N)
        python3 -c "import sys; t0,t1,t2=map(float,sys.argv[1:4]); print(f'offline\t{sys.argv[6]}\t{sys.argv[4]}\t{int(sys.argv[5])/((t2-t1)-(t1-t0)):.1f}\t\t\t{{}}\t{{}}')" \
            "$t0" "$t1" "$t2" "$r" "$(wc -l < "$OUT/texts.jsonl")" "$t" >> "$res"
    done
done

# --- the server -------------------------------------------------------------------------------
pid=""
stop() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    pid=""
}
trap stop EXIT
start() {  # log-name serve-args...
    local name="$1"; shift
    "$JNER" serve --model "$model" --addr 127.0.0.1:0 --threads "$THREADS" --batch-size "$BATCH" "$@" 2> "$OUT/$name.serve.log" &
    pid=$!
    base=""
    for _ in $(seq 1 600); do
        base="$(sed -n 's/^listening on //p' "$OUT/$name.serve.log" | head -1)"
        [ -n "$base" ] && curl -fs "$base/ready" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$OUT/$name.serve.log" >&2; exit 1
}
oha_run() {  # out-json oha-args...
    local out="$1"; shift
    "$OHA" --no-tui --output-format json -m POST -T application/json -Z "$OUT/bodies.txt" \
        "$@" "$base/v1/entities" > "$out"
}
summ() {  # config clients round json -> runs.tsv line
    python3 - "$@" >> "$res" <<'PY'
import json, sys
cfg, c, r, path = sys.argv[1:5]
d = json.load(open(path))
codes = d.get("statusCodeDistribution", {})
lat = d["latencyPercentiles"]
ok = codes.get("200", 0)
print(f"{cfg}\t{c}\t{r}\t{ok / d['summary']['total']:.1f}\t{1000 * (lat['p50'] or 0):.1f}\t{1000 * (lat['p99'] or 0):.1f}\t{json.dumps(codes, sort_keys=True)}\t{json.dumps(d.get('errorDistribution', {}), sort_keys=True)}")
PY
}
for cfg in batching no-batching; do
    if [ "$cfg" = batching ]; then start "$cfg"; else start "$cfg" --no-batching; fi
    oha_run "$OUT/warmup.json" -z 2s -c 8
    for r in $(seq 1 "$REPEAT"); do
        for c in $CLIENTS; do
            log "$cfg, $c clients, round $r"
            oha_run "$OUT/$cfg-c$c-r$r.json" -z "$DURATION" -c "$c" -w
            summ "$cfg" "$c" "$r" "$OUT/$cfg-c$c-r$r.json"
        done
    done
    if [ "$cfg" = batching ]; then
        # detection and redaction in one call, as the Presidio service below does
        for r in $(seq 1 "$REPEAT"); do
            for c in $CLIENTS; do
                log "redact, $c clients, round $r"
                "$OHA" --no-tui --output-format json -m POST -T application/json -Z "$OUT/bodies.txt" \
                    -z "$DURATION" -c "$c" -w "$base/v1/redact" > "$OUT/redact-c$c-r$r.json"
                summ redact "$c" "$r" "$OUT/redact-c$c-r$r.json"
            done
        done
    fi
    curl -fs "$base/metrics" > "$OUT/$cfg.metrics.txt"
    stop
done

# --- Presidio (PRESIDIO=1): analyze + anonymize under gunicorn on the same texts ----------------
if [ "${PRESIDIO:-0}" = 1 ]; then
    PV="${PRESIDIO_VENV:-bench/.venv-presidio}"
    [ -x "$PV/bin/gunicorn" ] || { echo "PRESIDIO=1 needs $PV with presidio-analyzer, presidio-anonymizer, flask, gunicorn" >&2; exit 1; }
    export PRESIDIO_SPACY_MODEL="${PRESIDIO_SPACY_MODEL:-en_core_web_lg}"
    python3 - "$OUT/texts.jsonl" "$OUT/presidio-bodies.txt" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        out.write(json.dumps({"text": json.loads(line)["text"], "language": "en"}) + "\n")
PY
    for w in 1 2; do
        port=$((30000 + RANDOM % 20000))
        (cd bench && exec "../$PV/bin/gunicorn" -w "$w" -b "127.0.0.1:$port" 'presidio_app:create_app()') 2> "$OUT/presidio-w$w.log" &
        pid=$!
        for _ in $(seq 1 600); do curl -fs "127.0.0.1:$port/health" > /dev/null 2>&1 && break; sleep 0.2; done
        "$OHA" --no-tui --output-format json -m POST -T application/json -Z "$OUT/presidio-bodies.txt" \
            -z 5s -c 4 "http://127.0.0.1:$port/redact" > "$OUT/presidio-warmup.json"
        for r in $(seq 1 "$REPEAT"); do
            for c in $CLIENTS; do
                log "presidio, $w workers, $c clients, round $r"
                "$OHA" --no-tui --output-format json -m POST -T application/json -Z "$OUT/presidio-bodies.txt" \
                    -z "$DURATION" -c "$c" -w "http://127.0.0.1:$port/redact" > "$OUT/presidio-w$w-c$c-r$r.json"
                summ "presidio-w$w" "$c" "$r" "$OUT/presidio-w$w-c$c-r$r.json"
            done
        done
        stop
    done
    echo "$PRESIDIO_SPACY_MODEL" > "$OUT/presidio-model.txt"
fi

# --- overload: 10x the capacity measured at the most clients, in-flight bound 256 texts ----------------------------
cap=$(python3 - "$res" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
top = max(int(r[1]) for r in rows if r[0] == "batching")
print(round(statistics.median(float(r[3]) for r in rows if r[0] == "batching" and int(r[1]) == top)))
PY
)
rate=$((cap * 10))
start overload --max-in-flight-texts 256
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
log "overload: $rate requests/s offered (10 x $cap) by 512 clients for $DURATION"
oha_run "$OUT/overload.json" -z "$DURATION" -c 512 -q "$rate" -w
summ overload 512 1 "$OUT/overload.json"
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
curl -fs "$base/metrics" > "$OUT/overload.metrics.txt"
stop
python3 - "$OUT" "$rss0" "$hwm" "$rate" <<'PY' > "$OUT/overload.txt"
import json, re, sys
out, rss0, hwm, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(f"{out}/overload.json"))
m = open(f"{out}/overload.metrics.txt").read()
def served(outcome):
    v = re.search(r'jner_requests_total\{route="/v1/entities",outcome="%s"\} (\d+)' % outcome, m)
    return int(v.group(1)) if v else 0
codes = d.get("statusCodeDistribution", {})
print(json.dumps({
    "offered_rps": rate, "clients": 512,
    "oha_status": codes, "oha_errors": d.get("errorDistribution", {}),
    "server_ok": served("ok"), "server_overloaded": served("overloaded"),
    "server_timeout": served("timeout"),
    "rss_idle_mib": round(rss0 / 1024, 1), "rss_peak_mib": round(hwm / 1024, 1),
}, indent=1))
PY
cat "$OUT/overload.txt" >&2
python3 bench/serve_report.py "$OUT" > "$OUT/report.md"
cat "$OUT/report.md"
