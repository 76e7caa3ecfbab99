#!/usr/bin/env python3
"""Train and evaluate spaCy's NER on jner's JSONL split, for the cnn-vs-spaCy benchmark.

The model is spaCy's default `ner` component on a blank English pipeline:

    nlp = spacy.blank("en"); nlp.add_pipe("ner")

with no config overrides. In spaCy 3.8 that is `spacy.TransitionBasedParser.v2`
(state_type "ner", extra_state_tokens false, hidden_width 64, maxout_pieces 2, use_upper true)
over its own `spacy.HashEmbedCNN.v2` tok2vec (width 96, depth 4, embed_size 2000,
window_size 1, maxout_pieces 3, subword_features true: NORM/PREFIX/SUFFIX/SHAPE hash embeddings,
no static vectors), greedy BILUO transition decoding, `update_with_oracle_cut_size` 100.
The optimizer is the one `nlp.initialize()` returns from spaCy's default training config:
Adam (learn_rate 0.001 constant, beta1 0.9, beta2 0.999, eps 1e-8, L2 0.01 as decoupled
weight decay, grad_clip 1.0, no parameter averaging). The exact config is written into the
metrics file.

Input JSONL (one document a line, Unicode character offsets):
    {"id", "source", "text", "spans": [{"start", "end", "label"}]}
Predictions (--pred-out), one line per eval document, character offsets:
    {"id", "entities": [{"start", "end", "label", "text"}]}

Gold spans become spaCy entities with `doc.char_span(..., alignment_mode="strict")`, the
strictest mode: a span whose ends do not fall on spaCy token boundaries is NOT moved; it is
counted as unalignable (lost to spaCy: it can never be predicted exactly), and so is a span
whose first or last token is a whitespace token (spaCy's NER cannot start or end an entity
there; e.g. a thin space U+2009 is a token of its own); the tokens of such spans are
marked as missing annotation in the training/reference doc (what spaCy itself does with
misaligned offsets, warning W030), so they are neither taught as entity nor as "O".
Overlapping gold spans (there should be none) are dropped deterministically: spans sorted by
(start, longer first, label), and a span that starts before the end of the last kept one is
dropped.

Only the `nlp.update` calls are timed as training time. After every epoch the eval documents
are predicted (timed separately) and scored with spaCy's own NER scorer; the epoch with the
best entity F1 is kept (ties: the earlier epoch; `--keep final` keeps the last epoch instead,
for protocols where the eval documents must not pick the model) and used for --pred-out and for the
inference-speed measurement (`nlp.pipe`, batch_size 64, over the eval texts repeated until the
run takes at least --min-infer-seconds).

Words are `len(text.split())` summed over documents, the same count the jner side uses.

Second mode, inference only (for a separate peak-memory measurement of prediction):
    spacy_ner.py --model-in DIR --eval eval.jsonl [--pred-out F] [--metrics-out F]
"""

import argparse
import json
import math
import os
import random
import resource
import sys
import time
from collections import Counter, defaultdict

THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Train spaCy's default NER on a JSONL split and benchmark it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--train", help="training JSONL (omit with --model-in)")
    p.add_argument("--eval", required=True, help="evaluation JSONL")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2,
                   help="sets OMP/OpenBLAS/MKL/BLIS thread env vars (and torch, if present); "
                        "spaCy's CPU NER itself has no thread setting and runs single-threaded")
    p.add_argument("--n-process", type=int, default=1,
                   help="processes for nlp.pipe in the inference-speed measurement only")
    p.add_argument("--min-infer-seconds", type=float, default=5.0,
                   help="repeat the eval texts until one timed inference run lasts this long")
    p.add_argument("--keep", choices=["best", "final"], default="best",
                   help="which epoch's model to keep: the best on --eval, or the last one")
    p.add_argument("--pred-out", help="write eval predictions (kept epoch) as JSONL")
    p.add_argument("--metrics-out", help="write metrics as JSON")
    p.add_argument("--model-out", help="save the best model with nlp.to_disk")
    p.add_argument("--model-in", help="inference only: load this saved pipeline, no training")
    p.add_argument("--limit-train", type=int, default=0, help="use only the first N training docs")
    p.add_argument("--limit-eval", type=int, default=0, help="use only the first N eval docs")
    args = p.parse_args(argv)
    if not args.model_in and not args.train:
        p.error("--train is required unless --model-in is given")
    if args.epochs < 1 or args.batch_size < 1 or args.threads < 1:
        p.error("--epochs, --batch-size and --threads must be >= 1")
    return args


