//! A history's events applied to the model: accounts and resources
//! created, payments, usage, operations asked for, each found by its id.

use super::*;

impl<'c> Model<'c> {
    pub(super) fn apply_event(&mut self, event: &Event) -> Result<(), ModelError> {
        self.advance_to_event(event)?;
        // Filled in by `apply` if an error names it.
        let where_ = String::new();
        refuse_negative_amounts(event, &where_)?;
        // Most runs refuse no resource: no id is hashed then.
        if !self.refused.is_empty()
            && let Some(id) = event
                .resource()
                .filter(|_| !matches!(event, Event::Purchase { .. }))
            && let Some((account, rule)) = self.refused.get(id).copied()
        {
            self.refuse_for_missing_resource(event, id, account, rule);
            return self.settle_instant();
        }
        self.dispatch_event(event, &where_)?;
        self.settle_instant()
    }

    /// Runs what falls due before the event (or at its instant, as the
    /// reading in force orders them) and moves the clock to it.
    fn advance_to_event(&mut self, event: &Event) -> Result<(), ModelError> {
        let at = event.at().at(self.start);
        if at < self.now {
            return Err(HistoryError {
                place: format!("{} at {}", event.kind(), event.at()),
                message: "events must come in time order".to_string(),
            }
            .into());
        }
        // Each event brings its share of the budget.
        self.budget = self.budget.saturating_add(WORK_PER_ITEM);
        // Which comes first at one instant is an interpretation of the specs.
        let inclusive = !self.events_first();
        self.run_agenda(at, inclusive)?;
        if at > self.now {
            self.now = at;
            self.steps_this_instant = 0;
        }
        Ok(())
    }

    /// The event's own effect on the account or resource it names (one
    /// short arm per event kind, so it stays one table).
    fn dispatch_event(&mut self, event: &Event, where_: &str) -> Result<(), ModelError> {
        match event {
            Event::Charge {
                resource,
                amount,
                hours,
                ..
            } => {
                let r = self.resource_named(resource, where_)?;
                let amount = self.charge_amount(r, resource, *amount, *hours, where_)?;
                self.charge(r, amount);
            }
            Event::TopUp {
                account, amount, ..
            } => {
                let a = self.account_named(account, where_)?;
                self.top_up(a, *amount)?;
            }
            Event::GrantVoucher {
                account, amount, ..
            } => {
                let a = self.account_named(account, where_)?;
                self.grant_voucher(a, *amount)?;
            }
            Event::PayNow { account, .. } => {
                let a = self.account_named(account, where_)?;
                self.pay_now(a)?;
            }
            Event::Purchase {
                account,
                resource,
                price,
                ..
            } => {
                let a = self.account_named(account, where_)?;
                self.purchase(a, resource, *price, where_)?;
            }
            Event::Renew {
                resource,
                term,
                price,
                ..
            } => {
                let r = self.resource_named(resource, where_)?;
                self.renew(r, *term, *price, where_)?;
            }
            Event::Upgrade {
                resource, price, ..
            } => {
                let r = self.resource_named(resource, where_)?;
                let op = self.op_of(r, "upgrade", where_)?;
                self.paid_operation(r, op, *price, |_| true)?;
            }
            Event::SetAutoRelease {
                resource,
                release_at,
                ..
            } => {
                let r = self.resource_named(resource, where_)?;
                let op = self.op_of(r, "set-auto-release", where_)?;
                let decision = self.decide(r, op);
                self.log_operation(r, op, &decision);
                if decision.allowed {
                    self.resources[r].auto_release_at = Some(release_at.at(self.start));
                    self.dirty.push(r);
                }
            }
            Event::Operate {
                resource,
                operation,
                ..
            } => {
                let r = self.resource_named(resource, where_)?;
                let op = self.op_of(r, operation, where_)?;
                let decision = self.decide(r, op);
                self.log_operation(r, op, &decision);
                if let (true, Some(t)) = (decision.allowed, decision.transition) {
                    self.fire(r, t)?;
                }
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
        where_: &str,
    ) -> Result<i64, HistoryError> {
        match (amount, hours) {
            (Some(a), _) => Ok(a),
            (None, Some(h)) => {
                let price = self.resources[r].hourly_price.ok_or_else(|| HistoryError {
                    place: where_.to_string(),
                    message: format!("`hours` needs an hourly_price on resource `{resource}`"),
                })?;
                price.checked_mul(h).ok_or_else(|| HistoryError {
                    place: where_.to_string(),
                    message: "hours times the hourly price does not fit in 64-bit \
                              minor units"
                        .to_string(),
                })
            }
            (None, None) => Err(HistoryError {
                place: where_.to_string(),
                message: "give `amount` or `hours`".into(),
            }),
        }
    }

    pub(super) fn resource_named(&self, id: &str, where_: &str) -> Result<usize, HistoryError> {
        self.resource_index
            .get(id)
            .copied()
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("unknown resource `{id}`"),
            })
    }

