#!/usr/bin/env python3
"""The table of bench/reviews_cv.sh: one row per variant folder under OUT, mean ± sd over folds
of micro F1, the two review labels' F1 (and GenderIndication recall), training seconds and the
inference words/s of the fold-1 model. Standard library only."""
import glob
import json
import os
import statistics
import sys


def mean_sd(xs):
    if not xs:
        return "–"
    m = statistics.mean(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{m:.3f} ± {sd:.3f}"


def label(ev, name, key="f1"):
    lab = ev.get("per_label", {}).get(name)
    return lab[key] if lab else 0.0


def row(d):
    evals = sorted(glob.glob(os.path.join(d, "fold-*.eval.json")))
    if not evals:
        return None
    evs = [json.load(open(p)) for p in evals]
    micro = [e["micro"]["f1"] for e in evs]
    mc = [label(e, "MinorChild") for e in evs]
    gi = [label(e, "GenderIndication") for e in evs]
    gir = [label(e, "GenderIndication", "recall") for e in evs]
    secs = []
    for p in sorted(glob.glob(os.path.join(d, "fold-*", "train_report.json"))):
        r = json.load(open(p))
        secs.append(r.get("train_seconds", 0.0))
    for p in sorted(glob.glob(os.path.join(d, "fold-*.metrics.json"))):  # spaCy
        r = json.load(open(p))
        secs.append(r.get("train", {}).get("seconds_total", 0.0))
    wps = None
    ip = os.path.join(d, "infer.json")
    if os.path.exists(ip):
        wps = json.load(open(ip))["words_per_second"]
    ip = os.path.join(d, "fold-1.infer.json")  # reviews_teachers.sh: over the held-out reviews
    if wps is None and os.path.exists(ip):
        wps = json.load(open(ip))["words_per_second"]
    ip = os.path.join(d, "infer.metrics.json")
    if os.path.exists(ip):
        wps = json.load(open(ip)).get("inference", {}).get("words_per_s")
    variant = open(os.path.join(d, "variant.tsv")).read().rstrip("\n").split("\t")
    return {
        "name": variant[0], "sources": variant[1],
        "args": (variant[2] if len(variant) > 2 else "")
                + (f"` / predict `{variant[3]}" if len(variant) > 3 else ""),
        "folds": len(evs), "micro": micro, "minor": mc, "gender": gi, "gender_recall": gir,
        "train_seconds": statistics.mean(secs) if secs else None, "words_per_second": wps,
    }


def main():
    out = sys.argv[1]
    rows = [r for r in (row(d) for d in sorted(glob.glob(os.path.join(out, "*")))
                        if os.path.isdir(d)) if r]
    k = max((r["folds"] for r in rows), default=0)
    print(f"Reviews, {k}-fold document-level cross-validation "
          "(bench/reviews_cv.sh); every variant on the same folds, scored by `jner eval` "
          "(exact spans); mean ± sd over the folds it ran (a variant with fewer folds than "
          f"{k}: the first ones, bench/reviews_teachers.sh).\n")
    print("| variant | train sources | folds | micro F1 | MinorChild F1 | GenderIndication F1 | GI recall "
          "| train s/fold | infer words/s | arguments |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        ts = f"{r['train_seconds']:.1f}" if r["train_seconds"] is not None else "–"
        wps = f"{r['words_per_second']:,.0f}" if r["words_per_second"] else "–"
        print(f"| {r['name']} | {r['sources']} | {r['folds']} | {mean_sd(r['micro'])} | {mean_sd(r['minor'])} "
              f"| {mean_sd(r['gender'])} | {mean_sd(r['gender_recall'])} | {ts} | {wps} "
              f"| `{r['args']}` |")
    json.dump(rows, open(os.path.join(out, "reviews_cv.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