def set_thread_env(n):
    # Must run before numpy/blis/spacy are imported.
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)


def log(msg):
    print(f"[spacy_ner] {msg}", file=sys.stderr, flush=True)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def load_jsonl(path, limit=0):
    docs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "text" not in rec:
                raise SystemExit(f"{path}:{lineno}: no 'text' field")
            rec.setdefault("id", str(lineno))
            rec.setdefault("spans", [])
            docs.append(rec)
            if limit and len(docs) >= limit:
                break
    return docs


def count_words(texts):
    return sum(len(t.split()) for t in texts)


class AlignStats:
    def __init__(self):
        self.docs = 0
        self.spans = 0
        self.invalid = 0
        self.overlap_dropped = 0
        self.aligned = Counter()
        self.unaligned = Counter()
        self.unaligned_reasons = Counter()
        self.unaligned_examples = []

    def to_json(self):
        total_unaligned = sum(self.unaligned.values())
        return {
            "docs": self.docs,
            "gold_spans": self.spans,
            "invalid_spans_dropped": self.invalid,
            "overlapping_spans_dropped": self.overlap_dropped,
            "aligned_spans": sum(self.aligned.values()),
            "unaligned_spans": total_unaligned,
            "unaligned_fraction": total_unaligned / self.spans if self.spans else 0.0,
            "unaligned_per_reason": dict(sorted(self.unaligned_reasons.items())),
            "unaligned_per_label": dict(sorted(self.unaligned.items())),
            "unaligned_examples": self.unaligned_examples,
        }


def make_reference(nlp, rec, stats, max_examples=25):
    """Tokenize with spaCy and set gold entities (strict alignment); returns the Doc."""
    from spacy.tokens import Span

    text = rec["text"]
    doc = nlp.make_doc(text)
    stats.docs += 1
    raw = []
    for s in rec["spans"]:
        stats.spans += 1
        start, end, label = int(s["start"]), int(s["end"]), str(s["label"])
        if not (0 <= start < end <= len(text)) or not label:
            stats.invalid += 1
            continue
        raw.append((start, end, label))
    raw.sort(key=lambda x: (x[0], -(x[1] - x[0]), x[2]))
    kept, last_end = [], -1
    for start, end, label in raw:
        if start < last_end:
            stats.overlap_dropped += 1
            continue
        kept.append((start, end, label))
        last_end = end

    ents, unaligned_tokens = [], set()
    for start, end, label in kept:
        span = doc.char_span(start, end, label=label, alignment_mode="strict")
        reason = None
        if span is None or len(span) == 0:
            reason = "not_on_token_boundaries"
        elif span[0].is_space or span[-1].is_space:
            # spaCy's NER cannot begin (or end) an entity on a whitespace token (e.g. a
            # U+2009 thin space is a token of its own); training on it raises E024.
            reason = "whitespace_token_at_edge"
        if reason is not None:
            stats.unaligned[label] += 1
            stats.unaligned_reasons[reason] += 1
            expanded = doc.char_span(start, end, alignment_mode="expand")
            if expanded is not None:
                unaligned_tokens.update(range(expanded.start, expanded.end))
            if len(stats.unaligned_examples) < max_examples:
                stats.unaligned_examples.append({
                    "id": rec["id"], "start": start, "end": end, "label": label, "reason": reason,
                    "text": text[start:end],
                    "spacy_tokens": [t.text for t in expanded] if expanded is not None else None,
                })
        else:
            stats.aligned[label] += 1
            ents.append(span)
    covered = {i for e in ents for i in range(e.start, e.end)}
    missing = [Span(doc, i, i + 1) for i in sorted(unaligned_tokens - covered)]
    doc.set_ents(ents, missing=missing, default="outside")
    return doc


