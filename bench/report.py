#!/usr/bin/env python3
"""Side-by-side report for bench/cnn_vs_spacy.sh (stdlib only).

Reads bench/out (or --out-dir):
  jner_eval.json, spacy_eval.json      `jner eval --json` reports of both prediction files
  jner_cnn/metrics.jsonl               jner's per-epoch metrics
  spacy_metrics.json                   bench/spacy_ner.py training run
  spacy_infer_metrics.json             bench/spacy_ner.py inference-only run
  *.time                               `/usr/bin/time -v` reports
  jner_infer_repeats.txt               how many times the eval texts were repeated for jner
and writes cnn_vs_spacy.json and cnn_vs_spacy.md there; prints the Markdown table.
Missing inputs show as "n/a" (so the spaCy side can be looked at alone).
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_util  # noqa: E402


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_jsonl(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def time_file(path):
    return bench_util.time_summary(path) if os.path.exists(path) else None


def count_words(path):
    return sum(len(t.split()) for _, t in bench_util.read_texts(path))


def get(d, *keys):
    for k in keys:
        if d is None:
            return None
        d = d.get(k) if isinstance(d, dict) else None
    return d


def jner_eval_f1(ev):
    """Micro F1 out of one metrics.jsonl `eval` value, whatever its exact shape."""
    if isinstance(ev, (int, float)):
        return float(ev)
    for path in (("micro", "f1"), ("f1",), ("micro_f1",), ("ents_f",)):
        v = get(ev, *path)
        if isinstance(v, (int, float)):
            return float(v)
    return None


def summarize(args):
    out = args.out_dir
    eval_words = count_words(args.eval)
    train_words = count_words(args.train) if args.train else None
    res = {"epochs": args.epochs, "threads": args.threads, "eval_words": eval_words,
           "train_words": train_words, "jner": {}, "spacy": {}}
    try:
        with open(os.path.join(out, "loadavg_start.txt")) as f:
            res["loadavg_start"] = f.read().strip()
    except OSError:
        pass
    res["cpu_count"] = os.cpu_count()

    # --- accuracy, one scorer for both
    for side in ("jner", "spacy"):
        rep = load_json(os.path.join(out, f"{side}_eval.json"))
        res[side]["report"] = rep

    # --- jner speed and memory
    j = res["jner"]
    epochs = load_jsonl(os.path.join(out, "jner_cnn", "metrics.jsonl"))
    if epochs:
        secs = sum(float(e.get("train_seconds") or 0) for e in epochs)
        # Same word definition as the spaCy side: whitespace-split words of train.jsonl,
        # once per epoch (jner's own metrics count tokens, which would flatter jner).
        words = (train_words or 0) * len(epochs)
        j["train_seconds"] = secs
        j["train_words_per_s"] = words / secs if secs else None
        j["epochs_run"] = len(epochs)
        f1s = [(jner_eval_f1(e.get("eval")), e.get("epoch")) for e in epochs]
        f1s = [x for x in f1s if x[0] is not None]
        if f1s:
            j["best_epoch"] = max(f1s, key=lambda x: (x[0], -(x[1] or 0)))[1]
        j["per_epoch"] = [{k: e.get(k) for k in ("epoch", "loss", "train_seconds",
                                                  "train_words_per_s", "eval_seconds")}
                          for e in epochs]
    tr = load_json(os.path.join(out, "jner_cnn", "train_report.json"))
    if tr and tr.get("best_epoch") is not None:
        j["best_epoch"] = tr["best_epoch"]
        j["parameters"] = tr.get("parameters")
        j["alignment"] = tr.get("alignment")
    j["train_time"] = time_file(os.path.join(out, "jner_train.time"))
    tiny = time_file(os.path.join(out, "jner_infer_tiny.time"))
    infer = time_file(os.path.join(out, "jner_infer.time"))
    j["infer_time"] = infer
    j["infer_tiny_time"] = tiny
    try:
        with open(os.path.join(out, "jner_infer_repeats.txt")) as f:
            reps = int(f.read().strip())
    except (OSError, ValueError):
        reps = None
    try:
        with open(os.path.join(out, "jner_infer_startup_seconds.txt")) as f:
            startup = float(f.read().strip())
    except (OSError, ValueError):
        startup = tiny["wall_seconds"] if tiny else None
    if infer and startup is not None and reps:
        net = infer["wall_seconds"] - startup
        j["inference"] = {"repeats": reps, "words": eval_words * reps,
                          "seconds": net, "startup_seconds_subtracted": startup,
                          "words_per_s": eval_words * reps / net if net > 0 else None}

    # --- spaCy speed and memory
    s = res["spacy"]
    sm = load_json(os.path.join(out, "spacy_metrics.json"))
    si = load_json(os.path.join(out, "spacy_infer_metrics.json"))
    if sm:
        s["train_seconds"] = get(sm, "train", "seconds_total")
        s["train_words_per_s"] = get(sm, "train", "words_per_s")
        s["best_epoch"] = sm.get("best_epoch")
        s["inference_in_training_process"] = sm.get("inference")
        s["eval_unaligned_spans"] = get(sm, "data", "eval", "unaligned_spans")
        s["eval_gold_spans"] = get(sm, "data", "eval", "gold_spans")
        s["train_unaligned_spans"] = get(sm, "data", "train", "unaligned_spans")
        s["eval_unaligned_per_label"] = get(sm, "data", "eval", "unaligned_per_label")
        s["versions"] = {k: get(sm, "environment", k) for k in ("spacy", "thinc", "numpy", "python")}
        s["per_epoch"] = [{k: e.get(k) for k in ("epoch", "loss", "train_seconds",
                                                  "train_words_per_s", "eval_seconds")}
                          for e in sm.get("epochs", [])]
    if si:
        s["inference"] = si.get("inference")
    elif sm:
        s["inference"] = sm.get("inference")
    s["train_time"] = time_file(os.path.join(out, "spacy_train.time"))
    s["infer_time"] = time_file(os.path.join(out, "spacy_infer.time"))
    return res


def fmt(v, kind):
    if v is None:
        return "n/a"
    if kind == "pct":
        return f"{100 * v:.2f}"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "mib":
        return f"{v:,.0f}"
    if kind == "s":
        return f"{v:,.1f}"
    return str(v)


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def table(res):
    j, s = res["jner"], res["spacy"]
    jr, sr = j.get("report"), s.get("report")
    rows = []  # (name, jner, spacy, kind, show_ratio)

    def add(name, a, b, kind, show_ratio=True):
        rows.append((name, a, b, kind, show_ratio))

    add("micro precision (%)", get(jr, "micro", "precision"), get(sr, "micro", "precision"), "pct")
    add("micro recall (%)", get(jr, "micro", "recall"), get(sr, "micro", "recall"), "pct")
    add("micro F1 (%)", get(jr, "micro", "f1"), get(sr, "micro", "f1"), "pct")
    add("macro F1 (%)", get(jr, "macro_avg", "f1"), get(sr, "macro_avg", "f1"), "pct")
    add("best epoch", j.get("best_epoch"), s.get("best_epoch"), "raw", False)
    add("train words/s (update time only)", j.get("train_words_per_s"), s.get("train_words_per_s"), "int")
    add("train seconds (update time only)", j.get("train_seconds"), s.get("train_seconds"), "s")
    add("train wall seconds (whole process)", get(j, "train_time", "wall_seconds"),
        get(s, "train_time", "wall_seconds"), "s")
    add("train peak RSS (MiB)", get(j, "train_time", "max_rss_mib"),
        get(s, "train_time", "max_rss_mib"), "mib")
    add("inference words/s", get(j, "inference", "words_per_s"),
        get(s, "inference", "words_per_s"), "int")
    add("inference peak RSS (MiB)", get(j, "infer_time", "max_rss_mib"),
        get(s, "infer_time", "max_rss_mib"), "mib")
    add("train gold spans lost to the tokenizer", get(j, "alignment", "spans_lost"),
        s.get("train_unaligned_spans"), "int", False)
    add("eval gold spans the model cannot output", None, s.get("eval_unaligned_spans"),
        "int", False)

    labels = sorted(set((get(jr, "per_label") or {}).keys()) | set((get(sr, "per_label") or {}).keys()))
    label_rows = []
    for lab in labels:
        sup = get(jr, "per_label", lab, "support")
        if sup is None:
            sup = get(sr, "per_label", lab, "support")
        label_rows.append((lab, sup, get(jr, "per_label", lab, "f1"), get(sr, "per_label", lab, "f1")))
    label_rows.sort(key=lambda r: (-(r[1] or 0), r[0]))

    lines = ["| metric | jner cnn | spaCy 3.8 | jner/spaCy |", "|---|---:|---:|---:|"]
    for name, a, b, kind, show in rows:
        r = ratio(a, b) if show else None
        lines.append(f"| {name} | {fmt(a, kind)} | {fmt(b, kind)} | "
                     f"{'' if not show else ('n/a' if r is None else f'{r:.2f}')} |")
    lines += ["", "Per-label F1 (%), by eval support:", "",
              "| label | support | jner cnn | spaCy 3.8 | jner − spaCy |", "|---|---:|---:|---:|---:|"]
    for lab, sup, a, b in label_rows:
        d = None if a is None or b is None else 100 * (a - b)
        lines.append(f"| {lab} | {fmt(sup, 'int')} | {fmt(a, 'pct')} | {fmt(b, 'pct')} | "
                     f"{'n/a' if d is None else f'{d:+.2f}'} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default="bench/out")
    ap.add_argument("--train", help="train JSONL (for the word count)")
    ap.add_argument("--eval", required=True, help="eval JSONL (for the word count)")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--min-infer-seconds", type=float, default=5.0)
    args = ap.parse_args()
    res = summarize(args)
    tab = table(res)
    s = res["spacy"]
    header = [
        "# jner cnn vs spaCy 3.8 NER",
        "",
        f"Epochs {res['epochs']}, threads {res['threads']}, machine {res['cpu_count']} cores "
        f"(load average at start: {res.get('loadavg_start', 'n/a')}). "
        f"Eval: {fmt(get(res['jner'], 'report', 'documents') or get(s, 'report', 'documents'), 'int')} docs, "
        f"{res['eval_words']:,} words (whitespace-split); train {fmt(res['train_words'], 'int')} words.",
        "Both prediction files scored by `jner eval` (exact start/end/label on characters).",
        f"spaCy {get(s, 'versions', 'spacy') or 'n/a'} default `ner` (blank en) could not represent "
        f"{fmt(s.get('eval_unaligned_spans'), 'int')} of {fmt(s.get('eval_gold_spans'), 'int')} eval "
        f"and {fmt(s.get('train_unaligned_spans'), 'int')} train gold spans (ends not on spaCy token boundaries, or a whitespace token at an edge).",
        f"Inference: eval texts repeated until a run lasts >= {args.min_infer_seconds:g} s; jner = `jner predict` wall time "
        "minus a one-sentence run's wall time; spaCy = in-process `nlp.pipe` time. "
        "Peak RSS from `/usr/bin/time -v` of the whole process.",
        "",
    ]
    md = "\n".join(header) + "\n" + tab + "\n"
    with open(os.path.join(args.out_dir, "cnn_vs_spacy.md"), "w", encoding="utf-8") as f:
        f.write(md)
    res["table_markdown"] = tab
    with open(os.path.join(args.out_dir, "cnn_vs_spacy.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=2, ensure_ascii=False)
    print(md)


if __name__ == "__main__":
    main()
