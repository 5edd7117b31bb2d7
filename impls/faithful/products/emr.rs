//! E-MapReduce: pay-as-you-go clusters billed every hour, which overdraw the
//! balance and are suspended 24 hours after their first uncovered fee, and
//! subscription clusters suspended when they expire.
//! Source: emr-overdue-payments.txt.

use arrears::observation::{BillingStatus as B, Data as D, Serving as S};
use chrono::{DateTime, Utc};

use crate::faults::{Fault, Faults};
use crate::policy;
use crate::vocab::{Ctx, Lc, OpAnswer, Signal, St, Timed, Tr, Traits, gone, tr, traits};

pub fn initial(lc: Lc) -> St {
    match lc {
        Lc::EmrPaygCluster => St::Running,
        Lc::EmrSubCluster => St::Active,
        _ => unreachable!("not an EMR lifecycle"),
    }
}

pub fn traits_of(lc: Lc, st: St) -> Traits {
    use St::*;
    match (lc, st) {
        // For the first day of a negative balance the clusters stay usable
        // and fees are still taken (emr.payg.deducts-within-24-hours).
        (Lc::EmrPaygCluster, Running | Overdue) => traits(S::Yes, D::Retained, B::Running),
        // "the system suspends the clusters and stops deducting fees"
        (Lc::EmrPaygCluster, Suspended) => traits(S::No, D::Unspecified, B::Ceased),
        // Subscription clusters are already paid for, so an overdue payment
        // does not affect them (emr.sub.usable-regardless-of-overdue).
        (Lc::EmrSubCluster, Active) => traits(S::Yes, D::Retained, B::Unspecified),
        (Lc::EmrSubCluster, Suspended) => traits(S::No, D::Unspecified, B::Unspecified),
        // A released cluster's data is gone for good
        // (emr.release.data-unrecoverable).
        (_, Released) => gone(S::No, D::Deleted),
        _ => unreachable!("{lc:?} has no state {st:?}"),
    }
}

pub fn refusal(lc: Lc, st: St, op: &str) -> Option<&'static str> {
    match (lc, st, op) {
        (Lc::EmrPaygCluster, St::Suspended, "run-job") => Some("emr.payg.suspended-after-24-hours"),
        (Lc::EmrSubCluster, St::Suspended, "run-job") => Some("emr.sub.suspended-at-expiry"),
        _ => None,
    }
}

pub fn on_signal(lc: Lc, st: St, signal: Signal, faults: &Faults) -> Option<Tr> {
    use St::*;
    match (lc, st, signal) {
        // The fault: settling within the 24 hours does not call off the
        // suspension, which still comes 24 hours after the cluster went
        // overdue (see `timers`).
        (Lc::EmrPaygCluster, Overdue, Signal::Settled)
            if faults.has(Fault::EmrSuspendedDespiteSettlement) =>
        {
            None
        }
        // When vouchers and cash cannot cover the last hour's fees, "the
        // clusters enter the Overdue state" (emr.payg.overdue-state).
        (Lc::EmrPaygCluster, Running, Signal::Overdue) => {
            Some(tr(Overdue, "becomes-overdue", "emr.payg.overdue-state"))
        }
        // Paying off the debt before the suspension keeps the cluster
        // running (emr.overdue.settle-before-suspension).
        (Lc::EmrPaygCluster, Overdue, Signal::Settled) => Some(tr(
            Running,
            "settled-before-suspension",
            "emr.overdue.settle-before-suspension",
        )),
        // A suspended cluster serves again once the balance is settled
        // (emr.interp.after-suspension, reading `resumes`).
        (Lc::EmrPaygCluster, Suspended, Signal::Settled) => Some(tr(
            Running,
            "resumed-after-settlement",
            "emr.overdue.settle-before-suspension",
        )),
        _ => None,
    }
}

pub fn on_operation(lc: Lc, st: St, op: &str) -> OpAnswer {
    use St::*;
    match (lc, st, op) {
        (Lc::EmrPaygCluster, Running | Overdue | Suspended, "release") => OpAnswer::Fire(tr(
            Released,
            "user-release",
            "emr.release.data-unrecoverable",
        )),
        (Lc::EmrSubCluster, Suspended, "renew") => OpAnswer::Fire(tr(
            Active,
            "renewed-after-expiry",
            "emr.sub.suspended-at-expiry",
        )),
        (Lc::EmrSubCluster, Active | Suspended, "release") => {
            OpAnswer::Fire(tr(Released, "user-release", "emr.release.stops-costs"))
        }
        _ => OpAnswer::Allowed,
    }
}

pub fn timers(lc: Lc, st: St, ctx: &Ctx, faults: &Faults) -> Vec<(DateTime<Utc>, Timed)> {
    let mut out = Vec::new();
    match (lc, st) {
        // "After 24 hours, the system suspends the clusters", counted from
        // the cluster's own first uncovered fee.
        (Lc::EmrPaygCluster, St::Overdue) => {
            let since = if faults.has(Fault::EmrSuspendedDespiteSettlement) {
                // Counted from entering the overdue state, settled or not.
                Some(ctx.overdue_since.unwrap_or(ctx.since))
            } else {
                ctx.overdue_since
            };
            if let Some(since) = since {
                out.push((
                    since + policy::emr_grace(faults),
                    Timed::Transition(tr(
                        St::Suspended,
                        "suspended-after-24-hours",
                        "emr.payg.suspended-after-24-hours",
                    )),
                ));
            }
        }
        // "the system suspends the cluster at the time when it expires"
        (Lc::EmrSubCluster, St::Active) => {
            if let Some(e) = ctx.expires_at {
                out.push((
                    e,
                    Timed::Transition(tr(
                        St::Suspended,
                        "suspended-at-expiry",
                        "emr.sub.suspended-at-expiry",
                    )),
                ));
            }
        }
        _ => {}
    }
    out
}
