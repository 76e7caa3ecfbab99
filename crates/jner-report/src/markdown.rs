//! `report.md`: the tables as GitHub Markdown, the plots linked from `plots/`.

use std::fmt::Write as _;

use crate::tables::{self, Table};
use crate::{Comparison, Plot};

/// Text with its markup shown, not rendered (`&`, `<`, `>` as entities).
fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A table cell: [`text`], `|` escaped, line breaks as spaces.
fn cell(s: &str) -> String {
    text(s).replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub(crate) fn table(t: &Table) -> String {
    let mut out = String::new();
    let row = |v: &[String]| {
        format!(
            "| {} |\n",
            v.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        )
    };
    out.push_str(&row(&t.header));
    let sep: Vec<String> = (0..t.header.len())
        .map(|i| if i == 0 { "---".into() } else { "---:".into() })
        .collect();
    out.push_str(&format!("|{}|\n", sep.join("|")));
    for r in &t.rows {
        out.push_str(&row(r));
    }
    out
}

pub(crate) fn render(c: &Comparison, plots: &[Plot]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Backend comparison\n");
    let _ = writeln!(out, "```sh\n{}\n```\n", c.command);
    for s in tables::protocol(c) {
        let _ = writeln!(out, "- {s}");
    }
    let _ = writeln!(out, "\n## Summary\n\n{}", table(&tables::summary(c)));
    let _ = writeln!(out, "## F1 per label\n\n{}", table(&tables::per_label(c)));
    let _ = writeln!(out, "## F1 per source\n\n{}", table(&tables::per_source(c)));
    if !c.paired.is_empty() {
        let _ = writeln!(
            out,
            "## Is the difference larger than the noise?\n\n{}",
            table(&tables::paired(c))
        );
    }
    let _ = writeln!(out, "## Runs\n\n{}", table(&tables::folds(c)));
    if !plots.is_empty() {
        let _ = writeln!(out, "## Plots\n");
        for p in plots {
            let _ = writeln!(out, "![{}](plots/{}.svg)\n", cell(&p.title), p.name);
        }
    }
    let _ = writeln!(out, "## Errors\n");
    for b in &c.backends {
        let _ = writeln!(out, "### {}\n\n{}", b.name, table(&tables::errors(b)));
        let _ = writeln!(
            out,
            "Confusion (rows gold, columns predicted; `(none)`: no span at these bounds):\n\n{}",
            table(&tables::confusion(b))
        );
        if !b.analysis.examples.is_empty() {
            let _ = writeln!(out, "Examples:\n");
            for x in &b.analysis.examples {
                let gold = x
                    .gold_label
                    .as_ref()
                    .map_or(String::new(), |g| format!(" (gold {})", text(g)));
                let _ = writeln!(
                    out,
                    "- {} {}{gold} `{}`: {}",
                    text(&x.label),
                    x.kind,
                    x.doc.replace('`', "'"),
                    text(&x.context)
                );
            }
            out.push('\n');
        }
    }
    out
}