    pub(super) fn account_named(&self, id: &str, where_: &str) -> Result<usize, HistoryError> {
        self.account_index
            .get(id)
            .copied()
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("unknown account `{id}`"),
            })
    }

    pub(super) fn op_of(&self, r: usize, name: &str, where_: &str) -> Result<OpId, HistoryError> {
        let doc = self.catalog.document(self.resources[r].doc);
        self.catalog
            .op_named(name)
            .filter(|op| doc.operations.contains_key(op))
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("product `{}` has no operation `{name}`", doc.id),
            })
    }

    // ----- resources -------------------------------------------------------------

    pub(super) fn create(
        &mut self,
        account: usize,
        def: &ResourceDef,
        purchased_at: DateTime<Utc>,
        paid_cash: i64,
        paid_voucher: i64,
        where_: &str,
    ) -> Result<usize, ModelError> {
        if self.resource_index.contains_key(&def.id) {
            return Err(HistoryError {
                place: where_.to_string(),
                message: format!("resource `{}` already exists", def.id),
            }
            .into());
        }
        let (doc, parent, lifecycle) = self.placement(def, where_)?;
        let lc = self.catalog.lifecycle(lifecycle);
        // The validated history keeps every expiry inside the calendar.
        let expires_at = def.term.and_then(|t| t.end(purchased_at));
        let term = expires_at
            .map(|e| e - purchased_at)
            .unwrap_or_else(TimeDelta::zero);
        let index = self.resources.len();
        self.resources.push(Resource {
            id: Name::from(def.id.as_str()),
            account,
            doc,
            lifecycle,
            state: lc.initial,
            entered: self.now,
            entered_rule: None,
            parent,
            children: Vec::new(),
            purchased_at,
            term,
            expires_at,
            paid_cash,
            paid_voucher,
            hourly_price: def.hourly_price,
            auto_release_at: def.auto_release_at.map(|o| o.at(self.start)),
            overdue_since: None,
            overdue_bills: 0,
            unpaid: Vec::new(),
            bill_count: 0,
            timer_generation: 0,
            timer_due: None,
            reminder_generation: 0,
            reminded_for: None,
        });
        self.resource_index.insert(def.id.clone(), index);
        self.accounts[account].resources.push(index);
        if let Some(p) = parent {
            self.resources[p].children.push(index);
        }
        if self.accounts[account].overdue_since.is_some() {
            self.stimuli
                .push_back((index, Stimulus::Signal(Signal::AccountOverdue)));
        }
        self.dirty.push(index);
        Ok(index)
    }

    /// Where a new resource belongs: its product, its parent (if it has
    /// one) and the lifecycle of that product which covers it.
    fn placement(
        &self,
        def: &ResourceDef,
        where_: &str,
    ) -> Result<(DocId, Option<usize>, LifecycleId), ModelError> {
        let bad = |message: String| -> ModelError {
            HistoryError {
                place: where_.to_string(),
                message,
            }
            .into()
        };
        let doc = self
            .catalog
            .document_named(&def.product)
            .ok_or_else(|| bad(format!("unknown product `{}`", def.product)))?;
        let parent = match &def.parent {
            None => None,
            Some(p) => Some(
                *self
                    .resource_index
                    .get(p)
                    .ok_or_else(|| bad(format!("unknown parent `{p}`")))?,
            ),
        };
        let lifecycle = self
            .catalog
            .find_lifecycle(
                doc,
                &def.kind,
                def.billing,
                parent.map(|p| self.resources[p].lifecycle),
            )
            .ok_or_else(|| {
                bad(format!(
                    "no lifecycle of `{}` covers this {} {}",
                    def.product,
                    def.kind,
                    serde_json::to_value(def.billing)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                ))
            })?;
        Ok((doc, parent, lifecycle))
    }
}

/// Bills and prices are never negative (a valid history's amounts lie
/// between 0 and MAX_AMOUNT): the ledger splits them between cash and
/// vouchers, which only means something for what is owed.
fn refuse_negative_amounts(event: &Event, where_: &str) -> Result<(), HistoryError> {
    let owed = match event {
        Event::Charge { amount, hours, .. } => amount.or(*hours).map(|a| ("amount", a)),
        Event::Purchase { price, .. }
        | Event::Renew { price, .. }
        | Event::Upgrade { price, .. } => Some(("price", *price)),
        _ => None,
    };
    if let Some((field, value)) = owed.filter(|(_, v)| *v < 0) {
        let field = if matches!(event, Event::Charge { amount: None, .. }) {
            "hours"
        } else {
            field
        };
        return Err(HistoryError {
            place: where_.to_string(),
            message: format!("{field} must not be negative (it is {value})"),
        });
    }
    Ok(())
}
