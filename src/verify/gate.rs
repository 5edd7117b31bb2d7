//! The coverage gate and the "nothing verified" verdict: what a run left
//! unexercised, whether that fails it, and whether it checked anything.

use std::collections::BTreeSet;

use super::case::Context;
use super::options::VerifyOptions;
use super::report::{CoverageGate, RegressionVerdict, VerifyReport};
use crate::spec::{Catalog, DocId, LifecycleId};

/// What the run left unexercised, and the coverage gate's verdict on it.
pub(super) fn coverage_verdict(
    ctx: &Context<'_>,
    options: &VerifyOptions,
    targets: &crate::directed::Targets,
    report: &mut VerifyReport,
) {
    let judge = ctx.judge;
    let in_force = &ctx.references[0];
    let product_list: Vec<DocId> = options
        .products
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let implemented = |l: LifecycleId| {
        options
            .implemented
            .as_ref()
            .is_none_or(|imp| imp.contains(&l))
    };
    report.unexercised_rules = unexercised_rules(judge, in_force, options, &product_list, report);
    report.unfired_transitions =
        unfired_transitions(judge, in_force, &product_list, &implemented, report);
    let under_exercised: Vec<(String, usize)> = report
        .invariants
        .iter()
        .filter(|s| s.skipped.is_none() && s.exercised < options.min_exercised)
        .map(|s| (s.invariant.clone(), s.exercised))
        .collect();
    let passed = report.unexercised_rules.is_empty()
        && report.unfired_transitions.is_empty()
        && under_exercised.is_empty();
    report.gate = Some(CoverageGate {
        min_exercised: options.min_exercised,
        transitions_allowed: transitions_allowed(judge, in_force, &product_list, &implemented),
        enforced: options.coverage_gate && options.shard.is_none(),
        unreached_by_generation: targets.unreached.clone(),
        under_exercised,
        passed,
    });
}

/// Enforced rules of the run's products no case exercised, leaving out
/// those the system cannot exercise: rules about lifecycles it does not
/// implement, and rules only another reading gives anything to show.
fn unexercised_rules(
    judge: &Catalog,
    in_force: &Catalog,
    options: &VerifyOptions,
    products: &[DocId],
    report: &VerifyReport,
) -> Vec<String> {
    report
        .coverage
        .unexercised_rules(judge, products)
        .into_iter()
        .filter(|r| {
            options.implemented.as_ref().is_none_or(|imp| {
                judge
                    .rule_named(r)
                    .is_some_and(|id| exercisable(judge, judge.rule(id), &|l| imp.contains(&l)))
            }) && live_under_readings(in_force, r)
        })
        .map(String::from)
        .collect()
}

/// Transitions of implemented lifecycles that can fire under the readings
/// in force and fired in no case.
fn unfired_transitions(
    judge: &Catalog,
    in_force: &Catalog,
    products: &[DocId],
    implemented: &dyn Fn(LifecycleId) -> bool,
    report: &VerifyReport,
) -> Vec<String> {
    report
        .coverage
        .unfired_transitions(judge, products)
        .into_iter()
        .filter(|t| {
            let Some((l, tr)) = t.split_once('/') else {
                return false;
            };
            let Some(l) = judge.lifecycle_named(l) else {
                return false;
            };
            let Some(tr) = judge
                .lifecycle(l)
                .transitions
                .iter()
                .position(|x| x.id == tr)
            else {
                return false;
            };
            implemented(l) && crate::directed::enabled(in_force, (l, tr))
        })
        .collect()
}

/// How many transitions of the implemented lifecycles of the run's
/// products the readings in force allow to fire.
fn transitions_allowed(
    judge: &Catalog,
    in_force: &Catalog,
    products: &[DocId],
    implemented: &dyn Fn(LifecycleId) -> bool,
) -> usize {
    judge
        .lifecycles
        .iter()
        .enumerate()
        .filter(|(l, lc)| products.contains(&lc.doc) && implemented(LifecycleId(*l as u32)))
        .map(|(l, lc)| {
            (0..lc.transitions.len())
                .filter(|t| crate::directed::enabled(in_force, (LifecycleId(l as u32), *t)))
                .count()
        })
        .sum()
}

