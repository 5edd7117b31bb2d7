//! Every number of the five policy documents that this engine uses, each
//! with the section and spec rule it comes from. Nothing else in the
//! engine writes a duration or a count of the policies; when a document
//! changes, this is the file to edit.
//!
//! Where a document gives no number, the constant says which reading the
//! specs chose (an "interpretation"), since this engine follows the specs'
//! readings.

use chrono::TimeDelta;

use crate::faults::{Fault, Faults};

// ---------------------------------------------------------------- ECS ---

/// ECS, "Pay-as-you-go ECS resources": a bill is deducted on up to three
/// days, "the settlement date (T), T+7, and T+14"
/// (ecs.payg.three-deduction-dates).
pub const ECS_DEDUCTION_DAYS: [i64; 3] = [0, 7, 14];

/// The fault `fourth-deduction-attempt` adds an attempt at T+21.
const ECS_FOURTH_ATTEMPT_DAYS: i64 = 21;

/// ECS, "More than 15 days after the payment is overdue": when every
/// deduction attempt has failed, the instance is shut down and its billing
/// ends at T+15 (ecs.payg.stop-at-t15). Counted from the settlement
/// date of the oldest bill still overdue (interpretation
/// ecs.interp.several-bills, reading `oldest-bill`).
pub const ECS_STOP_AFTER_OVERDUE_DAYS: i64 = 15;

/// ECS, same section: 15 days into the stop, the system starts releasing
/// (or detaching) the pay-as-you-go resources
/// (ecs.payg.release-after-stopped-15-days).
pub const ECS_RELEASE_AFTER_STOP_DAYS: i64 = 15;

/// The ECS deduction schedule, as offsets from the settlement date T.
pub fn ecs_deduction_offsets(faults: &Faults) -> Vec<TimeDelta> {
    let mut days: Vec<i64> = ECS_DEDUCTION_DAYS.to_vec();
    if faults.has(Fault::FourthDeductionAttempt) {
        days.push(ECS_FOURTH_ATTEMPT_DAYS);
    }
    days.into_iter().map(TimeDelta::days).collect()
}

pub fn ecs_stop_after_overdue(faults: &Faults) -> TimeDelta {
    if faults.has(Fault::StopAtT14) {
        TimeDelta::days(ECS_STOP_AFTER_OVERDUE_DAYS - 1)
    } else {
        TimeDelta::days(ECS_STOP_AFTER_OVERDUE_DAYS)
    }
}

pub fn ecs_release_after_stop(faults: &Faults) -> TimeDelta {
    if faults.has(Fault::DisksReleasedDay29) {
        TimeDelta::days(ECS_RELEASE_AFTER_STOP_DAYS - 1)
    } else {
        TimeDelta::days(ECS_RELEASE_AFTER_STOP_DAYS)
    }
}

// ---------------------------------------------------------------- EMR ---

/// EMR, "Overdue payments": once the balance is negative, clusters keep
/// running and fees keep being taken for a day; when the 24 hours are up,
/// the clusters are suspended and deductions stop (emr.payg.grace-period).
/// Each cluster counts from its own first uncovered fee
/// (emr.interp.suspend-anchor, reading `cluster`).
pub const EMR_GRACE_HOURS: i64 = 24;

pub fn emr_grace(faults: &Faults) -> TimeDelta {
    if faults.has(Fault::EmrSuspendedAfter23Hours) {
        TimeDelta::hours(EMR_GRACE_HOURS - 1)
    } else {
        TimeDelta::hours(EMR_GRACE_HOURS)
    }
}

// --------------------------------------------------------- MaxCompute ---

/// MaxCompute: an expired subscription instance is "locked for 15 days",
/// and released if it is still not renewed when that period ends
/// (maxcompute.sub.locked-at-expiry, maxcompute.sub.released-after-15-days).
pub const MAXCOMPUTE_EXPIRY_LOCK_DAYS: i64 = 15;

/// MaxCompute: a bill still unpaid 15 days past its due date gets the
/// services locked (maxcompute.payg.locked-after-15-days).
pub const MAXCOMPUTE_UNPAID_LOCK_DAYS: i64 = 15;

/// "Your instances may be released at a system-selected time after the
/// payment due date": the time this implementation selects, read the
/// `system-selected` way (the specs accept up to 30 days).
pub const MAXCOMPUTE_SELECTED_RELEASE_DAYS: i64 = 20;

/// The fault `maxcompute-locked-day-10` locks after 10 days instead.
const MAXCOMPUTE_FAULTY_LOCK_DAYS: i64 = 10;

pub fn maxcompute_unpaid_lock_after(faults: &Faults) -> TimeDelta {
    if faults.has(Fault::MaxcomputeLockedDay10) {
        TimeDelta::days(MAXCOMPUTE_FAULTY_LOCK_DAYS)
    } else {
        TimeDelta::days(MAXCOMPUTE_UNPAID_LOCK_DAYS)
    }
}

// -------------------------------------------------------------- Flink ---

/// Flink, "Pay-as-you-go", "More than 15 days after payment is overdue":
/// the workspaces are treated as abandoned and released automatically
/// (flink.payg.released-after-15-days).
/// The same 15 days abandon subscription and hybrid storage and hybrid
/// elastic resources ("Subscription", "Hybrid billing").
pub const FLINK_ABANDON_AFTER_OVERDUE_DAYS: i64 = 15;

/// Flink, "Expiration", "More than 15 days after expiration": the
/// workspace is released automatically (flink.expiry.released-after-15-days).
pub const FLINK_RELEASE_AFTER_EXPIRY_DAYS: i64 = 15;

/// Flink, "Expiration": "The system sends you reminder notifications by
/// email or text message." The document gives no lead time; the specs chose
/// seven days before expiry (flink.interp.reminder-lead, `seven-days`).
pub const FLINK_EXPIRY_REMINDER_LEAD_DAYS: i64 = 7;

/// Read the `any-lead` way (any instant before expiry will do), this
/// implementation reminds three days before.
pub const FLINK_ANY_REMINDER_LEAD_DAYS: i64 = 3;

// -------------------------------------------------------------- Spark ---

/// EMR Serverless Spark, "Resource plan": a plan that was never used is
/// refunded in full when unsubscribed within five days of buying it
/// (spark.plan.full-refund-within-5-days). The window is half-open,
/// [purchase, purchase + 5 days) (spark.interp.window-boundary).
pub const SPARK_PLAN_REFUND_WINDOW_DAYS: i64 = 5;

/// The fault `plan-refund-day-6` stretches the window to 7 days.
const SPARK_FAULTY_PLAN_REFUND_WINDOW_DAYS: i64 = 7;

pub fn spark_plan_refund_window(faults: &Faults) -> TimeDelta {
    if faults.has(Fault::PlanRefundDay6) {
        TimeDelta::days(SPARK_FAULTY_PLAN_REFUND_WINDOW_DAYS)
    } else {
        TimeDelta::days(SPARK_PLAN_REFUND_WINDOW_DAYS)
    }
}
