//! The reference model: the executable meaning of `specs/`.
//!
//! Given a history, the model produces what a correct cloud would show over
//! time. It is an event-driven simulator: the history's events and the
//! system's own scheduled actions (deduction attempts, timed transitions,
//! reminders) are processed in time order from one agenda, so its cost
//! grows with the number of events and transitions, never with the length
//! of simulated time.
//!
//! Everything it does comes from the [`Catalog`]: deduction offsets,
//! lifecycles, capabilities, guards, refund formulas, notification triggers.
//! The Rust here only knows the *mechanisms* (a bill, a timer, a signal to
//! a resource) and never a policy number or a state name.
//!
//! Architecture invariant: the model is pure. No I/O, no clock, no
//! randomness, no hash-order dependence: the same catalog and history give
//! the same trace, byte for byte.
//!
//! API boundary: [`Model`] is driven step by step (load, apply an event,
//! advance the clock, observe), exactly as an implementation under test is
//! driven through the adapter protocol; [`run`] drives it over a whole
//! history.
//!
//! Layout: this file holds the model's state and its driving API;
//! `runs.rs` whole histories run through it; `agenda.rs` the scheduled actions and timers, `events.rs` a history's
//! events applied, `stepping.rs` guards, transitions and notifications,
//! `operations.rs` an owner's operations and their verdicts, `ledger.rs`
//! money (bills, deductions, settlement, refunds), `ids.rs` the ids the
//! model makes (a bill's), `observe.rs` the observations.

mod agenda;
mod events;
mod ids;
mod ledger;
mod observe;
mod operations;
mod runs;
mod stepping;

pub(crate) use runs::run_observing_validated;
pub use runs::{run, run_observing_events};

use ledger::Movement;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::history::{Event, History, HistoryError, Offset, ResourceDef};
use crate::idmap::{IdMap, id_map};
use crate::observation::{
    AccountObservation, BillObservation, BillStatus, FeeOperation, Name, Observation, OperationMap,
    ResourceObservation, Trace, TraceEvent,
};
use crate::spec::{
    Anchor, BillingStatus, Catalog, DocId, Effect, Guard, LifecycleId, NotificationId,
    NotificationTrigger, OpId, RuleId, Signal, StateId, Trigger,
};

/// More cascading transitions than this at one instant means the specs'
/// lifecycles trigger each other in a loop; the model stops with an error
/// instead of hanging. Far above anything a real history causes.
const MAX_STEPS_PER_INSTANT: usize = 100_000;

/// The work budget of one history, in steps (a transition fired, a
/// scheduled action processed): a fixed allowance plus so much per account,
/// resource and event, so it grows with the history as the model's cost
/// does. A safety limit, not a policy number: the worked examples, the
/// benches and generated histories need a few steps per item (see
/// tests/model_budget.rs), far below it. It stops a spec whose timed
/// transitions cycle faster than a history can hold (a 1-second cycle over
/// 30 days is 5 million steps and gigabytes of trace) with an error,
/// quickly and in bounded memory.
pub const WORK_BASE: u64 = 100_000;
/// See [`WORK_BASE`].
pub const WORK_PER_ITEM: u64 = 1_000;

