"""The Python package against the `jner` binary: the same entities as `jner predict`, the same
scores as `jner eval`, jner's messages as Python exceptions.

JNER_BIN names the binary (default target/debug/jner); the demo model is trained here."""

import json
import subprocess
import threading

import pytest

import jner

from conftest import BIN, run


def test_predictions_equal_jner_predict(demo):
    d, docs, pred = demo
    model = jner.load(d / "run" / "final")
    assert model.backend == "cnn" and not model.zero_shot
    assert "MinorChild" in model.labels
    got = model.predict([x["text"] for x in docs])
    assert len(got) == len(docs)
    found = 0
    for doc, ents, want in zip(docs, got, pred):
        assert [(e.start, e.end, e.label, e.text) for e in ents] == [
            (w["start"], w["end"], w["label"], w["text"]) for w in want["entities"]
        ], doc["id"]
        for e, w in zip(ents, want["entities"]):
            assert e.score == pytest.approx(w["score"], abs=1e-6)
            assert doc["text"][e.start:e.end] == e.text  # offsets index the Python str
            assert e.to_dict()["label"] == e.label
        found += len(ents)
    assert found > 0, "the demo model finds nothing: the comparison would be empty"
    # a str is one text
    assert model.predict(docs[0]["text"]) == got[:1]


def test_threshold_and_labels(demo):
    d, docs, _ = demo
    model = jner.load(d / "run" / "final")
    texts = [x["text"] for x in docs]
    all_ents = [e for ents in model.predict(texts) for e in ents]
    t = sorted(e.score for e in all_ents)[len(all_ents) // 2]
    high = [e for ents in model.predict(texts, threshold=t) for e in ents]
    assert high and all(e.score >= t for e in high) and len(high) < len(all_ents)
    only = [e for ents in model.predict(texts, labels=["MinorChild"]) for e in ents]
    assert only and all(e.label == "MinorChild" for e in only)


def test_errors_are_python_exceptions_with_jner_messages(demo, tmp_path):
    d, _, _ = demo
    model = jner.load(d / "run" / "final")
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\], got 2"):
        model.predict(["x"], threshold=2.0)
    with pytest.raises(ValueError, match=r"cannot look for \[\"Medication\"\]: it only knows"):
        model.predict(["x"], labels=["Medication"])
    with pytest.raises(TypeError, match=r"texts\[1\]: expected a str, got int"):
        model.predict(["x", 3])
    with pytest.raises(ValueError, match="is not a jner model folder"):
        jner.load(tmp_path)
    with pytest.raises(ValueError, match=r"a cnn model runs on the CPU only \(device \"cuda\""):
        jner.load(d / "run" / "final", device="cuda")
    # the CLI says the same
    cli = subprocess.run([BIN, "predict", "--model", str(tmp_path), "--input", "/dev/null"],
                         capture_output=True, text=True)
    assert cli.returncode == 2 and "is not a jner model folder" in cli.stderr


def test_evaluate_equals_jner_eval(demo):
    d, _, _ = demo
    gold, pred = d / "docs.jsonl", d / "pred.jsonl"
    report = jner.evaluate(gold, pred)
    assert report == json.loads(run("eval", "--gold", str(gold), "--pred", str(pred), "--json"))
    assert report["documents"] == 29


def test_threads_share_one_model(demo):
    d, docs, _ = demo
    model = jner.load(d / "run" / "final")
    texts = [x["text"] for x in docs]
    want = model.predict(texts)
    out = [None] * 4

    def work(i):
        out[i] = model.predict(texts)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(o == want for o in out)


def test_redact_equals_jner_redact(demo, tmp_path):
    d, docs, _ = demo
    model = jner.load(d / "run" / "final")
    key = tmp_path / "key"
    key.write_text("k" * 40)
    ops = {"MinorChild": "replace:numbered", "*": "mask:#"}
    got = model.redact([x["text"] for x in docs], operators=ops)
    out = tmp_path / "r.jsonl"
    run("redact", "--model", str(d / "run" / "final"), "--input", str(d / "docs.jsonl"),
        "--output", str(out), "--operator", "MinorChild=replace:numbered", "--operator", "*=mask:#")
    want = [json.loads(l)["text"] for l in out.read_text().splitlines()]
    assert got == want
    assert any(g != x["text"] for g, x in zip(got, docs)), "nothing was redacted"
    hashed = model.redact([x["text"] for x in docs], operators={"*": "hash"}, key_file=key)
    run("redact", "--model", str(d / "run" / "final"), "--input", str(d / "docs.jsonl"),
        "--output", str(out), "--operator", "*=hash", "--key-file", str(key))
    assert hashed == [json.loads(l)["text"] for l in out.read_text().splitlines()]
    with pytest.raises(ValueError, match="needs a key"):
        model.redact(["x"], operators={"*": "encrypt"})
    with pytest.raises(ValueError, match="operators: "):
        model.redact(["x"], operators={"*": "shred"})
    pairs = model.redact([x["text"] for x in docs], operators=ops, with_entities=True)
    assert [r for r, _ in pairs] == got
    assert [ents for _, ents in pairs] == model.predict([x["text"] for x in docs])


def test_train_equals_jner_train(demo, tmp_path):
    """jner.train(**flags) is `jner train` with those flags: the same epochs and the same
    model (the demo model was trained by the binary with these flags)."""
    d, docs, _ = demo
    report = jner.train(demo=True, epochs=10, threads=1, output_dir=tmp_path / "run")
    assert report["output_dir"] == str(tmp_path / "run")
    assert report["final"] == str(tmp_path / "run" / "final")
    assert report["run"]["identity"]["backend"] == "cnn"
    want = [json.loads(l) for l in (d / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(report["epochs"]) == len(want) == 10
    for got, w in zip(report["epochs"], want):
        assert got["epoch"] == w["epoch"]
        assert got["eval"] == w["eval"], got["epoch"]
    assert report["train_report"]["best_epoch"] == json.loads(
        (d / "run" / "train_report.json").read_text())["best_epoch"]
    texts = [x["text"] for x in docs]
    assert jner.load(report["final"]).predict(texts) == jner.load(d / "run" / "final").predict(texts)


def test_train_errors_name_the_flag_and_write_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="--epochs must be at least 1"):
        jner.train(demo=True, epochs=0, output_dir=out)
    with pytest.raises(ValueError, match="unexpected argument '--colour'"):
        jner.train(demo=True, colour="red", output_dir=out)
    with pytest.raises(ValueError, match="invalid value 'bert' for '--backend"):
        jner.train(demo=True, backend="bert", output_dir=out)
    assert not out.exists()
    # a run folder that holds a run is refused without overwrite=True, as by the CLI
    jner.train(demo=True, epochs=1, threads=1, output_dir=out)
    with pytest.raises(ValueError, match="overwrite"):
        jner.train(demo=True, epochs=1, output_dir=out)
    assert jner.train(demo=True, epochs=1, threads=1, output_dir=out, overwrite=True)["final"]
