//! The plots, drawn as SVG with `plotters` and rasterised to PNG with `resvg`: learning
//! curves (loss and held-out F1 per epoch), per-label F1 bars with their spread, and each
//! label's precision-recall curve with the threshold of highest F1 marked.

use std::sync::{Arc, OnceLock};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use resvg::{tiny_skia, usvg};

use crate::{Comparison, ReportError};

/// One plot: a file stem (`plots/NAME.svg`), a title, the SVG text.
#[derive(Clone, Debug)]
pub struct Plot {
    pub name: String,
    pub title: String,
    pub svg: String,
}

const SIZE: (u32, u32) = (720, 420);
const SMALL: (u32, u32) = (480, 360);

/// Colours of the backends, in their order (colour-blind-safe Okabe-Ito).
const COLOURS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// Maps a plotters error to ours, naming the plot.
macro_rules! tr {
    ($what:expr, $e:expr) => {
        $e.map_err(|e| ReportError::Plot(format!("{}: {e}", $what)))?
    };
}

/// A file stem from a label: letters, digits, `-` and `_`; others become `_`.
pub(crate) fn stem(label: &str) -> String {
    label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A chart on white with a title, in data coordinates `x` × `y`.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The SVG drawing area plots draw on.
type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

fn chart<'a, 'b>(
    name: &str,
    root: &'a Area<'b>,
    title: &str,
    title_size: u32,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>, ReportError> {
    tr!(name, root.fill(&WHITE));
    Ok(tr!(
        name,
        ChartBuilder::on(root)
            .caption(title, ("sans-serif", title_size))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x, y)
    ))
}

/// Draws the legend of the series drawn so far, then writes the SVG out.
fn finish<'a, 'b: 'a>(
    name: &str,
    chart: &mut Chart<'a, 'b>,
    root: &Area<'b>,
    pos: SeriesLabelPosition,
) -> Result<(), ReportError> {
    tr!(
        name,
        chart
            .configure_series_labels()
            .position(pos)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
    );
    tr!(name, root.present());
    Ok(())
}

pub(crate) fn all(c: &Comparison) -> Result<Vec<Plot>, ReportError> {
    let mut out = Vec::new();
    if c.backends
        .iter()
        .any(|b| b.folds.iter().any(|f| !f.epochs.is_empty()))
    {
        out.push(learning(c, false)?);
        out.push(learning(c, true)?);
    }
    out.push(label_bars(c)?);
    for label in c.labels() {
        if c.backends.iter().any(|b| b.curves.contains_key(&label)) {
            out.push(pr_curve(c, &label)?);
        }
    }
    Ok(out)
}

/// Per epoch, the mean over folds of the loss (or of held-out F1) of each backend.
fn learning(c: &Comparison, f1: bool) -> Result<Plot, ReportError> {
    let (name, title, y_desc) = if f1 {
        (
            "learning_f1",
            "Held-out micro F1 per epoch (mean over folds)",
            "micro F1",
        )
    } else {
        (
            "learning_loss",
            "Training loss per epoch, relative to epoch 1 (mean over folds)",
            "loss / loss of epoch 1",
        )
    };
    let series: Vec<(String, Vec<(f64, f64)>)> = c
        .backends
        .iter()
        .map(|b| {
            let max_epoch = b
                .folds
                .iter()
                .flat_map(|f| f.epochs.iter().map(|e| e.epoch))
                .max()
                .unwrap_or(0);
            let pts = (1..=max_epoch)
                .filter_map(|ep| {
                    let v: Vec<f64> = b
                        .folds
                        .iter()
                        .filter_map(|f| f.epochs.iter().find(|e| e.epoch == ep))
                        .filter_map(|e| if f1 { e.f1 } else { Some(e.loss) })
                        .filter(|x| x.is_finite())
                        .collect();
                    (!v.is_empty()).then(|| (ep as f64, v.iter().sum::<f64>() / v.len() as f64))
                })
                .collect::<Vec<(f64, f64)>>();
            // backends' losses are on different scales: each is shown relative to its first
            let pts = match pts.first() {
                Some(&(_, first)) if !f1 && first > 0.0 => {
                    pts.iter().map(|&(x, y)| (x, y / first)).collect()
                }
                _ => pts,
            };
            (b.name.clone(), pts)
        })
        .collect();
    let max_x = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(1.0f64, f64::max);
    let max_y = if f1 {
        1.0
    } else {
        series
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.1))
            .fold(0.0f64, f64::max)
            .max(1e-6)
            * 1.05
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let mut chart = chart(name, &root, title, 18, 0.5f64..max_x + 0.5, 0f64..max_y)?;
        tr!(
            name,
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(y_desc)
                .x_labels((max_x as usize).min(20))
                .x_label_formatter(&|x| format!("{x:.0}"))
                .draw()
        );
        for (i, (b, pts)) in series.iter().enumerate() {
            let col = colour(i);
            tr!(
                name,
                chart.draw_series(LineSeries::new(
                    if pts.len() > 1 {
                        pts.clone()
                    } else {
                        Vec::new()
                    },
                    col.stroke_width(2)
                ))
            )
            .label(b.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
            tr!(
                name,
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())))
            );
        }
        finish(name, &mut chart, &root, SeriesLabelPosition::UpperRight)?;
    }
    Ok(Plot {
        name: name.into(),
        title: title.into(),
        svg,
    })
}