/// A history the model cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error(
        "failed to settle the instant {at}: more than {limit} cascading steps, so the specs' \
         lifecycles trigger each other in a loop"
    )]
    Runaway { at: DateTime<Utc>, limit: usize },
    /// The history's work budget ([`WORK_BASE`], [`WORK_PER_ITEM`]) ran out.
    #[error(
        "failed to run the history: more than {limit} steps of work by {at}; {culprit} cycle \
         faster than the history can hold — check the spec's timed transitions"
    )]
    Budget {
        at: DateTime<Utc>,
        limit: u64,
        /// What did most of the work, such as "lifecycle `x` transitions
        /// `a`→`b` (ab), `b`→`a` (ba)".
        culprit: String,
    },
    /// A balance would leave the range of an `i64`: only an unvalidated
    /// history gets here (see [`crate::history::MAX_ACCOUNT_TOTAL`]).
    #[error(
        "failed to run the history: {what} at {at} would take the balances of account \
         `{account}` beyond what 64-bit minor units hold; keep each account's money in and \
         out under {limit} minor units, as a valid history does",
        limit = crate::history::MAX_ACCOUNT_TOTAL
    )]
    Money {
        at: DateTime<Utc>,
        account: String,
        what: String,
    },
    /// A refund formula that cannot be evaluated on a resource's inputs.
    #[error(
        "failed to compute the refund of resource `{resource}` at {at}: formula `{formula}` \
         {reason}; check the formula in the spec"
    )]
    Refund {
        at: DateTime<Utc>,
        resource: String,
        formula: String,
        /// Which expression failed, on what inputs, and why.
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct Account {
    id: Name,
    cash: i64,
    vouchers: i64,
    threshold: Option<i64>,
    below_threshold: bool,
    overdue_since: Option<DateTime<Utc>>,
    /// Bills of this account currently overdue or overdrawn.
    overdue_bills: u32,
    resources: Vec<usize>,
    /// Bills of this account not yet paid, in the order they were issued.
    /// A paid bill stays paid, so it leaves this list for good: observing,
    /// settling and the anchors read only what can still change, not
    /// every bill of the history.
    unpaid: Vec<usize>,
    /// How many times a bill of this account has changed: issued (in
    /// [`Model::charge`]), or tried, rescheduled or marked (through
    /// [`Model::bill_mut`]). An observation rebuilds the list of
    /// outstanding bills only when this has moved since the last list.
    bill_changes: u64,
}

#[derive(Debug, Clone)]
struct Resource {
    id: Name,
    account: usize,
    doc: DocId,
    lifecycle: LifecycleId,
    state: StateId,
    entered: DateTime<Utc>,
    /// The rule of the transition that led to the current state.
    entered_rule: Option<RuleId>,
    parent: Option<usize>,
    children: Vec<usize>,
    purchased_at: DateTime<Utc>,
    term: TimeDelta,
    expires_at: Option<DateTime<Utc>>,
    paid_cash: i64,
    paid_voucher: i64,
    hourly_price: Option<i64>,
    auto_release_at: Option<DateTime<Utc>>,
    overdue_since: Option<DateTime<Utc>>,
    overdue_bills: u32,
    /// Bills of this resource not yet paid, in the order they were issued
    /// (see `Account::unpaid`).
    unpaid: Vec<usize>,
    bill_count: u32,
    timer_generation: u64,
    /// When the current timer is planned for, to skip re-planning the same.
    timer_due: Option<DateTime<Utc>>,
    reminder_generation: u64,
    reminded_for: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Bill {
    /// Its position in the model's bills: the order bills were issued.
    index: usize,
    id: Name,
    account: usize,
    resource: usize,
    doc: DocId,
    amount: i64,
    settlement: DateTime<Utc>,
    attempts: u32,
    status: BillStatus,
    next_attempt: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Agendum {
    Deduction {
        bill: usize,
        attempt: u32,
    },
    Timer {
        resource: usize,
        generation: u64,
    },
    Reminder {
        resource: usize,
        generation: u64,
        notification: u32,
    },
}

#[derive(Debug, Clone, Copy)]
enum Stimulus {
    Signal(Signal),
    ParentEntered(StateId),
}

/// The verdict on an operation a user asks for.
///
/// Holds no owned strings: observing decides every operation of every
/// resource at every instant, and only a logged verdict needs its words.
#[derive(Debug, Clone, Copy)]
struct Decision<'c> {
    allowed: bool,
    rule: Option<RuleId>,
    reason: Option<Refusal<'c>>,
    /// The error the refusal answers with, if the document names one.
    error_code: Option<&'c str>,
    /// The transition the operation triggers, if any.
    transition: Option<usize>,
}

/// Why an operation is refused, put in words only when logged.
#[derive(Debug, Clone, Copy)]
enum Refusal<'c> {
    /// The resource is in a terminal state.
    Ended(&'c str),
    Overdue,
    NotAllowedWhile(&'c str),
    ConditionsDoNotHold(&'c str),
    InsufficientCredit,
}

impl std::fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Ended(state) => write!(f, "the resource is {state}"),
            Refusal::Overdue => f.write_str("the account is overdue"),
            Refusal::NotAllowedWhile(state) => write!(f, "not allowed while {state}"),
            Refusal::ConditionsDoNotHold(state) => {
                write!(f, "its conditions do not hold while {state}")
            }
            Refusal::InsufficientCredit => f.write_str("insufficient available credit"),
        }
    }
}

/// A state of a lifecycle, and whether the account is overdue.
type VerdictKey = (LifecycleId, StateId, bool);

/// An account's last list of outstanding bills, and its count of bill
/// changes when the list was built (`None` before the first list).
type LastListed = (Option<u64>, Arc<[BillObservation]>);

/// A resource's last observation, and what it was built from.
type LastObserved = (ObservedFrom, Arc<ResourceObservation>);

/// Everything of a resource an observation of it shows, other than its
/// fixed names and the verdicts on its operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ObservedFrom {
    lifecycle: LifecycleId,
    state: StateId,
    since: DateTime<Utc>,
    overdue_since: Option<DateTime<Utc>>,
    oldest_overdue_bill: Option<DateTime<Utc>>,
    purchased_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    account_overdue: bool,
}

