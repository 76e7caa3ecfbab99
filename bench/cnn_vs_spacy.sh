#!/usr/bin/env bash
# jner `cnn` backend vs spaCy 3.8 default NER, on the same split, scored by jner's one scorer.
# What it measures and what is fair: bench/CNN_VS_SPACY.md.
#
#   bash bench/cnn_vs_spacy.sh                  # full run, EPOCHS=10
#   EPOCHS=2 bash bench/cnn_vs_spacy.sh         # quick run
#
# Environment:
#   EPOCHS=10            epochs for both models
#   THREADS=2            --threads for both (spaCy's NER is single-threaded whatever this says)
#   SEED=42              spaCy seed (jner uses its own default seed)
#   DATA=../shared/data  folder holding maccrobat/, corona/Corona2.json, reviews/mydata.csv
#   MIN_INFER_SECONDS=5  each timed inference run lasts at least this long
#   SPLIT=DIR            use DIR/train.jsonl and DIR/eval.jsonl instead of `jner data split`
#   SKIP_BUILD=1         do not run cargo build (use the existing target/release/jner)
#   SKIP_JNER=1 / SKIP_SPACY=1   reuse that side's outputs from an earlier run in bench/out
#   JNER_TRAIN_ARGS="…"  extra flags for `jner train`
#   JNER=PATH            the jner binary (default target/release/jner)
#   OUT=DIR              output folder (default bench/out; other benchmarks write there too)
#
# Writes everything under $OUT (bench/out/); the summary is $OUT/cnn_vs_spacy.{json,md}.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

EPOCHS="${EPOCHS:-10}"
THREADS="${THREADS:-2}"
SEED="${SEED:-42}"
DATA="${DATA:-../shared/data}"
MIN_INFER_SECONDS="${MIN_INFER_SECONDS:-5}"
OUT="${OUT:-bench/out}"
JNER="${JNER:-target/release/jner}"
mkdir -p "$OUT"

