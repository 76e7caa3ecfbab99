#!/usr/bin/env bash
# Peak RSS and wall time of `jner predict` on one long line (1, 10, 100 MB), with a demo model.
#
#   bench/predict_memory.sh [JNER_BINARY]     default target/release/jner
#   SIZES="1 10 100"  line sizes in MB;  WORK=DIR  where inputs go (default: a temp dir)
#
# Two texts per size: the unlabeled reviews of ../shared/data joined into one line (real
# text), and "son " repeated. Needs GNU time (/usr/bin/time).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jner="${1:-$root/target/release/jner}"
data="${JNER_DATA:-$root/../shared/data}"
work="${WORK:-$(mktemp -d)}"
[[ -n "${WORK:-}" ]] || trap 'rm -rf "$work"' EXIT
"$jner" train --demo --epochs 3 --output-dir "$work/m" >/dev/null 2>&1
python3 - "$data/unlabeled/reviews.jsonl" "$work" ${SIZES:-1 10 100} <<'PY'
import json, sys
src, work, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
blob = " ".join(json.loads(l)["text"].replace("\n", " ") for l in open(src, encoding="utf-8"))
for mb in sizes:
    n = int(mb) * 1000 * 1000
    open(f"{work}/rev{mb}.txt", "w").write((blob * (n // len(blob) + 1))[:n] + "\n")
    open(f"{work}/son{mb}.txt", "w").write("son " * (n // 4) + "\n")
PY
printf '%-8s %12s %8s\n' input max_rss_mb wall_s
for f in "$work"/rev*.txt "$work"/son*.txt; do
  /usr/bin/time -f '%M %e' -o "$work/t" "$jner" predict --model "$work/m/best" --input "$f" --output "$work/out.jsonl" 2>/dev/null
  read -r kb s < "$work/t"
  printf '%-8s %12.1f %8s\n' "$(basename "$f" .txt)" "$(echo "$kb/1024" | bc -l)" "$s"
done
