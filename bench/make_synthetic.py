"""Writes a small synthetic corpus (jner JSONL, character offsets) for the parity check:
short clinical-style sentences an encoder learns in a few epochs."""
import json
import random
import sys
from pathlib import Path

PEOPLE = [("woman", "GenderIndication"), ("man", "GenderIndication"), ("girl", "GenderIndication"),
          ("boy", "GenderIndication"), ("mother", "GenderIndication"), ("father", "GenderIndication")]
CONDITIONS = ["fever", "chest pain", "a persistent cough", "type 2 diabetes", "asthma", "hypertension",
              "a headache", "pneumonia", "abdominal pain", "a skin rash", "heart failure"]
PROCEDURES = ["an MRI scan", "a biopsy", "surgery", "a blood test", "an x-ray", "a CT scan",
              "chemotherapy", "an ECG"]
EVENTS = ["was admitted", "was discharged", "was transferred"]
TEMPLATES = [
    "The {p} presented with {c} .",
    "A {p} with {c} underwent {x} .",
    "After {x} , the {p} {e} with {c} .",
    "Her {p} reported {c} and had {x} yesterday .",
    "No {c} was seen on {x} .",
]


def doc(rng, i):
    text, spans = "", []
    for _ in range(rng.randint(1, 3)):
        t = rng.choice(TEMPLATES)
        p, plabel = rng.choice(PEOPLE)
        fills = {"p": (p, plabel), "c": (rng.choice(CONDITIONS), "MedicalCondition"),
                 "x": (rng.choice(PROCEDURES), "ClinicalProcedure"),
                 "e": (rng.choice(EVENTS), "ClinicalEvent")}
        for piece in t.split(" "):
            if text:
                text += " "
            if piece.startswith("{"):
                s, label = fills[piece[1]]
                spans.append({"start": len(text), "end": len(text) + len(s), "label": label})
                text += s
            else:
                text += piece
    return {"id": f"synthetic/{i}", "source": "synthetic", "text": text, "spans": spans}


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out/parity")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    docs = [doc(rng, i) for i in range(260)]
    for name, part in [("train", docs[:200]), ("test", docs[200:])]:
        with open(out / f"{name}.jsonl", "w") as f:
            for d in part:
                f.write(json.dumps(d) + "\n")
    print(f"{out}/train.jsonl: 200 documents, {out}/test.jsonl: 60 documents")


if __name__ == "__main__":
    main()
