//! The checks a history passes before anything runs it: [`Validator`],
//! one event at a time, with the running totals per account that keep every
//! balance the model can reach far inside an `i64`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::checks::{check_amount, check_id, err, require_op, unknown_resource};
use super::resource::{kebab_billing, resolve_resource};
use super::{
    AccountDef, Event, HistoryError, MAX_ACCOUNT_TOTAL, MAX_AMOUNT, MAX_EXPIRY, MAX_HISTORY_END,
    Offset, ResolvedResource, ResourceDef, Term, after,
};
use crate::idmap::{IdMap, id_map};
use crate::spec::{BillingMethod, Catalog};

/// What validation learned about a resource.
#[derive(Debug, Clone)]
struct KnownResource {
    id: String,
    resolved: ResolvedResource,
    account: usize,
    hourly_price: Option<i64>,
    /// A subscription's expiry, with the renewals so far.
    expiry: Option<Offset>,
}

/// Money an account has taken in and been charged so far, exactly.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    money_in: i128,
    money_out: i128,
}

/// The checks of [`History::validate`](super::History::validate), one event at a time: what `arrears
/// serve` applies to the events an adapter session sends, so that the
/// served model rejects exactly what a history file may not contain.
///
/// Beyond each event on its own (known ids, amounts between 0 and
/// [`MAX_AMOUNT`], operations the product has), it keeps running totals per
/// account and rejects the first event that takes an account's money in or
/// money out past [`MAX_ACCOUNT_TOTAL`], and the first renewal that moves an
/// expiry past the year 9999.
#[derive(Debug, Clone)]
pub struct Validator<'c> {
    catalog: &'c Catalog,
    start: DateTime<Utc>,
    /// Accounts by id, and each one's id and totals by index.
    accounts: IdMap<String, usize>,
    account_ids: Vec<String>,
    totals: Vec<Totals>,
    /// Resources by id, and what validation learned about each by index
    /// (one lookup per event rather than one per fact).
    resource_index: IdMap<String, usize>,
    resources: Vec<KnownResource>,
    last: Option<Offset>,
    /// Events checked so far: the index of the next one.
    count: usize,
}

