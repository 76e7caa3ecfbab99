#!/usr/bin/env bash
# Accuracy on reviews, honestly: K document-level folds of the reviews CSV (`jner data split
# --folds K`), the same folds for every variant, each scored by `jner eval` on its held-out fold.
# A variant trains either on the reviews alone or on the clinical sources (MACCROBAT +
# Corona2.json) plus the fold's training reviews, always for a fixed number of epochs, and is
# scored with its `final/` model (never `best/`: picking the epoch on the held-out fold would
# leak it). Inference words/s of each variant: its fold-1 model over the unlabeled reviews.
#
#   bash bench/reviews_cv.sh                       # the variants in bench/reviews_cv_variants.tsv
#   VARIANTS=my.tsv FOLDS=5 bash bench/reviews_cv.sh
#   ONLY=cnn-window2 bash bench/reviews_cv.sh      # one variant (a name in the file)
#
# A variant whose folder already holds a finished run with the same arguments is skipped
# (RERUN=1 runs it again).
#
# The variants file: one line per variant, `name<TAB>sources<TAB>jner arguments`, where
# sources is `reviews` or `all` and the arguments are those of `jner train` (or `distill …`,
# with `{fold}` and `{out}` standing for the fold number and $OUT, e.g. a teacher trained by an
# earlier variant on the same fold), and an optional fourth column holds `jner predict`
# arguments (e.g. `--consistent`); `#` starts a comment. Results land in $OUT/<variant>/ and the
# table in $OUT/reviews_cv.md (bench/reviews_cv_report.py).
#
# Environment: FOLDS=5 SEED=42 THREADS=2 DATA=../shared/data OUT=bench/out/reviews_cv
#   JNER=target/release/jner (built unless SKIP_BUILD=1)  SPACY=1 (also spaCy's default NER)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

FOLDS="${FOLDS:-5}"; SEED="${SEED:-42}"; THREADS="${THREADS:-2}"
DATA="${DATA:-../shared/data}"; OUT="${OUT:-bench/out/reviews_cv}"
VARIANTS="${VARIANTS:-bench/reviews_cv_variants.tsv}"; ONLY="${ONLY:-}"
JNER="${JNER:-target/release/jner}"; SPACY="${SPACY:-0}"
UNLABELED="$DATA/unlabeled/reviews.jsonl"
mkdir -p "$OUT"
log() { printf '[reviews_cv %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building jner (release)"
    cargo build --release -p jner >&2
fi
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- the folds (reviews) and the clinical documents, written once ---------------------------
if [ ! -f "$OUT/folds/fold-$FOLDS/eval.jsonl" ]; then
    "$JNER" data split --no-maccrobat --no-corona --csv "$DATA/reviews/mydata.csv" \
        --folds "$FOLDS" --seed "$SEED" --output-dir "$OUT/folds" 2> "$OUT/folds.log"
    "$JNER" data export --data-dir "$DATA/maccrobat" --corona "$DATA/corona/Corona2.json" \
        --no-csv --output "$OUT/clinical.jsonl" 2> "$OUT/clinical.log"
fi

run_variant() {  # name sources predict-args args...
    local name="$1" sources="$2" pargs="$3"; shift 3
    local dir="$OUT/$name" line
    line="$(printf '%s\t%s\t%s' "$name" "$sources" "$*")"
    [ -z "$pargs" ] || line="$line$(printf '\t%s' "$pargs")"
    if [ "${RERUN:-0}" != 1 ] && [ -f "$dir/infer.json" ] && [ "$(cat "$dir/variant.tsv")" = "$line" ]; then
        log "$name: done before with the same arguments (RERUN=1 to run it again)"
        return
    fi
    mkdir -p "$dir"
    printf '%s\n' "$line" > "$dir/variant.tsv"
    for f in $(seq 1 "$FOLDS"); do
        local fd="$OUT/folds/fold-$f" train="$dir/fold-$f.train.jsonl"
        case "$sources" in
            reviews) cp "$fd/train.jsonl" "$train" ;;
            all) cat "$OUT/clinical.jsonl" "$fd/train.jsonl" > "$train" ;;
            *) log "variant $name: sources must be reviews or all, not $sources"; exit 1 ;;
        esac
        log "$name: fold $f/$FOLDS"
        # the arguments: `train …` (the default when they start with a flag) or `distill …`,
        # with {fold} and {out} replaced by the fold number and $OUT
        local cmd=(train) a
        case "${1:-}" in train|distill) cmd=() ;; esac
        for a in "$@"; do a="${a//\{fold\}/$f}"; cmd+=("${a//\{out\}/$OUT}"); done
        "$JNER" "${cmd[@]}" --train-jsonl "$train" --eval-jsonl "$fd/eval.jsonl" --threads "$THREADS" \
            --output-dir "$dir/fold-$f" --overwrite > "$dir/fold-$f.train.log" 2>&1 \
            || { log "FAILED: see $dir/fold-$f.train.log"; tail -5 "$dir/fold-$f.train.log" >&2; exit 1; }
        # shellcheck disable=SC2086  # predict arguments split into words on purpose
        "$JNER" predict --model "$dir/fold-$f/final" --input "$fd/eval.jsonl" $pargs \
            --output "$dir/fold-$f.pred.jsonl" 2> "$dir/fold-$f.predict.log"
        "$JNER" eval --gold "$fd/eval.jsonl" --pred "$dir/fold-$f.pred.jsonl" --json > "$dir/fold-$f.eval.json"
        # only final/ is scored: the per-epoch checkpoints would fill the disk (~3 GB a variant)
        rm -rf "$dir/fold-$f"/checkpoint-epoch-*
    done
    # inference speed: the fold-1 model over the unlabeled reviews, wall time of the process
    # minus that of a one-line run (model loading)
    printf '{"id":"one","text":"My son loves it."}\n' > "$dir/one.jsonl"
    local t0 t1 t2
    t0=$(date +%s.%N)
    "$JNER" predict --model "$dir/fold-1/final" --input "$dir/one.jsonl" --output "$dir/one.pred.jsonl" 2> /dev/null
    t1=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$JNER" predict --model "$dir/fold-1/final" --input "$UNLABELED" $pargs --output "$dir/unlabeled.pred.jsonl" 2> /dev/null
    t2=$(date +%s.%N)
    python3 - "$UNLABELED" "$t0" "$t1" "$t2" > "$dir/infer.json" <<'PY'
