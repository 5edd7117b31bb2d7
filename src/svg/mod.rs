//! A trace drawn as a picture: a self-contained SVG 1.1 timeline with one
//! lane per account and per resource.
//!
//! Each resource lane is split into the states the resource went through,
//! rebuilt from the trace's transitions and coloured by what the state means
//! (serving, stopped with data kept, gone, unspecified); markers on the lanes
//! show deductions, top-ups, vouchers, notifications, denied operations and
//! refunds, each with a tooltip naming the event, its instant and its rule.
//!
//! Like [`crate::timeline`], the picture reads only the history (for the
//! lanes and the time span), the trace and the specs (for the meaning of each
//! state), so it draws any implementation's trace, not only the model's.
//!
//! The document is meant to be opened on its own and compared across runs:
//! it uses no external font, script, stylesheet or image, escapes every text
//! that comes from the input, and is byte-for-byte deterministic (no hash
//! order, no clock).
//!
//! This file writes the document; `lanes.rs` builds the lanes from the
//! trace, `axis.rs` maps instants to the page, and `marks.rs` says what
//! colours and markers mean.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::history::History;
use crate::observation::Trace;
use crate::spec::Catalog;
use crate::timeline::day_label;

mod axis;
mod lanes;
mod marks;

use axis::{Axis, assign_rows};
use lanes::{AccountLane, Marker, ResourceLane, Segment, lanes};
pub(crate) use marks::Meaning;
use marks::{Mark, state_summary};

// ----- geometry -----------------------------------------------------------------

/// Width of the time axis in pixels: wide enough for a month at a glance,
/// narrow enough for a laptop screen.
const PLOT_WIDTH: f64 = 960.0;
const RIGHT_MARGIN: f64 = 48.0;
/// Labels longer than this are cut (ids may be up to 128 characters) and
/// shown in full in their tooltip, so one long id cannot squeeze the axis.
const LABEL_CHARS: usize = 32;
const LABEL_FONT: f64 = 12.0;
const SEGMENT_FONT: f64 = 11.0;
const TICK_FONT: f64 = 11.0;
/// Height of a lane's state bar.
const BAR_HEIGHT: f64 = 20.0;
/// Height of one row of markers below the bar.
const MARKER_ROW: f64 = 12.0;
/// Markers closer than this (in pixels) to the previous marker of a row go to
/// the next row, so that events at the same instant stay distinguishable.
const MARKER_GAP: f64 = 10.0;
/// Beyond this many rows markers overlap rather than making lanes tall.
const MAX_MARKER_ROWS: usize = 4;
/// The most day ticks the axis shows; labels need about 80 pixels each.
const MAX_TICKS: i64 = 12;
const AXIS_TOP: f64 = 96.0;

/// A rough text width for the fonts a viewer substitutes for `sans-serif`:
/// it only decides whether a state's name fits inside its segment and how
/// wide the label column is, so erring wide is harmless.
fn text_width(text: &str, font_size: f64) -> f64 {
    text.chars().count() as f64 * font_size * 0.62
}

/// A coordinate with at most two decimals and no `-0`: stable text for the
/// same number.
pub(crate) fn num(v: f64) -> String {
    let v = (v * 100.0).round() / 100.0;
    let v = if v == 0.0 || !v.is_finite() { 0.0 } else { v };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

// ----- escaping -----------------------------------------------------------------

/// Text made safe for XML character data and attribute values. Ids come from
/// user input, so all five special characters are escaped; characters XML 1.0
/// cannot carry at all (most control characters) become U+FFFD, since even a
/// character reference to them would make the document ill-formed.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('\u{2026}');
        s
    }
}

// ----- what a state means -------------------------------------------------------------

// ----- the document ---------------------------------------------------------------------

/// Writes the markers of a lane whose first marker row is centred at `y`.
fn write_markers(out: &mut String, markers: &[Marker], axis: &Axis, y: f64) {
    for m in markers {
        let cy = y + m.row as f64 * MARKER_ROW;
        let _ = writeln!(
            out,
            r#"<g class="marker {}"><title>{}</title>{}</g>"#,
            m.mark.class(),
            escape(&m.title),
            m.mark.shape(axis.x(m.at), cy)
        );
    }
}

/// A lane's label at the left, cut if long (in full in its tooltip).
fn write_label(out: &mut String, class: &str, text: &str, y: f64) {
    let _ = writeln!(
        out,
        r##"<text class="{class}" x="8" y="{}" font-size="{}" fill="#222222"><title>{}</title>{}</text>"##,
        num(y),
        num(LABEL_FONT),
        escape(text),
        escape(&shorten(text, LABEL_CHARS))
    );
}

