"""`jner.spark.screen` in a local[2] Spark session on 3,000 of the shared unlabeled reviews:
the same entities as `jner predict` on the same texts, an empty array for a null text."""

import json
import os
import sys
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")
pd = pytest.importorskip("pandas")

from conftest import ROOT, run  # noqa: E402

DATA = Path(os.environ.get("JNER_DATA", ROOT.parent / "shared" / "data"))
ROWS = 3000


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[2]").appName("jner-test")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "4")
         .getOrCreate())
    yield s
    s.stop()


def test_screen_equals_jner_predict(spark, demo, tmp_path):
    import jner.spark

    d, _, _ = demo
    model = d / "run" / "final"
    lines = (DATA / "unlabeled" / "reviews.jsonl").read_text().splitlines()[:ROWS]
    rows = [json.loads(l) for l in lines]
    assert len(rows) == ROWS
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
    run("predict", "--model", str(model), "--input", str(texts), "--output", str(tmp_path / "p.jsonl"))
    want = {}
    for l in (tmp_path / "p.jsonl").read_text().splitlines():
        v = json.loads(l)
        want[v["id"]] = [(e["start"], e["end"], e["label"], e["text"], e["score"]) for e in v["entities"]]

    pdf = pd.DataFrame({"id": [r["id"] for r in rows] + ["null"],
                        "text": [r["text"] for r in rows] + [None]})
    df = spark.createDataFrame(pdf).repartition(4)
    out = jner.spark.screen(df, text_col="text", model=str(model)).select("id", "entities").collect()
    assert len(out) == ROWS + 1
    found = 0
    for row in out:
        got = [(e["start"], e["end"], e["label"], e["text"], e["score"]) for e in row["entities"]]
        if row["id"] == "null":
            assert got == []
            continue
        w = want[row["id"]]
        assert [g[:4] for g in got] == [x[:4] for x in w], row["id"]
        assert all(abs(g[4] - x[4]) < 1e-6 for g, x in zip(got, w))
        found += len(got)
    assert found > 0


def test_screen_checks_its_arguments(spark, demo):
    import jner.spark

    d, _, _ = demo
    df = spark.createDataFrame(pd.DataFrame({"body": ["x"]}))
    with pytest.raises(ValueError, match="no column 'text'"):
        jner.spark.screen(df, model=str(d / "run" / "final"))
    with pytest.raises(ValueError, match="give model=PATH"):
        jner.spark.screen(df, text_col="body")


def test_screen_redacted_equals_jner_redact(spark, demo, tmp_path):
    import jner.spark

    d, _, _ = demo
    model = d / "run" / "final"
    lines = (DATA / "unlabeled" / "reviews.jsonl").read_text().splitlines()[:1000]
    rows = [json.loads(l) for l in lines]
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
    run("redact", "--model", str(model), "--input", str(texts), "--output", str(tmp_path / "r.jsonl"),
        "--operator", "MinorChild=replace:numbered", "--operator", "*=mask:#")
    want = {json.loads(l)["id"]: json.loads(l)["text"]
            for l in (tmp_path / "r.jsonl").read_text().splitlines()}
    pdf = pd.DataFrame({"id": [r["id"] for r in rows] + ["null"],
                        "text": [r["text"] for r in rows] + [None]})
    df = spark.createDataFrame(pdf).repartition(3)
    ops = {"MinorChild": "replace:numbered", "*": "mask:#"}
    out = jner.spark.screen(df, model=str(model), redacted="clean", operators=ops).collect()
    assert len(out) == len(rows) + 1
    changed = 0
    for row in out:
        if row["id"] == "null":
            assert row["clean"] is None and row["entities"] == []
            continue
        assert row["clean"] == want[row["id"]], row["id"]
        assert bool(row["entities"]) == (row["clean"] != row["text"]), row["id"]
        changed += row["clean"] != row["text"]
    assert changed > 0


def test_screen_redacted_checks_its_arguments(spark, demo):
    import jner.spark

    d, _, _ = demo
    model = str(d / "run" / "final")
    df = spark.createDataFrame(pd.DataFrame({"text": ["x"]}))
    with pytest.raises(ValueError, match="need redacted=COLUMN"):
        jner.spark.screen(df, model=model, operators={"*": "mask"})
    with pytest.raises(ValueError, match="the output column 'text' already exists"):
        jner.spark.screen(df, model=model, redacted="text")
    with pytest.raises(ValueError, match="needs a key"):
        jner.spark.screen(df, model=model, redacted="clean", operators={"*": "hash"})
    with pytest.raises(ValueError, match="operators: "):
        jner.spark.screen(df, model=model, redacted="clean", operators={"*": "shred"})
