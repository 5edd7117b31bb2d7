//! The shape of one spec file exactly as written in YAML.
//!
//! These types only describe syntax: every identifier is still a string
//! carrying the line and column where it was written, so that
//! [`super::compile()`] can report a dangling reference at its place. Nothing
//! outside the spec loader sees these types; the engine works on the
//! compiled [`super::Catalog`].
//!
//! The format is documented for spec authors in `docs/spec-format.md`;
//! keep the two in step.

use serde::Deserialize;

use crate::yaml::Spanned;

/// An identifier or reference, with its position.
pub type Id = Spanned<String>;

/// A text field, with its position.
pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    pub document: Document,
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub ledger: Option<Ledger>,
    #[serde(default)]
    pub billing: Option<Billing>,
    #[serde(default)]
    pub account: Option<AccountPolicy>,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    #[serde(default)]
    pub formulas: Vec<Formula>,
    #[serde(default)]
    pub lifecycles: Vec<Lifecycle>,
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub interpretations: Vec<Interpretation>,
    #[serde(default)]
    pub invariants: Vec<Invariant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Short id; every id in the file starts with `<id>.`.
    pub id: Id,
    pub title: Text,
    /// The product's full name as the document writes it.
    pub product: Text,
    /// The document's "Last Updated" date (YYYY-MM-DD), where it gives one.
    #[serde(default)]
    pub last_updated: Option<Text>,
    /// File name of the source document in the shared sources.
    pub source: Text,
    /// The section headings of the source that rules may cite, as written
    /// there; `(opening)` names the text before the first heading.
    pub sections: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub id: Id,
    /// The value as written; its meaning depends on `unit`.
    pub value: Text,
    pub unit: Spanned<Unit>,
    /// The allowed values, for `unit: choice`.
    #[serde(default)]
    pub options: Vec<Id>,
    pub meaning: Text,
    /// Where the document gives the number (absent for values an
    /// interpretation chose).
    #[serde(default)]
    pub section: Option<Text>,
    #[serde(default)]
    pub anchor: Option<Text>,
    /// The interpretation that chose this value, when the document gives none.
    #[serde(default)]
    pub interpretation: Option<Id>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    Days,
    Hours,
    Minutes,
    Seconds,
    Count,
    Flag,
    Choice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub id: Id,
    pub meaning: Text,
    /// Whether performing it costs money (purchase, renew, upgrade...).
    #[serde(default)]
    pub fee_incurring: bool,
}

