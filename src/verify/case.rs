//! Running one case: a history through the system (and the reference
//! model, to learn where to observe and, when asked, to compare), every
//! invariant checked on what the system reported, and what the case
//! exercised labelled for coverage.

use std::collections::BTreeSet;

use super::counterexample::check_name;
use super::report::DIFFERENTIAL;
use super::{System, SystemError};
use crate::check::{self, Evaluation, TraceIndex, Violation};
use crate::compare::{self, Divergence};
use crate::coverage;
use crate::generate::Scenario;
use crate::history::{History, Offset};
use crate::observation::{Trace, TraceEvent};
use crate::spec::{Catalog, InvariantId, LifecycleId};

/// What one case gave.
pub(super) enum CaseOutcome {
    Ran {
        evaluations: Vec<Evaluation>,
        divergence: Option<Divergence>,
        labels: Box<coverage::Labels>,
    },
    Failed(SystemError),
}

impl CaseOutcome {
    /// What failed in this case, in words for a log; `None` when nothing did.
    pub(super) fn failed_checks(&self, judge: &Catalog) -> Option<String> {
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

/// Everything a case needs, shared by all cases of a run.
pub(super) struct Context<'a> {
    pub(super) judge: &'a Catalog,
    /// The model's catalogs: the chosen (or declared) reading first, then
    /// the other accepted readings.
    pub(super) references: Vec<Catalog>,
    pub(super) system: &'a dyn System,
    pub(super) compare: bool,
    /// The system is the model under the reading in force
    /// (`references[0]`): one run observes it at its own event instants.
    pub(super) system_is_reference: bool,
    pub(super) labeller: coverage::Labeller<'a>,
}

/// The instants to observe a scenario at: its own, and every instant the
/// reference model has an event.
pub fn observation_instants(reference: &Catalog, scenario: &Scenario) -> Vec<Offset> {
    reference_run(reference, scenario).0
}

/// The observation instants of a scenario, and the reference model's
/// events on it (what the history exercises under the readings in force).
pub(super) fn reference_run(
    reference: &Catalog,
    scenario: &Scenario,
) -> (Vec<Offset>, Vec<TraceEvent>) {
    let events = crate::model::run(reference, &scenario.history, &[])
        .map(|t| t.events)
        .unwrap_or_default();
    (instants_with(scenario, &events), events)
}

/// The scenario's instants and those of `events`, in order, each once.
pub(super) fn instants_with(scenario: &Scenario, events: &[TraceEvent]) -> Vec<Offset> {
    let start = scenario.history.start;
    let mut instants = scenario.observe.clone();
    instants.extend(events.iter().map(|e| Offset::between(start, e.at())));
    instants.sort();
    instants.dedup();
    instants
}

/// The instants a system was observed at, and what it reported.
pub(super) type SystemRun = (Vec<Offset>, Result<Trace, SystemError>);

/// The lifecycle of each resource of a validated history.
pub(super) type Lifecycles = std::collections::HashMap<String, LifecycleId>;

/// What a case exercised is judged on.
pub(super) enum Reference {
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
    pub(super) fn run(&self, scenario: &Scenario) -> SystemRun {
        self.run_with_reference(scenario).0
    }

    /// [`Context::run`], also returning the reference model's events and
    /// the lifecycles the history's validation resolved (`None` when the
    /// system is the reference model: its events are the model's, and the
    /// history was validated against the judge's own catalog).
    pub(super) fn run_with_reference(&self, scenario: &Scenario) -> (SystemRun, Reference) {
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
    pub(super) fn folded_run(
        &self,
        scenario: &Scenario,
    ) -> Option<(Vec<Offset>, Trace, Lifecycles)> {
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

    pub(super) fn divergence(
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

    pub(super) fn case(&self, scenario: &Scenario) -> CaseOutcome {
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
    pub(super) fn fails(
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