/// The reference model, driven one step at a time.
#[derive(Debug, Clone)]
pub struct Model<'c> {
    catalog: &'c Catalog,
    now: DateTime<Utc>,
    accounts: Vec<Account>,
    account_index: IdMap<String, usize>,
    resources: Vec<Resource>,
    resource_index: IdMap<String, usize>,
    bills: Vec<Bill>,
    agenda: BinaryHeap<Reverse<(DateTime<Utc>, u64, Agendum)>>,
    sequence: u64,
    log: Vec<TraceEvent>,
    stimuli: VecDeque<(usize, Stimulus)>,
    /// Resources to re-plan when the instant settles, in any order and
    /// with repeats: a list costs no allocation per entry, as a set would,
    /// and it is sorted once when it is taken.
    dirty: Vec<usize>,
    steps_this_instant: usize,
    /// Steps of work so far, against the budget.
    work: u64,
    budget: u64,
    /// How often each transition fired, per lifecycle, to name a cycle.
    fired: Vec<Vec<u64>>,
    start: DateTime<Utc>,
    /// Resources whose purchase was refused, with the refusing rule: later
    /// events about them are refused too, not errors of the history.
    refused: IdMap<String, (usize, Option<RuleId>)>,
    /// See [`Model::fee_operations`].
    fee_operations: std::cell::OnceCell<[Arc<[FeeOperation]>; 2]>,
    /// See [`Model::reminders`].
    reminders: std::cell::OnceCell<Vec<Vec<(u32, TimeDelta)>>>,
    /// The verdicts on the operations of a state that only its account's
    /// standing decides (all but `CatalogLookups::varying_verdicts`), per
    /// (lifecycle, state, account overdue), worked out the first time a
    /// resource is observed in it.
    fixed_verdicts: std::cell::RefCell<Vec<(VerdictKey, OperationMap)>>,
    /// Each resource's last observation, with what it was built from; see
    /// [`Model::resource_observation`].
    observed: std::cell::RefCell<Vec<Option<LastObserved>>>,
    /// Each account's last list of outstanding bills, with what it was
    /// built from; see [`Model::outstanding_bills`].
    listed_bills: std::cell::RefCell<Vec<LastListed>>,
}

fn place(what: &str) -> String {
    what.to_string()
}

impl<'c> Model<'c> {
    /// Loads the start of a history: its instant, accounts and resources.
    /// (Events are applied one by one with [`Model::apply`].)
    pub fn new(catalog: &'c Catalog, history: &History) -> Result<Model<'c>, ModelError> {
        let mut model = Model {
            catalog,
            now: history.start,
            accounts: Vec::new(),
            account_index: id_map(),
            resources: Vec::new(),
            resource_index: id_map(),
            bills: Vec::new(),
            agenda: BinaryHeap::new(),
            sequence: 0,
            // About two log events per history event (a charge and its
            // deduction, a payment and the settlements it makes): sized
            // once, rather than regrown and copied while the run goes.
            log: Vec::with_capacity(history.events.len().saturating_mul(2)),
            stimuli: VecDeque::new(),
            dirty: Vec::new(),
            steps_this_instant: 0,
            fixed_verdicts: std::cell::RefCell::default(),
            observed: std::cell::RefCell::default(),
            listed_bills: std::cell::RefCell::default(),
            work: 0,
            budget: WORK_BASE.saturating_add(
                WORK_PER_ITEM
                    .saturating_mul((history.accounts.len() + history.resources.len()) as u64),
            ),
            // Counted from a lifecycle's first transition on: most histories
            // touch a few of the catalog's lifecycles.
            fired: vec![Vec::new(); catalog.lifecycles.len()],
            start: history.start,
            refused: id_map(),
            fee_operations: std::cell::OnceCell::new(),
            reminders: std::cell::OnceCell::new(),
        };
        model.open_accounts(history)?;
        model.create_listed_resources(history)?;
        for a in 0..model.accounts.len() {
            model.check_credit_alert(a);
        }
        model.settle_instant()?;
        Ok(model)
    }

    /// The history's accounts, each with its starting balance.
    fn open_accounts(&mut self, history: &History) -> Result<(), ModelError> {
        for a in &history.accounts {
            if self.account_index.contains_key(&a.id) {
                return Err(HistoryError {
                    place: place("accounts"),
                    message: format!("account `{}` is listed twice", a.id),
                }
                .into());
            }
            if a.cash.checked_add(a.vouchers).is_none() {
                return Err(ModelError::Money {
                    at: history.start,
                    account: a.id.clone(),
                    what: format!(
                        "a starting balance of {} cash and {} vouchers",
                        a.cash, a.vouchers
                    ),
                });
            }
            self.account_index.insert(a.id.clone(), self.accounts.len());
            self.accounts.push(Account {
                id: Name::from(a.id.as_str()),
                cash: a.cash,
                vouchers: a.vouchers,
                threshold: a.credit_alert,
                below_threshold: false,
                overdue_since: None,
                overdue_bills: 0,
                resources: Vec::new(),
                unpaid: Vec::new(),
                bill_changes: 0,
            });
        }
        Ok(())
    }

    /// The resources the history lists as existing at its start.
    fn create_listed_resources(&mut self, history: &History) -> Result<(), ModelError> {
        for (i, r) in history.resources.iter().enumerate() {
            let account = *self
                .account_index
                .get(&r.account)
                .ok_or_else(|| HistoryError {
                    place: format!("resources[{i}] ({})", r.id),
                    message: format!("unknown account `{}`", r.account),
                })?;
            let purchased = r.purchased_at.unwrap_or_default().at(history.start);
            // The place is written only for an error: a history lists its
            // resources once per run, and verify starts many runs.
            self.create(account, r, purchased, r.paid_cash, r.paid_voucher, "")
                .map_err(|error| match error {
                    ModelError::History(mut e) if e.place.is_empty() => {
                        e.place = format!("resources[{i}] ({})", r.id);
                        ModelError::History(e)
                    }
                    other => other,
                })?;
        }
        Ok(())
    }

    /// The model's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// When the earliest scheduled action is due (a deduction, a timer, a
    /// reminder), if any: a run that observes at every instant the model
    /// acts steps from one such instant to the next.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.agenda.peek().map(|Reverse((due, _, _))| *due)
    }

