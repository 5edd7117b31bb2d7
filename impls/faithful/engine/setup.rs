//! Loading a history: its accounts, and its resources with the lifecycle
//! each follows.

use chrono::{DateTime, Utc};

use arrears::history::ResourceDef;
use arrears::protocol::HistoryHeader;

use super::{Engine, Resource, term_end};
use crate::ledger::Account;
use crate::products;
use crate::vocab::{Lc, Product};

impl Engine {
    pub(super) fn lifecycle_of(&self, def: &ResourceDef) -> Result<Lc, String> {
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

    pub(super) fn new_resource(
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

    pub(super) fn load_history(&mut self, header: &HistoryHeader) -> Result<(), String> {
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
}
