//! `arrears verify`: generated histories run through a system, every
//! invariant checked on what it reports and, for an implementation under
//! test, every observation compared with the reference model's; failures
//! shrunk to a minimal history.
//!
//! A run is deterministic: the seed fixes the generated histories, the
//! cases are evaluated in parallel but reported in order, and the report
//! holds no timing, so the same seed gives a byte-identical report. A shard
//! (`K/N`) evaluates the cases whose index is K-1 modulo N of the same
//! sequence, so shards are disjoint and together make the whole run.
//!
//! The system is anything that runs a history and reports a trace
//! ([`System`]): the reference model itself, or an implementation under test
//! ([`crate::sut::Driven`]). Observations are taken at the generated
//! instants and at every instant the reference model has an event, so a
//! system that skips a state because the clock jumped is seen doing so.

use std::collections::{BTreeMap, BTreeSet};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;

use crate::check::{self, Evaluation, TraceIndex, Violation};
use crate::compare::{self, Divergence};
use crate::coverage::{self, Coverage};
use crate::generate::{GenConfig, Scenario};
use crate::history::{History, Offset};
use crate::observation::{Trace, TraceEvent};
use crate::spec::{Catalog, DocId, InterpretationId, InvariantId, LifecycleId};

/// A system that runs histories: the reference model or an implementation
/// under test.
pub trait System: Sync {
    /// How the report names it.
    fn describe(&self) -> String;
    /// Runs a history, observing at `observe` (sorted, from the start).
    fn run(&self, history: &History, observe: &[Offset]) -> Result<Trace, SystemError>;
    /// The catalog, when the system is the reference model itself: a run
    /// can then find the instants it acts at while it runs, instead of
    /// first running the model to learn them.
    fn reference_catalog(&self) -> Option<&Catalog> {
        None
    }
    /// What the system declared in the adapter protocol's **hello**, when
    /// it speaks the protocol: [`verify`] then generates histories only of
    /// the lifecycles it implements and judges it under the readings it
    /// declared, as the command line does.
    fn declaration(&self) -> Option<&crate::protocol::Declaration> {
        None
    }
}

/// A system that could not run a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
#[non_exhaustive]
pub struct SystemError {
    pub kind: SystemErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SystemErrorKind {
    /// It broke the adapter protocol (crash, hang, garbage, wrong version).
    Protocol,
    /// It answered that it could not run a valid history.
    Refused,
    /// It does not support something the history needs.
    Unsupported,
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
            kind: SystemErrorKind::Refused,
            message: e.to_string(),
        })
    }

    fn reference_catalog(&self) -> Option<&Catalog> {
        Some(self.catalog)
    }
}

/// A history that failed before, re-run first.
#[derive(Debug, Clone)]
pub struct Regression {
    pub name: String,
    pub scenario: Scenario,
}

/// How [`verify`] runs: start from [`VerifyOptions::new`] and change what
/// you need with the chained setters (or by assigning the fields).
///
/// `#[non_exhaustive]`: new options arrive with defaults that keep today's
/// behaviour, so code written against this version keeps compiling.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Generated histories to run (`--cases`).
    pub cases: u32,
    /// The seed every case's own seed is derived from (`--seed`).
    pub seed: u64,
    /// The spec documents (products) whose invariants are checked.
    pub products: Vec<DocId>,
    /// The most events a generated history holds (`--max-events`).
    pub max_events: usize,
    /// The most steps shrinking a failing history may take.
    pub max_shrink_iters: u32,
    /// `(k, n)`: evaluate only the cases whose index is k-1 modulo n.
    pub shard: Option<(u32, u32)>,
    /// The lifecycles the system implements (all when `None`).
    pub implemented: Option<BTreeSet<LifecycleId>>,
    /// Readings the system declared (interpretation id → reading id).
    pub readings: BTreeMap<String, String>,
    /// Compare every observation with the reference model's.
    pub compare: bool,
    pub regressions: Vec<Regression>,
    /// The fewest cases each invariant must be exercised in.
    pub min_exercised: usize,
    /// Whether the coverage gate decides the verdict.
    pub coverage_gate: bool,
    /// Told how far the run has got (a progress bar); none by default.
    pub watch: crate::progress::Watch,
}

/// The default of `--min-exercised`: half the 20 cases the default run
/// exercises every invariant in at any seed, for margin.
pub const DEFAULT_MIN_EXERCISED: usize = 10;

impl VerifyOptions {
    pub fn new(catalog: &Catalog) -> VerifyOptions {
        VerifyOptions {
            cases: 512,
            seed: 0,
            products: (0..catalog.documents.len())
                .map(|i| DocId(i as u32))
                .collect(),
            max_events: 24,
            max_shrink_iters: 2_000,
            shard: None,
            implemented: None,
            readings: BTreeMap::new(),
            compare: false,
            regressions: Vec::new(),
            min_exercised: DEFAULT_MIN_EXERCISED,
            coverage_gate: true,
            watch: crate::progress::Watch::default(),
        }
    }

    /// Runs `cases` generated histories.
    pub fn cases(mut self, cases: u32) -> VerifyOptions {
        self.cases = cases;
        self
    }

    /// Derives every case's seed from `seed`.
    pub fn seed(mut self, seed: u64) -> VerifyOptions {
        self.seed = seed;
        self
    }

