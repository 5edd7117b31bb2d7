//! What a verify run found: the report types. They are the stable,
//! documented public surface of `arrears verify` (the JSON report is them,
//! serialized); the renderers beside this file turn them into text, JSON,
//! JUnit XML and Markdown, and read nothing but them and the catalog.

mod counts;
mod json;
mod junit;
mod markdown;
mod text;

use counts::{InvariantCounts, RuleCoverage, shard_label};
pub use json::{coverage_json_schema, json_schema};
pub use junit::junit;
pub use markdown::markdown;
pub use text::{TextOptions, report_text, summary_line};

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Serialize;

use super::options::VerifyOptions;
use crate::check::Violation;
use crate::compare::Divergence;
use crate::coverage::Coverage;
use crate::history::{History, Offset};
use crate::spec::{Catalog, DocId, LifecycleId};

/// One invariant over the whole run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct InvariantSummary {
    /// The invariant's id.
    pub invariant: String,
    /// The spec document (product) it belongs to.
    pub product: String,
    /// The rules it checks.
    pub rules: Vec<String>,
    /// Cases in which a subject of the invariant existed.
    pub cases: usize,
    /// Cases in which its scope or trigger held.
    pub exercised: usize,
    /// Cases in which it was broken.
    pub violations: usize,
    /// Why it was not checked at all (the system does not implement it).
    pub skipped: Option<String>,
}

/// The coverage gate: a run that left an enforced rule unexercised, a
/// transition that can fire under the readings in force unfired, or an
/// invariant exercised in fewer than `min_exercised` cases did not put the
/// system to the test it claims, and fails (exit 5).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct CoverageGate {
    /// The fewest cases each invariant must be exercised in
    /// (`--min-exercised`).
    pub min_exercised: usize,
    /// Transitions of the implemented lifecycles that the readings in force
    /// allow to fire: the ones the run must fire.
    pub transitions_allowed: usize,
    /// Whether the gate decides the exit code: it does unless turned off,
    /// and for a whole run only (a shard sees part of the cases).
    pub enforced: bool,
    /// Transitions directed generation found no history for.
    pub unreached_by_generation: Vec<String>,
    /// Invariants exercised in fewer than `min_exercised` cases, with
    /// their count.
    pub under_exercised: Vec<(String, usize)>,
    /// Every rule, transition and invariant reached as required.
    pub passed: bool,
}

/// What `--coverage-report` writes: how many cases exercised each enforced
/// rule, fired each transition and put each invariant to the test, and the
/// gate's verdict — for CI dashboards that track coverage over time.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct CoverageReport<'r> {
    /// The run's seed.
    pub seed: u64,
    /// Generated cases run.
    pub cases: u32,
    /// `[k, n]` when the run was shard k of n.
    pub shard: Option<(u32, u32)>,
    /// Per enforced rule id, the cases that exercised it.
    pub rules: &'r BTreeMap<String, usize>,
    /// Per transition (`lifecycle/transition`), the cases it fired in.
    pub transitions: &'r BTreeMap<String, usize>,
    /// Per invariant checked (not skipped), the cases that put it to the
    /// test: its scope or trigger held.
    pub invariants: BTreeMap<&'r str, usize>,
    /// Enforced rules no case exercised.
    pub unexercised_rules: &'r [String],
    /// Transitions the readings in force allow that never fired.
    pub unfired_transitions: &'r [String],
    /// The coverage gate's verdict (`enforced` false when it does not
    /// decide the exit code); null when no generated case ran.
    pub gate: Option<&'r CoverageGate>,
}

impl<'r> CoverageReport<'r> {
    pub fn of(report: &'r VerifyReport) -> CoverageReport<'r> {
        CoverageReport {
            seed: report.seed,
            cases: report.cases,
            shard: report.shard,
            rules: &report.coverage.rules,
            transitions: &report.coverage.transitions,
            invariants: report
                .invariants
                .iter()
                .filter(|s| s.skipped.is_none())
                .map(|s| (s.invariant.as_str(), s.exercised))
                .collect(),
            unexercised_rules: &report.unexercised_rules,
            unfired_transitions: &report.unfired_transitions,
            gate: report.gate.as_ref(),
        }
    }
}

/// The comparison with the reference model over the whole run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct DifferentialSummary {
    /// Cases compared.
    pub cases: usize,
    /// Cases in which the system departed from the model.
    pub divergences: usize,
}

