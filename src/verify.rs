//! `arrears verify`: generated histories run through a system, every
//! invariant checked on what it reports, failures shrunk to a minimal
//! history.
//!
//! A run is deterministic: the seed fixes the generated histories, the
//! cases are evaluated in parallel but reported in order, and the report
//! holds no timing, so the same seed gives a byte-identical report.
//!
//! The system under test is anything that runs a history and reports a
//! trace ([`System`]): the reference model itself, or an implementation
//! under test behind the adapter protocol. Observations are taken at the
//! generated instants and at every instant the reference model has an event,
//! so a system that skips a state because the clock jumped is seen doing so.

use std::collections::BTreeSet;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rayon::prelude::*;
use serde::Serialize;

use crate::check::{self, Evaluation, TraceIndex, Violation};
use crate::coverage::{self, Coverage};
use crate::generate::{GenConfig, Scenario};
use crate::history::{History, Offset};
use crate::observation::Trace;
use crate::spec::{Catalog, DocId, InvariantId};

/// A system that runs histories: the reference model or an implementation
/// under test.
pub trait System: Sync {
    /// How the report names it.
    fn describe(&self) -> String;
    /// Runs a history, observing at `observe` (sorted, from the start).
    fn run(&self, history: &History, observe: &[Offset]) -> Result<Trace, SystemError>;
}

/// A system that could not run a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct SystemError {
    /// Whether the system broke its protocol (as opposed to refusing a
    /// history it considers invalid).
    pub protocol: bool,
    pub message: String,
}

/// The reference model as a [`System`].
pub struct ReferenceModel<'c> {
    pub catalog: &'c Catalog,
}

