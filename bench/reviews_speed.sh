#!/usr/bin/env bash
# Inference speed of reviews_cv variants against spaCy 3.8's default NER, on one quiet machine,
# alternating, REPEAT rounds: every variant's fold-1 model and a spaCy pipeline trained on the
# same fold-1 training reviews predict the 4,078 unlabeled reviews (351,977 words). jner: wall
# time of `jner predict` minus a one-line run's (loading); spaCy: `nlp.pipe` time in process.
#
#   bash bench/reviews_speed.sh cnn cnn-vec-reviews cnn-vec-reviews-consistent
#
# Environment: OUT=bench/out/reviews_cv (where reviews_cv.sh left its variants) REPEAT=3
#   JNER=target/release/jner THREADS=2 DATA=../shared/data
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
OUT="${OUT:-bench/out/reviews_cv}"; REPEAT="${REPEAT:-3}"; JNER="${JNER:-target/release/jner}"
DATA="${DATA:-../shared/data}"; UNLABELED="$DATA/unlabeled/reviews.jsonl"
log() { printf '[reviews_speed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bash bench/setup_spacy.sh >&2
PY=bench/.venv-spacy/bin/python
sp="$OUT/spacy-speed"
mkdir -p "$sp"
if [ ! -d "$sp/model" ]; then
    log "training spaCy on fold-1 training reviews"
    "$PY" bench/spacy_ner.py --train "$OUT/folds/fold-1/train.jsonl" --eval "$OUT/folds/fold-1/eval.jsonl" \
        --threads 1 --model-out "$sp/model" --min-infer-seconds 0 > "$sp/train.log" 2>&1
fi
log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '{"id":"one","text":"My son loves it."}\n' > "$sp/one.jsonl"
words=$(python3 -c 'import json,sys; print(sum(len(json.loads(l)["text"].split()) for l in open(sys.argv[1])))' "$UNLABELED")
res="$sp/rounds.tsv"; : > "$res"
for r in $(seq 1 "$REPEAT"); do
    for v in "$@"; do
        pargs=$(cut -f4 "$OUT/$v/variant.tsv")
        t0=$(date +%s.%N)
        "$JNER" predict --model "$OUT/$v/fold-1/final" --input "$sp/one.jsonl" --output "$sp/one.pred" 2> /dev/null
        t1=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$JNER" predict --model "$OUT/$v/fold-1/final" --input "$UNLABELED" $pargs --output "$sp/$v.pred" 2> /dev/null
        t2=$(date +%s.%N)
        python3 -c "import sys; t0,t1,t2=map(float,sys.argv[1:4]); print(f'{sys.argv[4]}\t{sys.argv[5]}\t{int(sys.argv[6])/((t2-t1)-(t1-t0)):.0f}')" \
            "$t0" "$t1" "$t2" "$r" "$v" "$words" >> "$res"
    done
    "$PY" bench/spacy_ner.py --model-in "$sp/model" --eval "$UNLABELED" --threads 1 \
        --min-infer-seconds 0 --metrics-out "$sp/infer-$r.json" > "$sp/infer-$r.log" 2>&1
    python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(f'{sys.argv[2]}\tspacy\t{m[\"eval_words\"]/m[\"eval_predict_seconds\"]:.0f}')" \
        "$sp/infer-$r.json" "$r" >> "$res"
    log "round $r done"
done
python3 - "$res" <<'PY'
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(list)
for r, v, w in rows:
    by[v].append(float(w))
sp = statistics.mean(by["spacy"])
print("| model | words/s (mean of rounds) | min–max | × spaCy |")
print("|---|---:|---:|---:|")
for v, ws in by.items():
    print(f"| {v} | {statistics.mean(ws):,.0f} | {min(ws):,.0f}–{max(ws):,.0f} | {statistics.mean(ws)/sp:.1f} |")
PY
