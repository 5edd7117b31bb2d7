//! What the engine reports: the observation of every account and resource,
//! and the adapter-protocol entry points (hello, load, apply, advance,
//! observe).

use chrono::{DateTime, Utc};

use arrears::history::Event;
use arrears::observation::{
    AccountObservation, BillObservation, FeeOperation, Observation, ResourceObservation, TraceEvent,
};
use arrears::protocol::{
    Answer, Declaration, HistoryHeader, Implementation, ProductOffer, ProtocolError,
};

use super::Engine;
use crate::vocab::FEE_PRODUCTS;

impl Engine {
    pub(super) fn observation(&self) -> Observation {
        let accounts = (0..self.accounts.len())
            .map(|a| self.account_observation(a))
            .collect();
        let resources = (0..self.resources.len())
            .map(|r| std::sync::Arc::new(self.resource_observation(r)))
            .collect();
        Observation {
            at: self.now,
            accounts,
            resources,
        }
    }

    /// An account: its balances, its outstanding bills and which of its
    /// fee-incurring operations are allowed.
    fn account_observation(&self, a: usize) -> AccountObservation {
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
    }

    /// A resource: its lifecycle state, what the state provides and which
    /// operations are allowed.
    fn resource_observation(&self, r: usize) -> ResourceObservation {
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
