"""The table of bench/serve_load.sh: runs.tsv (and overload.txt) of one backend's folder."""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

out = Path(sys.argv[1])
rows = [line.rstrip("\n").split("\t") for line in open(out / "runs.tsv") if line.strip()]
threads = max(int(r[1]) for r in rows if r[0] == "offline")
offline = [float(r[3]) for r in rows if r[0] == "offline" and int(r[1]) == threads]
one = [float(r[3]) for r in rows if r[0] == "offline" and int(r[1]) == 1]
off = statistics.median(offline)
groups = defaultdict(list)
for r in rows:
    if r[0] != "offline" and r[0] != "overload":
        groups[(r[0], int(r[1]))].append(r)


def num(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def spread(xs):
    return f"{num(statistics.median(xs))} ({num(min(xs))}-{num(max(xs))})"


print(f"Backend `{out.name}`, one review per request, {len(offline)} rounds each; "
      f"median (min-max) over rounds.\n")
print(f"Offline `jner predict` on the same texts: **{spread(offline)} texts/s** on {threads} "
      f"threads ({spread(one)} on 1).\n")
print("| server | clients | requests/s | of offline | p50 ms | p99 ms | non-200 |")
print("|---|---:|---:|---:|---:|---:|---|")
ORDER = ["batching", "no-batching", "redact", "presidio-w1", "presidio-w2"]
NAMES = {"batching": "jner /v1/entities, batching", "no-batching": "jner /v1/entities, --no-batching",
         "redact": "jner /v1/redact, batching", "presidio-w1": "Presidio analyze+anonymize, 1 worker",
         "presidio-w2": "Presidio analyze+anonymize, 2 workers"}
for (cfg, c), rs in sorted(groups.items(), key=lambda kv: (ORDER.index(kv[0][0]), kv[0][1])):
    rps = [float(r[3]) for r in rs]
    p50 = statistics.median(float(r[4]) for r in rs)
    p99 = statistics.median(float(r[5]) for r in rs)
    bad = defaultdict(int)
    for r in rs:
        for k, v in json.loads(r[6]).items():
            if k != "200":
                bad[k] += v
        for k, v in json.loads(r[7]).items():
            if k != "aborted due to deadline":
                bad[k] += v
    bad_s = ", ".join(f"{k}: {v}" for k, v in sorted(bad.items())) or "none"
    print(f"| {NAMES[cfg]} | {c} | {spread(rps)} | {100 * statistics.median(rps) / off:.0f}% "
          f"| {p50:.1f} | {p99:.1f} | {bad_s} |")
pm = out / "presidio-model.txt"
if pm.exists():
    print(f"\nPresidio's spaCy model: `{pm.read_text().strip()}` (its default, en_core_web_lg, is not "
          "on the registries this machine reaches); `bench/presidio_app.py` under gunicorn.")
ov = out / "overload.txt"
if ov.exists():
    o = json.loads(ov.read_text())
    codes = o["oha_status"]
    print(f"\nOverload: {o['offered_rps']} requests/s offered by {o['clients']} clients "
          f"(10x the capacity at 64 clients), `--max-in-flight-texts 256`: "
          f"{codes.get('200', 0)} answered 200 (server: {o['server_ok']} ok), "
          f"{codes.get('429', 0)} refused with 429 (server: {o['server_overloaded']}), "
          f"{o['server_timeout']} timeouts, client errors {o['oha_errors'] or 'none'}; "
          f"RSS {o['rss_idle_mib']} MiB idle, {o['rss_peak_mib']} MiB peak.")