/// F1 of each label (and micro), one bar per backend, with the spread: mean ± sd over folds,
/// or the bootstrap interval on a single split.
fn label_bars(c: &Comparison) -> Result<Plot, ReportError> {
    let name = "f1_per_label";
    let folds = c.protocol.folds.is_some();
    let title = if folds {
        "F1 per label (mean ± sd over folds)"
    } else {
        "F1 per label (95% bootstrap interval over documents)"
    };
    let mut cats = c.labels();
    cats.push("micro".into());
    let nb = c.backends.len().max(1);
    let group = 0.8;
    let bw = group / nb as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let mut chart = chart(
            name,
            &root,
            title,
            18,
            0f64..cats.len() as f64,
            0f64..1.05f64,
        )?;
        tr!(
            name,
            chart
                .configure_mesh()
                .disable_x_mesh()
                .y_desc("F1")
                .x_labels(0)
                .x_label_formatter(&|_| String::new())
                .draw()
        );
        for (bi, b) in c.backends.iter().enumerate() {
            let col = colour(bi);
            let mut bars = Vec::new();
            let mut whiskers = Vec::new();
            for (ci, cat) in cats.iter().enumerate() {
                let (mid, lo, hi) = if cat == "micro" {
                    spread(b, None, folds)
                } else {
                    match spread(b, Some(cat), folds) {
                        s if b.pooled.per_label.contains_key(cat) => s,
                        _ => continue,
                    }
                };
                let x0 = ci as f64 + (1.0 - group) / 2.0 + bi as f64 * bw;
                // zero-height bars and zero-length whiskers are left out (nothing to draw)
                if mid > 0.0 {
                    bars.push(Rectangle::new(
                        [(x0, 0.0), (x0 + bw * 0.92, mid)],
                        col.filled(),
                    ));
                }
                if hi - lo < 1e-9 {
                    continue;
                }
                let xm = x0 + bw * 0.46;
                whiskers.push(PathElement::new(
                    vec![(xm, lo), (xm, hi)],
                    BLACK.stroke_width(1),
                ));
                for y in [lo, hi] {
                    whiskers.push(PathElement::new(
                        vec![(xm - bw * 0.2, y), (xm + bw * 0.2, y)],
                        BLACK.stroke_width(1),
                    ));
                }
            }
            tr!(name, chart.draw_series(bars))
                .label(b.name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], col.filled()));
            tr!(name, chart.draw_series(whiskers));
        }
        for (ci, cat) in cats.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(ci as f64 + 0.5, 0.0));
            let style = TextStyle::from(("sans-serif", 13).into_font()).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Top,
                ),
            );
            tr!(
                name,
                root.draw(&Text::new(cat.clone(), (px, py + 8), style))
            );
        }
        finish(name, &mut chart, &root, SeriesLabelPosition::UpperRight)?;
    }
    Ok(Plot {
        name: name.into(),
        title: title.into(),
        svg,
    })
}

