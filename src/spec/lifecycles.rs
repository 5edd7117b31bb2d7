//! Compiled lifecycles: states with their capabilities, and transitions
//! with their triggers, guards and effects, all by index.

use super::{
    Anchor, BillingMethod, BillingStatus, Data, DocId, DurationExpr, FormulaId, LifecycleId,
    NotificationId, OpId, ParamId, ParamValue, RuleId, Serving, Signal, StateId,
};

#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub id: String,
    pub doc: DocId,
    pub meaning: String,
    pub kind: String,
    pub billing: BillingMethod,
    pub parent: Option<LifecycleId>,
    pub initial: StateId,
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
}

impl Lifecycle {
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id.index()]
    }

    pub fn state_named(&self, name: &str) -> Option<StateId> {
        self.states
            .iter()
            .position(|s| s.id == name)
            .map(|i| StateId(i as u32))
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub id: String,
    pub meaning: String,
    pub serving: Serving,
    pub data: Data,
    pub billing: BillingStatus,
    /// The billing method in this state (the lifecycle's own unless the
    /// state says otherwise).
    pub billing_method: BillingMethod,
    pub operations: Vec<OperationCapability>,
    pub terminal: bool,
    /// Nothing of the resource is decided from its entry into this state,
    /// so nothing of it is compared from then on.
    pub undecided: bool,
    pub rules: Vec<RuleId>,
}

#[derive(Debug, Clone)]
pub struct OperationCapability {
    pub op: OpId,
    pub allowed: bool,
    pub rule: RuleId,
    /// The error the refusal answers with, where the document names one.
    pub error_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub id: String,
    pub from: Vec<StateId>,
    pub to: StateId,
    pub trigger: Trigger,
    pub guards: Vec<Guard>,
    pub effects: Vec<Effect>,
    /// Where the document leaves the instant to the system (an `after`
    /// trigger only): the earliest the transition may come, after the
    /// same anchor. The model takes it at the trigger's instant, the latest.
    pub open_from: Option<DurationExpr>,
    pub rule: RuleId,
}

#[derive(Debug, Clone)]
pub enum Trigger {
    Signal(Signal),
    Operation(OpId),
    /// `at: anchor` compiles to an `After` with a zero duration.
    After {
        duration: DurationExpr,
        since: Anchor,
    },
    /// States of the parent's lifecycle.
    ParentEntered(Vec<StateId>),
}

#[derive(Debug, Clone)]
pub enum Guard {
    AccountOverdue(bool),
    Overdue(bool),
    Expired(bool),
    Within {
        duration: DurationExpr,
        since: Anchor,
    },
    /// States of the parent's lifecycle.
    ParentState(Vec<StateId>),
    /// The parent entered its current state by a transition under one of
    /// these rules.
    ParentEnteredUnder(Vec<RuleId>),
    Param {
        param: ParamId,
        equals: ParamValue,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Effect {
    Refund(FormulaId),
    Notify(NotificationId),
}
