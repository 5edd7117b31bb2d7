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

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::history::{Event, History};
use crate::observation::{Outcome, Trace, TraceEvent};
use crate::spec::{Catalog, Data, LifecycleId, Serving};
use crate::timeline::{self, day_label};

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

/// The colour classes of a state segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    Serving,
    /// Not serving, data kept: the window in which paying still saves it.
    Retained,
    /// Data deleted or the resource is at its end.
    Gone,
    /// The specs do not say (or the state is not in the specs).
    Unspecified,
}

impl Meaning {
    pub(crate) fn of(catalog: &Catalog, lifecycle: Option<LifecycleId>, state: &str) -> Meaning {
        let Some(lc) = lifecycle.map(|l| catalog.lifecycle(l)) else {
            return Meaning::Unspecified;
        };
        let Some(s) = lc.state_named(state).map(|s| lc.state(s)) else {
            return Meaning::Unspecified;
        };
        // Gone first: a terminal state ends the resource whatever else it says.
        if s.data == Data::Deleted || s.terminal {
            Meaning::Gone
        } else if s.serving == Serving::Yes {
            Meaning::Serving
        } else if s.serving == Serving::No && s.data == Data::Retained {
            Meaning::Retained
        } else {
            Meaning::Unspecified
        }
    }

    fn class(self) -> &'static str {
        match self {
            Meaning::Serving => "state-serving",
            Meaning::Retained => "state-retained",
            Meaning::Gone => "state-gone",
            Meaning::Unspecified => "state-unspecified",
        }
    }

    pub(crate) fn fill(self) -> &'static str {
        match self {
            Meaning::Serving => "#81c784",
            Meaning::Retained => "#ffc857",
            Meaning::Gone => "#a6a6a6",
            Meaning::Unspecified => "#bfe3f5",
        }
    }

    pub(crate) fn words(self) -> &'static str {
        match self {
            Meaning::Serving => "serving",
            Meaning::Retained => "not serving, data retained",
            Meaning::Gone => "data deleted or terminal",
            Meaning::Unspecified => "unspecified",
        }
    }

    pub(crate) const ALL: [Meaning; 4] = [
        Meaning::Serving,
        Meaning::Retained,
        Meaning::Gone,
        Meaning::Unspecified,
    ];
}

/// What the capabilities of a state say, for its tooltip.
fn state_summary(catalog: &Catalog, lifecycle: Option<LifecycleId>, state: &str) -> String {
    let Some(lc) = lifecycle.map(|l| catalog.lifecycle(l)) else {
        return "not in the specs".to_string();
    };
    let Some(s) = lc.state_named(state).map(|s| lc.state(s)) else {
        return format!("not a state of {}", lc.id);
    };
    let serving = match s.serving {
        Serving::Yes => "serving",
        Serving::No => "not serving",
        Serving::Unspecified => "serving unspecified",
    };
    let data = match s.data {
        Data::Retained => "data retained",
        Data::Deleted => "data deleted",
        Data::Unspecified => "data unspecified",
    };
    let billing = match s.billing {
        crate::spec::BillingStatus::Running => "billing running",
        crate::spec::BillingStatus::Ceased => "billing ceased",
        crate::spec::BillingStatus::Unspecified => "billing unspecified",
    };
    let terminal = if s.terminal { ", terminal" } else { "" };
    format!("{serving}, {data}, {billing}{terminal}")
}

// ----- markers ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Paid,
    Failed,
    Overdrawn,
    TopUp,
    Voucher,
    Notification,
    Denied,
    Refund,
}