def char_prf(gold_docs, pred_by_id):
    """Exact (start, end, label) match on character offsets, like jner's scorer."""
    tp, fp, fn = Counter(), Counter(), Counter()
    labels = set()
    for rec in gold_docs:
        gold = {(int(s["start"]), int(s["end"]), s["label"]) for s in rec["spans"]}
        pred = {(e["start"], e["end"], e["label"]) for e in pred_by_id.get(rec["id"], [])}
        for _, _, lab in gold | pred:
            labels.add(lab)
        for x in pred & gold:
            tp[x[2]] += 1
        for x in pred - gold:
            fp[x[2]] += 1
        for x in gold - pred:
            fn[x[2]] += 1

    def prf(t, p, n):
        prec = t / (t + p) if t + p else 0.0
        rec_ = t / (t + n) if t + n else 0.0
        f = 2 * prec * rec_ / (prec + rec_) if prec + rec_ else 0.0
        return {"tp": t, "fp": p, "fn": n, "support": t + n,
                "precision": prec, "recall": rec_, "f1": f}

    per_label = {lab: prf(tp[lab], fp[lab], fn[lab]) for lab in sorted(labels)}
    micro = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    with_support = [v for v in per_label.values() if v["support"]]
    macro_f1 = sum(v["f1"] for v in with_support) / len(with_support) if with_support else 0.0
    return {"documents": len(gold_docs), "per_label": per_label, "micro": micro,
            "macro_f1": macro_f1}


def _json_default(obj):
    # numpy scalars (e.g. float32 losses) and confection Config sections
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, dict):
        return dict(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def doc_entities(doc):
    return [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text}
            for e in doc.ents]


def predict(nlp, texts):
    t0 = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=64))
    return docs, time.perf_counter() - t0


def measure_inference(nlp, texts, min_seconds, n_process, one_pass_seconds):
    """Time nlp.pipe over the texts repeated so that the run lasts >= min_seconds."""
    reps = max(1, math.ceil(min_seconds / max(one_pass_seconds, 1e-6)))
    while True:
        batch = texts * reps
        t0 = time.perf_counter()
        n_docs = 0
        for _ in nlp.pipe(batch, batch_size=64, n_process=n_process):
            n_docs += 1
        secs = time.perf_counter() - t0
        if secs >= min_seconds * 0.9 or reps >= 10_000:
            break
        reps = math.ceil(reps * min_seconds / max(secs, 1e-6) * 1.1)
    words = count_words(texts) * reps
    return {"docs": n_docs, "repeats": reps, "words": words, "seconds": secs,
            "words_per_s": words / secs if secs else 0.0, "docs_per_s": n_docs / secs,
            "batch_size": 64, "n_process": n_process}


def write_predictions(path, eval_docs, pred_docs):
    with open(path, "w", encoding="utf-8") as f:
        for rec, doc in zip(eval_docs, pred_docs):
            f.write(json.dumps({"id": rec["id"], "entities": doc_entities(doc)},
                               ensure_ascii=False) + "\n")


def environment_info(args):
    import numpy
    import spacy
    import thinc
    info = {
        "python": sys.version.split()[0],
        "spacy": spacy.__version__,
        "thinc": thinc.__version__,
        "numpy": numpy.__version__,
        "thinc_ops": type(thinc.api.get_current_ops()).__name__,
        "threads_arg": args.threads,
        "thread_env": {v: os.environ.get(v) for v in THREAD_ENV_VARS},
        "torch_threads": None,
        "cpu_count": os.cpu_count(),
    }
    try:
        import blis
        info["blis"] = blis.__version__
    except Exception:  # pragma: no cover - blis ships with thinc
        pass
    return info


