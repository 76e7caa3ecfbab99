"""Seeded subsample of a JSONL split file, by a word budget.

    subsample.py IN.jsonl OUT.jsonl --words N [--seed 42]

Documents are shuffled with the seed and taken in that order until N words (regex words,
as the span_marker side counts them) are reached; the output keeps the input's order.
--words 0 copies every document.
"""
import argparse
import json
import random
import re

WORD = re.compile(r"\w+(?:[-_]\w+)*|\S")

ap = argparse.ArgumentParser()
ap.add_argument("inp")
ap.add_argument("out")
ap.add_argument("--words", type=int, required=True)
ap.add_argument("--seed", type=int, default=42)
a = ap.parse_args()
lines = [l for l in open(a.inp, encoding="utf-8") if l.strip()]
order = list(range(len(lines)))
random.Random(a.seed).shuffle(order)
keep, total = set(), 0
for i in order:
    if a.words and total >= a.words:
        break
    keep.add(i)
    total += len(WORD.findall(json.loads(lines[i])["text"]))
with open(a.out, "w", encoding="utf-8") as f:
    f.writelines(lines[i] for i in sorted(keep))
print(json.dumps({"documents": len(keep), "words": total}))
