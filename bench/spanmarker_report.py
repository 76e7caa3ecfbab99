#!/usr/bin/env python3
"""Summary of bench/spanmarker_vs_library.sh: OUT/spanmarker_vs_library.json and a Markdown
table on stdout (stdlib only). Usage: spanmarker_report.py OUT"""
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
         ("jner_train", "jner_load", "jner_infer", "lib_train", "lib_load", "lib_infer")}
    ev = {k: json.loads((out / f"{k}_eval.json").read_text()) for k in ("jner", "lib")}
    jm = [json.loads(l) for l in open(out / "jner" / "metrics.jsonl") if l.strip()]
    ls = json.loads((out / "lib" / "train_stats.json").read_text())
    eval_words = words(out / "eval.jsonl")
    s = {
        "train_sample": json.loads((out / "train_sample.json").read_text()),
        "eval_sample": json.loads((out / "eval_sample.json").read_text()),
        "load_average_at_start": (out / "loadavg_start.txt").read_text().split()[:3],
        "times": t,
        "jner": {
            "epoch_seconds": [m["train_seconds"] for m in jm],
            "step_seconds_median": sorted(m["step_seconds_median"] for m in jm)[len(jm) // 2],
            "loss": [m["loss"] for m in jm],
            "infer_seconds": t["jner_infer"]["wall_seconds"] - t["jner_load"]["wall_seconds"],
            "eval": ev["jner"],
        },
        "span_marker": {
            "epoch_seconds": ls["epoch_seconds"],
            "step_seconds_median": ls["step_seconds_median"],
            "steps": ls["steps"],
            "infer_seconds": t["lib_infer"]["wall_seconds"] - t["lib_load"]["wall_seconds"],
            "eval": ev["lib"],
        },
        "eval_words": eval_words,
    }
    for k in ("jner", "span_marker"):
        s[k]["infer_words_per_s"] = eval_words / max(s[k]["infer_seconds"], 1e-9)
    (out / "spanmarker_vs_library.json").write_text(json.dumps(s, indent=1))

    j, p = s["jner"], s["span_marker"]
    mean = lambda xs: sum(xs) / len(xs)
    rows = []

    def add(name, a, b, fmt="{:.2f}", ratio=None):
        r = "" if ratio is None else f"{ratio:.2f}"
        rows.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {r} |")

    pct = "{:.2f}"
    for key, name in (("micro", "micro F1 (%)"), ("macro_avg", "macro F1 (%)")):
        add(name, 100 * j["eval"][key]["f1"], 100 * p["eval"][key]["f1"], pct,
            None)
    add("micro precision (%)", 100 * j["eval"]["micro"]["precision"],
        100 * p["eval"]["micro"]["precision"], pct)
    add("micro recall (%)", 100 * j["eval"]["micro"]["recall"],
        100 * p["eval"]["micro"]["recall"], pct)
    je, pe = mean(j["epoch_seconds"]), mean(p["epoch_seconds"])
    add("seconds per epoch", je, pe, "{:.1f}", pe / je)
    add("median optimizer step (s)", j["step_seconds_median"], p["step_seconds_median"],
        "{:.3f}", p["step_seconds_median"] / j["step_seconds_median"])
    add("inference words/s", j["infer_words_per_s"], p["infer_words_per_s"], "{:.1f}",
        j["infer_words_per_s"] / p["infer_words_per_s"])
    add("inference seconds (model load excluded)", j["infer_seconds"], p["infer_seconds"],
        "{:.1f}", p["infer_seconds"] / j["infer_seconds"])
    add("model load seconds (whole process)", t["jner_load"]["wall_seconds"],
        t["lib_load"]["wall_seconds"], "{:.1f}")
    add("train peak RSS (MiB)", t["jner_train"]["max_rss_mib"], t["lib_train"]["max_rss_mib"],
        "{:.0f}", t["jner_train"]["max_rss_mib"] / t["lib_train"]["max_rss_mib"])
    add("inference peak RSS (MiB)", t["jner_infer"]["max_rss_mib"],
        t["lib_infer"]["max_rss_mib"], "{:.0f}",
        t["jner_infer"]["max_rss_mib"] / t["lib_infer"]["max_rss_mib"])
    print(f"train sample: {s['train_sample']}, eval: {s['eval_sample']}, "
          f"load average at start: {' '.join(s['load_average_at_start'])}\n")
    print("| metric | jner spanmarker | span_marker 1.8.1 | ratio (speed: jner faster by; memory: jner/library) |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))
    print("\n| label | support | jner F1 (%) | span_marker F1 (%) |\n|---|---:|---:|---:|")
    labels = sorted(j["eval"]["per_label"], key=lambda l: -j["eval"]["per_label"][l]["support"])
    for lab in labels:
        a, b = j["eval"]["per_label"][lab], p["eval"]["per_label"].get(lab, {"f1": 0.0})
        print(f"| {lab} | {a['support']} | {100 * a['f1']:.2f} | {100 * b['f1']:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
