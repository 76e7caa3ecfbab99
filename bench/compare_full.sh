#!/usr/bin/env bash
# The README's backend comparison: `jner compare` on the full data (MACCROBAT, Corona2.json,
# the reviews CSV) with the three backends on one document-level split, then the README's
# section is regenerated from its report.md (bench/readme_comparison.py).
#
# On a 2-core CPU machine the transformer backends train on a documented subsample
# (TRAIN_DOCS of each training part, the same held-out documents for all), since one
# transformer epoch on the whole training part takes about an hour here; cnn trains on all
# of it. With a GPU, set TRAIN_DOCS=0 and DEVICE=cuda for the full run.
#
#   bash bench/compare_full.sh            # ~45 min on 2 cores
#   FOLDS=5 BACKENDS=cnn bash bench/compare_full.sh   # cnn alone, 5 folds
set -euo pipefail
cd "$(dirname "$0")/.."
JNER=${JNER:-target/torch/release/jner}
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench/out/compare-full}
BACKENDS=${BACKENDS:-cnn,spanmarker,gliner}
ENCODER=${ENCODER:-models/all-MiniLM-L6-v2}
TRAIN_DOCS=${TRAIN_DOCS:-50}
EPOCHS=${EPOCHS:-5}
DEVICE=${DEVICE:-cpu}
FOLDS=${FOLDS:-}
README=${README:-README.md}

args=(compare --data-dir "$DATA/maccrobat" --corona "$DATA/corona/Corona2.json"
  --csv "$DATA/reviews/mydata.csv" --backends "$BACKENDS" --threads 2
  --output-dir "$OUT" --overwrite)
[[ -n $FOLDS ]] && args+=(--folds "$FOLDS")
for b in spanmarker gliner; do
  [[ ,$BACKENDS, == *,$b,* ]] || continue
  args+=(--model-for "$b=$ENCODER" --epochs-for "$b=$EPOCHS")
  (( TRAIN_DOCS > 0 )) && args+=(--train-docs "$b=$TRAIN_DOCS")
  [[ $DEVICE != cpu ]] && args+=(--train-arg "$b=--device=$DEVICE")
done
# a fresh head on a small sample needs a higher learning rate than the spec's fine-tuning one
# (bench/SPANMARKER_VS_LIBRARY.md run 2, bench/GLINER_VS_LIBRARY.md run 2)
[[ ,$BACKENDS, == *,spanmarker,* ]] && args+=(--train-arg "spanmarker=--lr=2e-4")
[[ ,$BACKENDS, == *,gliner,* ]] && args+=(--train-arg "gliner=--lr-others=1e-3")
mkdir -p "$(dirname "$OUT")"
"$JNER" "${args[@]}"
if [[ $README != none ]]; then
  python3 bench/readme_comparison.py "$OUT/report.md" "$README"
fi
