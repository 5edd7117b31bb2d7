//! The state-and-event patterns (absence, universality, existence,
//! response, precedence), judged resource by resource over the snapshots
//! and facts of a [`TraceIndex`]: for each, whether it was put to the test
//! and its earliest violation.

use std::cell::RefCell;

use chrono::{DateTime, Utc};

use super::{Evaluator, Snapshot, TraceIndex, Violation, describe, describe_event, violation};
use crate::spec::{Catalog, DurationExpr, EventPredicate, InvariantDef, Pattern, Predicate};

/// The state-and-event patterns, evaluated resource by resource.
pub(super) fn temporal(
    judge: &Catalog,
    params: &Catalog,
    inv: &InvariantDef,
    pattern: &Pattern,
    index: &TraceIndex<'_>,
) -> (bool, Option<Violation>) {
    let eval = Evaluator {
        params,
        index,
        first_happened: RefCell::new(Vec::new()),
    };
    let mut verdict = Verdict {
        judge,
        inv,
        exercised: false,
        worst: None,
    };
    let obligation = Obligation::of(pattern);
    for subject in index.subjects(&inv.subjects) {
        match pattern {
            Pattern::Absence { never, scope }
            | Pattern::Universality {
                always: never,
                scope,
            } => {
                let absence = matches!(pattern, Pattern::Absence { .. });
                never_or_always(
                    &eval,
                    subject,
                    (never, absence),
                    scope.as_ref(),
                    &mut verdict,
                );
            }
            Pattern::Response { .. } | Pattern::Existence { .. } => {
                if let Some(obligation) = &obligation {
                    response(&eval, subject, obligation, &mut verdict);
                }
            }
            Pattern::Precedence { effect, cause } => {
                precedence(&eval, subject, (effect, cause), &mut verdict);
            }
            Pattern::Structural(_) => {}
        }
    }
    (verdict.exercised, verdict.worst)
}

/// What one temporal pattern has found so far over its subjects: whether
/// it was put to the test, and its earliest violation.
struct Verdict<'a> {
    judge: &'a Catalog,
    inv: &'a InvariantDef,
    exercised: bool,
    worst: Option<Violation>,
}

impl Verdict<'_> {
    /// Keeps a violation on `resource` if it is earlier than any kept.
    fn keep(
        &mut self,
        resource: &str,
        at: DateTime<Utc>,
        message: String,
        observation: Option<serde_json::Value>,
    ) {
        if self.worst.as_ref().is_none_or(|w| at < w.at) {
            self.worst = Some(violation(
                self.inv,
                self.judge,
                Some(resource),
                at,
                message,
                observation,
            ));
        }
    }
}

/// A response or existence pattern, read as one obligation: after
/// `trigger` (where `given` held just before it), `expect` holds within
/// `within`, unless an `unless` event excuses it.
struct Obligation<'a> {
    trigger: &'a EventPredicate,
    given: Option<&'a Predicate>,
    expect: &'a Predicate,
    within: Option<&'a DurationExpr>,
    unless: &'a [EventPredicate],
}

impl<'a> Obligation<'a> {
    fn of(pattern: &'a Pattern) -> Option<Self> {
        match pattern {
            Pattern::Response {
                trigger,
                given,
                expect,
                within,
                unless,
            } => Some(Obligation {
                trigger,
                given: given.as_ref(),
                expect,
                within: within.as_ref(),
                unless,
            }),
            Pattern::Existence {
                after,
                eventually,
                within,
                unless,
            } => Some(Obligation {
                trigger: after,
                given: None,
                expect: eventually,
                within: within.as_ref(),
                unless,
            }),
            _ => None,
        }
    }
}

