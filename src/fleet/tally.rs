//! What a fleet run counts: each account's trace folded into per-day
//! series, totals and distributions that add up across accounts.
//!
//! Every figure is a sum (or a histogram of sums) over accounts, so tallies
//! merge by adding, in any grouping and any order: that is what makes a
//! fleet's result the same for any thread count, and the merge of its
//! shards the same as one run. The sample of violations is the exception
//! that proves the rule: it keeps the lowest account indexes, which is
//! also order-free.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::fold::{AccountRun, Classifier};

/// How many violations a result keeps to show (the lowest account indexes).
pub const VIOLATION_SAMPLE: usize = 20;

/// Per-day series: entry `d` counts what happened during simulated day `d`
/// (for the `*_at_day_end` series, what held at its end).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Daily {
    /// Accounts with an overdue (or overdrawn) bill at the end of the day.
    pub accounts_overdue_at_day_end: Vec<u64>,
    /// Resources that stopped serving, for any reason: overdue, expiry,
    /// their owner's own stop or release.
    pub stops: Vec<u64>,
    /// Resources that started serving again.
    pub restarts: Vec<u64>,
    /// Resources that entered a final state (released, deleted, expired
    /// for good).
    pub releases: Vec<u64>,
    /// Resources whose data was deleted.
    pub data_deleted: Vec<u64>,
    /// Fees billed, in minor units.
    pub fees_charged: Vec<i64>,
    /// Fees not billed because the resource's billing had ceased.
    pub fees_not_charged: Vec<i64>,
    pub deductions_paid: Vec<u64>,
    pub deductions_failed: Vec<u64>,
    pub deductions_overdrawn: Vec<u64>,
    /// Overdue bills settled.
    pub settlements: Vec<u64>,
    pub refunds: Vec<u64>,
    /// Money refunded, in minor units.
    pub refunded: Vec<i64>,
    pub notifications: Vec<u64>,
    pub operations_allowed: Vec<u64>,
    pub operations_refused: Vec<u64>,
}

/// Counts by whole days (entry `d`: `d` days, rounded down).
pub type Histogram = Vec<u64>;

/// How long overdue episodes of resources took to reach each milestone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distributions {
    /// From a resource's first overdue bill to its stop.
    pub overdue_to_stop_days: Histogram,
    /// From a resource's first overdue bill to its release.
    pub overdue_to_release_days: Histogram,
    /// From a resource's first overdue bill to the settlement of its last.
    pub overdue_to_settlement_days: Histogram,
}

/// One invariant's record over the fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantTally {
    /// Accounts with a subject of the invariant.
    pub applicable: u64,
    /// Accounts that put it to the test.
    pub exercised: u64,
    /// Accounts that broke it.
    pub violated: u64,
}

/// One broken invariant on one account, with what replays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetViolation {
    pub account: u64,
    /// The run's seed: `arrears fleet --replay-account ACCOUNT --seed SEED`.
    pub seed: u64,
    pub invariant: String,
    pub rules: Vec<String>,
    pub resource: Option<String>,
    pub at: DateTime<Utc>,
    pub message: String,
}

/// An account the model could not run (a spec that loops, a refund formula
/// that fails): a finding, reported like a violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetError {
    pub account: u64,
    pub seed: u64,
    pub message: String,
}

/// One account's outcome: a row of `--accounts-out` (see [`super::rows`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRow {
    pub account: u64,
    pub payer: &'static str,
    pub resources: u64,
    pub history_events: u64,
    pub trace_events: u64,
    pub fees_charged: i64,
    pub fees_not_charged: i64,
    pub deductions_paid: u64,
    pub deductions_failed: u64,
    pub deductions_overdrawn: u64,
    pub settlements: u64,
    pub stops: u64,
    pub restarts: u64,
    pub releases: u64,
    pub data_deleted: u64,
    pub refunds: u64,
    pub refunded: i64,
    pub notifications: u64,
    pub operations_allowed: u64,
    pub operations_refused: u64,
    /// Days the account ended overdue.
    pub days_overdue: u64,
    /// The first day it ended overdue, if any.
    pub first_overdue_day: Option<u64>,
    /// Invariants it broke.
    pub violations: u64,
    /// The model could not run it.
    pub model_error: bool,
}

/// Everything counted over a set of accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub accounts: u64,
    /// Accounts by payment behaviour.
    pub payers: BTreeMap<String, u64>,
    /// Resources made (at the start and bought later).
    pub resources: u64,
    /// Events in the accounts' histories (what a user would have done).
    pub history_events: u64,
    /// Events in the model's traces (what the specs made of it).
    pub trace_events: u64,
    /// Per product, per state: resources in that state at each day's end.
    pub resources_by_state: BTreeMap<String, BTreeMap<String, Vec<u64>>>,
    pub daily: Daily,
    /// Transitions fired, by `lifecycle/transition`.
    pub transitions: BTreeMap<String, u64>,
    /// Notifications sent, by notification id.
    pub notifications: BTreeMap<String, u64>,
    /// Refused operations, by the rule that refused them.
    pub refusals: BTreeMap<String, u64>,
    pub distributions: Distributions,
    pub invariants: BTreeMap<String, InvariantTally>,
    /// Accounts that broke at least one invariant.
    pub accounts_violating: u64,
    /// The first violations, by account index.
    pub violations: Vec<FleetViolation>,
    /// Accounts the model could not run.
    pub model_errors: Vec<FleetError>,
    /// What an implementation under test did with the same accounts
    /// (`arrears fleet --sut`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sut: Option<SutTally>,
}

