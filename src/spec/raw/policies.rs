//! The account- and product-wide sections of a spec file as written: the
//! ledger, billing, the overdue account's policy, notifications and refund
//! formulas.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Id, Scalar, Spanned, Text};

/// Account-wide settlement choices. Exactly one spec file of a set carries
/// this section, because an account's balance is shared by every product.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// `flag` parameter: deductions take vouchers before cash.
    #[schemars(with = "String")]
    pub vouchers_first: Id,
    /// `flag` parameter: a top-up immediately tries to settle overdue bills.
    #[schemars(with = "String")]
    pub top_up_settles: Id,
    /// `flag` parameter: at one instant, the history's events are applied
    /// before the system's scheduled actions.
    #[schemars(with = "String")]
    pub events_before_system_actions: Id,
    /// `choice` parameter among `oldest-first` and `all-or-none`: what a
    /// payment settles when the credit covers only some overdue bills
    /// (oldest-first when absent).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub settlement: Option<Id>,
    /// The rules the ledger enforces (available credit, settlement).
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Id>,
}

/// How the product's pay-as-you-go bills are deducted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Billing {
    /// Offsets from the settlement date T at which a bill is deducted, the
    /// first one included (parameter ids, in increasing order).
    #[schemars(with = "Vec<String>")]
    pub deduction_offsets: Vec<Id>,
    /// What a deduction does when the available credit is short.
    #[schemars(with = "OnInsufficient")]
    pub on_insufficient: Spanned<OnInsufficient>,
    /// The period over which pay-as-you-go usage is billed, where the
    /// document gives one (the history's charges arrive at this rhythm).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cycle: Option<Id>,
    /// `flag` parameter, set by the readings of an interpretation: whether
    /// a charge to a resource in a state whose billing the document leaves
    /// `unspecified` is billed (true) or not (false).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bill_where_unspecified: Option<Id>,
    /// The rules that set the schedule; the first is cited by every
    /// deduction attempt.
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Id>,
}

/// What a deduction does when the available credit is short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnInsufficient {
    /// The attempt fails; the bill stays outstanding and becomes overdue.
    Fail,
    /// The full amount is taken anyway; the cash balance goes negative and the
    /// bill counts as overdue until the balance is back at zero or above.
    Overdraw,
}

/// What an overdue account does to the product's operations (one of the
/// two fields, never both).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPolicy {
    /// The rule by which this product's fee-incurring operations are denied
    /// while the account is overdue.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub deny_fee_operations_while_overdue: Option<Id>,
    /// For a document silent on the matter: a flag parameter, set by a
    /// reading of an interpretation, saying whether this product's
    /// fee-incurring operations are refused while the account is overdue.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub refuse_fee_operations_while_overdue: Option<Id>,
}

/// A notification the product sends.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// The notification's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What it tells the account holder, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// When it is sent.
    #[schemars(with = "NotificationTrigger")]
    pub on: Spanned<NotificationTrigger>,
    /// The rule that says it is sent.
    #[schemars(with = "String")]
    pub rule: Id,
    /// `flag` parameter, set by a reading: when true, the document leaves
    /// the notification's instant open, so the comparison leaves it to the
    /// invariants (which say before what it must come).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub instant_open: Option<Id>,
    /// For `bill_overdue`: a `choice` parameter among `resource` (one
    /// notice per resource whose bill falls overdue) and `account` (one
    /// notice to the account when the first bill of this product falls
    /// overdue in its overdue episode). Per resource when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub per: Option<Id>,
}

/// When a notification is sent.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NotificationTrigger {
    /// A bill of this product has its first failed (or overdrawn) deduction.
    BillOverdue,
    /// A charge of this product takes the cash balance below zero.
    BalanceNegative,
    /// The account's available credit falls below its credit-alert threshold.
    CreditBelowThreshold,
    /// A subscription resource of this product is this long before expiry.
    BeforeExpiry {
        /// A duration parameter: how long before the expiry.
        #[schemars(with = "String")]
        lead: Id,
    },
    /// Sent only as the effect of a lifecycle transition.
    Transition,
}

/// A refund formula, evaluated over exact rationals and rounded once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Formula {
    /// The formula's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What it computes, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Arithmetic over `paid_cash`, `paid_voucher`, `used`, `term`.
    #[schemars(with = "Scalar")]
    pub expression: Text,
    /// A `choice` parameter naming the rounding mode.
    #[schemars(with = "String")]
    pub rounding: Id,
    /// A lower bound, an expression over the same variables.
    #[serde(default)]
    #[schemars(with = "Option<Scalar>")]
    pub at_least: Option<Text>,
    /// An upper bound, an expression over the same variables.
    #[serde(default)]
    #[schemars(with = "Option<Scalar>")]
    pub at_most: Option<Text>,
    /// The rule that gives the formula.
    #[schemars(with = "String")]
    pub rule: Id,
}
