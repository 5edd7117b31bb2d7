//! The structural checks: properties of a whole trace that the temporal
//! patterns cannot state.
//!
//! - deduction-schedule: scheduled deduction attempts happen exactly at T
//!   plus the product's offsets, none is missed while a bill is unpaid, and
//!   none comes after the last offset or after the bill is closed;
//! - lifecycle-conformance: transitions follow the lifecycle's edges from
//!   the initial state with nothing skipped, terminal states are never left,
//!   every observation agrees with the transition log and with the state's
//!   documented capabilities, and deleted data never comes back;
//! - account-isolation: each account's resources behave the same when the
//!   other accounts are removed from the history;
//! - refund-formula: each refund equals its formula on the inputs the
//!   history implies, within [0, cash paid], and that formula is one a
//!   transition of the resource's lifecycle refunds with at that point of
//!   its term under the reading.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Rerun, TraceIndex, Violation, violation};
use crate::history::{Event, History};
use crate::idmap::IdMap;
use crate::observation::{AttemptCause, Outcome, Trace, TraceEvent};
use crate::spec::formula::{Inputs, Rounding};
use crate::spec::{BillingStatus, Catalog, Data, InvariantDef, ParamValue, Serving, Structural};

pub(super) fn check(
    kind: Structural,
    judge: &Catalog,
    params: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
    rerun: Option<&Rerun<'_>>,
) -> (bool, Option<Violation>) {
    match kind {
        Structural::DeductionSchedule => deduction_schedule(judge, params, inv, index),
        Structural::LifecycleConformance => lifecycle(judge, inv, index),
        Structural::AccountIsolation => isolation(judge, inv, index, rerun),
        Structural::RefundFormula => refunds(judge, params, inv, index),
    }
}

/// The instant the trace reaches: its last observation or event.
fn trace_end(trace: &Trace) -> Option<DateTime<Utc>> {
    let last_obs = trace.observations.iter().map(|o| o.at).max();
    let last_event = trace.events.iter().map(TraceEvent::at).max();
    last_obs.max(last_event)
}

/// A bill as the log shows it: issued at, attempts (instant, cause,
/// outcome), closed (paid or overdrawn or settled) at.
type BillRecord = (
    Option<DateTime<Utc>>,
    Vec<(DateTime<Utc>, AttemptCause, Outcome)>,
    Option<DateTime<Utc>>,
);

/// The bills of one resource's log as they are met, found again by the
/// address of their id (the model shares one string per bill between its
/// events) or else by the id.
#[derive(Default)]
struct Bills<'t> {
    records: Vec<(&'t str, BillRecord)>,
    by_id: IdMap<&'t str, usize>,
}

/// How many of the latest bills [`Bills::entry`] looks at by address
/// before it hashes the id: a bill's attempts follow its issue closely.
const RECENT_BILLS: usize = 8;

impl<'t> Bills<'t> {
    fn entry(&mut self, id: &'t str) -> &mut BillRecord {
        let recent = self
            .records
            .iter()
            .enumerate()
            .rev()
            .take(RECENT_BILLS)
            .find(|(_, (known, _))| std::ptr::eq(*known, id))
            .map(|(i, _)| i);
        let i = recent.unwrap_or_else(|| {
            let next = self.records.len();
            let i = *self.by_id.entry(id).or_insert(next);
            if i == next {
                self.records.push((id, BillRecord::default()));
            }
            i
        });
        &mut self.records[i].1
    }

    /// The records in the order of their ids.
    fn by_id(mut self) -> Vec<(&'t str, BillRecord)> {
        self.records.sort_unstable_by_key(|(id, _)| *id);
        self.records
    }
}

