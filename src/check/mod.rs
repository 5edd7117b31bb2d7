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
mod temporal;
mod trace_index;

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::History;
use crate::observation::{Outcome, Trace, TraceEvent};
use crate::spec::{
    Catalog, DeductionOutcome, EventPredicate, InvariantDef, InvariantId, LifecycleId, Pattern,
    Predicate,
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
            pattern => temporal::temporal(judge, params, inv, pattern, index),
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
            Predicate::Parent(inner) => self
                .parent_snapshot(subject, snap)
                .is_some_and(|(parent, parent_snap)| self.holds(inner, parent, &parent_snap)),
            Predicate::Happened(e) => self
                .first_happened(e, subject)
                .is_some_and(|t| t <= snap.at),
            Predicate::Not(inner) => !self.holds(inner, subject, snap),
            Predicate::All(items) => items.iter().all(|i| self.holds(i, subject, snap)),
            Predicate::Any(items) => items.iter().any(|i| self.holds(i, subject, snap)),
            Predicate::Param { param, equals } => self.params.value(*param) == equals,
        }
    }

    /// `subject`'s parent and its snapshot at `snap`'s instant, when it
    /// has a parent observed then.
    fn parent_snapshot<'s>(
        &self,
        subject: usize,
        snap: &Snapshot<'s>,
    ) -> Option<(usize, Snapshot<'s>)> {
        let parent = self.index.parent(subject)?;
        let resource = snap.parent?;
        Some((
            parent,
            Snapshot {
                at: snap.at,
                resource,
                account: snap.account,
                parent: None,
            },
        ))
    }

    /// [`Evaluator::holds`], and whether the observations alone decide
    /// the answer: the same at whatever instant they were judged, where a
    /// predicate may turn on the instant (time elapsed since an anchor,
    /// entering a state just then, an event that happened by then). A
    /// conjunction with a part so decided false is decided false, a
    /// disjunction with a part decided true is decided true. So a scope
    /// such as "overdue, and less than 15 days since" is decided false on
    /// every observation of a resource that is not overdue. "Not decided"
    /// is always a safe answer: it only costs a judgement.
    fn holds_decided(&self, p: &Predicate, subject: usize, snap: &Snapshot<'_>) -> (bool, bool) {
        let r = snap.resource;
        match p {
            Predicate::Entered(names) => {
                if names.iter().any(|n| **n == *r.state) {
                    (r.since == snap.at, false)
                } else {
                    (false, true)
                }
            }
            Predicate::Elapsed { since, .. } if r.anchor(*since, snap.account).is_none() => {
                (false, true)
            }
            Predicate::Elapsed { .. } => (self.holds(p, subject, snap), false),
            Predicate::Happened(e) => match self.first_happened(e, subject) {
                Some(t) => (t <= snap.at, false),
                None => (false, true),
            },
            Predicate::Parent(inner) => match self.parent_snapshot(subject, snap) {
                Some((parent, parent_snap)) => self.holds_decided(inner, parent, &parent_snap),
                None => (false, true),
            },
            Predicate::Not(inner) => {
                let (value, decided) = self.holds_decided(inner, subject, snap);
                (!value, decided)
            }
            Predicate::All(items) | Predicate::Any(items) => {
                // The value that ends the evaluation: false for a
                // conjunction, true for a disjunction.
                let ending = matches!(p, Predicate::Any(_));
                let mut all_decided = true;
                for item in items {
                    let (value, decided) = self.holds_decided(item, subject, snap);
                    if value == ending {
                        return (ending, decided);
                    }
                    all_decided &= decided;
                }
                (!ending, all_decided)
            }
            Predicate::State(_)
            | Predicate::Serving(_)
            | Predicate::Data(_)
            | Predicate::Billing(_)
            | Predicate::Operation { .. }
            | Predicate::Overdue(_)
            | Predicate::AccountOverdue(_)
            | Predicate::Param { .. } => (self.holds(p, subject, snap), true),
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
