//! MaxCompute: subscription instances locked at expiry and released 15 days
//! later unless renewed, and pay-as-you-go instances locked 15 days after an
//! unpaid bill's due date. Source: maxcompute-overdue-and-suspension.txt.

use arrears::observation::{BillingStatus as B, Data as D, Serving as S};
use chrono::{DateTime, TimeDelta, Utc};

use crate::faults::{Fault, Faults};
use crate::policy;
use crate::readings::Readings;
use crate::vocab::{Ctx, Lc, OpAnswer, Signal, St, Timed, Tr, Traits, gone, tr, traits};

/// The rule by which a locked instance refuses a calculation task, and the
/// error the task answers with.
pub const ACCESS_DENIED: &str = "maxcompute.locked.access-denied";
pub const ACCESS_DENIED_CODE: &str = "ODPS-0420095";

pub fn initial(lc: Lc) -> St {
    match lc {
        Lc::McSubInstance | Lc::McPaygInstance => St::Active,
        _ => unreachable!("not a MaxCompute lifecycle"),
    }
}

pub fn traits_of(lc: Lc, st: St) -> Traits {
    use St::*;
    match (lc, st) {
        (Lc::McSubInstance, Active) => traits(S::Yes, D::Retained, B::Unspecified),
        (Lc::McPaygInstance, Active | Overdue) => traits(S::Yes, D::Retained, B::Running),
        // "your MaxCompute project data is retained during this time";
        // "Access Mode is AllDenied".
        (Lc::McSubInstance | Lc::McPaygInstance, Locked) => {
            traits(S::No, D::Retained, B::Unspecified)
        }
        // "all MaxCompute project data associated with the instance cannot
        // be recovered"
        (_, Released) => gone(S::No, D::Deleted),
        _ => unreachable!("{lc:?} has no state {st:?}"),
    }
}

pub fn refusal(_lc: Lc, st: St, op: &str) -> Option<&'static str> {
    match (st, op) {
        (St::Locked, "run-task") => Some(ACCESS_DENIED),
        _ => None,
    }
}

pub fn on_signal(
    lc: Lc,
    st: St,
    signal: Signal,
    faults: &Faults,
    readings: &Readings,
) -> Option<Tr> {
    use St::*;
    // Read the `account` way, the lock is the account's: it ends when the
    // account has no overdue bill left, not when this instance's are paid.
    let unlocking = if readings.maxcompute_lock_with_account {
        Signal::AccountSettled
    } else {
        Signal::Settled
    };
    match (lc, st, signal) {
        // The fault: paying the overdue bills leaves the services locked.
        (Lc::McPaygInstance, Locked, s)
            if s == unlocking && faults.has(Fault::MaxcomputeStaysLockedAfterSettlement) =>
        {
            None
        }
        // A due bill that cannot be paid puts the instance into overdue
        // (maxcompute.payg.overdue-when-unpaid-at-due).
        (Lc::McPaygInstance, Active, Signal::Overdue) => Some(tr(
            Overdue,
            "becomes-overdue",
            "maxcompute.payg.overdue-when-unpaid-at-due",
        )),
        // "please clear all overdue payments to avoid instances being
        // released"
        (Lc::McPaygInstance, Overdue, Signal::Settled) => Some(tr(
            Active,
            "settled",
            "maxcompute.overdue.clear-to-avoid-release",
        )),
        (Lc::McPaygInstance, Locked, s) if s == unlocking => Some(tr(
            Active,
            if readings.maxcompute_lock_with_account {
                "unlocked-with-account"
            } else {
                "unlocked-after-settlement"
            },
            "maxcompute.overdue.clear-to-avoid-release",
        )),
        _ => None,
    }
}

pub fn on_operation(lc: Lc, st: St, op: &str) -> OpAnswer {
    use St::*;
    let user_release = tr(
        Released,
        "user-release",
        "maxcompute.sub.data-unrecoverable",
    );
    match (lc, st, op) {
        // A renewal within the 15 locked days unlocks the instance
        // (maxcompute.interp.renewal-unlocks).
        (Lc::McSubInstance, Locked, "renew") => OpAnswer::Fire(tr(
            Active,
            "renewed-while-locked",
            "maxcompute.sub.released-after-15-days",
        )),
        (Lc::McSubInstance, Active | Locked, "release") => OpAnswer::Fire(user_release),
        (Lc::McPaygInstance, Active | Overdue | Locked, "release") => OpAnswer::Fire(user_release),
        _ => OpAnswer::Allowed,
    }
}

pub fn timers(lc: Lc, st: St, ctx: &Ctx, faults: &Faults) -> Vec<(DateTime<Utc>, Timed)> {
    let mut out = Vec::new();
    match (lc, st) {
        // At expiry the instance's items are "locked for 15 days"
        // (maxcompute.sub.locked-at-expiry).
        (Lc::McSubInstance, St::Active) => {
            if let Some(e) = ctx.expires_at {
                out.push((
                    e,
                    Timed::Transition(tr(
                        St::Locked,
                        "locked-at-expiry",
                        "maxcompute.sub.locked-at-expiry",
                    )),
                ));
            }
        }
        // Still not renewed when the 15 locked days are over: the
        // instance's resources are released
        // (maxcompute.sub.released-after-15-days).
        (Lc::McSubInstance, St::Locked) => {
            if let Some(e) = ctx.expires_at {
                out.push((
                    e + TimeDelta::days(policy::MAXCOMPUTE_EXPIRY_LOCK_DAYS),
                    Timed::Transition(tr(
                        St::Released,
                        "released-after-15-days",
                        "maxcompute.sub.released-after-15-days",
                    )),
                ));
            }
        }
        // Read the `account` way, every pay-as-you-go instance of the
        // account is locked 15 days into the account's overdue period.
        (Lc::McPaygInstance, St::Active | St::Overdue) if ctx.maxcompute_lock_with_account => {
            if let Some(t) = ctx.account_overdue_since {
                out.push((
                    t + policy::maxcompute_unpaid_lock_after(faults),
                    Timed::Transition(tr(
                        St::Locked,
                        "locked-with-account",
                        "maxcompute.payg.locked-after-15-days",
                    )),
                ));
            }
        }
        // A bill left unpaid for 15 days past its due date locks the
        // services (maxcompute.payg.locked-after-15-days).
        (Lc::McPaygInstance, St::Overdue) => {
            if let Some(t) = ctx.oldest_overdue_bill {
                out.push((
                    t + policy::maxcompute_unpaid_lock_after(faults),
                    Timed::Transition(tr(
                        St::Locked,
                        "locked-after-15-days",
                        "maxcompute.payg.locked-after-15-days",
                    )),
                ));
            }
        }
        _ => {}
    }
    out.extend(system_selected_release(lc, st, ctx));
    out
}

/// "Your instances may be released at a system-selected time after the
/// payment due date" (maxcompute.overdue.release-at-system-selected-time),
/// read so: released at a time of this implementation's choosing.
fn system_selected_release(lc: Lc, st: St, ctx: &Ctx) -> Option<(DateTime<Utc>, Timed)> {
    if let (Lc::McPaygInstance, St::Overdue | St::Locked, Some(after), Some(due)) = (
        lc,
        st,
        ctx.maxcompute_release_after,
        ctx.oldest_overdue_bill,
    ) {
        return Some((
            due + after,
            Timed::Transition(tr(
                St::Released,
                "released-at-system-selected-time",
                "maxcompute.overdue.release-at-system-selected-time",
            )),
        ));
    }
    None
}
