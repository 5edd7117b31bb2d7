//! Observations: everything observable at an instant built from the
//! model's state, in the vocabulary an implementation under test reports in
//! (`crate::observation`).

use super::*;

impl<'c> Model<'c> {
    /// The fee-incurring operations an account's observation lists, with
    /// their verdicts while it is overdue or not (which is all they depend
    /// on): made once per run, then shared by every observation.
    pub(super) fn fee_operations(&self, overdue: bool) -> Arc<[FeeOperation]> {
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
    pub(super) fn operation_map(&self, r: usize) -> OperationMap {
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
    pub(super) fn rule_name(&self, rule: RuleId) -> Name {
        self.catalog.lookups().rules[rule.index()].clone().into()
    }

    /// Whether a charge to `r` is billed now; the rule that stops it if not.
    pub(super) fn billing_stopped_by(&self, r: usize) -> Option<Option<RuleId>> {
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
