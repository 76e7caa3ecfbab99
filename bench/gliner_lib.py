#!/usr/bin/env python3
"""The Python `gliner` library's side of bench/gliner_vs_library.sh (run in bench/.venv-gliner).

    gliner_lib.py chunk IN.jsonl OUT.jsonl OUT_gliner.json --words N
        documents cut at word boundaries into pieces of at most N words (GLiNER's regex),
        spans that cross a cut dropped (counted); both formats, the same examples
    gliner_lib.py train --encoder DIR --train TRAIN.json --out DIR --epochs E --lr LR
        --lr-others LR2 [--batch 8 --seed 42 --threads 2]
        a fresh GLiNER (hidden_size 512, markerV0) on the encoder, trained with the
        library's own trainer (linear schedule, warm-up 10 %, AdamW wd 0.01, clip 1.0,
        loss sum); writes OUT/model and OUT/train_stats.json
    gliner_lib.py predict --model DIR --input EVAL.jsonl --out PRED.jsonl --labels a,b
        [--threshold 0.5 --batch 8 --max-words 384 --threads 2]
        each document predicted in consecutive pieces of at most max-words words (the
        library would cut the rest of a longer text), offsets mapped back
"""
import argparse
import json
import re
import sys
import time

WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")


def words(text):
    return [(m.start(), m.end()) for m in WORD.finditer(text)]


def chunk(a):
    docs = [json.loads(l) for l in open(a.inp, encoding="utf-8") if l.strip()]
    out_j, out_g, dropped, kept = [], [], 0, 0
    for d in docs:
        ws = words(d["text"])
        for c0 in range(0, max(len(ws), 1), a.words):
            piece = ws[c0:c0 + a.words]
            if not piece:
                continue
            s0, e0 = piece[0][0], piece[-1][1]
            spans, ner = [], []
            for s in d.get("spans", []):
                if s["start"] >= s0 and s["end"] <= e0:
                    spans.append({"start": s["start"] - s0, "end": s["end"] - s0, "label": s["label"]})
                    first = next(i for i, w in enumerate(piece) if w[1] > s["start"])
                    last = max(i for i, w in enumerate(piece) if w[0] < s["end"])
                    ner.append([first, last, s["label"]])
                    kept += 1
                elif s["end"] > s0 and s["start"] < e0:
                    dropped += 1
            out_j.append({"id": f'{d["id"]}#{c0}', "text": d["text"][s0:e0], "spans": spans})
            out_g.append({"tokenized_text": [d["text"][a0:b0] for a0, b0 in piece], "ner": ner})
    with open(a.out_jsonl, "w", encoding="utf-8") as f:
        for d in out_j:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(a.out_gliner, "w", encoding="utf-8") as f:
        json.dump(out_g, f, ensure_ascii=False)
    print(json.dumps({"documents": len(docs), "chunks": len(out_j), "spans_kept": kept, "spans_cut": dropped}))


def train(a):
    import torch
    from gliner import GLiNER, GLiNERConfig

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = json.load(open(a.train, encoding="utf-8"))
    cfg = GLiNERConfig(model_name=a.encoder, span_mode="markerV0", max_width=12, hidden_size=512,
                       dropout=0.4, max_len=384, max_types=25, max_neg_type_ratio=1,
                       words_splitter_type="whitespace", subtoken_pooling="first")
    model = GLiNER.from_config(cfg, backbone_from_pretrained=True, local_files_only=True)
    steps = a.epochs * ((len(data) + a.batch - 1) // a.batch)
    args = model.create_training_args(
        output_dir=f"{a.out}/trainer", learning_rate=a.lr, others_lr=a.lr_others,
        weight_decay=0.01, others_weight_decay=0.01, focal_loss_alpha=a.alpha, focal_loss_gamma=a.gamma, lr_scheduler_type="linear", warmup_ratio=0.1,
        per_device_train_batch_size=a.batch, max_grad_norm=1.0, max_steps=steps,
        save_steps=10**9, save_strategy="no", logging_steps=max(1, steps // 20), use_cpu=True,
        dataloader_num_workers=0, seed=a.seed, report_to="none")
    t0 = time.time()
    model.train_model(train_dataset=data, eval_dataset=None, training_args=args)
    secs = time.time() - t0
    model.save_pretrained(f"{a.out}/model")
    n_words = sum(len(d["tokenized_text"]) for d in data)
    json.dump({"train_seconds": secs, "epochs": a.epochs, "steps": steps, "examples": len(data),
               "words_per_epoch": n_words, "train_words_per_s": n_words * a.epochs / secs},
              open(f"{a.out}/train_stats.json", "w"), indent=1)


def predict(a):
    import torch
    from gliner import GLiNER

    torch.set_num_threads(a.threads)
    model = GLiNER.from_pretrained(a.model, local_files_only=True)
    model.eval()
    labels = a.labels.split(",")
    docs = [json.loads(l) for l in open(a.input, encoding="utf-8") if l.strip()]
    pieces = []  # (doc index, char offset, text)
    for i, d in enumerate(docs):
        ws = words(d["text"])
        for c0 in range(0, len(ws), a.max_words):
            p = ws[c0:c0 + a.max_words]
            pieces.append((i, p[0][0], d["text"][p[0][0]:p[-1][1]]))
    t0 = time.time()
    ents = [[] for _ in docs]
    for b in range(0, len(pieces), a.batch):
        batch = pieces[b:b + a.batch]
        out = model.inference([t for _, _, t in batch], labels, threshold=a.threshold,
                              flat_ner=True, batch_size=a.batch)
        for (i, off, _), es in zip(batch, out):
            for e in es:
                ents[i].append({"start": e["start"] + off, "end": e["end"] + off,
                                "label": e["label"], "score": float(e["score"])})
    secs = time.time() - t0
    with open(a.out, "w", encoding="utf-8") as f:
        for d, es in zip(docs, ents):
            f.write(json.dumps({"id": d["id"], "entities": es}, ensure_ascii=False) + "\n")
    n_words = sum(len(words(d["text"])) for d in docs)
    print(json.dumps({"predict_seconds": secs, "words": n_words, "words_per_s": n_words / secs}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("chunk")
    c.add_argument("inp"); c.add_argument("out_jsonl"); c.add_argument("out_gliner")
    c.add_argument("--words", type=int, default=150)
    t = sub.add_parser("train")
    for k, v in [("--encoder", str), ("--train", str), ("--out", str)]:
        t.add_argument(k, type=v, required=True)
    t.add_argument("--epochs", type=int, default=3); t.add_argument("--lr", type=float, default=3e-5)
    t.add_argument("--lr-others", type=float, default=5e-5); t.add_argument("--batch", type=int, default=8)
    t.add_argument("--seed", type=int, default=42); t.add_argument("--threads", type=int, default=2)
    t.add_argument("--alpha", type=float, default=-1); t.add_argument("--gamma", type=float, default=0)
    p = sub.add_parser("predict")
    for k in ["--model", "--input", "--out", "--labels"]:
        p.add_argument(k, required=True)
    p.add_argument("--threshold", type=float, default=0.5); p.add_argument("--batch", type=int, default=8)
    p.add_argument("--max-words", type=int, default=384); p.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    {"chunk": chunk, "train": train, "predict": predict}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
