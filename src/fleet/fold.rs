//! Folding one account's run into a [`Tally`]: its day-end observations
//! into per-day series, its trace's events into daily counts, and its
//! resources' overdue episodes into the distributions of how long each
//! took to reach a stop, a release or a settlement.
//!
//! The fold touches only its own account's figures and adds them to the
//! tally, so accounts fold in any order (see [`super::tally`]).

use chrono::{DateTime, Utc};

use super::tally::{AccountRow, Histogram, Tally, add_series, counter};
use crate::idmap::{IdMap, id_map};
use crate::observation::{Name, Observation, Outcome, Trace, TraceEvent};
use crate::spec::{Catalog, Data, Serving};

/// What a state means for the tallies.
#[derive(Debug, Clone, Copy)]
struct StateClass {
    serving: Serving,
    data: Data,
    terminal: bool,
}

/// Classifies the states the trace names, once per run.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Lifecycle id → state id → what the state means (looked up for
    /// every transition of every account, hence the id hash).
    states: IdMap<String, IdMap<String, StateClass>>,
}

impl Classifier {
    pub fn new(catalog: &Catalog) -> Classifier {
        let mut states: IdMap<String, IdMap<String, StateClass>> = id_map();
        for l in &catalog.lifecycles {
            for s in &l.states {
                states.entry(l.id.clone()).or_insert_with(id_map).insert(
                    s.id.clone(),
                    StateClass {
                        serving: s.serving,
                        data: s.data,
                        terminal: s.terminal,
                    },
                );
            }
        }
        Classifier { states }
    }

    fn class(&self, lifecycle: &str, state: &str) -> Option<StateClass> {
        self.states.get(lifecycle)?.get(state).copied()
    }
}

/// An open overdue episode of one resource.
#[derive(Debug, Default)]
struct Episode {
    since: Option<DateTime<Utc>>,
    bills: Vec<Name>,
    stopped: bool,
    released: bool,
}

/// The same string: the same pointer (ids the model shares), or else the
/// same text.
fn same(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// A resource's episode, if it has had one.
fn open_episode<'e>(
    episodes: &'e mut [(&str, Episode)],
    resource: &str,
) -> Option<&'e mut Episode> {
    episodes
        .iter_mut()
        .find(|(r, _)| same(r, resource))
        .map(|(_, e)| e)
}

/// A resource's episode, opened (empty) if it has had none.
fn episode_of<'e, 'r>(
    episodes: &'e mut Vec<(&'r str, Episode)>,
    resource: &'r str,
) -> &'e mut Episode {
    let i = match episodes.iter().position(|(r, _)| same(r, resource)) {
        Some(i) => i,
        None => {
            episodes.push((resource, Episode::default()));
            episodes.len() - 1
        }
    };
    &mut episodes[i].1
}

/// Folds one account's run into a tally.
pub struct AccountRun<'a> {
    pub start: DateTime<Utc>,
    pub days: u32,
    pub trace: &'a Trace,
    /// The observations at each day's end, in day order.
    pub day_ends: &'a [&'a Observation],
}

/// Whole days from the start of an overdue episode to `at`, if it has one.
fn since_days(from: Option<DateTime<Utc>>, at: DateTime<Utc>) -> Option<usize> {
    from.map(|f| (at - f).num_days().max(0) as usize)
}

/// The day of a run an instant falls on: whole days since the start,
/// counted as the day-end observations mark them (the `d`-th is at the
/// start plus `d + 1` days) and kept within the run's days. A run's events
/// come in time order, so the day is found by moving forward from the last
/// one's, with no date arithmetic per event.
struct DayOf<'a> {
    ends: &'a [&'a Observation],
    last: usize,
    day: usize,
}

impl<'a> DayOf<'a> {
    fn new(run: &'a AccountRun<'a>) -> DayOf<'a> {
        DayOf {
            ends: run.day_ends,
            last: run.day_ends.len().saturating_sub(1),
            day: 0,
        }
    }

    fn day(&mut self, at: DateTime<Utc>) -> usize {
        if self.day > 0 && self.ends[self.day - 1].at > at {
            // Earlier than the last instant's day: found afresh.
            self.day = self.ends.partition_point(|o| o.at <= at);
        }
        while self.day < self.ends.len() && self.ends[self.day].at <= at {
            self.day += 1;
        }
        self.day.min(self.last)
    }
}

/// Counts `n` days in a histogram, growing it as needed.
fn record(h: &mut Histogram, n: Option<usize>) {
    if let Some(n) = n {
        if h.len() <= n {
            h.resize(n + 1, 0);
        }
        h[n] += 1;
    }
}

impl Tally {
    /// Adds one account's trace (its events and day-end observations) and
    /// fills in what `row` counts of it.
    pub fn add_account(
        &mut self,
        classifier: &Classifier,
        run: &AccountRun<'_>,
        row: &mut AccountRow,
    ) {
        self.accounts += 1;
        self.trace_events += run.trace.events.len() as u64;
        row.trace_events = run.trace.events.len() as u64;
        self.add_day_ends(run, row);
        self.add_events(classifier, run, row);
    }

