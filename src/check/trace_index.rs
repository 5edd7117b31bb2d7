//! A trace arranged for checking: per resource, its observations in time
//! order (with its account's and parent's at the same instant) and what
//! happened to it (log events, derived overdue facts, the user's requests
//! from the history, and the same about its parent).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::Fact;
use crate::history::{Event, History};
use crate::idmap::{IdMap, id_map};
use crate::observation::{AccountObservation, Outcome, ResourceObservation, Trace, TraceEvent};
use crate::spec::{Catalog, LifecycleId};

/// One resource at one observation instant.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'t> {
    pub at: DateTime<Utc>,
    pub resource: &'t ResourceObservation,
    pub account: Option<&'t AccountObservation>,
    pub parent: Option<&'t ResourceObservation>,
}

struct Subject<'t> {
    id: String,
    account: String,
    lifecycle: Option<LifecycleId>,
    parent: Option<usize>,
    snapshots: Vec<Snapshot<'t>>,
    /// Own facts, then merged with the parent's in [`TraceIndex::new`].
    facts: Vec<(DateTime<Utc>, Fact<'t>)>,
}

pub struct TraceIndex<'t> {
    pub history: &'t History,
    pub trace: &'t Trace,
    subjects: Vec<Subject<'t>>,
    by_id: IdMap<String, usize>,
    /// Runs of the history restricted to one account, shared by the checks
    /// (and the reading variants) that need them.
    reruns: RefCell<HashMap<String, Option<Trace>>>,
}

/// How many distinct resource-id strings of a log [`TraceIndex`] remembers
/// by address (a model's log has one per resource; a log parsed from an
/// implementation's JSON has one per event, and those are hashed).
const SEEN_IDS: usize = 32;

