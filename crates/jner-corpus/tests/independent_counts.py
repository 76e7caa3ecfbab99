#!/usr/bin/env python3
"""Independent count of what jner's data rules should give on ../shared/data.

Written separately from the Rust readers (standard library only) so that the integration
test `shared_data.rs` asserts numbers that were not produced by the code under test.
Usage: python3 independent_counts.py [DATA_DIR]   (default: ../../../../shared/data)
"""
import csv, glob, json, os, re, sys
from collections import Counter

DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../../shared/data")
MAP = {"Sign_symptom": "MedicalCondition", "Disease_disorder": "MedicalCondition",
       "Diagnostic_procedure": "ClinicalProcedure", "Therapeutic_procedure": "ClinicalProcedure",
       "Clinical_event": "ClinicalEvent"}
KEYWORDS = {"newborn", "newborns", "neonate", "neonatal", "infant", "infancy", "baby", "toddler", "child",
            "childhood", "boy", "girl", "teen", "teens", "teenage", "teenager", "adolescent", "adolescence",
            "juvenile", "kid", "preschool", "pediatric", "paediatric"}
NUMWORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
ORDER = ["MedicalCondition", "ClinicalProcedure", "ClinicalEvent", "MinorChild", "GenderIndication"]


def minor_age(s):
    low = s.lower()
    words = re.findall(r"[^\W_]+", low)
    if any(w in KEYWORDS for w in words):
        return True
    m = re.search(r"(\d+(?:\.\d+)?)|\b(" + "|".join(NUMWORDS) + r")\b", low)
    if not m:
        return False
    n = float(m.group(1)) if m.group(1) else NUMWORDS.index(m.group(2))
    unit = re.match(r"[^a-z0-9]*([a-z]*)", low[m.end():]).group(1)
    if unit.startswith("mo"):
        n /= 12
    elif unit.startswith("w"):
        n /= 52
    elif unit.startswith("day") or unit == "d":
        n /= 365
    return n < 18


def occurrences(text, phrase):
    """Case-insensitive, word-boundary occurrences (boundary only where the phrase edge is a word char)."""
    out = []
    p = re.escape(phrase.strip())
    left = r"(?<!\w)" if re.match(r"\w", phrase.strip()) else ""
    right = r"(?!\w)" if re.search(r"\w$", phrase.strip()) else ""
    for m in re.finditer("(?=(" + left + p + right + "))", text, re.I):
        out.append((m.start(1), m.end(1)))
    return out


def gap_ok(g):
    return len(g) <= 2 and all(c.isspace() and c not in "\r\n" for c in g)


def resolve(text, spans):
    c = Counter()
    kept = []
    for s, e, l in spans:
        seg = text[s:e]
        if not seg.strip():
            c["empty"] += 1
            continue
        ns, ne = s + len(seg) - len(seg.lstrip()), e - (len(seg) - len(seg.rstrip()))
        if (ns, ne) != (s, e):
            c["trimmed"] += 1
        kept.append((ns, ne, l))
    uniq = sorted(set(kept))
    c["dup"] += len(kept) - len(uniq)
    uniq.sort(key=lambda x: (-(x[1] - x[0]), x[0], ORDER.index(x[2]) if x[2] in ORDER else 9, x[2]))
    acc = []
    for s, e, l in uniq:
        if any(s < b and a < e for a, b, _ in acc):
            c["overlap"] += 1
        else:
            acc.append((s, e, l))
    return acc, c


def maccrobat():
    stats = Counter()
    labels = Counter()
    for ann in sorted(glob.glob(os.path.join(DATA, "maccrobat", "*", "*.ann"))):
        text = open(ann[:-4] + ".txt", encoding="utf-8").read()
        spans, ages, sexes = [], [], []
        for line in open(ann, encoding="utf-8"):
            if not line.startswith("T"):
                continue
            typ, offs = line.split("\t")[1].split(" ", 1)
            frags = [list(map(int, f.split())) for f in offs.split(";")]
            s, e = min(f[0] for f in frags), max(f[1] for f in frags)
            if typ in MAP:
                spans.append((s, e, MAP[typ]))
            elif typ == "Age" and minor_age(text[s:e]):
                ages.append([s, e])
            elif typ == "Sex":
                sexes.append((s, e))
        used = set()
        for a in ages:
            for i, (s, e) in enumerate(sexes):
                if i not in used and s >= a[1] and gap_ok(text[a[1]:s]):
                    used.add(i); a[1] = e; stats["sex_absorbed"] += 1; break
            for i, (s, e) in enumerate(sexes):
                if i not in used and e <= a[0] and gap_ok(text[e:a[0]]):
                    used.add(i); a[0] = s; stats["sex_absorbed"] += 1; break
        stats["age_minor"] += len(ages)
        if ages:
            spans += [(s, e, "MinorChild") for s, e in ages]
            cands = []
            for p in ["he", "she", "his", "her", "him", "hers", "himself", "herself"]:
                cands += [(s, e, "p") for s, e in occurrences(text, p)]
            nps = set()
            for d in ["the", "this"]:
                for n in ["patient", "child", "boy", "girl", "infant", "baby", "newborn", "neonate", "toddler",
                          "adolescent", "teenager", "kid"]:
                    for m in re.finditer(r"(?<!\w)" + d + r"\s+(" + n + r")(?!\w)", text, re.I):
                        nps.add((m.start(1), m.end(1)))
            cands += [(s, e, "n") for s, e in sorted(nps)]
            injected = 0
            for s, e, kind in cands:
                if any(s < b and a < e for a, b, _ in spans):
                    continue
                spans.append((s, e, "MinorChild"))
                stats["pronouns" if kind == "p" else "noun_phrases"] += 1
                injected += 1
            stats["docs_injected"] += injected > 0
        final, _ = resolve(text, spans)
        labels.update(l for _, _, l in final)
        stats["documents"] += 1
    return stats, labels


def corona():
    labels = Counter()
    ex = json.load(open(os.path.join(DATA, "corona", "Corona2.json"), encoding="utf-8"))["examples"]
    for x in ex:
        spans = [(a["start"], a["end"], a["tag_name"]) for a in x["annotations"] if a["tag_name"] == "MedicalCondition"]
        final, _ = resolve(x["content"], spans)
        labels.update(l for _, _, l in final)
    return len(ex), labels


def reviews():
    stats, labels = Counter(), Counter()
    with open(os.path.join(DATA, "reviews", "mydata.csv"), encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            stats["rows"] += 1
            if (row.get("medical_col") or "").strip():
                stats["excluded_medical"] += 1
                continue
            m, g = (row.get("minor_col") or "").strip(), (row.get("gender_col") or "").strip()
            if not m and not g:
                stats["skipped"] += 1
                continue
            text = row["ori_review"]
            spans = []
            for cell, lab in [(m, "MinorChild"), (g, "GenderIndication")]:
                seen = set()
                for p in cell.split(";"):
                    p = p.strip()
                    if p and p.lower() not in seen:
                        seen.add(p.lower())
                        spans += [(s, e, lab) for s, e in occurrences(text, p)]
            final, _ = resolve(text, spans)
            labels.update(l for _, _, l in final)
            stats["documents"] += 1
    return stats, labels


if __name__ == "__main__":
    ms, ml = maccrobat()
    cn, cl = corona()
    rs, rl = reviews()
    print("maccrobat", dict(ms), dict(ml))
    print("corona", cn, dict(cl))
    print("reviews", dict(rs), dict(rl))
