"""Shared fixtures: the `jner` binary (JNER_BIN, default target/debug/jner) and a demo model
it trains, with the demo documents and its `jner predict` output."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("JNER_BIN", str(ROOT / "target" / "debug" / "jner"))


def run(*args):
    return subprocess.run([BIN, *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    run("train", "--demo", "--epochs", "10", "--threads", "1", "--output-dir", str(d / "run"))
    run("data", "export", "--demo", "--output", str(d / "docs.jsonl"))
    run("predict", "--model", str(d / "run" / "final"), "--input", str(d / "docs.jsonl"),
        "--output", str(d / "pred.jsonl"))
    docs = [json.loads(l) for l in (d / "docs.jsonl").read_text().splitlines()]
    pred = [json.loads(l) for l in (d / "pred.jsonl").read_text().splitlines()]
    return d, docs, pred