/// Why a run verified nothing, if it did not: a run in which no history
/// was run to the end against the system, or whose generated cases
/// exercised no invariant at all, must not pass as if it had checked
/// something.
pub(super) fn not_verified(report: &VerifyReport, options: &VerifyOptions) -> Option<String> {
    if report.protocol_error.is_some() {
        return None;
    }
    if report.executed == 0 {
        let why = if !report.skipped_cases.is_empty() {
            format!(
                "the system skipped all {} cases as unsupported (the first: {})",
                report.skipped_cases.len(),
                report.skipped_cases[0]
            )
        } else if report.cases == 0 && options.regressions.is_empty() {
            "no case was asked for (--cases 0, or a shard with no cases)".to_string()
        } else {
            "no history was run to the end".to_string()
        };
        return Some(why);
    }
    let regressions_run = report
        .regressions
        .iter()
        .filter(|r| r.verdict != RegressionVerdict::Skipped)
        .count();
    let generated = report.executed as usize > regressions_run;
    let exercised: usize = report
        .invariants
        .iter()
        .filter(|s| s.skipped.is_none())
        .map(|s| s.exercised)
        .sum();
    if generated && exercised == 0 {
        let checked = report
            .invariants
            .iter()
            .filter(|s| s.skipped.is_none())
            .count();
        return Some(if checked == 0 {
            "every invariant was skipped, as none concerns what the system implements".to_string()
        } else {
            format!(
                "{} cases ran, but none exercised any of the {checked} invariants checked",
                report.executed
            )
        });
    }
    None
}

/// Whether a system that implements the lifecycles `implemented` accepts
/// can exercise a rule at all.
pub(super) fn exercisable(
    judge: &Catalog,
    rule: &crate::spec::Rule,
    implemented: &dyn Fn(LifecycleId) -> bool,
) -> bool {
    let doc_implemented = |doc: DocId| {
        (0..judge.lifecycles.len())
            .any(|i| judge.lifecycles[i].doc == doc && implemented(LifecycleId(i as u32)))
    };
    rule.enforcements.iter().any(|e| match e {
        crate::spec::Enforcement::Transition { lifecycle, .. }
        | crate::spec::Enforcement::Capability { lifecycle, .. } => implemented(*lifecycle),
        crate::spec::Enforcement::Invariant(i) => judge.invariants[i.index()]
            .subjects
            .iter()
            .any(|s| implemented(*s)),
        crate::spec::Enforcement::Billing(doc) | crate::spec::Enforcement::Account(doc) => {
            doc_implemented(*doc)
        }
        crate::spec::Enforcement::Notification(n) => {
            doc_implemented(judge.notifications[n.index()].doc)
        }
        crate::spec::Enforcement::Formula(f) => doc_implemented(judge.formulas[f.index()].doc),
        crate::spec::Enforcement::Ledger => true,
    })
}

/// Whether a rule can be exercised under the readings in force: a rule
/// enforced only by transitions another reading enables (a start by hand
/// after settlement, say) has nothing to show under these.
pub fn live_under_readings(in_force: &Catalog, rule: &str) -> bool {
    in_force.rule_named(rule).is_none_or(|id| {
        let enforcements = &in_force.rule(id).enforcements;
        // A state is entered only through a transition these readings enable
        // (or is where its lifecycle starts).
        let enterable = |l: LifecycleId, state: crate::spec::StateId| {
            let lc = in_force.lifecycle(l);
            lc.initial == state
                || (0..lc.transitions.len()).any(|t| {
                    lc.transitions[t].to == state && crate::directed::enabled(in_force, (l, t))
                })
        };
        enforcements.is_empty()
            || enforcements.iter().any(|e| match e {
                crate::spec::Enforcement::Transition {
                    lifecycle,
                    transition,
                } => crate::directed::enabled(in_force, (*lifecycle, *transition)),
                crate::spec::Enforcement::Capability { lifecycle, state } => {
                    enterable(*lifecycle, *state)
                }
                // A formula is computed only by the transitions that refund
                // with it.
                crate::spec::Enforcement::Formula(f) => (0..in_force.lifecycles.len()).any(|l| {
                    let l = LifecycleId(l as u32);
                    let lc = in_force.lifecycle(l);
                    (0..lc.transitions.len()).any(|t| {
                        lc.transitions[t]
                            .effects
                            .iter()
                            .any(|e| matches!(e, crate::spec::Effect::Refund(g) if g == f))
                            && crate::directed::enabled(in_force, (l, t))
                    })
                }),
                _ => true,
            })
    })
}