fn deduction_schedule(
    judge: &Catalog,
    params: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
) -> (bool, Option<Violation>) {
    let end = trace_end(index.trace);
    let mut exercised = false;
    let mut first: Option<Violation> = None;
    for subject in index.subjects(&inv.subjects) {
        let Some(lc) = index.lifecycle(subject) else {
            continue;
        };
        let Some(billing) = &params.document(params.lifecycle(lc).doc).billing else {
            continue;
        };
        let offsets: Vec<TimeDelta> = billing
            .deduction_offsets
            .iter()
            .map(|p| params.duration_param(*p))
            .collect();
        // Per bill: its settlement date and its attempts, in log order.
        let mut bills = Bills::default();
        for e in index.logged(subject) {
            match e {
                TraceEvent::Charge {
                    bill: Some(b), at, ..
                } => bills.entry(b).0 = Some(*at),
                TraceEvent::Deduction {
                    bill,
                    at,
                    cause,
                    outcome,
                    ..
                } => {
                    let entry = bills.entry(bill);
                    entry.1.push((*at, *cause, *outcome));
                    if matches!(outcome, Outcome::Paid | Outcome::Overdrawn) && entry.2.is_none() {
                        entry.2 = Some(*at);
                    }
                }
                TraceEvent::BillSettled { bill, at, .. } => {
                    let entry = bills.entry(bill);
                    if entry.2.is_none() {
                        entry.2 = Some(*at);
                    }
                }
                _ => {}
            }
        }
        let bills = bills.by_id();
        let resource = index.resource_id(subject);
        let report = |at: DateTime<Utc>, message: String, first: &mut Option<Violation>| {
            if first.as_ref().is_none_or(|f| at < f.at) {
                *first = Some(violation(inv, judge, Some(resource), at, message, None));
            }
        };
        for (bill, (issued, attempts, closed)) in &bills {
            let Some(t) = issued else {
                if let Some((at, ..)) = attempts.first() {
                    report(
                        *at,
                        format!("deduction of bill {bill}, which was never issued"),
                        &mut first,
                    );
                }
                continue;
            };
            exercised = true;
            let scheduled: Vec<&(DateTime<Utc>, AttemptCause, Outcome)> = attempts
                .iter()
                .filter(|a| a.1 == AttemptCause::Scheduled)
                .collect();
            for (j, (at, ..)) in scheduled.iter().enumerate() {
                match offsets.get(j) {
                    None => report(
                        *at,
                        format!(
                            "deduction attempt {} of bill {bill}: the schedule has only {} attempts",
                            j + 1,
                            offsets.len()
                        ),
                        &mut first,
                    ),
                    Some(off) if *at != *t + *off => report(
                        *at,
                        format!(
                            "deduction attempt {} of bill {bill} at {at}, but it is due at T+{} = {}",
                            j + 1,
                            crate::duration::format(*off),
                            *t + *off
                        ),
                        &mut first,
                    ),
                    _ => {}
                }
                if closed.is_some_and(|c| c < *at) {
                    report(
                        *at,
                        format!(
                            "deduction attempt {} of bill {bill} after the bill was paid",
                            j + 1
                        ),
                        &mut first,
                    );
                }
            }
            // No attempt missing while the bill stays open.
            for (j, off) in offsets.iter().enumerate().skip(scheduled.len()) {
                let due = *t + *off;
                let still_open = closed.is_none_or(|c| c > due);
                let reached = end.is_some_and(|e| e >= due);
                if still_open && reached {
                    report(
                        due,
                        format!(
                            "deduction attempt {} of bill {bill} due at {due} did not happen",
                            j + 1
                        ),
                        &mut first,
                    );
                    break;
                }
            }
        }
    }
    (exercised, first)
}

