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

use serde::Serialize;

use crate::check::Evaluation;
use crate::observation::TraceEvent;
use crate::spec::{Catalog, Enforcement, RuleId};

/// What one case exercised.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub rules: BTreeSet<RuleId>,
    pub transitions: BTreeSet<String>,
    pub invariants: BTreeSet<usize>,
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

/// Labels one case: the events a history caused, the observations taken of
/// it, and its invariant verdicts.
pub fn label(
    catalog: &Catalog,
    events: &[TraceEvent],
    observations: &[crate::observation::Observation],
    evaluations: &[Evaluation],
) -> Labels {
    let mut labels = Labels::default();
    let cite = |id: &str, labels: &mut Labels| {
        if let Some(r) = catalog.rule_named(id) {
            labels.rules.insert(r);
        }
    };
    let mut docs_billed = BTreeSet::new();
    for e in events {
        if let Some(rule) = e.rule() {
            cite(rule, &mut labels);
        }
        match e {
            TraceEvent::Transition {
                lifecycle,
                transition,
                ..
            } => {
                labels
                    .transitions
                    .insert(format!("{lifecycle}/{transition}"));
            }
            TraceEvent::Deduction { rule, .. } => {
                // Every rule the product's billing section cites governs the
                // deduction, not only the first.
                if let Some(doc) = catalog.rule_named(rule).map(|r| catalog.rule(r).doc) {
                    docs_billed.insert(doc);
                }
            }
            _ => {}
        }
    }
    for rule in &catalog.rules {
        for e in &rule.enforcements {
            let hit = match e {
                Enforcement::Billing(doc) => docs_billed.contains(doc),
                Enforcement::Ledger => !docs_billed.is_empty(),
                _ => false,
            };
            if hit && let Some(r) = catalog.rule_named(&rule.id) {
                labels.rules.insert(r);
            }
        }
    }
    // States observed give their capabilities' rules.
    let mut seen_states = BTreeSet::new();
    for obs in observations {
        for r in &obs.resources {
            seen_states.insert((&*r.lifecycle, &*r.state));
        }
    }
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
    for e in evaluations.iter().filter(|e| e.exercised) {
        labels.invariants.insert(e.invariant.index());
        labels.rules.extend(
            catalog.invariants[e.invariant.index()]
                .checks
                .iter()
                .copied(),
        );
    }
    labels
}

impl Coverage {
    pub fn add(&mut self, catalog: &Catalog, labels: &Labels) {
        self.cases += 1;
        for r in &labels.rules {
            bump(&mut self.rules, &catalog.rule(*r).id);
        }
        for t in &labels.transitions {
            bump(&mut self.transitions, t);
        }
        for i in &labels.invariants {
            bump(&mut self.invariants, &catalog.invariants[*i].id);
        }
    }

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

/// Counts one more for `key`, copying it only the first time it is seen.
fn bump(counts: &mut BTreeMap<String, usize>, key: &str) {
    match counts.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}
