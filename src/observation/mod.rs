//! The observation vocabulary: what a system reports about accounts and
//! resources at an instant, and the log of what happened between instants.
//!
//! This is the output of the reference model and the contract every
//! implementation under test reports in (see docs/observations.md, which
//! documents each field for implementers). The types are plain data with
//! stable JSON names; add optional fields, never rename or remove them.
//!
//! Names of states, operations, rules and notifications are the ids of the
//! specs, so an implementation reports in the specs' vocabulary. How ids
//! and operation verdicts are held in memory is `names.rs`'s business.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::spec::{BillingMethod, BillingStatus, Data, Serving};

mod names;

pub use names::{Name, OperationMap};

/// Everything observable at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    pub at: DateTime<Utc>,
    pub accounts: Vec<AccountObservation>,
    // Each resource's observation is shared: a system that saw no change
    // to a resource since its last observation may hand on the same one
    // (the model does), and the checks then judge it once. A comment, not
    // documentation, so that the JSON Schema does not speak of memory.
    pub resources: Vec<Arc<ResourceObservation>>,
}

impl Observation {
    pub fn account(&self, id: &str) -> Option<&AccountObservation> {
        self.accounts.iter().find(|a| &*a.account == id)
    }

    pub fn resource(&self, id: &str) -> Option<&ResourceObservation> {
        self.resources
            .iter()
            .find(|r| &*r.resource == id)
            .map(|r| &**r)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountObservation {
    pub account: Name,
    /// Cash balance in minor units; negative after an overdrawn deduction.
    pub cash: i64,
    /// Voucher balance in minor units.
    pub vouchers: i64,
    /// Cash plus vouchers.
    pub available_credit: i64,
    /// When the account's current overdue period began (its first overdue
    /// bill since it last had none); absent when not overdue.
    pub overdue_since: Option<DateTime<Utc>>,
    /// Bills not yet paid, oldest first.
    pub outstanding_bills: Arc<[BillObservation]>,
    /// For each product with fee-incurring operations, whether each of them
    /// would be allowed now.
    pub fee_operations: Arc<[FeeOperation]>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeeOperation {
    pub product: Name,
    pub operation: Name,
    pub allowed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BillStatus {
    /// Issued, its first deduction not yet attempted.
    Pending,
    /// A deduction failed; not paid yet.
    Overdue,
    /// Deducted into a negative cash balance; counts as overdue until the
    /// balance is back at zero or above.
    Overdrawn,
    /// Paid.
    Paid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BillObservation {
    /// `<resource>/<n>`: the n-th bill issued to the resource, from 1.
    pub bill: Name,
    pub resource: Name,
    pub amount: i64,
    /// The settlement date T.
    pub settlement_date: DateTime<Utc>,
    pub status: BillStatus,
    /// Deduction attempts made so far.
    pub attempts: u32,
    /// The next scheduled deduction attempt, if any remains.
    pub next_attempt: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceObservation {
    pub resource: Name,
    pub account: Name,
    pub product: Name,
    /// The lifecycle the resource follows (spec id).
    pub lifecycle: Name,
    /// Its state in that lifecycle (spec state id).
    pub state: Name,
    /// When it entered that state.
    pub since: DateTime<Utc>,
    pub serving: Serving,
    pub data: Data,
    pub billing: BillingStatus,
    /// The billing method it is billed under now: its own, or another its
    /// state gives it (a converted hybrid Flink workspace: `subscription`).
    /// Optional for implementations written before it; compared when
    /// reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_method: Option<BillingMethod>,
    /// When its own current overdue period began (first failed or overdrawn
    /// deduction of one of its bills since it last had none).
    pub overdue_since: Option<DateTime<Utc>>,
    /// The settlement date of its oldest bill still overdue.
    pub oldest_overdue_bill: Option<DateTime<Utc>>,
    pub purchased_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Every operation of its product, and whether it would be allowed now.
    pub operations: OperationMap,
}

impl ResourceObservation {
    /// The instant an anchor of the specs stands for, as this observation
    /// (and its account's, `account`) shows it; `None` where it is unset or
    /// not observable (a parent's entry, an auto-release time).
    pub fn anchor(
        &self,
        anchor: crate::spec::Anchor,
        account: Option<&AccountObservation>,
    ) -> Option<DateTime<Utc>> {
        use crate::spec::Anchor;
        match anchor {
            Anchor::OverdueSince => self.overdue_since,
            Anchor::OldestOverdueBill => self.oldest_overdue_bill,
            Anchor::AccountOverdueSince => account.and_then(|a| a.overdue_since),
            Anchor::Entered => Some(self.since),
            Anchor::Expiry => self.expires_at,
            Anchor::Purchase => Some(self.purchased_at),
            Anchor::ParentEntered | Anchor::AutoRelease => None,
        }
    }
}

/// How a deduction attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Paid,
    Failed,
    Overdrawn,
}

/// What started a deduction attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptCause {
    /// The product's deduction schedule (T, T+7, T+14...).
    Scheduled,
    /// The owner paid now.
    PayNow,
    /// A top-up tried to settle overdue bills.
    TopUp,
}

/// One thing that happened, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    /// A charge became a bill (or, for a product without bills, recorded
    /// consumption: `bill` is absent).
    Charge {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        bill: Option<Name>,
        amount: i64,
    },
    /// A charge was not billed because the resource's billing has ceased.
    ChargeSkipped {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        amount: i64,
        rule: Name,
    },
    Deduction {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        bill: Name,
        amount: i64,
        /// 1 for the first attempt.
        attempt: u32,
        cause: AttemptCause,
        outcome: Outcome,
        rule: Name,
    },
    /// An overdue bill stopped being overdue (paid late, or the balance came
    /// back to zero or above).
    BillSettled {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        bill: Name,
    },
    TopUp {
        at: DateTime<Utc>,
        account: Name,
        amount: i64,
    },
    VoucherGranted {
        at: DateTime<Utc>,
        account: Name,
        amount: i64,
    },
    /// Money taken for a purchase, renewal or upgrade.
    Payment {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        operation: Name,
        cash: i64,
        vouchers: i64,
    },
    Transition {
        at: DateTime<Utc>,
        resource: Name,
        lifecycle: Name,
        from: Name,
        to: Name,
        /// The lifecycle transition's id.
        transition: Name,
        rule: Name,
    },
    Notification {
        at: DateTime<Utc>,
        account: Name,
        resource: Option<Name>,
        notification: Name,
        rule: Name,
    },
    /// A user operation, allowed or denied. A denial names the rule that
    /// refused it (for lack of credit, the ledger's available-credit rule)
    /// and gives the reason in words.
    Operation {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        operation: Name,
        allowed: bool,
        rule: Option<Name>,
        reason: Option<String>,
        /// The error a refusal answers with, where the document names one
        /// (MaxCompute's `ODPS-0420095`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
    },
    Refund {
        at: DateTime<Utc>,
        account: Name,
        resource: Name,
        amount: i64,
        formula: Name,
        rule: Name,
        /// The formula's inputs.
        paid_cash: i64,
        paid_voucher: i64,
        used_seconds: i64,
        term_seconds: i64,
    },
}

impl TraceEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            TraceEvent::Charge { at, .. }
            | TraceEvent::ChargeSkipped { at, .. }
            | TraceEvent::Deduction { at, .. }
            | TraceEvent::BillSettled { at, .. }
            | TraceEvent::TopUp { at, .. }
            | TraceEvent::VoucherGranted { at, .. }
            | TraceEvent::Payment { at, .. }
            | TraceEvent::Transition { at, .. }
            | TraceEvent::Notification { at, .. }
            | TraceEvent::Operation { at, .. }
            | TraceEvent::Refund { at, .. } => *at,
        }
    }

