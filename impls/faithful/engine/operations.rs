//! User operations: why one is refused (a terminal state, an overdue
//! account, a state that forbids it, insufficient available credit), the
//! transition an allowed one makes, and purchase, renewal, upgrade and
//! automatic release.

use chrono::{DateTime, Utc};

use arrears::history::{ResourceDef, Term};

use super::{Engine, Refusal, term_end};
use crate::products;
use crate::vocab::{AVAILABLE_CREDIT_RULE, Lc, OpAnswer, Product, St, tr};

impl Engine {
    /// Whether `product`'s fee-incurring operations are refused while the
    /// account is overdue, with the rule that says so: the product's own, or
    /// none for MaxCompute read the `refused` way (its document is silent,
    /// maxcompute.interp.fee-operations-while-overdue).
    pub(super) fn fee_refusal(&self, product: Product) -> Option<Option<&'static str>> {
        if let Some(rule) = product.fee_denial_rule(&self.faults) {
            return Some(Some(rule));
        }
        (product == Product::MaxCompute && self.readings.maxcompute_refuses_renewal_while_overdue)
            .then_some(None)
    }

    /// Why `op` would be refused on the resource now, if it would.
    pub(super) fn refusal(&self, r: usize, op: &str) -> Option<Refusal> {
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
    pub(super) fn insufficient() -> Refusal {
        Refusal {
            rule: Some(AVAILABLE_CREDIT_RULE),
            reason: "insufficient available credit".to_string(),
        }
    }

    /// An allowed operation's own transition, if it makes one.
    pub(super) fn operation_transition(&mut self, r: usize, op: &str) {
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

    pub(super) fn operate(&mut self, r: usize, op: &str) {
        let account = self.resources[r].account;
        let id = self.resources[r].id.clone();
        if let Some(f) = self.refusal(r, op) {
            self.log_operation(account, &id, op, Some(f));
            return;
        }
        self.log_operation(account, &id, op, None);
        self.operation_transition(r, op);
    }

    pub(super) fn renew(&mut self, r: usize, term: Term, price: i64) {
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

    pub(super) fn upgrade(&mut self, r: usize, price: i64) {
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

    pub(super) fn set_auto_release(&mut self, r: usize, at: DateTime<Utc>) {
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

    pub(super) fn purchase(
        &mut self,
        account: usize,
        def: &ResourceDef,
        price: i64,
    ) -> Result<(), String> {
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
}
