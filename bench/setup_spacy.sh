#!/usr/bin/env bash
# Create (or check) the Python environment for the spaCy side of the benchmark.
#
#   bash bench/setup_spacy.sh          # idempotent: does nothing when the venv is already right
#   PYTHON=python3.11 bash bench/setup_spacy.sh
#
# Installs the exact versions in bench/requirements-spacy.txt (spaCy 3.8.18, thinc 8.3.14)
# into bench/.venv-spacy. No spaCy model package is installed or downloaded: the benchmark
# trains from spacy.blank("en"). Also makes sure GNU time (/usr/bin/time -v) exists.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-spacy"
req="$here/requirements-spacy.txt"
python="${PYTHON:-python3}"
want_spacy="$(sed -n 's/^spacy==//p' "$req")"

# GNU time, for peak RSS of whole processes.
if ! /usr/bin/time -v true >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        echo "setup_spacy: installing GNU time" >&2
        sudo_cmd=""
        [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq
        $sudo_cmd apt-get install -y -qq time >/dev/null
    else
        echo "setup_spacy: /usr/bin/time -v is missing and apt-get is not available; install GNU time" >&2
        exit 1
    fi
fi

stamp="$venv/.requirements.sha256"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$req_sum" ] \
    && "$venv/bin/python" -c "import spacy, sys; sys.exit(spacy.__version__ != '$want_spacy')" 2>/dev/null; then
    echo "setup_spacy: $venv is ready (spacy $want_spacy)" >&2
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c "import spacy, sys; assert spacy.__version__ == '$want_spacy', spacy.__version__"
echo "$req_sum" > "$stamp"
echo "setup_spacy: installed spacy $want_spacy into $venv" >&2