    /// Checks only the invariants of the products named (spec document
    /// ids, such as `maxcompute`); `None` names the unknown one.
    pub fn products<'a>(
        mut self,
        catalog: &Catalog,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<VerifyOptions, String> {
        self.products = names
            .into_iter()
            .map(|name| {
                catalog
                    .document_named(name)
                    .ok_or_else(|| format!("unknown product `{name}`"))
            })
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Gives generated histories at most `max_events` events.
    pub fn max_events(mut self, max_events: usize) -> VerifyOptions {
        self.max_events = max_events;
        self
    }

    /// Evaluates only the cases whose index is `k - 1` modulo `n`.
    pub fn shard(mut self, k: u32, n: u32) -> VerifyOptions {
        self.shard = Some((k, n));
        self
    }

    /// Compares every observation with the reference model's too.
    pub fn compare(mut self, compare: bool) -> VerifyOptions {
        self.compare = compare;
        self
    }

    /// Re-runs these histories before the generated ones.
    pub fn regressions(mut self, regressions: Vec<Regression>) -> VerifyOptions {
        self.regressions = regressions;
        self
    }

    /// Requires each invariant to be exercised in at least `cases` cases
    /// for the coverage gate to pass.
    pub fn min_exercised(mut self, cases: usize) -> VerifyOptions {
        self.min_exercised = cases;
        self
    }

    /// Whether the coverage gate decides the verdict (on by default).
    pub fn coverage_gate(mut self, on: bool) -> VerifyOptions {
        self.coverage_gate = on;
        self
    }

    /// Tells `watch` how far the run has got (a progress bar).
    pub fn watch(mut self, watch: crate::progress::Watch) -> VerifyOptions {
        self.watch = watch;
        self
    }

    /// These options as `system` asks to be run: when it declared what it
    /// implements (the protocol's hello) and the caller left `implemented`
    /// and `readings` unset, they are taken from the declaration.
    fn as_declared_by(&self, judge: &Catalog, system: &dyn System) -> Option<VerifyOptions> {
        let declaration = system.declaration()?;
        if self.implemented.is_some() || !self.readings.is_empty() {
            return None;
        }
        let mut declared = self.clone();
        declared.implemented = Some(implemented_lifecycles(judge, declaration));
        declared.readings = declaration.readings.clone();
        Some(declared)
    }
}

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

/// The JSON Schema of `--coverage-report` files.
pub fn coverage_json_schema() -> schemars::Schema {
    crate::schema::of_output::<CoverageReport<'static>>()
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

/// The JSON Schema of the report (`verify --format json`, `--json FILE`).
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_output::<VerifyReport>()
}

/// What one case gave.
enum CaseOutcome {
    Ran {
        evaluations: Vec<Evaluation>,
        divergence: Option<Divergence>,
        labels: Box<coverage::Labels>,
    },
    Failed(SystemError),
}

impl CaseOutcome {
    /// What failed in this case, in words for a log; `None` when nothing did.
    fn failed_checks(&self, judge: &Catalog) -> Option<String> {
        match self {
            CaseOutcome::Failed(e) => Some(format!("the system failed: {}", e.message)),
            CaseOutcome::Ran {
                evaluations,
                divergence,
                ..
            } => {
                let mut failed: Vec<String> = evaluations
                    .iter()
                    .filter(|e| e.violation.is_some())
                    .map(|e| check_name(judge, Some(e.invariant)))
                    .collect();
                if divergence.is_some() {
                    failed.push(DIFFERENTIAL.to_string());
                }
                (!failed.is_empty()).then(|| format!("fails {}", failed.join(", ")))
            }
        }
    }
}

/// The name a failed check goes by: its invariant's id, or the comparison.
fn check_name(judge: &Catalog, which: Option<InvariantId>) -> String {
    which
        .map(|id| judge.invariants[id.index()].id.clone())
        .unwrap_or_else(|| DIFFERENTIAL.to_string())
}

/// Everything a case needs, shared by all cases of a run.
struct Context<'a> {
    judge: &'a Catalog,
    /// The model's catalogs: the chosen (or declared) reading first, then
    /// the other accepted readings.
    references: Vec<Catalog>,
    system: &'a dyn System,
    compare: bool,
    /// The system is the model under the reading in force
    /// (`references[0]`): one run observes it at its own event instants.
    system_is_reference: bool,
    labeller: coverage::Labeller<'a>,
}

/// The random source of case `index` of a run seeded with `seed`: a
/// ChaCha stream keyed by both, so every case has its own, independent of
/// which other cases are drawn.
pub fn case_rng(seed: u64, index: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    let mut state = seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// SplitMix64 (Steele, Lea and Flood): spreads a counter over 64 bits.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The lifecycles whose product and billing method an implementation
/// declared in `hello`: the only ones generated histories hold, and the
/// only ones whose rules and invariants it is judged on.
pub fn implemented_lifecycles(
    catalog: &Catalog,
    declaration: &crate::protocol::Declaration,
) -> BTreeSet<LifecycleId> {
    catalog
        .lifecycles
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let product = &catalog.document(l.doc).id;
            declaration
                .implements
                .iter()
                .any(|i| i.product == *product && i.billing.contains(&l.billing))
        })
        .map(|(i, _)| LifecycleId(i as u32))
        .collect()
}

/// The catalogs the model runs with: exactly the declared readings, or the
/// chosen reading and every accepted alternative.
pub fn reference_catalogs(
    judge: &Catalog,
    readings: &BTreeMap<String, String>,
) -> Result<Vec<Catalog>, String> {
    if readings.is_empty() {
        return Ok(judge.reading_variants());
    }
    let mut catalog = judge.clone();
    for (interpretation, reading) in readings {
        let i = judge
            .interpretations
            .iter()
            .position(|x| x.id == *interpretation)
            .ok_or_else(|| {
                format!("unknown interpretation `{interpretation}` in the declared readings")
            })?;
        catalog = catalog
            .with_reading(InterpretationId(i as u32), reading)
            .ok_or_else(|| {
                format!("interpretation `{interpretation}` has no reading `{reading}`")
            })?;
    }
    Ok(vec![catalog])
}

/// The instants to observe a scenario at: its own, and every instant the
/// reference model has an event.
pub fn observation_instants(reference: &Catalog, scenario: &Scenario) -> Vec<Offset> {
    reference_run(reference, scenario).0
}

/// The observation instants of a scenario, and the reference model's
/// events on it (what the history exercises under the readings in force).
fn reference_run(reference: &Catalog, scenario: &Scenario) -> (Vec<Offset>, Vec<TraceEvent>) {
    let events = crate::model::run(reference, &scenario.history, &[])
        .map(|t| t.events)
        .unwrap_or_default();
    (instants_with(scenario, &events), events)
}

/// The scenario's instants and those of `events`, in order, each once.
fn instants_with(scenario: &Scenario, events: &[TraceEvent]) -> Vec<Offset> {
    let start = scenario.history.start;
    let mut instants = scenario.observe.clone();
    instants.extend(events.iter().map(|e| Offset::between(start, e.at())));
    instants.sort();
    instants.dedup();
    instants
}