impl Mark {
    fn class(self) -> &'static str {
        match self {
            Mark::Paid => "deduction-paid",
            Mark::Failed => "deduction-failed",
            Mark::Overdrawn => "deduction-overdrawn",
            Mark::TopUp => "top-up",
            Mark::Voucher => "voucher",
            Mark::Notification => "notification",
            Mark::Denied => "operation-denied",
            Mark::Refund => "refund",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Mark::Paid => "deduction paid",
            Mark::Failed => "deduction failed",
            Mark::Overdrawn => "deduction overdrawn",
            Mark::TopUp => "top-up",
            Mark::Voucher => "voucher",
            Mark::Notification => "notification",
            Mark::Denied => "operation denied",
            Mark::Refund => "refund",
        }
    }

    const ALL: [Mark; 8] = [
        Mark::Paid,
        Mark::Failed,
        Mark::Overdrawn,
        Mark::TopUp,
        Mark::Voucher,
        Mark::Notification,
        Mark::Denied,
        Mark::Refund,
    ];

    /// The marker's shape, centred on (x, y).
    fn shape(self, x: f64, y: f64) -> String {
        let p = |dx: f64, dy: f64| format!("{} {}", num(x + dx), num(y + dy));
        match self {
            Mark::Paid => format!(
                r##"<circle cx="{}" cy="{}" r="3.5" fill="#2e7d32"/>"##,
                num(x),
                num(y)
            ),
            Mark::Failed => format!(
                r##"<path d="M {} L {} M {} L {}" stroke="#d32f2f" stroke-width="2" fill="none"/>"##,
                p(-3.5, -3.5),
                p(3.5, 3.5),
                p(-3.5, 3.5),
                p(3.5, -3.5)
            ),
            Mark::Overdrawn => format!(
                r##"<path d="M {} L {} L {} Z" fill="#ef6c00"/>"##,
                p(0.0, -4.0),
                p(4.5, 4.0),
                p(-4.5, 4.0)
            ),
            Mark::TopUp | Mark::Voucher => {
                let fill = if self == Mark::TopUp {
                    "#1565c0"
                } else {
                    "#42a5f5"
                };
                format!(
                    r#"<path d="M {} L {} L {} L {} L {} L {} L {} Z" fill="{fill}"/>"#,
                    p(0.0, -5.0),
                    p(4.5, 0.0),
                    p(1.5, 0.0),
                    p(1.5, 5.0),
                    p(-1.5, 5.0),
                    p(-1.5, 0.0),
                    p(-4.5, 0.0)
                )
            }
            Mark::Notification => format!(
                r##"<path d="M {} L {} L {} L {} Z" fill="#8e44ad"/>"##,
                p(0.0, -4.5),
                p(4.5, 0.0),
                p(0.0, 4.5),
                p(-4.5, 0.0)
            ),
            Mark::Denied => format!(
                r##"<rect x="{}" y="{}" width="3" height="10" fill="#b71c1c"/>"##,
                num(x - 1.5),
                num(y - 5.0)
            ),
            Mark::Refund => format!(
                r##"<text x="{}" y="{}" font-size="11" font-weight="bold" text-anchor="middle" fill="#00796b">$</text>"##,
                num(x),
                num(y + 4.0)
            ),
        }
    }
}

/// Which lane an event's marker goes on.
#[derive(Debug, Clone, Copy)]
enum LaneRef {
    Account(usize),
    Resource(usize),
}

#[derive(Debug, Clone)]
struct Marker {
    mark: Mark,
    at: DateTime<Utc>,
    title: String,
    /// Filled in by layout.
    row: usize,
}

// ----- lanes ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Segment {
    state: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct ResourceLane {
    id: String,
    kind: String,
    lifecycle: Option<LifecycleId>,
    segments: Vec<Segment>,
    markers: Vec<Marker>,
}

#[derive(Debug, Clone)]
struct AccountLane {
    id: String,
    markers: Vec<Marker>,
}

/// A resource the lanes are built for, with the transitions of its trace.
struct Found<'a> {
    id: &'a str,
    kind: Option<&'a str>,
    /// When it came to exist; never for a purchase that was denied.
    created: Option<DateTime<Utc>>,
    moves: Vec<Move<'a>>,
}

/// A transition of the trace.
struct Move<'a> {
    lifecycle: &'a str,
    from: &'a str,
    to: &'a str,
    at: DateTime<Utc>,
}

/// The account an event concerns (every event but a transition names one).
fn event_account(e: &TraceEvent) -> Option<&str> {
    match e {
        TraceEvent::Charge { account, .. }
        | TraceEvent::ChargeSkipped { account, .. }
        | TraceEvent::Deduction { account, .. }
        | TraceEvent::BillSettled { account, .. }
        | TraceEvent::TopUp { account, .. }
        | TraceEvent::VoucherGranted { account, .. }
        | TraceEvent::Payment { account, .. }
        | TraceEvent::Notification { account, .. }
        | TraceEvent::Operation { account, .. }
        | TraceEvent::Refund { account, .. } => Some(account),
        TraceEvent::Transition { .. } => None,
    }
}

