//! Building a counterexample: the check a shrunk history fails, the rules
//! it cites with their sources, and what was seen.

use std::collections::BTreeSet;

use super::report::{Counterexample, DIFFERENTIAL, RuleCitation};
use super::shrink::Found;
use crate::generate::Scenario;
use crate::spec::{Catalog, InvariantId};

/// The name a failed check goes by: its invariant's id, or the comparison.
pub(super) fn check_name(judge: &Catalog, which: Option<InvariantId>) -> String {
    which
        .map(|id| judge.invariants[id.index()].id.clone())
        .unwrap_or_else(|| DIFFERENTIAL.to_string())
}

pub(super) fn citations(
    judge: &Catalog,
    ids: impl IntoIterator<Item = String>,
) -> Vec<RuleCitation> {
    let mut seen = BTreeSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .filter_map(|id| judge.rule_named(&id))
        .map(|r| {
            let rule = judge.rule(r);
            RuleCitation {
                rule: rule.id.clone(),
                section: rule.section.clone(),
                anchor: rule.anchor.clone(),
                statement: rule.statement.clone(),
            }
        })
        .collect()
}

pub(super) fn counterexample(
    judge: &Catalog,
    which: Option<InvariantId>,
    scenario: Scenario,
    found: Found,
    steps: u32,
    regression: Option<String>,
) -> Counterexample {
    let (violation, divergence) = found;
    let rules: Vec<String> = match (which, &divergence) {
        (Some(id), _) => judge.invariants[id.index()]
            .checks
            .iter()
            .map(|r| judge.rule(*r).id.clone())
            .collect(),
        (None, Some(d)) => d.rules.clone(),
        (None, None) => Vec::new(),
    };
    Counterexample {
        check: check_name(judge, which),
        rules: citations(judge, rules),
        violation,
        divergence,
        events: scenario.history.events.len(),
        history: scenario.history,
        observe: scenario.observe,
        shrink_steps: steps,
        regression,
    }
}
