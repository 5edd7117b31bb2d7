//! The invariant checker: evaluates every invariant of the specs over a
//! trace, the model's or an implementation's.
//!
//! An invariant is a documented consequence stated apart from the
//! transitions that produce it (see `docs/spec-format.md`): a pattern
//! (absence, universality, existence, response, precedence, or a structural
//! check) over predicates on observations and events. The checker reads only
//! the history (what was asked) and the trace (what was reported), never a
//! model's internals, so it judges any implementation the same way.
//!
//! Readings: a trace passes an invariant if it passes under the chosen
//! reading or under any other reading the specs accept (each alternative
//! reading is a catalog of its own, see `Catalog::reading_variants`), so a
//! correct implementation that reads an ambiguous sentence differently is
//! not failed.
//!
//! Architecture invariant: pure. Same history and trace, same verdicts.

mod structural;
mod trace_index;

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::History;
use crate::observation::{Outcome, Trace, TraceEvent};
use crate::spec::{
    Catalog, DeductionOutcome, DurationExpr, EventPredicate, InvariantDef, InvariantId,
    LifecycleId, Pattern, Predicate,
};
pub use trace_index::{Snapshot, TraceIndex};

/// Runs a sub-history through the system that produced the trace, for the
/// checks that compare a run with another (account isolation).
pub type Rerun<'a> = dyn Fn(&History) -> Option<Trace> + 'a;

/// One invariant broken by one trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Violation {
    /// The invariant broken.
    pub invariant: String,
    /// The rules the invariant checks.
    pub rules: Vec<String>,
    /// The resource it is broken on (none for an account-level invariant).
    pub resource: Option<String>,
    /// The first instant the trace breaks it.
    pub at: DateTime<Utc>,
    /// What was observed, in words.
    pub message: String,
    /// The observation of the resource at that instant, if one.
    pub observation: Option<serde_json::Value>,
}

/// The verdict of one invariant on one trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub invariant: InvariantId,
    /// Some subject of the invariant exists in the history.
    pub applicable: bool,
    /// The invariant's scope or trigger held at least once, so it was put
    /// to the test rather than holding vacuously.
    pub exercised: bool,
    pub violation: Option<Violation>,
}

/// Evaluates every invariant of `judge` on a trace.
///
/// `judge` supplies the invariants; its reading variants (the chosen
/// reading first) supply the parameter values an invariant may be read
/// with. `rerun`, when given, lets the account-isolation check run
/// sub-histories through the same system.
pub fn check_trace(
    judge: &Catalog,
    variants: &[Catalog],
    history: &History,
    trace: &Trace,
    rerun: Option<&Rerun<'_>>,
) -> Vec<Evaluation> {
    check_index(
        judge,
        variants,
        &TraceIndex::new(judge, history, trace),
        rerun,
    )
}

/// [`check_trace`] on a trace already indexed.
pub(crate) fn check_index(
    judge: &Catalog,
    variants: &[Catalog],
    index: &TraceIndex<'_>,
    rerun: Option<&Rerun<'_>>,
) -> Vec<Evaluation> {
    (0..judge.invariants.len())
        .map(|i| {
            let id = InvariantId(i as u32);
            evaluate(judge, variants, index, id, rerun)
        })
        .collect()
}

/// Evaluates one invariant: it holds if it holds under any accepted reading.
pub fn evaluate(
    judge: &Catalog,
    variants: &[Catalog],
    index: &TraceIndex<'_>,
    id: InvariantId,
    rerun: Option<&Rerun<'_>>,
) -> Evaluation {
    let inv = &judge.invariants[id.index()];
    let applicable = index.subjects(&inv.subjects).next().is_some();
    let mut evaluation = Evaluation {
        invariant: id,
        applicable,
        exercised: false,
        violation: None,
    };
    if !applicable {
        return evaluation;
    }
    let own = std::slice::from_ref(judge);
    let variants = if variants.is_empty() { own } else { variants };
    let mut first: Option<Violation> = None;
    for params in variants {
        let (exercised, violation) = match &inv.pattern {
            Pattern::Structural(kind) => structural::check(*kind, judge, params, inv, index, rerun),
            pattern => temporal(judge, params, inv, pattern, index),
        };
        evaluation.exercised |= exercised;
        match violation {
            None => {
                evaluation.violation = None;
                return evaluation;
            }
            Some(v) => {
                if first.is_none() {
                    first = Some(v);
                }
            }
        }
    }
    evaluation.violation = first;
    evaluation
}

