//! `--svg FILE`: a fleet's resources by state over the simulated days, as a
//! self-contained SVG — one stacked-area panel per product, each state a
//! band coloured by what it means (serving, data kept while not serving,
//! gone, unspecified: the timeline picture's colours, in shades).
//!
//! Like the timeline picture ([`crate::svg`]) it uses no external font,
//! script or stylesheet, escapes every name, and is byte-for-byte
//! deterministic: it reads only the result (its per-day counts) and the
//! specs (what each state means).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::FleetResult;
use super::report::grouped;
use crate::spec::{Catalog, LifecycleId};
use crate::svg::{Meaning, escape, num};

const LEFT: f64 = 72.0;
const PLOT_WIDTH: f64 = 720.0;
const LEGEND_WIDTH: f64 = 300.0;
const PANEL_HEIGHT: f64 = 150.0;
const PANEL_GAP: f64 = 56.0;
const TOP: f64 = 64.0;
const MAX_TICKS: usize = 10;
/// Legend entries per column; two columns fit beside a panel.
const LEGEND_ROWS: usize = 14;

/// Shades of each meaning's colour, for the states that share it.
fn shade(meaning: Meaning, n: usize) -> &'static str {
    let shades: &[&str] = match meaning {
        Meaning::Serving => &["#81c784", "#4caf50", "#a5d6a7", "#2e7d32", "#c8e6c9"],
        Meaning::Retained => &["#ffc857", "#ff9800", "#ffe082", "#f57c00", "#ffecb3"],
        Meaning::Gone => &["#a6a6a6", "#7a7a7a", "#c8c8c8", "#5a5a5a", "#e0e0e0"],
        Meaning::Unspecified => &["#bfe3f5", "#64b5f6", "#90caf9", "#1e88e5", "#e3f2fd"],
    };
    shades[n % shades.len()]
}

/// What state `state` of a product means: as its first lifecycle of that
/// product with a state so named says.
fn meaning(catalog: &Catalog, product: &str, state: &str) -> Meaning {
    let lifecycle = catalog
        .lifecycles
        .iter()
        .enumerate()
        .find(|(_, l)| catalog.document(l.doc).id == product && l.state_named(state).is_some())
        .map(|(i, _)| LifecycleId(i as u32));
    Meaning::of(catalog, lifecycle, state)
}

/// The picture.
pub fn render(catalog: &Catalog, result: &FleetResult) -> String {
    let days = result.days as usize;
    let products = &result.tally.resources_by_state;
    let height = TOP + products.len() as f64 * (PANEL_HEIGHT + PANEL_GAP) + 16.0;
    let width = LEFT + PLOT_WIDTH + LEGEND_WIDTH;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{}" height="{}" viewBox="0 0 {} {}" font-family="sans-serif">"#,
        num(width),
        num(height),
        num(width),
        num(height)
    );
    let title = format!(
        "arrears fleet: {} accounts over {} days, seed {} — resources by state at the end of each day",
        grouped(i128::from(result.tally.accounts)),
        result.days,
        result.seed
    );
    let _ = writeln!(out, "<title>{}</title>", escape(&title));
    let _ = writeln!(
        out,
        r#"<rect width="{}" height="{}" fill="white"/>"#,
        num(width),
        num(height)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="28" font-size="15">{}</text>"#,
        num(LEFT),
        escape(&title)
    );
    for (p, (product, states)) in products.iter().enumerate() {
        panel(&mut out, catalog, p, product, states, days);
    }
    out.push_str("</svg>\n");
    out
}

/// Where day `d` of `days` falls on the horizontal axis.
fn day_x(days: usize, d: usize) -> f64 {
    LEFT + PLOT_WIDTH * d as f64 / (days.max(2) - 1) as f64
}

