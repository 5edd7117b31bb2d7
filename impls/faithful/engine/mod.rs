//! The billing engine: accounts, resources and bills, the clock, and the
//! adapter-protocol entry points (load, apply, advance, observe).
//!
//! # Time
//!
//! The clock is stepped, as a batch billing system polls: on `advance(to)`
//! and before each `apply(at)` it moves forward in steps of at most one
//! hour ([`STEP`]). At each step it scans every bill (is a deduction
//! attempt due?) and every resource (is a stop, a release, an expiry, a
//! reminder due?). Whatever fell due inside the step is carried out at its
//! own instant, earliest first, so the results are exact although the
//! engine only polls.
//!
//! At one instant the history's events come before the system's actions
//! (ecs.interp.same-instant, `events-first`): an event at `t` is applied
//! after everything due before `t`, and what is due at `t` runs on the next
//! step. Among actions due at the same instant, the one planned earlier
//! runs first; this matters because an account's money is shared, so which
//! of two actions runs first can decide which bill is paid. A bill's
//! attempt is planned when it is scheduled. A resource's timed actions are
//! planned again at the end of every action that may have moved them: when
//! money moves or a bill changes in its account (all the account's
//! resources, in their order), when it changes state, or when its automatic
//! release time is set. Issuing a bill or an operation that changes nothing
//! plans nothing again.
//!
//! # Causes and effects
//!
//! Every change is logged in the order it happens: a deduction, then the
//! notifications it triggers, then the state changes of the resource whose
//! bill it was, then those of the account's other resources; a transition
//! is followed by its effects (a notification, a refund) and then by the
//! reactions of the resources attached to it.

mod clock;
mod events;
mod log;
mod observe;
mod operations;
mod payments;
mod setup;
mod transitions;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};

use arrears::history::Term;
use arrears::observation::TraceEvent;

use crate::faults::Faults;
use crate::ledger::{Account, Bill};
use crate::policy;
use crate::products;
use crate::readings::Readings;
use crate::vocab::{Ctx, Lc, St, Timed};

/// The longest the clock moves between two scans.
pub const STEP: TimeDelta = TimeDelta::hours(1);

/// A resource of the history (listed at the start, or bought later).
#[derive(Debug, Clone)]
struct Resource {
    id: String,
    account: usize,
    lc: Lc,
    state: St,
    /// When it entered its state.
    since: DateTime<Utc>,
    /// The rule of the transition that brought it into its state (cited
    /// when a terminal or non-billing state refuses something).
    entered_rule: &'static str,
    parent: Option<usize>,
    purchased_at: DateTime<Utc>,
    /// The whole paid term, renewals included.
    term: TimeDelta,
    expires_at: Option<DateTime<Utc>>,
    paid_cash: i64,
    paid_voucher: i64,
    auto_release_at: Option<DateTime<Utc>>,
    hourly_price: Option<i64>,
    /// Bills issued so far (bills are numbered from 1).
    bills_issued: u32,
    /// Start of its own overdue episode.
    overdue_since: Option<DateTime<Utc>>,
    /// The expiry for which the reminder was sent.
    reminded_for: Option<DateTime<Utc>>,
    /// When its timed actions were last planned, in the engine's sequence.
    planned: u64,
}

/// Something the schedule has due.
#[derive(Debug, Clone, Copy)]
enum Due {
    /// The next deduction attempt of a bill.
    Deduction(usize),
    /// The earliest timed action of a resource.
    Timer(usize),
}

/// A refused operation: the rule that refused it, and why.
struct Refusal {
    rule: Option<&'static str>,
    reason: String,
}

pub struct Engine {
    faults: Faults,
    readings: Readings,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    accounts: Vec<Account>,
    resources: Vec<Resource>,
    bills: Vec<Bill>,
    log: Vec<TraceEvent>,
    /// Orders actions planned for the same instant.
    sequence: u64,
    /// Resources whose timed actions may have moved during the current
    /// action, to be planned again (in resource order) when it ends.
    changed: BTreeSet<usize>,
}

