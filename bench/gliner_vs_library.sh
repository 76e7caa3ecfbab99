#!/usr/bin/env bash
# jner `gliner` vs the Python `gliner` library (current release, its own trainer): a fresh
# GLiNER (hidden_size 512, markerV0) on all-MiniLM-L6-v2, the same training examples, the same
# hyper-parameters, 2 threads each, one run. Both are scored by `jner eval` on the same held-out
# documents. What is compared and why the training set is a subsample on CPU:
# bench/GLINER_VS_LIBRARY.md.
#
#   bash bench/gliner_vs_library.sh                         # TRAIN_WORDS=15000 EPOCHS=3
#   TRAIN_WORDS=0 EPOCHS=10 bash bench/gliner_vs_library.sh # the whole split (GPU-sized)
#
# Environment:
#   TRAIN_WORDS=15000  seeded subsample of the split's train.jsonl (0 = all of it)
#   EVAL_WORDS=0       the same for eval.jsonl (0 = every held-out document)
#   CHUNK=150          training documents cut into pieces of at most this many words (both
#                      sides get the same pieces; the spec's pipeline used 150)
#   EPOCHS=3 BATCH=8 LR=3e-5 LR_OTHERS=5e-5 THREADS=2 SEED=42
#   ALPHA=-1 GAMMA=0   the loss's focal options (the library's focal_loss_alpha/gamma)
#   DATA=../shared/data  ENCODER=models/all-MiniLM-L6-v2  OUT=bench/out/gliner
#   SKIP_BUILD=1  SKIP_JNER=1 / SKIP_LIB=1 (reuse that side's outputs in $OUT)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

TRAIN_WORDS="${TRAIN_WORDS:-15000}"; EVAL_WORDS="${EVAL_WORDS:-0}"; CHUNK="${CHUNK:-150}"
EPOCHS="${EPOCHS:-3}"; BATCH="${BATCH:-8}"; LR="${LR:-3e-5}"; LR_OTHERS="${LR_OTHERS:-5e-5}"
THREADS="${THREADS:-2}"; SEED="${SEED:-42}"; ALPHA="${ALPHA:--1}"; GAMMA="${GAMMA:-0}"
DATA="${DATA:-../shared/data}"; ENCODER="${ENCODER:-models/all-MiniLM-L6-v2}"
OUT="${OUT:-bench/out/gliner}"
JNER=target/torch/release/jner
LABELS="ClinicalEvent,ClinicalProcedure,GenderIndication,MedicalCondition,MinorChild"
mkdir -p "$OUT"

log() { printf '[gliner_vs_library %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
timed() {  # timed NAME CMD...: GNU time report in $OUT/NAME.time, stdout+stderr in $OUT/NAME.log
    local name="$1"; shift
    if ! /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.log" 2>&1; then
        log "FAILED: $* (see $OUT/$name.log)"; tail -20 "$OUT/$name.log" >&2; exit 1
    fi
}

torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
scripts/fetch-minilm.sh >&2
PY="$(bash bench/setup-gliner-venv.sh)"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building jner --features torch (release)"
    CARGO_TARGET_DIR=target/torch cargo build --release -p jner --features torch
fi
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cat /proc/loadavg > "$OUT/loadavg_start.txt"

# --- data: the project's split, a seeded subsample, the same chunks for both sides -----------
"$JNER" data split --data-dir "$DATA/maccrobat" --corona "$DATA/corona/Corona2.json" \
    --csv "$DATA/reviews/mydata.csv" --output-dir "$OUT/split" > /dev/null
python3 bench/subsample.py "$OUT/split/train.jsonl" "$OUT/train_docs.jsonl" --words "$TRAIN_WORDS" --seed "$SEED" > "$OUT/train_sample.json"
python3 bench/subsample.py "$OUT/split/eval.jsonl" "$OUT/eval.jsonl" --words "$EVAL_WORDS" --seed "$SEED" > "$OUT/eval_sample.json"
"$PY" bench/gliner_lib.py chunk "$OUT/train_docs.jsonl" "$OUT/train.jsonl" "$OUT/train_gliner.json" --words "$CHUNK" > "$OUT/chunks.json"
: > "$OUT/empty.jsonl"
log "train $(cat "$OUT/train_sample.json") → $(cat "$OUT/chunks.json"); eval $(cat "$OUT/eval_sample.json")"

# --- jner ------------------------------------------------------------------------------------
if [ "${SKIP_JNER:-0}" != 1 ]; then
    rm -rf "$OUT/jner"
    log "jner: training"
    timed jner_train "$JNER" train --backend gliner --model "$ENCODER" \
        --train-jsonl "$OUT/train.jsonl" --eval-jsonl "$OUT/empty.jsonl" --epochs "$EPOCHS" \
        --batch-size "$BATCH" --lr "$LR" --lr-others "$LR_OTHERS" --threads "$THREADS" \
        --loss-alpha "$ALPHA" --loss-gamma "$GAMMA" \
        --seed "$SEED" --output-dir "$OUT/jner"
    printf '{"id":"load-only","text":""}\n' > "$OUT/load_only.jsonl"
    timed jner_load "$JNER" predict --model "$OUT/jner/final" --input "$OUT/load_only.jsonl" \
        --output "$OUT/load_only_pred.jsonl" --labels "$LABELS"
    log "jner: predicting"
    timed jner_infer "$JNER" predict --model "$OUT/jner/final" --input "$OUT/eval.jsonl" \
        --output "$OUT/jner_pred.jsonl" --labels "$LABELS" --batch-size 8
    "$JNER" eval --gold "$OUT/eval.jsonl" --pred "$OUT/jner_pred.jsonl" --json > "$OUT/jner_eval.json"
fi

# --- the library -----------------------------------------------------------------------------
if [ "${SKIP_LIB:-0}" != 1 ]; then
    rm -rf "$OUT/lib"
    log "library: training"
    timed lib_train "$PY" bench/gliner_lib.py train --encoder "$ENCODER" --train "$OUT/train_gliner.json" \
        --out "$OUT/lib" --epochs "$EPOCHS" --lr "$LR" --lr-others "$LR_OTHERS" --batch "$BATCH" \
        --seed "$SEED" --threads "$THREADS" --alpha "$ALPHA" --gamma "$GAMMA"
    log "library: predicting"
    timed lib_infer "$PY" bench/gliner_lib.py predict --model "$OUT/lib/model" --input "$OUT/eval.jsonl" \
        --out "$OUT/lib_pred.jsonl" --labels "$LABELS" --threads "$THREADS"
    "$JNER" eval --gold "$OUT/eval.jsonl" --pred "$OUT/lib_pred.jsonl" --json > "$OUT/lib_eval.json"
fi
[ -f bench/gliner_report.py ] && python3 bench/gliner_report.py "$OUT"