/// The timeline of `trace` (a run of `history`) as an SVG document.
pub fn render(catalog: &Catalog, history: &History, trace: &Trace) -> String {
    let start = history.start;
    let (from, to) = span(history, trace);
    let (mut accounts, mut resources) = lanes(catalog, history, trace, to);
    let axis = Axis {
        start,
        from,
        to,
        left: label_column(&accounts, &resources),
    };
    let width = axis.left + PLOT_WIDTH + RIGHT_MARGIN;
    let (account_tops, resource_tops, bottom) = stack(&mut accounts, &mut resources, &axis);
    let height = (bottom + 12.0).ceil();

    let mut out = String::new();
    write_header(&mut out, start, to, width, height);
    write_legend(&mut out);
    write_axis(&mut out, &axis, bottom);
    for (a, (top, h)) in accounts.iter().zip(&account_tops) {
        write_account_lane(&mut out, a, *top, *h, width, &axis);
    }
    for (i, (r, (top, h))) in resources.iter().zip(&resource_tops).enumerate() {
        // Every other lane shaded, so a marker row reads with its bar.
        let shaded = i % 2 == 1;
        write_resource_lane(&mut out, catalog, r, (*top, *h, shaded), width, &axis);
    }
    out.push_str("</svg>\n");
    out
}

/// The span of the axis: the history, stretched to any event outside it
/// (an implementation's trace may report one), and never empty.
fn span(history: &History, trace: &Trace) -> (DateTime<Utc>, DateTime<Utc>) {
    let mut from = history.start;
    let mut to = history.end().at(history.start);
    for e in &trace.events {
        from = from.min(e.at());
        to = to.max(e.at());
    }
    if to <= from {
        to = from + TimeDelta::days(1);
    }
    (from, to)
}

/// The x coordinate the plot starts at: right of the widest lane label.
fn label_column(accounts: &[AccountLane], resources: &[ResourceLane]) -> f64 {
    let label_width = accounts
        .iter()
        .map(|a| format!("account {}", a.id))
        .chain(resources.iter().map(|r| format!("{} {}", r.kind, r.id)))
        .map(|l| text_width(&shorten(&l, LABEL_CHARS), LABEL_FONT))
        .fold(80.0, f64::max);
    (label_width + 24.0).ceil()
}

/// A lane's top and height.
type Band = (f64, f64);

/// Lays the lanes out top to bottom, each as tall as its marker rows need:
/// the top and height of every account lane and every resource lane, and
/// the bottom of the last.
fn stack(
    accounts: &mut [AccountLane],
    resources: &mut [ResourceLane],
    axis: &Axis,
) -> (Vec<Band>, Vec<Band>, f64) {
    let mut y = AXIS_TOP + 8.0;
    let mut account_tops = Vec::new();
    for a in accounts {
        let rows = assign_rows(&mut a.markers, axis).max(1);
        let h = 12.0 + rows as f64 * MARKER_ROW;
        account_tops.push((y, h));
        y += h;
    }
    let mut resource_tops = Vec::new();
    for r in resources {
        let rows = assign_rows(&mut r.markers, axis);
        let h = 4.0 + BAR_HEIGHT + 4.0 + rows as f64 * MARKER_ROW + 4.0;
        resource_tops.push((y, h));
        y += h;
    }
    (account_tops, resource_tops, y)
}

/// The document's opening: the `svg` element, its title, the background
/// and the heading.
fn write_header(
    out: &mut String,
    start: DateTime<Utc>,
    to: DateTime<Utc>,
    width: f64,
    height: f64,
) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">"#,
        w = num(width),
        h = num(height)
    );
    let end_label = day_label(start, to);
    let _ = writeln!(
        out,
        "<title>arrears timeline from {} to {}</title>",
        escape(&start.to_rfc3339_opts(SecondsFormat::Secs, true)),
        escape(&end_label)
    );
    let _ = writeln!(
        out,
        r##"<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
        num(width),
        num(height)
    );
    let _ = writeln!(
        out,
        r##"<text x="8" y="20" font-size="14" font-weight="bold" fill="#222222">Timeline from {} (day 0) to {}</text>"##,
        escape(&start.to_rfc3339_opts(SecondsFormat::Secs, true)),
        escape(&end_label)
    );
}

/// The legend: state colours on one row, markers on the next.
fn write_legend(out: &mut String) {
    out.push_str("<g class=\"legend\">\n");
    let mut lx = 8.0;
    for m in Meaning::ALL {
        let _ = writeln!(
            out,
            r##"<rect x="{}" y="32" width="18" height="11" fill="{}" stroke="#ffffff"/><text x="{}" y="42" font-size="11" fill="#222222">{}</text>"##,
            num(lx),
            m.fill(),
            num(lx + 23.0),
            m.words()
        );
        lx += 23.0 + text_width(m.words(), 11.0) + 18.0;
    }
    let mut lx = 8.0;
    for m in Mark::ALL {
        let _ = writeln!(
            out,
            r##"{}<text x="{}" y="62" font-size="11" fill="#222222">{}</text>"##,
            m.shape(lx + 5.0, 58.0),
            num(lx + 14.0),
            m.words()
        );
        lx += 14.0 + text_width(m.words(), 11.0) + 16.0;
    }
    out.push_str("</g>\n");
}

