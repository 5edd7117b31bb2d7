//! Rule coverage: which rules, transitions and invariant scopes a run of
//! generated histories actually exercised.
//!
//! proptest has no event statistics (Hypothesis' `event()`), so the suite
//! labels each case itself: every rule a trace event cites, every state a
//! resource was observed in (with the rules that give that state its
//! capabilities), every transition taken, every invariant whose scope or
//! trigger held. A rule the specs mark as enforced that no case exercised
//! means the generators cannot reach it, which is a hole in the suite.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::check::Evaluation;
use crate::observation::{Observation, ResourceObservation, TraceEvent};
use crate::spec::{Catalog, DocId, Enforcement, LifecycleId, RuleId};

/// What one case exercised, by index into the judge's catalog: labelling
/// runs for every case, so it copies no names; they are looked up once,
/// when a run's counts become its [`Coverage`] ([`Tally::add_to`]).
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// Each once, in order.
    pub rules: Vec<RuleId>,
    /// (lifecycle, index of the transition in it), each once, in order.
    pub transitions: Vec<(LifecycleId, usize)>,
    /// `lifecycle/transition` of transitions the catalog does not have (an
    /// implementation's own names).
    pub unknown_transitions: BTreeSet<String>,
    /// Invariant indexes, each once.
    pub invariants: Vec<usize>,
}

/// How often each label was seen across a run.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
#[non_exhaustive]
pub struct Coverage {
    /// Cases labelled.
    pub cases: usize,
    /// Rule id → cases that exercised it.
    pub rules: BTreeMap<String, usize>,
    /// `lifecycle/transition` → cases in which it fired.
    pub transitions: BTreeMap<String, usize>,
    /// Invariant id → cases in which its scope or trigger held.
    pub invariants: BTreeMap<String, usize>,
}

/// Labels cases against one catalog; what does not depend on the case
/// (which rules billing enforces) is worked out once.
pub struct Labeller<'c> {
    catalog: &'c Catalog,
    /// (document, rule): the rule is exercised when that document's billing
    /// deducts.
    billing: Vec<(DocId, RuleId)>,
    /// Rules exercised when anything is deducted.
    ledger: Vec<RuleId>,
}

impl<'c> Labeller<'c> {
    pub fn new(catalog: &'c Catalog) -> Labeller<'c> {
        let mut billing = Vec::new();
        let mut ledger = Vec::new();
        for rule in &catalog.rules {
            let Some(r) = catalog.rule_named(&rule.id) else {
                continue;
            };
            for e in &rule.enforcements {
                match e {
                    Enforcement::Billing(doc) => billing.push((*doc, r)),
                    Enforcement::Ledger => ledger.push(r),
                    _ => {}
                }
            }
        }
        Labeller {
            catalog,
            billing,
            ledger,
        }
    }

    /// Labels one case: the events a history caused, the observations taken
    /// of it, and its invariant verdicts.
    pub fn label(
        &self,
        events: &[TraceEvent],
        observations: &[Observation],
        evaluations: &[Evaluation],
    ) -> Labels {
        let catalog = self.catalog;
        let mut labels = Labels::default();
        self.label_events(events, &mut labels);
        self.label_states(observations, &mut labels);
        for e in evaluations.iter().filter(|e| e.exercised) {
            labels.invariants.push(e.invariant.index());
            labels.rules.extend(
                catalog.invariants[e.invariant.index()]
                    .checks
                    .iter()
                    .copied(),
            );
        }
        labels.rules.sort_unstable();
        labels.rules.dedup();
        labels.transitions.sort_unstable();
        labels.transitions.dedup();
        labels.invariants.sort_unstable();
        labels.invariants.dedup();
        labels
    }

    /// The rules the events cite and the transitions they fire; a
    /// deduction also exercises its product's billing rules and the
    /// ledger's.
    fn label_events(&self, events: &[TraceEvent], labels: &mut Labels) {
        let catalog = self.catalog;
        let mut docs_billed: Vec<DocId> = Vec::new();
        for e in events {
            if let Some(rule) = e.rule()
                && let Some(r) = catalog.rule_named(rule)
            {
                labels.rules.push(r);
            }
            match e {
                TraceEvent::Transition {
                    lifecycle,
                    transition,
                    ..
                } => match transition_named(catalog, lifecycle, transition) {
                    Some(t) => labels.transitions.push(t),
                    None => {
                        labels
                            .unknown_transitions
                            .insert(format!("{lifecycle}/{transition}"));
                    }
                },
                TraceEvent::Deduction { rule, .. } => {
                    // Every rule the product's billing section cites governs
                    // the deduction, not only the first.
                    if let Some(doc) = catalog.rule_named(rule).map(|r| catalog.rule(r).doc)
                        && !docs_billed.contains(&doc)
                    {
                        docs_billed.push(doc);
                    }
                }
                _ => {}
            }
        }
        for (doc, r) in &self.billing {
            if docs_billed.contains(doc) {
                labels.rules.push(*r);
            }
        }
        if !docs_billed.is_empty() {
            labels.rules.extend(&self.ledger);
        }
    }

    /// The rules of the states observed: their capabilities' rules.
    fn label_states(&self, observations: &[Observation], labels: &mut Labels) {
        let catalog = self.catalog;
        // A resource is mostly in the same state from one observation to
        // the next, so only a change of state is collected, then each
        // (lifecycle, state) is looked up once.
        let mut seen_states: Vec<(&str, &str)> = Vec::new();
        let mut previous: &[Arc<ResourceObservation>] = &[];
        for o in observations {
            for (i, r) in o.resources.iter().enumerate() {
                let state = (&*r.lifecycle, &*r.state);
                if previous
                    .get(i)
                    .is_none_or(|p| (&*p.lifecycle, &*p.state) != state)
                {
                    seen_states.push(state);
                }
            }
            previous = &o.resources;
        }
        seen_states.sort_unstable();
        seen_states.dedup();
        for (lifecycle, state) in seen_states {
            let Some(lid) = catalog.lifecycle_named(lifecycle) else {
                continue;
            };
            let lc = catalog.lifecycle(lid);
            let Some(sid) = lc.state_named(state) else {
                continue;
            };
            let st = lc.state(sid);
            labels.rules.extend(st.rules.iter().copied());
            labels.rules.extend(st.operations.iter().map(|c| c.rule));
        }
    }
}

/// The catalog's transition `transition` of lifecycle `lifecycle`.
fn transition_named(
    catalog: &Catalog,
    lifecycle: &str,
    transition: &str,
) -> Option<(LifecycleId, usize)> {
    let lid = catalog.lifecycle_named(lifecycle)?;
    let t = catalog
        .lifecycle(lid)
        .transitions
        .iter()
        .position(|t| t.id == transition)?;
    Some((lid, t))
}

/// Labels counted by catalog index over a run's cases.
pub struct Tally {
    cases: usize,
    rules: Vec<usize>,
    /// Per lifecycle, per transition.
    transitions: Vec<Vec<usize>>,
    unknown_transitions: BTreeMap<String, usize>,
    invariants: Vec<usize>,
}

impl Tally {
    pub fn new(catalog: &Catalog) -> Tally {
        Tally {
            cases: 0,
            rules: vec![0; catalog.rules.len()],
            transitions: catalog
                .lifecycles
                .iter()
                .map(|l| vec![0; l.transitions.len()])
                .collect(),
            unknown_transitions: BTreeMap::new(),
            invariants: vec![0; catalog.invariants.len()],
        }
    }

