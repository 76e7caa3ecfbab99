#!/usr/bin/env python3
"""Summary of bench/gliner_vs_library.sh: OUT/gliner_vs_library.json and a Markdown table on
stdout (stdlib only). Usage: gliner_report.py OUT"""
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_util import time_summary  # noqa: E402

WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")


def words(path):
    return sum(len(WORD.findall(json.loads(l)["text"])) for l in open(path) if l.strip())


def main(out):
    out = Path(out)
    t = {n: time_summary(out / f"{n}.time") for n in
         ("jner_train", "jner_load", "jner_infer", "lib_train", "lib_infer")}
    ev = {k: json.loads((out / f"{k}_eval.json").read_text()) for k in ("jner", "lib")}
    jm = [json.loads(l) for l in open(out / "jner" / "metrics.jsonl") if l.strip()]
    ls = json.loads((out / "lib" / "train_stats.json").read_text())
    li = json.loads((out / "lib_infer.log").read_text().strip().splitlines()[-1])
    eval_words = words(out / "eval.jsonl")
    j_train_s = sum(m["train_seconds"] for m in jm)
    j_words = jm[0]["train_words"] * len(jm)
    j_infer_s = t["jner_infer"]["wall_seconds"] - t["jner_load"]["wall_seconds"]
    s = {
        "train_sample": json.loads((out / "train_sample.json").read_text()),
        "chunks": json.loads((out / "chunks.json").read_text()),
        "eval_words": eval_words,
        "load_average_at_start": (out / "loadavg_start.txt").read_text().split()[:3],
        "jner": {
            "micro": ev["jner"]["micro"], "macro": ev["jner"]["macro_avg"],
            "per_label": {k: v["f1"] for k, v in ev["jner"]["per_label"].items()},
            "train_seconds": j_train_s, "seconds_per_epoch": j_train_s / len(jm),
            "train_words_per_s": j_words / j_train_s,
            "infer_seconds": j_infer_s, "infer_words_per_s": eval_words / j_infer_s,
            "train_peak_mib": t["jner_train"]["max_rss_mib"], "infer_peak_mib": t["jner_infer"]["max_rss_mib"],
            "loss_per_epoch": [m["loss"] for m in jm],
        },
        "lib": {
            "micro": ev["lib"]["micro"], "macro": ev["lib"]["macro_avg"],
            "per_label": {k: v["f1"] for k, v in ev["lib"]["per_label"].items()},
            "train_seconds": ls["train_seconds"], "seconds_per_epoch": ls["train_seconds"] / ls["epochs"],
            "train_words_per_s": ls["train_words_per_s"],
            "infer_seconds": li["predict_seconds"], "infer_words_per_s": li["words_per_s"],
            "train_peak_mib": t["lib_train"]["max_rss_mib"], "infer_peak_mib": t["lib_infer"]["max_rss_mib"],
        },
    }
    (out / "gliner_vs_library.json").write_text(json.dumps(s, indent=1))
    j, l = s["jner"], s["lib"]
    rows = [
        ("micro F1 (%)", 100 * j["micro"]["f1"], 100 * l["micro"]["f1"], "diff"),
        ("micro precision (%)", 100 * j["micro"]["precision"], 100 * l["micro"]["precision"], "diff"),
        ("micro recall (%)", 100 * j["micro"]["recall"], 100 * l["micro"]["recall"], "diff"),
        ("macro F1 (%)", 100 * j["macro"]["f1"], 100 * l["macro"]["f1"], "diff"),
    ] + [(f"F1 {k} (%)", 100 * j["per_label"].get(k, 0), 100 * l["per_label"].get(k, 0), "diff")
         for k in sorted(set(j["per_label"]) | set(l["per_label"]))] + [
        ("seconds per epoch", j["seconds_per_epoch"], l["seconds_per_epoch"], "inv"),
        ("training words/s", j["train_words_per_s"], l["train_words_per_s"], "ratio"),
        ("inference words/s (model load excluded)", j["infer_words_per_s"], l["infer_words_per_s"], "ratio"),
        ("training peak RSS (MiB)", j["train_peak_mib"], l["train_peak_mib"], "inv"),
        ("inference peak RSS (MiB)", j["infer_peak_mib"], l["infer_peak_mib"], "inv"),
    ]
    print("| metric | jner | gliner | jner vs gliner |\n|---|---:|---:|---:|")
    for name, a, b, kind in rows:
        if kind == "diff":
            r = f"{a - b:+.2f} points"
        elif kind == "ratio":
            r = f"{a / b:.2f}x" if b else "n/a"
        else:
            r = f"{b / a:.2f}x less" if a else "n/a"
        print(f"| {name} | {a:.2f} | {b:.2f} | {r} |")


if __name__ == "__main__":
    main(sys.argv[1])