impl<'c> Validator<'c> {
    /// Checks the start of a history: its accounts and resources.
    pub fn new(
        catalog: &'c Catalog,
        start: DateTime<Utc>,
        accounts: &[AccountDef],
        resources: &[ResourceDef],
    ) -> Result<Validator<'c>, HistoryError> {
        let mut v = Validator {
            catalog,
            start,
            accounts: id_map(),
            account_ids: Vec::new(),
            totals: Vec::new(),
            resource_index: id_map(),
            resources: Vec::new(),
            last: None,
            count: 0,
        };
        // Each check names the account or resource as its place; the name
        // is written only for an error, since this runs for every history.
        let placed = |mut error: HistoryError, place: &dyn Fn() -> String| {
            if error.place.is_empty() {
                error.place = place();
            }
            error
        };
        for (i, a) in accounts.iter().enumerate() {
            v.add_account(a)
                .map_err(|e| placed(e, &|| format!("accounts[{i}] ({})", a.id)))?;
        }
        for (i, r) in resources.iter().enumerate() {
            v.add_listed_resource(r)
                .map_err(|e| placed(e, &|| format!("resources[{i}] ({})", r.id)))?;
        }
        Ok(v)
    }

    /// Checks a listed account and adds it. Errors leave `place` empty.
    fn add_account(&mut self, a: &AccountDef) -> Result<(), HistoryError> {
        let place = "";
        check_id(&a.id, place)?;
        if self.accounts.contains_key(a.id.as_str()) {
            return Err(err(place, format!("account `{}` is listed twice", a.id)));
        }
        check_amount(a.cash, place, "cash")?;
        check_amount(a.vouchers, place, "vouchers")?;
        if let Some(t) = a.credit_alert {
            check_amount(t, place, "credit_alert")?;
        }
        let index = self.totals.len();
        self.accounts.insert(a.id.clone(), index);
        self.account_ids.push(a.id.clone());
        self.totals.push(Totals::default());
        let totals = self.totals_after(index, &[a.cash, a.vouchers], 0, place)?;
        self.commit(totals);
        Ok(())
    }

    /// Checks a resource listed at the start and adds it. Errors leave
    /// `place` empty.
    fn add_listed_resource(&mut self, r: &ResourceDef) -> Result<(), HistoryError> {
        let place = "";
        let Some(&account) = self.accounts.get(r.account.as_str()) else {
            return Err(err(place, format!("unknown account `{}`", r.account)));
        };
        let res = resolve_resource(self.catalog, r, |id| self.resolved_of(id), place, false)?;
        let purchased = r.purchased_at.unwrap_or_default();
        let expiry = self.expiry_of(r, purchased, place)?;
        let totals = self.totals_after(account, &[r.paid_cash, r.paid_voucher], 0, place)?;
        self.add_resource(r, account, res, expiry);
        self.commit(totals);
        Ok(())
    }

    /// What validation learned about each resource so far.
    pub fn resolved(&self) -> HashMap<String, ResolvedResource> {
        self.resources
            .iter()
            .map(|r| (r.id.clone(), r.resolved))
            .collect()
    }

    fn known(&self, resource: &str) -> Option<&KnownResource> {
        self.resource_index
            .get(resource)
            .map(|i| &self.resources[*i])
    }

    fn resolved_of(&self, resource: &str) -> Option<ResolvedResource> {
        self.known(resource).map(|r| r.resolved)
    }

    /// When a subscription bought at `purchased` expires, if it does.
    fn expiry_of(
        &self,
        r: &ResourceDef,
        purchased: Offset,
        place: &str,
    ) -> Result<Option<Offset>, HistoryError> {
        let Some(term) = r.term else {
            return Ok(None);
        };
        let expiry = self
            .start
            .checked_add_signed(purchased.0)
            .and_then(|p| term.end(p).map(|e| Offset(e - self.start)));
        let Some(expiry) = expiry.filter(|e| !after(self.start, *e, MAX_EXPIRY)) else {
            return Err(err(
                place,
                "the subscription would expire after the year 9999",
            ));
        };
        Ok(Some(expiry))
    }

    fn add_resource(
        &mut self,
        r: &ResourceDef,
        account: usize,
        res: ResolvedResource,
        expiry: Option<Offset>,
    ) {
        self.resource_index
            .insert(r.id.clone(), self.resources.len());
        self.resources.push(KnownResource {
            id: r.id.clone(),
            resolved: res,
            account,
            hourly_price: r.hourly_price,
            expiry,
        });
    }

    /// The account's totals with `money_in` more taken in (or refundable
    /// later) and `money_out` more charged, if both stay within
    /// [`MAX_ACCOUNT_TOTAL`]. Nothing changes until [`Validator::commit`].
    fn totals_after(
        &self,
        index: usize,
        money_in: &[i64],
        money_out: i64,
        place: &str,
    ) -> Result<(usize, Totals), HistoryError> {
        let totals = self.totals[index];
        let account = &self.account_ids[index];
        let limit = i128::from(MAX_ACCOUNT_TOTAL);
        let after = Totals {
            money_in: totals.money_in + money_in.iter().map(|a| i128::from(*a)).sum::<i128>(),
            money_out: totals.money_out + i128::from(money_out),
        };
        if after.money_in > limit {
            return Err(err(
                place,
                format!(
                    "account `{account}` would take in more than {MAX_ACCOUNT_TOTAL} minor units \
                     over the history (balances at the start, top-ups, vouchers and payments a \
                     refund could return), the most one account may hold; use smaller amounts \
                     or split the history"
                ),
            ));
        }
        if after.money_out > limit {
            return Err(err(
                place,
                format!(
                    "account `{account}` would be charged more than {MAX_ACCOUNT_TOTAL} minor \
                     units over the history (charges and prices), the most one account may \
                     owe; use smaller amounts or split the history"
                ),
            ));
        }
        Ok((index, after))
    }

    /// The totals after a payment of `price` by the resource's account:
    /// charged now, and refundable later.
    fn totals_after_payment(
        &self,
        account: usize,
        price: i64,
        place: &str,
    ) -> Result<(usize, Totals), HistoryError> {
        self.totals_after(account, &[price], price, place)
    }

    fn commit(&mut self, (index, totals): (usize, Totals)) {
        self.totals[index] = totals;
    }

    /// The account of a resource validation has resolved.
    fn account_of(&self, resource: &str) -> usize {
        self.known(resource).map(|r| r.account).unwrap_or_default()
    }

    /// Checks the next event of the history. An event that fails changes
    /// nothing: the next one is checked as if it had not been sent.
    pub fn event(&mut self, e: &Event) -> Result<(), HistoryError> {
        let count = self.count;
        self.count += 1;
        // Every check names the event as its place; the name is written
        // only for an error, since this runs for every event of every
        // history.
        self.check(e, String::new()).map_err(|mut error| {
            if error.place.is_empty() {
                error.place = format!("events[{count}] ({} at {})", e.kind(), e.at());
            }
            error
        })?;
        self.last = Some(e.at());
        Ok(())
    }

    fn check(&mut self, e: &Event, place: String) -> Result<(), HistoryError> {
        self.check_instant(e.at(), &place)?;
        match e {
            Event::Charge {
                resource,
                amount,
                hours,
                ..
            } => self.charge(resource, *amount, *hours, &place),
            Event::TopUp {
                account, amount, ..
            }
            | Event::GrantVoucher {
                account, amount, ..
            } => self.money_in(account, *amount, &place),
            Event::PayNow { account, .. } => self.known_account(account, &place).map(|_| ()),
            Event::Purchase {
                account,
                resource,
                price,
                ..
            } => self.purchase(account, resource, *price, e.at(), &place),
            Event::Renew {
                resource,
                price,
                term,
                ..
            } => self.renew(resource, *price, *term, &place),
            Event::Upgrade {
                resource, price, ..
            } => self.upgrade(resource, *price, &place),
            Event::SetAutoRelease {
                resource,
                release_at,
                ..
            } => self.set_auto_release(resource, *release_at, e.at(), &place),
            Event::Operate {
                resource,
                operation,
                ..
            } => self.operate(resource, operation, &place),
        }
    }

    /// An event's instant: not before the start, not before the previous
    /// event, not after the year 3000.
    fn check_instant(&self, at: Offset, place: &str) -> Result<(), HistoryError> {
        if at < Offset::default() {
            return Err(err(place, "events cannot happen before the start"));
        }
        if self.last.is_some_and(|l| at < l) {
            return Err(err(place, "events must be in time order"));
        }
        if after(self.start, at, MAX_HISTORY_END) {
            return Err(err(place, "events cannot happen after the year 3000"));
        }
        Ok(())
    }

    /// What validation learned about a resource that must already exist.
    fn known_resource(&self, id: &str, place: &str) -> Result<ResolvedResource, HistoryError> {
        self.resolved_of(id)
            .ok_or_else(|| unknown_resource(place.to_string(), id))
    }

    /// A charge: to a resource billed by usage, of an amount or of hours at
    /// the resource's hourly price.
    fn charge(
        &mut self,
        resource: &str,
        amount: Option<i64>,
        hours: Option<i64>,
        place: &str,
    ) -> Result<(), HistoryError> {
        let catalog = self.catalog;
        // Everything the charge needs of the resource, looked up once.
        let (res, account, hourly_price) = self
            .known(resource)
            .map(|r| (r.resolved, r.account, r.hourly_price))
            .ok_or_else(|| unknown_resource(place.to_string(), resource))?;
        let lc = catalog.lifecycle(res.lifecycle);
        let billed = matches!(
            lc.billing,
            BillingMethod::PayAsYouGo | BillingMethod::Hybrid
        ) || (catalog.document(res.doc).billing.is_none()
            && lc.billing != BillingMethod::NotBilled);
        if !billed {
            return Err(err(
                place,
                format!(
                    "resource `{resource}` is not billed by usage ({}); charge its pay-as-you-go attachments",
                    kebab_billing(lc.billing)
                ),
            ));
        }
        let charged = charged_amount(resource, amount, hours, hourly_price, place)?;
        let totals = self.totals_after(account, &[], charged, place)?;
        self.commit(totals);
        Ok(())
    }

    /// A top-up or a voucher: money in to a known account.
    fn money_in(&mut self, account: &str, amount: i64, place: &str) -> Result<(), HistoryError> {
        let account = self.known_account(account, place)?;
        check_amount(amount, place, "amount")?;
        let totals = self.totals_after(account, &[amount], 0, place)?;
        self.commit(totals);
        Ok(())
    }

    /// A purchase: a new resource of the purchasing account, paid for now.
    fn purchase(
        &mut self,
        account: &str,
        resource: &ResourceDef,
        price: i64,
        at: Offset,
        place: &str,
    ) -> Result<(), HistoryError> {
        let index = self.known_account(account, place)?;
        check_amount(price, place, "price")?;
        if !resource.account.is_empty() && resource.account != *account {
            return Err(err(
                place,
                "the resource's account must be the purchasing account (or left out)",
            ));
        }
        if resource.purchased_at.is_some() || resource.paid_cash != 0 || resource.paid_voucher != 0
        {
            return Err(err(
                place,
                "purchased_at, paid_cash and paid_voucher are set by the purchase itself",
            ));
        }
        let res = resolve_resource(
            self.catalog,
            resource,
            |id| self.resolved_of(id),
            place,
            true,
        )?;
        let expiry = self.expiry_of(resource, at, place)?;
        let totals = self.totals_after_payment(index, price, place)?;
        self.add_resource(resource, index, res, expiry);
        self.commit(totals);
        Ok(())
    }

    /// A renewal: of a subscription the product can renew, moving its
    /// expiry by the term (never past the year 9999), paid for now.
    fn renew(
        &mut self,
        resource: &str,
        price: i64,
        term: Term,
        place: &str,
    ) -> Result<(), HistoryError> {
        let catalog = self.catalog;
        let res = self.known_resource(resource, place)?;
        check_amount(price, place, "price")?;
        if !term.is_positive() {
            return Err(err(place, "a renewal term must be positive"));
        }
        let lc = catalog.lifecycle(res.lifecycle);
        if !matches!(
            lc.billing,
            BillingMethod::Subscription | BillingMethod::Hybrid
        ) {
            return Err(err(
                place,
                format!("resource `{resource}` has no subscription to renew"),
            ));
        }
        require_op(catalog, res.doc, "renew", place)?;
        let expiry = self.known(resource).and_then(|r| r.expiry);
        let renewed = expiry.map(|e| {
            self.start
                .checked_add_signed(e.0)
                .and_then(|e| term.end(e))
                .map(|r| Offset(r - self.start))
        });
        if renewed.is_some_and(|r| r.is_none_or(|r| after(self.start, r, MAX_EXPIRY))) {
            return Err(err(
                place,
                format!("the renewals would move the expiry of `{resource}` past the year 9999"),
            ));
        }
        let totals = self.totals_after_payment(self.account_of(resource), price, place)?;
        if let Some(Some(renewed)) = renewed
            && let Some(&i) = self.resource_index.get(resource)
        {
            self.resources[i].expiry = Some(renewed);
        }
        self.commit(totals);
        Ok(())
    }

    /// An upgrade: of a resource whose product can upgrade, paid for now.
    fn upgrade(&mut self, resource: &str, price: i64, place: &str) -> Result<(), HistoryError> {
        let res = self.known_resource(resource, place)?;
        check_amount(price, place, "price")?;
        require_op(self.catalog, res.doc, "upgrade", place)?;
        let totals = self.totals_after_payment(self.account_of(resource), price, place)?;
        self.commit(totals);
        Ok(())
    }

    /// An automatic release set: on a product that has it, not in the past.
    fn set_auto_release(
        &self,
        resource: &str,
        release_at: Offset,
        at: Offset,
        place: &str,
    ) -> Result<(), HistoryError> {
        let res = self.known_resource(resource, place)?;
        require_op(self.catalog, res.doc, "set-auto-release", place)?;
        if release_at < at {
            return Err(err(place, "the release time must not be in the past"));
        }
        Ok(())
    }

    /// Any other operation: one the product has, and not one with an event
    /// of its own.
    fn operate(&self, resource: &str, operation: &str, place: &str) -> Result<(), HistoryError> {
        let res = self.known_resource(resource, place)?;
        require_op(self.catalog, res.doc, operation, place)?;
        if ["purchase", "renew", "upgrade", "set-auto-release"].contains(&operation) {
            return Err(err(
                place,
                format!(
                    "use the `{}` event, which carries what `{operation}` needs",
                    operation.replace('-', "_")
                ),
            ));
        }
        Ok(())
    }

    fn known_account(&self, id: &str, place: &str) -> Result<usize, HistoryError> {
        self.accounts
            .get(id)
            .copied()
            .ok_or_else(|| err(place, format!("unknown account `{id}`")))
    }
}