/// The instants a system was observed at, and what it reported.
type SystemRun = (Vec<Offset>, Result<Trace, SystemError>);

/// The lifecycle of each resource of a validated history.
type Lifecycles = std::collections::HashMap<String, LifecycleId>;

/// What a case exercised is judged on.
enum Reference {
    /// The system is the reference model: its own events, and the
    /// lifecycles its run's validation resolved.
    Own(Lifecycles),
    /// The reference model's events on the history.
    Events(Vec<TraceEvent>),
}

impl Context<'_> {
    /// Runs a scenario, observing at its instants and the model's event
    /// instants; if the system has events at other instants (it acts at
    /// other times than the model), runs it again observing there too, so
    /// that every state it passes through is observed.
    fn run(&self, scenario: &Scenario) -> SystemRun {
        self.run_with_reference(scenario).0
    }

    /// [`Context::run`], also returning the reference model's events and
    /// the lifecycles the history's validation resolved (`None` when the
    /// system is the reference model: its events are the model's, and the
    /// history was validated against the judge's own catalog).
    fn run_with_reference(&self, scenario: &Scenario) -> (SystemRun, Reference) {
        if let Some((instants, trace, lifecycles)) = self.folded_run(scenario) {
            return ((instants, Ok(trace)), Reference::Own(lifecycles));
        }
        let (mut instants, reference) = reference_run(&self.references[0], scenario);
        let reference = Reference::Events(reference);
        let trace = self.system.run(&scenario.history, &instants);
        let Ok(first) = &trace else {
            return ((instants, trace), reference);
        };
        let start = scenario.history.start;
        let own: BTreeSet<Offset> = first
            .events
            .iter()
            .map(|e| Offset::between(start, e.at()))
            .collect();
        let known: BTreeSet<Offset> = instants.iter().copied().collect();
        if own.is_subset(&known) {
            return ((instants, trace), reference);
        }
        instants = known.union(&own).copied().collect();
        let trace = self.system.run(&scenario.history, &instants);
        ((instants, trace), reference)
    }

    /// When the system is the reference model, [`Context::run`] in one
    /// model run: observed at the scenario's instants and wherever it logs
    /// an event. `None` where that run does not observe exactly the
    /// instants two runs would (an instant after the history's end, or an
    /// error): the caller then takes the two runs.
    fn folded_run(&self, scenario: &Scenario) -> Option<(Vec<Offset>, Trace, Lifecycles)> {
        if !self.system_is_reference {
            return None;
        }
        let history = &scenario.history;
        let reference = &self.references[0];
        // Validated once, for the run and for the checks: the reading in
        // force is the judge's own here, so both would resolve the same.
        let lifecycles: Lifecycles = history
            .validate(reference)
            .ok()?
            .into_iter()
            .map(|(k, v)| (k, v.lifecycle))
            .collect();
        let trace =
            crate::model::run_observing_validated(reference, history, &scenario.observe, None)
                .ok()?;
        let instants = instants_with(scenario, &trace.events);
        let mut expected: Vec<Offset> = instants.iter().chain(&history.observe).copied().collect();
        expected.sort();
        expected.dedup();
        let observed = trace.observations.iter().map(|o| o.at);
        observed
            .eq(expected.iter().map(|o| o.at(history.start)))
            .then_some((instants, trace, lifecycles))
    }

    fn divergence(
        &self,
        scenario: &Scenario,
        instants: &[Offset],
        trace: &Trace,
    ) -> Option<Divergence> {
        if !self.compare {
            return None;
        }
        // The model runs under another reading only when the ones before
        // it do not explain the trace: most traces agree with the chosen
        // reading, and each further reading costs a whole model run.
        // Same verdict as `compare::compare` over all of them at once.
        let mut references = self.references.iter().filter_map(|c| {
            crate::model::run(c, &scenario.history, instants)
                .ok()
                .map(|t| compare::Reference::new(c, t))
        });
        let first = references.next()?;
        let chosen = compare::compare(self.judge, std::slice::from_ref(&first), trace)?;
        for reference in references {
            compare::compare(self.judge, std::slice::from_ref(&reference), trace)?;
        }
        Some(chosen)
    }

    fn case(&self, scenario: &Scenario) -> CaseOutcome {
        let ((instants, trace), reference) = self.run_with_reference(scenario);
        match trace {
            Err(e) => CaseOutcome::Failed(e),
            Ok(trace) => {
                let rerun = |h: &History| self.system.run(h, &instants).ok();
                let evaluations = match &reference {
                    Reference::Own(lifecycles) => check::check_index(
                        self.judge,
                        &self.references,
                        &TraceIndex::with_lifecycles(&scenario.history, &trace, lifecycles),
                        Some(&rerun),
                    ),
                    Reference::Events(_) => check::check_trace(
                        self.judge,
                        &self.references,
                        &scenario.history,
                        &trace,
                        Some(&rerun),
                    ),
                };
                let divergence = self.divergence(scenario, &instants, &trace);
                // What the history exercised is what the model does with it
                // under the readings in force; the states are those the
                // system showed.
                let reference = match &reference {
                    Reference::Events(events) => events,
                    Reference::Own(_) => &trace.events,
                };
                let labels = self
                    .labeller
                    .label(reference, &trace.observations, &evaluations)
                    .into();
                CaseOutcome::Ran {
                    evaluations,
                    divergence,
                    labels,
                }
            }
        }
    }

    /// What `scenario` still breaks of check `which` (an invariant, or the
    /// comparison when `None`).
    fn fails(
        &self,
        scenario: &Scenario,
        which: Option<InvariantId>,
    ) -> Option<(Option<Violation>, Option<Divergence>)> {
        let (instants, trace) = self.run(scenario);
        let trace = trace.ok()?;
        match which {
            Some(id) => {
                let index = TraceIndex::new(self.judge, &scenario.history, &trace);
                let rerun = |h: &History| self.system.run(h, &instants).ok();
                check::evaluate(self.judge, &self.references, &index, id, Some(&rerun))
                    .violation
                    .map(|v| (Some(v), None))
            }
            None => self
                .divergence(scenario, &instants, &trace)
                .map(|d| (None, Some(d))),
        }
    }
}