/// The same string: the same address (ids the model shares), or else the
/// same text.
fn same(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Two lists of facts, each in time order, as one in time order; at one
/// instant `own` comes first, as a stable sort of `own` then `parent`
/// would put them (in linear time, where the sort was not).
fn merge_by_instant<'t>(
    own: Vec<(DateTime<Utc>, Fact<'t>)>,
    parent: Vec<(DateTime<Utc>, Fact<'t>)>,
) -> Vec<(DateTime<Utc>, Fact<'t>)> {
    let mut merged = Vec::with_capacity(own.len() + parent.len());
    let mut own = own.into_iter().peekable();
    let mut parent = parent.into_iter().peekable();
    loop {
        let from_own = match (own.peek(), parent.peek()) {
            (Some((a, _)), Some((b, _))) => a <= b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return merged,
        };
        let next = if from_own { own.next() } else { parent.next() };
        merged.extend(next);
    }
}

impl<'t> TraceIndex<'t> {
    pub fn new(judge: &Catalog, history: &'t History, trace: &'t Trace) -> TraceIndex<'t> {
        TraceIndex::with_lifecycles(history, trace, &super::resolved_lifecycles(judge, history))
    }

    /// [`TraceIndex::new`] with the lifecycle of each history resource
    /// already resolved (by a validation of the history the caller did
    /// anyway).
    pub(crate) fn with_lifecycles(
        history: &'t History,
        trace: &'t Trace,
        lifecycles: &HashMap<String, LifecycleId>,
    ) -> TraceIndex<'t> {
        let mut index = TraceIndex {
            history,
            trace,
            subjects: Vec::new(),
            by_id: id_map(),
            reruns: RefCell::new(HashMap::new()),
        };
        index.add_subjects(lifecycles);
        index.add_snapshots();
        index.add_requests();
        index.add_log();
        index.add_parent_facts();
        index
    }

    /// One subject per resource of the history, in its order (start, then
    /// purchases), with its lifecycle and its parent.
    fn add_subjects(&mut self, lifecycles: &HashMap<String, LifecycleId>) {
        let (history, trace) = (self.history, self.trace);
        // Resources, in the history's order (start, then purchases).
        let purchased = history.events.iter().filter_map(|e| match e {
            Event::Purchase {
                account, resource, ..
            } => Some((
                resource.id.as_str(),
                account.as_str(),
                resource.parent.as_deref(),
            )),
            _ => None,
        });
        let listed = history
            .resources
            .iter()
            .map(|r| (r.id.as_str(), r.account.as_str(), r.parent.as_deref()));
        for (id, account, parent) in listed.chain(purchased) {
            if self.by_id.contains_key(id) {
                continue;
            }
            let parent = parent.and_then(|p| self.by_id.get(p).copied());
            self.by_id.insert(id.to_string(), self.subjects.len());
            self.subjects.push(Subject {
                id: id.to_string(),
                account: account.to_string(),
                lifecycle: lifecycles.get(id).copied(),
                parent,
                // A model lists every resource at every instant it is
                // observed: one allocation rather than a dozen regrowths.
                snapshots: Vec::with_capacity(trace.observations.len()),
                facts: Vec::new(),
            });
        }
    }

    /// Each subject's snapshots, in time order, with its account's and its
    /// parent's observation at the same instant.
    fn add_snapshots(&mut self) {
        let trace = self.trace;
        // Observations. A system lists its resources in the same order at
        // every instant (the model does), so the subject at each position
        // is looked up once and afterwards only checked by its id.
        let mut at_position: Vec<(&'t str, Option<usize>)> = Vec::new();
        let mut subjects_here: Vec<(usize, &'t ResourceObservation)> = Vec::new();
        let mut first_position: Vec<Option<usize>> = vec![None; self.subjects.len()];
        for obs in &trace.observations {
            subjects_here.clear();
            for (position, r) in obs.resources.iter().enumerate() {
                let id: &'t str = &r.resource;
                let subject = match at_position.get(position) {
                    Some(&(known, subject)) if same(known, id) => subject,
                    _ => {
                        let subject = self.by_id.get(id).copied();
                        at_position.truncate(position);
                        at_position.push((id, subject));
                        subject
                    }
                };
                if let Some(s) = subject {
                    subjects_here.push((s, r));
                    first_position[s].get_or_insert(position);
                }
            }
            for &(s, r) in &subjects_here {
                let account = obs.account(&self.subjects[s].account);
                let parent = self.subjects[s]
                    .parent
                    .and_then(|p| first_position[p])
                    .map(|position| &obs.resources[position]);
                self.subjects[s].snapshots.push(Snapshot {
                    at: obs.at,
                    resource: r,
                    account,
                    parent: parent.map(|p| &**p),
                });
            }
            for &(s, _) in &subjects_here {
                first_position[s] = None;
            }
        }
        // Observations come in time order from the model: sorting is
        // only needed for a system that reports them otherwise.
        for s in &mut self.subjects {
            if !s.snapshots.is_sorted_by_key(|snap| snap.at) {
                s.snapshots.sort_by_key(|snap| snap.at);
            }
        }
    }

    /// The user's requests from the history, as facts of the resource
    /// asked about.
    fn add_requests(&mut self) {
        let history = self.history;
        // Requests from the history.
        for e in &history.events {
            let (resource, op): (&str, &'t str) = match e {
                Event::Operate {
                    resource,
                    operation,
                    ..
                } => (resource, operation),
                Event::Renew { resource, .. } => (resource, "renew"),
                Event::Upgrade { resource, .. } => (resource, "upgrade"),
                Event::SetAutoRelease { resource, .. } => (resource, "set-auto-release"),
                Event::Purchase { resource, .. } => (&resource.id, "purchase"),
                _ => continue,
            };
            if let Some(&s) = self.by_id.get(resource) {
                let at = e.at().at(history.start);
                self.subjects[s].facts.push((at, Fact::Asked(op)));
            }
        }
    }

    /// The log's events as facts of their resource, with the overdue
    /// periods they imply (overdue from the first unpaid bill, settled when
    /// the last is), each subject's facts in time order.
    fn add_log(&mut self) {
        let trace = self.trace;
        // The log, with the overdue periods it implies.
        // Per subject, its bills overdue now (a subject is its resource, so
        // this is the resource's set, found without hashing its id).
        let mut overdue_bills: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); self.subjects.len()];
        // The model shares one string per resource id between its events:
        // the subject of a string seen before is found by its address,
        // without hashing it again.
        let mut seen: Vec<(&'t str, Option<usize>)> = Vec::new();
        for e in &trace.events {
            let Some(id) = e.resource() else { continue };
            let subject = match seen.iter().find(|(known, _)| std::ptr::eq(*known, id)) {
                Some(&(_, subject)) => subject,
                None => {
                    let subject = self.by_id.get(id).copied();
                    if seen.len() < SEEN_IDS {
                        seen.push((id, subject));
                    }
                    subject
                }
            };
            let Some(s) = subject else {
                continue;
            };
            let at = e.at();
            self.subjects[s].facts.push((at, Fact::Logged(e)));
            match e {
                TraceEvent::Deduction {
                    bill,
                    outcome: Outcome::Failed | Outcome::Overdrawn,
                    ..
                } => {
                    let set = &mut overdue_bills[s];
                    let was_empty = set.is_empty();
                    if set.insert(bill) && was_empty {
                        self.subjects[s].facts.push((at, Fact::BecameOverdue));
                    }
                }
                TraceEvent::BillSettled { bill, .. } => {
                    let set = &mut overdue_bills[s];
                    if set.remove(bill.as_str()) && set.is_empty() {
                        self.subjects[s].facts.push((at, Fact::Settled));
                    }
                }
                _ => {}
            }
        }
        // Stable sort keeps the log's order within an instant.
        for s in &mut self.subjects {
            if !s.facts.is_sorted_by_key(|(at, _)| *at) {
                s.facts.sort_by_key(|(at, _)| *at);
            }
        }
    }

    /// Each resource also sees what happened to its parent.
    fn add_parent_facts(&mut self) {
        let parent_facts: Vec<Vec<(DateTime<Utc>, Fact<'t>)>> = self
            .subjects
            .iter()
            .map(|s| {
                s.parent
                    .map(|p| {
                        self.subjects[p]
                            .facts
                            .iter()
                            .filter(|(_, f)| !matches!(f, Fact::OfParent(_)))
                            .map(|(at, f)| (*at, Fact::OfParent(Box::new(f.clone()))))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        for (s, extra) in self.subjects.iter_mut().zip(parent_facts) {
            if !extra.is_empty() {
                s.facts = merge_by_instant(std::mem::take(&mut s.facts), extra);
            }
        }
    }

    /// Resources following one of these lifecycles.
    pub fn subjects<'a>(
        &'a self,
        lifecycles: &'a [LifecycleId],
    ) -> impl Iterator<Item = usize> + 'a {
        self.subjects
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.lifecycle.is_some_and(|l| lifecycles.contains(&l)))
            .map(|(i, _)| i)
    }

    pub fn resource_id(&self, subject: usize) -> &str {
        &self.subjects[subject].id
    }

    pub fn resource_index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn account_of(&self, subject: usize) -> &str {
        &self.subjects[subject].account
    }

    pub fn lifecycle(&self, subject: usize) -> Option<LifecycleId> {
        self.subjects[subject].lifecycle
    }

    pub fn parent(&self, subject: usize) -> Option<usize> {
        self.subjects[subject].parent
    }

    pub fn snapshots(&self, subject: usize) -> &[Snapshot<'t>] {
        &self.subjects[subject].snapshots
    }

    pub fn snapshot_before(&self, subject: usize, at: DateTime<Utc>) -> Option<&Snapshot<'t>> {
        self.subjects[subject]
            .snapshots
            .iter()
            .rev()
            .find(|s| s.at < at)
    }

    pub fn snapshot_at_or_after(&self, subject: usize, at: DateTime<Utc>) -> Option<&Snapshot<'t>> {
        self.subjects[subject].snapshots.iter().find(|s| s.at >= at)
    }

    /// What happened to a resource (and its parent), in time order.
    pub fn events_of(
        &self,
        subject: usize,
    ) -> impl Iterator<Item = (DateTime<Utc>, &Fact<'t>)> + '_ {
        self.subjects[subject].facts.iter().map(|(at, f)| (*at, f))
    }

    /// The log events about one resource.
    pub fn logged(&self, subject: usize) -> impl Iterator<Item = &'t TraceEvent> + '_ {
        self.subjects[subject]
            .facts
            .iter()
            .filter_map(|(_, f)| match f {
                Fact::Logged(e) => Some(*e),
                _ => None,
            })
    }

    /// The trace of the history restricted to `account`, computed once.
    pub fn rerun_cached(
        &self,
        account: &str,
        run: impl FnOnce() -> Option<Trace>,
    ) -> Option<Trace> {
        if let Some(t) = self.reruns.borrow().get(account) {
            return t.clone();
        }
        let t = run();
        self.reruns
            .borrow_mut()
            .insert(account.to_string(), t.clone());
        t
    }

    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_facts_are_in_time_order_with_own_facts_first_at_one_instant() {
        let t = |h: i64| DateTime::<Utc>::UNIX_EPOCH + chrono::TimeDelta::hours(h);
        let own = vec![
            (t(1), Fact::Asked("a")),
            (t(2), Fact::Asked("b")),
            (t(2), Fact::Asked("c")),
            (t(5), Fact::Asked("d")),
        ];
        let parent = vec![
            (t(0), Fact::Asked("p")),
            (t(2), Fact::Asked("q")),
            (t(6), Fact::Asked("r")),
        ];
        let mut sorted: Vec<_> = own.iter().chain(&parent).cloned().collect();
        sorted.sort_by_key(|(at, _)| *at);
        let name = |(at, f): &(DateTime<Utc>, Fact<'_>)| match f {
            Fact::Asked(op) => (*at, op.to_string()),
            _ => (*at, String::new()),
        };
        let merged: Vec<_> = merge_by_instant(own, parent).iter().map(name).collect();
        let expected: Vec<_> = sorted.iter().map(name).collect();
        assert_eq!(merged, expected);
        assert_eq!(merged[2].1, "b");
        assert_eq!(merged[4].1, "q");
    }
}
