//! State changes: a transition with its effects and the resources attached
//! to it, what a change in the ledger signals to each resource, and which
//! resources and accounts became overdue or were settled.

use arrears::observation::TraceEvent;

use super::Engine;
use crate::products;
use crate::vocab::{Effect, Lc, Signal, St, Tr, tr};

impl Engine {
    pub(super) fn transition(&mut self, r: usize, t: Tr) {
        let from = self.resources[r].state;
        {
            let res = &mut self.resources[r];
            res.state = t.to;
            res.since = self.now;
            res.entered_rule = t.rule;
        }
        let res = &self.resources[r];
        self.log.push(TraceEvent::Transition {
            at: self.now,
            resource: res.id.as_str().into(),
            lifecycle: res.lc.id().into(),
            from: from.id().into(),
            to: t.to.id().into(),
            transition: t.id.into(),
            rule: t.rule.into(),
        });
        let account = res.account;
        self.resource_changed(r);
        match t.effect {
            Effect::None => {}
            Effect::Notify(id, rule) => self.notify(account, Some(r), (id, rule)),
            Effect::Refund(formula) => self.refund(r, formula),
        }
        // Whatever is attached to the resource follows it, at once.
        let children: Vec<usize> = (0..self.resources.len())
            .filter(|&c| self.resources[c].parent == Some(r))
            .collect();
        for c in children {
            let child = &self.resources[c];
            if let Some(t2) =
                products::on_parent(child.lc, child.state, t.to, &self.faults, &self.readings)
            {
                self.transition(c, t2);
            }
        }
    }

    pub(super) fn signal(&mut self, r: usize, signal: Signal) {
        let res = &self.resources[r];
        if self.readings.ecs_restart_by_hand
            && res.lc == Lc::EcsPaygInstance
            && res.state == St::Stopped
            && signal == Signal::Settled
        {
            // Read the `by-hand` way, the paid instance stays stopped (no
            // longer to be released) until its owner starts it.
            self.transition(
                r,
                tr(
                    St::StoppedSettled,
                    "waits-for-start-after-settlement",
                    "ecs.settle.manual-start",
                ),
            );
            return;
        }
        let storage = matches!(res.lc, Lc::FlinkSubStorage | Lc::FlinkHybridStorage);
        if storage
            && res.state == St::Blocked
            && signal == Signal::AccountSettled
            && self.readings.storage_writable_on_settlement
        {
            // Read `on-settlement`, state writes resume with the added
            // funds, whatever became of the workspace meanwhile.
            let rule = if res.lc == Lc::FlinkSubStorage {
                "flink.sub.state-writes-resume"
            } else {
                "flink.hybrid.state-writes-resume"
            };
            self.transition(r, tr(St::Available, "writable-on-settlement", rule));
            return;
        }
        let attached = matches!(
            (res.lc, res.state),
            (Lc::EcsSubPaygDisk, St::InService) | (Lc::EcsSubBandwidth, St::Available)
        );
        if attached && signal == Signal::AccountOverdue && self.readings.attached_unavailable_at_t15
        {
            // Read the `t15` way, they stay usable until 15 days into the
            // account's overdue episode (a timer, below).
            return;
        }
        if let Some(t) = products::on_signal(
            res.lc,
            res.state,
            res.entered_rule,
            signal,
            &self.faults,
            &self.readings,
        ) {
            self.transition(r, t);
        }
    }

    /// After money moved: notes which resources, and whether the account,
    /// became overdue or were settled, and makes the state changes that
    /// follow. A resource's own bills come first, then the account as a
    /// whole, each in the order of the account's resources.
    pub(super) fn sync_overdue(&mut self, account: usize) {
        let mut became_overdue = Vec::new();
        let mut settled = Vec::new();
        for r in self.resources_of(account) {
            let overdue = self.bills.iter().any(|b| b.resource == r && b.is_overdue());
            let res = &mut self.resources[r];
            if overdue && res.overdue_since.is_none() {
                res.overdue_since = Some(self.now);
                became_overdue.push(r);
            } else if !overdue && res.overdue_since.is_some() {
                res.overdue_since = None;
                settled.push(r);
            }
        }
        let overdue = self.account_overdue(account);
        let was = self.accounts[account].overdue_since.is_some();
        self.accounts[account].overdue_since = match (was, overdue) {
            (false, true) => Some(self.now),
            (true, false) => None,
            _ => self.accounts[account].overdue_since,
        };
        for r in became_overdue {
            self.signal(r, Signal::Overdue);
        }
        if !was && overdue {
            for r in self.resources_of(account) {
                self.signal(r, Signal::AccountOverdue);
            }
        }
        for r in settled {
            self.signal(r, Signal::Settled);
        }
        if was && !overdue {
            for r in self.resources_of(account) {
                self.signal(r, Signal::AccountSettled);
            }
        }
    }
}
