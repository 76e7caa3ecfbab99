"""`Model.predict` from the Python package against `jner predict`, on the same texts with the
same model, in alternating rounds; checks the entities are identical.

    pip install ./python                      # a release build of the package
    cargo build --release -p jner
    python3 bench/python_vs_cli.py MODEL_DIR [TEXTS.jsonl] [--rounds 3]

TEXTS defaults to the 4,078 shared unlabeled reviews. Both sides include loading the model
(the CLI's wall time is a whole process); "predict only" is the Python call alone."""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import jner

ROOT = Path(__file__).resolve().parents[1]
ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("texts", nargs="?", default=str(ROOT.parent / "shared/data/unlabeled/reviews.jsonl"))
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--bin", default=str(ROOT / "target/release/jner"))
a = ap.parse_args()

texts = [json.loads(l)["text"] for l in open(a.texts, encoding="utf-8")]
words = sum(len(t.split()) for t in texts)
out = Path(tempfile.mkdtemp()) / "pred.jsonl"
ratios = []
for r in range(a.rounds):
    t0 = time.perf_counter()
    subprocess.run([a.bin, "predict", "--model", a.model, "--input", a.texts, "--output", str(out)],
                   check=True, capture_output=True)
    cli = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = jner.load(a.model)
    t1 = time.perf_counter()
    found = m.predict(texts)
    py, only = time.perf_counter() - t0, time.perf_counter() - t1
    ratios.append(cli / py)
    print(f"round {r + 1}: jner predict {words / cli:,.0f} words/s; Python load+predict "
          f"{words / py:,.0f} words/s (predict only {words / only:,.0f}); Python/CLI {cli / py:.3f}")
got = [[(e.start, e.end, e.label) for e in es] for es in found]
want = [[(e["start"], e["end"], e["label"]) for e in json.loads(l)["entities"]]
        for l in out.read_text().splitlines()]
print(f"{len(texts)} texts, {words} words; Python/CLI min {min(ratios):.3f} max {max(ratios):.3f}; "
      f"identical entities: {got == want} ({sum(map(len, got))})")
