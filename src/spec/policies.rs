//! A compiled document and the policies it sets: its operations, billing,
//! the account-wide ledger, notifications and refund formulas.

use serde::Serialize;
use std::collections::BTreeMap;

use super::{DocId, OnInsufficient, OpId, ParamId, RuleId, formula};

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub id: String,
    pub file: String,
    pub title: String,
    pub product: String,
    pub last_updated: Option<String>,
    pub source: String,
    pub sections: Vec<String>,
    /// Operations this document declares, with whether they cost money.
    #[serde(skip)]
    pub operations: BTreeMap<OpId, OperationDecl>,
    #[serde(skip)]
    pub billing: Option<BillingPolicy>,
    /// Rule by which fee-incurring operations are refused while overdue.
    #[serde(skip)]
    pub deny_fee_operations_while_overdue: Option<RuleId>,
    /// Where the document is silent: the flag parameter (set by a reading)
    /// saying whether they are refused all the same.
    #[serde(skip)]
    pub refuse_fee_operations_flag: Option<ParamId>,
}

#[derive(Debug, Clone)]
pub struct OperationDecl {
    pub meaning: String,
    pub fee_incurring: bool,
}

#[derive(Debug, Clone)]
pub struct BillingPolicy {
    pub deduction_offsets: Vec<ParamId>,
    pub on_insufficient: OnInsufficient,
    /// How often pay-as-you-go usage is billed, if the document says.
    pub cycle: Option<ParamId>,
    /// The flag (set by a reading) saying whether a charge in a state
    /// whose billing is unspecified is billed; billed when absent.
    pub bill_where_unspecified: Option<ParamId>,
    pub rule: RuleId,
}

#[derive(Debug, Clone)]
pub struct LedgerPolicy {
    pub doc: DocId,
    pub vouchers_first: ParamId,
    pub top_up_settles: ParamId,
    pub events_before_system_actions: ParamId,
    /// What a payment settles when the credit covers only some overdue
    /// bills: `oldest-first` whole bills (also when absent) or
    /// `all-or-none`.
    pub settlement: Option<ParamId>,
    pub rules: Vec<RuleId>,
}

/// The settlement choices a ledger's `settlement` parameter may take.
pub const SETTLEMENT_CHOICES: [&str; 2] = ["oldest-first", "all-or-none"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationTrigger {
    BillOverdue,
    BalanceNegative,
    CreditBelowThreshold,
    BeforeExpiry(ParamId),
    Transition,
}

#[derive(Debug, Clone)]
pub struct NotificationDef {
    pub id: String,
    pub doc: DocId,
    pub meaning: String,
    pub trigger: NotificationTrigger,
    pub rule: RuleId,
    /// The flag (set by a reading) under which the notification's instant
    /// is left open.
    pub instant_open: Option<ParamId>,
    /// For `bill_overdue`: the choice (set by a reading) between one notice
    /// per resource and one per account overdue episode.
    pub per: Option<ParamId>,
}

#[derive(Debug, Clone)]
pub struct FormulaDef {
    pub id: String,
    pub doc: DocId,
    pub meaning: String,
    pub text: String,
    pub expression: formula::Expr,
    pub rounding: ParamId,
    pub at_least: Option<formula::Expr>,
    pub at_most: Option<formula::Expr>,
    pub rule: RuleId,
}
