//! What the state machines exchange with the engine: transitions and their
//! effects, the signals the ledger sends, answers to operations, timed
//! actions, and the context a machine may read.

use chrono::{DateTime, TimeDelta, Utc};

use super::St;

/// What a transition does besides changing the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Send this notification (id, rule).
    Notify(&'static str, &'static str),
    /// Refund by this formula.
    Refund(Formula),
}

/// The refund formulas of the Spark document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    /// "Refundable amount = Paid amount - Fees for consumed resources".
    QuotaRefund,
    /// "Refund amount = Actual amount paid".
    PlanRefund,
    /// A late plan refunded like a quota, the general unsubscription rules
    /// (spark.interp.late-plan-unsubscription read `pro-rata`).
    PlanProRata,
}

/// A transition: the target state, the transition's id and the rule behind
/// it, as the specs name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub to: St,
    pub id: &'static str,
    pub rule: &'static str,
    pub effect: Effect,
}

pub const fn tr(to: St, id: &'static str, rule: &'static str) -> Tr {
    Tr {
        to,
        id,
        rule,
        effect: Effect::None,
    }
}

/// What changed for a resource, from the ledger's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// One of its own bills is overdue and none was before.
    Overdue,
    /// Its last overdue bill was settled.
    Settled,
    /// The account has an overdue bill and had none before.
    AccountOverdue,
    /// The account's last overdue bill was settled.
    AccountSettled,
    /// A charge was recorded against it.
    Charged,
}

/// How a state machine answers a user operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpAnswer {
    /// The operation is allowed and changes nothing in the lifecycle.
    Allowed,
    /// The operation is allowed and makes this transition.
    Fire(Tr),
    /// The operation would make a transition whose conditions do not hold
    /// now; it is refused citing this rule.
    Blocked(&'static str),
}

/// Something a resource has scheduled, computed from its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    Transition(Tr),
    /// The reminder before expiry (Flink).
    ExpiryReminder,
}

/// What the state machines may read about a resource and its surroundings.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub now: DateTime<Utc>,
    /// When the resource entered its current state.
    pub since: DateTime<Utc>,
    pub purchased_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Start of the resource's own overdue episode.
    pub overdue_since: Option<DateTime<Utc>>,
    /// Settlement date of its oldest bill still overdue.
    pub oldest_overdue_bill: Option<DateTime<Utc>>,
    /// Start of the account's overdue period.
    pub account_overdue_since: Option<DateTime<Utc>>,
    pub auto_release_at: Option<DateTime<Utc>>,
    pub parent_state: Option<St>,
    /// Whether the reminder for the current expiry has been sent.
    pub reminded: bool,
    /// How long before expiry the Flink reminder goes out: seven days (the
    /// specs' reading), or three read the `any-lead` way.
    /// Whether the pay-as-you-go disk and bandwidth of a subscription
    /// instance become unavailable only 15 days into the account's overdue
    /// episode (ecs.interp.attached-unavailable read `t15`).
    pub attached_unavailable_at_t15: bool,
    /// Whether a hybrid Flink workspace due to expire at the instant its
    /// elastic resources are abandoned expires first
    /// (flink.interp.conversion-or-expiry read `expiry-first`).
    pub hybrid_expiry_first: bool,
    /// Whether the Spark plan's refund window holds its last instant
    /// (spark.interp.window-boundary read `end-inclusive`).
    pub spark_window_end_inclusive: bool,
    /// Whether a late Spark plan is unsubscribed pro rata
    /// (spark.interp.late-plan-unsubscription read `pro-rata`).
    pub spark_late_plan_pro_rata: bool,
    /// How long after the due date of its oldest unpaid bill a MaxCompute
    /// instance is released, when this implementation selects a time
    /// (maxcompute.interp.release-time read `system-selected`).
    pub maxcompute_release_after: Option<TimeDelta>,
    /// Whether a MaxCompute lock covers every pay-as-you-go instance of the
    /// account (maxcompute.interp.lock-scope read `account`).
    pub maxcompute_lock_with_account: bool,
    pub reminder_lead: TimeDelta,
}
