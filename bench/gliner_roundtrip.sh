#!/usr/bin/env bash
# A GLiNER model saved by jner loads in the Python `gliner` library (strict: every key) and
# scores the same: jner trains two models for an epoch on the demo corpus (a fine-tune of the
# library-made tiny DeBERTa fixture, and a fresh GLiNER on all-MiniLM-L6-v2), then both sides
# compute the logits of the fixture cases and the largest difference over real span cells is
# printed. Output: bench/gliner_roundtrip.txt (committed).
#
#   bash bench/gliner_roundtrip.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
OUT="${OUT:-bench/out/gliner-roundtrip}"
rm -rf "$OUT"; mkdir -p "$OUT"
torch_env="$(scripts/libtorch.sh)"  # a failed provisioning stops here (set -e)
eval "$torch_env"
scripts/fetch-minilm.sh >&2
PY="$(bash bench/setup-gliner-venv.sh)"
export CARGO_TARGET_DIR=target/torch
cargo build --release -q -p jner --features torch
cargo build --release -q -p jner-torch --example gliner_logits
JNER=target/torch/release/jner
CASES=crates/jner-torch/tests/fixtures/gliner/deberta/cases.json
{
  echo "# gliner_roundtrip.sh, $(date -u +%Y-%m-%d), jner $(git rev-parse --short HEAD), gliner $("$PY" -c 'import gliner; print(gliner.__version__)')"
  for base in crates/jner-torch/tests/fixtures/gliner/deberta models/all-MiniLM-L6-v2; do
    name="$(basename "$base")"
    "$JNER" train --backend gliner --model "$base" --demo --epochs 1 --threads 2 \
      --output-dir "$OUT/$name" > "$OUT/$name.train.log" 2>&1
    target/torch/release/examples/gliner_logits "$OUT/$name/final" "$CASES" "$OUT/$name.jner.safetensors"
    "$PY" bench/gliner_fixtures.py dump "$root/$OUT/$name/final" "$CASES" "$OUT/$name.lib.safetensors" > "$OUT/$name.lib.json"
    "$PY" - "$OUT/$name.jner.safetensors" "$OUT/$name.lib.safetensors" "$CASES" "$name" "$root/$OUT/$name/final" <<'PY'
import json, sys, warnings
from safetensors.torch import load_file
sys.path.insert(0, "bench")
import gliner_fixtures as gf
a, b, cases, name = load_file(sys.argv[1]), load_file(sys.argv[2]), json.load(open(sys.argv[3]))["cases"], sys.argv[4]
model = gf.gliner_from_dir(sys.argv[5], strict=True)
model.eval()
worst, n, skipped = 0.0, 0, []
for i, c in enumerate(cases):
    y = b[f"case{i}.logits"]
    x = a.get(f"case{i}.logits")
    if x is None or x.shape != y.shape:
        skipped.append(f'{c["name"]} (longer than the encoder takes in one piece: the library cut it, jner windows it)')
        continue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = model.prepare_batch([c["text"]], c["labels"])
        batch = model.collate_batch(p["input_x"], p["entity_types"], model.create_collator(), label_names=p["label_names"])
    W, K = x.shape[1], x.shape[2]
    if int((batch["words_mask"] > 0).sum()) < W:
        skipped.append(f'{c["name"]} (a word the tokenizer drops: the library shifts the later words, jner does not)')
        continue
    for s in range(W):
        for k in range(min(K, W - s)):
            worst = max(worst, (x[0, s, k] - y[0, s, k]).abs().max().item())
    n += 1
print(f"{name}: {n} cases, max |logit jner - library| over real span cells {worst:.2e}" + (f"; skipped {'; '.join(skipped)}" if skipped else ""))
PY
  done
} | tee bench/gliner_roundtrip.txt