/// The `p`th product's panel: a band per state, stacked, with its legend
/// beside it and its axes.
fn panel(
    out: &mut String,
    catalog: &Catalog,
    p: usize,
    product: &str,
    states: &BTreeMap<String, Vec<u64>>,
    days: usize,
) {
    let x = |d: usize| day_x(days, d);
    let top = TOP + p as f64 * (PANEL_HEIGHT + PANEL_GAP);
    let bottom = top + PANEL_HEIGHT;
    // States in the order of their meaning, then by name.
    let mut order: Vec<(Meaning, &String, &Vec<u64>)> = states
        .iter()
        .map(|(s, series)| (meaning(catalog, product, s), s, series))
        .collect();
    order.sort_by_key(|(m, s, _)| (Meaning::ALL.iter().position(|x| x == m).unwrap_or(0), *s));
    let at = |series: &Vec<u64>, d: usize| series.get(d).copied().unwrap_or(0);
    let peak = (0..days)
        .map(|d| order.iter().map(|(_, _, s)| at(s, d)).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let y = |n: u64| bottom - PANEL_HEIGHT * n as f64 / peak as f64;
    let _ = writeln!(
        out,
        r#"<g class="product" data-product="{}">"#,
        escape(product)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="13" font-weight="bold">{}</text>"#,
        num(LEFT),
        num(top - 8.0),
        escape(product)
    );
    let mut below = vec![0u64; days];
    let mut shades_used = [0usize; 4];
    for (i, (m, state, series)) in order.iter().enumerate() {
        let k = Meaning::ALL.iter().position(|x| x == m).unwrap_or(0);
        let fill = shade(*m, shades_used[k]);
        shades_used[k] += 1;
        let above: Vec<u64> = (0..days).map(|d| below[d] + at(series, d)).collect();
        let mut points: Vec<String> = (0..days)
            .map(|d| format!("{},{}", num(x(d)), num(y(above[d]))))
            .collect();
        points.extend(
            (0..days)
                .rev()
                .map(|d| format!("{},{}", num(x(d)), num(y(below[d])))),
        );
        let _ = writeln!(
            out,
            r#"<polygon class="band" data-state="{}" points="{}" fill="{fill}" stroke="white" stroke-width="0.5"><title>{} {} ({}): up to {} at a day's end</title></polygon>"#,
            escape(state),
            points.join(" "),
            escape(product),
            escape(state),
            m.words(),
            grouped(i128::from(
                (0..days).map(|d| at(series, d)).max().unwrap_or(0)
            ))
        );
        legend_entry(out, i, top, fill, state);
        below = above;
    }
    // Axes: the peak on the left, day ticks below.
    axes(out, top, bottom, peak, days);
    out.push_str("</g>\n");
}

/// The legend entry of a panel's `i`th state: columns of LEGEND_ROWS
/// beside the panel (states past two columns go unlisted).
fn legend_entry(out: &mut String, i: usize, top: f64, fill: &str, state: &str) {
    let (column, row) = (i / LEGEND_ROWS, i % LEGEND_ROWS);
    let ly = top + 12.0 + row as f64 * 13.0;
    if column < 2 {
        let lx = LEFT + PLOT_WIDTH + 16.0 + column as f64 * LEGEND_WIDTH / 2.0;
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{fill}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            num(lx),
            num(ly - 9.0),
            num(lx + 14.0),
            num(ly),
            escape(state)
        );
    }
}

/// A panel's axes: the peak on the left, day ticks below.
fn axes(out: &mut String, top: f64, bottom: f64, peak: u64, days: usize) {
    let x = |d: usize| day_x(days, d);
    let _ = writeln!(
        out,
        r##"<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/>"##,
        l = num(LEFT),
        r = num(LEFT + PLOT_WIDTH),
        t = num(top),
        b = num(bottom)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">0</text>"#,
        num(LEFT - 6.0),
        num(top + 10.0),
        grouped(i128::from(peak)),
        num(LEFT - 6.0),
        num(bottom)
    );
    let step = days.div_ceil(MAX_TICKS).max(1);
    for d in (0..days).step_by(step) {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">day {d}</text>"#,
            num(x(d)),
            num(bottom + 16.0)
        );
    }
}
