"""Parity of jner's SpanMarker backend with the Python `span_marker` library.

1. Python loads a model jner saved and predicts the same entities (same scores to 1e-4).
2. Python saves that model with its own `save_pretrained` (pytorch_model.bin, its config and
   tokenizer files); jner loads that folder and predicts the same entities again.

Usage (from the repository root; see bench/README.md):
    python bench/parity.py --rust-bin target/torch/release/examples/spanmarker \
        --model bench/out/parity/rust/final --docs bench/out/parity/test.jsonl
"""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")


def rust_predict(rust_bin, model, docs_path):
    out = subprocess.run(
        [rust_bin, "predict", "--model", str(model), "--input", str(docs_path), "--threads", "2"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {j["id"]: j["entities"] for j in map(json.loads, out.splitlines())}


def python_predict(model, docs):
    words, offsets = [], []
    for d in docs:
        ms = list(WORD.finditer(d["text"]))
        words.append([m.group() for m in ms])
        offsets.append([(m.start(), m.end()) for m in ms])
    preds = model.predict(words, batch_size=8, show_progress_bar=False)
    out = {}
    for d, off, ents in zip(docs, offsets, preds):
        out[d["id"]] = [
            {"start": off[e["word_start_index"]][0], "end": off[e["word_end_index"] - 1][1],
             "label": e["label"], "score": e["score"]}
            for e in ents
        ]
    return out


def compare(a, b, what):
    n, worst, mismatches = 0, 0.0, []
    for k in a:
        ka = [(e["start"], e["end"], e["label"]) for e in a[k]]
        kb = [(e["start"], e["end"], e["label"]) for e in b[k]]
        if ka != kb:
            mismatches.append((k, ka, kb))
            continue
        for x, y in zip(a[k], b[k]):
            worst = max(worst, abs(x["score"] - y["score"]))
        n += len(ka)
    print(f"{what}: {n} entities identical, max |score diff| {worst:.2e}, "
          f"{len(mismatches)} document(s) differ")
    for m in mismatches[:3]:
        print("   ", m)
    return not mismatches and worst < 1e-4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust-bin", required=True)
    ap.add_argument("--model", required=True, help="a model folder jner saved")
    ap.add_argument("--docs", required=True, help="jner JSONL documents to predict")
    ap.add_argument("--out", default="bench/out/parity")
    args = ap.parse_args()

    import torch
    from span_marker import SpanMarkerModel

    torch.set_num_threads(2)
    docs = [json.loads(l) for l in open(args.docs) if l.strip()]
    ours = rust_predict(args.rust_bin, args.model, args.docs)

    model = SpanMarkerModel.from_pretrained(args.model)
    model.eval()
    theirs = python_predict(model, docs)
    ok1 = compare(ours, theirs, "jner-saved model, jner vs span_marker")

    py_dir = Path(args.out) / "python-saved"
    model.save_pretrained(py_dir)
    print("span_marker saved:", sorted(p.name for p in py_dir.iterdir()))
    ours2 = rust_predict(args.rust_bin, py_dir, args.docs)
    ok2 = compare(ours2, theirs, "span_marker-saved model, jner vs span_marker")
    total = sum(len(v) for v in theirs.values())
    print(f"{len(docs)} documents, {total} entities predicted by span_marker")
    sys.exit(0 if ok1 and ok2 and total > 0 else 1)


if __name__ == "__main__":
    main()