log() { printf '[cnn_vs_spacy %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# timed NAME CMD...: run CMD under GNU time, report in $OUT/NAME.time, stderr in $OUT/NAME.log
timed() {
    local name="$1"; shift
    if ! /usr/bin/time -v -o "$OUT/$name.time" "$@" 2> "$OUT/$name.log"; then
        log "FAILED: $* (see $OUT/$name.log)"
        tail -20 "$OUT/$name.log" >&2
        exit 1
    fi
}

log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if awk '{exit !($1 > 0.5)}' /proc/loadavg; then
    log "WARNING: the machine is busy; throughput numbers will be low and noisy"
fi
cat /proc/loadavg > "$OUT/loadavg_start.txt"

# --- setup ---------------------------------------------------------------------------------
bash bench/setup_spacy.sh
PY=bench/.venv-spacy/bin/python

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building jner (release)"
    cargo build --release -p jner
fi

# --- (b) split ------------------------------------------------------------------------------
if [ -n "${SPLIT:-}" ]; then
    split_dir="$SPLIT"
else
    split_dir="$OUT/split"
    log "exporting the split to $split_dir"
    "$JNER" data split --output-dir "$split_dir" --data-dir "$DATA/maccrobat" \
        --corona "$DATA/corona/Corona2.json" --csv "$DATA/reviews/mydata.csv"
fi
train="$split_dir/train.jsonl"
eval="$split_dir/eval.jsonl"
for f in "$train" "$eval"; do [ -s "$f" ] || { log "missing $f"; exit 1; }; done
log "train: $(wc -l < "$train") docs, $($PY bench/bench_util.py words "$train") words;" \
    "eval: $(wc -l < "$eval") docs, $($PY bench/bench_util.py words "$eval") words"

# --- (c) jner cnn ---------------------------------------------------------------------------
if [ "${SKIP_JNER:-0}" != 1 ]; then
    log "training jner cnn, $EPOCHS epochs"
    rm -rf "$OUT/jner_cnn"
    # shellcheck disable=SC2086
    timed jner_train "$JNER" train --backend cnn --train-jsonl "$train" --eval-jsonl "$eval" \
        --output-dir "$OUT/jner_cnn" --epochs "$EPOCHS" --threads "$THREADS" ${JNER_TRAIN_ARGS:-}

    log "jner: predicting the eval docs"
    timed jner_predict_eval "$JNER" predict --model "$OUT/jner_cnn/best" --input "$eval" \
        --output "$OUT/jner_pred.jsonl"

    # Inference speed: wall time of `jner predict` on the eval texts repeated R times, minus
    # the wall time of a one-sentence run (process start + model load; best of 3), so that
    # only prediction is counted, as the in-process timing does for spaCy. R grows until the
    # run lasts MIN_INFER_SECONDS (the repeated file is capped at about 1 GiB).
    printf '{"id":"tiny","text":"The patient was afebrile."}\n' > "$OUT/infer_tiny.jsonl"
    t0=""
    for i in 1 2 3; do
        timed jner_infer_tiny "$JNER" predict --model "$OUT/jner_cnn/best" \
            --input "$OUT/infer_tiny.jsonl" --output "$OUT/jner_infer_tiny_pred.jsonl"
        t="$($PY bench/bench_util.py elapsed "$OUT/jner_infer_tiny.time")"
        t0="$(awk -v a="$t" -v b="${t0:-$t}" 'BEGIN{print (a < b ? a : b)}')"
    done
    echo "$t0" > "$OUT/jner_infer_startup_seconds.txt"
    max_reps=$(( (1 << 30) / $(wc -c < "$eval") ))
    reps=10
    for attempt in 1 2 3 4 5 6; do
        $PY bench/bench_util.py repeat "$eval" "$reps" "$OUT/infer_input.jsonl"
        log "jner: timing inference on the eval texts x$reps"
        timed jner_infer "$JNER" predict --model "$OUT/jner_cnn/best" \
            --input "$OUT/infer_input.jsonl" --output "$OUT/jner_infer_pred.jsonl"
        tr="$($PY bench/bench_util.py elapsed "$OUT/jner_infer.time")"
        next="$($PY bench/bench_util.py next-reps "$reps" "$tr" "$t0" "$MIN_INFER_SECONDS" "$max_reps")"
        [ "$next" = done ] && break
        reps="$next"
    done
    echo "$reps" > "$OUT/jner_infer_repeats.txt"
    rm -f "$OUT/infer_input.jsonl" "$OUT/jner_infer_pred.jsonl"
fi

# --- (d) spaCy ------------------------------------------------------------------------------
if [ "${SKIP_SPACY:-0}" != 1 ]; then
    log "training spaCy, $EPOCHS epochs"
    rm -rf "$OUT/spacy_model"
    timed spacy_train "$PY" bench/spacy_ner.py --train "$train" --eval "$eval" \
        --epochs "$EPOCHS" --batch-size 8 --dropout 0.2 --seed "$SEED" --threads "$THREADS" \
        --min-infer-seconds "$MIN_INFER_SECONDS" --pred-out "$OUT/spacy_pred.jsonl" \
        --metrics-out "$OUT/spacy_metrics.json" --model-out "$OUT/spacy_model"
    log "spaCy: inference-only run (separate process, for its peak memory)"
    timed spacy_infer "$PY" bench/spacy_ner.py --model-in "$OUT/spacy_model" --eval "$eval" \
        --threads "$THREADS" --min-infer-seconds "$MIN_INFER_SECONDS" \
        --metrics-out "$OUT/spacy_infer_metrics.json"
fi

# --- (e) one scorer for both ----------------------------------------------------------------
for side in jner spacy; do
    pred="$OUT/${side}_pred.jsonl"
    [ -s "$pred" ] || { log "missing $pred"; exit 1; }
    "$JNER" eval --gold "$eval" --pred "$pred" --json > "$OUT/${side}_eval.json"
done

# --- (f) report -----------------------------------------------------------------------------
"$PY" bench/report.py --out-dir "$OUT" --train "$train" --eval "$eval" --epochs "$EPOCHS" \
    --threads "$THREADS" --min-infer-seconds "$MIN_INFER_SECONDS"