fn violation(
    inv: &InvariantDef,
    judge: &Catalog,
    resource: Option<&str>,
    at: DateTime<Utc>,
    message: String,
    observation: Option<serde_json::Value>,
) -> Violation {
    Violation {
        invariant: inv.id.clone(),
        rules: inv
            .checks
            .iter()
            .map(|r| judge.rule(*r).id.clone())
            .collect(),
        resource: resource.map(str::to_string),
        at,
        message,
        observation,
    }
}

/// The state-and-event patterns, evaluated resource by resource.
fn temporal(
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
    for observed in index.snapshots(subject) {
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
        if scope.is_some_and(|s| !eval.holds(s, subject, snap)) {
            continue;
        }
        verdict.exercised = true;
        let p = eval.holds(never, subject, snap);
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

/// Predicates and event predicates, evaluated with one reading's parameters.
struct Evaluator<'p, 't> {
    params: &'p Catalog,
    index: &'t TraceIndex<'t>,
    /// Per (subject, event predicate), the first instant the event
    /// happened to the subject, if ever: `happened` is read at every
    /// snapshot, and a subject's facts come in time order, so whether it
    /// happened by an instant is whether this first instant is not later.
    /// Keyed by the predicate's address in the catalog, which outlives the
    /// evaluator.
    first_happened: RefCell<Vec<FirstHappened>>,
}

/// (subject, address of an event predicate) and the first instant it
/// happened, if ever.
type FirstHappened = ((usize, usize), Option<DateTime<Utc>>);

impl Evaluator<'_, '_> {
    fn holds(&self, p: &Predicate, subject: usize, snap: &Snapshot<'_>) -> bool {
        let r = snap.resource;
        match p {
            Predicate::State(names) => names.iter().any(|n| **n == *r.state),
            Predicate::Entered(names) => {
                r.since == snap.at && names.iter().any(|n| **n == *r.state)
            }
            Predicate::Serving(v) => r.serving == *v,
            Predicate::Data(v) => r.data == *v,
            Predicate::Billing(v) => r.billing == *v,
            Predicate::Operation { op, allowed } => {
                r.operations.get(self.params.op_name(*op)) == Some(*allowed)
            }
            Predicate::Overdue(b) => r.overdue_since.is_some() == *b,
            Predicate::AccountOverdue(b) => snap
                .account
                .is_some_and(|a| a.overdue_since.is_some() == *b),
            Predicate::Elapsed {
                since,
                at_least,
                less_than,
            } => {
                let Some(anchor) = r.anchor(*since, snap.account) else {
                    return false;
                };
                let elapsed = snap.at - anchor;
                // An anchor after the instant judged belongs to a later
                // period: no time has elapsed since it.
                if elapsed < chrono::TimeDelta::zero() {
                    return false;
                }
                at_least
                    .as_ref()
                    .is_none_or(|d| elapsed >= self.params.duration(d))
                    && less_than
                        .as_ref()
                        .is_none_or(|d| elapsed < self.params.duration(d))
            }
            Predicate::Parent(inner) => match (self.index.parent(subject), snap.parent) {
                (Some(parent), Some(parent_obs)) => {
                    let parent_snap = Snapshot {
                        at: snap.at,
                        resource: parent_obs,
                        account: snap.account,
                        parent: None,
                    };
                    self.holds(inner, parent, &parent_snap)
                }
                _ => false,
            },
            Predicate::Happened(e) => self
                .first_happened(e, subject)
                .is_some_and(|t| t <= snap.at),
            Predicate::Not(inner) => !self.holds(inner, subject, snap),
            Predicate::All(items) => items.iter().all(|i| self.holds(i, subject, snap)),
            Predicate::Any(items) => items.iter().any(|i| self.holds(i, subject, snap)),
            Predicate::Param { param, equals } => self.params.value(*param) == equals,
        }
    }

    /// The first instant `e` happened to `subject` (see
    /// [`Evaluator::first_happened`]'s field).
    fn first_happened(&self, e: &EventPredicate, subject: usize) -> Option<DateTime<Utc>> {
        let key = (subject, std::ptr::from_ref(e) as usize);
        if let Some((_, first)) = self.first_happened.borrow().iter().find(|(k, _)| *k == key) {
            return *first;
        }
        let first = self
            .index
            .events_of(subject)
            .find(|(_, ev)| self.event_matches(e, subject, ev))
            .map(|(t, _)| t);
        self.first_happened.borrow_mut().push((key, first));
        first
    }

    fn event_matches(&self, e: &EventPredicate, subject: usize, event: &Fact<'_>) -> bool {
        match (e, event) {
            (EventPredicate::Parent(inner), _) => match self.index.parent(subject) {
                Some(parent) => match event {
                    Fact::OfParent(inner_event) => self.event_matches(inner, parent, inner_event),
                    _ => false,
                },
                None => false,
            },
            (_, Fact::OfParent(_)) => false,
            (EventPredicate::Deduction(o), Fact::Logged(TraceEvent::Deduction { outcome, .. })) => {
                // The specs' outcome and the observed one are named alike.
                matches!(
                    (o, outcome),
                    (DeductionOutcome::Paid, Outcome::Paid)
                        | (DeductionOutcome::Failed, Outcome::Failed)
                        | (DeductionOutcome::Overdrawn, Outcome::Overdrawn)
                )
            }
            (
                EventPredicate::Transition { from, to },
                Fact::Logged(TraceEvent::Transition { from: f, to: t, .. }),
            ) => {
                (from.is_empty() || from.iter().any(|s| *f == **s))
                    && (to.is_empty() || to.iter().any(|s| *t == **s))
            }
            (
                EventPredicate::Notification(n),
                Fact::Logged(TraceEvent::Notification { notification, .. }),
            ) => *notification == self.params.notifications[n.index()].id,
            (
                EventPredicate::Denial(op),
                Fact::Logged(TraceEvent::Operation {
                    operation, allowed, ..
                }),
            ) => !allowed && operation == self.params.op_name(*op),
            (
                EventPredicate::Refund { positive },
                Fact::Logged(TraceEvent::Refund { amount, .. }),
            ) => positive.is_none_or(|p| (*amount > 0) == p),
            (EventPredicate::Settled, Fact::Settled) => true,
            (EventPredicate::BecameOverdue, Fact::BecameOverdue) => true,
            (EventPredicate::Operation(op), Fact::Asked(name)) => *name == self.params.op_name(*op),
            _ => false,
        }
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

/// Something that happened to a resource: an event of the log, a fact
/// derived from the log (its overdue period began or ended), a user request
/// from the history, or one of these about its parent.
#[derive(Debug, Clone)]
pub enum Fact<'t> {
    Logged(&'t TraceEvent),
    BecameOverdue,
    Settled,
    /// The history asked for this operation on the resource.
    Asked(&'t str),
    OfParent(Box<Fact<'t>>),
}

fn describe(p: &Predicate) -> String {
    match p {
        Predicate::State(names) => format!("state in [{}]", names.join(", ")),
        Predicate::Entered(names) => format!("entering [{}]", names.join(", ")),
        Predicate::Serving(v) => format!("serving {}", kebab(v)),
        Predicate::Data(v) => format!("data {}", kebab(v)),
        Predicate::Billing(v) => format!("billing {}", kebab(v)),
        Predicate::Operation { allowed, .. } => {
            format!("operation {}", if *allowed { "allowed" } else { "denied" })
        }
        Predicate::Overdue(b) => format!("overdue {b}"),
        Predicate::AccountOverdue(b) => format!("account overdue {b}"),
        Predicate::Elapsed { since, .. } => format!("time since {}", kebab(since)),
        Predicate::Parent(inner) => format!("parent {}", describe(inner)),
        Predicate::Happened(e) => format!("{} happened", describe_event(e)),
        Predicate::Not(inner) => format!("not ({})", describe(inner)),
        Predicate::All(items) => items.iter().map(describe).collect::<Vec<_>>().join(" and "),
        Predicate::Any(items) => items.iter().map(describe).collect::<Vec<_>>().join(" or "),
        Predicate::Param { equals, .. } => format!("the reading sets {equals}"),
    }
}

fn describe_event(e: &EventPredicate) -> String {
    match e {
        EventPredicate::Deduction(o) => format!("a {} deduction", kebab(o)),
        EventPredicate::Transition { to, .. } if !to.is_empty() => {
            format!("a transition to {}", to.join("|"))
        }
        EventPredicate::Transition { .. } => "a transition".to_string(),
        EventPredicate::Notification(_) => "a notification".to_string(),
        EventPredicate::Denial(_) => "a denial".to_string(),
        EventPredicate::Refund {
            positive: Some(true),
        } => "a refund of more than zero".to_string(),
        EventPredicate::Refund { .. } => "a refund".to_string(),
        EventPredicate::Settled => "settlement".to_string(),
        EventPredicate::BecameOverdue => "going overdue".to_string(),
        EventPredicate::Operation(_) => "the user's request".to_string(),
        EventPredicate::Parent(inner) => format!("the parent's {}", describe_event(inner)),
    }
}

fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Lifecycle of each history resource, resolved from the history (not from
/// what a trace claims).
pub(crate) fn resolved_lifecycles(
    judge: &Catalog,
    history: &History,
) -> std::collections::HashMap<String, LifecycleId> {
    history
        .validate(judge)
        .map(|m| m.into_iter().map(|(k, v)| (k, v.lifecycle)).collect())
        .unwrap_or_default()
}
