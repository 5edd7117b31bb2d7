//! The lifecycle-conformance check: transitions follow the lifecycle's
//! edges from the initial state with nothing skipped, terminal states are
//! never left, every observation agrees with the transition log and with
//! the state's documented capabilities, and deleted data never comes back.

use chrono::{DateTime, Utc};

use crate::check::{TraceIndex, Violation, violation};
use crate::observation::{ResourceObservation, TraceEvent};
use crate::spec::{BillingStatus, Catalog, Data, InvariantDef, Lifecycle, Serving, State};

/// Keeps a violation at `at` (with the observation it was seen in, if one)
/// if it is earlier than the one already found.
type Report<'r> =
    dyn Fn(DateTime<Utc>, String, Option<serde_json::Value>, &mut Option<Violation>) + 'r;

pub(super) fn lifecycle(
    judge: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
) -> (bool, Option<Violation>) {
    let mut exercised = false;
    let mut first: Option<Violation> = None;
    for subject in index.subjects(&inv.subjects) {
        let Some(lid) = index.lifecycle(subject) else {
            continue;
        };
        let lc = judge.lifecycle(lid);
        let resource = index.resource_id(subject);
        let report = |at: DateTime<Utc>,
                      message: String,
                      obs: Option<serde_json::Value>,
                      first: &mut Option<Violation>| {
            if first.as_ref().is_none_or(|f| at < f.at) {
                *first = Some(violation(inv, judge, Some(resource), at, message, obs));
            }
        };
        let timeline = transition_log(lc, index, subject, &mut exercised, &report, &mut first);
        // Every snapshot exercises the check, whether it agrees or not.
        exercised |= !index.snapshots(subject).is_empty();
        observations_agree(judge, lc, index, subject, &timeline, &report, &mut first);
    }
    (exercised, first)
}

/// The transition log, from the initial state: the instant and target of
/// each transition, up to the first that does not follow the lifecycle's
/// edges (which is reported).
fn transition_log<'t>(
    lc: &Lifecycle,
    index: &TraceIndex<'t>,
    subject: usize,
    exercised: &mut bool,
    report: &Report<'_>,
    first: &mut Option<Violation>,
) -> Vec<(DateTime<Utc>, &'t str)> {
    let mut current = lc.initial;
    let mut timeline: Vec<(DateTime<Utc>, &str)> = Vec::new();
    for e in index.logged(subject) {
        let TraceEvent::Transition { at, from, to, .. } = e else {
            continue;
        };
        *exercised = true;
        let current_name = &lc.state(current).id;
        if lc.state(current).terminal {
            report(
                *at,
                format!("left the terminal state {current_name} for {to}"),
                None,
                first,
            );
            break;
        }
        if from != current_name {
            report(
                *at,
                format!(
                    "transition from {from}, but the resource was in {current_name} (a state was skipped or unreported)"
                ),
                None,
                first,
            );
            break;
        }
        let (Some(f), Some(t)) = (lc.state_named(from), lc.state_named(to)) else {
            report(
                *at,
                format!("{from} -> {to}: not states of lifecycle {}", lc.id),
                None,
                first,
            );
            break;
        };
        if !lc
            .transitions
            .iter()
            .any(|tr| tr.from.contains(&f) && tr.to == t)
        {
            report(
                *at,
                format!("{from} -> {to} is not a transition of lifecycle {}", lc.id),
                None,
                first,
            );
            break;
        }
        current = t;
        timeline.push((*at, to.as_str()));
    }
    timeline
}

/// Observations agree with the log and the documented capabilities, and
/// data the rules deleted never comes back; the first that does not is
/// reported.
fn observations_agree(
    judge: &Catalog,
    lc: &Lifecycle,
    index: &TraceIndex<'_>,
    subject: usize,
    timeline: &[(DateTime<Utc>, &str)],
    report: &Report<'_>,
    first: &mut Option<Violation>,
) {
    let mut deleted_since: Option<DateTime<Utc>> = None;
    // The log's entries up to each snapshot: snapshots come in time
    // order, so the count only grows.
    let mut logged = 0;
    // The observation last judged, and the log's entries up to it.
    let mut last_judged: Option<(&ResourceObservation, usize)> = None;
    for snap in index.snapshots(subject) {
        let r = snap.resource;
        while timeline.get(logged).is_some_and(|(at, _)| *at <= snap.at) {
            logged += 1;
        }
        // The same observation handed on (the same address), with no
        // transition logged since, gets the same answer: judged once.
        if last_judged.is_some_and(|(last, n)| std::ptr::eq(last, r) && n == logged) {
            continue;
        }
        last_judged = Some((r, logged));
        let expected = match logged {
            0 => lc.state(lc.initial).id.as_str(),
            n => timeline[n - 1].1,
        };
        let obs = || serde_json::to_value(r).ok();
        if *r.state != *expected {
            report(
                snap.at,
                format!(
                    "observed in state {}, but the transition log says {expected}",
                    r.state
                ),
                obs(),
                first,
            );
            break;
        }
        let Some(state) = lc.state_named(&r.state).map(|s| lc.state(s)) else {
            report(
                snap.at,
                format!("{} is not a state of lifecycle {}", r.state, lc.id),
                obs(),
                first,
            );
            break;
        };
        let mismatches = capability_mismatches(judge, state, r);
        if !mismatches.is_empty() {
            report(
                snap.at,
                format!("in state {} but {}", r.state, mismatches.join(", ")),
                obs(),
                first,
            );
            break;
        }
        // A deletion counts where the documents decide it (the state says
        // `data: deleted`); a "deleted" an implementation reports where
        // they leave the data unspecified is its own word, not a
        // deletion the rules make irreversible. Once deleted by the
        // rules, though, data never comes back, whatever the state.
        if r.data == Data::Deleted && state.data == Data::Deleted {
            deleted_since.get_or_insert(snap.at);
        } else if let Some(since) = deleted_since
            && r.data == Data::Retained
        {
            report(
                snap.at,
                format!("data retained again after it was deleted at {since}"),
                obs(),
                first,
            );
            break;
        }
    }
}

/// Where an observed resource differs from its state's documented
/// serving, data, billing and denied operations, each said in words.
fn capability_mismatches(judge: &Catalog, state: &State, r: &ResourceObservation) -> Vec<String> {
    let mut mismatches = Vec::new();
    if state.serving != Serving::Unspecified && r.serving != state.serving {
        mismatches.push(format!(
            "serving {:?} (documented {:?})",
            r.serving, state.serving
        ));
    }
    if state.data != Data::Unspecified && r.data != state.data {
        mismatches.push(format!("data {:?} (documented {:?})", r.data, state.data));
    }
    if state.billing != BillingStatus::Unspecified && r.billing != state.billing {
        mismatches.push(format!(
            "billing {:?} (documented {:?})",
            r.billing, state.billing
        ));
    }
    for cap in state.operations.iter().filter(|c| !c.allowed) {
        let name = judge.op_name(cap.op);
        if r.operations.get(name) == Some(true) {
            mismatches.push(format!(
                "{name} allowed (documented denied by {})",
                judge.rule(cap.rule).id
            ));
        }
    }
    mismatches
}