    /// What held at each day's end: whether the account was overdue, and
    /// how many of its resources were in each (product, state).
    fn add_day_ends(&mut self, run: &AccountRun<'_>, row: &mut AccountRow) {
        let days = run.days as usize;
        // An account's resources pass through a few (product, state) pairs:
        // its days are counted per pair here, then added to the tally's
        // series once per pair rather than looked up per resource and day.
        let mut by_state: Vec<(&str, &str, Vec<u64>)> = Vec::new();
        for (d, obs) in run.day_ends.iter().enumerate() {
            if obs.accounts.iter().any(|a| a.overdue_since.is_some()) {
                self.daily.accounts_overdue_at_day_end[d] += 1;
                row.days_overdue += 1;
                row.first_overdue_day.get_or_insert(d as u64);
            }
            for r in &obs.resources {
                let (product, state) = (r.product.as_str(), r.state.as_str());
                let known = by_state
                    .iter()
                    .position(|(p, s, _)| same(p, product) && same(s, state));
                let i = known.unwrap_or_else(|| {
                    by_state.push((product, state, vec![0; days]));
                    by_state.len() - 1
                });
                by_state[i].2[d] += 1;
            }
        }
        for (product, state, counts) in by_state {
            let series = counter(counter(&mut self.resources_by_state, product), state);
            add_series(series, &counts);
        }
    }

    /// What happened, event by event, counted on the day it happened.
    fn add_events(&mut self, classifier: &Classifier, run: &AccountRun<'_>, row: &mut AccountRow) {
        let mut day_of = DayOf::new(run);
        // Open overdue episodes, per resource (an account has a few).
        let mut episodes: Vec<(&str, Episode)> = Vec::new();
        let mut transition_key = String::new();
        for e in &run.trace.events {
            let d = day_of.day(e.at());
            match e {
                TraceEvent::Charge { amount, .. } => {
                    self.daily.fees_charged[d] += amount;
                    row.fees_charged += amount;
                }
                TraceEvent::ChargeSkipped { amount, .. } => {
                    self.daily.fees_not_charged[d] += amount;
                    row.fees_not_charged += amount;
                }
                TraceEvent::Deduction {
                    resource,
                    bill,
                    outcome,
                    at,
                    ..
                } => {
                    let episode = episode_of(&mut episodes, resource);
                    self.add_deduction(episode, d, bill, *outcome, *at, row);
                }
                TraceEvent::BillSettled {
                    resource, bill, at, ..
                } => self.add_settlement(&mut episodes, d, resource, bill, *at, row),
                TraceEvent::Transition {
                    resource,
                    lifecycle,
                    from,
                    to,
                    transition,
                    at,
                    ..
                } => {
                    transition_key.clear();
                    transition_key.push_str(lifecycle);
                    transition_key.push('/');
                    transition_key.push_str(transition);
                    *counter(&mut self.transitions, &transition_key) += 1;
                    let (Some(before), Some(after)) = (
                        classifier.class(lifecycle, from),
                        classifier.class(lifecycle, to),
                    ) else {
                        continue;
                    };
                    self.add_state_change(&mut episodes, d, resource, (before, after), *at, row);
                }
                TraceEvent::Notification { notification, .. } => {
                    self.daily.notifications[d] += 1;
                    row.notifications += 1;
                    *counter(&mut self.notifications, notification) += 1;
                }
                TraceEvent::Operation { allowed, rule, .. } => {
                    self.add_operation(d, *allowed, rule.as_deref(), row)
                }
                TraceEvent::Refund { amount, .. } => {
                    self.daily.refunds[d] += 1;
                    self.daily.refunded[d] += amount;
                    row.refunds += 1;
                    row.refunded += amount;
                }
                TraceEvent::TopUp { .. }
                | TraceEvent::VoucherGranted { .. }
                | TraceEvent::Payment { .. } => {}
            }
        }
    }

    /// A deduction on day `d`: a paid one clears its bill from the
    /// resource's episode, a failed or overdrawn one opens the episode (if
    /// not open) and adds its bill.
    fn add_deduction(
        &mut self,
        episode: &mut Episode,
        d: usize,
        bill: &Name,
        outcome: Outcome,
        at: DateTime<Utc>,
        row: &mut AccountRow,
    ) {
        match outcome {
            Outcome::Paid => {
                self.daily.deductions_paid[d] += 1;
                row.deductions_paid += 1;
                episode.bills.retain(|b| b != bill);
            }
            Outcome::Failed | Outcome::Overdrawn => {
                if outcome == Outcome::Failed {
                    self.daily.deductions_failed[d] += 1;
                    row.deductions_failed += 1;
                } else {
                    self.daily.deductions_overdrawn[d] += 1;
                    row.deductions_overdrawn += 1;
                }
                if episode.since.is_none() {
                    episode.since = Some(at);
                }
                if !episode.bills.contains(bill) {
                    episode.bills.push(bill.clone());
                }
            }
        }
    }