impl System for ReferenceModel<'_> {
    fn describe(&self) -> String {
        "the reference model".to_string()
    }

    fn run(&self, history: &History, observe: &[Offset]) -> Result<Trace, SystemError> {
        crate::model::run(self.catalog, history, observe).map_err(|e| SystemError {
            protocol: false,
            message: e.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub cases: u32,
    pub seed: u64,
    pub products: Vec<DocId>,
    pub max_events: usize,
    pub max_shrink_iters: u32,
}

impl VerifyOptions {
    pub fn new(catalog: &Catalog) -> VerifyOptions {
        VerifyOptions {
            cases: 256,
            seed: 0,
            products: (0..catalog.documents.len())
                .map(|i| DocId(i as u32))
                .collect(),
            max_events: 24,
            max_shrink_iters: 2_000,
        }
    }
}

/// One invariant over the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct InvariantSummary {
    pub invariant: String,
    pub product: String,
    pub rules: Vec<String>,
    /// Cases in which a subject of the invariant existed.
    pub cases: usize,
    /// Cases in which its scope or trigger held.
    pub exercised: usize,
    pub violations: usize,
}

/// A shrunk failing history.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub invariant: String,
    pub rules: Vec<RuleCitation>,
    pub violation: Violation,
    pub history: History,
    pub observe: Vec<Offset>,
    pub events: usize,
    /// Shrinking steps that kept the failure.
    pub shrink_steps: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleCitation {
    pub rule: String,
    pub section: String,
    pub anchor: String,
    pub statement: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub system: String,
    pub seed: u64,
    pub cases: u32,
    pub products: Vec<String>,
    pub invariants: Vec<InvariantSummary>,
    pub counterexamples: Vec<Counterexample>,
    pub coverage: Coverage,
    pub unexercised_rules: Vec<String>,
    pub unfired_transitions: Vec<String>,
    /// Histories the system could not run.
    pub errors: Vec<String>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.counterexamples.is_empty() && self.errors.is_empty()
    }

    pub fn protocol_broken(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// The evaluation of one case.
struct CaseResult {
    evaluations: Vec<Evaluation>,
    labels: coverage::Labels,
    error: Option<String>,
}

fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed
                .wrapping_add(i as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .to_le_bytes(),
        );
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// The instants to observe a scenario at: its own, and every instant the
/// reference model has an event.
pub fn observation_instants(judge: &Catalog, scenario: &Scenario) -> Vec<Offset> {
    let mut instants = scenario.observe.clone();
    if let Ok(reference) = crate::model::run(judge, &scenario.history, &[]) {
        instants.extend(
            reference
                .events
                .iter()
                .map(|e| Offset::between(scenario.history.start, e.at())),
        );
    }
    instants.sort();
    instants.dedup();
    instants
}

fn evaluate_case(
    judge: &Catalog,
    variants: &[Catalog],
    system: &dyn System,
    scenario: &Scenario,
) -> CaseResult {
    let instants = observation_instants(judge, scenario);
    match system.run(&scenario.history, &instants) {
        Err(e) => CaseResult {
            evaluations: Vec::new(),
            labels: coverage::Labels::default(),
            error: Some(e.message),
        },
        Ok(trace) => {
            let rerun = |h: &History| system.run(h, &instants).ok();
            let evaluations =
                check::check_trace(judge, variants, &scenario.history, &trace, Some(&rerun));
            let labels = coverage::label(judge, &trace, &evaluations);
            CaseResult {
                evaluations,
                labels,
                error: None,
            }
        }
    }
}

/// Whether `scenario` still breaks invariant `id` on `system`.
fn violates(
    judge: &Catalog,
    variants: &[Catalog],
    system: &dyn System,
    scenario: &Scenario,
    id: InvariantId,
) -> Option<Violation> {
    let instants = observation_instants(judge, scenario);
    let trace = system.run(&scenario.history, &instants).ok()?;
    let index = TraceIndex::new(judge, &scenario.history, &trace);
    let rerun = |h: &History| system.run(h, &instants).ok();
    check::evaluate(judge, variants, &index, id, Some(&rerun)).violation
}

/// Shrinks a failing case, keeping the same invariant broken.
fn shrink(
    judge: &Catalog,
    variants: &[Catalog],
    system: &dyn System,
    mut tree: Box<dyn ValueTree<Value = Scenario>>,
    id: InvariantId,
    limit: u32,
) -> (Scenario, Violation, u32) {
    let mut best = tree.current();
    let mut violation =
        violates(judge, variants, system, &best, id).expect("the case failed before shrinking");
    let mut steps = 0;
    let mut iterations = 0;
    if !tree.simplify() {
        return (best, violation, steps);
    }
    while iterations < limit {
        iterations += 1;
        let candidate = tree.current();
        match violates(judge, variants, system, &candidate, id) {
            Some(v) => {
                best = candidate;
                violation = v;
                steps += 1;
                if !tree.simplify() {
                    break;
                }
            }
            None => {
                if !tree.complicate() {
                    break;
                }
            }
        }
    }
    // proptest shrinks the blueprint; removing a step there can shift what
    // later steps refer to, so finish on the concrete history.
    let (best, violation, more) = minimize(judge, best, violation, |s| {
        violates(judge, variants, system, s, id)
    });
    (best, violation, steps + more)
}

/// Delta debugging on a concrete history: drop events, then resources and
/// accounts nothing refers to, then observation instants, then zero the
/// amounts, keeping each change that still fails.
pub fn minimize(
    judge: &Catalog,
    mut best: Scenario,
    mut violation: Violation,
    fails: impl Fn(&Scenario) -> Option<Violation>,
) -> (Scenario, Violation, u32) {
    let mut steps = 0;
    let attempt = |candidate: Scenario,
                   best: &mut Scenario,
                   violation: &mut Violation,
                   steps: &mut u32|
     -> bool {
        if candidate.history.validate(judge).is_err() {
            return false;
        }
        match fails(&candidate) {
            Some(v) => {
                *best = candidate;
                *violation = v;
                *steps += 1;
                true
            }
            None => false,
        }
    };
    loop {
        let before = steps;
        for i in (0..best.history.events.len()).rev() {
            if i < best.history.events.len() {
                let mut c = best.clone();
                c.history.events.remove(i);
                attempt(c, &mut best, &mut violation, &mut steps);
            }
        }
        for i in (0..best.history.resources.len()).rev() {
            let id = best.history.resources[i].id.clone();
            let referenced = best
                .history
                .events
                .iter()
                .any(|e| e.resource() == Some(id.as_str()))
                || best
                    .history
                    .resources
                    .iter()
                    .any(|r| r.parent.as_deref() == Some(id.as_str()));
            if !referenced {
                let mut c = best.clone();
                c.history.resources.remove(i);
                attempt(c, &mut best, &mut violation, &mut steps);
            }
        }
        for i in (0..best.history.accounts.len()).rev() {
            let id = best.history.accounts[i].id.clone();
            let referenced = best.history.resources.iter().any(|r| r.account == id)
                || best
                    .history
                    .events
                    .iter()
                    .any(|e| e.account() == Some(id.as_str()));
            if !referenced && best.history.accounts.len() > 1 {
                let mut c = best.clone();
                c.history.accounts.remove(i);
                attempt(c, &mut best, &mut violation, &mut steps);
            }
        }
        for i in (0..best.observe.len()).rev() {
            let mut c = best.clone();
            c.observe.remove(i);
            attempt(c, &mut best, &mut violation, &mut steps);
        }
        for i in 0..best.history.events.len() {
            let mut c = best.clone();
            let changed = match &mut c.history.events[i] {
                crate::history::Event::Charge {
                    amount: Some(a), ..
                }
                | crate::history::Event::TopUp { amount: a, .. }
                | crate::history::Event::GrantVoucher { amount: a, .. }
                | crate::history::Event::Renew { price: a, .. }
                | crate::history::Event::Upgrade { price: a, .. }
                | crate::history::Event::Purchase { price: a, .. }
                    if *a > 0 =>
                {
                    *a = 0;
                    true
                }
                _ => false,
            };
            if changed {
                attempt(c, &mut best, &mut violation, &mut steps);
            }
        }
        if steps == before {
            return (best, violation, steps);
        }
    }
}

/// Runs `options.cases` generated histories through `system` and checks
/// every invariant of `judge` on what it reports.
pub fn verify(judge: &Catalog, system: &dyn System, options: &VerifyOptions) -> VerifyReport {
    let variants = judge.reading_variants();
    let mut config = GenConfig::all(judge);
    config.products = options.products.clone();
    config.max_steps = options.max_events;
    let strategy = crate::generate::scenarios(judge, &config);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: options.cases,
            max_shrink_iters: options.max_shrink_iters,
            failure_persistence: None,
            ..Config::default()
        },
        rng(options.seed),
    );
    let mut trees = Vec::with_capacity(options.cases as usize);
    let mut scenarios = Vec::with_capacity(options.cases as usize);
    for _ in 0..options.cases {
        match strategy.new_tree(&mut runner) {
            Ok(tree) => {
                scenarios.push(tree.current());
                trees.push(Some(tree));
            }
            Err(_) => break,
        }
    }
    let results: Vec<CaseResult> = scenarios
        .par_iter()
        .map(|s| evaluate_case(judge, &variants, system, s))
        .collect();

    let products: BTreeSet<DocId> = options.products.iter().copied().collect();
    let mut summaries: Vec<InvariantSummary> = judge
        .invariants
        .iter()
        .filter(|inv| products.contains(&inv.doc))
        .map(|inv| InvariantSummary {
            invariant: inv.id.clone(),
            product: judge.document(inv.doc).id.clone(),
            rules: inv
                .checks
                .iter()
                .map(|r| judge.rule(*r).id.clone())
                .collect(),
            cases: 0,
            exercised: 0,
            violations: 0,
        })
        .collect();
    let mut coverage = Coverage::default();
    let mut first_failure: Vec<Option<usize>> = vec![None; judge.invariants.len()];
    let mut errors = Vec::new();
    for (case, result) in results.iter().enumerate() {
        if let Some(e) = &result.error {
            errors.push(format!("case {case}: {e}"));
            continue;
        }
        coverage.add(judge, &result.labels);
        for e in &result.evaluations {
            let inv = &judge.invariants[e.invariant.index()];
            let Some(summary) = summaries.iter_mut().find(|s| s.invariant == inv.id) else {
                continue;
            };
            summary.cases += usize::from(e.applicable);
            summary.exercised += usize::from(e.exercised);
            if e.violation.is_some() {
                summary.violations += 1;
                first_failure[e.invariant.index()].get_or_insert(case);
            }
        }
    }
    let mut counterexamples = Vec::new();
    for (i, case) in first_failure.iter().enumerate() {
        let Some(case) = case else { continue };
        let id = InvariantId(i as u32);
        let Some(tree) = trees[*case].take() else {
            continue;
        };
        let (scenario, violation, steps) =
            shrink(judge, &variants, system, tree, id, options.max_shrink_iters);
        let inv = &judge.invariants[i];
        counterexamples.push(Counterexample {
            invariant: inv.id.clone(),
            rules: inv
                .checks
                .iter()
                .map(|r| {
                    let rule = judge.rule(*r);
                    RuleCitation {
                        rule: rule.id.clone(),
                        section: rule.section.clone(),
                        anchor: rule.anchor.clone(),
                        statement: rule.statement.clone(),
                    }
                })
                .collect(),
            violation,
            events: scenario.history.events.len(),
            history: scenario.history,
            observe: scenario.observe,
            shrink_steps: steps,
        });
    }
    let product_list: Vec<DocId> = products.iter().copied().collect();
    VerifyReport {
        system: system.describe(),
        seed: options.seed,
        cases: scenarios.len() as u32,
        products: product_list
            .iter()
            .map(|d| judge.document(*d).id.clone())
            .collect(),
        invariants: summaries,
        unexercised_rules: coverage
            .unexercised_rules(judge, &product_list)
            .into_iter()
            .map(String::from)
            .collect(),
        unfired_transitions: coverage.unfired_transitions(judge, &product_list),
        counterexamples,
        coverage,
        errors,
    }
}

