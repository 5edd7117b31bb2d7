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

mod ledger;

use ledger::Movement;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::history::{Event, History, HistoryError, Offset, ResourceDef};
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

/// Runs a whole history through the model, observing at `observe_at` (and
/// at the history's own `observe` instants).
pub fn run(
    catalog: &Catalog,
    history: &History,
    observe_at: &[Offset],
) -> Result<Trace, ModelError> {
    history.validate(catalog)?;
    let mut model = Model::new(catalog, history)?;
    let mut instants: Vec<Offset> = observe_at.iter().chain(&history.observe).copied().collect();
    instants.sort();
    instants.dedup();
    let mut observations = Vec::new();
    let mut pending = instants.into_iter().peekable();
    for event in &history.events {
        while let Some(o) = pending.next_if(|o| *o < event.at()) {
            model.advance_to(o.at(history.start))?;
            observations.push(model.observe());
        }
        model.apply(event)?;
    }
    for o in pending {
        model.advance_to(o.at(history.start))?;
        observations.push(model.observe());
    }
    model.advance_to(history.end().at(history.start))?;
    Ok(Trace {
        events: model.take_events(),
        observations,
    })
}

/// Runs a whole history through the model until `until` (the history's
/// end when `None`), observing at `observe_at`, at the history's own
/// `observe` instants, and at every instant the model logs an event.
///
/// This is what [`run`] observes when it is given the instants of a first
/// run's events, done in one run: the model's events do not depend on when
/// it is observed, and the clock stops at every instant something is due,
/// so each state the log announces is observed before the next one
/// replaces it. Instants to observe after `until` are not observed (a
/// caller that needs them runs [`run`]).
pub fn run_observing_events(
    catalog: &Catalog,
    history: &History,
    observe_at: &[Offset],
    until: Option<Offset>,
) -> Result<Trace, ModelError> {
    history.validate(catalog)?;
    run_observing_validated(catalog, history, observe_at, until)
}

