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
//!
//! Every change of a balance is checked arithmetic ([`Model::credit`],
//! [`Model::debit`]): a sum that would leave the range of an `i64` is a
//! [`ModelError::Money`], never a wrapped balance. A history that validates
//! keeps each account's totals far inside that range
//! ([`crate::history::MAX_ACCOUNT_TOTAL`]), so only unvalidated input meets
//! the error.

use super::{Agendum, Bill, Model, ModelError, Stimulus};
use crate::observation::{AttemptCause, BillStatus, Outcome, TraceEvent};
use crate::spec::formula::{Expr, Inputs, Rounding};
use crate::spec::{FormulaId, NotificationTrigger, OnInsufficient, ParamValue, Signal};

/// A change of balances, named in a [`ModelError::Money`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Movement {
    TopUp(i64),
    Voucher(i64),
    Deduction { bill: usize },
    Payment { resource: usize, price: i64 },
    Purchase { price: i64 },
    Refund { resource: usize, amount: i64 },
}

impl Model<'_> {
    /// Available credit: cash plus vouchers, exactly.
    pub(super) fn available(&self, account: usize) -> i128 {
        let a = &self.accounts[account];
        i128::from(a.cash) + i128::from(a.vouchers)
    }

    /// Adds to an account's cash and vouchers, or fails with
    /// [`ModelError::Money`] naming `what` if a balance (or their sum, the
    /// available credit) would leave the range of an `i64`.
    pub(super) fn credit(
        &mut self,
        account: usize,
        cash: i64,
        vouchers: i64,
        what: Movement,
    ) -> Result<(), ModelError> {
        let a = &self.accounts[account];
        let changed = a
            .cash
            .checked_add(cash)
            .zip(a.vouchers.checked_add(vouchers));
        self.set_balances(account, changed, what)
    }

    /// Takes from an account's cash and vouchers, checked like
    /// [`Model::credit`].
    pub(super) fn debit(
        &mut self,
        account: usize,
        cash: i64,
        vouchers: i64,
        what: Movement,
    ) -> Result<(), ModelError> {
        let a = &self.accounts[account];
        let changed = a
            .cash
            .checked_sub(cash)
            .zip(a.vouchers.checked_sub(vouchers));
        self.set_balances(account, changed, what)
    }

    fn set_balances(
        &mut self,
        account: usize,
        changed: Option<(i64, i64)>,
        what: Movement,
    ) -> Result<(), ModelError> {
        match changed.filter(|(c, v)| c.checked_add(*v).is_some()) {
            Some((cash, vouchers)) => {
                let a = &mut self.accounts[account];
                a.cash = cash;
                a.vouchers = vouchers;
                Ok(())
            }
            None => Err(self.money_error(account, what)),
        }
    }

    pub(super) fn money_error(&self, account: usize, what: Movement) -> ModelError {
        let what = match what {
            Movement::TopUp(amount) => format!("a top-up of {amount} minor units"),
            Movement::Voucher(amount) => format!("a voucher of {amount} minor units"),
            Movement::Deduction { bill } => format!(
                "a deduction of {} minor units for bill `{}`",
                self.bills[bill].amount, self.bills[bill].id
            ),
            Movement::Payment { resource, price } => format!(
                "a payment of {price} minor units for resource `{}`",
                self.resources[resource].id
            ),
            Movement::Purchase { price } => format!("a purchase price of {price} minor units"),
            Movement::Refund { resource, amount } => format!(
                "a refund of {amount} minor units to resource `{}`",
                self.resources[resource].id
            ),
        };
        ModelError::Money {
            at: self.now,
            account: self.accounts[account].id.to_string(),
            what,
        }
    }

    /// Takes `amount` from the account, which must have the credit; returns
    /// the (cash, vouchers) split, in the order the ledger's reading says.
    pub(super) fn take(
        &mut self,
        account: usize,
        amount: i64,
        what: Movement,
    ) -> Result<(i64, i64), ModelError> {
        let vouchers_first = self.catalog.flag(self.catalog.ledger.vouchers_first);
        let a = &self.accounts[account];
        // Both parts lie between 0 and `amount`, so neither subtraction
        // below can overflow for a non-negative amount.
        let amount = amount.max(0);
        let (cash, vouchers) = if vouchers_first {
            let v = a.vouchers.clamp(0, amount);
            (amount - v, v)
        } else {
            let c = a.cash.clamp(0, amount);
            (c, amount - c)
        };
        self.debit(account, cash, vouchers, what)?;
        Ok((cash, vouchers))
    }

    /// A charge to resource `r`: a bill if the resource is billed, nothing
    /// (logged as skipped) if its billing has ceased.
    pub(super) fn charge(&mut self, r: usize, amount: i64) {
        let account = self.resources[r].account;
        if let Some(rule) = self.billing_stopped_by(r) {
            let rule = rule.map(|rule| self.rule_name(rule)).unwrap_or_default();
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
        let bill_id = super::ids::bill_name(&res.id, res.bill_count);
        let bill = self.bills.len();
        self.bills.push(Bill {
            index: bill,
            id: bill_id.clone(),
            account,
            resource: r,
            doc,
            amount,
            settlement: self.now,
            attempts: 0,
            status: BillStatus::Pending,
            next_attempt: Some(first),
        });
        self.resources[r].unpaid.push(bill);
        self.accounts[account].unpaid.push(bill);
        self.accounts[account].bill_changes += 1;
        self.log.push(TraceEvent::Charge {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[r].id.clone(),
            bill: Some(bill_id),
            amount,
        });
        self.schedule(first, Agendum::Deduction { bill, attempt: 1 });
        self.stimuli
            .push_back((r, Stimulus::Signal(Signal::Charged)));
    }

    pub(super) fn scheduled_deduction(
        &mut self,
        bill: usize,
        attempt: u32,
    ) -> Result<(), ModelError> {
        let b = &self.bills[bill];
        if b.status == BillStatus::Paid
            || b.status == BillStatus::Overdrawn
            || b.attempts + 1 != attempt
        {
            return Ok(());
        }
        self.attempt(bill, AttemptCause::Scheduled)?;
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
        self.bill_mut(bill).next_attempt = next;
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
        Ok(())
    }

    /// One deduction attempt of a bill.
    fn attempt(&mut self, bill: usize, cause: AttemptCause) -> Result<Outcome, ModelError> {
        let (account, amount, doc) = {
            let b = &self.bills[bill];
            (b.account, b.amount, b.doc)
        };
        self.bill_mut(bill).attempts += 1;
        let billing = self
            .catalog
            .document(doc)
            .billing
            .as_ref()
            .expect("a bill has billing");
        let r = self.bills[bill].resource;
        let mut notifications = Vec::new();
        let mut paid = false;
        // A bill of nothing is paid whatever the balance: an EMR fee of zero
        // taken while the cash is negative is not an uncovered hour.
        let outcome = if amount <= 0 || self.available(account) >= i128::from(amount) {
            self.take(account, amount, Movement::Deduction { bill })?;
            paid = true;
            self.bill_mut(bill).next_attempt = None;
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
                    // A non-negative amount: both parts lie between 0 and it.
                    let amount = amount.max(0);
                    let from_vouchers = self.accounts[account].vouchers.clamp(0, amount);
                    let from_cash = amount - from_vouchers;
                    self.debit(
                        account,
                        from_cash,
                        from_vouchers,
                        Movement::Deduction { bill },
                    )?;
                    self.mark(bill, BillStatus::Overdrawn);
                    self.bill_mut(bill).next_attempt = None;
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
            rule: self.rule_name(billing.rule),
        });
        if paid {
            // Logged after the deduction that caused it.
            self.mark(bill, BillStatus::Paid);
        }
        for trigger in notifications {
            self.notify_on(doc, trigger, account, Some(r));
        }
        Ok(outcome)
    }

    /// Bill `bill`, to change: its account counts the change, so that the
    /// next observation lists the account's outstanding bills anew. Every
    /// change to a bill goes through here.
    fn bill_mut(&mut self, bill: usize) -> &mut Bill {
        let account = self.bills[bill].account;
        self.accounts[account].bill_changes += 1;
        &mut self.bills[bill]
    }

    /// Changes a bill's status, keeping the overdue counts in step.
    fn mark(&mut self, bill: usize, status: BillStatus) {
        let b = &self.bills[bill];
        let was_overdue = matches!(b.status, BillStatus::Overdue | BillStatus::Overdrawn);
        let is_overdue = matches!(status, BillStatus::Overdue | BillStatus::Overdrawn);
        let (account, resource) = (b.account, b.resource);
        self.bill_mut(bill).status = status;
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
        if status == BillStatus::Paid {
            self.accounts[account].unpaid.retain(|b| *b != bill);
            self.resources[resource].unpaid.retain(|b| *b != bill);
        }
    }

    pub(super) fn top_up(&mut self, account: usize, amount: i64) -> Result<(), ModelError> {
        self.credit(account, amount, 0, Movement::TopUp(amount))?;
        self.log.push(TraceEvent::TopUp {
            at: self.now,
            account: self.accounts[account].id.clone(),
            amount,
        });
        self.clear_overdrawn(account);
        if self.catalog.flag(self.catalog.ledger.top_up_settles) {
            self.settle(account, AttemptCause::TopUp)?;
        }
        self.after_ledger_change(account);
        Ok(())
    }

    pub(super) fn grant_voucher(&mut self, account: usize, amount: i64) -> Result<(), ModelError> {
        self.credit(account, 0, amount, Movement::Voucher(amount))?;
        self.log.push(TraceEvent::VoucherGranted {
            at: self.now,
            account: self.accounts[account].id.clone(),
            amount,
        });
        self.after_ledger_change(account);
        Ok(())
    }

    pub(super) fn pay_now(&mut self, account: usize) -> Result<(), ModelError> {
        self.settle(account, AttemptCause::PayNow)?;
        self.after_ledger_change(account);
        Ok(())
    }

    /// Pays overdue bills, oldest first, each whole, until one does not fit;
    /// under the `all-or-none` reading of the settlement order, every one
    /// of them or, when the credit cannot cover them all, none.
    fn settle(&mut self, account: usize, cause: AttemptCause) -> Result<(), ModelError> {
        let mut overdue: Vec<usize> = self.accounts[account]
            .unpaid
            .iter()
            .copied()
            .filter(|b| self.bills[*b].status == BillStatus::Overdue)
            .collect();
        overdue.sort_by_key(|b| (self.bills[*b].settlement, *b));
        if self.catalog.settles_all_or_none() {
            let total: i128 = overdue
                .iter()
                .map(|b| i128::from(self.bills[*b].amount))
                .sum();
            if self.available(account) < total {
                return Ok(());
            }
        }
        for bill in overdue {
            if self.available(account) < i128::from(self.bills[bill].amount) {
                break;
            }
            self.attempt(bill, cause)?;
        }
        Ok(())
    }

    /// Overdrawn bills count as overdue only while the cash is negative.
    fn clear_overdrawn(&mut self, account: usize) {
        if self.accounts[account].cash < 0 {
            return;
        }
        let overdrawn: Vec<usize> = self.accounts[account]
            .unpaid
            .iter()
            .copied()
            .filter(|b| self.bills[*b].status == BillStatus::Overdrawn)
            .collect();
        for bill in overdrawn {
            self.mark(bill, BillStatus::Paid);
        }
    }

    /// Credits a refund computed by formula `f` for resource `r`.
    ///
    /// A formula that cannot be evaluated on the resource's inputs (a
    /// division by zero, an overflow) is a [`ModelError::Refund`]: no
    /// refund is quietly taken to be 0.
    pub(super) fn refund(&mut self, r: usize, f: FormulaId) -> Result<(), ModelError> {
        let catalog = self.catalog;
        let def = &catalog.formulas[f.index()];
        let res = &self.resources[r];
        let inputs = Inputs {
            paid_cash: res.paid_cash,
            paid_voucher: res.paid_voucher,
            used_seconds: (self.now - res.purchased_at).num_seconds(),
            term_seconds: res.term.num_seconds(),
        };
        let mode = match catalog.value(def.rounding) {
            ParamValue::Choice(c) => Rounding::from_name(c).unwrap_or(Rounding::Floor),
            _ => Rounding::Floor,
        };
        let eval = |expr: &Expr, part: &str| {
            expr.eval_rounded(&inputs, mode)
                .map_err(|error| ModelError::Refund {
                    at: self.now,
                    resource: res.id.to_string(),
                    formula: def.id.clone(),
                    reason: format!(
                        "(`{part}`) gives no value on {}: {error}",
                        inputs_text(&inputs)
                    ),
                })
        };
        // The bounds clamp the refund: never below at_least, never above
        // at_most.
        let mut amount = eval(&def.expression, &def.text)?;
        if let Some(lo) = &def.at_least {
            amount = amount.max(eval(lo, "at_least")?);
        }
        if let Some(hi) = &def.at_most {
            amount = amount.min(eval(hi, "at_most")?);
        }
        let account = res.account;
        self.credit(
            account,
            amount,
            0,
            Movement::Refund {
                resource: r,
                amount,
            },
        )?;
        self.log.push(TraceEvent::Refund {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[r].id.clone(),
            amount,
            formula: catalog.lookups().formulas[f.index()].clone().into(),
            rule: catalog.lookups().rules[def.rule.index()].clone().into(),
            paid_cash: inputs.paid_cash,
            paid_voucher: inputs.paid_voucher,
            used_seconds: inputs.used_seconds,
            term_seconds: inputs.term_seconds,
        });
        self.clear_overdrawn(account);
        self.after_ledger_change(account);
        Ok(())
    }

    pub(super) fn check_credit_alert(&mut self, account: usize) {
        let Some(threshold) = self.accounts[account].threshold else {
            return;
        };
        let below = self.available(account) < i128::from(threshold);
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
        // By index: the account's resources do not change here, and a copy
        // of the list for every ledger change is measurable.
        for i in 0..self.accounts[account].resources.len() {
            let r = self.accounts[account].resources[i];
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
            self.dirty.push(r);
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
            let Model {
                accounts, stimuli, ..
            } = self;
            for &r in &accounts[account].resources {
                stimuli.push_back((r, Stimulus::Signal(signal)));
            }
        }
    }
}

/// A formula's inputs as a person reads them, for error messages.
fn inputs_text(inputs: &Inputs) -> String {
    format!(
        "paid_cash {}, paid_voucher {}, used {}s, term {}s",
        inputs.paid_cash, inputs.paid_voucher, inputs.used_seconds, inputs.term_seconds
    )
}