fn lifecycle(
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
        // The transition log, from the initial state.
        let mut current = lc.initial;
        let mut timeline: Vec<(DateTime<Utc>, &str)> = Vec::new();
        for e in index.logged(subject) {
            let TraceEvent::Transition { at, from, to, .. } = e else {
                continue;
            };
            exercised = true;
            let current_name = &lc.state(current).id;
            if lc.state(current).terminal {
                report(
                    *at,
                    format!("left the terminal state {current_name} for {to}"),
                    None,
                    &mut first,
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
                    &mut first,
                );
                break;
            }
            let (Some(f), Some(t)) = (lc.state_named(from), lc.state_named(to)) else {
                report(
                    *at,
                    format!("{from} -> {to}: not states of lifecycle {}", lc.id),
                    None,
                    &mut first,
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
                    &mut first,
                );
                break;
            }
            current = t;
            timeline.push((*at, to.as_str()));
        }
        // Observations agree with the log and the documented capabilities.
        let mut deleted_since: Option<DateTime<Utc>> = None;
        // The log's entries up to each snapshot: snapshots come in time
        // order, so the count only grows.
        let mut logged = 0;
        for snap in index.snapshots(subject) {
            exercised = true;
            let r = snap.resource;
            while timeline.get(logged).is_some_and(|(at, _)| *at <= snap.at) {
                logged += 1;
            }
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
                    &mut first,
                );
                break;
            }
            let Some(state) = lc.state_named(&r.state).map(|s| lc.state(s)) else {
                report(
                    snap.at,
                    format!("{} is not a state of lifecycle {}", r.state, lc.id),
                    obs(),
                    &mut first,
                );
                break;
            };
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
            if !mismatches.is_empty() {
                report(
                    snap.at,
                    format!("in state {} but {}", r.state, mismatches.join(", ")),
                    obs(),
                    &mut first,
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
                    &mut first,
                );
                break;
            }
        }
    }
    (exercised, first)
}

/// The history restricted to one account.
pub(crate) fn project(history: &History, account: &str) -> History {
    let resources: Vec<_> = history
        .resources
        .iter()
        .filter(|r| r.account == account)
        .cloned()
        .collect();
    let mut ids: std::collections::HashSet<String> =
        resources.iter().map(|r| r.id.clone()).collect();
    let events = history
        .events
        .iter()
        .filter(|e| {
            if let Event::Purchase {
                account: a,
                resource,
                ..
            } = e
            {
                if a == account {
                    ids.insert(resource.id.clone());
                    return true;
                }
                return false;
            }
            match (e.account(), e.resource()) {
                (Some(a), _) => a == account,
                (None, Some(r)) => ids.contains(r),
                (None, None) => false,
            }
        })
        .cloned()
        .collect();
    History {
        start: history.start,
        until: Some(history.end()),
        accounts: history
            .accounts
            .iter()
            .filter(|a| a.id == account)
            .cloned()
            .collect(),
        resources,
        events,
        observe: history.observe.clone(),
    }
}

fn transitions_of<'t>(
    trace: &'t Trace,
    resources: &[&str],
) -> Vec<(DateTime<Utc>, &'t str, &'t str, &'t str)> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Transition {
                at,
                resource,
                from,
                to,
                ..
            } if resources.contains(&resource.as_str()) => {
                Some((*at, resource.as_str(), from.as_str(), to.as_str()))
            }
            _ => None,
        })
        .collect()
}

