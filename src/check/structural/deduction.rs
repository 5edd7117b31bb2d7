//! The deduction-schedule check: each bill's scheduled deduction attempts
//! happen exactly at its settlement date T plus the product's offsets, none
//! is missed while the bill is unpaid, and none comes after the last offset
//! or after the bill is closed.

use chrono::{DateTime, TimeDelta, Utc};

use super::trace_end;
use crate::check::{TraceIndex, Violation, violation};
use crate::idmap::IdMap;
use crate::observation::{AttemptCause, Outcome, TraceEvent};
use crate::spec::{Catalog, InvariantDef};

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

/// Keeps a violation at `at` if it is earlier than the one already found.
type Report<'r> = dyn Fn(DateTime<Utc>, String, &mut Option<Violation>) + 'r;

pub(super) fn deduction_schedule(
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
        let bills = bills_of(index, subject);
        let resource = index.resource_id(subject);
        let report = |at: DateTime<Utc>, message: String, first: &mut Option<Violation>| {
            if first.as_ref().is_none_or(|f| at < f.at) {
                *first = Some(violation(inv, judge, Some(resource), at, message, None));
            }
        };
        for (bill, record) in &bills {
            let (issued, attempts, _) = record;
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
            check_bill(bill, *t, record, &offsets, end, &report, &mut first);
        }
    }
    (exercised, first)
}

/// Per bill of one resource's log: its settlement date and its attempts,
/// in log order, in the order of the bills' ids.
fn bills_of<'t>(index: &TraceIndex<'t>, subject: usize) -> Vec<(&'t str, BillRecord)> {
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
    bills.by_id()
}

/// One issued bill's scheduled attempts against the offsets from its
/// settlement date `t`: each at its offset, none beyond the schedule or
/// after the bill closed, and none missing while the bill stays open.
fn check_bill(
    bill: &str,
    t: DateTime<Utc>,
    (_, attempts, closed): &BillRecord,
    offsets: &[TimeDelta],
    end: Option<DateTime<Utc>>,
    report: &Report<'_>,
    first: &mut Option<Violation>,
) {
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
                first,
            ),
            Some(off) if *at != t + *off => report(
                *at,
                format!(
                    "deduction attempt {} of bill {bill} at {at}, but it is due at T+{} = {}",
                    j + 1,
                    crate::duration::format(*off),
                    t + *off
                ),
                first,
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
                first,
            );
        }
    }
    // No attempt missing while the bill stays open.
    for (j, off) in offsets.iter().enumerate().skip(scheduled.len()) {
        let due = t + *off;
        let still_open = closed.is_none_or(|c| c > due);
        let reached = end.is_some_and(|e| e >= due);
        if still_open && reached {
            report(
                due,
                format!(
                    "deduction attempt {} of bill {bill} due at {due} did not happen",
                    j + 1
                ),
                first,
            );
            break;
        }
    }
}