    /// An overdue bill settled on day `d`: when it was the episode's last
    /// open bill, the episode ends and its length is recorded.
    fn add_settlement(
        &mut self,
        episodes: &mut [(&str, Episode)],
        d: usize,
        resource: &str,
        bill: &Name,
        at: DateTime<Utc>,
        row: &mut AccountRow,
    ) {
        self.daily.settlements[d] += 1;
        row.settlements += 1;
        if let Some(episode) = open_episode(episodes, resource) {
            episode.bills.retain(|b| b != bill);
            if episode.bills.is_empty() && episode.since.is_some() {
                record(
                    &mut self.distributions.overdue_to_settlement_days,
                    since_days(episode.since, at),
                );
                *episode = Episode::default();
            }
        }
    }

    /// A resource's move from one state's meaning to another's on day `d`:
    /// stops, restarts, data deletions and releases, and for an overdue
    /// episode the days until its first stop and its release.
    fn add_state_change(
        &mut self,
        episodes: &mut [(&str, Episode)],
        d: usize,
        resource: &str,
        (before, after): (StateClass, StateClass),
        at: DateTime<Utc>,
        row: &mut AccountRow,
    ) {
        let episode = open_episode(episodes, resource);
        if before.serving == Serving::Yes && after.serving == Serving::No {
            self.daily.stops[d] += 1;
            row.stops += 1;
            if let Some(ep) = episode.filter(|ep| ep.since.is_some() && !ep.stopped) {
                ep.stopped = true;
                record(
                    &mut self.distributions.overdue_to_stop_days,
                    since_days(ep.since, at),
                );
            }
        } else if before.serving == Serving::No && after.serving == Serving::Yes {
            self.daily.restarts[d] += 1;
            row.restarts += 1;
        }
        if after.data == Data::Deleted && before.data != Data::Deleted {
            self.daily.data_deleted[d] += 1;
            row.data_deleted += 1;
        }
        if after.terminal && !before.terminal {
            self.daily.releases[d] += 1;
            row.releases += 1;
            if let Some(ep) =
                open_episode(episodes, resource).filter(|ep| ep.since.is_some() && !ep.released)
            {
                ep.released = true;
                record(
                    &mut self.distributions.overdue_to_release_days,
                    since_days(ep.since, at),
                );
            }
        }
    }

    /// An operation on day `d`, allowed or refused (refusals counted by the
    /// rule that refused them).
    fn add_operation(&mut self, d: usize, allowed: bool, rule: Option<&str>, row: &mut AccountRow) {
        if allowed {
            self.daily.operations_allowed[d] += 1;
            row.operations_allowed += 1;
        } else {
            self.daily.operations_refused[d] += 1;
            row.operations_refused += 1;
            *counter(&mut self.refusals, rule.unwrap_or("(no rule)")) += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    /// A run of `days` days from `start`, with its day-end observations and
    /// no events.
    fn day_ends(start: DateTime<Utc>, days: u32) -> Vec<Observation> {
        (1..=i64::from(days))
            .map(|d| Observation {
                at: start + TimeDelta::days(d),
                accounts: Vec::new(),
                resources: Vec::new(),
            })
            .collect()
    }

    /// The day by date arithmetic, as the tallies define it.
    fn by_arithmetic(start: DateTime<Utc>, days: u32, at: DateTime<Utc>) -> usize {
        let d = (at - start).num_days().max(0) as usize;
        d.min(days as usize - 1)
    }

    #[test]
    fn the_day_of_an_instant_is_the_whole_days_since_the_start_in_any_order() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let days = 5;
        let ends = day_ends(start, days);
        let refs: Vec<&Observation> = ends.iter().collect();
        let trace = Trace {
            events: Vec::new(),
            observations: Vec::new(),
        };
        let run = AccountRun {
            start,
            days,
            trace: &trace,
            day_ends: &refs,
        };
        let hours = |h: i64| start + TimeDelta::hours(h);
        // In time order, on and either side of each day's end, before the
        // start and after the last day; then back in time and forward again.
        let instants = [
            hours(-30),
            hours(0),
            hours(1),
            hours(23),
            hours(24) - TimeDelta::seconds(1),
            hours(24),
            hours(24),
            hours(25),
            hours(71),
            hours(72),
            hours(119),
            hours(120),
            hours(500),
            hours(30),
            hours(-1),
            hours(48),
            hours(96),
        ];
        let mut day_of = DayOf::new(&run);
        let found: Vec<usize> = instants.iter().map(|at| day_of.day(*at)).collect();
        let expected: Vec<usize> = instants
            .iter()
            .map(|at| by_arithmetic(start, days, *at))
            .collect();
        assert_eq!(found, expected);
        assert_eq!(
            expected,
            [0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 4, 4, 1, 0, 2, 4]
        );
    }
}
