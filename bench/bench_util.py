#!/usr/bin/env python3
"""Small helpers for bench/cnn_vs_spacy.sh (stdlib only).

  bench_util.py elapsed TIMEFILE          wall seconds from a `/usr/bin/time -v -o` file
  bench_util.py maxrss TIMEFILE           max RSS (MiB) from the same file
  bench_util.py words JSONL               sum of len(text.split()) over the documents
  bench_util.py repeat JSONL TIMES OUT    write {"id","text"} lines: the texts TIMES times over
  bench_util.py next-reps REPS WALL_S STARTUP_S MIN_S MAX_REPS
                                          "done" if the run (WALL_S - STARTUP_S) lasted MIN_S,
                                          else the number of repeats to try next
"""

import json
import math
import sys


def parse_time_file(path):
    """Parse GNU time's -v report into {key: value-string}."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock) time"):
                out["elapsed"] = line.rsplit(": ", 1)[1]
            elif ":" in line:
                k, v = line.rsplit(":", 1)
                out[k.strip()] = v.strip()
    return out


def elapsed_seconds(path):
    v = parse_time_file(path)["elapsed"]
    secs = 0.0
    for part in v.split(":"):
        secs = secs * 60 + float(part)
    return secs


def time_summary(path):
    t = parse_time_file(path)
    return {
        "wall_seconds": elapsed_seconds(path),
        "user_seconds": float(t.get("User time (seconds)", "nan")),
        "system_seconds": float(t.get("System time (seconds)", "nan")),
        "cpu_percent": t.get("Percent of CPU this job got"),
        "max_rss_mib": int(t.get("Maximum resident set size (kbytes)", "0")) / 1024.0,
        "exit_status": int(t.get("Exit status", "0")),
    }


def read_texts(path):
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                rec = json.loads(line)
                yield str(rec.get("id", lineno)), rec["text"]


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "elapsed":
        print(f"{elapsed_seconds(argv[2]):.3f}")
    elif cmd == "maxrss":
        print(f"{time_summary(argv[2])['max_rss_mib']:.1f}")
    elif cmd == "words":
        print(sum(len(t.split()) for _, t in read_texts(argv[2])))
    elif cmd == "repeat":
        docs = list(read_texts(argv[2]))
        times = int(argv[3])
        with open(argv[4], "w", encoding="utf-8") as f:
            for r in range(times):
                for doc_id, text in docs:
                    f.write(json.dumps({"id": f"{doc_id}#{r}", "text": text},
                                       ensure_ascii=False) + "\n")
    elif cmd == "next-reps":
        reps, wall, startup, min_s, max_reps = (float(x) for x in argv[2:7])
        net = wall - startup
        if net >= 0.9 * min_s or reps >= max_reps:
            print("done")
        else:
            nxt = reps * 10 if net < 0.5 else math.ceil(reps * min_s / net * 1.1)
            print(int(max(reps + 1, min(nxt, max_reps))))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
