"""The package built with the torch feature (scripts/test-torch.sh builds it, installs it next
to the `torch` package and sets JNER_REQUIRE_TORCH=1): the tiny random GLiNER checkpoints
that the `gliner` library saved (crates/jner-torch/tests/fixtures/gliner) load and predict the
library's own entities, the same as `jner predict`; `jner.train` fine-tunes one; the package
imports without LD_LIBRARY_PATH. Skipped in a package built without it."""

import json
import os
import subprocess
import sys

import pytest

import jner

from conftest import ROOT, run

FIXTURES = ROOT / "crates" / "jner-torch" / "tests" / "fixtures" / "gliner"

if "gliner" not in jner.backends:
    if os.environ.get("JNER_REQUIRE_TORCH") == "1":
        raise RuntimeError(f"JNER_REQUIRE_TORCH=1 but this jner has only {jner.backends}")
    pytest.skip("a package built without the torch feature", allow_module_level=True)


# Where jner knowingly differs from the library: it cuts texts over max_len (jner reads them
# in windows), and under BERT's accent stripping a lone combining mark is a word without
# subwords, after which the library gives every word the next word's vector (its bug; the Rust
# fixture test checks the difference is exactly that shift).
DIFFERS = {"truncated_over_max_len": "*", "unicode": "bert", "zero_width_and_combining": "bert"}


def cases(name):
    """The fixture's cases the Python API can ask for: flat or nested, one label a span or
    several; not those in DIFFERS."""
    doc = json.loads((FIXTURES / name / "cases.json").read_text())
    for c in doc["cases"]:
        if DIFFERS.get(c["name"]) in ("*", name):
            continue
        yield c


@pytest.mark.parametrize("name", ["deberta", "bert"])
def test_gliner_checkpoints_predict_the_librarys_entities(name, tmp_path):
    model = jner.load(FIXTURES / name)
    assert model.backend == "gliner" and model.zero_shot
    checked = 0
    for c in cases(name):
        labels = list(dict.fromkeys(c["labels"]))
        got = model.predict(c["text"], labels=labels, threshold=c["threshold"],
                            nested=not c["flat_ner"], multi_label=c["multi_label"])[0]
        want = c["entities"]
        key = lambda e: (e["start"], e["end"], e["label"])  # noqa: E731
        assert sorted((e.start, e.end, e.label) for e in got) == sorted(key(w) for w in want), c["name"]
        by = {key(w): w["score"] for w in want}
        for e in got:
            assert e.score == pytest.approx(by[(e.start, e.end, e.label)], abs=1e-4), c["name"]
            assert c["text"][e.start:e.end] == e.text
        checked += len(want)
        # the CLI, on the same text, finds the same
        inp = tmp_path / "in.jsonl"
        inp.write_text(json.dumps({"id": c["name"], "text": c["text"]}) + "\n")
        args = ["predict", "--model", str(FIXTURES / name), "--input", str(inp),
                "--labels", ",".join(labels), "--threshold", str(c["threshold"])]
        if not c["flat_ner"]:
            args.append("--nested")
        if c["multi_label"]:
            args.append("--multi-label")
        cli = json.loads(run(*args))["entities"]
        assert [(e.start, e.end, e.label) for e in got] == [key(x) for x in cli], c["name"]
    assert checked > 50


def test_device_cuda_runs_or_is_refused_clearly():
    try:
        import torch
        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    if cuda:
        model = jner.load(FIXTURES / "bert", device="cuda")
        cpu = jner.load(FIXTURES / "bert")
        text = "Alice Smith works for Acme Corp in Paris."
        labels = ["person", "organization", "location"]
        assert [(e.start, e.end, e.label) for e in model.predict(text, labels=labels)[0]] == [
            (e.start, e.end, e.label) for e in cpu.predict(text, labels=labels)[0]]
    else:
        with pytest.raises(ValueError, match=r"libtorch sees 0 CUDA device\(s\)"):
            jner.load(FIXTURES / "bert", device="cuda")
    with pytest.raises(ValueError, match="unknown device `tpu`"):
        jner.load(FIXTURES / "bert", device="tpu")


def test_train_fine_tunes_a_gliner_checkpoint(tmp_path):
    out = tmp_path / "g"
    report = jner.train(backend="gliner", model=FIXTURES / "deberta", demo=True, epochs=1,
                        threads=1, output_dir=out)
    assert report["final"] == str(out / "final") and len(report["epochs"]) == 1
    assert report["run"]["identity"]["backend"] == "gliner"
    m = jner.load(report["final"])
    assert m.backend == "gliner"
    assert m.predict("My son is 8.", labels=["person"], threshold=0.0)[0]


def test_imports_without_ld_library_path():
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    out = subprocess.run([sys.executable, "-c", "import jner; print(','.join(jner.backends))"],
                         env=env, capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "cnn,spanmarker,gliner"
