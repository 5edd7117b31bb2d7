//! The shape of one spec file exactly as written in YAML.
//!
//! These types only describe syntax: every identifier is still a string
//! carrying the line and column where it was written, so that
//! [`super::compile()`] can report a dangling reference at its place. Nothing
//! outside the spec loader sees these types; the engine works on the
//! compiled [`super::Catalog`].
//!
//! The format is documented for spec authors in `docs/spec-format.md`;
//! keep the two in step. The same types give the spec's JSON Schema
//! (`arrears schema spec`, for editors): a spanned field is described by
//! the type it holds (`#[schemars(with = ...)]`), and the doc comments
//! become the descriptions an editor shows.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::yaml::Spanned;

/// An identifier or reference, with its position.
pub type Id = Spanned<String>;

/// A text field, with its position.
pub type Text = Spanned<String>;

/// The schema of a text field where a value is written (a parameter's
/// value, a formula): the YAML reader takes any plain scalar as text, so
/// `value: 15` and `value: true` are as good as `value: "15"`, and an
/// editor must not flag them.
struct Scalar;

impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "number", "boolean"]})
    }
}

/// One spec file: a policy document encoded as data (docs/spec-format.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "arrears spec file")]
pub struct SpecFile {
    /// Which source document the file encodes.
    pub document: Document,
    /// Every number and choice the document gives (or an interpretation
    /// chose), with its unit and where it is said.
    pub parameters: Vec<Parameter>,
    /// The operations of the product a history may ask for.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Account-wide settlement choices: in exactly one file of a set.
    #[serde(default)]
    pub ledger: Option<Ledger>,
    /// How the product's pay-as-you-go bills are deducted.
    #[serde(default)]
    pub billing: Option<Billing>,
    /// What an overdue account does to the product's operations.
    #[serde(default)]
    pub account: Option<AccountPolicy>,
    /// The notifications the product sends.
    #[serde(default)]
    pub notifications: Vec<Notification>,
    /// Refund formulas.
    #[serde(default)]
    pub formulas: Vec<Formula>,
    /// The lifecycles of the product's resources: what the model executes.
    #[serde(default)]
    pub lifecycles: Vec<Lifecycle>,
    /// Every checkable sentence of the document.
    pub rules: Vec<Rule>,
    /// Where the text is ambiguous: the readings, and which one the model
    /// takes.
    #[serde(default)]
    pub interpretations: Vec<Interpretation>,
    /// Documented consequences, checked on any trace.
    #[serde(default)]
    pub invariants: Vec<Invariant>,
}

/// The source document a spec file encodes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Short id; every id in the file starts with `<id>.`.
    #[schemars(with = "String")]
    pub id: Id,
    /// The document's title.
    #[schemars(with = "String")]
    pub title: Text,
    /// The product's full name as the document writes it.
    #[schemars(with = "String")]
    pub product: Text,
    /// The document's "Last Updated" date (YYYY-MM-DD), where it gives one.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub last_updated: Option<Text>,
    /// File name of the source document in the shared sources.
    #[schemars(with = "String")]
    pub source: Text,
    /// The section headings of the source that rules may cite, as written
    /// there; `(opening)` names the text before the first heading.
    #[schemars(with = "Vec<String>")]
    pub sections: Vec<Text>,
}

/// A number or choice of the document, with its unit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The parameter's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// The value as written; its meaning depends on `unit`.
    #[schemars(with = "Scalar")]
    pub value: Text,
    /// What the value counts: a duration unit, `count`, `flag` (true or
    /// false) or `choice` (one of `options`).
    #[schemars(with = "Unit")]
    pub unit: Spanned<Unit>,
    /// The allowed values, for `unit: choice`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub options: Vec<Id>,
    /// What the value means, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Where the document gives the number (absent for values an
    /// interpretation chose).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub section: Option<Text>,
    /// The words of the document that give the number, verbatim.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub anchor: Option<Text>,
    /// The interpretation that chose this value, when the document gives none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub interpretation: Option<Id>,
}

/// The unit of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// A duration in whole days.
    Days,
    /// A duration in whole hours.
    Hours,
    /// A duration in whole minutes.
    Minutes,
    /// A duration in whole seconds.
    Seconds,
    /// A whole number.
    Count,
    /// `true` or `false`.
    Flag,
    /// One of the parameter's `options`.
    Choice,
}