fn isolation(
    judge: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
    rerun: Option<&Rerun<'_>>,
) -> (bool, Option<Violation>) {
    let history = index.history;
    let Some(rerun) = rerun else {
        return (false, None);
    };
    if history.accounts.len() < 2 {
        return (false, None);
    }
    let mut by_account: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in index.subjects(&inv.subjects) {
        by_account
            .entry(index.account_of(s))
            .or_default()
            .push(index.resource_id(s));
    }
    let mut exercised = false;
    for (account, resources) in by_account {
        let Some(alone) = index.rerun_cached(account, || rerun(&project(history, account))) else {
            continue;
        };
        exercised = true;
        let together = transitions_of(index.trace, &resources);
        let apart = transitions_of(&alone, &resources);
        let differ = together
            .iter()
            .zip(&apart)
            .position(|(a, b)| a != b)
            .or_else(|| (together.len() != apart.len()).then(|| together.len().min(apart.len())));
        if let Some(i) = differ {
            let (at, what) = match (together.get(i), apart.get(i)) {
                (Some(a), Some(b)) => (
                    a.0.min(b.0),
                    format!(
                        "{} {} -> {} at {} with the other accounts, {} {} -> {} at {} without them",
                        a.1, a.2, a.3, a.0, b.1, b.2, b.3, b.0
                    ),
                ),
                (Some(a), None) => (
                    a.0,
                    format!(
                        "{} {} -> {} at {} happens only when other accounts are present",
                        a.1, a.2, a.3, a.0
                    ),
                ),
                (None, Some(b)) => (
                    b.0,
                    format!(
                        "{} {} -> {} at {} happens only when the account is alone",
                        b.1, b.2, b.3, b.0
                    ),
                ),
                (None, None) => continue,
            };
            return (
                true,
                Some(violation(
                    inv,
                    judge,
                    None,
                    at,
                    format!("account {account} is affected by other accounts: {what}"),
                    None,
                )),
            );
        }
    }
    (exercised, None)
}

/// The refund inputs the history and the trace's payments imply.
fn implied_inputs(index: &TraceIndex<'_>, resource: &str, at: DateTime<Utc>) -> Option<Inputs> {
    let history = index.history;
    let (def, purchased_at) = history
        .resources
        .iter()
        .find(|r| r.id == resource)
        .map(|r| (r, r.purchased_at.unwrap_or_default().at(history.start)))
        .or_else(|| {
            history.events.iter().find_map(|e| match e {
                Event::Purchase {
                    resource: r, at, ..
                } if r.id == resource => Some((&**r, at.at(history.start))),
                _ => None,
            })
        })?;
    let mut inputs = Inputs {
        paid_cash: def.paid_cash,
        paid_voucher: def.paid_voucher,
        used_seconds: (at - purchased_at).num_seconds(),
        term_seconds: def
            .term
            .map(|t| t.length_from(purchased_at).num_seconds())
            .unwrap_or(0),
    };
    // A renewal in months is as long as the months it adds to the expiry
    // then in force.
    let mut expiry = def.term.and_then(|t| t.end(purchased_at));
    let renew_terms: HashMap<DateTime<Utc>, crate::history::Term> = history
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Renew {
                resource: r,
                at,
                term,
                ..
            } if r == resource => Some((at.at(history.start), *term)),
            _ => None,
        })
        .collect();
    for e in &index.trace.events {
        if let TraceEvent::Payment {
            resource: r,
            at: paid_at,
            operation,
            cash,
            vouchers,
            ..
        } = e
            && r == resource
            && *paid_at <= at
        {
            // A trace's amounts come from the implementation: sums that
            // overflow mean no inputs can be implied.
            inputs.paid_cash = inputs.paid_cash.checked_add(*cash)?;
            inputs.paid_voucher = inputs.paid_voucher.checked_add(*vouchers)?;
            if operation == "renew" {
                let (Some(term), Some(old)) = (renew_terms.get(paid_at), expiry) else {
                    continue;
                };
                let renewed = term.end(old)?;
                expiry = Some(renewed);
                let seconds = (renewed - old).num_seconds();
                inputs.term_seconds = inputs.term_seconds.checked_add(seconds)?;
            }
        }
    }
    Some(inputs)
}