    /// How many events the model has logged since the last [`Model::take_events`].
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// Steps of work done so far (transitions fired, scheduled actions
    /// processed), and the budget they may reach.
    pub fn work(&self) -> (u64, u64) {
        (self.work, self.budget)
    }

    /// Counts one step of work, failing once the budget is spent.
    fn spend(&mut self) -> Result<(), ModelError> {
        self.work += 1;
        if self.work <= self.budget {
            return Ok(());
        }
        Err(ModelError::Budget {
            at: self.now,
            limit: self.budget,
            culprit: self.busiest_transitions(),
        })
    }

    /// The transitions that fired most, as the cause of a spent budget.
    fn busiest_transitions(&self) -> String {
        let Some((lifecycle, most)) = self
            .fired
            .iter()
            .enumerate()
            .filter_map(|(l, counts)| counts.iter().max().map(|m| (l, *m)))
            .max_by_key(|(l, m)| (*m, std::cmp::Reverse(*l)))
            .filter(|(_, m)| *m > 0)
        else {
            return "the scheduled deductions and reminders".to_string();
        };
        let lc = &self.catalog.lifecycles[lifecycle];
        // The transitions of that lifecycle that fired about as often: the
        // members of the cycle.
        let busy: Vec<String> = lc
            .transitions
            .iter()
            .zip(&self.fired[lifecycle])
            .filter(|(_, n)| **n * 2 >= most)
            .map(|(t, _)| {
                let from: Vec<&str> = t.from.iter().map(|s| lc.state(*s).id.as_str()).collect();
                format!("`{}`→`{}` ({})", from.join("|"), lc.state(t.to).id, t.id)
            })
            .collect();
        format!("lifecycle `{}` transitions {}", lc.id, busy.join(", "))
    }

    /// The events logged since the last call.
    pub fn take_events(&mut self) -> Vec<TraceEvent> {
        std::mem::take(&mut self.log)
    }

    /// Moves the clock to `t`, running everything due up to and including it.
    pub fn advance_to(&mut self, t: DateTime<Utc>) -> Result<(), ModelError> {
        self.run_agenda(t, true)?;
        if t > self.now {
            self.now = t;
            self.steps_this_instant = 0;
        }
        Ok(())
    }

    /// Applies one history event at its instant.
    pub fn apply(&mut self, event: &Event) -> Result<(), ModelError> {
        // The errors of an event name it as their place; the name is
        // written only for an error, since this runs for every event.
        self.apply_event(event).map_err(|error| match error {
            ModelError::History(mut e) if e.place.is_empty() => {
                e.place = format!("{} at {}", event.kind(), event.at());
                ModelError::History(e)
            }
            other => other,
        })
    }
}
