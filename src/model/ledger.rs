//! The ledger half of the model: balances, bills, deduction attempts,
//! settlement and refunds, all in integer minor units.
//!
//! Available credit is cash plus vouchers. A bill is deducted at the
//! offsets its product's billing section gives; an attempt the credit cannot
//! cover either fails (the bill is overdue) or overdraws the cash balance
//! (the bill counts as overdue until the balance is back at zero), as the
//! product says. After every change the overdue status of each resource and
//! of the account is recomputed and the changes are signalled to the
//! lifecycles.

use super::{Agendum, Bill, Model, Stimulus};
use crate::observation::{AttemptCause, BillStatus, Outcome, TraceEvent};
use crate::spec::formula::{Inputs, Rounding};
use crate::spec::{FormulaId, NotificationTrigger, OnInsufficient, ParamValue, Signal};

impl Model<'_> {
    pub(super) fn available(&self, account: usize) -> i64 {
        let a = &self.accounts[account];
        a.cash + a.vouchers
    }

    /// Takes `amount` from the account, which must have the credit; returns
    /// the (cash, vouchers) split, in the order the ledger's reading says.
    pub(super) fn take(&mut self, account: usize, amount: i64) -> (i64, i64) {
        let vouchers_first = self.catalog.flag(self.catalog.ledger.vouchers_first);
        let a = &mut self.accounts[account];
        let (cash, vouchers) = if vouchers_first {
            let v = a.vouchers.min(amount);
            (amount - v, v)
        } else {
            let c = a.cash.max(0).min(amount);
            (c, amount - c)
        };
        a.cash -= cash;
        a.vouchers -= vouchers;
        (cash, vouchers)
    }

    /// A charge to resource `r`: a bill if the resource is billed, nothing
    /// (logged as skipped) if its billing has ceased.
    pub(super) fn charge(&mut self, r: usize, amount: i64) {
        let account = self.resources[r].account;
        if let Some(rule) = self.billing_stopped_by(r) {
            let rule = rule
                .map(|rule| self.catalog.rule(rule).id.clone())
                .unwrap_or_default();
            self.log.push(TraceEvent::ChargeSkipped {
                at: self.now,
                account: self.accounts[account].id.clone(),
                resource: self.resources[r].id.clone(),
                amount,
                rule,
            });
            return;
        }
        let doc = self.resources[r].doc;
        let Some(billing) = &self.catalog.document(doc).billing else {
            // A product without bills (prepaid plans): the charge records
            // consumption only.
            self.log.push(TraceEvent::Charge {
                at: self.now,
                account: self.accounts[account].id.clone(),
                resource: self.resources[r].id.clone(),
                bill: None,
                amount,
            });
            self.stimuli
                .push_back((r, Stimulus::Signal(Signal::Charged)));
            return;
        };
        let first = self.now + self.catalog.duration_param(billing.deduction_offsets[0]);
        let res = &mut self.resources[r];
        res.bill_count += 1;
        let id = format!("{}/{}", res.id, res.bill_count);
        let bill = self.bills.len();
        self.bills.push(Bill {
            index: bill,
            id: id.clone(),
            account,
            resource: r,
            doc,
            amount,
            settlement: self.now,
            attempts: 0,
            status: BillStatus::Pending,
            next_attempt: Some(first),
        });
        self.resources[r].bills.push(bill);
        self.accounts[account].bills.push(bill);
        self.log.push(TraceEvent::Charge {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[r].id.clone(),
            bill: Some(id),
            amount,
        });
        self.schedule(first, Agendum::Deduction { bill, attempt: 1 });
        self.stimuli
            .push_back((r, Stimulus::Signal(Signal::Charged)));
    }

    pub(super) fn scheduled_deduction(&mut self, bill: usize, attempt: u32) {
        let b = &self.bills[bill];
        if b.status == BillStatus::Paid
            || b.status == BillStatus::Overdrawn
            || b.attempts + 1 != attempt
        {
            return;
        }
        self.attempt(bill, AttemptCause::Scheduled);
        let b = &self.bills[bill];
        let offsets = &self
            .catalog
            .document(b.doc)
            .billing
            .as_ref()
            .expect("a bill has billing")
            .deduction_offsets;
        let next = (b.status == BillStatus::Overdue)
            .then(|| offsets.get(b.attempts as usize))
            .flatten()
            .map(|p| b.settlement + self.catalog.duration_param(*p));
        self.bills[bill].next_attempt = next;
        if let Some(due) = next {
            self.schedule(
                due,
                Agendum::Deduction {
                    bill,
                    attempt: self.bills[bill].attempts + 1,
                },
            );
        }
        self.after_ledger_change(self.bills[bill].account);
    }

    /// One deduction attempt of a bill.
    fn attempt(&mut self, bill: usize, cause: AttemptCause) -> Outcome {
        let (account, amount, doc) = {
            let b = &self.bills[bill];
            (b.account, b.amount, b.doc)
        };
        self.bills[bill].attempts += 1;
        let billing = self
            .catalog
            .document(doc)
            .billing
            .as_ref()
            .expect("a bill has billing");
        let r = self.bills[bill].resource;
        let mut notifications = Vec::new();
        let mut paid = false;
        let outcome = if self.available(account) >= amount {
            self.take(account, amount);
            paid = true;
            self.bills[bill].next_attempt = None;
            Outcome::Paid
        } else {
            match billing.on_insufficient {
                OnInsufficient::Fail => {
                    if self.bills[bill].status == BillStatus::Pending {
                        self.mark(bill, BillStatus::Overdue);
                        notifications.push(NotificationTrigger::BillOverdue);
                    }
                    Outcome::Failed
                }
                OnInsufficient::Overdraw => {
                    let was_negative = self.accounts[account].cash < 0;
                    let a = &mut self.accounts[account];
                    let from_vouchers = a.vouchers.max(0).min(amount);
                    a.vouchers -= from_vouchers;
                    a.cash -= amount - from_vouchers;
                    self.mark(bill, BillStatus::Overdrawn);
                    self.bills[bill].next_attempt = None;
                    notifications.push(NotificationTrigger::BillOverdue);
                    if !was_negative && self.accounts[account].cash < 0 {
                        notifications.push(NotificationTrigger::BalanceNegative);
                    }
                    Outcome::Overdrawn
                }
            }
        };
        let b = &self.bills[bill];
        self.log.push(TraceEvent::Deduction {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[b.resource].id.clone(),
            bill: b.id.clone(),
            amount,
            attempt: b.attempts,
            cause,
            outcome,
            rule: self.catalog.rule(billing.rule).id.clone(),
        });
        if paid {
            // Logged after the deduction that caused it.
            self.mark(bill, BillStatus::Paid);
        }
        for trigger in notifications {
            self.notify_on(doc, trigger, account, Some(r));
        }
        outcome
    }

    /// Changes a bill's status, keeping the overdue counts in step.
    fn mark(&mut self, bill: usize, status: BillStatus) {
        let b = &self.bills[bill];
        let was_overdue = matches!(b.status, BillStatus::Overdue | BillStatus::Overdrawn);
        let is_overdue = matches!(status, BillStatus::Overdue | BillStatus::Overdrawn);
        let (account, resource) = (b.account, b.resource);
        self.bills[bill].status = status;
        if was_overdue && !is_overdue {
            self.accounts[account].overdue_bills -= 1;
            self.resources[resource].overdue_bills -= 1;
            self.log.push(TraceEvent::BillSettled {
                at: self.now,
                account: self.accounts[account].id.clone(),
                resource: self.resources[resource].id.clone(),
                bill: self.bills[bill].id.clone(),
            });
        } else if !was_overdue && is_overdue {
            self.accounts[account].overdue_bills += 1;
            self.resources[resource].overdue_bills += 1;
        }
    }

    pub(super) fn top_up(&mut self, account: usize, amount: i64) {
        self.accounts[account].cash += amount;
        self.log.push(TraceEvent::TopUp {
            at: self.now,
            account: self.accounts[account].id.clone(),
            amount,
        });
        self.clear_overdrawn(account);
        if self.catalog.flag(self.catalog.ledger.top_up_settles) {
            self.settle(account, AttemptCause::TopUp);
        }
        self.after_ledger_change(account);
    }

    pub(super) fn grant_voucher(&mut self, account: usize, amount: i64) {
        self.accounts[account].vouchers += amount;
        self.log.push(TraceEvent::VoucherGranted {
            at: self.now,
            account: self.accounts[account].id.clone(),
            amount,
        });
        self.after_ledger_change(account);
    }

    pub(super) fn pay_now(&mut self, account: usize) {
        self.settle(account, AttemptCause::PayNow);
        self.after_ledger_change(account);
    }

    /// Pays overdue bills, oldest first, each whole, until one does not fit.
    fn settle(&mut self, account: usize, cause: AttemptCause) {
        let mut overdue: Vec<usize> = self.accounts[account]
            .bills
            .iter()
            .copied()
            .filter(|b| self.bills[*b].status == BillStatus::Overdue)
            .collect();
        overdue.sort_by_key(|b| (self.bills[*b].settlement, *b));
        for bill in overdue {
            if self.available(account) < self.bills[bill].amount {
                break;
            }
            self.attempt(bill, cause);
        }
    }

    /// Overdrawn bills count as overdue only while the cash is negative.
    fn clear_overdrawn(&mut self, account: usize) {
        if self.accounts[account].cash < 0 {
            return;
        }
        let overdrawn: Vec<usize> = self.accounts[account]
            .bills
            .iter()
            .copied()
            .filter(|b| self.bills[*b].status == BillStatus::Overdrawn)
            .collect();
        for bill in overdrawn {
            self.mark(bill, BillStatus::Paid);
        }
    }

    /// Credits a refund computed by formula `f` for resource `r`.
    pub(super) fn refund(&mut self, r: usize, f: FormulaId) {
        let def = &self.catalog.formulas[f.index()];
        let res = &self.resources[r];
        let inputs = Inputs {
            paid_cash: res.paid_cash,
            paid_voucher: res.paid_voucher,
            used_seconds: (self.now - res.purchased_at).num_seconds(),
            term_seconds: res.term.num_seconds(),
        };
        let mode = match self.catalog.value(def.rounding) {
            ParamValue::Choice(c) => Rounding::from_name(c).unwrap_or(Rounding::Floor),
            _ => Rounding::Floor,
        };
        // Errors (a zero term, overflow) and the bounds both fall back to
        // the bounds: a refund is never negative and never above the bound.
        let mut amount = def.expression.eval_rounded(&inputs, mode).unwrap_or(0);
        if let Some(lo) = &def.at_least {
            amount = amount.max(lo.eval_rounded(&inputs, mode).unwrap_or(0));
        }
        if let Some(hi) = &def.at_most {
            amount = amount.min(hi.eval_rounded(&inputs, mode).unwrap_or(0));
        }
        let account = res.account;
        self.accounts[account].cash += amount;
        self.log.push(TraceEvent::Refund {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[r].id.clone(),
            amount,
            formula: def.id.clone(),
            rule: self.catalog.rule(def.rule).id.clone(),
            paid_cash: inputs.paid_cash,
            paid_voucher: inputs.paid_voucher,
            used_seconds: inputs.used_seconds,
            term_seconds: inputs.term_seconds,
        });
        self.clear_overdrawn(account);
        self.after_ledger_change(account);
    }

    pub(super) fn check_credit_alert(&mut self, account: usize) {
        let Some(threshold) = self.accounts[account].threshold else {
            return;
        };
        let below = self.available(account) < threshold;
        if below && !self.accounts[account].below_threshold {
            let ids: Vec<_> = self
                .catalog
                .notifications
                .iter()
                .enumerate()
                .filter(|(_, n)| n.trigger == NotificationTrigger::CreditBelowThreshold)
                .map(|(i, _)| crate::spec::NotificationId(i as u32))
                .collect();
            for n in ids {
                self.notify(n, account, None);
            }
        }
        self.accounts[account].below_threshold = below;
    }

    /// Recomputes overdue status after a ledger change and signals what
    /// changed: first each resource's own status, then the account's.
    pub(super) fn after_ledger_change(&mut self, account: usize) {
        self.check_credit_alert(account);
        let resources = self.accounts[account].resources.clone();
        for &r in &resources {
            let res = &mut self.resources[r];
            let overdue = res.overdue_bills > 0;
            if overdue && res.overdue_since.is_none() {
                res.overdue_since = Some(self.now);
                self.stimuli
                    .push_back((r, Stimulus::Signal(Signal::Overdue)));
            } else if !overdue && res.overdue_since.is_some() {
                res.overdue_since = None;
                self.stimuli
                    .push_back((r, Stimulus::Signal(Signal::Settled)));
            }
            self.dirty.insert(r);
        }
        let a = &mut self.accounts[account];
        let overdue = a.overdue_bills > 0;
        let signal = if overdue && a.overdue_since.is_none() {
            a.overdue_since = Some(self.now);
            Some(Signal::AccountOverdue)
        } else if !overdue && a.overdue_since.is_some() {
            a.overdue_since = None;
            Some(Signal::AccountSettled)
        } else {
            None
        };
        if let Some(signal) = signal {
            for &r in &resources {
                self.stimuli.push_back((r, Stimulus::Signal(signal)));
            }
        }
    }
}
