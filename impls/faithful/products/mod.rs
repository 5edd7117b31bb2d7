//! The per-product state machines, and one entry point per question the
//! engine asks them (what a state provides, what it refuses, what a signal,
//! a parent's change or an operation does, what is scheduled). Each product
//! module is written from its own document; this module only routes.

pub mod ecs;
pub mod emr;
pub mod flink;
pub mod maxcompute;
pub mod spark;

use chrono::{DateTime, Utc};

use crate::faults::Faults;
use crate::vocab::{Ctx, Lc, OpAnswer, Product, Signal, St, Timed, Tr, Traits};

pub fn initial(lc: Lc) -> St {
    match lc.product() {
        Product::Ecs => ecs::initial(lc),
        Product::Emr => emr::initial(lc),
        Product::MaxCompute => maxcompute::initial(lc),
        Product::Flink => flink::initial(lc),
        Product::Spark => spark::initial(lc),
    }
}

/// What the state provides. `entered_by` is the rule of the transition that
/// brought the resource into it.
pub fn traits(lc: Lc, st: St, entered_by: &str, account_overdue: bool, faults: &Faults) -> Traits {
    match lc.product() {
        Product::Ecs => ecs::traits_of(lc, st, entered_by, account_overdue, faults),
        Product::Emr => emr::traits_of(lc, st),
        Product::MaxCompute => maxcompute::traits_of(lc, st),
        Product::Flink => flink::traits_of(lc, st, faults),
        Product::Spark => spark::traits_of(lc, st),
    }
}

/// The rule by which the state itself refuses `op`, if it does.
pub fn refusal(lc: Lc, st: St, op: &str) -> Option<&'static str> {
    match lc.product() {
        Product::Ecs => ecs::refusal(lc, st, op),
        Product::Emr => emr::refusal(lc, st, op),
        Product::MaxCompute => maxcompute::refusal(lc, st, op),
        Product::Flink => flink::refusal(lc, st, op),
        Product::Spark => None,
    }
}

pub fn on_signal(
    lc: Lc,
    st: St,
    entered_by: &str,
    signal: Signal,
    faults: &Faults,
    readings: &crate::readings::Readings,
) -> Option<Tr> {
    match lc.product() {
        Product::Ecs => ecs::on_signal(lc, st, entered_by, signal, faults),
        Product::Emr => emr::on_signal(lc, st, signal, faults),
        Product::MaxCompute => maxcompute::on_signal(lc, st, signal, faults, readings),
        Product::Flink => flink::on_signal(lc, st, signal),
        Product::Spark => spark::on_signal(lc, st, signal),
    }
}

pub fn on_parent(
    lc: Lc,
    st: St,
    parent: St,
    faults: &Faults,
    readings: &crate::readings::Readings,
) -> Option<Tr> {
    match lc.product() {
        Product::Ecs => ecs::on_parent(lc, st, parent, faults),
        Product::Emr | Product::MaxCompute => None,
        Product::Flink => flink::on_parent(lc, st, parent, faults, readings),
        Product::Spark => spark::on_parent(lc, st, parent),
    }
}

pub fn on_operation(lc: Lc, st: St, op: &str, ctx: &Ctx, faults: &Faults) -> OpAnswer {
    match lc.product() {
        Product::Ecs => ecs::on_operation(lc, st, op),
        Product::Emr => emr::on_operation(lc, st, op),
        Product::MaxCompute => maxcompute::on_operation(lc, st, op),
        Product::Flink => flink::on_operation(lc, st, op, ctx),
        Product::Spark => spark::on_operation(lc, st, op, ctx, faults),
    }
}

/// What the resource has scheduled in its current state, with raw due
/// instants (possibly already past), in the documents' order.
pub fn timers(lc: Lc, st: St, ctx: &Ctx, faults: &Faults) -> Vec<(DateTime<Utc>, Timed)> {
    match lc.product() {
        Product::Ecs => ecs::timers(lc, st, ctx, faults),
        Product::Emr => emr::timers(lc, st, ctx, faults),
        Product::MaxCompute => maxcompute::timers(lc, st, ctx, faults),
        Product::Flink => flink::timers(lc, st, ctx),
        Product::Spark => spark::timers(lc, st, ctx),
    }
}