/// The lanes of a history and its trace: accounts and resources in the
/// order the history lists them, then those the trace brings in (purchases)
/// in the order they first appear.
fn lanes(
    catalog: &Catalog,
    history: &History,
    trace: &Trace,
    end: DateTime<Utc>,
) -> (Vec<AccountLane>, Vec<ResourceLane>) {
    let mut accounts: Vec<AccountLane> = Vec::new();
    let mut account_index: HashMap<String, usize> = HashMap::new();
    let listed = history.accounts.iter().map(|a| a.id.as_str());
    for id in listed.chain(trace.events.iter().filter_map(event_account)) {
        if !account_index.contains_key(id) {
            account_index.insert(id.to_string(), accounts.len());
            accounts.push(AccountLane {
                id: id.to_string(),
                markers: Vec::new(),
            });
        }
    }

    // The lifecycles validation resolves, for resources the trace never moves
    // (their transitions would otherwise name it).
    let resolved = history.validate(catalog).ok();
    let purchases: HashMap<&str, &crate::history::ResourceDef> = history
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Purchase { resource, .. } => Some((resource.id.as_str(), &**resource)),
            _ => None,
        })
        .collect();
    let mut found: Vec<Found> = history
        .resources
        .iter()
        .map(|r| Found {
            id: &r.id,
            kind: Some(&r.kind),
            created: Some(history.start),
            moves: Vec::new(),
        })
        .collect();
    let mut seen: HashMap<&str, usize> = found.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
    for e in &trace.events {
        let Some(id) = e.resource() else { continue };
        let i = *seen.entry(id).or_insert_with(|| {
            found.push(Found {
                id,
                kind: purchases.get(id).map(|d| d.kind.as_str()),
                created: None,
                moves: Vec::new(),
            });
            found.len() - 1
        });
        // A purchased resource exists from its (allowed) purchase on; a
        // transition proves it exists even if the purchase was not logged.
        let created = match e {
            TraceEvent::Operation {
                operation, allowed, ..
            } => *allowed && operation == "purchase",
            TraceEvent::Payment { operation, .. } => operation == "purchase",
            TraceEvent::Transition { .. } => true,
            _ => false,
        };
        if created && found[i].created.is_none() {
            found[i].created = Some(e.at());
        }
        if let TraceEvent::Transition {
            at,
            lifecycle,
            from,
            to,
            ..
        } = e
        {
            found[i].moves.push(Move {
                lifecycle,
                from,
                to,
                at: *at,
            });
        }
    }

    let mut resources: Vec<ResourceLane> = found
        .iter()
        .map(|f| {
            let lifecycle = f
                .moves
                .first()
                .and_then(|m| catalog.lifecycle_named(m.lifecycle))
                .or_else(|| {
                    resolved
                        .as_ref()
                        .and_then(|r| r.get(f.id))
                        .map(|r| r.lifecycle)
                });
            let kind = f
                .kind
                .map(str::to_string)
                .or_else(|| lifecycle.map(|l| catalog.lifecycle(l).kind.clone()))
                .unwrap_or_else(|| "resource".to_string());
            let mut segments = Vec::new();
            if let Some(created) = f.created {
                let initial = lifecycle
                    .map(|l| {
                        let lc = catalog.lifecycle(l);
                        lc.state(lc.initial).id.clone()
                    })
                    .or_else(|| f.moves.first().map(|m| m.from.to_string()))
                    .unwrap_or_else(|| "unknown".to_string());
                let mut current = Segment {
                    state: initial,
                    from: created,
                    to: end,
                };
                // Each transition closes a segment and opens the next; `from`
                // is not checked against the current state, as the picture
                // shows what the trace says rather than judging it.
                for m in &f.moves {
                    current.to = m.at;
                    segments.push(current);
                    current = Segment {
                        state: m.to.to_string(),
                        from: m.at,
                        to: end,
                    };
                }
                current.to = end.max(current.from);
                segments.push(current);
            }
            ResourceLane {
                id: f.id.to_string(),
                kind,
                lifecycle,
                segments,
                markers: Vec::new(),
            }
        })
        .collect();

    let resource_index: HashMap<String, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    let entries = timeline::entries(catalog, history.start, trace);
    for (e, entry) in trace.events.iter().zip(&entries) {
        let resource_lane = e
            .resource()
            .and_then(|r| resource_index.get(r))
            .map(|i| LaneRef::Resource(*i));
        let account_lane = event_account(e)
            .and_then(|a| account_index.get(a))
            .map(|i| LaneRef::Account(*i));
        let (mark, lane) = match e {
            TraceEvent::Deduction { outcome, .. } => (
                match outcome {
                    Outcome::Paid => Mark::Paid,
                    Outcome::Failed => Mark::Failed,
                    Outcome::Overdrawn => Mark::Overdrawn,
                },
                resource_lane,
            ),
            TraceEvent::TopUp { .. } => (Mark::TopUp, account_lane),
            TraceEvent::VoucherGranted { .. } => (Mark::Voucher, account_lane),
            TraceEvent::Notification { .. } => (Mark::Notification, resource_lane.or(account_lane)),
            TraceEvent::Operation { allowed: false, .. } => (Mark::Denied, resource_lane),
            TraceEvent::Refund { .. } => (Mark::Refund, resource_lane),
            _ => continue,
        };
        let Some(lane) = lane else { continue };
        let mut title = format!("{}\n{}", entry.text, day_label(history.start, e.at()));
        if let Some(rule) = &entry.rule {
            let _ = write!(title, "\nrule {rule}");
        }
        let marker = Marker {
            mark,
            at: e.at(),
            title,
            row: 0,
        };
        match lane {
            LaneRef::Account(i) => accounts[i].markers.push(marker),
            LaneRef::Resource(i) => resources[i].markers.push(marker),
        }
    }
    (accounts, resources)
}

