#!/usr/bin/env bash
# Inference cost against text length for the gliner backend: texts of about 1k, 10k and 100k
# characters (held-out documents joined and cut at a word), the same ~200k characters in all
# at each length, 2 threads; words/s with the model load (an empty input) subtracted, three
# repeats each. Usage: bash bench/gliner_scaling.sh MODEL_DIR [EVAL.jsonl]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
MODEL="$1"; EVAL="${2:-bench/out/gliner-run1/eval.jsonl}"
OUT="${OUT:-bench/out/gliner-scaling}"; mkdir -p "$OUT"
JNER=target/torch/release/jner
LABELS="ClinicalEvent,ClinicalProcedure,GenderIndication,MedicalCondition,MinorChild"
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
python3 - "$EVAL" "$OUT" <<'PY'
import json, re, sys
docs = [json.loads(l)["text"] for l in open(sys.argv[1]) if l.strip()]
pool = " ".join(docs)
while len(pool) < 200_000:
    pool += " " + pool
for n in (1_000, 10_000, 100_000):
    k = 200_000 // n
    with open(f"{sys.argv[2]}/len{n}.jsonl", "w") as f:
        for i in range(k):
            t = pool[i * n:(i + 1) * n]
            t = t[: t.rfind(" ")] if " " in t else t
            f.write(json.dumps({"id": f"{n}-{i}", "text": t}) + "\n")
PY
printf '{"id":"load-only","text":""}\n' > "$OUT/load.jsonl"
secs() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
load=$(secs "$JNER" predict --model "$MODEL" --input "$OUT/load.jsonl" --labels "$LABELS" --output "$OUT/p.jsonl")
echo "| characters per text | texts | words | seconds (3 runs, load ${load}s subtracted) | words/s |"
echo "|---:|---:|---:|---|---:|"
for n in 1000 10000 100000; do
  f="$OUT/len$n.jsonl"
  words=$(python3 -c "import json,re,sys; print(sum(len(re.findall(r'\w+(?:[-_]\w+)*|\S', json.loads(l)['text'])) for l in open('$f')))")
  texts=$(wc -l < "$f")
  runs=()
  for r in 1 2 3; do
    t=$(secs "$JNER" predict --model "$MODEL" --input "$f" --labels "$LABELS" --output "$OUT/p.jsonl")
    runs+=("$(python3 -c "print(round($t - $load, 2))")")
  done
  best=$(printf '%s\n' "${runs[@]}" | sort -n | head -1)
  echo "| $n | $texts | $words | ${runs[*]} | $(python3 -c "print(round($words / $best))") |"
done
