//! The lanes of the picture: one per account and one per resource, the
//! resource's state segments rebuilt from the trace's transitions, and each
//! event's marker put on the lane it concerns.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::history::{Event, History};
use crate::observation::{Outcome, Trace, TraceEvent};
use crate::spec::{Catalog, LifecycleId};
use crate::timeline::{self, day_label};

use super::marks::Mark;

/// Which lane an event's marker goes on.
#[derive(Debug, Clone, Copy)]
enum LaneRef {
    Account(usize),
    Resource(usize),
}

#[derive(Debug, Clone)]
pub(super) struct Marker {
    pub(super) mark: Mark,
    pub(super) at: DateTime<Utc>,
    pub(super) title: String,
    /// Filled in by layout.
    pub(super) row: usize,
}

// ----- lanes ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(super) struct Segment {
    pub(super) state: String,
    pub(super) from: DateTime<Utc>,
    pub(super) to: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(super) struct ResourceLane {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) lifecycle: Option<LifecycleId>,
    pub(super) segments: Vec<Segment>,
    pub(super) markers: Vec<Marker>,
}

#[derive(Debug, Clone)]
pub(super) struct AccountLane {
    pub(super) id: String,
    pub(super) markers: Vec<Marker>,
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
pub(super) fn lanes(
    catalog: &Catalog,
    history: &History,
    trace: &Trace,
    end: DateTime<Utc>,
) -> (Vec<AccountLane>, Vec<ResourceLane>) {
    let (mut accounts, account_index) = account_lanes(history, trace);
    // The lifecycles validation resolves, for resources the trace never moves
    // (their transitions would otherwise name it).
    let resolved = history.validate(catalog).ok();
    let mut resources: Vec<ResourceLane> = found_resources(history, trace)
        .iter()
        .map(|f| resource_lane(catalog, resolved.as_ref(), f, end))
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
        let Some((mark, lane)) = mark_of(e, resource_lane, account_lane) else {
            continue;
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

/// The account lanes, the history's accounts first and then those only the
/// trace names, with each account's lane index.
fn account_lanes(history: &History, trace: &Trace) -> (Vec<AccountLane>, HashMap<String, usize>) {
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
    (accounts, account_index)
}

/// The resources to draw, the history's first and then those the trace
/// brings in, each with when it came to exist and its transitions.
fn found_resources<'a>(history: &'a History, trace: &'a Trace) -> Vec<Found<'a>> {
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
    found
}

/// A resource's lane: its lifecycle (from its first transition, else as
/// validation resolved it), its kind, and its state segments up to `end`.
fn resource_lane(
    catalog: &Catalog,
    resolved: Option<&HashMap<String, crate::history::ResolvedResource>>,
    f: &Found,
    end: DateTime<Utc>,
) -> ResourceLane {
    let lifecycle = f
        .moves
        .first()
        .and_then(|m| catalog.lifecycle_named(m.lifecycle))
        .or_else(|| resolved.and_then(|r| r.get(f.id)).map(|r| r.lifecycle));
    let kind = f
        .kind
        .map(str::to_string)
        .or_else(|| lifecycle.map(|l| catalog.lifecycle(l).kind.clone()))
        .unwrap_or_else(|| "resource".to_string());
    let segments = match f.created {
        Some(created) => {
            let initial = lifecycle
                .map(|l| {
                    let lc = catalog.lifecycle(l);
                    lc.state(lc.initial).id.clone()
                })
                .or_else(|| f.moves.first().map(|m| m.from.to_string()))
                .unwrap_or_else(|| "unknown".to_string());
            segments(initial, created, &f.moves, end)
        }
        None => Vec::new(),
    };
    ResourceLane {
        id: f.id.to_string(),
        kind,
        lifecycle,
        segments,
        markers: Vec::new(),
    }
}

/// The states a resource went through, from `created` (in `initial`) to
/// `end`.
fn segments(
    initial: String,
    created: DateTime<Utc>,
    moves: &[Move],
    end: DateTime<Utc>,
) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut current = Segment {
        state: initial,
        from: created,
        to: end,
    };
    // Each transition closes a segment and opens the next; `from` is not
    // checked against the current state, as the picture shows what the trace
    // says rather than judging it.
    for m in moves {
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
    segments
}

/// The marker an event gets and the lane it goes on (`None` for events the
/// picture does not mark: charges, settlements, transitions...).
fn mark_of(
    e: &TraceEvent,
    resource_lane: Option<LaneRef>,
    account_lane: Option<LaneRef>,
) -> Option<(Mark, Option<LaneRef>)> {
    Some(match e {
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
        _ => return None,
    })
}