/// An operation of the product a history may ask for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The operation's id, local to the file (`renew`, `create-snapshot`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What the operation does, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Whether performing it costs money (purchase, renew, upgrade...).
    #[serde(default)]
    pub fee_incurring: bool,
}

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

/// The lifecycle of one kind of resource under one billing method.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// The lifecycle's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What resources follow it, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// The kind of resource (`instance`, `disk`): a history's resource
    /// follows the lifecycle of its product with its kind, billing method
    /// and parent.
    #[schemars(with = "String")]
    pub kind: Id,
    /// How resources of this lifecycle are billed.
    #[schemars(with = "BillingMethod")]
    pub billing: Spanned<BillingMethod>,
    /// The lifecycle of the resource this one is attached to, if any.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub parent: Option<Id>,
    /// The state a resource starts in.
    #[schemars(with = "String")]
    pub initial: Id,
    /// The states, each with its capabilities.
    pub states: Vec<State>,
    /// The transitions between states; the first in file order whose
    /// trigger arrives and whose guards hold fires.
    pub transitions: Vec<Transition>,
}

/// How a resource is billed.
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
    /// Paid in advance for a term.
    Subscription,
    /// Billed for usage after the fact.
    PayAsYouGo,
    /// A subscription with pay-as-you-go usage on top.
    Hybrid,
    /// Not billed on its own (a snapshot, a job inside a workspace).
    NotBilled,
}

/// A state of a lifecycle, with what a resource in it can do.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The state's id, local to the lifecycle (`running`, `stopped`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What the state is, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Whether the resource serves in this state.
    #[schemars(with = "Serving")]
    pub serving: Spanned<Serving>,
    /// Whether the resource's data is kept in this state.
    #[schemars(with = "Data")]
    pub data: Spanned<Data>,
    /// Whether the resource is billed in this state.
    #[schemars(with = "BillingStatus")]
    pub billing: Spanned<BillingStatus>,
    /// The billing method the resource is billed under in this state, where
    /// it is not its lifecycle's own (a converted hybrid Flink workspace is
    /// billed as a subscription).
    #[serde(default)]
    #[schemars(with = "Option<BillingMethod>")]
    pub billing_method: Option<Spanned<BillingMethod>>,
    /// Operations allowed or refused in this state, each with its rule.
    #[serde(default)]
    pub operations: Vec<OperationCapability>,
    /// No transition leaves it; every operation is refused.
    #[serde(default)]
    pub terminal: bool,
    /// The documents decide nothing of the resource from its entry into
    /// this state (the disks of an instance released by hand): nothing of
    /// it is compared from then on.
    #[serde(default)]
    pub undecided: bool,
    /// The rules that give this state its capabilities.
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Id>,
}

/// Whether a resource serves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Serving {
    Yes,
    No,
    /// The documents do not say.
    Unspecified,
}

/// Whether a resource's data is kept.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Data {
    Retained,
    Deleted,
    /// The documents do not say.
    Unspecified,
}

/// Whether a resource is billed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BillingStatus {
    Running,
    Ceased,
    /// The documents do not say.
    Unspecified,
}

/// Whether an operation is allowed in a state.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationCapability {
    /// An operation of the file's `operations`.
    #[schemars(with = "String")]
    pub id: Id,
    /// Whether it is allowed in the state.
    pub allowed: bool,
    /// The rule that says so.
    #[schemars(with = "String")]
    pub rule: Id,
    /// The error a refused operation answers with, as the document names
    /// it; it must appear in the rule's anchor.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub error_code: Option<Text>,
}

/// A transition of a lifecycle.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The transition's id, local to the lifecycle.
    #[schemars(with = "String")]
    pub id: Id,
    /// The states it leaves.
    #[schemars(with = "Vec<String>")]
    pub from: Vec<Id>,
    /// The state it enters.
    #[schemars(with = "String")]
    pub to: Id,
    /// What makes it fire.
    #[schemars(with = "Trigger")]
    pub on: Spanned<Trigger>,
    /// Guards that must all hold for it to fire.
    #[serde(default)]
    #[schemars(with = "Vec<Guard>")]
    pub when: Vec<Spanned<Guard>>,
    /// What it does besides changing the state.
    #[serde(default)]
    #[schemars(with = "Vec<Effect>")]
    pub effects: Vec<Spanned<Effect>>,
    /// For an `after` trigger whose instant the document leaves to the
    /// system: how long after the same anchor the transition may come at
    /// the earliest (the model takes it at the latest, the `after`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub open_from: Option<Text>,
    /// The rule the transition enforces.
    #[schemars(with = "String")]
    pub rule: Id,
}

