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
//!
//! This file holds the [`Catalog`] and how it is queried; the compiled
//! elements have a file each (`parameters.rs`, `policies.rs`,
//! `lifecycles.rs`, `rules.rs`, `invariants.rs`, re-exported here), and
//! `lookups.rs` the tables the model works out once per catalog.

pub mod compile;
pub mod diagnostic;
pub mod formula;
mod invariants;
mod lifecycles;
mod lookups;
mod parameters;
mod policies;
pub mod raw;
mod rules;
pub mod sources;

use std::collections::BTreeSet;

use chrono::TimeDelta;

pub use compile::compile;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use invariants::*;
pub use lifecycles::*;
pub(crate) use lookups::CatalogLookups;
pub use parameters::*;
pub use policies::*;
pub use raw::{
    Anchor, BillingMethod, BillingStatus, Data, DeductionOutcome, Enforcer, Level, OnInsufficient,
    Serving, Signal, Structural,
};
pub use rules::*;

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
    /// Every catalog-wide id and what it names, hashed: the labeller, the
    /// comparison and the checks look names up for every event of every
    /// case, where a search by string comparisons cost a few percent.
    ids: crate::idmap::IdMap<String, Item>,
    /// Worked out on first use ([`Catalog::lookups`]).
    lookups: std::sync::OnceLock<CatalogLookups>,
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

    /// Whether a payment settles every overdue bill or none (rather than
    /// whole bills oldest first until one does not fit).
    pub fn settles_all_or_none(&self) -> bool {
        self.ledger
            .settlement
            .is_some_and(|p| matches!(self.value(p), ParamValue::Choice(c) if c == "all-or-none"))
    }
}