/// [`run_observing_events`] on a history the caller has already validated
/// against `catalog` (the fleet validates each account once, and gives the
/// checks the lifecycles validation resolved).
pub(crate) fn run_observing_validated(
    catalog: &Catalog,
    history: &History,
    observe_at: &[Offset],
    until: Option<Offset>,
) -> Result<Trace, ModelError> {
    let mut model = Model::new(catalog, history)?;
    let start = history.start;
    let end = until.unwrap_or_else(|| history.end()).at(start);
    let mut instants: Vec<DateTime<Utc>> = observe_at
        .iter()
        .chain(&history.observe)
        .map(|o| o.at(start))
        .collect();
    instants.sort();
    instants.dedup();
    let mut instants = instants.into_iter().peekable();
    // Each event's instant, worked out once rather than at every step.
    let mut events = history
        .events
        .iter()
        .map(|e| (e.at().at(start), e))
        .peekable();
    let mut observations = Vec::new();
    // Loading the history may already log events (at its start).
    let mut logged = 0;
    loop {
        let next_event = events.peek().map(|(at, _)| *at);
        let unobserved = (model.log_len() > logged).then_some(model.now);
        let candidates = [
            unobserved,
            instants.peek().copied(),
            next_event,
            model.next_due(),
        ];
        let Some(t) = candidates.into_iter().flatten().min().filter(|t| *t <= end) else {
            break;
        };
        while let Some((_, e)) = events.next_if(|(at, _)| *at == t) {
            model.apply(e)?;
        }
        model.advance_to(t)?;
        let asked = instants.next_if_eq(&t).is_some();
        if asked || model.log_len() > logged {
            logged = model.log_len();
            observations.push(model.observe());
        }
    }
    model.advance_to(end)?;
    Ok(Trace {
        events: model.take_events(),
        observations,
    })
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

/// The reference model, driven one step at a time.
#[derive(Debug, Clone)]
pub struct Model<'c> {
    catalog: &'c Catalog,
    now: DateTime<Utc>,
    accounts: Vec<Account>,
    account_index: HashMap<String, usize>,
    resources: Vec<Resource>,
    resource_index: HashMap<String, usize>,
    bills: Vec<Bill>,
    agenda: BinaryHeap<Reverse<(DateTime<Utc>, u64, Agendum)>>,
    sequence: u64,
    log: Vec<TraceEvent>,
    stimuli: VecDeque<(usize, Stimulus)>,
    dirty: BTreeSet<usize>,
    steps_this_instant: usize,
    /// Steps of work so far, against the budget.
    work: u64,
    budget: u64,
    /// How often each transition fired, per lifecycle, to name a cycle.
    fired: Vec<Vec<u64>>,
    start: DateTime<Utc>,
    /// Resources whose purchase was refused, with the refusing rule: later
    /// events about them are refused too, not errors of the history.
    refused: HashMap<String, (usize, Option<RuleId>)>,
    /// See [`Model::fee_operations`].
    fee_operations: std::cell::OnceCell<[Arc<[FeeOperation]>; 2]>,
    /// The verdicts on every operation of a state whose verdicts only
    /// its account's standing decides (`CatalogLookups::verdicts_fixed`),
    /// per (lifecycle, state, account overdue), worked out the first time
    /// a resource is observed in it.
    fixed_verdicts: std::cell::RefCell<Vec<(VerdictKey, OperationMap)>>,
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
            account_index: HashMap::new(),
            resources: Vec::new(),
            resource_index: HashMap::new(),
            bills: Vec::new(),
            agenda: BinaryHeap::new(),
            sequence: 0,
            log: Vec::new(),
            stimuli: VecDeque::new(),
            dirty: BTreeSet::new(),
            steps_this_instant: 0,
            fixed_verdicts: std::cell::RefCell::default(),
            work: 0,
            budget: WORK_BASE.saturating_add(
                WORK_PER_ITEM
                    .saturating_mul((history.accounts.len() + history.resources.len()) as u64),
            ),
            // Counted from a lifecycle's first transition on: most histories
            // touch a few of the catalog's lifecycles.
            fired: vec![Vec::new(); catalog.lifecycles.len()],
            start: history.start,
            refused: HashMap::new(),
            fee_operations: std::cell::OnceCell::new(),
        };
        for a in &history.accounts {
            if model.account_index.contains_key(&a.id) {
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
            model
                .account_index
                .insert(a.id.clone(), model.accounts.len());
            model.accounts.push(Account {
                id: Name::from(a.id.as_str()),
                cash: a.cash,
                vouchers: a.vouchers,
                threshold: a.credit_alert,
                below_threshold: false,
                overdue_since: None,
                overdue_bills: 0,
                resources: Vec::new(),
                unpaid: Vec::new(),
            });
        }
        for (i, r) in history.resources.iter().enumerate() {
            let account = *model
                .account_index
                .get(&r.account)
                .ok_or_else(|| HistoryError {
                    place: format!("resources[{i}] ({})", r.id),
                    message: format!("unknown account `{}`", r.account),
                })?;
            let purchased = r.purchased_at.unwrap_or_default().at(history.start);
            model.create(
                account,
                r,
                purchased,
                r.paid_cash,
                r.paid_voucher,
                &format!("resources[{i}] ({})", r.id),
            )?;
        }
        for a in 0..model.accounts.len() {
            model.check_credit_alert(a);
        }
        model.settle_instant()?;
        Ok(model)
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

    fn events_first(&self) -> bool {
        self.catalog
            .flag(self.catalog.ledger.events_before_system_actions)
    }

    fn schedule(&mut self, due: DateTime<Utc>, what: Agendum) {
        self.sequence += 1;
        self.agenda.push(Reverse((due, self.sequence, what)));
    }

    /// Runs the system's scheduled actions due up to `until` (inclusive or
    /// not), in time order.
    fn run_agenda(&mut self, until: DateTime<Utc>, inclusive: bool) -> Result<(), ModelError> {
        while let Some(Reverse((due, _, _))) = self.agenda.peek() {
            let due = *due;
            if due > until || (!inclusive && due == until) {
                break;
            }
            let Some(Reverse((_, _, what))) = self.agenda.pop() else {
                break;
            };
            self.spend()?;
            if due > self.now {
                self.now = due;
                self.steps_this_instant = 0;
            }
            match what {
                Agendum::Deduction { bill, attempt } => self.scheduled_deduction(bill, attempt)?,
                Agendum::Timer {
                    resource,
                    generation,
                } => self.timer(resource, generation)?,
                Agendum::Reminder {
                    resource,
                    generation,
                    notification,
                } => self.reminder(resource, generation, NotificationId(notification)),
            }
            self.settle_instant()?;
        }
        Ok(())
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

    fn apply_event(&mut self, event: &Event) -> Result<(), ModelError> {
        let at = event.at().at(self.start);
        if at < self.now {
            return Err(HistoryError {
                place: format!("{} at {}", event.kind(), event.at()),
                message: "events must come in time order".to_string(),
            }
            .into());
        }
        // Each event brings its share of the budget.
        self.budget = self.budget.saturating_add(WORK_PER_ITEM);
        // Which comes first at one instant is an interpretation of the specs.
        let inclusive = !self.events_first();
        self.run_agenda(at, inclusive)?;
        if at > self.now {
            self.now = at;
            self.steps_this_instant = 0;
        }
        // Filled in by `apply` if an error names it.
        let where_ = String::new();
        // Bills and prices are never negative (a valid history's amounts
        // lie between 0 and MAX_AMOUNT): the ledger splits them between
        // cash and vouchers, which only means something for what is owed.
        let owed = match event {
            Event::Charge { amount, hours, .. } => amount.or(*hours).map(|a| ("amount", a)),
            Event::Purchase { price, .. }
            | Event::Renew { price, .. }
            | Event::Upgrade { price, .. } => Some(("price", *price)),
            _ => None,
        };
        if let Some((field, value)) = owed.filter(|(_, v)| *v < 0) {
            let field = if matches!(event, Event::Charge { amount: None, .. }) {
                "hours"
            } else {
                field
            };
            return Err(HistoryError {
                place: where_,
                message: format!("{field} must not be negative (it is {value})"),
            }
            .into());
        }
        if let Some(id) = event
            .resource()
            .filter(|_| !matches!(event, Event::Purchase { .. }))
            && let Some((account, rule)) = self.refused.get(id).copied()
        {
            self.refuse_for_missing_resource(event, id, account, rule);
            return self.settle_instant();
        }
        match event {
            Event::Charge {
                resource,
                amount,
                hours,
                ..
            } => {
                let r = self.resource_named(resource, &where_)?;
                let amount = match (amount, hours) {
                    (Some(a), _) => *a,
                    (None, Some(h)) => {
                        let price = self.resources[r].hourly_price.ok_or_else(|| HistoryError {
                            place: where_.clone(),
                            message: format!(
                                "`hours` needs an hourly_price on resource `{resource}`"
                            ),
                        })?;
                        price.checked_mul(*h).ok_or_else(|| HistoryError {
                            place: where_.clone(),
                            message: "hours times the hourly price does not fit in 64-bit \
                                      minor units"
                                .to_string(),
                        })?
                    }
                    (None, None) => {
                        return Err(HistoryError {
                            place: where_,
                            message: "give `amount` or `hours`".into(),
                        }
                        .into());
                    }
                };
                self.charge(r, amount);
            }
            Event::TopUp {
                account, amount, ..
            } => {
                let a = self.account_named(account, &where_)?;
                self.top_up(a, *amount)?;
            }
            Event::GrantVoucher {
                account, amount, ..
            } => {
                let a = self.account_named(account, &where_)?;
                self.grant_voucher(a, *amount)?;
            }
            Event::PayNow { account, .. } => {
                let a = self.account_named(account, &where_)?;
                self.pay_now(a)?;
            }
            Event::Purchase {
                account,
                resource,
                price,
                ..
            } => {
                let a = self.account_named(account, &where_)?;
                self.purchase(a, resource, *price, &where_)?;
            }
            Event::Renew {
                resource,
                term,
                price,
                ..
            } => {
                let r = self.resource_named(resource, &where_)?;
                self.renew(r, *term, *price, &where_)?;
            }
            Event::Upgrade {
                resource, price, ..
            } => {
                let r = self.resource_named(resource, &where_)?;
                let op = self.op_of(r, "upgrade", &where_)?;
                self.paid_operation(r, op, *price, |_| true)?;
            }
            Event::SetAutoRelease {
                resource,
                release_at,
                ..
            } => {
                let r = self.resource_named(resource, &where_)?;
                let op = self.op_of(r, "set-auto-release", &where_)?;
                let decision = self.decide(r, op);
                self.log_operation(r, op, &decision);
                if decision.allowed {
                    self.resources[r].auto_release_at = Some(release_at.at(self.start));
                    self.dirty.insert(r);
                }
            }
            Event::Operate {
                resource,
                operation,
                ..
            } => {
                let r = self.resource_named(resource, &where_)?;
                let op = self.op_of(r, operation, &where_)?;
                let decision = self.decide(r, op);
                self.log_operation(r, op, &decision);
                if let (true, Some(t)) = (decision.allowed, decision.transition) {
                    self.fire(r, t)?;
                }
            }
        }
        self.settle_instant()
    }

    fn resource_named(&self, id: &str, where_: &str) -> Result<usize, HistoryError> {
        self.resource_index
            .get(id)
            .copied()
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("unknown resource `{id}`"),
            })
    }

    fn account_named(&self, id: &str, where_: &str) -> Result<usize, HistoryError> {
        self.account_index
            .get(id)
            .copied()
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("unknown account `{id}`"),
            })
    }

    fn op_of(&self, r: usize, name: &str, where_: &str) -> Result<OpId, HistoryError> {
        let doc = self.catalog.document(self.resources[r].doc);
        self.catalog
            .op_named(name)
            .filter(|op| doc.operations.contains_key(op))
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("product `{}` has no operation `{name}`", doc.id),
            })
    }

    // ----- resources -------------------------------------------------------------

    fn create(
        &mut self,
        account: usize,
        def: &ResourceDef,
        purchased_at: DateTime<Utc>,
        paid_cash: i64,
        paid_voucher: i64,
        where_: &str,
    ) -> Result<usize, ModelError> {
        let bad = |message: String| -> ModelError {
            HistoryError {
                place: where_.to_string(),
                message,
            }
            .into()
        };
        if self.resource_index.contains_key(&def.id) {
            return Err(bad(format!("resource `{}` already exists", def.id)));
        }
        let doc = self
            .catalog
            .document_named(&def.product)
            .ok_or_else(|| bad(format!("unknown product `{}`", def.product)))?;
        let parent = match &def.parent {
            None => None,
            Some(p) => Some(
                *self
                    .resource_index
                    .get(p)
                    .ok_or_else(|| bad(format!("unknown parent `{p}`")))?,
            ),
        };
        let lifecycle = self
            .catalog
            .find_lifecycle(
                doc,
                &def.kind,
                def.billing,
                parent.map(|p| self.resources[p].lifecycle),
            )
            .ok_or_else(|| {
                bad(format!(
                    "no lifecycle of `{}` covers this {} {}",
                    def.product,
                    def.kind,
                    serde_json::to_value(def.billing)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                ))
            })?;
        let lc = self.catalog.lifecycle(lifecycle);
        // The validated history keeps every expiry inside the calendar.
        let expires_at = def.term.and_then(|t| t.end(purchased_at));
        let term = expires_at
            .map(|e| e - purchased_at)
            .unwrap_or_else(TimeDelta::zero);
        let index = self.resources.len();
        self.resources.push(Resource {
            id: Name::from(def.id.as_str()),
            account,
            doc,
            lifecycle,
            state: lc.initial,
            entered: self.now,
            entered_rule: None,
            parent,
            children: Vec::new(),
            purchased_at,
            term,
            expires_at,
            paid_cash,
            paid_voucher,
            hourly_price: def.hourly_price,
            auto_release_at: def.auto_release_at.map(|o| o.at(self.start)),
            overdue_since: None,
            overdue_bills: 0,
            unpaid: Vec::new(),
            bill_count: 0,
            timer_generation: 0,
            timer_due: None,
            reminder_generation: 0,
            reminded_for: None,
        });
        self.resource_index.insert(def.id.clone(), index);
        self.accounts[account].resources.push(index);
        if let Some(p) = parent {
            self.resources[p].children.push(index);
        }
        if self.accounts[account].overdue_since.is_some() {
            self.stimuli
                .push_back((index, Stimulus::Signal(Signal::AccountOverdue)));
        }
        self.dirty.insert(index);
        Ok(index)
    }

    fn is_terminal(&self, r: usize) -> bool {
        let res = &self.resources[r];
        self.catalog
            .lifecycle(res.lifecycle)
            .state(res.state)
            .terminal
    }

    /// The instant an anchor names for a resource, if it is defined now.
    fn anchor(&self, r: usize, anchor: Anchor) -> Option<DateTime<Utc>> {
        let res = &self.resources[r];
        match anchor {
            Anchor::OverdueSince => res.overdue_since,
            // Most of the time nothing is overdue: no bill to look at.
            Anchor::OldestOverdueBill if res.overdue_bills == 0 => None,
            Anchor::OldestOverdueBill => res
                .unpaid
                .iter()
                .map(|b| &self.bills[*b])
                .filter(|b| matches!(b.status, BillStatus::Overdue | BillStatus::Overdrawn))
                .map(|b| b.settlement)
                .min(),
            Anchor::AccountOverdueSince => self.accounts[res.account].overdue_since,
            Anchor::Entered => Some(res.entered),
            Anchor::ParentEntered => res.parent.map(|p| self.resources[p].entered),
            Anchor::Expiry => res.expires_at,
            Anchor::Purchase => Some(res.purchased_at),
            Anchor::AutoRelease => res.auto_release_at,
        }
    }

    fn guards_hold(&self, r: usize, guards: &[Guard]) -> bool {
        let res = &self.resources[r];
        guards.iter().all(|g| match g {
            Guard::AccountOverdue(b) => self.accounts[res.account].overdue_since.is_some() == *b,
            Guard::Overdue(b) => res.overdue_since.is_some() == *b,
            Guard::Expired(b) => res.expires_at.is_some_and(|e| self.now >= e) == *b,
            Guard::Within { duration, since } => self
                .anchor(r, *since)
                .is_some_and(|a| self.now < a + self.catalog.duration(duration)),
            Guard::ParentState(states) => res
                .parent
                .is_some_and(|p| states.contains(&self.resources[p].state)),
            Guard::ParentEnteredUnder(rules) => res.parent.is_some_and(|p| {
                self.resources[p]
                    .entered_rule
                    .is_some_and(|r| rules.contains(&r))
            }),
            Guard::Param { param, equals } => self.catalog.value(*param) == equals,
        })
    }

    fn static_guards_hold(&self, guards: &[Guard]) -> bool {
        guards.iter().all(|g| match g {
            Guard::Param { param, equals } => self.catalog.value(*param) == equals,
            _ => true,
        })
    }

    /// Moves resource `r` along transition `t` of its lifecycle.
    fn fire(&mut self, r: usize, t: usize) -> Result<(), ModelError> {
        self.steps_this_instant += 1;
        self.spend()?;
        let lifecycle = self.resources[r].lifecycle.index();
        let fired = &mut self.fired[lifecycle];
        if fired.is_empty() {
            fired.resize(self.catalog.lifecycles[lifecycle].transitions.len(), 0);
        }
        fired[t] += 1;
        let catalog = self.catalog;
        let res = &self.resources[r];
        let lc = catalog.lifecycle(res.lifecycle);
        let transition = &lc.transitions[t];
        let names = catalog.lookups();
        self.log.push(TraceEvent::Transition {
            at: self.now,
            resource: res.id.clone(),
            lifecycle: names.lifecycles[lifecycle].0.clone().into(),
            from: names.lifecycles[lifecycle].1[res.state.index()]
                .clone()
                .into(),
            to: names.lifecycles[lifecycle].1[transition.to.index()]
                .clone()
                .into(),
            transition: names.transitions[lifecycle][t].clone().into(),
            rule: names.rules[transition.rule.index()].clone().into(),
        });
        let res = &mut self.resources[r];
        res.state = transition.to;
        res.entered = self.now;
        res.entered_rule = Some(transition.rule);
        for effect in &transition.effects {
            match effect {
                Effect::Notify(n) => self.notify(*n, self.resources[r].account, Some(r)),
                Effect::Refund(f) => self.refund(r, *f)?,
            }
        }
        for child in self.resources[r].children.clone() {
            self.stimuli
                .push_back((child, Stimulus::ParentEntered(transition.to)));
            self.dirty.insert(child);
        }
        self.dirty.insert(r);
        Ok(())
    }

    /// Delivers a stimulus: the first transition from the current state that
    /// it triggers and whose guards hold fires (declaration order decides).
    fn deliver(&mut self, r: usize, stimulus: Stimulus) -> Result<(), ModelError> {
        if self.is_terminal(r) {
            return Ok(());
        }
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        let found = lc.transitions.iter().position(|t| {
            t.from.contains(&res.state)
                && match (&t.trigger, stimulus) {
                    (Trigger::Signal(s), Stimulus::Signal(got)) => *s == got,
                    (Trigger::ParentEntered(states), Stimulus::ParentEntered(got)) => {
                        states.contains(&got)
                    }
                    _ => false,
                }
                && self.guards_hold(r, &t.guards)
        });
        if let Some(t) = found {
            self.fire(r, t)?;
        }
        Ok(())
    }

    /// Processes everything the last step set off at this instant: signals,
    /// cascades to children, and the re-planning of timers.
    fn settle_instant(&mut self) -> Result<(), ModelError> {
        loop {
            while let Some((r, stimulus)) = self.stimuli.pop_front() {
                self.steps_this_instant += 1;
                if self.steps_this_instant > MAX_STEPS_PER_INSTANT {
                    return Err(ModelError::Runaway {
                        at: self.now,
                        limit: MAX_STEPS_PER_INSTANT,
                    });
                }
                self.deliver(r, stimulus)?;
            }
            let dirty = std::mem::take(&mut self.dirty);
            for r in dirty {
                self.plan_timer(r);
                self.plan_reminder(r);
            }
            if self.stimuli.is_empty() {
                return Ok(());
            }
        }
    }

    /// Schedules the next timed transition of `r`, if any.
    ///
    /// A resource is re-planned whenever anything about it may have
    /// changed, and most of the time its next timer has not moved: then the
    /// entry already on the agenda stands, rather than being replaced by an
    /// identical one that leaves a stale entry behind to be popped.
    fn plan_timer(&mut self, r: usize) {
        let due = if self.is_terminal(r) {
            None
        } else {
            self.next_timer(r).map(|d| d.max(self.now))
        };
        if due.is_some() && due == self.resources[r].timer_due {
            return;
        }
        let res = &mut self.resources[r];
        res.timer_generation += 1;
        res.timer_due = due;
        if let Some(due) = due {
            let generation = res.timer_generation;
            self.schedule(
                due,
                Agendum::Timer {
                    resource: r,
                    generation,
                },
            );
        }
    }

    /// The earliest instant a timed transition of `r` can fire: due in the
    /// future, or due now with its guards holding.
    fn next_timer(&self, r: usize) -> Option<DateTime<Utc>> {
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        lc.transitions
            .iter()
            .filter(|t| t.from.contains(&res.state) && self.static_guards_hold(&t.guards))
            .filter_map(|t| match &t.trigger {
                Trigger::After { duration, since } => {
                    let due = self.anchor(r, *since)? + self.catalog.duration(duration);
                    (due > self.now || self.guards_hold(r, &t.guards)).then_some(due)
                }
                _ => None,
            })
            .min()
    }

    fn timer(&mut self, r: usize, generation: u64) -> Result<(), ModelError> {
        if self.resources[r].timer_generation != generation {
            return Ok(());
        }
        self.resources[r].timer_due = None;
        if self.is_terminal(r) {
            return Ok(());
        }
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        let mut best: Option<(DateTime<Utc>, usize)> = None;
        for (i, t) in lc.transitions.iter().enumerate() {
            if !t.from.contains(&res.state) {
                continue;
            }
            if let Trigger::After { duration, since } = &t.trigger {
                let Some(anchor) = self.anchor(r, *since) else {
                    continue;
                };
                let due = anchor + self.catalog.duration(duration);
                if due <= self.now
                    && self.guards_hold(r, &t.guards)
                    && best.is_none_or(|(d, _)| due < d)
                {
                    best = Some((due, i));
                }
            }
        }
        match best {
            Some((_, t)) => self.fire(r, t)?,
            None => {
                self.dirty.insert(r);
            }
        }
        Ok(())
    }

    // ----- notifications -----------------------------------------------------------

    fn notify(&mut self, n: NotificationId, account: usize, resource: Option<usize>) {
        let def = &self.catalog.notifications[n.index()];
        self.log.push(TraceEvent::Notification {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: resource.map(|r| self.resources[r].id.clone()),
            notification: self.catalog.lookups().notifications[n.index()]
                .clone()
                .into(),
            rule: self.rule_name(def.rule),
        });
    }

    /// Sends the notifications of `doc` with this trigger.
    fn notify_on(
        &mut self,
        doc: DocId,
        trigger: NotificationTrigger,
        account: usize,
        resource: Option<usize>,
    ) {
        let ids: Vec<NotificationId> = self
            .catalog
            .notifications
            .iter()
            .enumerate()
            .filter(|(_, n)| n.doc == doc && n.trigger == trigger)
            .map(|(i, _)| NotificationId(i as u32))
            .collect();
        for n in ids {
            let per_account = self.catalog.notifications[n.index()]
                .per
                .is_some_and(|p| matches!(self.catalog.value(p), crate::spec::ParamValue::Choice(c) if c == "account"));
            if !per_account {
                self.notify(n, account, resource);
                continue;
            }
            // Read per account: one notice, to the account, when the first
            // bill of this product falls overdue in the account's episode
            // (the bill just marked is the only one).
            let overdue_of_product = self.accounts[account]
                .unpaid
                .iter()
                .filter(|b| {
                    let b = &self.bills[**b];
                    b.doc == doc && matches!(b.status, BillStatus::Overdue | BillStatus::Overdrawn)
                })
                .count();
            if overdue_of_product == 1 {
                self.notify(n, account, None);
            }
        }
    }

    fn plan_reminder(&mut self, r: usize) {
        let res = &self.resources[r];
        let Some(expiry) = res.expires_at else { return };
        if res.reminded_for == Some(expiry) || self.is_terminal(r) || self.now >= expiry {
            return;
        }
        let doc = res.doc;
        let reminders: Vec<(u32, TimeDelta)> = self
            .catalog
            .notifications
            .iter()
            .enumerate()
            .filter(|(_, n)| n.doc == doc)
            .filter_map(|(i, n)| match n.trigger {
                NotificationTrigger::BeforeExpiry(lead) => {
                    Some((i as u32, self.catalog.duration_param(lead)))
                }
                _ => None,
            })
            .collect();
        if reminders.is_empty() {
            return;
        }
        self.resources[r].reminder_generation += 1;
        let generation = self.resources[r].reminder_generation;
        for (notification, lead) in reminders {
            let due = (expiry - lead).max(self.now);
            self.schedule(
                due,
                Agendum::Reminder {
                    resource: r,
                    generation,
                    notification,
                },
            );
        }
    }

    fn reminder(&mut self, r: usize, generation: u64, n: NotificationId) {
        let res = &self.resources[r];
        if res.reminder_generation != generation || self.is_terminal(r) {
            return;
        }
        if let Some(expiry) = res.expires_at
            && self.now < expiry
        {
            self.resources[r].reminded_for = Some(expiry);
            self.notify(n, self.resources[r].account, Some(r));
        }
    }

    // ----- operations --------------------------------------------------------------

    /// Whether `op` on `r` would be allowed now, and which transition it
    /// would trigger (payment aside).
    fn decide(&self, r: usize, op: OpId) -> Decision<'c> {
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        let state = lc.state(res.state);
        let deny = |rule: Option<RuleId>, reason: Refusal<'c>| Decision {
            allowed: false,
            rule,
            reason: Some(reason),
            error_code: None,
            transition: None,
        };
        if state.terminal {
            return deny(res.entered_rule, Refusal::Ended(&state.id));
        }
        let doc = self.catalog.document(res.doc);
        let fee = doc.operations.get(&op).is_some_and(|o| o.fee_incurring);
        if fee
            && self.accounts[res.account].overdue_since.is_some()
            && self.catalog.refuses_fee_operations_while_overdue(res.doc)
        {
            // Where the document is silent and a reading refuses, no rule
            // of the document is behind the verdict.
            return deny(doc.deny_fee_operations_while_overdue, Refusal::Overdue);
        }
        // An allowing capability is the rule behind the verdict unless a
        // transition the operation triggers decides it.
        let mut allowed_by = None;
        if let Some(cap) = state.operations.iter().find(|c| c.op == op) {
            if !cap.allowed {
                return Decision {
                    error_code: cap.error_code.as_deref(),
                    ..deny(Some(cap.rule), Refusal::NotAllowedWhile(&state.id))
                };
            }
            allowed_by = Some(cap.rule);
        }
        let triggers =
            &self.catalog.lookups().operation_triggers[res.lifecycle.index()][res.state.index()];
        let mut triggered = triggers[triggers.partition_point(|(o, _)| *o < op)..]
            .iter()
            .take_while(|(o, _)| *o == op)
            .map(|(_, i)| (*i, &lc.transitions[*i]))
            .peekable();
        let first = triggered.peek().map(|(_, t)| t.rule);
        match triggered.find(|(_, t)| self.guards_hold(r, &t.guards)) {
            Some((i, t)) => Decision {
                allowed: true,
                rule: Some(t.rule),
                reason: None,
                error_code: None,
                transition: Some(i),
            },
            None if first.is_some() => deny(first, Refusal::ConditionsDoNotHold(&state.id)),
            // Allowed by the state's capability if it names the operation;
            // otherwise no rule decides, and `rule` stays empty so that
            // checks know the verdict is the implementation's own choice.
            None => Decision {
                allowed: true,
                rule: allowed_by,
                reason: None,
                error_code: None,
                transition: None,
            },
        }
    }

    fn log_operation(&mut self, r: usize, op: OpId, d: &Decision<'c>) {
        let res = &self.resources[r];
        self.log.push(TraceEvent::Operation {
            at: self.now,
            account: self.accounts[res.account].id.clone(),
            resource: res.id.clone(),
            operation: self.catalog.lookups().operations[op.index()].clone().into(),
            allowed: d.allowed,
            rule: d.rule.map(|rule| self.rule_name(rule)),
            reason: d.reason.map(|r| r.to_string()),
            error_code: d.error_code.map(str::to_string),
        });
    }

    /// An operation that costs `price`: allowed only if permitted and paid.
    /// `before_transition` runs once it is paid, before its transition fires.
    fn paid_operation(
        &mut self,
        r: usize,
        op: OpId,
        price: i64,
        before_transition: impl FnOnce(&mut Self) -> bool,
    ) -> Result<(), ModelError> {
        let mut decision = self.decide(r, op);
        let account = self.resources[r].account;
        if decision.allowed && self.available(account) < i128::from(price) {
            decision = Decision {
                allowed: false,
                rule: self.catalog.ledger.rules.first().copied(),
                reason: Some(Refusal::InsufficientCredit),
                error_code: None,
                transition: None,
            };
        }
        self.log_operation(r, op, &decision);
        if !decision.allowed {
            return Ok(());
        }
        let payment = Movement::Payment { resource: r, price };
        let (cash, vouchers) = self.take(account, price, payment)?;
        let res = &self.resources[r];
        match (
            res.paid_cash.checked_add(cash),
            res.paid_voucher.checked_add(vouchers),
        ) {
            (Some(paid_cash), Some(paid_voucher)) => {
                let res = &mut self.resources[r];
                res.paid_cash = paid_cash;
                res.paid_voucher = paid_voucher;
            }
            _ => return Err(self.money_error(account, payment)),
        }
        self.log.push(TraceEvent::Payment {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[r].id.clone(),
            operation: self.catalog.lookups().operations[op.index()].clone().into(),
            cash,
            vouchers,
        });
        let may_fire = before_transition(self);
        self.after_ledger_change(account);
        if let Some(t) = decision.transition.filter(|_| may_fire) {
            self.fire(r, t)?;
        }
        Ok(())
    }

    fn renew(
        &mut self,
        r: usize,
        term: crate::history::Term,
        price: i64,
        where_: &str,
    ) -> Result<(), ModelError> {
        let op = self.op_of(r, "renew", where_)?;
        // The renewal extends the expiry before its transition (if any)
        // fires, so that the renewed resource's timers see the new expiry;
        // a term in months is as long as the months it covers from the old
        // expiry.
        self.paid_operation(r, op, price, |model| {
            let now = model.now;
            let res = &mut model.resources[r];
            if let Some(old) = res.expires_at {
                let renewed = term.end(old).unwrap_or(old);
                res.term += renewed - old;
                res.expires_at = Some(renewed);
            }
            model.dirty.insert(r);
            // A renewal too short to reach the present leaves the resource
            // expired (ecs.interp.renewal-term): its transition back to
            // service does not fire, rather than firing and expiring again
            // at the same instant.
            model.resources[r].expires_at.is_none_or(|e| e > now)
        })
    }

    fn purchase(
        &mut self,
        account: usize,
        def: &ResourceDef,
        price: i64,
        where_: &str,
    ) -> Result<(), ModelError> {
        let doc = self
            .catalog
            .document_named(&def.product)
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("unknown product `{}`", def.product),
            })?;
        let d = self.catalog.document(doc);
        let op = self
            .catalog
            .op_named("purchase")
            .filter(|op| d.operations.contains_key(op));
        let fee = op
            .and_then(|op| d.operations.get(&op))
            .is_some_and(|o| o.fee_incurring);
        let denied = fee
            && self.accounts[account].overdue_since.is_some()
            && self.catalog.refuses_fee_operations_while_overdue(doc);
        let (allowed, rule, reason) = if denied {
            (
                false,
                d.deny_fee_operations_while_overdue,
                Some("the account is overdue".to_string()),
            )
        } else if self.available(account) < i128::from(price) {
            (
                false,
                self.catalog.ledger.rules.first().copied(),
                Some("insufficient available credit".to_string()),
            )
        } else {
            (true, None, None)
        };
        self.log.push(TraceEvent::Operation {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: def.id.as_str().into(),
            operation: "purchase".into(),
            allowed,
            rule: rule.map(|r| self.rule_name(r)),
            reason,
            error_code: None,
        });
        if !allowed {
            self.refused.insert(def.id.clone(), (account, rule));
            return Ok(());
        }
        let (cash, vouchers) = self.take(account, price, Movement::Purchase { price })?;
        let r = self.create(account, def, self.now, cash, vouchers, where_)?;
        self.log.push(TraceEvent::Payment {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: def.id.as_str().into(),
            operation: "purchase".into(),
            cash,
            vouchers,
        });
        self.after_ledger_change(account);
        self.dirty.insert(r);
        Ok(())
    }

    /// An event about a resource that does not exist because its purchase
    /// was refused: a charge is not billed, an operation is refused, both
    /// citing the rule that refused the purchase.
    fn refuse_for_missing_resource(
        &mut self,
        event: &Event,
        id: &str,
        account: usize,
        rule: Option<RuleId>,
    ) {
        let account = self.accounts[account].id.clone();
        let rule_id = rule.map(|r| self.rule_name(r));
        let reason = Some("the resource does not exist: its purchase was refused".to_string());
        let entry = match event {
            Event::Charge { amount, hours, .. } => TraceEvent::ChargeSkipped {
                at: self.now,
                account,
                resource: id.into(),
                amount: amount.or(*hours).unwrap_or(0),
                rule: rule_id.unwrap_or_default(),
            },
            _ => TraceEvent::Operation {
                at: self.now,
                account,
                resource: id.into(),
                operation: match event {
                    Event::Operate { operation, .. } => operation.as_str().into(),
                    Event::Renew { .. } => "renew".into(),
                    Event::Upgrade { .. } => "upgrade".into(),
                    Event::SetAutoRelease { .. } => "set-auto-release".into(),
                    other => other.kind().into(),
                },
                allowed: false,
                rule: rule_id,
                reason,
                error_code: None,
            },
        };
        self.log.push(entry);
    }

    // ----- observation ---------------------------------------------------------------

    /// The fee-incurring operations an account's observation lists, with
    /// their verdicts while it is overdue or not (which is all they depend
    /// on): made once per run, then shared by every observation.
    fn fee_operations(&self, overdue: bool) -> Arc<[FeeOperation]> {
        let lists = self.fee_operations.get_or_init(|| {
            let catalog = self.catalog;
            let names = catalog.lookups();
            [false, true].map(|overdue| {
                names
                    .fee
                    .iter()
                    .flat_map(|(doc, ops)| {
                        let denied = overdue && catalog.refuses_fee_operations_while_overdue(*doc);
                        ops.iter().map(move |op| FeeOperation {
                            product: names.documents[doc.index()].clone().into(),
                            operation: catalog.op_name(*op).into(),
                            allowed: !denied,
                        })
                    })
                    .collect()
            })
        });
        lists[usize::from(overdue)].clone()
    }

    /// What the model shows now.
    pub fn observe(&self) -> Observation {
        let names = self.catalog.lookups();
        let accounts = self
            .accounts
            .iter()
            .map(|a| {
                let mut outstanding: Vec<&Bill> = a
                    .unpaid
                    .iter()
                    .map(|b| &self.bills[*b])
                    .filter(|b| b.status != BillStatus::Paid)
                    .collect();
                outstanding.sort_by_key(|b| (b.settlement, b.index));
                AccountObservation {
                    account: a.id.clone(),
                    cash: a.cash,
                    vouchers: a.vouchers,
                    // The model keeps the sum inside an i64 (Model::credit).
                    available_credit: a.cash.saturating_add(a.vouchers),
                    overdue_since: a.overdue_since,
                    outstanding_bills: outstanding
                        .into_iter()
                        .map(|b| BillObservation {
                            bill: b.id.clone(),
                            resource: self.resources[b.resource].id.clone(),
                            amount: b.amount,
                            settlement_date: b.settlement,
                            status: b.status,
                            attempts: b.attempts,
                            next_attempt: b.next_attempt,
                        })
                        .collect(),
                    fee_operations: self.fee_operations(a.overdue_since.is_some()),
                }
            })
            .collect();
        let resources = (0..self.resources.len())
            .map(|r| {
                let res = &self.resources[r];
                let lc = self.catalog.lifecycle(res.lifecycle);
                let state = lc.state(res.state);
                let operations = self.operation_map(r);
                let (lifecycle, states) = &names.lifecycles[res.lifecycle.index()];
                ResourceObservation {
                    resource: res.id.clone(),
                    account: self.accounts[res.account].id.clone(),
                    product: names.documents[res.doc.index()].clone().into(),
                    lifecycle: lifecycle.clone().into(),
                    state: states[res.state.index()].clone().into(),
                    since: res.entered,
                    serving: state.serving,
                    data: state.data,
                    billing: state.billing,
                    billing_method: Some(state.billing_method),
                    overdue_since: res.overdue_since,
                    oldest_overdue_bill: self.anchor(r, Anchor::OldestOverdueBill),
                    purchased_at: res.purchased_at,
                    expires_at: res.expires_at,
                    operations,
                }
            })
            .collect();
        Observation {
            at: self.now,
            accounts,
            resources,
        }
    }

    /// The verdict on every operation of resource `r`'s product, as an
    /// observation lists them.
    fn operation_map(&self, r: usize) -> OperationMap {
        let res = &self.resources[r];
        let names = self.catalog.lookups();
        let (ops, op_names) = &names.by_document[res.doc.index()];
        let decide_all = || {
            OperationMap::from_shared(
                op_names.clone(),
                ops.iter().map(|op| self.decide(r, *op).allowed),
            )
        };
        if !names.verdicts_fixed[res.lifecycle.index()][res.state.index()] {
            return decide_all();
        }
        let key = (
            res.lifecycle,
            res.state,
            self.accounts[res.account].overdue_since.is_some(),
        );
        let mut memo = self.fixed_verdicts.borrow_mut();
        if let Some((_, map)) = memo.iter().find(|(k, _)| *k == key) {
            return map.clone();
        }
        let map = decide_all();
        memo.push((key, map.clone()));
        map
    }

    /// A rule's id, shared rather than copied into the log.
    fn rule_name(&self, rule: RuleId) -> Name {
        self.catalog.lookups().rules[rule.index()].clone().into()
    }

    /// Whether a charge to `r` is billed now; the rule that stops it if not.
    fn billing_stopped_by(&self, r: usize) -> Option<Option<RuleId>> {
        let res = &self.resources[r];
        let state = self.catalog.lifecycle(res.lifecycle).state(res.state);
        // Where the document leaves billing open, the reading in force
        // decides (billed when the document names no such reading).
        let unbilled_where_open = state.billing == BillingStatus::Unspecified
            && self
                .catalog
                .document(res.doc)
                .billing
                .as_ref()
                .and_then(|b| b.bill_where_unspecified)
                .is_some_and(|p| !self.catalog.flag(p));
        (state.terminal || state.billing == BillingStatus::Ceased || unbilled_where_open)
            .then(|| res.entered_rule.or(state.rules.first().copied()))
    }
}
