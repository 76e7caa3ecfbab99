"""Puts the tables of a `jner compare` report.md into README.md between the markers
<!-- comparison:start --> and <!-- comparison:end --> (bench/compare_full.sh calls it).

    python3 bench/readme_comparison.py REPORT.md README.md
"""
import re
import sys

KEEP = ["Summary", "F1 per label", "F1 per source", "Is the difference larger than the noise?"]


def sections(md):
    """The report's `## ` sections by title, and what comes before the first one."""
    parts = re.split(r"^## (.+)$", md, flags=re.M)
    return parts[0], {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts), 2)}


def main(report_path, readme_path):
    head, secs = sections(open(report_path, encoding="utf-8").read())
    command = re.search(r"```sh\n(.*?)\n```", head, re.S).group(1)
    bullets = [l for l in head.splitlines() if l.startswith("- ")]
    out = ["<!-- comparison:start -->", "", "```sh", command, "```", ""]
    out += bullets + [""]
    for title in KEEP:
        if title in secs:
            out += [f"#### {title}", "", secs[title], ""]
    out.append("<!-- comparison:end -->")
    readme = open(readme_path, encoding="utf-8").read()
    pattern = re.compile(r"<!-- comparison:start -->.*?<!-- comparison:end -->", re.S)
    if not pattern.search(readme):
        sys.exit(f"{readme_path}: no <!-- comparison:start --> ... <!-- comparison:end --> markers")
    new = pattern.sub(lambda _: "\n".join(out), readme)
    tmp = readme_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    import os
    os.replace(tmp, readme_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