/// What makes a transition fire.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Something the ledger or the account reports about this resource.
    Signal(#[schemars(with = "Signal")] Spanned<Signal>),
    /// A user operation on this resource that was allowed.
    Operation(#[schemars(with = "String")] Id),
    /// A duration elapsed since an anchor instant.
    After {
        /// A duration: parameter ids and literals (`1s`) joined by `+`.
        #[schemars(with = "String")]
        duration: Text,
        /// The instant it counts from.
        #[schemars(with = "Anchor")]
        since: Spanned<Anchor>,
    },
    /// The anchor instant itself is reached.
    At(#[schemars(with = "Anchor")] Spanned<Anchor>),
    /// The parent resource entered one of these states.
    ParentEntered(#[schemars(with = "Vec<String>")] Vec<Id>),
}

/// Something the ledger or the account reports about a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, JsonSchema)]
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

/// An instant a duration counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, JsonSchema)]
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

/// A condition a transition needs to fire.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Guard {
    /// The account has (true) or has not (false) an overdue bill.
    AccountOverdue(bool),
    /// The resource has (true) or has not (false) an overdue bill.
    Overdue(bool),
    /// The subscription has (true) or has not (false) expired.
    Expired(bool),
    /// Less than `duration` has passed since the anchor.
    Within {
        /// A duration: parameter ids and literals (`1s`) joined by `+`.
        #[schemars(with = "String")]
        duration: Text,
        /// The instant it counts from.
        #[schemars(with = "Anchor")]
        since: Spanned<Anchor>,
    },
    /// The parent resource is in one of these states.
    ParentState(#[schemars(with = "Vec<String>")] Vec<Id>),
    /// The parent entered its current state by a transition under one of
    /// these rules (its release for an overdue payment, not by hand).
    ParentEnteredUnder(#[schemars(with = "Vec<String>")] Vec<Id>),
    /// A `flag` or `choice` parameter has this value (how readings switch
    /// transitions on and off).
    Param {
        /// The parameter.
        #[schemars(with = "String")]
        id: Id,
        /// The value, as the parameter's `value` is written.
        #[schemars(with = "Scalar")]
        equals: Text,
    },
}

/// What a transition does besides changing the state.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Refund by this formula.
    Refund(#[schemars(with = "String")] Id),
    /// Send this notification.
    Notify(#[schemars(with = "String")] Id),
}

/// A checkable sentence of the document.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// The heading of the section of the source the rule comes from.
    #[schemars(with = "String")]
    pub section: Text,
    /// A short phrase found verbatim in the source.
    #[schemars(with = "String")]
    pub anchor: Text,
    /// The rule in our own words.
    #[schemars(with = "String")]
    pub statement: Text,
    /// How binding the sentence is.
    #[schemars(with = "Level")]
    pub level: Spanned<Level>,
    /// What kind of spec element enforces the rule.
    #[serde(default)]
    #[schemars(with = "Vec<Enforcer>")]
    pub enforced_by: Vec<Spanned<Enforcer>>,
    /// Why the rule is not modelled, when it is not.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub not_modelled: Option<Text>,
}

/// How binding a rule is.
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
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Must,
    Should,
    Informational,
}

/// A kind of spec element that enforces a rule.
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
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcer {
    /// A lifecycle transition.
    Transition,
    /// A state's `rules` or an operation capability.
    Capability,
    /// A billing or ledger section.
    Billing,
    /// The account section.
    Account,
    Notification,
    Formula,
    Invariant,
}

/// An ambiguous passage of the document and its readings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interpretation {
    /// The interpretation's id (`<document>.interp.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// The section of the source the passage is in.
    #[schemars(with = "String")]
    pub section: Text,
    /// The ambiguous words, verbatim.
    #[schemars(with = "String")]
    pub anchor: Text,
    /// What the passage leaves open.
    #[schemars(with = "String")]
    pub question: Text,
    /// Which reading the reference model takes.
    #[schemars(with = "String")]
    pub chosen: Id,
    /// Why that reading.
    #[schemars(with = "String")]
    pub rationale: Text,
    /// The readings a correct implementation may take, in words.
    #[schemars(with = "String")]
    pub window: Text,
    /// The readings, the chosen one among them.
    pub readings: Vec<Reading>,
    /// The rules whose meaning this settles.
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Id>,
}

/// One reading of an ambiguous passage.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// The reading's id, local to the interpretation.
    #[schemars(with = "String")]
    pub id: Id,
    /// The reading, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Parameter values that make the model take this reading (empty for
    /// the chosen reading, whose values are the parameters' own).
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// A parameter value a reading sets.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The parameter.
    #[schemars(with = "String")]
    pub param: Id,
    /// Its value under the reading, written as the parameter's own.
    #[schemars(with = "Scalar")]
    pub value: Text,
}

/// A documented consequence, checked on any trace: exactly one of the
/// patterns `absence`, `universality`, `existence`, `response`,
/// `precedence`, `structural`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Invariant {
    /// The invariant's id (`<document>.inv.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What it says, in our own words.
    #[schemars(with = "String")]
    pub statement: Text,
    /// Lifecycle ids whose resources the invariant is about (absent for
    /// account-level invariants).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub subjects: Vec<Id>,
    /// The rules the invariant checks.
    #[schemars(with = "Vec<String>")]
    pub checks: Vec<Id>,
    // Exactly one of the patterns below.
    /// `never` holds at no instant of the scope.
    #[serde(default)]
    #[schemars(with = "Option<Absence>")]
    pub absence: Option<Spanned<Absence>>,
    /// `always` holds at every instant of the scope.
    #[serde(default)]
    #[schemars(with = "Option<Universality>")]
    pub universality: Option<Spanned<Universality>>,
    /// Once `after` happens, `eventually` holds within a duration.
    #[serde(default)]
    #[schemars(with = "Option<Existence>")]
    pub existence: Option<Spanned<Existence>>,
    /// Every `trigger` (where `given` held) is followed by `expect`.
    #[serde(default)]
    #[schemars(with = "Option<Response>")]
    pub response: Option<Spanned<Response>>,
    /// `effect` never happens before a `cause`.
    #[serde(default)]
    #[schemars(with = "Option<Precedence>")]
    pub precedence: Option<Spanned<Precedence>>,
    /// A check over the whole trace that the other patterns cannot state.
    #[serde(default)]
    #[schemars(with = "Option<Structural>")]
    pub structural: Option<Spanned<Structural>>,
}