/// The name counterexamples of the differential comparison go by.
pub const DIFFERENTIAL: &str = "differential";

/// A shrunk failing history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct Counterexample {
    /// The invariant broken, or `differential`.
    pub check: String,
    /// The rules the failed check cites, with their source.
    pub rules: Vec<RuleCitation>,
    /// The invariant's violation (for an invariant).
    pub violation: Option<Violation>,
    /// The first difference from the model (for `differential`).
    pub divergence: Option<Divergence>,
    /// The minimal failing history.
    pub history: History,
    /// The instants it is observed at.
    pub observe: Vec<Offset>,
    /// The events of the minimal history.
    pub events: usize,
    /// Shrinking steps that kept the failure.
    pub shrink_steps: u32,
    /// The name of the regression it came from, if it was one.
    pub regression: Option<String>,
}

impl Counterexample {
    pub fn at(&self) -> chrono::DateTime<chrono::Utc> {
        self.violation
            .as_ref()
            .map(|v| v.at)
            .or(self.divergence.as_ref().map(|d| d.at))
            .unwrap_or(self.history.start)
    }

    pub fn message(&self) -> String {
        match (&self.violation, &self.divergence) {
            (Some(v), _) => format!(
                "{}{}",
                v.resource
                    .as_ref()
                    .map(|r| format!("resource {r}: "))
                    .unwrap_or_default(),
                v.message
            ),
            (None, Some(d)) => d.to_string(),
            (None, None) => String::new(),
        }
    }
}

/// A rule, with where the source document says it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct RuleCitation {
    /// The rule's id.
    pub rule: String,
    /// The section of the source document.
    pub section: String,
    /// The words of the source, verbatim.
    pub anchor: String,
    /// The rule in the specs' words.
    pub statement: String,
}

/// What became of one regression re-run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct RegressionOutcome {
    /// Its place in the regressions file and its check: `1 (ecs.inv.x)`.
    pub name: String,
    /// What became of it.
    pub verdict: RegressionVerdict,
    /// Why it was not run, when it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What became of a regression re-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RegressionVerdict {
    /// It still fails: a counterexample is in the report.
    Fails,
    /// It ran and every check held.
    Passes,
    /// The system did not run it (it answered `unsupported`); a skipped
    /// regression has not passed.
    Skipped,
}

impl RegressionOutcome {
    pub fn fails(&self) -> bool {
        self.verdict == RegressionVerdict::Fails
    }
}

/// The version of the JSON report format (`verify --format json`):
/// raised when a field changes meaning or goes away, so that a reader can
/// refuse a report it does not understand.
pub const FORMAT_VERSION: u32 = 1;

/// What `verify` found: its JSON report is this, serialized.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "arrears verify report")]
#[non_exhaustive]
pub struct VerifyReport {
    /// The version of the report format ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The system verified, as it names itself.
    pub system: String,
    /// The seed of the generated histories.
    pub seed: u64,
    /// Cases evaluated (this shard's, if sharded).
    pub cases: u32,
    /// Histories the system ran to the end, regressions included (cases it
    /// skipped as unsupported, or could not run, are not counted).
    pub executed: u32,
    /// The shard `[K, N]` this report holds, if the run was split.
    pub shard: Option<(u32, u32)>,
    /// The products (spec document ids) verified.
    pub products: Vec<String>,
    /// Every invariant of those products, with its verdict.
    pub invariants: Vec<InvariantSummary>,
    /// The comparison with the reference model, when it was made.
    pub differential: Option<DifferentialSummary>,
    /// The failures, each shrunk to a minimal history.
    pub counterexamples: Vec<Counterexample>,
    /// Regressions re-run, each with its verdict.
    pub regressions: Vec<RegressionOutcome>,
    /// How many cases exercised each rule, fired each transition and put
    /// each invariant to the test.
    pub coverage: Coverage,
    /// Enforced rules no case exercised.
    pub unexercised_rules: Vec<String>,
    /// Transitions no case fired (`lifecycle/transition`).
    pub unfired_transitions: Vec<String>,
    /// The coverage gate's verdict (absent when no generated case ran).
    pub gate: Option<CoverageGate>,
    /// The lifecycles the system implements (indexes), when not all.
    pub implemented: Option<Vec<u32>>,
    /// Cases the system said it does not support.
    pub skipped_cases: Vec<String>,
    /// Valid histories the system refused to run.
    pub refused: Vec<String>,
    /// The protocol violation that stopped the run.
    pub protocol_error: Option<String>,
    /// Why the run verified nothing, when it did not: no history was run
    /// to the end, or no invariant was exercised. Such a run does not pass.
    pub not_verified: Option<String>,
}

