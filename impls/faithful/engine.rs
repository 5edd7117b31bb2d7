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

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};

use arrears::history::{Event, ResourceDef, Term};
use arrears::observation::{
    AccountObservation, AttemptCause, BillObservation, BillStatus, BillingStatus, FeeOperation,
    Observation, Outcome, ResourceObservation, TraceEvent,
};
use arrears::protocol::{
    Answer, Declaration, HistoryHeader, Implementation, ProductOffer, ProtocolError,
};

use crate::faults::Faults;
use crate::ledger::{Account, Bill};
use crate::policy;
use crate::products;
use crate::products::spark;
use crate::readings::Readings;
use crate::vocab::{
    AVAILABLE_CREDIT_RULE, Billing, CREDIT_ALERT, ChargeKind, Ctx, Effect, FEE_PRODUCTS, Lc,
    OpAnswer, Product, Shortfall, Signal, St, Timed, Tr, tr,
};

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

    // -------------------------------------------------------------- log --

    fn notify(&mut self, account: usize, resource: Option<usize>, note: (&str, &str)) {
        self.log.push(TraceEvent::Notification {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            resource: resource.map(|r| self.resources[r].id.as_str().into()),
            notification: note.0.into(),
            rule: note.1.into(),
        });
    }

    /// The credit alert is looked at once per ledger action (a deduction, a
    /// top-up with the bills it settles, a payment...), on the credit the
    /// action leaves: a top-up that pays bills and ends below the threshold
    /// it started below is no new fall.
    /// The reminder that a bill of `resource` fell overdue: for that
    /// resource, or, for ECS read the `account` way
    /// (ecs.interp.overdue-notice), once to the account when this is its
    /// only overdue ECS bill (the first of its overdue episode).
    fn overdue_notice(&mut self, account: usize, resource: usize, product: Product) {
        let Some(note) = product.overdue_notification() else {
            return;
        };
        if product == Product::Ecs && self.readings.ecs_overdue_notice_per_account {
            let overdue_ecs = self
                .bills
                .iter()
                .filter(|b| {
                    b.account == account
                        && b.is_overdue()
                        && self.resources[b.resource].lc.product() == Product::Ecs
                })
                .count();
            if overdue_ecs == 1 {
                self.notify(account, None, note);
            }
            return;
        }
        self.notify(account, Some(resource), note);
    }

    fn check_credit_alert(&mut self, account: usize) {
        if self.accounts[account].credit_alert_due() {
            self.notify(account, None, CREDIT_ALERT);
        }
    }

    fn log_operation(
        &mut self,
        r_account: usize,
        resource: &str,
        op: &str,
        refusal: Option<Refusal>,
    ) {
        let (allowed, rule, reason) = match refusal {
            None => (true, None, None),
            Some(f) => (false, f.rule, Some(f.reason)),
        };
        // A locked MaxCompute instance answers a task with "ODPS-0420095:
        // Access Denied - Authorization Failed [4093] ... Access Mode is
        // AllDenied".
        let error_code = (rule == Some(crate::products::maxcompute::ACCESS_DENIED))
            .then(|| crate::products::maxcompute::ACCESS_DENIED_CODE.to_string());
        self.log.push(TraceEvent::Operation {
            at: self.now,
            account: self.accounts[r_account].id.as_str().into(),
            resource: resource.into(),
            operation: op.into(),
            allowed,
            rule: rule.map(Into::into),
            reason,
            error_code,
        });
    }

    // ------------------------------------------------------ transitions --

    fn transition(&mut self, r: usize, t: Tr) {
        let from = self.resources[r].state;
        {
            let res = &mut self.resources[r];
            res.state = t.to;
            res.since = self.now;
            res.entered_rule = t.rule;
        }
        let res = &self.resources[r];
        self.log.push(TraceEvent::Transition {
            at: self.now,
            resource: res.id.as_str().into(),
            lifecycle: res.lc.id().into(),
            from: from.id().into(),
            to: t.to.id().into(),
            transition: t.id.into(),
            rule: t.rule.into(),
        });
        let account = res.account;
        self.resource_changed(r);
        match t.effect {
            Effect::None => {}
            Effect::Notify(id, rule) => self.notify(account, Some(r), (id, rule)),
            Effect::Refund(formula) => self.refund(r, formula),
        }
        // Whatever is attached to the resource follows it, at once.
        let children: Vec<usize> = (0..self.resources.len())
            .filter(|&c| self.resources[c].parent == Some(r))
            .collect();
        for c in children {
            let child = &self.resources[c];
            if let Some(t2) =
                products::on_parent(child.lc, child.state, t.to, &self.faults, &self.readings)
            {
                self.transition(c, t2);
            }
        }
    }

    fn signal(&mut self, r: usize, signal: Signal) {
        let res = &self.resources[r];
        if self.readings.ecs_restart_by_hand
            && res.lc == Lc::EcsPaygInstance
            && res.state == St::Stopped
            && signal == Signal::Settled
        {
            // Read the `by-hand` way, the paid instance stays stopped (no
            // longer to be released) until its owner starts it.
            self.transition(
                r,
                tr(
                    St::StoppedSettled,
                    "waits-for-start-after-settlement",
                    "ecs.settle.manual-start",
                ),
            );
            return;
        }
        let storage = matches!(res.lc, Lc::FlinkSubStorage | Lc::FlinkHybridStorage);
        if storage
            && res.state == St::Blocked
            && signal == Signal::AccountSettled
            && self.readings.storage_writable_on_settlement
        {
            // Read `on-settlement`, state writes resume with the added
            // funds, whatever became of the workspace meanwhile.
            let rule = if res.lc == Lc::FlinkSubStorage {
                "flink.sub.state-writes-resume"
            } else {
                "flink.hybrid.state-writes-resume"
            };
            self.transition(r, tr(St::Available, "writable-on-settlement", rule));
            return;
        }
        let attached = matches!(
            (res.lc, res.state),
            (Lc::EcsSubPaygDisk, St::InService) | (Lc::EcsSubBandwidth, St::Available)
        );
        if attached && signal == Signal::AccountOverdue && self.readings.attached_unavailable_at_t15
        {
            // Read the `t15` way, they stay usable until 15 days into the
            // account's overdue episode (a timer, below).
            return;
        }
        if let Some(t) = products::on_signal(
            res.lc,
            res.state,
            res.entered_rule,
            signal,
            &self.faults,
            &self.readings,
        ) {
            self.transition(r, t);
        }
    }

    /// After money moved: notes which resources, and whether the account,
    /// became overdue or were settled, and makes the state changes that
    /// follow. A resource's own bills come first, then the account as a
    /// whole, each in the order of the account's resources.
    fn sync_overdue(&mut self, account: usize) {
        let mut became_overdue = Vec::new();
        let mut settled = Vec::new();
        for r in self.resources_of(account) {
            let overdue = self.bills.iter().any(|b| b.resource == r && b.is_overdue());
            let res = &mut self.resources[r];
            if overdue && res.overdue_since.is_none() {
                res.overdue_since = Some(self.now);
                became_overdue.push(r);
            } else if !overdue && res.overdue_since.is_some() {
                res.overdue_since = None;
                settled.push(r);
            }
        }
        let overdue = self.account_overdue(account);
        let was = self.accounts[account].overdue_since.is_some();
        self.accounts[account].overdue_since = match (was, overdue) {
            (false, true) => Some(self.now),
            (true, false) => None,
            _ => self.accounts[account].overdue_since,
        };
        for r in became_overdue {
            self.signal(r, Signal::Overdue);
        }
        if !was && overdue {
            for r in self.resources_of(account) {
                self.signal(r, Signal::AccountOverdue);
            }
        }
        for r in settled {
            self.signal(r, Signal::Settled);
        }
        if was && !overdue {
            for r in self.resources_of(account) {
                self.signal(r, Signal::AccountSettled);
            }
        }
    }

    // ----------------------------------------------------------- ledger --

    fn log_deduction(&mut self, b: usize, cause: AttemptCause, outcome: Outcome) {
        let bill = &self.bills[b];
        let res = &self.resources[bill.resource];
        let rule = res
            .lc
            .product()
            .billing(&self.faults)
            .map_or("", |billing| billing.rule);
        self.log.push(TraceEvent::Deduction {
            at: self.now,
            account: self.accounts[bill.account].id.as_str().into(),
            resource: res.id.as_str().into(),
            bill: bill.id.as_str().into(),
            amount: bill.amount,
            attempt: bill.attempts,
            cause,
            outcome,
            rule: rule.into(),
        });
    }

    fn log_settled(&mut self, b: usize) {
        let bill = &self.bills[b];
        self.log.push(TraceEvent::BillSettled {
            at: self.now,
            account: self.accounts[bill.account].id.as_str().into(),
            resource: self.resources[bill.resource].id.as_str().into(),
            bill: bill.id.as_str().into(),
        });
    }

    /// A scheduled deduction attempt (T, T+7, T+14 for ECS; once at issue
    /// for the others).
    fn deduct(&mut self, b: usize) {
        let account = self.bills[b].account;
        let resource = self.bills[b].resource;
        let product = self.resources[resource].lc.product();
        let Some(Billing {
            offsets, shortfall, ..
        }) = product.billing(&self.faults)
        else {
            self.bills[b].next = None;
            return;
        };
        let amount = self.bills[b].amount;
        let first_failure = self.bills[b].status == BillStatus::Pending;
        self.ledger_changed(account);
        self.bills[b].attempts += 1;
        self.bills[b].next = None;
        if amount <= 0 || self.accounts[account].credit() >= amount {
            // A payment is overdue only when the credit falls short of the
            // bill (ECS, opening; ecs.overdue.definition); here it does not,
            // and a fee of nothing never falls short.
            let was_overdue = self.bills[b].is_overdue();
            self.accounts[account].take(amount);
            self.bills[b].status = BillStatus::Paid;
            self.log_deduction(b, AttemptCause::Scheduled, Outcome::Paid);
            if was_overdue {
                self.log_settled(b);
            }
        } else {
            match shortfall {
                Shortfall::Fail => {
                    self.bills[b].status = BillStatus::Overdue;
                    let next = self.bills[b].schedule_index + 1;
                    if next < offsets.len() {
                        let s = self.next_sequence();
                        let bill = &mut self.bills[b];
                        bill.schedule_index = next;
                        bill.next = Some((bill.settlement + offsets[next], s));
                    }
                    self.log_deduction(b, AttemptCause::Scheduled, Outcome::Failed);
                    if first_failure {
                        self.overdue_notice(account, resource, product);
                    }
                }
                Shortfall::Overdraw => {
                    let cash_before = self.accounts[account].cash;
                    self.accounts[account].take(amount);
                    self.bills[b].status = BillStatus::Overdrawn;
                    self.log_deduction(b, AttemptCause::Scheduled, Outcome::Overdrawn);
                    if first_failure {
                        self.overdue_notice(account, resource, product);
                    }
                    if cash_before >= 0
                        && self.accounts[account].cash < 0
                        && let Some(note) = product.negative_balance_notification()
                    {
                        self.notify(account, Some(resource), note);
                    }
                }
            }
        }
        self.check_credit_alert(account);
        self.sync_overdue(account);
    }

    /// Bills taken into a negative balance stop being overdue once the cash
    /// is back at zero or above.
    fn settle_overdrawn(&mut self, account: usize) {
        if self.accounts[account].cash < 0 {
            return;
        }
        for b in 0..self.bills.len() {
            if self.bills[b].account == account && self.bills[b].status == BillStatus::Overdrawn {
                self.bills[b].status = BillStatus::Paid;
                self.log_settled(b);
            }
        }
    }

    /// Pays overdue bills whole, oldest first, stopping at the first the
    /// credit cannot cover (ecs.interp.settlement-order); read `all-or-none`,
    /// pays them all or, when the credit falls short of their sum, none.
    fn pay_overdue(&mut self, account: usize, cause: AttemptCause) {
        let mut order: Vec<usize> = (0..self.bills.len())
            .filter(|&b| {
                self.bills[b].account == account && self.bills[b].status == BillStatus::Overdue
            })
            .collect();
        order.sort_by_key(|&b| (self.bills[b].settlement, b));
        let total: i128 = order
            .iter()
            .map(|&b| i128::from(self.bills[b].amount))
            .sum();
        if self.readings.settle_all_or_none && i128::from(self.accounts[account].credit()) < total {
            return;
        }
        for b in order {
            let amount = self.bills[b].amount;
            if self.accounts[account].credit() < amount {
                break;
            }
            self.accounts[account].take(amount);
            self.ledger_changed(account);
            let bill = &mut self.bills[b];
            bill.attempts += 1;
            bill.status = BillStatus::Paid;
            bill.next = None;
            self.log_deduction(b, cause, Outcome::Paid);
            self.log_settled(b);
        }
    }

    fn top_up(&mut self, account: usize, amount: i64) {
        self.log.push(TraceEvent::TopUp {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            amount,
        });
        self.accounts[account].cash += amount;
        self.ledger_changed(account);
        self.settle_overdrawn(account);
        // "If you add funds to your account to settle the overdue amount":
        // a top-up settles overdue bills at once (ecs.interp.top-up-settles)
        // — unless this run reads it as waiting for Pay Now or a retry.
        if self.readings.top_up_settles {
            self.pay_overdue(account, AttemptCause::TopUp);
        }
        self.check_credit_alert(account);
        self.sync_overdue(account);
    }

    fn grant_voucher(&mut self, account: usize, amount: i64) {
        self.log.push(TraceEvent::VoucherGranted {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            amount,
        });
        self.accounts[account].vouchers += amount;
        self.ledger_changed(account);
        self.check_credit_alert(account);
    }

    /// ECS, "Complete overdue payments": the owner pays what is overdue
    /// with the "Pay Now button" (ecs.settle.pay-now).
    fn pay_now(&mut self, account: usize) {
        // Paying is a ledger action even when nothing is left to pay.
        self.ledger_changed(account);
        self.pay_overdue(account, AttemptCause::PayNow);
        self.check_credit_alert(account);
        self.sync_overdue(account);
    }

    /// Takes a purchase, renewal or upgrade price, vouchers first, and logs
    /// the split. The caller checked the credit.
    fn pay(&mut self, account: usize, resource: &str, op: &str, price: i64) -> (i64, i64) {
        let (cash, vouchers) = self.accounts[account].take(price);
        self.ledger_changed(account);
        self.log.push(TraceEvent::Payment {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            resource: resource.into(),
            operation: op.into(),
            cash,
            vouchers,
        });
        self.check_credit_alert(account);
        (cash, vouchers)
    }

    /// A refund effect: computed on the cash paid and credited to the cash
    /// balance (spark.interp.refund-destination).
    fn refund(&mut self, r: usize, formula: crate::vocab::Formula) {
        let res = &self.resources[r];
        let used = (self.now - res.purchased_at).num_seconds();
        let term = res.term.num_seconds();
        let refund = spark::refund(
            formula,
            res.paid_cash,
            res.paid_voucher,
            used,
            term,
            &self.faults,
        );
        let account = res.account;
        self.log.push(TraceEvent::Refund {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            resource: res.id.as_str().into(),
            amount: refund.amount,
            formula: refund.formula.into(),
            rule: refund.rule.into(),
            paid_cash: res.paid_cash,
            paid_voucher: res.paid_voucher,
            used_seconds: used,
            term_seconds: term,
        });
        self.accounts[account].cash += refund.amount;
        self.ledger_changed(account);
        self.settle_overdrawn(account);
        self.check_credit_alert(account);
        self.sync_overdue(account);
    }

    fn charge(&mut self, r: usize, amount: i64) {
        let account = self.resources[r].account;
        let kind = self.resources[r].lc.charge_kind();
        if kind == ChargeKind::NotCharged {
            return;
        }
        let billing = self.traits(r).billing;
        let product = self.resources[r].lc.product();
        if billing == BillingStatus::Ceased
            || (billing == BillingStatus::Unspecified
                && self.readings.unbilled_where_unspecified.contains(&product))
        {
            // Usage of a resource whose billing has ceased is not billed
            // ("the instance is stopped and billing ceases", "stops
            // deducting fees", "no longer generate fees"), citing what made
            // it cease; nor, read the `not-billed` way, usage in a state
            // whose billing the document leaves open.
            self.log.push(TraceEvent::ChargeSkipped {
                at: self.now,
                account: self.accounts[account].id.as_str().into(),
                resource: self.resources[r].id.as_str().into(),
                amount,
                rule: self.resources[r].entered_rule.into(),
            });
            return;
        }
        let billing = product.billing(&self.faults);
        let bill_id = match (kind, billing) {
            (ChargeKind::Billed, Some(Billing { offsets, .. })) => {
                self.resources[r].bills_issued += 1;
                let id = format!(
                    "{}/{}",
                    self.resources[r].id, self.resources[r].bills_issued
                );
                let s = self.next_sequence();
                self.bills.push(Bill {
                    id: id.clone(),
                    resource: r,
                    account,
                    amount,
                    settlement: self.now,
                    status: BillStatus::Pending,
                    attempts: 0,
                    next: Some((self.now + offsets[0], s)),
                    schedule_index: 0,
                });
                Some(id)
            }
            // A product without bills records the consumption only.
            _ => None,
        };
        self.log.push(TraceEvent::Charge {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            resource: self.resources[r].id.as_str().into(),
            bill: bill_id.map(Into::into),
            amount,
        });
        self.signal(r, Signal::Charged);
    }

    // ------------------------------------------------------- operations --

    /// Whether `product`'s fee-incurring operations are refused while the
    /// account is overdue, with the rule that says so: the product's own, or
    /// none for MaxCompute read the `refused` way (its document is silent,
    /// maxcompute.interp.fee-operations-while-overdue).
    fn fee_refusal(&self, product: Product) -> Option<Option<&'static str>> {
        if let Some(rule) = product.fee_denial_rule(&self.faults) {
            return Some(Some(rule));
        }
        (product == Product::MaxCompute && self.readings.maxcompute_refuses_renewal_while_overdue)
            .then_some(None)
    }

    /// Why `op` would be refused on the resource now, if it would.
    fn refusal(&self, r: usize, op: &str) -> Option<Refusal> {
        let res = &self.resources[r];
        let state = res.state.id();
        if self.traits(r).terminal {
            return Some(Refusal {
                rule: Some(res.entered_rule),
                reason: format!("the resource is {state}"),
            });
        }
        let product = res.lc.product();
        if product.fee_incurring(op)
            && self.account_overdue(res.account)
            && let Some(rule) = self.fee_refusal(product)
        {
            return Some(Refusal {
                rule,
                reason: "the account is overdue".to_string(),
            });
        }
        let economical_start = res.lc == Lc::EcsPaygInstance
            && res.state == St::EconomicalStoppedOverdue
            && op == "start";
        if economical_start && self.readings.ecs_economical_restart_succeeds {
            return None;
        }
        if let Some(rule) = products::refusal(res.lc, res.state, op) {
            return Some(Refusal {
                rule: Some(rule),
                reason: format!("not allowed while {state}"),
            });
        }
        let ctx = self.ctx(r);
        if let OpAnswer::Blocked(rule) =
            products::on_operation(res.lc, res.state, op, &ctx, &self.faults)
        {
            return Some(Refusal {
                rule: Some(rule),
                reason: format!("its conditions do not hold while {state}"),
            });
        }
        None
    }

    /// A purchase, renewal or upgrade the credit cannot pay for: refused
    /// under the ledger's available-credit rule (credit means the account
    /// balance together with vouchers; ecs.overdue.available-credit).
    fn insufficient() -> Refusal {
        Refusal {
            rule: Some(AVAILABLE_CREDIT_RULE),
            reason: "insufficient available credit".to_string(),
        }
    }

    /// An allowed operation's own transition, if it makes one.
    fn operation_transition(&mut self, r: usize, op: &str) {
        let res = &self.resources[r];
        if res.lc == Lc::EcsPaygInstance
            && res.state == St::EconomicalStoppedOverdue
            && op == "start"
        {
            // Only reachable read the `succeeds` way: the instance serves
            // again with its payment still overdue.
            self.transition(
                r,
                tr(
                    St::Overdue,
                    "economical-start-while-overdue",
                    "ecs.payg.economical-mode-restart-may-fail",
                ),
            );
            return;
        }
        let ctx = self.ctx(r);
        if let OpAnswer::Fire(t) = products::on_operation(res.lc, res.state, op, &ctx, &self.faults)
        {
            self.transition(r, t);
        }
    }

    fn operate(&mut self, r: usize, op: &str) {
        let account = self.resources[r].account;
        let id = self.resources[r].id.clone();
        if let Some(f) = self.refusal(r, op) {
            self.log_operation(account, &id, op, Some(f));
            return;
        }
        self.log_operation(account, &id, op, None);
        self.operation_transition(r, op);
    }

    fn renew(&mut self, r: usize, term: Term, price: i64) {
        let account = self.resources[r].account;
        let id = self.resources[r].id.clone();
        let refusal = self
            .refusal(r, "renew")
            .or_else(|| (self.accounts[account].credit() < price).then(Engine::insufficient));
        if let Some(f) = refusal {
            self.log_operation(account, &id, "renew", Some(f));
            return;
        }
        self.log_operation(account, &id, "renew", None);
        self.pay(account, &id, "renew", price);
        // A renewal extends the paid term from its current end.
        let res = &mut self.resources[r];
        if let Some(old) = res.expires_at {
            let renewed = term_end(term, old);
            res.term += renewed - old;
            res.expires_at = Some(renewed);
        }
        // Paid from the old expiry, a renewal shorter than the time since
        // then still ends in the past: the resource stays expired.
        if res.expires_at.is_none_or(|e| e > self.now) {
            self.operation_transition(r, "renew");
        }
    }

    fn upgrade(&mut self, r: usize, price: i64) {
        let account = self.resources[r].account;
        let id = self.resources[r].id.clone();
        let refusal = self
            .refusal(r, "upgrade")
            .or_else(|| (self.accounts[account].credit() < price).then(Engine::insufficient));
        if let Some(f) = refusal {
            self.log_operation(account, &id, "upgrade", Some(f));
            return;
        }
        self.log_operation(account, &id, "upgrade", None);
        self.pay(account, &id, "upgrade", price);
        self.operation_transition(r, "upgrade");
    }

    fn set_auto_release(&mut self, r: usize, at: DateTime<Utc>) {
        let account = self.resources[r].account;
        let id = self.resources[r].id.clone();
        if let Some(f) = self.refusal(r, "set-auto-release") {
            self.log_operation(account, &id, "set-auto-release", Some(f));
            return;
        }
        self.log_operation(account, &id, "set-auto-release", None);
        self.resources[r].auto_release_at = Some(at);
        self.resource_changed(r);
        self.operation_transition(r, "set-auto-release");
    }

    fn purchase(&mut self, account: usize, def: &ResourceDef, price: i64) -> Result<(), String> {
        let lc = self.lifecycle_of(def)?;
        let product = lc.product();
        let refusal = if product.fee_incurring("purchase") && self.account_overdue(account) {
            self.fee_refusal(product).map(|rule| Refusal {
                rule,
                reason: "the account is overdue".to_string(),
            })
        } else {
            None
        }
        .or_else(|| (self.accounts[account].credit() < price).then(Engine::insufficient));
        if let Some(f) = refusal {
            // Nothing is bought: the resource does not come to exist.
            self.log_operation(account, &def.id, "purchase", Some(f));
            return Ok(());
        }
        self.log_operation(account, &def.id, "purchase", None);
        let (cash, vouchers) = self.pay(account, &def.id, "purchase", price);
        let mut res = self.new_resource(def, account, lc, self.now)?;
        res.paid_cash = cash;
        res.paid_voucher = vouchers;
        self.resources.push(res);
        self.resource_changed(self.resources.len() - 1);
        Ok(())
    }

    // ------------------------------------------------------------ setup --

    fn lifecycle_of(&self, def: &ResourceDef) -> Result<Lc, String> {
        let product = Product::from_id(&def.product)
            .ok_or_else(|| format!("unknown product `{}`", def.product))?;
        let parent = match &def.parent {
            None => None,
            Some(p) => Some(self.resources[self.resource_index(p)?].lc),
        };
        let billing = serde_json::to_value(def.billing)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Lc::resolve(product, &def.kind, &billing, parent).ok_or_else(|| {
            format!(
                "resource `{}`: no lifecycle for a {billing} {} of {}",
                def.id, def.kind, def.product
            )
        })
    }

    fn new_resource(
        &self,
        def: &ResourceDef,
        account: usize,
        lc: Lc,
        purchased_at: DateTime<Utc>,
    ) -> Result<Resource, String> {
        if self.resource_index(&def.id).is_ok() {
            return Err(format!("resource `{}` already exists", def.id));
        }
        let parent = match &def.parent {
            None => None,
            Some(p) => Some(self.resource_index(p)?),
        };
        let expires_at = def
            .term
            .filter(|_| lc.has_term())
            .map(|t| term_end(t, purchased_at));
        let term = expires_at.map(|e| e - purchased_at).unwrap_or_default();
        Ok(Resource {
            id: def.id.clone(),
            account,
            lc,
            state: products::initial(lc),
            since: self.now,
            entered_rule: "",
            parent,
            purchased_at,
            term,
            expires_at,
            paid_cash: def.paid_cash,
            paid_voucher: def.paid_voucher,
            auto_release_at: def.auto_release_at.map(|o| o.at(self.start)),
            hourly_price: def.hourly_price,
            bills_issued: 0,
            overdue_since: None,
            reminded_for: None,
            planned: 0,
        })
    }

    fn load_history(&mut self, header: &HistoryHeader) -> Result<(), String> {
        *self = Engine::new(std::mem::take(&mut self.faults), self.readings.clone());
        self.start = header.start;
        self.now = header.start;
        for a in &header.accounts {
            if self.account_index(&a.id).is_ok() {
                return Err(format!("account `{}` is listed twice", a.id));
            }
            let account = Account::new(a.id.clone(), a.cash, a.vouchers, a.credit_alert);
            self.accounts.push(account);
        }
        for def in &header.resources {
            let account = self.account_index(&def.account)?;
            let lc = self.lifecycle_of(def)?;
            let purchased_at = def
                .purchased_at
                .map(|o| o.at(self.start))
                .unwrap_or(self.start);
            let mut res = self.new_resource(def, account, lc, purchased_at)?;
            res.planned = self.next_sequence();
            self.resources.push(res);
        }
        for a in 0..self.accounts.len() {
            self.check_credit_alert(a);
        }
        Ok(())
    }

    // ------------------------------------------------------------- time --

    /// The next action due by `bound` (before it, if `strict`), with the
    /// instant it runs at: the earliest, and among equals the one planned
    /// first.
    fn next_due(&self, bound: DateTime<Utc>, strict: bool) -> Option<(DateTime<Utc>, Due)> {
        let within = |t: DateTime<Utc>| if strict { t < bound } else { t <= bound };
        let mut best: Option<(DateTime<Utc>, u64, Due)> = None;
        let mut consider = |t: DateTime<Utc>, s: u64, d: Due| {
            if within(t) && best.is_none_or(|(bt, bs, _)| (t, s) < (bt, bs)) {
                best = Some((t, s, d));
            }
        };
        for (b, bill) in self.bills.iter().enumerate() {
            if let Some((due, s)) = bill.next {
                consider(due.max(self.now), s, Due::Deduction(b));
            }
        }
        for r in 0..self.resources.len() {
            if let Some((t, _)) = self.earliest_timer(r) {
                consider(t, self.resources[r].planned, Due::Timer(r));
            }
        }
        best.map(|(t, _, d)| (t, d))
    }

    /// Carries out the resource's earliest timed action, due now.
    fn fire(&mut self, r: usize) {
        let Some((_, timed)) = self.earliest_timer(r) else {
            return;
        };
        match timed {
            Timed::Transition(t) => self.transition(r, t),
            Timed::ExpiryReminder => {
                // "The system sends you reminder notifications by email or
                // text message."
                let account = self.resources[r].account;
                self.notify(
                    account,
                    Some(r),
                    ("flink.notify.expiry-reminder", "flink.expiry.reminders"),
                );
                self.resources[r].reminded_for = self.resources[r].expires_at;
            }
        }
    }

    /// Moves the clock to `limit` in steps of at most [`STEP`], carrying out
    /// at its own instant everything that falls due on the way: up to and
    /// including `limit`, or only before it (`strict`, before an event).
    fn run_until(&mut self, limit: DateTime<Utc>, strict: bool) {
        if limit < self.now {
            return;
        }
        loop {
            let step_end = (self.now + STEP).min(limit);
            let last = step_end == limit;
            while let Some((at, due)) = self.next_due(step_end, last && strict) {
                self.now = self.now.max(at);
                match due {
                    Due::Deduction(b) => self.deduct(b),
                    Due::Timer(r) => {
                        self.fire(r);
                        self.resource_changed(r);
                    }
                }
                self.replan_changed();
            }
            self.now = step_end;
            if last {
                return;
            }
        }
    }

    // ----------------------------------------------------------- events --

    fn apply_event(&mut self, at: DateTime<Utc>, event: &Event) -> Result<(), String> {
        // Events first: what is due at `at` waits until after the event;
        // read `system-first` (ecs.interp.same-instant), it runs before.
        self.run_until(at, !self.readings.system_first);
        self.now = self.now.max(at);
        match event {
            Event::Charge {
                resource,
                amount,
                hours,
                ..
            } => {
                let r = self.resource_index(resource)?;
                let amount = match (amount, hours) {
                    (Some(a), _) => *a,
                    (None, Some(h)) => {
                        let price = self.resources[r].hourly_price.ok_or_else(|| {
                            format!("`hours` needs an hourly_price on resource `{resource}`")
                        })?;
                        price * h
                    }
                    (None, None) => return Err("a charge needs an amount or hours".to_string()),
                };
                self.charge(r, amount);
            }
            Event::TopUp {
                account, amount, ..
            } => {
                let a = self.account_index(account)?;
                self.top_up(a, *amount);
            }
            Event::GrantVoucher {
                account, amount, ..
            } => {
                let a = self.account_index(account)?;
                self.grant_voucher(a, *amount);
            }
            Event::PayNow { account, .. } => {
                let a = self.account_index(account)?;
                self.pay_now(a);
            }
            Event::Purchase {
                account,
                resource,
                price,
                ..
            } => {
                let a = self.account_index(account)?;
                self.purchase(a, resource, *price)?;
            }
            Event::Renew {
                resource,
                term,
                price,
                ..
            } => {
                let r = self.resource_index(resource)?;
                self.renew(r, *term, *price);
            }
            Event::Upgrade {
                resource, price, ..
            } => {
                let r = self.resource_index(resource)?;
                self.upgrade(r, *price);
            }
            Event::SetAutoRelease {
                resource,
                release_at,
                ..
            } => {
                let r = self.resource_index(resource)?;
                let when = release_at.at(self.start);
                self.set_auto_release(r, when);
            }
            Event::Operate {
                resource,
                operation,
                ..
            } => {
                let r = self.resource_index(resource)?;
                self.operate(r, operation);
            }
        }
        self.replan_changed();
        Ok(())
    }

    // ------------------------------------------------------ observation --

    fn observation(&self) -> Observation {
        let accounts = (0..self.accounts.len())
            .map(|a| {
                let acct = &self.accounts[a];
                let overdue = self.account_overdue(a);
                let outstanding: Vec<usize> = (0..self.bills.len())
                    .filter(|&b| self.bills[b].account == a && self.bills[b].is_outstanding())
                    .collect();
                // Bills are issued in time order, so issue order is also
                // the oldest settlement date first.
                AccountObservation {
                    account: acct.id.as_str().into(),
                    cash: acct.cash,
                    vouchers: acct.vouchers,
                    available_credit: acct.credit(),
                    overdue_since: acct.overdue_since,
                    outstanding_bills: outstanding
                        .into_iter()
                        .map(|b| {
                            let bill = &self.bills[b];
                            BillObservation {
                                bill: bill.id.as_str().into(),
                                resource: self.resources[bill.resource].id.as_str().into(),
                                amount: bill.amount,
                                settlement_date: bill.settlement,
                                status: bill.status,
                                attempts: bill.attempts,
                                next_attempt: bill.next.map(|(t, _)| t),
                            }
                        })
                        .collect(),
                    fee_operations: FEE_PRODUCTS
                        .iter()
                        .flat_map(|(product, ops)| {
                            let denied = overdue && self.fee_refusal(*product).is_some();
                            ops.iter().map(move |op| FeeOperation {
                                product: product.id().into(),
                                operation: (*op).into(),
                                allowed: !denied,
                            })
                        })
                        .collect(),
                }
            })
            .collect();
        let resources = (0..self.resources.len())
            .map(|r| {
                let res = &self.resources[r];
                let traits = self.traits(r);
                let operations: arrears::observation::OperationMap = res
                    .lc
                    .product()
                    .operations()
                    .iter()
                    .map(|op| (op.to_string(), self.refusal(r, op).is_none()))
                    .collect();
                ResourceObservation {
                    resource: res.id.as_str().into(),
                    account: self.accounts[res.account].id.as_str().into(),
                    product: res.lc.product().id().into(),
                    lifecycle: res.lc.id().into(),
                    state: res.state.id().into(),
                    since: res.since,
                    serving: traits.serving,
                    data: traits.data,
                    billing: traits.billing,
                    billing_method: Some(res.lc.billing_method_in(res.state)),
                    overdue_since: res.overdue_since,
                    oldest_overdue_bill: self.oldest_overdue_bill(r),
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
}

impl Implementation for Engine {
    fn hello(&mut self, offer: &[ProductOffer]) -> Result<Declaration, ProtocolError> {
        let name = match self.faults.label() {
            None => "arrears-faithful 0.1.0".to_string(),
            Some(f) => format!("arrears-faithful 0.1.0 (fault {f})"),
        };
        // Every product and billing method the specs cover, and the
        // readings taken where they differ from the specs' choice.
        let mut declaration = Declaration::everything(name, offer);
        declaration.readings = self.readings.declared.clone();
        Ok(declaration)
    }

    fn load(&mut self, header: &HistoryHeader) -> Result<Answer<()>, ProtocolError> {
        Ok(match self.load_history(header) {
            Ok(()) => Answer::Done(()),
            Err(e) => Answer::Error(e),
        })
    }

    fn apply(&mut self, at: DateTime<Utc>, event: &Event) -> Result<Answer<()>, ProtocolError> {
        Ok(match self.apply_event(at, event) {
            Ok(()) => Answer::Done(()),
            Err(e) => Answer::Error(format!("{} at {}: {e}", event.kind(), event.at())),
        })
    }

    fn advance(&mut self, to: DateTime<Utc>) -> Result<Answer<()>, ProtocolError> {
        self.run_until(to, false);
        Ok(Answer::Done(()))
    }

    fn observe(&mut self) -> Result<Answer<(Observation, Vec<TraceEvent>)>, ProtocolError> {
        let observation = self.observation();
        Ok(Answer::Done((observation, std::mem::take(&mut self.log))))
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