/// `never` holds at no instant of the scope.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Absence {
    /// What must not hold.
    #[schemars(with = "Predicate")]
    pub never: Spanned<Predicate>,
    /// The scope: the instants where this holds (every instant when absent).
    #[serde(default, rename = "while")]
    #[schemars(with = "Option<Predicate>")]
    pub scope: Option<Spanned<Predicate>>,
}

/// `always` holds at every instant of the scope.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Universality {
    /// What must hold.
    #[schemars(with = "Predicate")]
    pub always: Spanned<Predicate>,
    /// The scope: the instants where this holds (every instant when absent).
    #[serde(default, rename = "while")]
    #[schemars(with = "Option<Predicate>")]
    pub scope: Option<Spanned<Predicate>>,
}

/// Once `after` happens, `eventually` holds at some instant before
/// `within` has passed, unless `unless` happens first.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Existence {
    /// The event that starts the wait.
    #[schemars(with = "EventPredicate")]
    pub after: Spanned<EventPredicate>,
    /// What must come to hold.
    #[schemars(with = "Predicate")]
    pub eventually: Spanned<Predicate>,
    /// How long it may take: a duration.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub within: Option<Text>,
    /// Events that release the obligation.
    #[serde(default)]
    #[schemars(with = "Vec<EventPredicate>")]
    pub unless: Vec<Spanned<EventPredicate>>,
}

/// Every `trigger` at which `given` held is followed by `expect` holding
/// from `within` on, unless `unless` happens first.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The event that calls for the response.
    #[schemars(with = "EventPredicate")]
    pub trigger: Spanned<EventPredicate>,
    /// What must hold at the trigger for it to count.
    #[serde(default)]
    #[schemars(with = "Option<Predicate>")]
    pub given: Option<Spanned<Predicate>>,
    /// The response.
    #[schemars(with = "Predicate")]
    pub expect: Spanned<Predicate>,
    /// How long after the trigger the response must hold (immediately when
    /// absent): a duration.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub within: Option<Text>,
    /// Events that release the obligation.
    #[serde(default)]
    #[schemars(with = "Vec<EventPredicate>")]
    pub unless: Vec<Spanned<EventPredicate>>,
}

