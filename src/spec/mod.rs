//! The specs: policy documents encoded as data, and everything that reads them.
//!
//! `specs/*.yaml` are parsed ([`raw`]), validated and resolved ([`compile()`])
//! into one [`Catalog`] that the reference model executes: every number,
//! state, transition and capability comes from here. The catalog's
//! references are indexes, checked once at load time, so the engine never
//! looks anything up by name and never meets a dangling reference.
//!
//! Architecture invariant: the catalog is immutable after compilation. A
//! different reading of an ambiguous sentence is a *different catalog*
//! ([`Catalog::with_reading`]), never a flag the engine consults.

pub mod compile;
pub mod diagnostic;
pub mod formula;
pub mod raw;
pub mod sources;

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use serde::Serialize;

pub use compile::compile;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use raw::{
    Anchor, BillingMethod, BillingStatus, Data, DeductionOutcome, Enforcer, Level, OnInsufficient,
    Serving, Signal, Structural,
};

/// The JSON Schema of spec files (for editors: see docs/spec-format.md).
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<raw::SpecFile>()
}

/// One spec file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct SpecSource {
    /// The file name (`ecs.yaml`) or path the text came from.
    pub name: String,
    pub text: String,
}

macro_rules! index_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize { self.0 as usize }
        }
    )*};
}

index_type!(
    DocId,
    ParamId,
    OpId,
    LifecycleId,
    StateId,
    RuleId,
    NotificationId,
    FormulaId,
    InvariantId,
    InterpretationId
);

/// Specs that could not be loaded: unreadable, or not a valid catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The spec directory or a file in it could not be read.
    #[error(transparent)]
    Read(#[from] sources::SourceError),
    /// The specs were read but do not compile; every problem found, each
    /// naming its file, line and column.
    #[error("failed to load the specs:\n{0}")]
    Invalid(Diagnostics),
}

impl Catalog {
    /// Reads and compiles the specs: the `*.yaml` files of `dir`, or the
    /// shipped specs embedded in the crate when `dir` is `None` (what
    /// `--specs DIR` chooses on the command line).
    pub fn load(dir: Option<&std::path::Path>) -> Result<Catalog, LoadError> {
        let sources = match dir {
            Some(dir) => sources::read_dir(dir)?,
            None => sources::embedded(),
        };
        compile(&sources).map_err(LoadError::Invalid)
    }
}

/// Everything the specs say, resolved and validated.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub documents: Vec<Document>,
    pub parameters: Vec<Parameter>,
    /// Operation names across all documents; an [`OpId`] indexes this.
    pub operation_names: Vec<String>,
    pub ledger: LedgerPolicy,
    pub notifications: Vec<NotificationDef>,
    pub formulas: Vec<FormulaDef>,
    pub lifecycles: Vec<Lifecycle>,
    pub rules: Vec<Rule>,
    pub interpretations: Vec<InterpretationDef>,
    pub invariants: Vec<InvariantDef>,
    /// The readings applied to this catalog, as (interpretation, reading).
    pub applied_readings: Vec<(InterpretationId, String)>,
    ids: BTreeMap<String, Item>,
    /// Worked out on first use ([`Catalog::lookups`]).
    lookups: std::sync::OnceLock<CatalogLookups>,
}

/// Names shared by every observation that lists them.
pub(crate) type SharedNames = std::sync::Arc<[std::sync::Arc<str>]>;

