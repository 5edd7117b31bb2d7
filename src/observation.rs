//! The observation vocabulary: what a system reports about accounts and
//! resources at an instant, and the log of what happened between instants.
//!
//! This is the output of the reference model and the contract every
//! implementation under test reports in (see docs/observations.md, which
//! documents each field for implementers). The types are plain data with
//! stable JSON names; add optional fields, never rename or remove them.
//!
//! Names of states, operations, rules and notifications are the ids of the
//! specs, so an implementation reports in the specs' vocabulary.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::spec::{BillingMethod, BillingStatus, Data, Serving};

/// Everything observable at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    pub at: DateTime<Utc>,
    pub accounts: Vec<AccountObservation>,
    pub resources: Vec<ResourceObservation>,
}

impl Observation {
    pub fn account(&self, id: &str) -> Option<&AccountObservation> {
        self.accounts.iter().find(|a| a.account == id)
    }

    pub fn resource(&self, id: &str) -> Option<&ResourceObservation> {
        self.resources.iter().find(|r| r.resource == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountObservation {
    pub account: String,
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
    pub outstanding_bills: Vec<BillObservation>,
    /// For each product with fee-incurring operations, whether each of them
    /// would be allowed now.
    pub fee_operations: Vec<FeeOperation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeeOperation {
    pub product: String,
    pub operation: String,
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
    pub bill: String,
    pub resource: String,
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
    pub resource: String,
    pub account: String,
    pub product: String,
    /// The lifecycle the resource follows (spec id).
    pub lifecycle: String,
    /// Its state in that lifecycle (spec state id).
    pub state: String,
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

/// Operations by name, each with whether it would be allowed now: a JSON
/// object `{"release": true, "renew": false}`, in name order.
///
/// Kept as a sorted list of shared names rather than a map of owned
/// strings: the model builds one for every resource at every observation,
/// and sharing the names (one allocation per observation instead of one
/// per operation) makes observing several times cheaper.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationMap(Vec<(Arc<str>, bool)>);

impl OperationMap {
    /// From names already in order and without repeats (the model's).
    pub(crate) fn from_sorted(entries: Vec<(Arc<str>, bool)>) -> OperationMap {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        OperationMap(entries)
    }

    fn position(&self, op: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(name, _)| (**name).cmp(op))
    }

    /// Whether `op` would be allowed, if the map names it.
    pub fn get(&self, op: &str) -> Option<&bool> {
        self.position(op).ok().map(|i| &self.0[i].1)
    }

    pub fn get_mut(&mut self, op: &str) -> Option<&mut bool> {
        self.position(op).ok().map(|i| &mut self.0[i].1)
    }

    /// Sets whether `op` would be allowed (adding it if new).
    pub fn insert(&mut self, op: &str, allowed: bool) {
        match self.position(op) {
            Ok(i) => self.0[i].1 = allowed,
            Err(i) => self.0.insert(i, (Arc::from(op), allowed)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &bool)> {
        self.0.iter().map(|(name, allowed)| (&**name, allowed))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut bool)> {
        self.0.iter_mut().map(|(name, allowed)| (&**name, allowed))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| &**name)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<(S, bool)> for OperationMap {
    /// Later entries for one name replace earlier ones, as in a map.
    fn from_iter<I: IntoIterator<Item = (S, bool)>>(entries: I) -> OperationMap {
        let mut map = OperationMap::default();
        for (name, allowed) in entries {
            map.insert(name.as_ref(), allowed);
        }
        map
    }
}

impl Serialize for OperationMap {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for OperationMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, bool>::deserialize(deserializer)?;
        Ok(OperationMap(
            map.into_iter().map(|(k, v)| (Arc::from(k), v)).collect(),
        ))
    }
}

impl JsonSchema for OperationMap {
    fn inline_schema() -> bool {
        <BTreeMap<String, bool>>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, bool>>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, bool>>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, bool>>::json_schema(generator)
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
        account: String,
        resource: String,
        bill: Option<String>,
        amount: i64,
    },
    /// A charge was not billed because the resource's billing has ceased.
    ChargeSkipped {
        at: DateTime<Utc>,
        account: String,
        resource: String,
        amount: i64,
        rule: String,
    },
    Deduction {
        at: DateTime<Utc>,
        account: String,
        resource: String,
        bill: String,
        amount: i64,
        /// 1 for the first attempt.
        attempt: u32,
        cause: AttemptCause,
        outcome: Outcome,
        rule: String,
    },
    /// An overdue bill stopped being overdue (paid late, or the balance came
    /// back to zero or above).
    BillSettled {
        at: DateTime<Utc>,
        account: String,
        resource: String,
        bill: String,
    },
    TopUp {
        at: DateTime<Utc>,
        account: String,
        amount: i64,
    },
    VoucherGranted {
        at: DateTime<Utc>,
        account: String,
        amount: i64,
    },
    /// Money taken for a purchase, renewal or upgrade.
    Payment {
        at: DateTime<Utc>,
        account: String,
        resource: String,
        operation: String,
        cash: i64,
        vouchers: i64,
    },
    Transition {
        at: DateTime<Utc>,
        resource: String,
        lifecycle: String,
        from: String,
        to: String,
        /// The lifecycle transition's id.
        transition: String,
        rule: String,
    },
    Notification {
        at: DateTime<Utc>,
        account: String,
        resource: Option<String>,
        notification: String,
        rule: String,
    },
    /// A user operation, allowed or denied. A denial names the rule that
    /// refused it (for lack of credit, the ledger's available-credit rule)
    /// and gives the reason in words.
    Operation {
        at: DateTime<Utc>,
        account: String,
        resource: String,
        operation: String,
        allowed: bool,
        rule: Option<String>,
        reason: Option<String>,
        /// The error a refusal answers with, where the document names one
        /// (MaxCompute's `ODPS-0420095`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
    },
    Refund {
        at: DateTime<Utc>,
        account: String,
        resource: String,
        amount: i64,
        formula: String,
        rule: String,
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
    schemars::schema_for!(Trace)
}
