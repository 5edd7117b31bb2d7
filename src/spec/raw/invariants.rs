//! A spec file's invariants as written: the patterns and the predicates
//! over resources and events they are made of.

use schemars::JsonSchema;
use serde::Deserialize;

use super::lifecycles::{Anchor, BillingStatus, Data, Serving};
use super::{Id, Scalar, Spanned, Text};

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