/// What the model looks up at every step and observation, worked out once
/// per catalog: shared names (an observation clones a pointer, not a
/// string), the operations each observation lists, and the transitions
/// each operation triggers.
#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogLookups {
    /// Per document, its operations in name order, and their names.
    pub(crate) by_document: Vec<(Vec<OpId>, SharedNames)>,
    /// Per document, its id.
    pub(crate) documents: Vec<std::sync::Arc<str>>,
    /// Per lifecycle, its id and the ids of its states.
    pub(crate) lifecycles: Vec<(std::sync::Arc<str>, Vec<std::sync::Arc<str>>)>,
    /// Per lifecycle and state, the transitions an operation triggers from
    /// that state, as (operation, transition index) in that order: deciding
    /// an operation looks up its few candidates instead of scanning every
    /// transition of the lifecycle.
    pub(crate) operation_triggers: Vec<Vec<Vec<(OpId, usize)>>>,
    /// Ids the model's log repeats, by index: rules, operations,
    /// notifications, formulas, and per lifecycle its transitions.
    pub(crate) rules: Vec<std::sync::Arc<str>>,
    pub(crate) operations: Vec<std::sync::Arc<str>>,
    pub(crate) notifications: Vec<std::sync::Arc<str>>,
    pub(crate) formulas: Vec<std::sync::Arc<str>>,
    pub(crate) transitions: Vec<Vec<std::sync::Arc<str>>>,
    /// Per lifecycle and state, whether the verdict on every operation of
    /// a resource in that state depends on nothing but whether its account
    /// is overdue: no transition an operation triggers from it has a guard
    /// on anything else that changes over a history (its own overdue
    /// bills, expiry, time, parent). The model then works out such a
    /// state's verdicts once per run instead of at every observation.
    pub(crate) verdicts_fixed: Vec<Vec<bool>>,
    /// The documents with fee-incurring operations, each with those
    /// operations in name order.
    pub(crate) fee: Vec<(DocId, Vec<OpId>)>,
}

/// What a catalog-wide id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Document(DocId),
    Parameter(ParamId),
    Notification(NotificationId),
    Formula(FormulaId),
    Lifecycle(LifecycleId),
    Rule(RuleId),
    Interpretation(InterpretationId),
    Invariant(InvariantId),
}

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

