//! The run: regressions first, then the generated cases in parallel,
//! tallied in order, each failed check shrunk to its own counterexample,
//! and the coverage verdict last.

use std::collections::BTreeMap;

use proptest::strategy::ValueTree;
use rayon::prelude::*;

use super::case::{CaseOutcome, Context};
use super::counterexample::{check_name, counterexample};
use super::gate::{coverage_verdict, not_verified};
use super::options::VerifyOptions;
use super::plan::{Cases, reference_catalogs};
use super::report::{RegressionOutcome, RegressionVerdict, VerifyReport};
use super::shrink::shrink;
use super::{System, SystemError, SystemErrorKind};
use crate::coverage;
use crate::spec::{Catalog, InvariantId};

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

/// Histories that failed before, first.
pub(super) fn run_regressions(
    ctx: &Context<'_>,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) {
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

/// The generated cases: each drawn from its own seed, derived from the
/// run's seed and the case's index, so a case is the same whatever the
/// shard layout or thread count, generation runs in parallel, and a failing
/// case's shrink tree can be drawn again for every check it fails.
pub(super) fn run_generated(ctx: &Context<'_>, options: &VerifyOptions, report: &mut VerifyReport) {
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
    report.cases = mine.len() as u32;
    let mut tally = Tally::new(judge, report);
    // Run in parallel a slice at a time and added up in case order as each
    // slice ends, so a run holds one slice's outcomes at a time, not every
    // case's: memory stays flat however many cases are asked for.
    for slice in mine.chunks(CASES_PER_SLICE) {
        let results: Vec<(usize, CaseOutcome)> = slice
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
        for (case, outcome) in &results {
            tally.add(report, *case, outcome);
        }
    }
    let first_failure = tally.finish(judge, report);
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

/// How many generated cases run between two additions to the report: enough
/// that the threads rarely wait for each other at a slice's end, few enough
/// that the outcomes held at once stay a few megabytes.
const CASES_PER_SLICE: usize = 2048;

/// The cases' outcomes added to the report in case order; remembers, per
/// failed check (an invariant, or the comparison as `None`), the first case
/// it failed on.
pub(super) struct Tally {
    first_failure: BTreeMap<Option<InvariantId>, usize>,
    /// Where each invariant's summary is in the report, found once rather
    /// than per case.
    summaries: Vec<Option<usize>>,
    /// Counted by catalog index; the names are looked up once, at the end.
    coverage: coverage::Tally,
}

impl Tally {
    pub(super) fn new(judge: &Catalog, report: &VerifyReport) -> Tally {
        Tally {
            first_failure: BTreeMap::new(),
            summaries: judge
                .invariants
                .iter()
                .map(|inv| report.invariants.iter().position(|s| s.invariant == inv.id))
                .collect(),
            coverage: coverage::Tally::new(judge),
        }
    }

    /// Adds one case's outcome; cases come in their order.
    pub(super) fn add(&mut self, report: &mut VerifyReport, case: usize, outcome: &CaseOutcome) {
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
                self.coverage.add(labels);
                for e in evaluations {
                    let Some(summary) = self.summaries[e.invariant.index()]
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
                        self.first_failure.entry(Some(e.invariant)).or_insert(case);
                    }
                }
                if let Some(d) = &mut report.differential {
                    d.cases += 1;
                    if divergence.is_some() {
                        d.divergences += 1;
                        self.first_failure.entry(None).or_insert(case);
                    }
                }
            }
        }
    }

    /// Adds the coverage counted to the report; the first failing case of
    /// each failed check.
    pub(super) fn finish(
        self,
        judge: &Catalog,
        report: &mut VerifyReport,
    ) -> BTreeMap<Option<InvariantId>, usize> {
        self.coverage.add_to(judge, &mut report.coverage);
        self.first_failure
    }
}

/// Files a system's failure to run a case; returns whether it counts as a
/// failure of the system.
pub(super) fn record_failure(report: &mut VerifyReport, what: &str, e: SystemError) -> bool {
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