/// Absence and universality on one subject: `predicate` must never hold
/// (`absence`) or always hold wherever `scope` holds; the first snapshot
/// that breaks it is kept.
fn never_or_always(
    eval: &Evaluator<'_, '_>,
    subject: usize,
    (never, absence): (&Predicate, bool),
    scope: Option<&Predicate>,
    verdict: &mut Verdict<'_>,
) {
    let index = eval.index;
    // A pattern about entering a state is judged at the instant
    // of entry (the observation's `since`), so it holds whenever
    // the entry is observed, even long after it.
    let at_entry = mentions_entered(never);
    // A snapshot that shows what the last one judged showed gives the same
    // answer, unless a predicate reads the instant itself (judged at entry,
    // the instant is the observation's own `since`).
    let reads_the_clock = !at_entry && (reads_instant(never) || scope.is_some_and(reads_instant));
    let mut last_judged: Option<&Snapshot<'_>> = None;
    // Whether the observations alone decided the last snapshot judged (out
    // of scope, or in scope with the predicate decided): then one that
    // shows the same gets the same answer, even where the pattern reads the
    // clock. Most snapshots of a resource at rest are out of an overdue
    // scope, and this spares them the clock.
    let mut last_decided = !reads_the_clock;
    for observed in index.snapshots(subject) {
        if last_decided && last_judged.is_some_and(|last| shows_the_same(last, observed)) {
            continue;
        }
        last_judged = Some(observed);
        let shifted;
        let snap = if at_entry {
            shifted = Snapshot {
                at: observed.resource.since,
                ..*observed
            };
            &shifted
        } else {
            observed
        };
        let (in_scope, scope_decided) = match scope {
            None => (true, true),
            Some(s) if reads_the_clock => eval.holds_decided(s, subject, snap),
            Some(s) => (eval.holds(s, subject, snap), true),
        };
        if !in_scope {
            last_decided = scope_decided;
            continue;
        }
        verdict.exercised = true;
        let p = if reads_the_clock {
            let (p, decided) = eval.holds_decided(never, subject, snap);
            last_decided = scope_decided && decided;
            p
        } else {
            eval.holds(never, subject, snap)
        };
        if p == absence {
            let what = if absence {
                "holds, and it must never"
            } else {
                "does not hold, and it must always"
            };
            verdict.keep(
                index.resource_id(subject),
                snap.at,
                format!(
                    "{} {what} while the scope holds (state {})",
                    describe(never),
                    snap.resource.state
                ),
                serde_json::to_value(snap.resource).ok(),
            );
            break;
        }
    }
}

/// Precedence on one subject: every `effect` event has a `cause` event at
/// or before it; the first effect without one is kept.
fn precedence(
    eval: &Evaluator<'_, '_>,
    subject: usize,
    (effect, cause): (&EventPredicate, &EventPredicate),
    verdict: &mut Verdict<'_>,
) {
    let index = eval.index;
    for (at, event) in index.events_of(subject) {
        if !eval.event_matches(effect, subject, event) {
            continue;
        }
        verdict.exercised = true;
        let caused = index
            .events_of(subject)
            .any(|(t, e)| t <= at && eval.event_matches(cause, subject, e));
        if !caused {
            verdict.keep(
                index.resource_id(subject),
                at,
                format!(
                    "{} happened without {} before it",
                    describe_event(effect),
                    describe_event(cause)
                ),
                None,
            );
            break;
        }
    }
}

/// A response or existence obligation on one subject: each trigger is
/// judged on the first snapshot at or after its deadline; the first
/// unmet one is kept.
fn response(
    eval: &Evaluator<'_, '_>,
    subject: usize,
    obligation: &Obligation<'_>,
    verdict: &mut Verdict<'_>,
) {
    let Obligation {
        trigger,
        given,
        expect,
        within,
        unless,
    } = *obligation;
    let index = eval.index;
    let delay = within.map(|d| eval.params.duration(d)).unwrap_or_default();
    for (at, event) in index.events_of(subject) {
        if !eval.event_matches(trigger, subject, event) {
            continue;
        }
        if let Some(g) = given {
            // The condition is read on the last observation before the trigger.
            match index.snapshot_before(subject, at) {
                Some(snap) if eval.holds(g, subject, snap) => {}
                _ => continue,
            }
        }
        let deadline = at + delay;
        let Some(snap) = index.snapshot_at_or_after(subject, deadline) else {
            continue; // the trace ends before the deadline: nothing to judge
        };
        // An excuse at the trigger's own instant counts: the two happened
        // together, and the observation shows both.
        let excused = index.events_of(subject).any(|(t, e)| {
            t >= at && t <= snap.at && unless.iter().any(|u| eval.event_matches(u, subject, e))
        });
        if excused {
            continue;
        }
        verdict.exercised = true;
        if !eval.holds(expect, subject, snap) {
            verdict.keep(
                index.resource_id(subject),
                snap.at,
                format!(
                    "after {} at {at}, {} should hold by {deadline} but the state is {}",
                    describe_event(trigger),
                    describe(expect),
                    snap.resource.state
                ),
                serde_json::to_value(snap.resource).ok(),
            );
            return;
        }
    }
}

/// Whether two snapshots of one subject show the same to every predicate
/// that does not read the instant: the same resource and parent
/// observations (a system that hands on an unchanged observation hands on
/// the same one, so this is a comparison of addresses), and the same
/// standing of the account, the only thing of the account such a predicate
/// reads.
fn shows_the_same(a: &Snapshot<'_>, b: &Snapshot<'_>) -> bool {
    let same_parent = match (a.parent, b.parent) {
        (Some(x), Some(y)) => std::ptr::eq(x, y),
        (None, None) => true,
        _ => false,
    };
    std::ptr::eq(a.resource, b.resource)
        && same_parent
        && a.account.map(|x| x.overdue_since) == b.account.map(|x| x.overdue_since)
}

