//! Compiled rules with what enforces them, and interpretations with their
//! readings.

use super::{
    DocId, Enforcer, FormulaId, InterpretationId, InvariantId, Level, LifecycleId, NotificationId,
    ParamId, ParamValue, RuleId, StateId,
};

/// What, in the specs, carries out a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Enforcement {
    Transition {
        lifecycle: LifecycleId,
        transition: usize,
    },
    Capability {
        lifecycle: LifecycleId,
        state: StateId,
    },
    Billing(DocId),
    Ledger,
    Account(DocId),
    Notification(NotificationId),
    Formula(FormulaId),
    Invariant(InvariantId),
}

impl Enforcement {
    pub fn kind(&self) -> Enforcer {
        match self {
            Enforcement::Transition { .. } => Enforcer::Transition,
            Enforcement::Capability { .. } => Enforcer::Capability,
            Enforcement::Billing(_) | Enforcement::Ledger => Enforcer::Billing,
            Enforcement::Account(_) => Enforcer::Account,
            Enforcement::Notification(_) => Enforcer::Notification,
            Enforcement::Formula(_) => Enforcer::Formula,
            Enforcement::Invariant(_) => Enforcer::Invariant,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub doc: DocId,
    pub section: String,
    pub anchor: String,
    pub statement: String,
    pub level: Level,
    /// The kinds of element the spec author declared.
    pub enforced_by: Vec<Enforcer>,
    pub not_modelled: Option<String>,
    /// The elements that actually cite the rule, found at compile time.
    pub enforcements: Vec<Enforcement>,
    /// Interpretations that settle an ambiguity of this rule.
    pub interpretations: Vec<InterpretationId>,
}

impl Rule {
    /// Whether the model carries out the rule (as opposed to only an
    /// invariant checking it, or not modelling it at all).
    pub fn is_executed(&self) -> bool {
        self.enforcements
            .iter()
            .any(|e| !matches!(e, Enforcement::Invariant(_)))
    }
}

#[derive(Debug, Clone)]
pub struct InterpretationDef {
    pub id: String,
    pub doc: DocId,
    pub section: String,
    pub anchor: String,
    pub question: String,
    pub chosen: String,
    pub rationale: String,
    pub window: String,
    pub readings: Vec<ReadingDef>,
    pub rules: Vec<RuleId>,
}

#[derive(Debug, Clone)]
pub struct ReadingDef {
    pub id: String,
    pub meaning: String,
    pub overrides: Vec<(ParamId, ParamValue)>,
}
