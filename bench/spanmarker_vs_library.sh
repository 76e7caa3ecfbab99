#!/usr/bin/env bash
# jner `spanmarker` vs the Python `span_marker` library (1.8.1): same encoder
# (all-MiniLM-L6-v2), same training documents, same hyper-parameters, 2 threads each, one run.
# Both are scored by `jner eval` on the same held-out documents. What is compared and why the
# training set is a subsample on CPU: bench/SPANMARKER_VS_LIBRARY.md.
#
#   bash bench/spanmarker_vs_library.sh                    # TRAIN_WORDS=10000 EPOCHS=1
#   TRAIN_WORDS=0 EPOCHS=5 bash bench/spanmarker_vs_library.sh   # the whole split (GPU-sized)
#
# Environment:
#   TRAIN_WORDS=10000   seeded subsample of the split's train.jsonl (0 = all of it)
#   EVAL_WORDS=0        the same for eval.jsonl (0 = all 71 held-out documents)
#   EPOCHS=1 BATCH=8 LR=5e-5 ENTITY_MAX=8 MODEL_MAX=256 THREADS=2 SEED=42
#   PRED_BATCH=16       samples per forward pass at prediction, both sides
#   JNER_TRAIN_ARGS="…" extra flags for `jner train` (e.g. "--window-group 0")
#   DATA=../shared/data  ENCODER=models/all-MiniLM-L6-v2  OUT=bench/out/spanmarker
#   SKIP_BUILD=1        use the existing target/torch/release/jner
#   SKIP_JNER=1 / SKIP_LIB=1   reuse that side's outputs from an earlier run in $OUT
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

TRAIN_WORDS="${TRAIN_WORDS:-10000}"; EVAL_WORDS="${EVAL_WORDS:-0}"
EPOCHS="${EPOCHS:-1}"; BATCH="${BATCH:-8}"; LR="${LR:-5e-5}"
ENTITY_MAX="${ENTITY_MAX:-8}"; MODEL_MAX="${MODEL_MAX:-256}"
THREADS="${THREADS:-2}"; SEED="${SEED:-42}"; PRED_BATCH="${PRED_BATCH:-16}"
DATA="${DATA:-../shared/data}"; ENCODER="${ENCODER:-models/all-MiniLM-L6-v2}"
OUT="${OUT:-bench/out/spanmarker}"
JNER=target/torch/release/jner
mkdir -p "$OUT"

log() { printf '[spanmarker_vs_library %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
timed() {  # timed NAME CMD...: GNU time report in $OUT/NAME.time, stderr in $OUT/NAME.log
    local name="$1"; shift
    if ! /usr/bin/time -v -o "$OUT/$name.time" "$@" 2> "$OUT/$name.log"; then
        log "FAILED: $* (see $OUT/$name.log)"; tail -20 "$OUT/$name.log" >&2; exit 1
    fi
}

# --- setup -----------------------------------------------------------------------------------
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
scripts/fetch-minilm.sh >&2
PY="$(bash bench/setup-venv.sh)"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building jner --features torch (release)"
    CARGO_TARGET_DIR=target/torch cargo build --release -p jner --features torch
fi
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{exit !($1 > 0.5)}' /proc/loadavg && log "WARNING: the machine is busy; timings will be noisy"
cat /proc/loadavg > "$OUT/loadavg_start.txt"

# --- data: the project's split, then seeded subsamples ----------------------------------------
"$JNER" data split --data-dir "$DATA/maccrobat" --corona "$DATA/corona/Corona2.json" \
    --csv "$DATA/reviews/mydata.csv" --output-dir "$OUT/split" > /dev/null
python3 bench/subsample.py "$OUT/split/train.jsonl" "$OUT/train.jsonl" --words "$TRAIN_WORDS" --seed "$SEED" > "$OUT/train_sample.json"
python3 bench/subsample.py "$OUT/split/eval.jsonl" "$OUT/eval.jsonl" --words "$EVAL_WORDS" --seed "$SEED" > "$OUT/eval_sample.json"
: > "$OUT/empty.jsonl"
printf '{"id":"load-only","text":""}\n' > "$OUT/load_only.jsonl"
log "train sample $(cat "$OUT/train_sample.json"), eval $(cat "$OUT/eval_sample.json")"

# --- jner -------------------------------------------------------------------------------------
if [ "${SKIP_JNER:-0}" != 1 ]; then
    log "jner: training"
    rm -rf "$OUT/jner"
    # no per-epoch evaluation (an empty eval file), like the library run: both keep final/
    timed jner_train "$JNER" train --backend spanmarker --model "$ENCODER" \
        --train-jsonl "$OUT/train.jsonl" --eval-jsonl "$OUT/empty.jsonl" \
        --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" --entity-max-length "$ENTITY_MAX" \
        --model-max-length "$MODEL_MAX" --threads "$THREADS" --seed "$SEED" --output-dir "$OUT/jner" \
        ${JNER_TRAIN_ARGS:-}
    log "jner: predicting"
    export OMP_NUM_THREADS="$THREADS"
    timed jner_load "$JNER" predict --model "$OUT/jner/final" --input "$OUT/load_only.jsonl" --output "$OUT/jner_load_pred.jsonl"
    timed jner_infer "$JNER" predict --model "$OUT/jner/final" --input "$OUT/eval.jsonl" \
        --output "$OUT/jner_pred.jsonl" --batch-size "$PRED_BATCH"
    unset OMP_NUM_THREADS
fi

# --- span_marker ------------------------------------------------------------------------------
if [ "${SKIP_LIB:-0}" != 1 ]; then
    log "span_marker: training"
    rm -rf "$OUT/lib"
    timed lib_train "$PY" bench/span_marker_lib.py train --encoder "$ENCODER" \
        --train "$OUT/train.jsonl" --out "$OUT/lib" --epochs "$EPOCHS" --batch-size "$BATCH" \
        --lr "$LR" --entity-max-length "$ENTITY_MAX" --model-max-length "$MODEL_MAX" \
        --threads "$THREADS" --seed "$SEED"
    log "span_marker: predicting"
    timed lib_load "$PY" bench/span_marker_lib.py predict --model "$OUT/lib/final" \
        --input "$OUT/load_only.jsonl" --output "$OUT/lib_load_pred.jsonl" --threads "$THREADS"
    timed lib_infer "$PY" bench/span_marker_lib.py predict --model "$OUT/lib/final" \
        --input "$OUT/eval.jsonl" --output "$OUT/lib_pred.jsonl" --threads "$THREADS" \
        --batch-size "$PRED_BATCH"
fi

# --- score and report -------------------------------------------------------------------------
"$JNER" eval --gold "$OUT/eval.jsonl" --pred "$OUT/jner_pred.jsonl" --json > "$OUT/jner_eval.json"
"$JNER" eval --gold "$OUT/eval.jsonl" --pred "$OUT/lib_pred.jsonl" --json > "$OUT/lib_eval.json"
python3 bench/spanmarker_report.py "$OUT" | tee "$OUT/spanmarker_vs_library.md"
log "done: $OUT/spanmarker_vs_library.{md,json}"
