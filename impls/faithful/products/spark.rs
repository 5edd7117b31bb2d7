//! EMR Serverless Spark: unsubscribing a workspace's subscription quota
//! (partial refund, the workspace is deleted) and resource plans (full
//! refund if unused within five days). The refund amounts are computed
//! here. Source: emr-serverless-spark-unsubscription-refunds.txt.

use arrears::observation::{BillingStatus as B, Data as D, Serving as S};
use chrono::{DateTime, Utc};

use crate::faults::{Fault, Faults};
use crate::policy;
use crate::vocab::{
    Ctx, Effect, Formula, Lc, OpAnswer, Signal, St, Timed, Tr, Traits, gone, tr, traits,
};

pub fn initial(lc: Lc) -> St {
    match lc {
        Lc::SparkWorkspace => St::Active,
        Lc::SparkJob => St::Present,
        Lc::SparkPlan => St::Unused,
        _ => unreachable!("not a Spark lifecycle"),
    }
}

pub fn traits_of(lc: Lc, st: St) -> Traits {
    use St::*;
    match (lc, st) {
        (Lc::SparkWorkspace, Active) => traits(S::Yes, D::Retained, B::Unspecified),
        // "the corresponding workspace is deleted and cannot be restored"
        (Lc::SparkWorkspace, Deleted) => gone(S::No, D::Deleted),
        (Lc::SparkJob, Present) => traits(S::Yes, D::Retained, B::Unspecified),
        // "deletes the workspace and releases all associated resources,
        // including jobs and data"
        (Lc::SparkJob, Deleted) => gone(S::No, D::Deleted),
        (Lc::SparkPlan, Unused | Used) => traits(S::Yes, D::Unspecified, B::Unspecified),
        (Lc::SparkPlan, Unsubscribed) => gone(S::No, D::Unspecified),
        _ => unreachable!("{lc:?} has no state {st:?}"),
    }
}

pub fn on_signal(lc: Lc, st: St, signal: Signal) -> Option<Tr> {
    match (lc, st, signal) {
        // A plan that has been consumed is no longer "unused".
        (Lc::SparkPlan, St::Unused, Signal::Charged) => Some(tr(
            St::Used,
            "consumed",
            "spark.plan.full-refund-within-5-days",
        )),
        _ => None,
    }
}

pub fn on_parent(lc: Lc, st: St, parent: St) -> Option<Tr> {
    match (lc, st, parent) {
        (Lc::SparkJob, St::Present, St::Deleted) => Some(tr(
            St::Deleted,
            "deleted-with-workspace",
            "spark.quota.releases-jobs-and-data",
        )),
        _ => None,
    }
}

pub fn on_operation(lc: Lc, st: St, op: &str, ctx: &Ctx, faults: &Faults) -> OpAnswer {
    use St::*;
    match (lc, st, op) {
        // "Subscription quota": unsubscribing the quota deletes its
        // workspace for good (spark.quota.workspace-deleted).
        (Lc::SparkWorkspace, Active, "unsubscribe") => OpAnswer::Fire(Tr {
            to: Deleted,
            id: "quota-unsubscribed",
            rule: "spark.quota.workspace-deleted",
            effect: Effect::Refund(Formula::QuotaRefund),
        }),
        // "Resource plan": an unused plan is refunded in full within five
        // days of buying it (spark.plan.full-refund-within-5-days). A plan
        // used, or older than five days, cannot be unsubscribed
        // (spark.interp.late-plan-unsubscription, `refused`), or is
        // refunded the unused share of its term (`pro-rata`).
        (Lc::SparkPlan, Unused, "unsubscribe") => {
            let window_end = ctx.purchased_at + policy::spark_plan_refund_window(faults);
            let inside = if ctx.spark_window_end_inclusive {
                ctx.now <= window_end
            } else {
                ctx.now < window_end
            };
            if inside {
                OpAnswer::Fire(Tr {
                    to: Unsubscribed,
                    id: "full-refund",
                    rule: "spark.plan.full-refund-within-5-days",
                    effect: Effect::Refund(Formula::PlanRefund),
                })
            } else {
                late_plan(ctx)
            }
        }
        (Lc::SparkPlan, Used, "unsubscribe") => late_plan(ctx),
        _ => OpAnswer::Allowed,
    }
}

/// A plan no longer eligible for the full refund: refused, or, read the
/// `pro-rata` way, unsubscribed as the general unsubscription rules do
/// ("For more information, see Unsubscription rules").
fn late_plan(ctx: &Ctx) -> OpAnswer {
    if ctx.spark_late_plan_pro_rata {
        OpAnswer::Fire(Tr {
            to: St::Unsubscribed,
            id: "late-unsubscription-pro-rata",
            rule: "spark.plan.see-unsubscription-rules",
            effect: Effect::Refund(Formula::PlanProRata),
        })
    } else {
        OpAnswer::Blocked("spark.plan.full-refund-within-5-days")
    }
}

pub fn timers(_lc: Lc, _st: St, _ctx: &Ctx) -> Vec<(DateTime<Utc>, Timed)> {
    // Nothing in the Spark document happens by itself.
    Vec::new()
}

/// A refund with the inputs of its formula.
#[derive(Debug, Clone, Copy)]
pub struct Refund {
    pub amount: i64,
    pub formula: &'static str,
    pub rule: &'static str,
}

/// Computes a refund exactly and rounds it once, down to the minor unit
/// (spark.interp.refund-rounding, `floor`), so that it never exceeds the
/// unused share of what was paid.
pub fn refund(
    formula: Formula,
    paid_cash: i64,
    paid_voucher: i64,
    used_seconds: i64,
    term_seconds: i64,
    faults: &Faults,
) -> Refund {
    match formula {
        Formula::QuotaRefund | Formula::PlanProRata => {
            // "Subscription quota": the refund is what was paid less the
            // consumed share, "(Used duration / Subscription duration) × Paid
            // amount", where what was paid counts cash only, not vouchers or
            // coupons (spark.quota.refund-formula, spark.quota.cash-only).
            let paid = if faults.has(Fault::RefundCountsVouchers) {
                paid_cash + paid_voucher
            } else {
                paid_cash
            } as i128;
            let used = used_seconds.max(0) as i128;
            let term = term_seconds as i128;
            let amount = if term <= 0 {
                0
            } else {
                // paid - used * paid / term, as one fraction over term.
                let numerator = paid * term - used * paid;
                numerator.div_euclid(term).clamp(0, paid)
            };
            if formula == Formula::PlanProRata {
                Refund {
                    amount: amount as i64,
                    formula: "spark.formula.plan-pro-rata",
                    rule: "spark.plan.see-unsubscription-rules",
                }
            } else {
                Refund {
                    amount: amount as i64,
                    formula: "spark.formula.quota-refund",
                    rule: "spark.quota.refund-formula",
                }
            }
        }
        // "Refund amount = Actual amount paid", the cash of the order.
        Formula::PlanRefund => Refund {
            amount: paid_cash,
            formula: "spark.formula.plan-refund",
            rule: "spark.plan.refund-amount",
        },
    }
}
