#!/usr/bin/env bash
# Opens a `jner compare` report.html in headless Chromium (Debian's `chromium`) and fails when
# the page logs anything to its console (errors, uncaught exceptions: the report logs nothing
# when it works), when it refers to any other file or address (it must open offline, alone),
# or when the rendered page lacks its tables and plots. Saves a screenshot.
#
#   scripts/test-report-html.sh REPORT.html [SCREENSHOT.png]
#
# CHROMIUM=/path/to/chromium overrides the browser.
set -euo pipefail
html=${1:?usage: scripts/test-report-html.sh REPORT.html [SCREENSHOT.png]}
shot=${2:-${html%.html}.png}
[[ -f $html ]] || { echo "test-report-html: $html: no such file" >&2; exit 1; }
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[[ -n $browser ]] || { echo "test-report-html: no chromium; install Debian's chromium package" >&2; exit 1; }
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# self-contained: no src/href/url() at all, so nothing can be fetched
if grep -Eno '(src|href)="[^"#][^"]*"|url\(|@import' "$html" >"$work/refs"; then
  echo "test-report-html: $html refers to other files or addresses:" >&2
  head -5 "$work/refs" >&2
  exit 1
fi

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$work/profile" --enable-logging=stderr --v=0)
timeout 120 "$browser" "${flags[@]}" --window-size=1200,2400 --screenshot="$shot" \
  "file://$abs" 2>"$work/log" >/dev/null || { cat "$work/log" >&2; exit 1; }
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$abs" \
  2>>"$work/log" >"$work/dom.html" || { cat "$work/log" >&2; exit 1; }

if grep -F ':CONSOLE' "$work/log" >"$work/console"; then
  echo "test-report-html: the page logged to its console:" >&2
  cat "$work/console" >&2
  exit 1
fi
tables=$(grep -o '<table' "$work/dom.html" | wc -l)
plots=$(grep -o '<svg' "$work/dom.html" | wc -l)
(( tables >= 5 && plots >= 3 )) || {
  echo "test-report-html: the rendered page has $tables tables and $plots plots (want >= 5 and >= 3)" >&2
  exit 1
}
# a PNG: the 8-byte signature, and more than a blank page's bytes
[[ $(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || {
  echo "test-report-html: $shot is not a PNG" >&2; exit 1; }
(( $(stat -c %s "$shot") > 20000 )) || { echo "test-report-html: $shot looks blank" >&2; exit 1; }
echo "test-report-html: $html rendered ($tables tables, $plots plots, no console output); screenshot $shot"