/// Account-wide settlement choices. Exactly one spec file of a set carries
/// this section, because an account's balance is shared by every product.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// `flag` parameter: deductions take vouchers before cash.
    pub vouchers_first: Id,
    /// `flag` parameter: a top-up immediately tries to settle overdue bills.
    pub top_up_settles: Id,
    /// `flag` parameter: at one instant, the history's events are applied
    /// before the system's scheduled actions.
    pub events_before_system_actions: Id,
    /// `choice` parameter among `oldest-first` and `all-or-none`: what a
    /// payment settles when the credit covers only some overdue bills
    /// (oldest-first when absent).
    #[serde(default)]
    pub settlement: Option<Id>,
    /// The rules the ledger enforces (available credit, settlement).
    pub rules: Vec<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Billing {
    /// Offsets from the settlement date T at which a bill is deducted, the
    /// first one included (parameter ids, in increasing order).
    pub deduction_offsets: Vec<Id>,
    /// What a deduction does when the available credit is short.
    pub on_insufficient: Spanned<OnInsufficient>,
    /// The period over which pay-as-you-go usage is billed, where the
    /// document gives one (the history's charges arrive at this rhythm).
    #[serde(default)]
    pub cycle: Option<Id>,
    /// `flag` parameter, set by the readings of an interpretation: whether
    /// a charge to a resource in a state whose billing the document leaves
    /// `unspecified` is billed (true) or not (false).
    #[serde(default)]
    pub bill_where_unspecified: Option<Id>,
    /// The rules that set the schedule; the first is cited by every
    /// deduction attempt.
    pub rules: Vec<Id>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnInsufficient {
    /// The attempt fails; the bill stays outstanding and becomes overdue.
    Fail,
    /// The full amount is taken anyway; the cash balance goes negative and the
    /// bill counts as overdue until the balance is back at zero or above.
    Overdraw,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPolicy {
    /// The rule by which this product's fee-incurring operations are denied
    /// while the account is overdue.
    #[serde(default)]
    pub deny_fee_operations_while_overdue: Option<Id>,
    /// For a document silent on the matter: a flag parameter, set by a
    /// reading of an interpretation, saying whether this product's
    /// fee-incurring operations are refused while the account is overdue.
    #[serde(default)]
    pub refuse_fee_operations_while_overdue: Option<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    pub id: Id,
    pub meaning: Text,
    pub on: Spanned<NotificationTrigger>,
    pub rule: Id,
    /// `flag` parameter, set by a reading: when true, the document leaves
    /// the notification's instant open, so the comparison leaves it to the
    /// invariants (which say before what it must come).
    #[serde(default)]
    pub instant_open: Option<Id>,
    /// For `bill_overdue`: a `choice` parameter among `resource` (one
    /// notice per resource whose bill falls overdue) and `account` (one
    /// notice to the account when the first bill of this product falls
    /// overdue in its overdue episode). Per resource when absent.
    #[serde(default)]
    pub per: Option<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum NotificationTrigger {
    /// A bill of this product has its first failed (or overdrawn) deduction.
    BillOverdue,
    /// A charge of this product takes the cash balance below zero.
    BalanceNegative,
    /// The account's available credit falls below its credit-alert threshold.
    CreditBelowThreshold,
    /// A subscription resource of this product is this long before expiry.
    BeforeExpiry { lead: Id },
    /// Sent only as the effect of a lifecycle transition.
    Transition,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formula {
    pub id: Id,
    pub meaning: Text,
    /// Arithmetic over `paid_cash`, `paid_voucher`, `used`, `term`.
    pub expression: Text,
    /// A `choice` parameter naming the rounding mode.
    pub rounding: Id,
    #[serde(default)]
    pub at_least: Option<Text>,
    #[serde(default)]
    pub at_most: Option<Text>,
    pub rule: Id,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    pub id: Id,
    pub meaning: Text,
    pub kind: Id,
    pub billing: Spanned<BillingMethod>,
    /// The lifecycle of the resource this one is attached to, if any.
    #[serde(default)]
    pub parent: Option<Id>,
    pub initial: Id,
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BillingMethod {
    Subscription,
    PayAsYouGo,
    Hybrid,
    /// Not billed on its own (a snapshot, a job inside a workspace).
    NotBilled,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub id: Id,
    pub meaning: Text,
    pub serving: Spanned<Serving>,
    pub data: Spanned<Data>,
    pub billing: Spanned<BillingStatus>,
    /// The billing method the resource is billed under in this state, where
    /// it is not its lifecycle's own (a converted hybrid Flink workspace is
    /// billed as a subscription).
    #[serde(default)]
    pub billing_method: Option<Spanned<BillingMethod>>,
    #[serde(default)]
    pub operations: Vec<OperationCapability>,
    #[serde(default)]
    pub terminal: bool,
    /// The documents decide nothing of the resource from its entry into
    /// this state (the disks of an instance released by hand): nothing of
    /// it is compared from then on.
    #[serde(default)]
    pub undecided: bool,
    /// The rules that give this state its capabilities.
    pub rules: Vec<Id>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Serving {
    Yes,
    No,
    Unspecified,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Data {
    Retained,
    Deleted,
    Unspecified,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BillingStatus {
    Running,
    Ceased,
    Unspecified,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationCapability {
    pub id: Id,
    pub allowed: bool,
    pub rule: Id,
    /// The error a refused operation answers with, as the document names
    /// it; it must appear in the rule's anchor.
    #[serde(default)]
    pub error_code: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub id: Id,
    pub from: Vec<Id>,
    pub to: Id,
    pub on: Spanned<Trigger>,
    #[serde(default)]
    pub when: Vec<Spanned<Guard>>,
    #[serde(default)]
    pub effects: Vec<Spanned<Effect>>,
    /// For an `after` trigger whose instant the document leaves to the
    /// system: how long after the same anchor the transition may come at
    /// the earliest (the model takes it at the latest, the `after`).
    #[serde(default)]
    pub open_from: Option<Text>,
    pub rule: Id,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Something the ledger or the account reports about this resource.
    Signal(Spanned<Signal>),
    /// A user operation on this resource that was allowed.
    Operation(Id),
    /// A duration elapsed since an anchor instant.
    After {
        duration: Text,
        since: Spanned<Anchor>,
    },
    /// The anchor instant itself is reached.
    At(Spanned<Anchor>),
    /// The parent resource entered one of these states.
    ParentEntered(Vec<Id>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// One of this resource's bills became overdue while none was.
    Overdue,
    /// The last overdue bill of this resource was settled.
    Settled,
    /// The account became overdue (any bill of any resource).
    AccountOverdue,
    /// The account has no overdue bill any more.
    AccountSettled,
    /// A charge was billed to this resource.
    Charged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    /// When this resource's current overdue episode began: its first failed
    /// deduction since it last had no overdue bill.
    OverdueSince,
    /// The settlement date T of this resource's oldest bill still overdue.
    OldestOverdueBill,
    /// When the account's current overdue episode began.
    AccountOverdueSince,
    /// When this resource entered its current state.
    Entered,
    /// When the parent resource entered its current state.
    ParentEntered,
    /// The subscription's expiry.
    Expiry,
    /// When the resource was purchased.
    Purchase,
    /// The automatic release time the user set.
    AutoRelease,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Guard {
    AccountOverdue(bool),
    Overdue(bool),
    Expired(bool),
    /// Less than `duration` has passed since the anchor.
    Within {
        duration: Text,
        since: Spanned<Anchor>,
    },
    ParentState(Vec<Id>),
    /// The parent entered its current state by a transition under one of
    /// these rules (its release for an overdue payment, not by hand).
    ParentEnteredUnder(Vec<Id>),
    /// A `flag` or `choice` parameter has this value (how readings switch
    /// transitions on and off).
    Param {
        id: Id,
        equals: Text,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    Refund(Id),
    Notify(Id),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: Id,
    /// The heading of the section of the source the rule comes from.
    pub section: Text,
    /// A short phrase found verbatim in the source.
    pub anchor: Text,
    /// The rule in our own words.
    pub statement: Text,
    pub level: Spanned<Level>,
    /// What kind of spec element enforces the rule.
    #[serde(default)]
    pub enforced_by: Vec<Spanned<Enforcer>>,
    /// Why the rule is not modelled, when it is not.
    #[serde(default)]
    pub not_modelled: Option<Text>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Must,
    Should,
    Informational,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcer {
    Transition,
    Capability,
    Billing,
    Account,
    Notification,
    Formula,
    Invariant,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interpretation {
    pub id: Id,
    pub section: Text,
    pub anchor: Text,
    pub question: Text,
    /// Which reading the reference model takes.
    pub chosen: Id,
    pub rationale: Text,
    /// The readings a correct implementation may take, in words.
    pub window: Text,
    pub readings: Vec<Reading>,
    /// The rules whose meaning this settles.
    pub rules: Vec<Id>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    pub id: Id,
    pub meaning: Text,
    /// Parameter values that make the model take this reading (empty for
    /// the chosen reading, whose values are the parameters' own).
    #[serde(default)]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub param: Id,
    pub value: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invariant {
    pub id: Id,
    pub statement: Text,
    /// Lifecycle ids whose resources the invariant is about (absent for
    /// account-level invariants).
    #[serde(default)]
    pub subjects: Vec<Id>,
    /// The rules the invariant checks.
    pub checks: Vec<Id>,
    // Exactly one of the patterns below.
    #[serde(default)]
    pub absence: Option<Spanned<Absence>>,
    #[serde(default)]
    pub universality: Option<Spanned<Universality>>,
    #[serde(default)]
    pub existence: Option<Spanned<Existence>>,
    #[serde(default)]
    pub response: Option<Spanned<Response>>,
    #[serde(default)]
    pub precedence: Option<Spanned<Precedence>>,
    #[serde(default)]
    pub structural: Option<Spanned<Structural>>,
}

/// `never` holds at no instant of the scope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absence {
    pub never: Spanned<Predicate>,
    #[serde(default, rename = "while")]
    pub scope: Option<Spanned<Predicate>>,
}

/// `always` holds at every instant of the scope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Universality {
    pub always: Spanned<Predicate>,
    #[serde(default, rename = "while")]
    pub scope: Option<Spanned<Predicate>>,
}

/// Once `after` happens, `eventually` holds at some instant before
/// `within` has passed, unless `unless` happens first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Existence {
    pub after: Spanned<EventPredicate>,
    pub eventually: Spanned<Predicate>,
    #[serde(default)]
    pub within: Option<Text>,
    #[serde(default)]
    pub unless: Vec<Spanned<EventPredicate>>,
}

/// Every `trigger` at which `given` held is followed by `expect` holding
/// from `within` on, unless `unless` happens first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub trigger: Spanned<EventPredicate>,
    #[serde(default)]
    pub given: Option<Spanned<Predicate>>,
    pub expect: Spanned<Predicate>,
    #[serde(default)]
    pub within: Option<Text>,
    #[serde(default)]
    pub unless: Vec<Spanned<EventPredicate>>,
}

/// `effect` never happens unless `cause` happened before it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Precedence {
    pub effect: Spanned<EventPredicate>,
    pub cause: Spanned<EventPredicate>,
}

/// A check over the whole trace that the other patterns cannot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Structural {
    /// Deduction attempts happen only at the billing offsets.
    DeductionSchedule,
    /// Transitions follow the lifecycle's edges, terminal states stay
    /// terminal, observations agree with the transition log.
    LifecycleConformance,
    /// One account's history never changes another account's resources.
    AccountIsolation,
    /// Every refund equals its formula and lies within [0, cash paid].
    RefundFormula,
}

/// A condition on one resource at one instant.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Predicate {
    State(Vec<Id>),
    /// The resource entered one of these states at this very instant (true
    /// only at the instant of the transition).
    Entered(Vec<Id>),
    Serving(Serving),
    Data(Data),
    Billing(BillingStatus),
    Operation {
        id: Id,
        allowed: bool,
    },
    Overdue(bool),
    AccountOverdue(bool),
    /// Time since an anchor is at least / less than a duration expression.
    Elapsed {
        since: Spanned<Anchor>,
        #[serde(default)]
        at_least: Option<Text>,
        #[serde(default)]
        less_than: Option<Text>,
    },
    /// Holds of the parent resource.
    Parent(Box<Spanned<Predicate>>),
    /// Some event matching has happened to the resource before now.
    Happened(Box<Spanned<EventPredicate>>),
    Not(Box<Spanned<Predicate>>),
    All(Vec<Spanned<Predicate>>),
    Any(Vec<Spanned<Predicate>>),
    /// A `flag` or `choice` parameter has this value under the reading the
    /// invariant is read with (for invariants a reading changes).
    Param {
        id: Id,
        equals: Text,
    },
}

/// A kind of event in a trace or a history, about one resource.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EventPredicate {
    Deduction(Spanned<DeductionOutcome>),
    Transition {
        #[serde(default)]
        from: Vec<Id>,
        #[serde(default)]
        to: Vec<Id>,
    },
    Notification(Id),
    Denial(Id),
    /// A refund; `positive: true` only refunds of more than zero.
    Refund {
        #[serde(default)]
        positive: Option<bool>,
    },
    /// The resource's last overdue bill was settled.
    Settled,
    /// The resource became overdue.
    BecameOverdue,
    /// The user asked for this operation on the resource (history event).
    Operation(Id),
    /// The same event on the parent resource.
    Parent(Box<Spanned<EventPredicate>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeductionOutcome {
    Paid,
    Failed,
    Overdrawn,
}
