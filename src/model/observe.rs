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
        let accounts = self
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                AccountObservation {
                    account: a.id.clone(),
                    cash: a.cash,
                    vouchers: a.vouchers,
                    // The model keeps the sum inside an i64 (Model::credit).
                    available_credit: a.cash.saturating_add(a.vouchers),
                    overdue_since: a.overdue_since,
                    outstanding_bills: self.outstanding_bills(i),
                    fee_operations: self.fee_operations(a.overdue_since.is_some()),
                }
            })
            .collect();
        let resources = (0..self.resources.len())
            .map(|r| self.resource_observation(r))
            .collect();
        Observation {
            at: self.now,
            accounts,
            resources,
        }
    }

    /// Account `a`'s unpaid bills, oldest settlement first: the list
    /// handed out last time when no bill of the account has changed since
    /// (an issue, a deduction attempt, a reschedule or a payment changes
    /// one; most observations see none).
    fn outstanding_bills(&self, a: usize) -> Arc<[BillObservation]> {
        let changes = self.accounts[a].bill_changes;
        let mut listed = self.listed_bills.borrow_mut();
        if listed.len() <= a {
            listed.resize_with(a + 1, Default::default);
        }
        let (listed_at, last) = &mut listed[a];
        if *listed_at == Some(changes) {
            return last.clone();
        }
        let mut outstanding: Vec<&Bill> = self.accounts[a]
            .unpaid
            .iter()
            .map(|b| &self.bills[*b])
            .filter(|b| b.status != BillStatus::Paid)
            .collect();
        outstanding.sort_by_key(|b| (b.settlement, b.index));
        *listed_at = Some(changes);
        *last = outstanding
            .iter()
            .map(|b| BillObservation {
                bill: b.id.clone(),
                resource: self.resources[b.resource].id.clone(),
                amount: b.amount,
                settlement_date: b.settlement,
                status: b.status,
                attempts: b.attempts,
                next_attempt: b.next_attempt,
            })
            .collect();
        last.clone()
    }

    /// Resource `r`'s observation now: the one handed out last time when
    /// nothing it shows has changed, so that a resource at rest costs one
    /// shared pointer per observation, and the checks can tell an unchanged
    /// resource by its address.
    ///
    /// What an observation shows is decided by its [`ObservedFrom`] and by
    /// the verdicts on the product's operations. Those verdicts follow from
    /// the key alone in a state with no `varying_verdicts`; elsewhere
    /// (guards that read the clock or the ledger) those that may vary are
    /// worked out again and compared.
    fn resource_observation(&self, r: usize) -> Arc<ResourceObservation> {
        let res = &self.resources[r];
        let from = ObservedFrom {
            lifecycle: res.lifecycle,
            state: res.state,
            since: res.entered,
            overdue_since: res.overdue_since,
            oldest_overdue_bill: self.anchor(r, Anchor::OldestOverdueBill),
            purchased_at: res.purchased_at,
            expires_at: res.expires_at,
            account_overdue: self.accounts[res.account].overdue_since.is_some(),
        };
        let fixed = self.catalog.lookups().varying_verdicts[res.lifecycle.index()]
            [res.state.index()]
        .is_empty();
        let mut observed = self.observed.borrow_mut();
        if observed.len() <= r {
            observed.resize(r + 1, None);
        }
        let mut operations = None;
        if let Some((last_from, last)) = &observed[r]
            && *last_from == from
        {
            if fixed {
                return last.clone();
            }
            let now = self.operation_map(r);
            if now == last.operations {
                return last.clone();
            }
            operations = Some(now);
        }
        let operations = operations.unwrap_or_else(|| self.operation_map(r));
        let built = Arc::new(self.build_resource_observation(r, &from, operations));
        observed[r] = Some((from, built.clone()));
        built
    }

    /// Resource `r`'s observation, made anew.
    fn build_resource_observation(
        &self,
        r: usize,
        from: &ObservedFrom,
        operations: OperationMap,
    ) -> ResourceObservation {
        let res = &self.resources[r];
        let names = self.catalog.lookups();
        let state = self.catalog.lifecycle(res.lifecycle).state(res.state);
        let (lifecycle, states) = &names.lifecycles[res.lifecycle.index()];
        ResourceObservation {
            resource: res.id.clone(),
            account: self.accounts[res.account].id.clone(),
            product: names.documents[res.doc.index()].clone().into(),
            lifecycle: lifecycle.clone().into(),
            state: states[res.state.index()].clone().into(),
            since: from.since,
            serving: state.serving,
            data: state.data,
            billing: state.billing,
            billing_method: Some(state.billing_method),
            overdue_since: from.overdue_since,
            oldest_overdue_bill: from.oldest_overdue_bill,
            purchased_at: from.purchased_at,
            expires_at: from.expires_at,
            operations,
        }
    }

    /// The verdict on every operation of resource `r`'s product, as an
    /// observation lists them. The verdicts the resource's state and its
    /// account's standing decide are worked out once per run; only those
    /// a guard on something else may change (the state's
    /// `varying_verdicts`, none in most states) are worked out again.
    pub(super) fn operation_map(&self, r: usize) -> OperationMap {
        let res = &self.resources[r];
        let names = self.catalog.lookups();
        let (ops, op_names) = &names.by_document[res.doc.index()];
        let key = (
            res.lifecycle,
            res.state,
            self.accounts[res.account].overdue_since.is_some(),
        );
        let fixed = {
            let mut memo = self.fixed_verdicts.borrow_mut();
            match memo.iter().find(|(k, _)| *k == key) {
                Some((_, map)) => map.clone(),
                None => {
                    let map = OperationMap::from_shared(
                        op_names.clone(),
                        ops.iter().map(|op| self.decide(r, *op).allowed),
                    );
                    memo.push((key, map.clone()));
                    map
                }
            }
        };
        let varying = &names.varying_verdicts[res.lifecycle.index()][res.state.index()];
        if varying.is_empty() {
            return fixed;
        }
        OperationMap::from_shared(
            op_names.clone(),
            ops.iter().zip(fixed.iter()).map(|(op, (_, allowed))| {
                if varying.binary_search(op).is_ok() {
                    self.decide(r, *op).allowed
                } else {
                    allowed
                }
            }),
        )
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