    /// The resource the event concerns, if one.
    pub fn resource(&self) -> Option<&str> {
        match self {
            TraceEvent::Charge { resource, .. }
            | TraceEvent::ChargeSkipped { resource, .. }
            | TraceEvent::Deduction { resource, .. }
            | TraceEvent::BillSettled { resource, .. }
            | TraceEvent::Payment { resource, .. }
            | TraceEvent::Transition { resource, .. }
            | TraceEvent::Operation { resource, .. }
            | TraceEvent::Refund { resource, .. } => Some(resource),
            TraceEvent::Notification { resource, .. } => resource.as_deref(),
            TraceEvent::TopUp { .. } | TraceEvent::VoucherGranted { .. } => None,
        }
    }

    /// The rule the event cites, if it cites one.
    pub fn rule(&self) -> Option<&str> {
        match self {
            TraceEvent::ChargeSkipped { rule, .. }
            | TraceEvent::Deduction { rule, .. }
            | TraceEvent::Transition { rule, .. }
            | TraceEvent::Notification { rule, .. }
            | TraceEvent::Refund { rule, .. } => Some(rule),
            TraceEvent::Operation { rule, .. } => rule.as_deref(),
            _ => None,
        }
    }
}

/// A run's output: the event log and the observations taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Trace {
    pub events: Vec<TraceEvent>,
    pub observations: Vec<Observation>,
}

/// The JSON Schema of observations and trace events.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<Trace>()
}