/// Whether a predicate's truth can change with the instant it is judged
/// at while the observations stay the same: time elapsed, entering a state
/// (now), and whether an event has happened yet.
fn reads_instant(p: &Predicate) -> bool {
    match p {
        Predicate::Elapsed { .. } | Predicate::Entered(_) | Predicate::Happened(_) => true,
        Predicate::Not(inner) | Predicate::Parent(inner) => reads_instant(inner),
        Predicate::All(items) | Predicate::Any(items) => items.iter().any(reads_instant),
        Predicate::State(_)
        | Predicate::Serving(_)
        | Predicate::Data(_)
        | Predicate::Billing(_)
        | Predicate::Operation { .. }
        | Predicate::Overdue(_)
        | Predicate::AccountOverdue(_)
        | Predicate::Param { .. } => false,
    }
}

fn mentions_entered(p: &Predicate) -> bool {
    match p {
        Predicate::Entered(_) => true,
        Predicate::Not(inner) | Predicate::Parent(inner) => mentions_entered(inner),
        Predicate::All(items) | Predicate::Any(items) => items.iter().any(mentions_entered),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{compile, sources::embedded};

    /// An absence or universality pattern judged at every snapshot, with
    /// nothing skipped: whether it was exercised, and where it first broke.
    fn judged_everywhere(
        eval: &Evaluator<'_, '_>,
        subject: usize,
        (never, absence): (&Predicate, bool),
        scope: Option<&Predicate>,
    ) -> (bool, Option<DateTime<Utc>>) {
        let at_entry = mentions_entered(never);
        let mut exercised = false;
        for observed in eval.index.snapshots(subject) {
            let snap = Snapshot {
                at: if at_entry {
                    observed.resource.since
                } else {
                    observed.at
                },
                ..*observed
            };
            if scope.is_some_and(|s| !eval.holds(s, subject, &snap)) {
                continue;
            }
            exercised = true;
            if eval.holds(never, subject, &snap) == absence {
                return (true, Some(snap.at));
            }
        }
        (exercised, None)
    }

    /// The specs with ECS's overdue clock cut short, so that a model
    /// run under them breaks the real specs' time-bound invariants.
    fn hurried() -> crate::spec::Catalog {
        let sources = embedded()
            .into_iter()
            .map(|mut s| {
                if s.name.ends_with("ecs.yaml") {
                    let before = s.text.clone();
                    s.text = s.text.replacen(
                        "- id: ecs.stop-after-overdue\n    value: 15",
                        "- id: ecs.stop-after-overdue\n    value: 9",
                        1,
                    );
                    assert_ne!(
                        s.text, before,
                        "the parameter to cut is where the test expects"
                    );
                }
                s
            })
            .collect::<Vec<_>>();
        compile(&sources).unwrap()
    }

    /// Skipping a snapshot that shows what the last one judged showed, and
    /// the observations alone decided, changes no verdict: on long fleet
    /// accounts run under the real specs and under hurried ones, every
    /// absence and universality pattern finds what judging every snapshot
    /// finds, violations included.
    #[test]
    fn skipping_decided_snapshots_changes_no_verdict() {
        let judge = compile(&embedded()).unwrap();
        let hurried = hurried();
        let (mut compared, mut exercised, mut broken) = (0, 0, 0);
        for model in [&judge, &hurried] {
            let menu =
                crate::fleet::account::Menu::new(model, &crate::fleet::mix::Mix::default_mix());
            for account in 0..100 {
                let history = menu.account(11, account, 90).history;
                let (trace, _) = crate::fleet::observed_run(model, &history, 90).unwrap();
                let index = TraceIndex::new(&judge, &history, &trace);
                let eval = Evaluator {
                    params: &judge,
                    index: &index,
                    first_happened: RefCell::new(Vec::new()),
                };
                for inv in &judge.invariants {
                    let (never, absence, scope) = match &inv.pattern {
                        Pattern::Absence { never, scope } => (never, true, scope.as_ref()),
                        Pattern::Universality { always, scope } => (always, false, scope.as_ref()),
                        _ => continue,
                    };
                    for subject in index.subjects(&inv.subjects) {
                        let mut verdict = Verdict {
                            judge: &judge,
                            inv,
                            exercised: false,
                            worst: None,
                        };
                        never_or_always(&eval, subject, (never, absence), scope, &mut verdict);
                        let skipped = (verdict.exercised, verdict.worst.map(|w| w.at));
                        let everywhere = judged_everywhere(&eval, subject, (never, absence), scope);
                        assert_eq!(
                            skipped,
                            everywhere,
                            "{} on {} of account {account}",
                            inv.id,
                            index.resource_id(subject)
                        );
                        compared += 1;
                        exercised += usize::from(everywhere.0);
                        broken += usize::from(everywhere.1.is_some());
                    }
                }
            }
        }
        // Not vacuous: patterns were put to the test and some broke.
        assert!(compared > 1000, "{compared} verdicts compared");
        assert!(exercised > 100, "{exercised} exercised");
        assert!(broken > 0, "{broken} broken");
    }
}