/// An implementation under test over a fleet: compared with the model at
/// every simulated day's end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutTally {
    /// How the implementation names itself.
    pub implementation: String,
    /// Accounts it ran to the end.
    pub accounts: u64,
    /// Accounts whose observations differ from the model's.
    pub diverging: u64,
    /// Valid accounts it refused to run.
    pub refused: u64,
    /// The first disagreements, by account index.
    pub disagreements: Vec<SutDisagreement>,
    /// The first account at which it broke the adapter protocol, if any:
    /// the run stops there.
    pub protocol_error: Option<FleetError>,
}

/// One account on which the implementation disagrees with the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SutDisagreement {
    pub account: u64,
    pub seed: u64,
    pub at: Option<DateTime<Utc>>,
    /// What differs, in words (or why it refused the account).
    pub message: String,
    /// The rules behind what the model shows.
    pub rules: Vec<String>,
}

impl SutTally {
    fn merge(&mut self, other: &SutTally) {
        if self.implementation.is_empty() {
            self.implementation = other.implementation.clone();
        }
        self.accounts += other.accounts;
        self.diverging += other.diverging;
        self.refused += other.refused;
        self.disagreements
            .extend(other.disagreements.iter().cloned());
        self.disagreements.sort_by_key(|d| d.account);
        self.disagreements.truncate(VIOLATION_SAMPLE);
        if let Some(e) = &other.protocol_error
            && self
                .protocol_error
                .as_ref()
                .is_none_or(|mine| e.account < mine.account)
        {
            self.protocol_error = Some(e.clone());
        }
    }
}

/// The entry of `key` in `map`, made if missing: the key is copied only
/// the first time (this runs for every resource at every day's end).
pub(crate) fn counter<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

/// Adds `b` into `a` elementwise, growing `a` as needed.
pub(super) fn add_series<T: Copy + std::ops::AddAssign + Default>(a: &mut Vec<T>, b: &[T]) {
    if a.len() < b.len() {
        a.resize(b.len(), T::default());
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

fn add_counts(a: &mut BTreeMap<String, u64>, b: &BTreeMap<String, u64>) {
    for (k, v) in b {
        *a.entry(k.clone()).or_default() += v;
    }
}

impl Daily {
    fn series_mut(&mut self) -> ([&mut Vec<u64>; 13], [&mut Vec<i64>; 3]) {
        (
            [
                &mut self.accounts_overdue_at_day_end,
                &mut self.stops,
                &mut self.restarts,
                &mut self.releases,
                &mut self.data_deleted,
                &mut self.deductions_paid,
                &mut self.deductions_failed,
                &mut self.deductions_overdrawn,
                &mut self.settlements,
                &mut self.refunds,
                &mut self.notifications,
                &mut self.operations_allowed,
                &mut self.operations_refused,
            ],
            [
                &mut self.fees_charged,
                &mut self.fees_not_charged,
                &mut self.refunded,
            ],
        )
    }

    fn zeroed(days: usize) -> Daily {
        let mut d = Daily::default();
        let (counts, money) = d.series_mut();
        for s in counts {
            s.resize(days, 0);
        }
        for s in money {
            s.resize(days, 0);
        }
        d
    }

    fn merge(&mut self, other: &Daily) {
        let mut other = other.clone();
        let (a_counts, a_money) = self.series_mut();
        let (b_counts, b_money) = other.series_mut();
        for (a, b) in a_counts.into_iter().zip(b_counts) {
            add_series(a, b);
        }
        for (a, b) in a_money.into_iter().zip(b_money) {
            add_series(a, b);
        }
    }
}

impl Tally {
    /// An empty tally of a run over `days` days.
    pub fn new(days: u32) -> Tally {
        Tally {
            daily: Daily::zeroed(days as usize),
            ..Tally::default()
        }
    }

    /// Adds `other` (a tally of other accounts) into this one.
    pub fn merge(&mut self, other: &Tally) {
        self.accounts += other.accounts;
        add_counts(&mut self.payers, &other.payers);
        self.resources += other.resources;
        self.history_events += other.history_events;
        self.trace_events += other.trace_events;
        for (product, states) in &other.resources_by_state {
            let mine = self.resources_by_state.entry(product.clone()).or_default();
            for (state, series) in states {
                add_series(mine.entry(state.clone()).or_default(), series);
            }
        }
        self.daily.merge(&other.daily);
        add_counts(&mut self.transitions, &other.transitions);
        add_counts(&mut self.notifications, &other.notifications);
        add_counts(&mut self.refusals, &other.refusals);
        let (a, b) = (&mut self.distributions, &other.distributions);
        add_series(&mut a.overdue_to_stop_days, &b.overdue_to_stop_days);
        add_series(&mut a.overdue_to_release_days, &b.overdue_to_release_days);
        add_series(
            &mut a.overdue_to_settlement_days,
            &b.overdue_to_settlement_days,
        );
        for (id, t) in &other.invariants {
            let mine = self.invariants.entry(id.clone()).or_default();
            mine.applicable += t.applicable;
            mine.exercised += t.exercised;
            mine.violated += t.violated;
        }
        self.accounts_violating += other.accounts_violating;
        self.violations.extend(other.violations.iter().cloned());
        self.violations
            .sort_by(|x, y| (x.account, &x.invariant).cmp(&(y.account, &y.invariant)));
        self.violations.truncate(VIOLATION_SAMPLE);
        self.model_errors.extend(other.model_errors.iter().cloned());
        self.model_errors.sort_by_key(|e| e.account);
        self.model_errors.truncate(VIOLATION_SAMPLE);
        if let Some(other) = &other.sut {
            self.sut.get_or_insert_with(SutTally::default).merge(other);
        }
    }
}
