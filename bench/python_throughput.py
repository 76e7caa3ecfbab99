"""Throughput of jner from Python, each against its peer in one run, in alternating rounds:

    python3 bench/python_throughput.py spacy MODEL_DIR [--rounds 3]
        jner's spaCy component (`nlp.add_pipe("jner")` on spacy.blank("en")) against spaCy's
        own NER (the `ner` factory's default model: HashEmbedCNN tok2vec, width 96, depth 4),
        both in `nlp.pipe(texts, batch_size=64)` over the 4,078 shared unlabeled reviews, in
        one process. spaCy's NER is initialised, not trained: its cost per token does not
        depend on its weights (same layers, same transition system), only its entities do.
    python3 bench/python_throughput.py spark MODEL_DIR [--rows 100000] [--rounds 2]
        `jner.spark.screen` in a local[2] session on ROWS reviews (the shared unlabeled ones,
        repeated), against `jner predict --threads 2` of the release binary on the same rows
        as a JSONL file. Spark's time runs from the DataFrame (already cached in Spark) to the
        collected entity counts; the binary's is the whole process.

Words are whitespace-separated words of the texts. Needs a release build of the package
(`pip install ./python`, with spacy, pyspark, pandas, pyarrow) and of the binary."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("JNER_DATA", ROOT.parent / "shared" / "data"))


def reviews():
    return [json.loads(l)["text"] for l in open(DATA / "unlabeled" / "reviews.jsonl", encoding="utf-8")]


def spread(xs):
    return f"median {statistics.median(xs):,.0f} (min {min(xs):,.0f}, max {max(xs):,.0f})"


def bench_spacy(a):
    import spacy

    import jner

    texts = reviews()
    ours = spacy.blank("en")
    ours.add_pipe("jner", config={"model": a.model})
    theirs = spacy.blank("en")
    ner = theirs.add_pipe("ner")
    for label in jner.load(a.model).labels:
        ner.add_label(label)
    theirs.initialize()
    tok = spacy.blank("en")
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} texts, {words} words; spaCy {spacy.__version__}, jner {jner.__version__}")
    for nlp in (ours, theirs, tok):  # warm-up
        list(nlp.pipe(texts[:200], batch_size=64))
    rates = {"jner component": [], "spaCy NER": [], "tokenizer only": []}
    for r in range(a.rounds):
        for name, nlp in (("jner component", ours), ("spaCy NER", theirs), ("tokenizer only", tok)):
            t0 = time.perf_counter()
            n = sum(len(d.ents) for d in nlp.pipe(texts, batch_size=64))
            dt = time.perf_counter() - t0
            rates[name].append(words / dt)
            print(f"round {r + 1}: {name}: {words / dt:,.0f} words/s ({dt:.2f} s, {n} ents)")
    ratios = [x / y for x, y in zip(rates["jner component"], rates["spaCy NER"])]
    for name, xs in rates.items():
        print(f"{name}: {spread(xs)} words/s")
    print(f"jner component / spaCy NER: {min(ratios):.2f}-{max(ratios):.2f} "
          f"(median {statistics.median(ratios):.2f})")


def bench_spark(a):
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import jner
    import jner.spark

    base = reviews()
    texts = [base[i % len(base)] for i in range(a.rows)]
    words = sum(len(t.split()) for t in texts)
    tmp = Path(tempfile.mkdtemp())
    inp, out = tmp / "rows.jsonl", tmp / "pred.jsonl"
    inp.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    spark = (SparkSession.builder.master("local[2]").appName("jner-bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "4g")
             .getOrCreate())
    df = spark.createDataFrame(pd.DataFrame({"id": [str(i) for i in range(a.rows)], "text": texts}))
    df = df.repartition(8).cache()
    df.count()
    print(f"{a.rows} rows, {words} words; Spark {spark.version}, local[2], 8 partitions; "
          f"jner {jner.__version__}")
    rates = {"spark": [], "binary": []}
    for r in range(a.rounds):
        t0 = time.perf_counter()
        n = (jner.spark.screen(df, model=a.model).select(F.size("entities").alias("n"))
             .agg(F.sum("n")).collect()[0][0])
        dt = time.perf_counter() - t0
        rates["spark"].append(a.rows / dt)
        print(f"round {r + 1}: spark screen {a.rows / dt:,.0f} rows/s, {words / dt:,.0f} words/s "
              f"({dt:.1f} s, {n} entities)")
        t0 = time.perf_counter()
        subprocess.run([a.bin, "predict", "--model", a.model, "--input", str(inp), "--output",
                        str(out), "--threads", "2"], check=True, capture_output=True)
        dt = time.perf_counter() - t0
        m = sum(len(json.loads(l)["entities"]) for l in out.open())
        rates["binary"].append(a.rows / dt)
        print(f"round {r + 1}: jner predict {a.rows / dt:,.0f} rows/s, {words / dt:,.0f} words/s "
              f"({dt:.1f} s, {m} entities)")
        assert n == m, f"spark found {n} entities, the binary {m}"
    ratios = [x / y for x, y in zip(rates["spark"], rates["binary"])]
    for name, xs in rates.items():
        print(f"{name}: {spread(xs)} rows/s")
    print(f"spark / binary: {min(ratios):.2f}-{max(ratios):.2f} (median {statistics.median(ratios):.2f})")
    spark.stop()


ap = argparse.ArgumentParser()
ap.add_argument("what", choices=["spacy", "spark"])
ap.add_argument("model")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--rows", type=int, default=100_000)
ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "jner"))
a = ap.parse_args()
a.model = os.path.abspath(a.model)
bench_spacy(a) if a.what == "spacy" else bench_spark(a)
