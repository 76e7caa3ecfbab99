#!/usr/bin/env bash
# The transformer teachers of issue #11 on the reviews folds of bench/reviews_cv.sh: `gliner`
# (a fresh GLiNER head on all-MiniLM-L6-v2, one encoder pass per text) and `spanmarker` (the
# same encoder, SpanMarker's head), each trained on a fold's training reviews for a fixed
# number of epochs and scored with its `final/` model by `jner eval` on the fold's held-out
# reviews, as every cnn variant is. Then, optionally, a cnn student distilled from the gliner
# teacher over the unlabeled reviews (DISTILL=1), scored the same way.
#
#   bash bench/reviews_teachers.sh                      # fold 1, both teachers, 3 epochs
#   FOLDS="1 2 3 4 5" TEACHERS=gliner DISTILL=1 bash bench/reviews_teachers.sh
#
# Inference words/s: `jner predict` over the fold's held-out reviews (whitespace words), wall
# time minus a one-line run's (model loading). Training seconds: train_report.json.
# On a 2-core CPU one transformer epoch over a fold's ~385 training reviews takes minutes;
# with a GPU set DEVICE=cuda.
#
# Environment: OUT=bench/out/reviews_cv (the folds of reviews_cv.sh must be there)
#   JNER=target/torch/release/jner ENCODER=models/all-MiniLM-L6-v2 EPOCHS=3 DEVICE=cpu
#   GLINER_ARGS="--lr 5e-5 --lr-others 1e-3" SPANMARKER_ARGS="--lr 2e-4"
#   DATA=../shared/data THREADS=2
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
OUT="${OUT:-bench/out/reviews_cv}"; FOLDS="${FOLDS:-1}"; TEACHERS="${TEACHERS:-gliner spanmarker}"
JNER="${JNER:-target/torch/release/jner}"; ENCODER="${ENCODER:-models/all-MiniLM-L6-v2}"
EPOCHS="${EPOCHS:-3}"; DEVICE="${DEVICE:-cpu}"; DISTILL="${DISTILL:-0}"; THREADS="${THREADS:-2}"
GLINER_ARGS="${GLINER_ARGS:---lr 5e-5 --lr-others 1e-3}"; SPANMARKER_ARGS="${SPANMARKER_ARGS:---lr 2e-4}"
DATA="${DATA:-../shared/data}"; UNLABELED="$DATA/unlabeled/reviews.jsonl"
log() { printf '[reviews_teachers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[ -f "$OUT/folds/fold-1/eval.jsonl" ] || { log "no folds in $OUT/folds: run bench/reviews_cv.sh first"; exit 1; }
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $JNER"

score() {  # dir fold model [predict args]: predict the fold's eval, score it, time it
    local dir="$1" f="$2" model="$3"; shift 3
    local fd="$OUT/folds/fold-$f" t0 t1 t2
    printf '{"id":"one","text":"My son loves it."}\n' > "$dir/one.jsonl"
    t0=$(date +%s.%N)
    "$JNER" predict --model "$model" --input "$dir/one.jsonl" --output "$dir/one.pred.jsonl" "$@" 2> /dev/null
    t1=$(date +%s.%N)
    "$JNER" predict --model "$model" --input "$fd/eval.jsonl" --output "$dir/fold-$f.pred.jsonl" "$@" \
        2> "$dir/fold-$f.predict.log"
    t2=$(date +%s.%N)
    "$JNER" eval --gold "$fd/eval.jsonl" --pred "$dir/fold-$f.pred.jsonl" --json > "$dir/fold-$f.eval.json"
    python3 - "$fd/eval.jsonl" "$t0" "$t1" "$t2" > "$dir/fold-$f.infer.json" <<'PY'
import json, sys
words = sum(len(json.loads(l)["text"].split()) for l in open(sys.argv[1]))
t0, t1, t2 = map(float, sys.argv[2:5])
secs = max((t2 - t1) - (t1 - t0), 1e-9)
print(json.dumps({"words": words, "seconds": secs, "words_per_second": words / secs}))
PY
}

for f in $FOLDS; do
    fd="$OUT/folds/fold-$f"
    for t in $TEACHERS; do
        dir="$OUT/teacher-$t"; mkdir -p "$dir"
        case "$t" in
            gliner) extra="$GLINER_ARGS" ;;
            spanmarker) extra="$SPANMARKER_ARGS" ;;
            *) log "unknown teacher $t"; exit 1 ;;
        esac
        printf 'teacher-%s\treviews\t--backend %s --model %s --epochs %s %s\n' "$t" "$t" "$ENCODER" "$EPOCHS" "$extra" \
            > "$dir/variant.tsv"
        log "$t: fold $f, $EPOCHS epochs"
        # shellcheck disable=SC2086  # the extra arguments split into words on purpose
        "$JNER" train --backend "$t" --model "$ENCODER" --epochs "$EPOCHS" $extra --device "$DEVICE" \
            --train-jsonl "$fd/train.jsonl" --eval-jsonl "$fd/eval.jsonl" --threads "$THREADS" \
            --output-dir "$dir/fold-$f" --overwrite > "$dir/fold-$f.train.log" 2>&1 \
            || { log "FAILED: see $dir/fold-$f.train.log"; tail -5 "$dir/fold-$f.train.log" >&2; exit 1; }
        rm -rf "$dir/fold-$f"/checkpoint-epoch-*
        score "$dir" "$f" "$dir/fold-$f/final" --device "$DEVICE"
        log "$t: fold $f: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["micro"])' "$dir/fold-$f.eval.json" 2>/dev/null || true)"
    done
    if [ "$DISTILL" = 1 ]; then
        dir="$OUT/distill-gliner"; mkdir -p "$dir"
        printf 'distill-gliner\tall\tdistill --teacher {out}/teacher-gliner/fold-{fold}/final --unlabeled %s --backend cnn\n' \
            "$UNLABELED" > "$dir/variant.tsv"
        cat "$OUT/clinical.jsonl" "$fd/train.jsonl" > "$dir/fold-$f.train.jsonl"
        log "distill-gliner: fold $f"
        "$JNER" distill --teacher "$OUT/teacher-gliner/fold-$f/final" --unlabeled "$UNLABELED" --backend cnn \
            --train-jsonl "$dir/fold-$f.train.jsonl" --eval-jsonl "$fd/eval.jsonl" --threads "$THREADS" \
            --output-dir "$dir/fold-$f" --overwrite > "$dir/fold-$f.train.log" 2>&1 \
            || { log "FAILED: see $dir/fold-$f.train.log"; tail -5 "$dir/fold-$f.train.log" >&2; exit 1; }
        rm -rf "$dir/fold-$f"/checkpoint-epoch-*
        score "$dir" "$f" "$dir/fold-$f/final"
    fi
done
log "done"
