//! The structural checks: properties of a whole trace that the temporal
//! patterns cannot state, one file per check family.
//!
//! - deduction-schedule ([`deduction`]): scheduled deduction attempts happen
//!   exactly at T plus the product's offsets, none is missed while a bill is
//!   unpaid, and none comes after the last offset or after the bill is closed;
//! - lifecycle-conformance ([`lifecycle`]): transitions follow the
//!   lifecycle's edges from the initial state with nothing skipped, terminal
//!   states are never left, every observation agrees with the transition log
//!   and with the state's documented capabilities, and deleted data never
//!   comes back;
//! - account-isolation ([`isolation`]): each account's resources behave the
//!   same when the other accounts are removed from the history;
//! - refund-formula ([`refunds`]): each refund equals its formula on the
//!   inputs the history implies, within [0, cash paid], and that formula is
//!   one a transition of the resource's lifecycle refunds with at that point
//!   of its term under the reading.

mod deduction;
mod isolation;
mod lifecycle;
mod refunds;

use chrono::{DateTime, Utc};

use super::{Rerun, TraceIndex, Violation};
use crate::observation::{Trace, TraceEvent};
use crate::spec::{Catalog, InvariantDef, Structural};

pub(super) fn check(
    kind: Structural,
    judge: &Catalog,
    params: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
    rerun: Option<&Rerun<'_>>,
) -> (bool, Option<Violation>) {
    match kind {
        Structural::DeductionSchedule => deduction::deduction_schedule(judge, params, inv, index),
        Structural::LifecycleConformance => lifecycle::lifecycle(judge, inv, index),
        Structural::AccountIsolation => isolation::isolation(judge, inv, index, rerun),
        Structural::RefundFormula => refunds::refunds(judge, params, inv, index),
    }
}

/// The instant the trace reaches: its last observation or event.
fn trace_end(trace: &Trace) -> Option<DateTime<Utc>> {
    let last_obs = trace.observations.iter().map(|o| o.at).max();
    let last_event = trace.events.iter().map(TraceEvent::at).max();
    last_obs.max(last_event)
}