/// `effect` never happens unless `cause` happened before it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Precedence {
    /// The later event.
    #[schemars(with = "EventPredicate")]
    pub effect: Spanned<EventPredicate>,
    /// The event that must come first.
    #[schemars(with = "EventPredicate")]
    pub cause: Spanned<EventPredicate>,
}

/// A check over the whole trace that the other patterns cannot state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, JsonSchema)]
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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Predicate {
    /// The resource is in one of these states.
    State(#[schemars(with = "Vec<String>")] Vec<Id>),
    /// The resource entered one of these states at this very instant (true
    /// only at the instant of the transition).
    Entered(#[schemars(with = "Vec<String>")] Vec<Id>),
    /// The resource's state serves (or not).
    Serving(Serving),
    /// The resource's state keeps its data (or not).
    Data(Data),
    /// The resource's state is billed (or not).
    Billing(BillingStatus),
    /// The operation is allowed (or refused).
    Operation {
        /// An operation of the file's `operations`.
        #[schemars(with = "String")]
        id: Id,
        /// Whether it is allowed.
        allowed: bool,
    },
    /// The resource has (true) or has not (false) an overdue bill.
    Overdue(bool),
    /// The account has (true) or has not (false) an overdue bill.
    AccountOverdue(bool),
    /// Time since an anchor is at least / less than a duration expression.
    Elapsed {
        /// The instant it counts from.
        #[schemars(with = "Anchor")]
        since: Spanned<Anchor>,
        /// At least this long has passed: a duration.
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        at_least: Option<Text>,
        /// Less than this has passed: a duration.
        #[serde(default)]
        #[schemars(with = "Option<String>")]
        less_than: Option<Text>,
    },
    /// Holds of the parent resource.
    Parent(#[schemars(with = "Box<Predicate>")] Box<Spanned<Predicate>>),
    /// Some event matching has happened to the resource before now.
    Happened(#[schemars(with = "Box<EventPredicate>")] Box<Spanned<EventPredicate>>),
    /// The predicate does not hold.
    Not(#[schemars(with = "Box<Predicate>")] Box<Spanned<Predicate>>),
    /// Every predicate holds.
    All(#[schemars(with = "Vec<Predicate>")] Vec<Spanned<Predicate>>),
    /// Some predicate holds.
    Any(#[schemars(with = "Vec<Predicate>")] Vec<Spanned<Predicate>>),
    /// A `flag` or `choice` parameter has this value under the reading the
    /// invariant is read with (for invariants a reading changes).
    Param {
        /// The parameter.
        #[schemars(with = "String")]
        id: Id,
        /// The value, as the parameter's `value` is written.
        #[schemars(with = "Scalar")]
        equals: Text,
    },
}

/// A kind of event in a trace or a history, about one resource.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EventPredicate {
    /// A deduction attempt with this outcome.
    Deduction(#[schemars(with = "DeductionOutcome")] Spanned<DeductionOutcome>),
    /// A transition between these states (any when a list is empty).
    Transition {
        /// The states it leaves (any when empty).
        #[serde(default)]
        #[schemars(with = "Vec<String>")]
        from: Vec<Id>,
        /// The states it enters (any when empty).
        #[serde(default)]
        #[schemars(with = "Vec<String>")]
        to: Vec<Id>,
    },
    /// This notification was sent.
    Notification(#[schemars(with = "String")] Id),
    /// This operation was refused.
    Denial(#[schemars(with = "String")] Id),
    /// A refund; `positive: true` only refunds of more than zero.
    Refund {
        /// Only refunds of more than zero (true).
        #[serde(default)]
        positive: Option<bool>,
    },
    /// The resource's last overdue bill was settled.
    Settled,
    /// The resource became overdue.
    BecameOverdue,
    /// The user asked for this operation on the resource (history event).
    Operation(#[schemars(with = "String")] Id),
    /// The same event on the parent resource.
    Parent(#[schemars(with = "Box<EventPredicate>")] Box<Spanned<EventPredicate>>),
}

/// The outcome of a deduction attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeductionOutcome {
    /// The bill was paid in full.
    Paid,
    /// The credit was short; the bill is overdue.
    Failed,
    /// The amount was taken; the cash balance went negative.
    Overdrawn,
}
