//! The event sequences compared per resource (and per account for
//! account-level events): transitions, deductions, notifications, refunds,
//! operation verdicts and charges, and the first place where the
//! implementation's depart from every reference's.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::observation::{Trace, TraceEvent};

use super::fields::{json, show};
use super::scope::{Judged, Undecided};
use super::{Divergence, Reference};

/// One event of a sequence: its instant, what happened, and its rule.
type Step = (DateTime<Utc>, String, Option<String>);

/// Per (subject, kind of event): the events in order.
type Sequences = std::collections::BTreeMap<(String, &'static str), Vec<Step>>;

/// Where the event sequences of `actual` depart from every reference's,
/// per subject and kind of event, for the events still judged.
pub(super) fn sequence_divergences(
    references: &[Reference],
    actual: &Trace,
    undecided: &Undecided,
    judged: &Judged,
) -> Vec<Divergence> {
    // Where the reading leaves a notification's instant open, when it is
    // sent is the implementation's choice (and whether it was sent by the
    // end of a history may depend on it): the invariants say before what it
    // must come, the comparison leaves it out. `compare` passes the
    // references one at a time, so the first one's reading is the one.
    let open = &references[0].open_instant;
    let decided = |mut s: Sequences| {
        for ((_, kind), events) in s.iter_mut() {
            if *kind == "notifications" {
                events.retain(|(_, what, _)| !open.contains(what));
            }
        }
        s
    };
    let ours: Vec<_> = references
        .iter()
        .map(|r| decided(sequences(&r.trace, undecided, judged)))
        .collect();
    let theirs = decided(sequences(actual, undecided, judged));
    let keys: BTreeSet<(String, &'static str)> =
        ours[0].keys().chain(theirs.keys()).cloned().collect();
    let empty = Vec::new();
    keys.into_iter()
        .filter_map(|key| {
            let got = theirs.get(&key).unwrap_or(&empty);
            let same = |a: &Vec<Step>| {
                a.len() == got.len() && a.iter().zip(got).all(|(x, y)| x.0 == y.0 && x.1 == y.1)
            };
            if ours.iter().any(|o| same(o.get(&key).unwrap_or(&empty))) {
                return None;
            }
            let want = ours[0].get(&key).unwrap_or(&empty);
            first_step_difference(key, want, got)
        })
        .collect()
}

/// The first event where `got` departs from `want` (the chosen
/// reference's), as a divergence of sequence `key`.
fn first_step_difference(
    key: (String, &'static str),
    want: &[Step],
    got: &[Step],
) -> Option<Divergence> {
    let i = want
        .iter()
        .zip(got)
        .position(|(x, y)| x.0 != y.0 || x.1 != y.1)
        .unwrap_or(want.len().min(got.len()));
    let (at, expected, actual, rule) = match (want.get(i), got.get(i)) {
        (Some(w), Some(g)) => (
            w.0.min(g.0),
            format!("{} at {}", w.1, w.0),
            format!("{} at {}", g.1, g.0),
            w.2.clone().or(g.2.clone()),
        ),
        (Some(w), None) => (
            w.0,
            format!("{} at {}", w.1, w.0),
            "nothing".into(),
            w.2.clone(),
        ),
        (None, Some(g)) => (
            g.0,
            "nothing".into(),
            format!("{} at {}", g.1, g.0),
            g.2.clone(),
        ),
        (None, None) => return None,
    };
    Some(Divergence {
        at,
        subject: key.0,
        field: key.1.to_string(),
        expected,
        actual,
        rules: rule.into_iter().collect(),
    })
}

/// The event sequences compared per resource (and per account for
/// account-level events): each element is (instant, description, rule).
fn sequences(trace: &Trace, undecided: &Undecided, judged: &Judged) -> Sequences {
    let mut out = Sequences::new();
    for e in trace.events.iter().filter(|e| judged.event(e)) {
        if let TraceEvent::Operation {
            at,
            resource,
            operation,
            ..
        } = e
            && undecided.contains(&(*at, resource.clone(), operation.clone()))
        {
            continue;
        }
        let Some((kind, what)) = step_of(e) else {
            continue;
        };
        // Every event compared names its resource, but a notification may
        // be about the account.
        let subject = match (e.resource(), e) {
            (Some(r), _) => format!("resource {r}"),
            (None, TraceEvent::Notification { account, .. }) => format!("account {account}"),
            (None, _) => continue,
        };
        let sequence = out.entry((subject, kind)).or_default();
        // The documents say that a notification is sent, never how often it
        // repeats (every hourly EMR bill, or once an episode?): only the
        // first of each kind is compared.
        if kind == "notifications" && sequence.iter().any(|(_, w, _)| *w == what) {
            continue;
        }
        sequence.push((e.at(), what, e.rule().map(str::to_string)));
    }
    out
}

/// The kind of sequence an event belongs to and how it reads there; `None`
/// for the events not compared as a sequence.
fn step_of(e: &TraceEvent) -> Option<(&'static str, String)> {
    Some(match e {
        TraceEvent::Transition { from, to, .. } => ("transitions", format!("{from} -> {to}")),
        TraceEvent::Deduction {
            bill,
            attempt,
            outcome,
            amount,
            ..
        } => (
            "deductions",
            format!(
                "bill {bill} attempt {attempt} of {amount}: {}",
                show(&json(outcome))
            ),
        ),
        TraceEvent::Notification { notification, .. } => {
            ("notifications", notification.to_string())
        }
        TraceEvent::Refund { amount, .. } => ("refunds", format!("refund of {amount}")),
        TraceEvent::Operation {
            operation,
            allowed,
            error_code,
            ..
        } => (
            "operations",
            // The error a refusal answers with is part of the verdict
            // where the document names one.
            match (allowed, error_code) {
                (true, _) => format!("{operation} allowed"),
                (false, None) => format!("{operation} denied"),
                (false, Some(code)) => format!("{operation} denied with {code}"),
            },
        ),
        TraceEvent::ChargeSkipped { amount, .. } => {
            ("charges", format!("charge of {amount} skipped"))
        }
        TraceEvent::Charge { bill, amount, .. } => (
            "charges",
            format!(
                "charge of {amount} billed as {}",
                bill.clone().unwrap_or_else(|| "consumption".into())
            ),
        ),
        _ => return None,
    })
}