type Found = (Option<Violation>, Option<Divergence>);

/// Shrinks a failing case with proptest, then by delta debugging.
fn shrink(
    ctx: &Context<'_>,
    mut tree: Box<dyn ValueTree<Value = Scenario>>,
    which: Option<InvariantId>,
    limit: u32,
    watch: &crate::progress::Watch,
) -> Option<(Scenario, Found, u32)> {
    let mut best = tree.current();
    let mut found = ctx.fails(&best, which)?;
    let mut steps = 0;
    let mut iterations = 0;
    if tree.simplify() {
        while iterations < limit {
            iterations += 1;
            watch.advance(1);
            let candidate = tree.current();
            match ctx.fails(&candidate, which) {
                Some(f) => {
                    best = candidate;
                    found = f;
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
    }
    // proptest shrinks the blueprint; removing a step there can shift what
    // later steps refer to, so finish on the concrete history.
    let (best, found, more) = minimize(ctx.judge, best, found, |s| ctx.fails(s, which));
    Some((best, found, steps + more))
}

/// Delta debugging on a concrete history: drop events, then resources and
/// accounts nothing refers to, then observation instants, then zero the
/// amounts, keeping each change that still fails.
pub fn minimize<F: Clone>(
    judge: &Catalog,
    mut best: Scenario,
    mut found: F,
    fails: impl Fn(&Scenario) -> Option<F>,
) -> (Scenario, F, u32) {
    let mut steps = 0;
    let attempt =
        |candidate: Scenario, best: &mut Scenario, found: &mut F, steps: &mut u32| -> bool {
            if candidate.history.validate(judge).is_err() {
                return false;
            }
            match fails(&candidate) {
                Some(f) => {
                    *best = candidate;
                    *found = f;
                    *steps += 1;
                    true
                }
                None => false,
            }
        };
    loop {
        let before = steps;
        // Whole accounts first, with their resources and events: a directed
        // case holds several independent worlds, and usually one of them
        // is the failure.
        for i in (0..best.history.accounts.len()).rev() {
            if best.history.accounts.len() > 1 && i < best.history.accounts.len() {
                let mut c = best.clone();
                let id = c.history.accounts.remove(i).id;
                let gone: BTreeSet<String> = c
                    .history
                    .resources
                    .iter()
                    .filter(|r| r.account == id)
                    .map(|r| r.id.clone())
                    .collect();
                c.history.resources.retain(|r| r.account != id);
                c.history.events.retain(|e| {
                    e.account() != Some(id.as_str())
                        && e.resource().is_none_or(|r| !gone.contains(r))
                });
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        for i in (0..best.history.events.len()).rev() {
            if i < best.history.events.len() {
                let mut c = best.clone();
                c.history.events.remove(i);
                attempt(c, &mut best, &mut found, &mut steps);
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
                attempt(c, &mut best, &mut found, &mut steps);
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
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        for i in (0..best.observe.len()).rev() {
            let mut c = best.clone();
            c.observe.remove(i);
            attempt(c, &mut best, &mut found, &mut steps);
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
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        if steps == before {
            return (best, found, steps);
        }
    }
}

fn citations(judge: &Catalog, ids: impl IntoIterator<Item = String>) -> Vec<RuleCitation> {
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

fn counterexample(
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

/// Why an invariant cannot be checked on a system that implements only
/// `implemented`.
fn skip_reason(
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

/// Runs `options.cases` generated histories through `system` and checks
/// every invariant of `judge` on what it reports (and, with
/// `options.compare`, every observation against the reference model).
///
/// A system that declared itself in the protocol's hello (a [`Driven`]
/// implementation) is run on the lifecycles it implements, under the
/// readings it declared, unless `options` already say otherwise.
///
/// [`Driven`]: crate::Driven
pub fn verify(judge: &Catalog, system: &dyn System, options: &VerifyOptions) -> VerifyReport {
    let declared = options.as_declared_by(judge, system);
    let options = declared.as_ref().unwrap_or(options);
    let references =
        reference_catalogs(judge, &options.readings).unwrap_or_else(|_| judge.reading_variants());
    // The reading in force is the judge's own when none is declared; a
    // declared reading makes it another catalog than the system's.
    let system_is_reference = system
        .reference_catalog()
        .is_some_and(|c| std::ptr::eq(c, judge))
        && references[0].applied_readings == judge.applied_readings;
    let ctx = Context {
        judge,
        references,
        system,
        compare: options.compare,
        system_is_reference,
        labeller: coverage::Labeller::new(judge),
    };
    let mut report = VerifyReport::empty(judge, options, system.describe());
    run_regressions(&ctx, options, &mut report);
    if report.protocol_error.is_none() {
        run_generated(&ctx, options, &mut report);
    }
    report.not_verified = not_verified(&report, options);
    report
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

/// Histories that failed before, first.
fn run_regressions(ctx: &Context<'_>, options: &VerifyOptions, report: &mut VerifyReport) {
    let judge = ctx.judge;
    let watch = &options.watch;
    if !options.regressions.is_empty() {
        watch.phase(
            "re-running regressions",
            options.regressions.len() as u64,
            "regressions",
        );
    }
    for r in &options.regressions {
        let outcome = ctx.case(&r.scenario);
        watch.advance(1);
        match outcome {
            CaseOutcome::Failed(e) => {
                let unsupported = e.kind == SystemErrorKind::Unsupported;
                let reason = unsupported.then(|| format!("unsupported: {}", e.message));
                let fails = record_failure(report, &format!("regression {}", r.name), e);
                let verdict = match (fails, unsupported) {
                    (true, _) => RegressionVerdict::Fails,
                    (false, true) => RegressionVerdict::Skipped,
                    (false, false) => RegressionVerdict::Passes,
                };
                report.regressions.push(RegressionOutcome {
                    name: r.name.clone(),
                    verdict,
                    reason,
                });
            }
            CaseOutcome::Ran {
                evaluations,
                divergence,
                ..
            } => {
                report.executed += 1;
                let mut fails = false;
                for e in &evaluations {
                    if let Some(v) = &e.violation {
                        fails = true;
                        report.counterexamples.push(counterexample(
                            judge,
                            Some(e.invariant),
                            r.scenario.clone(),
                            (Some(v.clone()), None),
                            0,
                            Some(r.name.clone()),
                        ));
                    }
                }
                if let Some(d) = divergence {
                    fails = true;
                    report.counterexamples.push(counterexample(
                        judge,
                        None,
                        r.scenario.clone(),
                        (None, Some(d)),
                        0,
                        Some(r.name.clone()),
                    ));
                }
                report.regressions.push(RegressionOutcome {
                    name: r.name.clone(),
                    verdict: if fails {
                        RegressionVerdict::Fails
                    } else {
                        RegressionVerdict::Passes
                    },
                    reason: None,
                });
            }
        }
    }
}

/// Every `DIRECTED_EVERY`th case (starting with case 1) is a directed one:
/// `RECIPES_PER_CASE` recipes of directed generation side by side, taken in
/// the order of their schedule (every transition's recipe first, then
/// rounds over the invariants), so that a default run fires every
/// transition and puts every invariant to the test many times.
const DIRECTED_EVERY: usize = 2;
const RECIPES_PER_CASE: usize = 6;

/// How the cases of a run are drawn: the random strategy, and the recipes
/// of directed generation.
struct Cases {
    strategy: proptest::strategy::SBoxedStrategy<Scenario>,
    targets: crate::directed::Targets,
    seed: u64,
}

impl Cases {
    fn new(ctx: &Context<'_>, options: &VerifyOptions) -> Cases {
        // Generation follows the readings in force: what settles, what the
        // recipes do, come from the catalog the system is judged under.
        let in_force = &ctx.references[0];
        let mut config = GenConfig::all(in_force);
        config.products = options.products.clone();
        config.max_steps = options.max_events;
        config.lifecycles = options.implemented.clone();
        let usable = crate::generate::usable_lifecycles(in_force, &config);
        Cases {
            strategy: crate::generate::scenarios(in_force, &config),
            targets: crate::directed::targets(in_force, &usable),
            seed: options.seed,
        }
    }

    /// The directed scenario of case `index`, if it is a directed case.
    fn directed(&self, index: usize) -> Option<Scenario> {
        if index % DIRECTED_EVERY != 1 {
            return None;
        }
        self.targets.case(index / DIRECTED_EVERY, RECIPES_PER_CASE)
    }

    /// The shrink tree of case `index`: the same every time it is drawn.
    fn tree(&self, index: usize) -> Box<dyn ValueTree<Value = Scenario>> {
        let mut runner = TestRunner::new_with_rng(
            Config {
                failure_persistence: None,
                ..Config::default()
            },
            case_rng(self.seed, index as u64),
        );
        if let Some(scenario) = self.directed(index) {
            // A directed case is one history; delta debugging shrinks it.
            return Box::new(DirectedTree(scenario));
        }
        // The generators have no filters, so a draw is never rejected; should
        // one be added, drawing again from the same stream stays
        // deterministic.
        for _ in 0..10_000 {
            if let Ok(tree) = self.strategy.new_tree(&mut runner) {
                return Box::new(tree);
            }
        }
        unreachable!("internal error: the history generator rejected 10,000 draws in a row")
    }
}

/// The shrink tree of a directed case: one value, which proptest cannot
/// simplify (delta debugging on the history does).
struct DirectedTree(Scenario);

impl ValueTree for DirectedTree {
    type Value = Scenario;

    fn current(&self) -> Scenario {
        self.0.clone()
    }

    fn simplify(&mut self) -> bool {
        false
    }

    fn complicate(&mut self) -> bool {
        false
    }
}

/// The generated cases: each drawn from its own seed, derived from the
/// run's seed and the case's index, so a case is the same whatever the
/// shard layout or thread count, generation runs in parallel, and a failing
/// case's shrink tree can be drawn again for every check it fails.
fn run_generated(ctx: &Context<'_>, options: &VerifyOptions, report: &mut VerifyReport) {
    let judge = ctx.judge;
    let cases = Cases::new(ctx, options);
    let mine: Vec<usize> = (0..options.cases as usize)
        .filter(|index| {
            options
                .shard
                .is_none_or(|(k, n)| *index as u32 % n == k - 1)
        })
        .collect();
    let watch = &options.watch;
    watch.phase("verifying", mine.len() as u64, "cases");
    let results: Vec<(usize, CaseOutcome)> = mine
        .par_iter()
        .map(|i| {
            let outcome = ctx.case(&cases.tree(*i).current());
            watch.advance(1);
            if let Some(failed) = outcome.failed_checks(judge) {
                watch.event(|| format!("case {i}: {failed}"));
            }
            (*i, outcome)
        })
        .collect();
    report.cases = results.len() as u32;
    let first_failure = tally(judge, &results, report);
    // Every failed check gets its own shrunk counterexample, even when
    // several first fail on the same case: each shrinks a fresh tree of
    // that case, keeping what makes *its* check fail.
    if report.protocol_error.is_none() {
        for (which, case) in first_failure {
            let name = check_name(judge, which);
            watch.phase(
                &format!("shrinking {name}"),
                u64::from(options.max_shrink_iters),
                "steps",
            );
            match shrink(
                ctx,
                cases.tree(case),
                which,
                options.max_shrink_iters,
                watch,
            ) {
                Some((scenario, found, steps)) => {
                    watch.event(|| {
                        format!(
                            "{name}: case {case} shrunk to {} events in {steps} steps",
                            scenario.history.events.len()
                        )
                    });
                    report
                        .counterexamples
                        .push(counterexample(judge, which, scenario, found, steps, None))
                }
                None => {
                    // The case no longer fails when run again: the system
                    // answers differently to the same history.
                    report.refused.push(format!(
                        "case {case}: {name} failed once, but not when the same history was run again; the system is not deterministic"
                    ));
                }
            }
            if report.protocol_error.is_some() {
                break;
            }
        }
    }
    coverage_verdict(ctx, options, &cases.targets, report);
}

/// Adds each case's outcome to the report; returns, per failed check (an
/// invariant, or the comparison as `None`), the first case it failed on.
fn tally(
    judge: &Catalog,
    results: &[(usize, CaseOutcome)],
    report: &mut VerifyReport,
) -> BTreeMap<Option<InvariantId>, usize> {
    let mut first_failure: BTreeMap<Option<InvariantId>, usize> = BTreeMap::new();
    // Where each invariant's summary is, found once rather than per case.
    let summaries: Vec<Option<usize>> = judge
        .invariants
        .iter()
        .map(|inv| report.invariants.iter().position(|s| s.invariant == inv.id))
        .collect();
    // Counted by catalog index; the names are looked up once, after.
    let mut coverage = coverage::Tally::new(judge);
    for (case, outcome) in results {
        match outcome {
            CaseOutcome::Failed(e) => {
                record_failure(report, &format!("case {case}"), e.clone());
            }
            CaseOutcome::Ran {
                evaluations,
                divergence,
                labels,
            } => {
                report.executed += 1;
                coverage.add(labels);
                for e in evaluations {
                    let Some(summary) = summaries[e.invariant.index()]
                        .and_then(|position| report.invariants.get_mut(position))
                    else {
                        continue;
                    };
                    if summary.skipped.is_some() {
                        continue;
                    }
                    summary.cases += usize::from(e.applicable);
                    summary.exercised += usize::from(e.exercised);
                    if e.violation.is_some() {
                        summary.violations += 1;
                        first_failure.entry(Some(e.invariant)).or_insert(*case);
                    }
                }
                if let Some(d) = &mut report.differential {
                    d.cases += 1;
                    if divergence.is_some() {
                        d.divergences += 1;
                        first_failure.entry(None).or_insert(*case);
                    }
                }
            }
        }
    }
    coverage.add_to(judge, &mut report.coverage);
    first_failure
}

/// What the run left unexercised, and the coverage gate's verdict on it.
fn coverage_verdict(
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
    report.unexercised_rules = report
        .coverage
        .unexercised_rules(judge, &product_list)
        .into_iter()
        .filter(|r| {
            // A rule about lifecycles the system does not implement cannot be exercised.
            options.implemented.as_ref().is_none_or(|imp| {
                judge
                    .rule_named(r)
                    .is_some_and(|id| exercisable(judge, judge.rule(id), &|l| imp.contains(&l)))
            }) && live_under_readings(in_force, r)
        })
        .map(String::from)
        .collect();
    // Transitions of implemented lifecycles that can fire under the
    // readings in force.
    report.unfired_transitions = report
        .coverage
        .unfired_transitions(judge, &product_list)
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
            options
                .implemented
                .as_ref()
                .is_none_or(|imp| imp.contains(&l))
                && crate::directed::enabled(in_force, (l, tr))
        })
        .collect();
    let under_exercised: Vec<(String, usize)> = report
        .invariants
        .iter()
        .filter(|s| s.skipped.is_none() && s.exercised < options.min_exercised)
        .map(|s| (s.invariant.clone(), s.exercised))
        .collect();
    let passed = report.unexercised_rules.is_empty()
        && report.unfired_transitions.is_empty()
        && under_exercised.is_empty();
    let transitions_allowed = judge
        .lifecycles
        .iter()
        .enumerate()
        .filter(|(l, lc)| {
            let l = LifecycleId(*l as u32);
            product_list.contains(&lc.doc)
                && options
                    .implemented
                    .as_ref()
                    .is_none_or(|imp| imp.contains(&l))
        })
        .map(|(l, lc)| {
            (0..lc.transitions.len())
                .filter(|t| crate::directed::enabled(in_force, (LifecycleId(l as u32), *t)))
                .count()
        })
        .sum();
    report.gate = Some(CoverageGate {
        min_exercised: options.min_exercised,
        transitions_allowed,
        enforced: options.coverage_gate && options.shard.is_none(),
        unreached_by_generation: targets.unreached.clone(),
        under_exercised,
        passed,
    });
}

/// Why a run verified nothing, if it did not: a run in which no history
/// was run to the end against the system, or whose generated cases
/// exercised no invariant at all, must not pass as if it had checked
/// something.
fn not_verified(report: &VerifyReport, options: &VerifyOptions) -> Option<String> {
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
fn exercisable(
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

/// Files a system's failure to run a case; returns whether it counts as a
/// failure of the system.
fn record_failure(report: &mut VerifyReport, what: &str, e: SystemError) -> bool {
    match e.kind {
        SystemErrorKind::Protocol => {
            if report.protocol_error.is_none() && !e.message.starts_with("not run:") {
                report.protocol_error = Some(e.message);
            }
            true
        }
        SystemErrorKind::Refused => {
            report.refused.push(format!("{what}: {}", e.message));
            true
        }
        SystemErrorKind::Unsupported => {
            report.skipped_cases.push(format!("{what}: {}", e.message));
            false
        }
    }
}

/// How verify's text report is laid out: `TextOptions::default()` is the
/// plain report without the per-rule table.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TextOptions {
    /// List every enforced rule with the number of cases that exercised it
    /// (`--coverage`); without it, only the rules nothing exercised.
    pub coverage_table: bool,
    /// Mark verdicts with ANSI styles (the command line strips them again
    /// where colour is off).
    pub styled: bool,
}

impl TextOptions {
    /// Lists every enforced rule with its cases (`--coverage`).
    pub fn coverage_table(mut self, on: bool) -> TextOptions {
        self.coverage_table = on;
        self
    }

    /// Marks verdicts with ANSI styles.
    pub fn styled(mut self, on: bool) -> TextOptions {
        self.styled = on;
        self
    }
}

/// Styles for verdict words; plain text when off.
#[derive(Clone, Copy)]
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    pub(crate) fn new(on: bool) -> Paint {
        Paint { on }
    }

    fn with(self, style: anstyle::Style, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// A verdict that fails the run.
    pub(crate) fn bad(self, text: &str) -> String {
        self.with(
            anstyle::AnsiColor::Red.on_default() | anstyle::Effects::BOLD,
            text,
        )
    }

    /// A verdict that passes.
    pub(crate) fn good(self, text: &str) -> String {
        self.with(anstyle::AnsiColor::Green.on_default(), text)
    }

    /// Something that does not fail the run but deserves a look.
    pub(crate) fn warn(self, text: &str) -> String {
        self.with(anstyle::AnsiColor::Yellow.on_default(), text)
    }
}

/// How much of what the run could exercise it did.
struct RuleCoverage<'a> {
    /// Rules of the run's products and implemented lifecycles that are
    /// enforced under the readings in force.
    enforced: Vec<&'a crate::spec::Rule>,
    covered: usize,
    /// Transitions of the implemented lifecycles.
    transitions: usize,
    /// Of those, the ones the readings in force let fire.
    allowed: usize,
}

impl<'a> RuleCoverage<'a> {
    fn of(judge: &'a Catalog, report: &VerifyReport) -> RuleCoverage<'a> {
        // Only what the system implements can be exercised: rules and
        // transitions of other lifecycles are left out of the counts.
        let implemented = |lifecycle: crate::spec::LifecycleId| {
            report
                .products
                .contains(&judge.document(judge.lifecycle(lifecycle).doc).id)
                && report
                    .implemented
                    .as_ref()
                    .is_none_or(|imp| imp.contains(&lifecycle.0))
        };
        let enforced: Vec<&crate::spec::Rule> = judge
            .rules
            .iter()
            .filter(|r| {
                r.not_modelled.is_none() && report.products.contains(&judge.document(r.doc).id)
            })
            .filter(|r| report.implemented.is_none() || exercisable(judge, r, &implemented))
            // A rule only another reading's transitions enforce is left out,
            // as the coverage verdict leaves it out.
            .filter(|r| {
                report.coverage.rules.contains_key(&r.id)
                    || report.unexercised_rules.contains(&r.id)
            })
            .collect();
        let covered = enforced
            .iter()
            .filter(|r| report.coverage.rules.contains_key(&r.id))
            .count();
        let transitions: usize = (0..judge.lifecycles.len())
            .map(|i| crate::spec::LifecycleId(i as u32))
            .filter(|l| implemented(*l))
            .map(|l| judge.lifecycle(l).transitions.len())
            .sum();
        // Transitions another reading enables cannot fire under these.
        let allowed = report
            .gate
            .as_ref()
            .map_or(transitions, |g| g.transitions_allowed);
        RuleCoverage {
            enforced,
            covered,
            transitions,
            allowed,
        }
    }
}

/// The report as text: the invariant table, the counterexamples, and the
/// rule coverage (the whole table with `options.coverage_table`, else only
/// what was left unexercised).
pub fn report_text(judge: &Catalog, report: &VerifyReport, options: TextOptions) -> String {
    let paint = Paint::new(options.styled);
    let mut out = String::new();
    out.push_str(&format!("arrears verify: {}\n", report.system));
    out.push_str(&format!(
        "seed {}, {} cases{}, products: {}\n",
        report.seed,
        report.cases,
        report
            .shard
            .map(|(k, n)| format!(" (shard {k}/{n})"))
            .unwrap_or_default(),
        report.products.join(", ")
    ));
    if let Some(e) = &report.protocol_error {
        out.push_str(&format!("\n{}: {e}\n", paint.bad("PROTOCOL VIOLATION")));
        return out;
    }
    for r in &report.regressions {
        let verdict = match r.verdict {
            RegressionVerdict::Fails => paint.bad("FAILS"),
            RegressionVerdict::Passes => paint.good("passes"),
            RegressionVerdict::Skipped => paint.warn(&format!(
                "skipped ({})",
                r.reason.as_deref().unwrap_or("not run")
            )),
        };
        out.push_str(&format!("regression {}: {verdict}\n", r.name));
    }
    out.push('\n');
    invariant_table(&mut out, report, paint);
    counterexamples_text(&mut out, report, paint);
    for e in &report.refused {
        out.push_str(&format!("\n{} {e}\n", paint.bad("REFUSED")));
    }
    if !report.skipped_cases.is_empty() {
        out.push_str(&format!(
            "\n{} cases skipped as unsupported, the first: {}\n",
            report.skipped_cases.len(),
            report.skipped_cases[0]
        ));
    }
    coverage_text(&mut out, judge, report, options, paint);
    if let Some(why) = &report.not_verified {
        out.push_str(&format!("\n{}: {why}\n", paint.bad("NOTHING VERIFIED")));
    }
    out
}

/// One line per invariant with its verdict, then the comparison's, then
/// the count.
fn invariant_table(out: &mut String, report: &VerifyReport, paint: Paint) {
    let w = report
        .invariants
        .iter()
        .map(|s| s.invariant.len())
        .max()
        .unwrap_or(9)
        .max(12);
    out.push_str(&format!(
        "{:w$}  {:>6}  {:>9}  verdict\n",
        "invariant", "cases", "exercised"
    ));
    for s in &report.invariants {
        let verdict = if let Some(reason) = &s.skipped {
            paint.warn(&format!("skipped ({reason})"))
        } else if s.violations > 0 {
            paint.bad(&format!("VIOLATED in {} cases", s.violations))
        } else if s.exercised == 0 {
            paint.warn("holds (never exercised)")
        } else {
            paint.good("holds")
        };
        out.push_str(&format!(
            "{:w$}  {:>6}  {:>9}  {verdict}\n",
            s.invariant, s.cases, s.exercised
        ));
    }
    if let Some(d) = &report.differential {
        let verdict = if d.divergences > 0 {
            paint.bad(&format!("DIVERGES in {} cases", d.divergences))
        } else {
            paint.good("matches the model")
        };
        out.push_str(&format!(
            "{:w$}  {:>6}  {:>9}  {verdict}\n",
            DIFFERENTIAL, d.cases, d.cases
        ));
    }
    let counts = InvariantCounts::of(report);
    out.push_str(&format!(
        "{} invariants: {} hold, {} violated, {} skipped\n",
        report.invariants.len(),
        counts.hold,
        counts.violated,
        counts.skipped
    ));
}

/// Each counterexample: the rules it breaks, what was seen, and the
/// minimal history.
fn counterexamples_text(out: &mut String, report: &VerifyReport, paint: Paint) {
    for c in &report.counterexamples {
        out.push_str(&format!(
            "\n{} {}{}\n",
            paint.bad(if c.check == DIFFERENTIAL {
                "DIVERGES"
            } else {
                "VIOLATED"
            }),
            c.check,
            c.regression
                .as_ref()
                .map(|r| format!(" (regression {r})"))
                .unwrap_or_default()
        ));
        for r in &c.rules {
            out.push_str(&format!(
                "  rule {} [{}]: \"{}\"\n    {}\n",
                r.rule, r.section, r.anchor, r.statement
            ));
        }
        out.push_str(&format!(
            "  at {}: {}\n",
            crate::timeline::day_label(c.history.start, c.at()),
            c.message()
        ));
        out.push_str(&format!(
            "  minimal history ({} events, after {} shrinking steps):\n",
            c.events, c.shrink_steps
        ));
        for line in c.history.to_yaml().lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
}

/// The rule-coverage line, the table or what it left out, and the
/// coverage gate's findings.
fn coverage_text(
    out: &mut String,
    judge: &Catalog,
    report: &VerifyReport,
    options: TextOptions,
    paint: Paint,
) {
    let coverage = RuleCoverage::of(judge, report);
    let (transitions, allowed) = (coverage.transitions, coverage.allowed);
    out.push_str(&format!(
        "\nrule coverage: {} of {} enforced rules exercised; {} of the {allowed} transitions the readings in force allow fired{}\n",
        coverage.covered,
        coverage.enforced.len(),
        allowed.saturating_sub(report.unfired_transitions.len()),
        if allowed < transitions {
            format!(" ({} more need other readings)", transitions - allowed)
        } else {
            String::new()
        }
    ));
    let w = coverage
        .enforced
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    if options.coverage_table {
        out.push_str(&format!("{:w$}  {:>6}\n", "rule", "cases"));
    }
    for r in &coverage.enforced {
        match report.coverage.rules.get(&r.id) {
            Some(n) if options.coverage_table => {
                out.push_str(&format!("{:w$}  {:>6}\n", r.id, n));
            }
            Some(_) => {}
            None => out.push_str(&format!(
                "{:w$}  {:>6}  {}\n",
                r.id,
                0,
                paint.warn("NOT EXERCISED")
            )),
        }
    }
    for t in &report.unfired_transitions {
        out.push_str(&format!("transition never fired: {t}\n"));
    }
    if let Some(gate) = &report.gate {
        for (inv, n) in &gate.under_exercised {
            out.push_str(&format!(
                "invariant exercised in {n} cases, fewer than {}: {inv}\n",
                gate.min_exercised
            ));
        }
        for t in &gate.unreached_by_generation {
            out.push_str(&format!("no generated history reaches: {t}\n"));
        }
        if !gate.passed {
            let verdict = if gate.enforced {
                paint.bad("COVERAGE GATE FAILED")
            } else {
                paint.warn("COVERAGE GATE not met")
            };
            out.push_str(&format!(
                "\n{verdict}: the run did not reach every enforced rule and transition, and every invariant in {} cases{}\n",
                gate.min_exercised,
                if gate.enforced {
                    " (raise --cases, or see docs/coverage.md)"
                } else if report.shard.is_some() {
                    " (a shard sees part of the cases; the gate applies to whole runs)"
                } else {
                    " (--no-coverage-gate)"
                }
            ));
        }
    }
}

/// The invariants by verdict.
struct InvariantCounts {
    hold: usize,
    violated: usize,
    skipped: usize,
}

impl InvariantCounts {
    fn of(report: &VerifyReport) -> InvariantCounts {
        let violated = report
            .invariants
            .iter()
            .filter(|s| s.violations > 0)
            .count();
        let skipped = report
            .invariants
            .iter()
            .filter(|s| s.skipped.is_some())
            .count();
        InvariantCounts {
            hold: report.invariants.len() - violated - skipped,
            violated,
            skipped,
        }
    }
}

/// The one line a run ends with: the verdict, rule coverage, cases and
/// (when given) the time the run took and where its counterexamples went,
/// e.g. `arrears: 61 invariants hold, 120/120 rules exercised, 512 cases, 2.1 s`.
pub fn summary_line(
    judge: &Catalog,
    report: &VerifyReport,
    elapsed: Option<std::time::Duration>,
    counterexamples_in: Option<&std::path::Path>,
    styled: bool,
) -> String {
    let paint = Paint::new(styled);
    let mut parts: Vec<String> = Vec::new();
    let counts = InvariantCounts::of(report);
    let total = report.invariants.len();
    if let Some(e) = &report.protocol_error {
        parts.push(paint.bad(&format!("the implementation broke the protocol ({e})")));
    } else {
        parts.push(if counts.violated > 0 {
            paint.bad(&format!(
                "{} of {total} invariants violated",
                counts.violated
            ))
        } else {
            paint.good(&format!("{} invariants hold", counts.hold))
        });
        if counts.skipped > 0 {
            parts.push(paint.warn(&format!("{} skipped", counts.skipped)));
        }
        if report
            .differential
            .as_ref()
            .is_some_and(|d| d.divergences > 0)
        {
            parts.push(paint.bad("the implementation diverges from the model"));
        }
        if !report.refused.is_empty() {
            parts.push(paint.bad(&format!("{} refused", report.refused.len())));
        }
        let coverage = RuleCoverage::of(judge, report);
        let rules = format!(
            "{}/{} rules exercised",
            coverage.covered,
            coverage.enforced.len()
        );
        parts.push(match &report.gate {
            Some(g) if !g.passed && g.enforced => {
                paint.bad(&format!("{rules}, coverage gate failed"))
            }
            _ if coverage.covered < coverage.enforced.len() => paint.warn(&rules),
            _ => rules,
        });
        if let Some(why) = &report.not_verified {
            parts.push(paint.bad(&format!("nothing verified ({why})")));
        }
    }
    parts.push(format!("{} cases", report.cases));
    if !report.regressions.is_empty() {
        parts.push(format!("{} regressions", report.regressions.len()));
    }
    if let Some(t) = elapsed {
        parts.push(format!("{:.1} s", t.as_secs_f64()));
    }
    let mut line = format!("arrears: {}", parts.join(", "));
    if let Some(dir) = counterexamples_in.filter(|_| !report.counterexamples.is_empty()) {
        line.push_str(&format!(
            "; {} counterexamples written to {}",
            report.counterexamples.len(),
            dir.display()
        ));
    }
    line
}