/// (F1, low, high) of a label (`None`: micro) of a backend.
fn spread(b: &crate::BackendResult, label: Option<&str>, folds: bool) -> (f64, f64, f64) {
    if folds {
        let m = match label {
            None => Some(b.summary.micro.f1),
            Some(l) => b.summary.per_label.get(l).map(|s| s.f1),
        };
        let m = m.unwrap_or(jner_eval::stats::MeanSd {
            mean: 0.0,
            sd: 0.0,
            n: 0,
        });
        return (m.mean, (m.mean - m.sd).max(0.0), (m.mean + m.sd).min(1.0));
    }
    let key = label.unwrap_or("micro");
    match b.intervals.get(key) {
        Some(i) => (i.estimate, i.lo, i.hi),
        None => {
            let f = label.map_or(b.pooled.micro.f1, |l| {
                b.pooled.per_label.get(l).map_or(0.0, |s| s.f1)
            });
            (f, f, f)
        }
    }
}

/// One label's precision (y) against recall (x) as the threshold rises, one line per backend;
/// a circle marks the threshold of highest F1.
fn pr_curve(c: &Comparison, label: &str) -> Result<Plot, ReportError> {
    let name = format!("pr_{}", stem(label));
    let title = format!("Precision-recall of {label} over the threshold");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SMALL).into_drawing_area();
        let mut chart = chart(&name, &root, &title, 15, 0f64..1.0f64, 0f64..1.05f64)?;
        tr!(
            &name,
            chart
                .configure_mesh()
                .x_desc("recall")
                .y_desc("precision")
                .draw()
        );
        for (bi, b) in c.backends.iter().enumerate() {
            let Some(curve) = b.curves.get(label) else {
                continue;
            };
            let col = colour(bi);
            let mut pts: Vec<(f64, f64)> = curve
                .points
                .iter()
                .map(|p| (p.recall, p.precision))
                .collect();
            pts.dedup();
            // a one-point curve is only its marker
            let line = if pts.len() > 1 { pts } else { Vec::new() };
            tr!(
                &name,
                chart.draw_series(LineSeries::new(line, col.stroke_width(2)))
            )
            .label(format!(
                "{} (best F1 {:.2} at {:.2})",
                b.name, curve.best.f1, curve.best.threshold
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(2)));
            let best = (curve.best.recall, curve.best.precision);
            tr!(
                &name,
                chart.draw_series(std::iter::once(Circle::new(best, 6, col.stroke_width(2))))
            );
        }
        finish(&name, &mut chart, &root, SeriesLabelPosition::LowerLeft)?;
    }
    Ok(Plot { name, title, svg })
}

/// The system's fonts, loaded once; `sans-serif` is the first of DejaVu Sans, Liberation Sans,
/// Arial that is installed.
fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        let has = |name: &str| {
            db.faces()
                .any(|f| f.families.iter().any(|(n, _)| n == name))
        };
        if let Some(family) = ["DejaVu Sans", "Liberation Sans", "Arial"]
            .into_iter()
            .find(|n| has(n))
        {
            db.set_sans_serif_family(family);
        }
        Arc::new(db)
    })
    .clone()
}

/// Rasterises an SVG to PNG at twice its size (text needs a system font; without one the
/// text is left out and the shapes drawn).
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>, String> {
    let opt = usvg::Options {
        fontdb: fonts(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| e.to_string())?;
    let scale = 2.0;
    let size = tree.size().to_int_size();
    let (w, h) = (
        (size.width() as f32 * scale) as u32,
        (size.height() as f32 * scale) as u32,
    );
    let mut pixmap =
        tiny_skia::Pixmap::new(w, h).ok_or_else(|| format!("cannot allocate {w}x{h} pixels"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| e.to_string())
}
