//! Applying a history event at its instant, after what fell due before it.

use chrono::{DateTime, Utc};

use arrears::history::Event;

use super::Engine;

impl Engine {
    pub(super) fn apply_event(&mut self, at: DateTime<Utc>, event: &Event) -> Result<(), String> {
        // Events first: what is due at `at` waits until after the event;
        // read `system-first` (ecs.interp.same-instant), it runs before.
        self.run_until(at, !self.readings.system_first);
        self.now = self.now.max(at);
        self.perform(event)?;
        self.replan_changed();
        Ok(())
    }

    /// Carries out the event, now: one ledger action or user operation per
    /// kind of event.
    fn perform(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::Charge {
                resource,
                amount,
                hours,
                ..
            } => {
                let r = self.resource_index(resource)?;
                let amount = self.charge_amount(r, resource, *amount, *hours)?;
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
        Ok(())
    }

    /// What a charge bills: its amount, or its hours at the resource's
    /// hourly price.
    fn charge_amount(
        &self,
        r: usize,
        resource: &str,
        amount: Option<i64>,
        hours: Option<i64>,
    ) -> Result<i64, String> {
        Ok(match (amount, hours) {
            (Some(a), _) => a,
            (None, Some(h)) => {
                let price = self.resources[r].hourly_price.ok_or_else(|| {
                    format!("`hours` needs an hourly_price on resource `{resource}`")
                })?;
                price * h
            }
            (None, None) => return Err("a charge needs an amount or hours".to_string()),
        })
    }
}