    pub fn add(&mut self, labels: &Labels) {
        self.cases += 1;
        for r in &labels.rules {
            self.rules[r.index()] += 1;
        }
        for (l, t) in &labels.transitions {
            self.transitions[l.index()][*t] += 1;
        }
        for t in &labels.unknown_transitions {
            *self.unknown_transitions.entry(t.clone()).or_insert(0) += 1;
        }
        for i in &labels.invariants {
            self.invariants[*i] += 1;
        }
    }

    /// Adds the counts to `coverage`, under the catalog's names.
    pub fn add_to(self, catalog: &Catalog, coverage: &mut Coverage) {
        coverage.cases += self.cases;
        let counted = |counts: Vec<usize>| {
            counts
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .collect::<Vec<_>>()
        };
        for (r, n) in counted(self.rules) {
            *coverage
                .rules
                .entry(catalog.rules[r].id.clone())
                .or_insert(0) += n;
        }
        for (l, counts) in self.transitions.into_iter().enumerate() {
            let lc = &catalog.lifecycles[l];
            for (t, n) in counted(counts) {
                *coverage
                    .transitions
                    .entry(format!("{}/{}", lc.id, lc.transitions[t].id))
                    .or_insert(0) += n;
            }
        }
        for (t, n) in self.unknown_transitions {
            *coverage.transitions.entry(t).or_insert(0) += n;
        }
        for (i, n) in counted(self.invariants) {
            *coverage
                .invariants
                .entry(catalog.invariants[i].id.clone())
                .or_insert(0) += n;
        }
    }
}

impl Coverage {
    /// Rules the specs enforce (not marked not-modelled) of these products
    /// that no case exercised.
    pub fn unexercised_rules<'c>(
        &self,
        catalog: &'c Catalog,
        products: &[crate::spec::DocId],
    ) -> Vec<&'c str> {
        catalog
            .rules
            .iter()
            .filter(|r| r.not_modelled.is_none() && products.contains(&r.doc))
            .filter(|r| !self.rules.contains_key(&r.id))
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Transitions of these products' lifecycles that never fired.
    pub fn unfired_transitions(
        &self,
        catalog: &Catalog,
        products: &[crate::spec::DocId],
    ) -> Vec<String> {
        catalog
            .lifecycles
            .iter()
            .filter(|l| products.contains(&l.doc))
            .flat_map(|l| {
                l.transitions
                    .iter()
                    .map(move |t| format!("{}/{}", l.id, t.id))
            })
            .filter(|t| !self.transitions.contains_key(t))
            .collect()
    }
}