// ----- the time axis ------------------------------------------------------------

/// Maps instants to x coordinates.
struct Axis {
    start: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    left: f64,
}

impl Axis {
    fn x(&self, at: DateTime<Utc>) -> f64 {
        let span = (self.to - self.from).num_seconds().max(1) as f64;
        let at = at.clamp(self.from, self.to);
        self.left + (at - self.from).num_seconds() as f64 / span * PLOT_WIDTH
    }

    /// Tick instants and labels: whole days counted from the start (hours
    /// for spans of a week or less), at most [`MAX_TICKS`] of them, on a
    /// step that reads as a calendar unit (a week, four weeks, a year).
    fn ticks(&self) -> Vec<(DateTime<Utc>, String)> {
        const HOUR: i64 = 3600;
        const DAY: i64 = 86_400;
        let lo = (self.from - self.start).num_seconds();
        let hi = (self.to - self.start).num_seconds();
        let span = (hi - lo).max(1);
        let steps = [
            HOUR,
            2 * HOUR,
            3 * HOUR,
            6 * HOUR,
            12 * HOUR,
            DAY,
            2 * DAY,
            7 * DAY,
            14 * DAY,
            28 * DAY,
            56 * DAY,
            91 * DAY,
            182 * DAY,
            365 * DAY,
            730 * DAY,
            1825 * DAY,
            3650 * DAY,
            7300 * DAY,
            18_250 * DAY,
            36_500 * DAY,
        ];
        let step = steps
            .into_iter()
            .find(|s| span / s <= MAX_TICKS)
            .unwrap_or_else(|| (span / MAX_TICKS / DAY + 1) * DAY);
        let first = lo.div_euclid(step) + i64::from(lo.rem_euclid(step) != 0);
        let last = hi.div_euclid(step);
        (first..=last)
            .map(|k| {
                let secs = k * step;
                let at = self.start + TimeDelta::seconds(secs);
                let label = if step % DAY == 0 {
                    format!("day {}", secs / DAY)
                } else {
                    day_label(self.start, at)
                };
                (at, label)
            })
            .collect()
    }
}

