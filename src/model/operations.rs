//! Operations an owner asks for: the verdict the specs give (allowed, or
//! refused with the rule), and what an allowed paid operation does
//! (renewal, purchase) to the ledger and the resource.

use super::*;

impl<'c> Model<'c> {
    /// Whether `op` on `r` would be allowed now, and which transition it
    /// would trigger (payment aside).
    pub(super) fn decide(&self, r: usize, op: OpId) -> Decision<'c> {
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        let state = lc.state(res.state);
        let deny = |rule: Option<RuleId>, reason: Refusal<'c>| Decision {
            allowed: false,
            rule,
            reason: Some(reason),
            error_code: None,
            transition: None,
        };
        if state.terminal {
            return deny(res.entered_rule, Refusal::Ended(&state.id));
        }
        let doc = self.catalog.document(res.doc);
        let fee = doc.operations.get(&op).is_some_and(|o| o.fee_incurring);
        if fee
            && self.accounts[res.account].overdue_since.is_some()
            && self.catalog.refuses_fee_operations_while_overdue(res.doc)
        {
            // Where the document is silent and a reading refuses, no rule
            // of the document is behind the verdict.
            return deny(doc.deny_fee_operations_while_overdue, Refusal::Overdue);
        }
        // An allowing capability is the rule behind the verdict unless a
        // transition the operation triggers decides it.
        let mut allowed_by = None;
        if let Some(cap) = state.operations.iter().find(|c| c.op == op) {
            if !cap.allowed {
                return Decision {
                    error_code: cap.error_code.as_deref(),
                    ..deny(Some(cap.rule), Refusal::NotAllowedWhile(&state.id))
                };
            }
            allowed_by = Some(cap.rule);
        }
        let triggers =
            &self.catalog.lookups().operation_triggers[res.lifecycle.index()][res.state.index()];
        let mut triggered = triggers[triggers.partition_point(|(o, _)| *o < op)..]
            .iter()
            .take_while(|(o, _)| *o == op)
            .map(|(_, i)| (*i, &lc.transitions[*i]))
            .peekable();
        let first = triggered.peek().map(|(_, t)| t.rule);
        match triggered.find(|(_, t)| self.guards_hold(r, &t.guards)) {
            Some((i, t)) => Decision {
                allowed: true,
                rule: Some(t.rule),
                reason: None,
                error_code: None,
                transition: Some(i),
            },
            None if first.is_some() => deny(first, Refusal::ConditionsDoNotHold(&state.id)),
            // Allowed by the state's capability if it names the operation;
            // otherwise no rule decides, and `rule` stays empty so that
            // checks know the verdict is the implementation's own choice.
            None => Decision {
                allowed: true,
                rule: allowed_by,
                reason: None,
                error_code: None,
                transition: None,
            },
        }
    }

    pub(super) fn log_operation(&mut self, r: usize, op: OpId, d: &Decision<'c>) {
        let res = &self.resources[r];
        self.log.push(TraceEvent::Operation {
            at: self.now,
            account: self.accounts[res.account].id.clone(),
            resource: res.id.clone(),
            operation: self.catalog.lookups().operations[op.index()].clone().into(),
            allowed: d.allowed,
            rule: d.rule.map(|rule| self.rule_name(rule)),
            reason: d.reason.map(|r| r.to_string()),
            error_code: d.error_code.map(str::to_string),
        });
    }

    /// An operation that costs `price`: allowed only if permitted and paid.
    /// `before_transition` runs once it is paid, before its transition fires.
    pub(super) fn paid_operation(
        &mut self,
        r: usize,
        op: OpId,
        price: i64,
        before_transition: impl FnOnce(&mut Self) -> bool,
    ) -> Result<(), ModelError> {
        let mut decision = self.decide(r, op);
        let account = self.resources[r].account;
        if decision.allowed && self.available(account) < i128::from(price) {
            decision = Decision {
                allowed: false,
                rule: self.catalog.ledger.rules.first().copied(),
                reason: Some(Refusal::InsufficientCredit),
                error_code: None,
                transition: None,
            };
        }
        self.log_operation(r, op, &decision);
        if !decision.allowed {
            return Ok(());
        }
        let payment = Movement::Payment { resource: r, price };
        let (cash, vouchers) = self.take(account, price, payment)?;
        let res = &self.resources[r];
        match (
            res.paid_cash.checked_add(cash),
            res.paid_voucher.checked_add(vouchers),
        ) {
            (Some(paid_cash), Some(paid_voucher)) => {
                let res = &mut self.resources[r];
                res.paid_cash = paid_cash;
                res.paid_voucher = paid_voucher;
            }
            _ => return Err(self.money_error(account, payment)),
        }
        self.log.push(TraceEvent::Payment {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: self.resources[r].id.clone(),
            operation: self.catalog.lookups().operations[op.index()].clone().into(),
            cash,
            vouchers,
        });
        let may_fire = before_transition(self);
        self.after_ledger_change(account);
        if let Some(t) = decision.transition.filter(|_| may_fire) {
            self.fire(r, t)?;
        }
        Ok(())
    }

    pub(super) fn renew(
        &mut self,
        r: usize,
        term: crate::history::Term,
        price: i64,
        where_: &str,
    ) -> Result<(), ModelError> {
        let op = self.op_of(r, "renew", where_)?;
        // The renewal extends the expiry before its transition (if any)
        // fires, so that the renewed resource's timers see the new expiry;
        // a term in months is as long as the months it covers from the old
        // expiry.
        self.paid_operation(r, op, price, |model| {
            let now = model.now;
            let res = &mut model.resources[r];
            if let Some(old) = res.expires_at {
                let renewed = term.end(old).unwrap_or(old);
                res.term += renewed - old;
                res.expires_at = Some(renewed);
            }
            model.dirty.push(r);
            // A renewal too short to reach the present leaves the resource
            // expired (ecs.interp.renewal-term): its transition back to
            // service does not fire, rather than firing and expiring again
            // at the same instant.
            model.resources[r].expires_at.is_none_or(|e| e > now)
        })
    }

    pub(super) fn purchase(
        &mut self,
        account: usize,
        def: &ResourceDef,
        price: i64,
        where_: &str,
    ) -> Result<(), ModelError> {
        let doc = self
            .catalog
            .document_named(&def.product)
            .ok_or_else(|| HistoryError {
                place: where_.to_string(),
                message: format!("unknown product `{}`", def.product),
            })?;
        let d = self.catalog.document(doc);
        let op = self
            .catalog
            .op_named("purchase")
            .filter(|op| d.operations.contains_key(op));
        let fee = op
            .and_then(|op| d.operations.get(&op))
            .is_some_and(|o| o.fee_incurring);
        let denied = fee
            && self.accounts[account].overdue_since.is_some()
            && self.catalog.refuses_fee_operations_while_overdue(doc);
        let (allowed, rule, reason) = if denied {
            (
                false,
                d.deny_fee_operations_while_overdue,
                Some("the account is overdue".to_string()),
            )
        } else if self.available(account) < i128::from(price) {
            (
                false,
                self.catalog.ledger.rules.first().copied(),
                Some("insufficient available credit".to_string()),
            )
        } else {
            (true, None, None)
        };
        self.log.push(TraceEvent::Operation {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: def.id.as_str().into(),
            operation: "purchase".into(),
            allowed,
            rule: rule.map(|r| self.rule_name(r)),
            reason,
            error_code: None,
        });
        if !allowed {
            self.refused.insert(def.id.clone(), (account, rule));
            return Ok(());
        }
        let (cash, vouchers) = self.take(account, price, Movement::Purchase { price })?;
        let r = self.create(account, def, self.now, cash, vouchers, where_)?;
        self.log.push(TraceEvent::Payment {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: def.id.as_str().into(),
            operation: "purchase".into(),
            cash,
            vouchers,
        });
        self.after_ledger_change(account);
        self.dirty.push(r);
        Ok(())
    }

    /// An event about a resource that does not exist because its purchase
    /// was refused: a charge is not billed, an operation is refused, both
    /// citing the rule that refused the purchase.
    pub(super) fn refuse_for_missing_resource(
        &mut self,
        event: &Event,
        id: &str,
        account: usize,
        rule: Option<RuleId>,
    ) {
        let account = self.accounts[account].id.clone();
        let rule_id = rule.map(|r| self.rule_name(r));
        let reason = Some("the resource does not exist: its purchase was refused".to_string());
        let entry = match event {
            Event::Charge { amount, hours, .. } => TraceEvent::ChargeSkipped {
                at: self.now,
                account,
                resource: id.into(),
                amount: amount.or(*hours).unwrap_or(0),
                rule: rule_id.unwrap_or_default(),
            },
            _ => TraceEvent::Operation {
                at: self.now,
                account,
                resource: id.into(),
                operation: match event {
                    Event::Operate { operation, .. } => operation.as_str().into(),
                    Event::Renew { .. } => "renew".into(),
                    Event::Upgrade { .. } => "upgrade".into(),
                    Event::SetAutoRelease { .. } => "set-auto-release".into(),
                    other => other.kind().into(),
                },
                allowed: false,
                rule: rule_id,
                reason,
                error_code: None,
            },
        };
        self.log.push(entry);
    }

    // ----- observation ---------------------------------------------------------------
}
