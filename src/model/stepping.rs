//! Lifecycle stepping: guards and anchors read from a resource's state,
//! transitions fired, stimuli delivered, and the notifications a
//! transition or a stimulus sends.

use super::*;

impl<'c> Model<'c> {
    pub(super) fn is_terminal(&self, r: usize) -> bool {
        let res = &self.resources[r];
        self.catalog
            .lifecycle(res.lifecycle)
            .state(res.state)
            .terminal
    }

    /// The instant an anchor names for a resource, if it is defined now.
    pub(super) fn anchor(&self, r: usize, anchor: Anchor) -> Option<DateTime<Utc>> {
        let res = &self.resources[r];
        match anchor {
            Anchor::OverdueSince => res.overdue_since,
            // Most of the time nothing is overdue: no bill to look at.
            Anchor::OldestOverdueBill if res.overdue_bills == 0 => None,
            Anchor::OldestOverdueBill => res
                .unpaid
                .iter()
                .map(|b| &self.bills[*b])
                .filter(|b| matches!(b.status, BillStatus::Overdue | BillStatus::Overdrawn))
                .map(|b| b.settlement)
                .min(),
            Anchor::AccountOverdueSince => self.accounts[res.account].overdue_since,
            Anchor::Entered => Some(res.entered),
            Anchor::ParentEntered => res.parent.map(|p| self.resources[p].entered),
            Anchor::Expiry => res.expires_at,
            Anchor::Purchase => Some(res.purchased_at),
            Anchor::AutoRelease => res.auto_release_at,
        }
    }

    pub(super) fn guards_hold(&self, r: usize, guards: &[Guard]) -> bool {
        let res = &self.resources[r];
        guards.iter().all(|g| match g {
            Guard::AccountOverdue(b) => self.accounts[res.account].overdue_since.is_some() == *b,
            Guard::Overdue(b) => res.overdue_since.is_some() == *b,
            Guard::Expired(b) => res.expires_at.is_some_and(|e| self.now >= e) == *b,
            Guard::Within { duration, since } => self
                .anchor(r, *since)
                .is_some_and(|a| self.now < a + self.catalog.duration(duration)),
            Guard::ParentState(states) => res
                .parent
                .is_some_and(|p| states.contains(&self.resources[p].state)),
            Guard::ParentEnteredUnder(rules) => res.parent.is_some_and(|p| {
                self.resources[p]
                    .entered_rule
                    .is_some_and(|r| rules.contains(&r))
            }),
            Guard::Param { param, equals } => self.catalog.value(*param) == equals,
        })
    }

    pub(super) fn static_guards_hold(&self, guards: &[Guard]) -> bool {
        guards.iter().all(|g| match g {
            Guard::Param { param, equals } => self.catalog.value(*param) == equals,
            _ => true,
        })
    }

    /// Moves resource `r` along transition `t` of its lifecycle.
    pub(super) fn fire(&mut self, r: usize, t: usize) -> Result<(), ModelError> {
        self.steps_this_instant += 1;
        self.spend()?;
        let lifecycle = self.resources[r].lifecycle.index();
        let fired = &mut self.fired[lifecycle];
        if fired.is_empty() {
            fired.resize(self.catalog.lifecycles[lifecycle].transitions.len(), 0);
        }
        fired[t] += 1;
        let catalog = self.catalog;
        let res = &self.resources[r];
        let lc = catalog.lifecycle(res.lifecycle);
        let transition = &lc.transitions[t];
        let names = catalog.lookups();
        self.log.push(TraceEvent::Transition {
            at: self.now,
            resource: res.id.clone(),
            lifecycle: names.lifecycles[lifecycle].0.clone().into(),
            from: names.lifecycles[lifecycle].1[res.state.index()]
                .clone()
                .into(),
            to: names.lifecycles[lifecycle].1[transition.to.index()]
                .clone()
                .into(),
            transition: names.transitions[lifecycle][t].clone().into(),
            rule: names.rules[transition.rule.index()].clone().into(),
        });
        let res = &mut self.resources[r];
        res.state = transition.to;
        res.entered = self.now;
        res.entered_rule = Some(transition.rule);
        for effect in &transition.effects {
            match effect {
                Effect::Notify(n) => self.notify(*n, self.resources[r].account, Some(r)),
                Effect::Refund(f) => self.refund(r, *f)?,
            }
        }
        for child in self.resources[r].children.clone() {
            self.stimuli
                .push_back((child, Stimulus::ParentEntered(transition.to)));
            self.dirty.push(child);
        }
        self.dirty.push(r);
        Ok(())
    }

    /// Delivers a stimulus: the first transition from the current state that
    /// it triggers and whose guards hold fires (declaration order decides).
    pub(super) fn deliver(&mut self, r: usize, stimulus: Stimulus) -> Result<(), ModelError> {
        if self.is_terminal(r) {
            return Ok(());
        }
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        let candidates =
            &self.catalog.lookups().stimulated_from[res.lifecycle.index()][res.state.index()];
        let found = candidates.iter().copied().find(|i| {
            let t = &lc.transitions[*i];
            let triggered = match (&t.trigger, stimulus) {
                (Trigger::Signal(s), Stimulus::Signal(got)) => *s == got,
                (Trigger::ParentEntered(states), Stimulus::ParentEntered(got)) => {
                    states.contains(&got)
                }
                _ => false,
            };
            triggered && self.guards_hold(r, &t.guards)
        });
        if let Some(t) = found {
            self.fire(r, t)?;
        }
        Ok(())
    }

    pub(super) fn notify(&mut self, n: NotificationId, account: usize, resource: Option<usize>) {
        let def = &self.catalog.notifications[n.index()];
        self.log.push(TraceEvent::Notification {
            at: self.now,
            account: self.accounts[account].id.clone(),
            resource: resource.map(|r| self.resources[r].id.clone()),
            notification: self.catalog.lookups().notifications[n.index()]
                .clone()
                .into(),
            rule: self.rule_name(def.rule),
        });
    }

    /// Sends the notifications of `doc` with this trigger.
    pub(super) fn notify_on(
        &mut self,
        doc: DocId,
        trigger: NotificationTrigger,
        account: usize,
        resource: Option<usize>,
    ) {
        let ids: Vec<NotificationId> = self
            .catalog
            .notifications
            .iter()
            .enumerate()
            .filter(|(_, n)| n.doc == doc && n.trigger == trigger)
            .map(|(i, _)| NotificationId(i as u32))
            .collect();
        for n in ids {
            let per_account = self.catalog.notifications[n.index()]
                .per
                .is_some_and(|p| matches!(self.catalog.value(p), crate::spec::ParamValue::Choice(c) if c == "account"));
            if !per_account {
                self.notify(n, account, resource);
                continue;
            }
            // Read per account: one notice, to the account, when the first
            // bill of this product falls overdue in the account's episode
            // (the bill just marked is the only one).
            let overdue_of_product = self.accounts[account]
                .unpaid
                .iter()
                .filter(|b| {
                    let b = &self.bills[**b];
                    b.doc == doc && matches!(b.status, BillStatus::Overdue | BillStatus::Overdrawn)
                })
                .count();
            if overdue_of_product == 1 {
                self.notify(n, account, None);
            }
        }
    }
}
