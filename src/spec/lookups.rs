//! The tables the model looks up at every step and observation, worked
//! out once per catalog on first use ([`Catalog::lookups`]).

use std::sync::Arc;

use super::{Catalog, DocId, Document, Guard, Lifecycle, OpId, StateId, Trigger};

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
    /// Per lifecycle and state, the timed (`after`) transitions from that
    /// state, in declaration order: planning and firing a timer look at
    /// these few instead of every transition of the lifecycle.
    pub(crate) timed_from: Vec<Vec<Vec<usize>>>,
    /// Per lifecycle and state, the transitions from that state that a
    /// signal or a parent's move triggers, in declaration order (the first
    /// one whose guards hold fires).
    pub(crate) stimulated_from: Vec<Vec<Vec<usize>>>,
    /// Ids the model's log repeats, by index: rules, operations,
    /// notifications, formulas, and per lifecycle its transitions.
    pub(crate) rules: Vec<std::sync::Arc<str>>,
    pub(crate) operations: Vec<std::sync::Arc<str>>,
    pub(crate) notifications: Vec<std::sync::Arc<str>>,
    pub(crate) formulas: Vec<std::sync::Arc<str>>,
    pub(crate) transitions: Vec<Vec<std::sync::Arc<str>>>,
    /// Per lifecycle and state, the operations whose verdict on a resource
    /// in that state depends on more than whether its account is overdue:
    /// those a transition from the state is triggered by, under a guard on
    /// something else that changes over a history (its own overdue bills,
    /// expiry, time, parent). Every other verdict follows from the state
    /// and the account's standing alone, so the model works it out once
    /// per run instead of at every observation; where the list is empty
    /// (most states), so do all of them.
    pub(crate) varying_verdicts: Vec<Vec<Vec<OpId>>>,
    /// The documents with fee-incurring operations, each with those
    /// operations in name order.
    pub(crate) fee: Vec<(DocId, Vec<OpId>)>,
}

impl Catalog {
    /// The tables the model looks up ([`CatalogLookups`]), made on first use.
    pub(crate) fn lookups(&self) -> &CatalogLookups {
        self.lookups.get_or_init(|| CatalogLookups {
            by_document: self
                .documents
                .iter()
                .map(|d| self.operations_of(d))
                .collect(),
            documents: self
                .documents
                .iter()
                .map(|d| Arc::from(d.id.as_str()))
                .collect(),
            lifecycles: self.lifecycles.iter().map(lifecycle_names).collect(),
            operation_triggers: self.lifecycles.iter().map(operation_triggers).collect(),
            timed_from: self
                .lifecycles
                .iter()
                .map(|l| transitions_from(l, |t| matches!(t, Trigger::After { .. })))
                .collect(),
            stimulated_from: self
                .lifecycles
                .iter()
                .map(|l| {
                    transitions_from(l, |t| {
                        matches!(t, Trigger::Signal(_) | Trigger::ParentEntered(_))
                    })
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
            varying_verdicts: self.lifecycles.iter().map(varying_verdicts).collect(),
            fee: self.fee_operations(),
        })
    }

    /// A document's operations in name order, and their names.
    fn operations_of(&self, d: &Document) -> (Vec<OpId>, SharedNames) {
        let mut ops: Vec<(OpId, Arc<str>)> = d
            .operations
            .keys()
            .map(|op| (*op, Arc::from(self.op_name(*op))))
            .collect();
        ops.sort_by(|a, b| a.1.cmp(&b.1));
        ops.dedup_by(|a, b| a.1 == b.1);
        let (ids, names): (Vec<OpId>, Vec<Arc<str>>) = ops.into_iter().unzip();
        (ids, Arc::from(names))
    }

    /// The documents with fee-incurring operations, each with those
    /// operations in name order.
    fn fee_operations(&self) -> Vec<(DocId, Vec<OpId>)> {
        self.documents
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
            .collect()
    }
}

/// A lifecycle's id and the ids of its states.
fn lifecycle_names(l: &Lifecycle) -> (Arc<str>, Vec<Arc<str>>) {
    let states = l.states.iter().map(|s| Arc::from(s.id.as_str())).collect();
    (Arc::from(l.id.as_str()), states)
}

/// Per state of a lifecycle, the indexes of the transitions from it whose
/// trigger is of the kind `kind` picks, in declaration order.
fn transitions_from(l: &Lifecycle, kind: impl Fn(&Trigger) -> bool) -> Vec<Vec<usize>> {
    (0..l.states.len())
        .map(|s| {
            l.transitions
                .iter()
                .enumerate()
                .filter(|(_, t)| t.from.contains(&StateId(s as u32)) && kind(&t.trigger))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// Per state of a lifecycle, the transitions an operation triggers from
/// it, as (operation, transition index) in that order.
fn operation_triggers(l: &Lifecycle) -> Vec<Vec<(OpId, usize)>> {
    transitions_from(l, |t| matches!(t, Trigger::Operation(_)))
        .into_iter()
        .map(|from_state| {
            let mut triggers: Vec<(OpId, usize)> = from_state
                .into_iter()
                .filter_map(|i| match l.transitions[i].trigger {
                    Trigger::Operation(op) => Some((op, i)),
                    _ => None,
                })
                .collect();
            triggers.sort();
            triggers
        })
        .collect()
}

/// Per state of a lifecycle, the operations whose verdicts depend on more
/// than the account's standing ([`CatalogLookups::varying_verdicts`]), in
/// id order, each once.
fn varying_verdicts(l: &Lifecycle) -> Vec<Vec<OpId>> {
    (0..l.states.len())
        .map(|s| {
            let mut ops: Vec<OpId> = l
                .transitions
                .iter()
                .filter(|t| t.from.contains(&StateId(s as u32)))
                .filter_map(|t| match t.trigger {
                    Trigger::Operation(op)
                        if t.guards.iter().any(|g| {
                            !matches!(g, Guard::AccountOverdue(_) | Guard::Param { .. })
                        }) =>
                    {
                        Some(op)
                    }
                    _ => None,
                })
                .collect();
            ops.sort_unstable();
            ops.dedup();
            ops
        })
        .collect()
}