/// Whether a transition of `lifecycle` refunds with `formula` when
/// `used_seconds` have passed since the purchase, as far as the guards a
/// refund can be judged by say (the reading's parameters, a window since
/// the purchase); `None` without a lifecycle to ask.
fn refundable_by(
    params: &Catalog,
    lifecycle: Option<crate::spec::LifecycleId>,
    formula: &str,
    used_seconds: i64,
) -> Option<bool> {
    use crate::spec::{Anchor, Effect, Guard};
    let lc = params.lifecycle(lifecycle?);
    Some(lc.transitions.iter().any(|t| {
        t.effects
            .iter()
            .any(|e| matches!(e, Effect::Refund(f) if params.formulas[f.index()].id == formula))
            && t.guards.iter().all(|g| match g {
                Guard::Param { param, equals } => params.value(*param) == equals,
                Guard::Within {
                    duration,
                    since: Anchor::Purchase,
                } => used_seconds < params.duration(duration).num_seconds(),
                _ => true,
            })
    }))
}

fn refunds(
    judge: &Catalog,
    params: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
) -> (bool, Option<Violation>) {
    let mut exercised = false;
    for subject in index.subjects(&inv.subjects) {
        let resource = index.resource_id(subject);
        for e in index.logged(subject) {
            let TraceEvent::Refund {
                at,
                amount,
                formula,
                paid_cash,
                paid_voucher,
                used_seconds,
                term_seconds,
                ..
            } = e
            else {
                continue;
            };
            exercised = true;
            let fail =
                |message: String| Some(violation(inv, judge, Some(resource), *at, message, None));
            let Some(def) = params.formulas.iter().find(|f| f.id == *formula) else {
                return (true, fail(format!("refund by unknown formula {formula}")));
            };
            let Some(inputs) = implied_inputs(index, resource, *at) else {
                continue;
            };
            let reported = Inputs {
                paid_cash: *paid_cash,
                paid_voucher: *paid_voucher,
                used_seconds: *used_seconds,
                term_seconds: *term_seconds,
            };
            // The formula must be one a transition of the resource's
            // lifecycle refunds with at that point of its term, under this
            // reading: a plan's full refund after its window, named by its
            // own formula, is still a refund the document does not give.
            if let Some(refundable) = refundable_by(
                params,
                index.lifecycle(subject),
                formula,
                inputs.used_seconds,
            ) && !refundable
            {
                return (
                    true,
                    fail(format!(
                        "refund by {formula} {}s after purchase, which no transition refunds with then under this reading",
                        inputs.used_seconds
                    )),
                );
            }
            if reported != inputs {
                return (
                    true,
                    fail(format!(
                        "refund computed on paid cash {}, vouchers {}, used {}s of {}s; the history implies {}, {}, {}s of {}s",
                        paid_cash,
                        paid_voucher,
                        used_seconds,
                        term_seconds,
                        inputs.paid_cash,
                        inputs.paid_voucher,
                        inputs.used_seconds,
                        inputs.term_seconds
                    )),
                );
            }
            let mode = match params.value(def.rounding) {
                ParamValue::Choice(c) => Rounding::from_name(c).unwrap_or(Rounding::Floor),
                _ => Rounding::Floor,
            };
            // A formula without a value on these inputs (a division by
            // zero, an overflow) cannot say what the refund should be: no
            // verdict rather than a guessed 0. (The model fails on such a
            // history instead of refunding.)
            let eval = |e: &crate::spec::formula::Expr| e.eval_rounded(&inputs, mode).ok();
            let Some(mut expected) = eval(&def.expression) else {
                continue;
            };
            if let Some(lo) = &def.at_least {
                let Some(lo) = eval(lo) else { continue };
                expected = expected.max(lo);
            }
            if let Some(hi) = &def.at_most {
                let Some(hi) = eval(hi) else { continue };
                expected = expected.min(hi);
            }
            if *amount < 0 || *amount > inputs.paid_cash {
                return (
                    true,
                    fail(format!(
                        "refund of {amount} outside [0, cash paid {}]",
                        inputs.paid_cash
                    )),
                );
            }
            if *amount != expected {
                return (
                    true,
                    fail(format!(
                        "refund of {amount}, but {} gives {expected}",
                        def.text
                    )),
                );
            }
        }
    }
    (exercised, None)
}
