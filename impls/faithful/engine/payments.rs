//! The ledger actions: charges and the bills they issue, deduction
//! attempts, top-ups, vouchers, Pay Now, payments for purchases and
//! renewals, and refunds, each with what it logs.

use arrears::observation::{AttemptCause, BillStatus, BillingStatus, Outcome, TraceEvent};

use super::Engine;
use crate::ledger::Bill;
use crate::products::spark;
use crate::vocab::{Billing, ChargeKind, Shortfall, Signal};

impl Engine {
    pub(super) fn log_deduction(&mut self, b: usize, cause: AttemptCause, outcome: Outcome) {
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

    pub(super) fn log_settled(&mut self, b: usize) {
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
    pub(super) fn deduct(&mut self, b: usize) {
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
    pub(super) fn settle_overdrawn(&mut self, account: usize) {
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
    pub(super) fn pay_overdue(&mut self, account: usize, cause: AttemptCause) {
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

    pub(super) fn top_up(&mut self, account: usize, amount: i64) {
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

    pub(super) fn grant_voucher(&mut self, account: usize, amount: i64) {
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
    pub(super) fn pay_now(&mut self, account: usize) {
        // Paying is a ledger action even when nothing is left to pay.
        self.ledger_changed(account);
        self.pay_overdue(account, AttemptCause::PayNow);
        self.check_credit_alert(account);
        self.sync_overdue(account);
    }

    /// Takes a purchase, renewal or upgrade price, vouchers first, and logs
    /// the split. The caller checked the credit.
    pub(super) fn pay(
        &mut self,
        account: usize,
        resource: &str,
        op: &str,
        price: i64,
    ) -> (i64, i64) {
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
    pub(super) fn refund(&mut self, r: usize, formula: crate::vocab::Formula) {
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

    pub(super) fn charge(&mut self, r: usize, amount: i64) {
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
}