/// Puts each marker in the first row where it does not crowd the previous
/// one; returns the number of rows used.
fn assign_rows(markers: &mut [Marker], axis: &Axis) -> usize {
    let mut last: Vec<f64> = Vec::new();
    for m in markers.iter_mut() {
        let x = axis.x(m.at);
        let row = match last.iter().position(|l| x - l >= MARKER_GAP) {
            Some(r) => r,
            None if last.len() < MAX_MARKER_ROWS => {
                last.push(f64::NEG_INFINITY);
                last.len() - 1
            }
            // All rows crowded: overlap in the row whose last marker is
            // furthest left (the first such row, for determinism).
            None => {
                let mut best = 0;
                for (i, l) in last.iter().enumerate() {
                    if *l < last[best] {
                        best = i;
                    }
                }
                best
            }
        };
        last[row] = x;
        m.row = row;
    }
    last.len()
}

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
    // The axis spans the history, stretched to any event outside it (an
    // implementation's trace may report one).
    let mut from = start;
    let mut to = history.end().at(start);
    for e in &trace.events {
        from = from.min(e.at());
        to = to.max(e.at());
    }
    if to <= from {
        to = from + TimeDelta::days(1);
    }

    let (mut accounts, mut resources) = lanes(catalog, history, trace, to);

    let labels: Vec<String> = accounts
        .iter()
        .map(|a| format!("account {}", a.id))
        .chain(resources.iter().map(|r| format!("{} {}", r.kind, r.id)))
        .collect();
    let label_width = labels
        .iter()
        .map(|l| text_width(&shorten(l, LABEL_CHARS), LABEL_FONT))
        .fold(80.0, f64::max);
    let left = (label_width + 24.0).ceil();
    let axis = Axis {
        start,
        from,
        to,
        left,
    };
    let width = left + PLOT_WIDTH + RIGHT_MARGIN;

    // Lane heights depend on how many marker rows they need.
    let mut y = AXIS_TOP + 8.0;
    let mut account_tops = Vec::new();
    for a in &mut accounts {
        let rows = assign_rows(&mut a.markers, &axis).max(1);
        let h = 12.0 + rows as f64 * MARKER_ROW;
        account_tops.push((y, h));
        y += h;
    }
    let mut resource_tops = Vec::new();
    for r in &mut resources {
        let rows = assign_rows(&mut r.markers, &axis);
        let h = 4.0 + BAR_HEIGHT + 4.0 + rows as f64 * MARKER_ROW + 4.0;
        resource_tops.push((y, h));
        y += h;
    }
    let height = (y + 12.0).ceil();

    let mut out = String::new();
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

    // Legend: state colours on one row, markers on the next.
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

    // Axis, with grid lines behind the lanes.
    out.push_str("<g class=\"axis\">\n");
    let _ = writeln!(
        out,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#444444"/>"##,
        num(left),
        num(AXIS_TOP),
        num(left + PLOT_WIDTH),
        num(AXIS_TOP)
    );
    for (at, label) in axis.ticks() {
        let x = axis.x(at);
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#dddddd"/><line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#444444"/><text class="tick" x="{x}" y="{}" font-size="{}" text-anchor="middle" fill="#444444">{}</text>"##,
            num(AXIS_TOP),
            num(y),
            num(AXIS_TOP - 4.0),
            num(AXIS_TOP + 4.0),
            num(AXIS_TOP - 8.0),
            num(TICK_FONT),
            escape(&label),
            x = num(x)
        );
    }
    out.push_str("</g>\n");

    for (a, (top, h)) in accounts.iter().zip(&account_tops) {
        out.push_str("<g class=\"lane account\">\n");
        let _ = writeln!(
            out,
            r##"<rect x="0" y="{}" width="{}" height="{}" fill="#eef3fa" fill-opacity="0.6"/>"##,
            num(*top),
            num(width),
            num(*h)
        );
        write_label(
            &mut out,
            "account-label",
            &format!("account {}", a.id),
            top + 16.0,
        );
        write_markers(&mut out, &a.markers, &axis, top + 12.0);
        out.push_str("</g>\n");
    }

    for (i, (r, (top, h))) in resources.iter().zip(&resource_tops).enumerate() {
        out.push_str("<g class=\"lane resource\">\n");
        // Every other lane shaded, so a marker row reads with its bar.
        if i % 2 == 1 {
            let _ = writeln!(
                out,
                r##"<rect x="0" y="{}" width="{}" height="{}" fill="#f4f4f4" fill-opacity="0.7"/>"##,
                num(*top),
                num(width),
                num(*h)
            );
        }
        let bar = top + 4.0;
        write_label(
            &mut out,
            "lane-label",
            &format!("{} {}", r.kind, r.id),
            bar + 14.0,
        );
        for s in &r.segments {
            let meaning = Meaning::of(catalog, r.lifecycle, &s.state);
            let x1 = axis.x(s.from);
            let w = (axis.x(s.to) - x1).max(0.0);
            let title = format!(
                "{}\n{} to {}\n{}",
                s.state,
                day_label(start, s.from),
                day_label(start, s.to),
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
        write_markers(
            &mut out,
            &r.markers,
            &axis,
            bar + BAR_HEIGHT + 4.0 + MARKER_ROW / 2.0,
        );
        out.push_str("</g>\n");
    }

    out.push_str("</svg>\n");
    out
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
