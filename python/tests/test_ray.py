"""`jner.ray.screen` on a local Ray (2 CPUs, 1 actor) over 600 shared unlabeled reviews: the
same entities as `jner predict` and the same redactions as `jner redact`; a null text gets no
entities and no redaction."""

import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pd = pytest.importorskip("pandas")

from conftest import ROOT, run  # noqa: E402

DATA = Path(os.environ.get("JNER_DATA", ROOT.parent / "shared" / "data"))
ROWS = 600


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"RAY_DATA_DISABLE_PROGRESS_BARS": "1"}})
    yield
    ray.shutdown()


def test_screen_equals_jner_predict_and_redact(local_ray, demo, tmp_path):
    import jner.ray

    d, _, _ = demo
    model = d / "run" / "final"
    rows = [json.loads(l) for l in
            (DATA / "unlabeled" / "reviews.jsonl").read_text().splitlines()[:ROWS]]
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
    run("predict", "--model", str(model), "--input", str(texts), "--output", str(tmp_path / "p.jsonl"))
    run("redact", "--model", str(model), "--input", str(texts), "--output", str(tmp_path / "r.jsonl"),
        "--operator", "*=replace:numbered")
    want = {json.loads(l)["id"]: json.loads(l)["entities"]
            for l in (tmp_path / "p.jsonl").read_text().splitlines()}
    want_r = {json.loads(l)["id"]: json.loads(l)["text"]
              for l in (tmp_path / "r.jsonl").read_text().splitlines()}
    pdf = pd.DataFrame({"id": [r["id"] for r in rows] + ["null"],
                        "text": [r["text"] for r in rows] + [None]})
    # four blocks, without a shuffle; one actor of one CPU leaves the other to Ray's own tasks
    ds = ray.data.from_pandas([pdf.iloc[i::4] for i in range(4)])
    out = jner.ray.screen(ds, model=str(model), redacted="clean",
                          operators={"*": "replace:numbered"}, concurrency=1).to_pandas()
    assert len(out) == ROWS + 1
    found = 0
    for _, row in out.iterrows():
        got = [(e["start"], e["end"], e["label"], e["text"]) for e in row["entities"]]
        if row["id"] == "null":
            assert got == [] and pd.isna(row["clean"])
            continue
        assert got == [(e["start"], e["end"], e["label"], e["text"]) for e in want[row["id"]]], row["id"]
        assert row["clean"] == want_r[row["id"]], row["id"]
        found += len(got)
    assert found > 0


def test_screen_checks_its_arguments(local_ray, demo):
    import jner.ray

    d, _, _ = demo
    ds = ray.data.from_pandas(pd.DataFrame({"body": ["x"]}))
    with pytest.raises(ValueError, match="no column 'text'"):
        jner.ray.screen(ds, model=str(d / "run" / "final"))
    with pytest.raises(ValueError, match="is not a jner model folder"):
        jner.ray.screen(ds, text_col="body", model=str(d))
