#!/usr/bin/env bash
# Inference speed only, jner and the library alternating in one session (three rounds): a
# jner-trained and a library-trained fresh GLiNER on all-MiniLM-L6-v2 (same architecture; the
# weights do not change the cost) predict the same held-out documents, five labels, batch 8,
# 2 threads. jner's time is `jner predict` minus the same command on one empty document.
#   bash bench/gliner_infer_ab.sh JNER_MODEL LIB_MODEL EVAL.jsonl
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
JM="$1"; LM="$2"; EVAL="$3"; OUT="${OUT:-bench/out/gliner-infer}"; mkdir -p "$OUT"
PY="$(bash bench/setup-gliner-venv.sh)"; J=target/torch/release/jner
L="ClinicalEvent,ClinicalProcedure,GenderIndication,MedicalCondition,MinorChild"
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
printf '{"id":"load-only","text":""}\n' > "$OUT/load.jsonl"
words=$(python3 -c "import json,re; print(sum(len(re.findall(r'\w+(?:[-_]\w+)*|\S', json.loads(l)['text'])) for l in open('$EVAL') if l.strip()))")
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); $words words"
for r in 1 2 3; do
  l=$(/usr/bin/time -f %e "$J" predict --model "$JM" --input "$OUT/load.jsonl" --labels "$L" --output "$OUT/l.jsonl" 2>&1 >/dev/null | tail -1)
  t=$(/usr/bin/time -f %e "$J" predict --model "$JM" --input "$EVAL" --labels "$L" --batch-size 8 --output "$OUT/j.jsonl" 2>&1 >/dev/null | tail -1)
  lib=$("$PY" bench/gliner_lib.py predict --model "$LM" --input "$EVAL" --out "$OUT/lib.jsonl" --labels "$L" --threads 2 2>/dev/null | tail -1)
  python3 -c "
import json; t=$t-$l; lw=json.loads('$lib'); w=$words
print('round $r: jner %.2f s, %.0f words/s; library %.2f s, %.0f words/s; ratio %.2f' % (t, w/t, lw['predict_seconds'], lw['words_per_s'], (w/t)/lw['words_per_s']))"
done