/// The report as text: the invariant table, the counterexamples, and the
/// rule-coverage table.
pub fn report_text(judge: &Catalog, report: &VerifyReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("arrears verify: {}\n", report.system));
    out.push_str(&format!(
        "seed {}, {} cases, products: {}\n\n",
        report.seed,
        report.cases,
        report.products.join(", ")
    ));
    let w = report
        .invariants
        .iter()
        .map(|s| s.invariant.len())
        .max()
        .unwrap_or(9)
        .max(9);
    out.push_str(&format!(
        "{:w$}  {:>6}  {:>9}  verdict\n",
        "invariant", "cases", "exercised"
    ));
    for s in &report.invariants {
        let verdict = if s.violations > 0 {
            format!("VIOLATED in {} cases", s.violations)
        } else if s.exercised == 0 {
            "holds (never exercised)".to_string()
        } else {
            "holds".to_string()
        };
        out.push_str(&format!(
            "{:w$}  {:>6}  {:>9}  {verdict}\n",
            s.invariant, s.cases, s.exercised
        ));
    }
    let violated = report
        .invariants
        .iter()
        .filter(|s| s.violations > 0)
        .count();
    out.push_str(&format!(
        "{} invariants: {} hold, {} violated\n",
        report.invariants.len(),
        report.invariants.len() - violated,
        violated
    ));
    for c in &report.counterexamples {
        out.push_str(&format!("\nVIOLATED {}\n", c.invariant));
        for r in &c.rules {
            out.push_str(&format!(
                "  rule {} [{}]: \"{}\"\n    {}\n",
                r.rule, r.section, r.anchor, r.statement
            ));
        }
        let start = c.history.start;
        out.push_str(&format!(
            "  at {}{}: {}\n",
            crate::timeline::day_label(start, c.violation.at),
            c.violation
                .resource
                .as_ref()
                .map(|r| format!(", resource {r}"))
                .unwrap_or_default(),
            c.violation.message
        ));
        out.push_str(&format!(
            "  minimal history ({} events, after {} shrinking steps):\n",
            c.events, c.shrink_steps
        ));
        for line in c.history.to_yaml().lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    for e in &report.errors {
        out.push_str(&format!("\nERROR {e}\n"));
    }
    let enforced: Vec<&crate::spec::Rule> = judge
        .rules
        .iter()
        .filter(|r| r.not_modelled.is_none() && report.products.contains(&judge.document(r.doc).id))
        .collect();
    let covered = enforced
        .iter()
        .filter(|r| report.coverage.rules.contains_key(&r.id))
        .count();
    let transitions: usize = judge
        .lifecycles
        .iter()
        .filter(|l| report.products.contains(&judge.document(l.doc).id))
        .map(|l| l.transitions.len())
        .sum();
    out.push_str(&format!(
        "\nrule coverage: {covered} of {} enforced rules exercised; {} of {transitions} transitions fired\n",
        enforced.len(),
        transitions - report.unfired_transitions.len()
    ));
    let w = enforced
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!("{:w$}  {:>6}\n", "rule", "cases"));
    for r in enforced {
        match report.coverage.rules.get(&r.id) {
            Some(n) => out.push_str(&format!("{:w$}  {:>6}\n", r.id, n)),
            None => out.push_str(&format!("{:w$}  {:>6}  NOT EXERCISED\n", r.id, 0)),
        }
    }
    for t in &report.unfired_transitions {
        out.push_str(&format!("transition never fired: {t}\n"));
    }
    out
}
