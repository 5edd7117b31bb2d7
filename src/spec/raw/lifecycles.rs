//! A spec file's lifecycles as written: states with what a resource in
//! them can do, and transitions with their triggers, guards and effects.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Id, Scalar, Spanned, Text};

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