/// The amount a charge bills: its `amount`, or its `hours` times the
/// resource's hourly price (exactly one of the two, within [`MAX_AMOUNT`]).
fn charged_amount(
    resource: &str,
    amount: Option<i64>,
    hours: Option<i64>,
    hourly_price: Option<i64>,
    place: &str,
) -> Result<i64, HistoryError> {
    match (amount, hours) {
        (Some(a), None) => {
            check_amount(a, place, "amount")?;
            Ok(a)
        }
        (None, Some(h)) => {
            check_amount(h, place, "hours")?;
            let price = hourly_price.ok_or_else(|| {
                err(
                    place,
                    format!("`hours` needs an hourly_price on resource `{resource}`"),
                )
            })?;
            match price.checked_mul(h) {
                Some(v) if v <= MAX_AMOUNT => Ok(v),
                _ => Err(err(
                    place,
                    format!("hours times the hourly price is more than {MAX_AMOUNT} minor units"),
                )),
            }
        }
        _ => Err(err(place, "give exactly one of `amount` and `hours`")),
    }
}

#[cfg(test)]
mod tests {
    use crate::history::History;

    #[test]
    fn renewals_cannot_move_an_expiry_past_the_year_9999() {
        // Each renewal term is bounded; their sum is bounded here, so the
        // model never adds past the end of chrono's calendar (a panic).
        let catalog = crate::spec::compile(&crate::spec::sources::embedded()).unwrap();
        let mut text = String::from(
            "start: 2026-01-01T00:00:00Z\naccounts: [{id: a-1, cash: 0}]\n\
             resources: [{id: s-1, account: a-1, product: ecs, kind: instance, \
             billing: subscription, term: 30d}]\nevents:\n",
        );
        for _ in 0..3 {
            text.push_str("  - {renew: {at: +1d, resource: s-1, term: 1000000d, price: 0}}\n");
        }
        let history = History::from_text(&text).unwrap();
        let e = history.validate(&catalog).unwrap_err();
        assert_eq!(e.place, "events[2] (renew at +1d)");
        assert_eq!(
            e.message,
            "the renewals would move the expiry of `s-1` past the year 9999"
        );
    }
}