def set_torch_threads(n):
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    torch.set_num_threads(n)
    return n


def run_inference_only(args):
    import spacy
    spacy.require_cpu()
    env = environment_info(args)
    env["torch_threads"] = set_torch_threads(args.threads)
    t0 = time.perf_counter()
    nlp = spacy.load(args.model_in)
    load_s = time.perf_counter() - t0
    eval_docs = load_jsonl(args.eval, args.limit_eval)
    texts = [d["text"] for d in eval_docs]
    pred_docs, pred_s = predict(nlp, texts)
    if args.pred_out:
        write_predictions(args.pred_out, eval_docs, pred_docs)
    preds = {rec["id"]: doc_entities(doc) for rec, doc in zip(eval_docs, pred_docs)}
    del pred_docs
    inference = measure_inference(nlp, texts, args.min_infer_seconds, args.n_process, pred_s)
    log(f"inference: {inference['words_per_s']:.0f} words/s "
        f"({inference['words']} words in {inference['seconds']:.2f}s)")
    metrics = {
        "tool": "spacy", "mode": "inference", "environment": env, "args": vars(args),
        "model_load_seconds": load_s,
        "eval_words": count_words(texts), "eval_predict_seconds": pred_s,
        "inference": inference,
        "eval_char_scores": char_prf(eval_docs, preds),
        "peak_rss_mib": peak_rss_mib(),
    }
    if args.metrics_out:
        with open(args.metrics_out, "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2, ensure_ascii=False, default=_json_default)
    return metrics


def run_train(args):
    import spacy
    from spacy.scorer import get_ner_prf
    from spacy.training import Example
    from spacy.util import minibatch

    spacy.require_cpu()
    env = environment_info(args)
    env["torch_threads"] = set_torch_threads(args.threads)
    spacy.util.fix_random_seed(args.seed)

    nlp = spacy.blank("en")
    nlp.add_pipe("ner")  # default model config, no overrides

    train_docs = load_jsonl(args.train, args.limit_train)
    eval_docs = load_jsonl(args.eval, args.limit_eval)
    train_stats, eval_stats = AlignStats(), AlignStats()
    train_examples = [Example(nlp.make_doc(r["text"]), make_reference(nlp, r, train_stats))
                      for r in train_docs]
    eval_refs = [make_reference(nlp, r, eval_stats) for r in eval_docs]
    eval_texts = [r["text"] for r in eval_docs]
    train_words = count_words(r["text"] for r in train_docs)
    eval_words = count_words(eval_texts)
    for name, st in (("train", train_stats), ("eval", eval_stats)):
        j = st.to_json()
        log(f"{name}: {j['docs']} docs, {j['gold_spans']} spans, "
            f"{j['unaligned_spans']} unalignable to spaCy tokens "
            f"({100 * j['unaligned_fraction']:.2f}%), {j['overlapping_spans_dropped']} overlapping "
            f"and {j['invalid_spans_dropped']} invalid dropped")
    log(f"train words {train_words}, eval words {eval_words}")

    t0 = time.perf_counter()
    optimizer = nlp.initialize(lambda: train_examples)
    init_s = time.perf_counter() - t0
    ner = nlp.get_pipe("ner")
    log(f"initialized in {init_s:.2f}s; labels: {len(ner.labels)}")

    rng = random.Random(args.seed)
    order = list(train_examples)
    epochs, best = [], None
    best_bytes = None
    total_train_s = 0.0
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(order)
        losses = {}
        epoch_s = 0.0
        for batch in minibatch(order, size=args.batch_size):
            t0 = time.perf_counter()
            nlp.update(batch, drop=args.dropout, sgd=optimizer, losses=losses)
            epoch_s += time.perf_counter() - t0
        total_train_s += epoch_s

        pred_docs, eval_s = predict(nlp, eval_texts)
        scores = get_ner_prf([Example(p, r) for p, r in zip(pred_docs, eval_refs)])
        del pred_docs
        f1 = scores.get("ents_f") or 0.0
        rec = {
            "epoch": epoch,
            "loss": float(losses.get("ner", 0.0)),
            "train_seconds": epoch_s,
            "train_words": train_words,
            "train_words_per_s": train_words / epoch_s if epoch_s else 0.0,
            "eval_seconds": eval_s,
            "eval_words_per_s": eval_words / eval_s if eval_s else 0.0,
            "eval": {
                "ents_p": scores.get("ents_p"), "ents_r": scores.get("ents_r"), "ents_f": f1,
                "ents_per_type": scores.get("ents_per_type"),
            },
        }
        epochs.append(rec)
        improved = best is None or f1 > best["eval"]["ents_f"]
        if args.keep == "final":
            improved = epoch == args.epochs
        if improved:
            best = rec
            best_bytes = nlp.to_bytes()
        log(f"epoch {epoch:3d}  loss {rec['loss']:10.2f}  train {epoch_s:7.2f}s "
            f"({rec['train_words_per_s']:7.0f} w/s)  eval {eval_s:6.2f}s  "
            f"P {100 * (scores.get('ents_p') or 0):5.2f} R {100 * (scores.get('ents_r') or 0):5.2f} "
            f"F {100 * f1:5.2f}{'  *' if improved else ''}")
    rss_after_training = peak_rss_mib()

    nlp.from_bytes(best_bytes)
    if args.model_out:
        nlp.to_disk(args.model_out)
    pred_docs, final_pred_s = predict(nlp, eval_texts)
    if args.pred_out:
        write_predictions(args.pred_out, eval_docs, pred_docs)
    preds = {rec["id"]: doc_entities(doc) for rec, doc in zip(eval_docs, pred_docs)}
    del pred_docs
    char_scores = char_prf(eval_docs, preds)
    inference = measure_inference(nlp, eval_texts, args.min_infer_seconds, args.n_process,
                                  final_pred_s)
    log(f"kept epoch {best['epoch']} ({args.keep}; spaCy scorer F1 {100 * best['eval']['ents_f']:.2f}); "
        f"char-offset micro F1 {100 * char_scores['micro']['f1']:.2f}")
    log(f"training {train_words * args.epochs / total_train_s:.0f} words/s "
        f"({total_train_s:.1f}s in nlp.update); inference {inference['words_per_s']:.0f} words/s "
        f"({inference['repeats']}x eval, {inference['seconds']:.2f}s); peak RSS {peak_rss_mib():.0f} MiB")

    metrics = {
        "tool": "spacy",
        "mode": "train",
        "environment": env,
        "args": vars(args),
        "ner_config": nlp.config["components"]["ner"],
        "optimizer_config": nlp.config["training"]["optimizer"],
        "labels": sorted(ner.labels),
        "data": {"train": train_stats.to_json(), "eval": eval_stats.to_json(),
                 "train_words": train_words, "eval_words": eval_words},
        "initialize_seconds": init_s,
        "epochs": epochs,
        "best_epoch": best["epoch"],
        "best_spacy_scores": best["eval"],
        "train": {
            "epochs": args.epochs,
            "seconds_total": total_train_s,
            "words_per_epoch": train_words,
            "words_per_s": train_words * args.epochs / total_train_s if total_train_s else 0.0,
        },
        "eval_predict_seconds_best": final_pred_s,
        "inference": inference,
        "eval_char_scores": char_scores,
        "peak_rss_mib_after_training": rss_after_training,
        "peak_rss_mib": peak_rss_mib(),
    }
    if args.metrics_out:
        with open(args.metrics_out, "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2, ensure_ascii=False, default=_json_default)
    return metrics


def main(argv=None):
    args = parse_args(argv)
    set_thread_env(args.threads)
    import warnings
    warnings.filterwarnings("ignore", message=r".*\[W030\].*")
    if args.model_in:
        run_inference_only(args)
    else:
        run_train(args)


if __name__ == "__main__":
    main()