/// The axis, with grid lines down to `bottom` behind the lanes.
fn write_axis(out: &mut String, axis: &Axis, bottom: f64) {
    out.push_str("<g class=\"axis\">\n");
    let _ = writeln!(
        out,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#444444"/>"##,
        num(axis.left),
        num(AXIS_TOP),
        num(axis.left + PLOT_WIDTH),
        num(AXIS_TOP)
    );
    for (at, label) in axis.ticks() {
        let x = axis.x(at);
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#dddddd"/><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#444444"/><text class="tick" x="{x}" y="{}" font-size="{}" text-anchor="middle" fill="#444444">{}</text>"##,
            num(AXIS_TOP),
            num(bottom),
            num(AXIS_TOP - 4.0),
            num(AXIS_TOP + 4.0),
            num(AXIS_TOP - 8.0),
            num(TICK_FONT),
            escape(&label),
            x = num(x)
        );
    }
    out.push_str("</g>\n");
}

/// An account's lane: its label and its markers (top-ups, vouchers...).
fn write_account_lane(
    out: &mut String,
    a: &AccountLane,
    top: f64,
    h: f64,
    width: f64,
    axis: &Axis,
) {
    out.push_str("<g class=\"lane account\">\n");
    let _ = writeln!(
        out,
        r##"<rect x="0" y="{}" width="{}" height="{}" fill="#eef3fa" fill-opacity="0.6"/>"##,
        num(top),
        num(width),
        num(h)
    );
    write_label(
        out,
        "account-label",
        &format!("account {}", a.id),
        top + 16.0,
    );
    write_markers(out, &a.markers, axis, top + 12.0);
    out.push_str("</g>\n");
}

/// A resource's lane: its label, its bar of state segments and its markers.
/// `place` is the lane's top, its height and whether it is shaded.
fn write_resource_lane(
    out: &mut String,
    catalog: &Catalog,
    r: &ResourceLane,
    place: (f64, f64, bool),
    width: f64,
    axis: &Axis,
) {
    let (top, h, shaded) = place;
    out.push_str("<g class=\"lane resource\">\n");
    if shaded {
        let _ = writeln!(
            out,
            r##"<rect x="0" y="{}" width="{}" height="{}" fill="#f4f4f4" fill-opacity="0.7"/>"##,
            num(top),
            num(width),
            num(h)
        );
    }
    let bar = top + 4.0;
    write_label(
        out,
        "lane-label",
        &format!("{} {}", r.kind, r.id),
        bar + 14.0,
    );
    for s in &r.segments {
        write_segment(out, catalog, r, s, axis, bar);
    }
    write_markers(
        out,
        &r.markers,
        axis,
        bar + BAR_HEIGHT + 4.0 + MARKER_ROW / 2.0,
    );
    out.push_str("</g>\n");
}

/// One state segment of a resource's bar (whose top is at `bar`), coloured
/// by what the state means, with the state's name where it fits.
fn write_segment(
    out: &mut String,
    catalog: &Catalog,
    r: &ResourceLane,
    s: &Segment,
    axis: &Axis,
    bar: f64,
) {
    let meaning = Meaning::of(catalog, r.lifecycle, &s.state);
    let x1 = axis.x(s.from);
    let w = (axis.x(s.to) - x1).max(0.0);
    let title = format!(
        "{}\n{} to {}\n{}",
        s.state,
        day_label(axis.start, s.from),
        day_label(axis.start, s.to),
        state_summary(catalog, r.lifecycle, &s.state)
    );
    let _ = write!(
        out,
        r##"<g class="segment {}"><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#ffffff" stroke-width="1"/>"##,
        meaning.class(),
        escape(&title),
        num(x1),
        num(bar),
        num(w),
        num(BAR_HEIGHT),
        meaning.fill()
    );
    // The name only where it fits: a cut state id would mislead.
    if text_width(&s.state, SEGMENT_FONT) + 8.0 <= w {
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" font-size="{}" fill="#1a1a1a">{}</text>"##,
            num(x1 + 4.0),
            num(bar + 14.0),
            num(SEGMENT_FONT),
            escape(&s.state)
        );
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escape(r#"i-<&>"'"#), "i-&lt;&amp;&gt;&quot;&apos;");
        assert_eq!(escape("a\u{1}b\tc"), "a\u{FFFD}b\tc");
    }

    #[test]
    fn numbers_print_stably() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab\u{2026}");
    }
}