import json, sys
words = sum(len(json.loads(l)["text"].split()) for l in open(sys.argv[1]))
t0, t1, t2 = map(float, sys.argv[2:5])
secs = max((t2 - t1) - (t1 - t0), 1e-9)
print(json.dumps({"words": words, "seconds": secs, "words_per_second": words / secs}))
PY
}

while IFS=$'\t' read -r name sources args pargs; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ -n "$ONLY" ] && [ "$name" != "$ONLY" ]; then continue; fi
    # shellcheck disable=SC2086  # the arguments column is split into words on purpose
    run_variant "$name" "$sources" "${pargs:-}" $args
done < "$VARIANTS"

if [ "$SPACY" = 1 ]; then
    bash bench/setup_spacy.sh >&2
    PY=bench/.venv-spacy/bin/python
    dir="$OUT/spacy"; mkdir -p "$dir"
    printf 'spacy\treviews\tspaCy 3.8 default NER, 10 epochs, final epoch\n' > "$dir/variant.tsv"
    for f in $(seq 1 "$FOLDS"); do
        fd="$OUT/folds/fold-$f"
        log "spacy: fold $f/$FOLDS"
        "$PY" bench/spacy_ner.py --train "$fd/train.jsonl" --eval "$fd/eval.jsonl" --threads 1 --keep final \
            --pred-out "$dir/fold-$f.pred.jsonl" --metrics-out "$dir/fold-$f.metrics.json" \
            --model-out "$dir/fold-$f.model" --min-infer-seconds 0 > "$dir/fold-$f.log" 2>&1
        "$JNER" eval --gold "$fd/eval.jsonl" --pred "$dir/fold-$f.pred.jsonl" --json > "$dir/fold-$f.eval.json"
    done
    "$PY" bench/spacy_ner.py --model-in "$dir/fold-1.model" --eval "$UNLABELED" --threads 1 \
        --metrics-out "$dir/infer.metrics.json" > "$dir/infer.log" 2>&1
fi
python3 bench/reviews_cv_report.py "$OUT" | tee "$OUT/reviews_cv.md"