impl Catalog {
    /// The tables the model looks up ([`CatalogLookups`]), made on first use.
    pub(crate) fn lookups(&self) -> &CatalogLookups {
        self.lookups.get_or_init(|| CatalogLookups {
            by_document: self
                .documents
                .iter()
                .map(|d| {
                    let mut ops: Vec<(OpId, std::sync::Arc<str>)> = d
                        .operations
                        .keys()
                        .map(|op| (*op, std::sync::Arc::from(self.op_name(*op))))
                        .collect();
                    ops.sort_by(|a, b| a.1.cmp(&b.1));
                    ops.dedup_by(|a, b| a.1 == b.1);
                    let (ids, names): (Vec<OpId>, Vec<std::sync::Arc<str>>) =
                        ops.into_iter().unzip();
                    (ids, std::sync::Arc::from(names))
                })
                .collect(),
            documents: self
                .documents
                .iter()
                .map(|d| std::sync::Arc::from(d.id.as_str()))
                .collect(),
            lifecycles: self
                .lifecycles
                .iter()
                .map(|l| {
                    let states = l
                        .states
                        .iter()
                        .map(|s| std::sync::Arc::from(s.id.as_str()))
                        .collect();
                    (std::sync::Arc::from(l.id.as_str()), states)
                })
                .collect(),
            operation_triggers: self
                .lifecycles
                .iter()
                .map(|l| {
                    (0..l.states.len())
                        .map(|s| {
                            let mut triggers: Vec<(OpId, usize)> = l
                                .transitions
                                .iter()
                                .enumerate()
                                .filter(|(_, t)| t.from.contains(&StateId(s as u32)))
                                .filter_map(|(i, t)| match t.trigger {
                                    Trigger::Operation(op) => Some((op, i)),
                                    _ => None,
                                })
                                .collect();
                            triggers.sort();
                            triggers
                        })
                        .collect()
                })
                .collect(),
            rules: self.rules.iter().map(|r| r.id.as_str().into()).collect(),
            operations: self
                .operation_names
                .iter()
                .map(|o| o.as_str().into())
                .collect(),
            notifications: self
                .notifications
                .iter()
                .map(|n| n.id.as_str().into())
                .collect(),
            formulas: self.formulas.iter().map(|f| f.id.as_str().into()).collect(),
            transitions: self
                .lifecycles
                .iter()
                .map(|l| l.transitions.iter().map(|t| t.id.as_str().into()).collect())
                .collect(),
            verdicts_fixed: self
                .lifecycles
                .iter()
                .map(|l| {
                    (0..l.states.len())
                        .map(|s| {
                            l.transitions
                                .iter()
                                .filter(|t| t.from.contains(&StateId(s as u32)))
                                .filter(|t| matches!(t.trigger, Trigger::Operation(_)))
                                .flat_map(|t| &t.guards)
                                .all(|g| {
                                    matches!(g, Guard::AccountOverdue(_) | Guard::Param { .. })
                                })
                        })
                        .collect()
                })
                .collect(),
            fee: self
                .documents
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut ops: Vec<OpId> = d
                        .operations
                        .iter()
                        .filter(|(_, o)| o.fee_incurring)
                        .map(|(op, _)| *op)
                        .collect();
                    ops.sort_by_key(|op| self.op_name(*op));
                    (DocId(i as u32), ops)
                })
                .filter(|(_, ops)| !ops.is_empty())
                .collect(),
        })
    }

    /// Whether a payment settles every overdue bill or none (rather than
    /// whole bills oldest first until one does not fit).
    pub fn settles_all_or_none(&self) -> bool {
        self.ledger
            .settlement
            .is_some_and(|p| matches!(self.value(p), ParamValue::Choice(c) if c == "all-or-none"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Duration(#[serde(serialize_with = "crate::duration::serialize_text")] TimeDelta),
    Count(i64),
    Flag(bool),
    Choice(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Duration(d) => f.write_str(&crate::duration::format(*d)),
            ParamValue::Count(n) => write!(f, "{n}"),
            ParamValue::Flag(b) => write!(f, "{b}"),
            ParamValue::Choice(c) => f.write_str(c),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    pub id: String,
    #[serde(skip)]
    pub doc: DocId,
    pub value: ParamValue,
    pub unit: String,
    pub meaning: String,
    pub section: Option<String>,
    pub anchor: Option<String>,
    pub interpretation: Option<String>,
}

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

/// A sum of parameter durations and a literal part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationExpr {
    pub params: Vec<ParamId>,
    pub literal: TimeDelta,
}

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

impl Catalog {
    /// Looks up what a catalog-wide id names.
    pub fn item(&self, id: &str) -> Option<Item> {
        self.ids.get(id).copied()
    }

    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    pub fn rule_named(&self, id: &str) -> Option<RuleId> {
        match self.item(id) {
            Some(Item::Rule(r)) => Some(r),
            _ => None,
        }
    }

    pub fn lifecycle(&self, id: LifecycleId) -> &Lifecycle {
        &self.lifecycles[id.index()]
    }

    pub fn lifecycle_named(&self, id: &str) -> Option<LifecycleId> {
        match self.item(id) {
            Some(Item::Lifecycle(l)) => Some(l),
            _ => None,
        }
    }

    /// Whether `state` of lifecycle `lifecycle` (spec ids) is one in which
    /// the documents decide nothing of a resource (`undecided: true`).
    pub fn is_undecided(&self, lifecycle: &str, state: &str) -> bool {
        self.lifecycle_named(lifecycle)
            .map(|l| self.lifecycle(l))
            .and_then(|lc| lc.state_named(state).map(|s| lc.state(s).undecided))
            .unwrap_or(false)
    }

    pub fn document(&self, id: DocId) -> &Document {
        &self.documents[id.index()]
    }

    pub fn document_named(&self, id: &str) -> Option<DocId> {
        match self.item(id) {
            Some(Item::Document(d)) => Some(d),
            _ => None,
        }
    }

    pub fn parameter(&self, id: ParamId) -> &Parameter {
        &self.parameters[id.index()]
    }

    pub fn parameter_named(&self, id: &str) -> Option<ParamId> {
        match self.item(id) {
            Some(Item::Parameter(p)) => Some(p),
            _ => None,
        }
    }

    pub fn op_name(&self, op: OpId) -> &str {
        &self.operation_names[op.index()]
    }

    pub fn op_named(&self, name: &str) -> Option<OpId> {
        self.operation_names
            .iter()
            .position(|n| n == name)
            .map(|i| OpId(i as u32))
    }

    /// The duration a parameter holds (zero for a non-duration, which
    /// validation rules out wherever a duration is expected).
    pub fn duration_param(&self, id: ParamId) -> TimeDelta {
        match self.parameters[id.index()].value {
            ParamValue::Duration(d) => d,
            _ => TimeDelta::zero(),
        }
    }

    pub fn duration(&self, expr: &DurationExpr) -> TimeDelta {
        expr.params
            .iter()
            .fold(expr.literal, |acc, p| acc + self.duration_param(*p))
    }

    /// Whether this document's fee-incurring operations are refused while
    /// the account is overdue: by its own rule, or by the reading in force
    /// where it is silent.
    pub fn refuses_fee_operations_while_overdue(&self, doc: DocId) -> bool {
        let d = self.document(doc);
        d.deny_fee_operations_while_overdue.is_some()
            || d.refuse_fee_operations_flag.is_some_and(|p| self.flag(p))
    }

    /// The rules that decide whether `doc`'s fee-incurring operations are
    /// refused while the account is overdue: its own rule, or, where the
    /// document is silent and a reading decides, the rules of that
    /// reading's interpretation. Empty when nothing decides.
    pub fn fee_refusal_rules(&self, doc: DocId) -> Vec<RuleId> {
        let d = self.document(doc);
        if let Some(rule) = d.deny_fee_operations_while_overdue {
            return vec![rule];
        }
        d.refuse_fee_operations_flag
            .and_then(|p| self.parameter(p).interpretation.as_deref())
            .and_then(|i| self.interpretations.iter().find(|x| x.id == i))
            .map(|i| i.rules.clone())
            .unwrap_or_default()
    }

    /// The notifications whose instant the readings in force leave open:
    /// the comparison leaves them to the invariants.
    pub fn notifications_with_open_instant(&self) -> BTreeSet<String> {
        self.notifications
            .iter()
            .filter(|n| n.instant_open.is_some_and(|p| self.flag(p)))
            .map(|n| n.id.clone())
            .collect()
    }

    pub fn flag(&self, id: ParamId) -> bool {
        matches!(self.parameters[id.index()].value, ParamValue::Flag(true))
    }

    pub fn value(&self, id: ParamId) -> &ParamValue {
        &self.parameters[id.index()].value
    }

    /// The lifecycle a resource of this kind, billing method and parent
    /// lifecycle follows.
    pub fn find_lifecycle(
        &self,
        doc: DocId,
        kind: &str,
        billing: BillingMethod,
        parent: Option<LifecycleId>,
    ) -> Option<LifecycleId> {
        self.lifecycles
            .iter()
            .position(|l| {
                l.doc == doc && l.kind == kind && l.billing == billing && l.parent == parent
            })
            .map(|i| LifecycleId(i as u32))
    }

    /// This catalog with one interpretation read another way.
    pub fn with_reading(&self, interpretation: InterpretationId, reading: &str) -> Option<Catalog> {
        let interp = &self.interpretations[interpretation.index()];
        let reading = interp.readings.iter().find(|r| r.id == reading)?;
        let mut out = self.clone();
        for (param, value) in &reading.overrides {
            out.parameters[param.index()].value = value.clone();
        }
        out.applied_readings
            .push((interpretation, reading.id.clone()));
        Some(out)
    }

    /// The chosen reading first, then every alternative reading that changes
    /// a parameter, one at a time: the window of readings the checks accept.
    pub fn reading_variants(&self) -> Vec<Catalog> {
        let mut out = vec![self.clone()];
        for (i, interp) in self.interpretations.iter().enumerate() {
            for reading in &interp.readings {
                if reading.id != interp.chosen
                    && !reading.overrides.is_empty()
                    && let Some(c) = self.with_reading(InterpretationId(i as u32), &reading.id)
                {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Every value a parameter takes under some catalog of
    /// [`Catalog::reading_variants`], without building those catalogs:
    /// the chosen values, then each alternative reading's overrides.
    pub fn values_under_accepted_readings(&self) -> impl Iterator<Item = &ParamValue> {
        let chosen = self.parameters.iter().map(|p| &p.value);
        let alternatives = self.interpretations.iter().flat_map(|interp| {
            interp
                .readings
                .iter()
                .filter(move |r| r.id != interp.chosen)
                .flat_map(|r| r.overrides.iter().map(|(_, value)| value))
        });
        chosen.chain(alternatives)
    }

    /// A short label for the readings applied ("chosen readings" when none).
    pub fn readings_label(&self) -> String {
        if self.applied_readings.is_empty() {
            return "chosen readings".to_string();
        }
        self.applied_readings
            .iter()
            .map(|(i, r)| format!("{}={}", self.interpretations[i.index()].id, r))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
