//! `report.html`: one file that opens offline (inline CSS and SVG, nothing fetched). A small
//! inline script sorts a table when its header is clicked; everything reads without it.

use std::fmt::Write as _;

use crate::tables::{self, Table};
use crate::{Comparison, Plot};

/// Text as HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn table(t: &Table) -> String {
    let mut out = String::from("<table class=\"sortable\"><thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            let _ = write!(out, "<{tag}>{}</{tag}>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
    out
}

/// Text as HTML, with `code` spans (between backquotes) as `<code>`.
fn prose(s: &str) -> String {
    esc(s)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// The context of an example with the `[[entity]]` marked up.
fn context(s: &str) -> String {
    match (s.find("[["), s.rfind("]]")) {
        (Some(a), Some(b)) if b > a => format!(
            "{}<mark>{}</mark>{}",
            esc(&s[..a]),
            esc(&s[a + 2..b]),
            esc(&s[b + 2..])
        ),
        _ => esc(s),
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
pre{background:#f5f5f5;padding:.7rem;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .55rem;text-align:right}
th:first-child,tbody th{text-align:left}thead th{background:#f0f3f7;cursor:pointer}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}
.plots{display:flex;flex-wrap:wrap;gap:1rem}
mark{background:#ffe28a}li{margin:.2rem 0}details{margin:.4rem 0 1rem}
.ex{font-family:ui-monospace,monospace;font-size:.85rem}";

const SCRIPT: &str = "document.querySelectorAll('table.sortable').forEach(function(t){
var hs=t.tHead.rows[0].cells;for(var i=0;i<hs.length;i++){(function(i){hs[i].addEventListener('click',function(){
var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=t.getAttribute('data-col')!=String(i)||t.getAttribute('data-dir')!='asc';
var key=function(r){var s=r.cells[i].textContent,n=parseFloat(s.replace(/[^0-9.+-]/g,''));return isNaN(n)?s:n;};
rows.sort(function(x,y){var a=key(x),c=key(y);var r=(typeof a==typeof c)?(a<c?-1:a>c?1:0):(typeof a=='number'?-1:1);return asc?r:-r;});
rows.forEach(function(r){b.appendChild(r);});t.setAttribute('data-col',String(i));t.setAttribute('data-dir',asc?'asc':'desc');});})(i);}});";

pub(crate) fn render(c: &Comparison, plots: &[Plot]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>jner backend comparison</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = writeln!(
        out,
        "<h1>Backend comparison</h1><pre>{}</pre><ul>",
        esc(&c.command)
    );
    for s in tables::protocol(c) {
        let _ = writeln!(out, "<li>{}</li>", prose(&s));
    }
    let _ = writeln!(out, "</ul><p>jner {}</p>", esc(&c.jner_version));
    let _ = writeln!(
        out,
        "<h2 id=\"summary\">Summary</h2>{}",
        table(&tables::summary(c))
    );
    let _ = writeln!(
        out,
        "<h2 id=\"labels\">F1 per label</h2>{}",
        table(&tables::per_label(c))
    );
    let _ = writeln!(
        out,
        "<h2 id=\"sources\">F1 per source</h2>{}",
        table(&tables::per_source(c))
    );
    if !c.paired.is_empty() {
        let _ = writeln!(
            out,
            "<h2 id=\"paired\">Is the difference larger than the noise?</h2>{}",
            table(&tables::paired(c))
        );
    }
    let _ = writeln!(out, "<h2 id=\"runs\">Runs</h2>{}", table(&tables::folds(c)));
    if !plots.is_empty() {
        out.push_str("<h2 id=\"plots\">Plots</h2><div class=\"plots\">\n");
        for p in plots {
            // plotters writes a complete <svg> element; its XML declaration (if any) is dropped
            let svg = p.svg.find("<svg").map_or(p.svg.as_str(), |i| &p.svg[i..]);
            let _ = writeln!(
                out,
                "<figure id=\"plot-{}\" aria-label=\"{}\">{svg}</figure>",
                esc(&p.name),
                esc(&p.title)
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("<h2 id=\"errors\">Errors</h2>\n");
    for b in &c.backends {
        let _ = writeln!(
            out,
            "<h3>{}</h3>{}",
            esc(&b.name),
            table(&tables::errors(b))
        );
        let _ = writeln!(
            out,
            "<p>Confusion (rows gold, columns predicted; <code>(none)</code>: no span at these bounds):</p>{}",
            table(&tables::confusion(b))
        );
        if !b.analysis.examples.is_empty() {
            let _ = write!(
                out,
                "<details><summary>{} examples</summary><ul>",
                b.analysis.examples.len()
            );
            for x in &b.analysis.examples {
                let gold = x
                    .gold_label
                    .as_ref()
                    .map_or(String::new(), |g| format!(" (gold {})", esc(g)));
                let _ = write!(
                    out,
                    "<li><b>{}</b> {}{gold} <code>{}</code>: <span class=\"ex\">{}</span></li>",
                    esc(&x.label),
                    esc(&x.kind),
                    esc(&x.doc),
                    context(&x.context)
                );
            }
            out.push_str("</ul></details>\n");
        }
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}
