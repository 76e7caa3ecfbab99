"""The Python `span_marker` library's side of bench/spanmarker_vs_library.sh.

    span_marker_lib.py train   --encoder DIR --train train.jsonl --out DIR [hyper-parameters]
    span_marker_lib.py predict --model DIR --input eval.jsonl --output pred.jsonl

The library reads lists of words of at most model_max_length subwords, so documents are cut
into chunks of whole sentences (at most --chunk-words words, never inside an entity) and
the word-level entities are mapped back to character offsets of the document. `train`
saves the model with save_pretrained (OUT/final) and writes OUT/train_stats.json (seconds
per epoch, every optimizer step's wall time). `predict` writes jner's prediction JSONL
(`{"id", "entities": [{"start", "end", "label", "score"}]}`, character offsets), which
`jner eval --gold --pred` scores.
"""
import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")


def read_jsonl(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


def chunks(doc, max_words):
    """(words, word character offsets, IOB2 tags) of sentence-aligned chunks of a document."""
    text = doc["text"]
    ms = list(WORD.finditer(text))
    tags = ["O"] * len(ms)
    for s in doc.get("spans", []):
        idx = [i for i, m in enumerate(ms) if m.start() < s["end"] and m.end() > s["start"]]
        if idx and all(tags[i] == "O" for i in idx):
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


def train(args):
    import torch
    from datasets import Dataset
    from span_marker import SpanMarkerModel, Trainer
    from transformers import TrainerCallback, TrainingArguments

    torch.set_num_threads(args.threads)
    docs = read_jsonl(args.train)
    labels = sorted({s["label"] for d in docs for s in d.get("spans", [])})
    tag_names = ["O"] + [f"{p}-{l}" for l in labels for p in "BI"]
    tag_id = {t: i for i, t in enumerate(tag_names)}
    rows = [{"tokens": w, "ner_tags": [tag_id[t] for t in tags]}
            for d in docs for w, _, tags in chunks(d, args.chunk_words)]
    model = SpanMarkerModel.from_pretrained(
        args.encoder, labels=tag_names, model_max_length=args.model_max_length,
        marker_max_length=args.marker_max_length, entity_max_length=args.entity_max_length)

    class Clock(TrainerCallback):
        def __init__(self):
            self.steps, self.epochs = [], []

        def on_epoch_begin(self, *a, **k):
            self.e0 = time.perf_counter()

        def on_epoch_end(self, *a, **k):
            self.epochs.append(time.perf_counter() - self.e0)

        def on_step_begin(self, *a, **k):
            self.s0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.steps.append(time.perf_counter() - self.s0)

    clock = Clock()
    targs = TrainingArguments(
        output_dir=str(Path(args.out) / "trainer"), num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size, learning_rate=args.lr, weight_decay=0.01,
        warmup_ratio=0.1, lr_scheduler_type="linear", max_grad_norm=1.0, save_strategy="no",
        report_to=[], logging_steps=10, use_cpu=True, seed=args.seed, dataloader_num_workers=0,
        disable_tqdm=True)
    trainer = Trainer(model=model, args=targs, train_dataset=Dataset.from_list(rows),
                      callbacks=[clock])
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0
    model.save_pretrained(str(Path(args.out) / "final"))
    words = sum(len(WORD.findall(d["text"])) for d in docs)
    stats = {"train_seconds": train_s, "epoch_seconds": clock.epochs,
             "steps": len(clock.steps), "step_seconds_median": statistics.median(clock.steps),
             "train_rows": len(rows), "train_words": words,
             "loss_history": [h for h in trainer.state.log_history if "loss" in h]}
    (Path(args.out) / "train_stats.json").write_text(json.dumps(stats, indent=1))


def predict(args):
    import torch
    from span_marker import SpanMarkerModel

    torch.set_num_threads(args.threads)
    model = SpanMarkerModel.from_pretrained(args.model)
    docs = read_jsonl(args.input)
    t0 = time.perf_counter()
    with open(args.output, "w", encoding="utf-8") as out:
        for d in docs:
            cs = chunks(d, args.chunk_words)
            preds = model.predict([w for w, _, _ in cs], batch_size=args.batch_size,
                                  show_progress_bar=False) if cs else []
            ents = []
            for (_, off, _), es in zip(cs, preds):
                for e in es:
                    ents.append({"start": off[e["word_start_index"]][0],
                                 "end": off[e["word_end_index"] - 1][1],
                                 "label": e["label"], "score": float(e["score"])})
            out.write(json.dumps({"id": d["id"], "entities": ents}) + "\n")
    print(json.dumps({"predict_seconds": time.perf_counter() - t0, "documents": len(docs)}),
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--encoder", required=True)
    t.add_argument("--train", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, default=5e-5)
    t.add_argument("--model-max-length", type=int, default=256)
    t.add_argument("--marker-max-length", type=int, default=128)
    t.add_argument("--entity-max-length", type=int, default=8)
    t.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("predict")
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--batch-size", type=int, default=16)
    for q in (t, p):
        q.add_argument("--threads", type=int, default=2)
        q.add_argument("--chunk-words", type=int, default=150)
    args = ap.parse_args()
    train(args) if args.cmd == "train" else predict(args)


if __name__ == "__main__":
    main()
