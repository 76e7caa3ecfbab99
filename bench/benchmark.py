"""jner's SpanMarker backend vs the Python `span_marker` library: same encoder, same split,
same hyper-parameters, 2 threads. Both are scored with the same exact character-span micro F1
on whole evaluation documents.

The library reads word lists of at most model_max_length tokens, so documents are cut into
chunks of whole sentences (at most --chunk-words words) for it; jner windows whole documents
itself. Usage (from the repository root; see bench/README.md):
    python bench/benchmark.py --rust-bin target/torch/release/examples/spanmarker \
        --encoder models/all-MiniLM-L6-v2 --train bench/out/split/train.jsonl \
        --eval bench/out/split/eval.jsonl [--max-docs N] [--epochs 5]
"""
import argparse
import json
import re
import subprocess
import time
from pathlib import Path

WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")


def load(path, n):
    docs = [json.loads(l) for l in open(path) if l.strip()]
    return docs[:n] if n else docs


def chunks(doc, max_words):
    """(words, word char offsets, IOB2 tags) of sentence-aligned chunks of a document."""
    ms = list(WORD.finditer(doc["text"]))
    tags = ["O"] * len(ms)
    for s in doc.get("spans", []):
        idx = [i for i, m in enumerate(ms) if m.start() < s["end"] and m.end() > s["start"]]
        if idx and all(t == "O" for t in (tags[i] for i in idx)):
            tags[idx[0]] = "B-" + s["label"]
            for i in idx[1:]:
                tags[i] = "I-" + s["label"]
    out, start = [], 0
    while start < len(ms):
        end = min(len(ms), start + max_words)
        if end < len(ms):  # back up to a sentence end, never inside an entity
            for j in range(end, start + max_words // 2, -1):
                if ms[j - 1].group() in ".!?" and not tags[j].startswith("I-"):
                    end = j
                    break
            while end < len(ms) and tags[end].startswith("I-"):
                end += 1
        out.append(([m.group() for m in ms[start:end]],
                    [(m.start(), m.end()) for m in ms[start:end]], tags[start:end]))
        start = end
    return out


def f1(gold_docs, preds):
    tp = fp = fn = 0
    for d in gold_docs:
        g = {(s["start"], s["end"], s["label"]) for s in d["spans"]}
        p = {(e["start"], e["end"], e["label"]) for e in preds[d["id"]]}
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
    return 2 * tp / max(1, 2 * tp + fp + fn)


def python_run(args, train, evald, labels):
    import torch
    from datasets import Dataset
    from span_marker import SpanMarkerModel, Trainer
    from transformers import TrainingArguments

    torch.set_num_threads(args.threads)
    tag_names = ["O"] + [f"{p}-{l}" for l in labels for p in "BI"]
    tag_id = {t: i for i, t in enumerate(tag_names)}
    rows = [{"tokens": w, "ner_tags": [tag_id[t] for t in tags]}
            for d in train for w, _, tags in chunks(d, args.chunk_words)]
    model = SpanMarkerModel.from_pretrained(
        args.encoder, labels=tag_names, model_max_length=args.model_max_length,
        marker_max_length=128, entity_max_length=args.entity_max_length)
    targs = TrainingArguments(
        output_dir=str(Path(args.out) / "python"), num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch, learning_rate=args.lr, weight_decay=0.01,
        warmup_ratio=0.1, lr_scheduler_type="linear", max_grad_norm=1.0, save_strategy="no",
        report_to=[], logging_steps=50, use_cpu=True, seed=args.seed, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=targs, train_dataset=Dataset.from_list(rows))
    t0 = time.time()
    trainer.train()
    train_s = time.time() - t0
    t0 = time.time()
    preds = {}
    for d in evald:
        ents = []
        cs = chunks(d, args.chunk_words)
        out = model.predict([w for w, _, _ in cs], batch_size=16, show_progress_bar=False) if cs else []
        for (_, off, _), es in zip(cs, out):
            for e in es:
                ents.append({"start": off[e["word_start_index"]][0],
                             "end": off[e["word_end_index"] - 1][1], "label": e["label"]})
        preds[d["id"]] = ents
    return train_s, time.time() - t0, f1(evald, preds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust-bin", required=True)
    ap.add_argument("--encoder", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--out", default="bench/out/benchmark")
    ap.add_argument("--max-docs", type=int, default=0, help="first N documents of each file")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--model-max-length", type=int, default=256)
    ap.add_argument("--entity-max-length", type=int, default=8)
    ap.add_argument("--chunk-words", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip", choices=["python", "rust"], default=None)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, evald = load(args.train, args.max_docs), load(args.eval, args.max_docs)
    labels = sorted({s["label"] for d in train for s in d["spans"]})
    words = sum(len(WORD.findall(d["text"])) for d in train)
    for name, docs in [("train", train), ("eval", evald)]:
        with open(out / f"{name}.jsonl", "w") as f:
            f.writelines(json.dumps(d) + "\n" for d in docs)
    result = {"train_docs": len(train), "eval_docs": len(evald), "train_words": words,
              "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "threads": args.threads}
    if args.skip != "rust":
        t0 = time.time()
        subprocess.run([args.rust_bin, "train", "--model", args.encoder,
                        "--train", str(out / "train.jsonl"), "--eval", str(out / "eval.jsonl"),
                        "--out", str(out / "rust"), "--epochs", str(args.epochs),
                        "--batch", str(args.batch), "--lr", str(args.lr),
                        "--threads", str(args.threads), "--seed", str(args.seed),
                        "--model-max-length", str(args.model_max_length),
                        "--entity-max-length", str(args.entity_max_length)],
                       check=True, stdout=subprocess.DEVNULL)
        wall = time.time() - t0
        m = [json.loads(l) for l in open(out / "rust" / "metrics.jsonl")]
        train_s = sum(x["train_seconds"] for x in m)
        result["jner"] = {"train_seconds": train_s, "train_words_per_s": words * args.epochs / train_s,
                          "eval_seconds_last": m[-1]["eval_seconds"],
                          "f1_last": m[-1]["eval"]["micro"]["f1"] if m[-1]["eval"] else None,
                          "wall_seconds": wall}
    if args.skip != "python":
        train_s, eval_s, f = python_run(args, train, evald, labels)
        result["span_marker"] = {"train_seconds": train_s,
                                 "train_words_per_s": words * args.epochs / train_s,
                                 "eval_seconds": eval_s, "f1": f}
    print(json.dumps(result, indent=1))
    (out / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