impl Engine {
    pub fn new(faults: Faults, readings: Readings) -> Engine {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        Engine {
            faults,
            readings,
            start: epoch,
            now: epoch,
            accounts: Vec::new(),
            resources: Vec::new(),
            bills: Vec::new(),
            log: Vec::new(),
            sequence: 0,
            changed: BTreeSet::new(),
        }
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Notes that money moved or a bill changed in the account: every
    /// resource's schedule may depend on it (overdue since, oldest overdue
    /// bill). Issuing a bill, recording consumption or an operation that
    /// changes nothing leaves the plans as they were.
    fn ledger_changed(&mut self, account: usize) {
        for r in self.resources_of(account) {
            self.changed.insert(r);
        }
    }

    /// Notes that the resource's own schedule may have moved (it changed
    /// state, or its automatic release time was set).
    fn resource_changed(&mut self, r: usize) {
        self.changed.insert(r);
    }

    /// At the end of an action, plans again what it changed, after
    /// everything planned so far.
    fn replan_changed(&mut self) {
        for r in std::mem::take(&mut self.changed) {
            let s = self.next_sequence();
            self.resources[r].planned = s;
        }
    }

    // ------------------------------------------------------------ lookup --

    fn account_index(&self, id: &str) -> Result<usize, String> {
        self.accounts
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| format!("unknown account `{id}`"))
    }

    fn resource_index(&self, id: &str) -> Result<usize, String> {
        self.resources
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| format!("unknown resource `{id}`"))
    }

    fn account_overdue(&self, account: usize) -> bool {
        self.bills
            .iter()
            .any(|b| b.account == account && b.is_overdue())
    }

    fn oldest_overdue_bill(&self, resource: usize) -> Option<DateTime<Utc>> {
        self.bills
            .iter()
            .filter(|b| b.resource == resource && b.is_overdue())
            .map(|b| b.settlement)
            .min()
    }

    fn ctx(&self, r: usize) -> Ctx {
        let res = &self.resources[r];
        Ctx {
            now: self.now,
            since: res.since,
            purchased_at: res.purchased_at,
            expires_at: res.expires_at,
            overdue_since: res.overdue_since,
            oldest_overdue_bill: self.oldest_overdue_bill(r),
            account_overdue_since: self.accounts[res.account].overdue_since,
            auto_release_at: res.auto_release_at,
            parent_state: res.parent.map(|p| self.resources[p].state),
            reminded: res.expires_at.is_some() && res.reminded_for == res.expires_at,
            attached_unavailable_at_t15: self.readings.attached_unavailable_at_t15,
            hybrid_expiry_first: self.readings.hybrid_expiry_first,
            spark_window_end_inclusive: self.readings.spark_window_end_inclusive,
            spark_late_plan_pro_rata: self.readings.spark_late_plan_pro_rata,
            maxcompute_lock_with_account: self.readings.maxcompute_lock_with_account,
            maxcompute_release_after: self
                .readings
                .maxcompute_releases_unpaid
                .then(|| TimeDelta::days(policy::MAXCOMPUTE_SELECTED_RELEASE_DAYS)),
            reminder_lead: TimeDelta::days(if self.readings.reminder_any_lead {
                policy::FLINK_ANY_REMINDER_LEAD_DAYS
            } else {
                policy::FLINK_EXPIRY_REMINDER_LEAD_DAYS
            }),
        }
    }

    fn traits(&self, r: usize) -> crate::vocab::Traits {
        let res = &self.resources[r];
        products::traits(
            res.lc,
            res.state,
            res.entered_rule,
            self.account_overdue(res.account),
            &self.faults,
        )
    }

    /// The resource's scheduled actions, each with the instant it is due
    /// at (possibly already past).
    fn timers(&self, r: usize) -> Vec<(DateTime<Utc>, Timed)> {
        let res = &self.resources[r];
        let ctx = self.ctx(r);
        products::timers(res.lc, res.state, &ctx, &self.faults)
    }

    /// The earliest due action of the resource (earliest due instant first,
    /// then the order the document lists them in), with the instant it runs
    /// at: an action already past due (an expiry a late renewal leaves in
    /// the past, a reminder for a workspace bought less than a week before
    /// its expiry) runs now, after the events of this instant.
    fn earliest_timer(&self, r: usize) -> Option<(DateTime<Utc>, Timed)> {
        let mut best: Option<(DateTime<Utc>, Timed)> = None;
        for (due, t) in self.timers(r) {
            if best.is_none_or(|(b, _)| due < b) {
                best = Some((due, t));
            }
        }
        best.map(|(due, t)| (due.max(self.now), t))
    }

    fn resources_of(&self, account: usize) -> Vec<usize> {
        (0..self.resources.len())
            .filter(|&r| self.resources[r].account == account)
            .collect()
    }
}

/// When a term starting at `from` ends: a fixed length later, or the same
/// day of the month N calendar months later, clamped to a shorter month's
/// last day (bought on 31 January, one month ends at the end of February).
/// Past the calendar's end (which a valid history never reaches) it ends
/// where it starts.
fn term_end(term: Term, from: DateTime<Utc>) -> DateTime<Utc> {
    match term {
        Term::Fixed(d) => from.checked_add_signed(d),
        Term::Months(m) => from.checked_add_months(chrono::Months::new(m)),
    }
    .unwrap_or(from)
}
