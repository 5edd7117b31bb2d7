//! Compiled invariants: patterns over predicates on resources and events.

use super::{
    Anchor, BillingStatus, Data, DeductionOutcome, DocId, DurationExpr, LifecycleId,
    NotificationId, OpId, ParamId, ParamValue, RuleId, Serving, Structural,
};

#[derive(Debug, Clone)]
pub struct InvariantDef {
    pub id: String,
    pub doc: DocId,
    pub statement: String,
    pub subjects: Vec<LifecycleId>,
    pub checks: Vec<RuleId>,
    pub pattern: Pattern,
}

#[derive(Debug, Clone)]
pub enum Pattern {
    Absence {
        never: Predicate,
        scope: Option<Predicate>,
    },
    Universality {
        always: Predicate,
        scope: Option<Predicate>,
    },
    Existence {
        after: EventPredicate,
        eventually: Predicate,
        within: Option<DurationExpr>,
        unless: Vec<EventPredicate>,
    },
    Response {
        trigger: EventPredicate,
        given: Option<Predicate>,
        expect: Predicate,
        within: Option<DurationExpr>,
        unless: Vec<EventPredicate>,
    },
    Precedence {
        effect: EventPredicate,
        cause: EventPredicate,
    },
    Structural(Structural),
}

impl Pattern {
    pub fn name(&self) -> &'static str {
        match self {
            Pattern::Absence { .. } => "absence",
            Pattern::Universality { .. } => "universality",
            Pattern::Existence { .. } => "existence",
            Pattern::Response { .. } => "response",
            Pattern::Precedence { .. } => "precedence",
            Pattern::Structural(_) => "structural",
        }
    }
}

/// A condition on one resource at one instant. State and operation names
/// stay names: an invariant may span lifecycles that share a state name.
#[derive(Debug, Clone)]
pub enum Predicate {
    State(Vec<String>),
    Entered(Vec<String>),
    Serving(Serving),
    Data(Data),
    Billing(BillingStatus),
    Operation {
        op: OpId,
        allowed: bool,
    },
    Overdue(bool),
    AccountOverdue(bool),
    Elapsed {
        since: Anchor,
        at_least: Option<DurationExpr>,
        less_than: Option<DurationExpr>,
    },
    Parent(Box<Predicate>),
    Happened(Box<EventPredicate>),
    Not(Box<Predicate>),
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    /// The reading the invariant is read with gives this parameter this
    /// value.
    Param {
        param: ParamId,
        equals: ParamValue,
    },
}

#[derive(Debug, Clone)]
pub enum EventPredicate {
    Deduction(DeductionOutcome),
    Transition { from: Vec<String>, to: Vec<String> },
    Notification(NotificationId),
    Denial(OpId),
    Refund { positive: Option<bool> },
    Settled,
    BecameOverdue,
    Operation(OpId),
    Parent(Box<EventPredicate>),
}