impl VerifyReport {
    /// No counterexample, no refused history, no protocol violation.
    pub fn passed(&self) -> bool {
        self.counterexamples.is_empty() && self.refused.is_empty() && self.protocol_error.is_none()
    }

    /// The process exit code: 0 conforms, 1 a conformance failure, 3 a
    /// protocol violation, 4 nothing was verified, 5 the coverage gate failed.
    pub fn exit_code(&self) -> u8 {
        if self.protocol_error.is_some() {
            crate::exit::PROTOCOL
        } else if !self.passed() {
            crate::exit::FAILURE
        } else if self.not_verified.is_some() {
            crate::exit::NOTHING_VERIFIED
        } else if self.gate.as_ref().is_some_and(|g| g.enforced && !g.passed) {
            crate::exit::COVERAGE
        } else {
            crate::exit::OK
        }
    }
}

impl VerifyReport {
    /// A report of nothing run yet: every invariant of the selected products
    /// listed with no case, skipped when the system does not implement it.
    pub fn empty(judge: &Catalog, options: &VerifyOptions, system: String) -> VerifyReport {
        let products: BTreeSet<DocId> = options.products.iter().copied().collect();
        let invariants = judge
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
                skipped: skip_reason(judge, &inv.subjects, &options.implemented),
            })
            .collect();
        VerifyReport {
            format_version: FORMAT_VERSION,
            system,
            seed: options.seed,
            cases: 0,
            executed: 0,
            shard: options.shard,
            products: products
                .iter()
                .map(|d| judge.document(*d).id.clone())
                .collect(),
            invariants,
            differential: options.compare.then_some(DifferentialSummary {
                cases: 0,
                divergences: 0,
            }),
            counterexamples: Vec::new(),
            regressions: Vec::new(),
            coverage: Coverage::default(),
            unexercised_rules: Vec::new(),
            unfired_transitions: Vec::new(),
            gate: None,
            implemented: options
                .implemented
                .as_ref()
                .map(|s| s.iter().map(|l| l.0).collect()),
            skipped_cases: Vec::new(),
            refused: Vec::new(),
            protocol_error: None,
            not_verified: None,
        }
    }

    /// The report of a run that could not start: the implementation broke
    /// the protocol before the first history (in `hello`).
    pub fn broken(
        judge: &Catalog,
        options: &VerifyOptions,
        system: String,
        error: String,
    ) -> VerifyReport {
        let mut report = VerifyReport::empty(judge, options, system);
        report.protocol_error = Some(error);
        report
    }
}

/// Why an invariant cannot be checked on a system that implements only
/// `implemented`.
pub(super) fn skip_reason(
    judge: &Catalog,
    subjects: &[LifecycleId],
    implemented: &Option<BTreeSet<LifecycleId>>,
) -> Option<String> {
    let implemented = implemented.as_ref()?;
    if subjects.iter().any(|s| implemented.contains(s)) {
        return None;
    }
    let what: BTreeSet<String> = subjects
        .iter()
        .map(|s| {
            let l = judge.lifecycle(*s);
            format!(
                "{} {}",
                judge.document(l.doc).id,
                serde_json::to_value(l.billing)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            )
        })
        .collect();
    Some(format!(
        "not implemented: {}",
        what.into_iter().collect::<Vec<_>>().join(", ")
    ))
}
