#!/usr/bin/env bash
# Zero-shot retention of the gliner backend: GenderIndication's F1 (a) trained on it, (b) with
# it withheld from training (`--labels` without it) and only named at prediction time, (c) the
# untrained fresh model. All three are fresh GLiNERs on all-MiniLM-L6-v2 with the settings and
# training examples of bench/gliner_vs_library.sh (run that first: it is model (a)). Scored on
# every review that neither training run saw (the held-out documents plus the split's training
# documents outside the subsample, copies removed by text), all five labels in the prompt.
#
#   RUN=bench/out/gliner-run1 bash bench/gliner_zero_shot.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
RUN="${RUN:-bench/out/gliner-run1}"; OUT="${OUT:-$RUN/zero-shot}"; mkdir -p "$OUT"
EPOCHS="${EPOCHS:-5}"; BATCH="${BATCH:-8}"; LR="${LR:-3e-5}"; LR_OTHERS="${LR_OTHERS:-5e-5}"
THREADS="${THREADS:-2}"; SEED="${SEED:-42}"; ENCODER="${ENCODER:-models/all-MiniLM-L6-v2}"
JNER=target/torch/release/jner
ALL="ClinicalEvent,ClinicalProcedure,GenderIndication,MedicalCondition,MinorChild"
WITHOUT="ClinicalEvent,ClinicalProcedure,MedicalCondition,MinorChild"
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
python3 - "$RUN" "$OUT/heldout_reviews.jsonl" <<'PY'
import json, sys
run, out = sys.argv[1], sys.argv[2]
seen = {json.loads(l)["text"] for l in open(f"{run}/train_docs.jsonl") if l.strip()}
keep, texts = [], set()
for f in (f"{run}/eval.jsonl", f"{run}/split/train.jsonl"):
    for l in open(f):
        if not l.strip():
            continue
        d = json.loads(l)
        if d.get("source") != "reviews":
            continue
        if d["text"] in seen or d["text"] in texts:
            continue
        texts.add(d["text"]); keep.append(d)
with open(out, "w") as f:
    for d in keep:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
gi = sum(s["label"] == "GenderIndication" for d in keep for s in d["spans"])
print(json.dumps({"reviews": len(keep), "GenderIndication_spans": gi}))
PY
common=(--train-jsonl "$RUN/train.jsonl" --eval-jsonl "$RUN/empty.jsonl" --batch-size "$BATCH"
        --threads "$THREADS" --seed "$SEED" --model "$ENCODER" --backend gliner)
[ -d "$OUT/withheld/final" ] || "$JNER" train "${common[@]}" --epochs "$EPOCHS" --lr "$LR" \
    --lr-others "$LR_OTHERS" --labels "$WITHOUT" --output-dir "$OUT/withheld" > "$OUT/withheld.log" 2>&1
# an untrained fresh model: one step at a learning rate of 1e-30 (the weights do not move)
[ -d "$OUT/untrained/final" ] || "$JNER" train "${common[@]}" --epochs 1 --lr 1e-30 \
    --lr-others 1e-30 --output-dir "$OUT/untrained" > "$OUT/untrained.log" 2>&1
echo "| model | GenderIndication P | R | F1 | support | micro F1, all labels |"
echo "|---|---:|---:|---:|---:|---:|"
for m in "trained on it:$RUN/jner/final" "withheld, named at prediction:$OUT/withheld/final" "untrained fresh model:$OUT/untrained/final"; do
  name="${m%%:*}"; dir="${m#*:}"
  "$JNER" predict --model "$dir" --input "$OUT/heldout_reviews.jsonl" --labels "$ALL" --output "$OUT/pred.jsonl"
  "$JNER" eval --gold "$OUT/heldout_reviews.jsonl" --pred "$OUT/pred.jsonl" --json > "$OUT/eval.json"
  python3 - "$OUT/eval.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); g = r["per_label"].get("GenderIndication", {"precision": 0, "recall": 0, "f1": 0, "support": 0})
print(f"| {sys.argv[2]} | {g['precision']:.3f} | {g['recall']:.3f} | {g['f1']:.3f} | {g['support']} | {r['micro']['f1']:.3f} |")
PY
done
