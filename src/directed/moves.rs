//! The moves of the search: what can be tried from a situation (charges,
//! top-ups, Pay Now, operations, renewals, waits), and one move applied to
//! a copy of the model.

use std::collections::BTreeSet;

use chrono::TimeDelta;

use crate::history::{Event, Offset, Term};
use crate::observation::AccountObservation;
use crate::spec::{Anchor, Trigger};

use super::world::{Node, World};

/// One move of the search.
#[derive(Debug, Clone)]
pub(super) enum Move {
    /// A charge to slot `s` the account cannot cover (or, for a product
    /// without bills, a consumption charge).
    Charge(usize),
    /// Cash enough to pay everything owed.
    TopUp,
    PayNow,
    /// A top-up and Pay Now at one instant: settles under every reading.
    TopUpAndPayNow,
    /// An operation on slot `s`.
    Operate(usize, String),
    /// A charge to slot `s` and then an operation on it, at one instant:
    /// the operation comes before the charge's own deduction, due at that
    /// instant, so the bill fails in the state the operation led to (the
    /// only way a bill can fail in a state where charges are not billed).
    ChargeThenOperate(usize, String),
    /// A renewal of slot `s` by its term.
    Renew(usize),
    /// An automatic release of slot `s`, set for one hour later.
    AutoRelease(usize),
    /// Time passes.
    Wait(TimeDelta),
}

impl<'c> World<'c> {
    /// The moves worth trying from a node.
    pub(super) fn moves(&self, node: &Node<'_>) -> Vec<Move> {
        let catalog = self.catalog;
        let observation = node.model.observe();
        let account = &observation.accounts[0];
        let owes = !account.outstanding_bills.is_empty() || account.cash < 0;
        let mut moves = Vec::new();
        for (s, l) in self.slots.iter().enumerate() {
            let lc = catalog.lifecycle(*l);
            let Some(obs) = observation.resource(&self.history.resources[s].id) else {
                continue;
            };
            let Some(state) = lc.state_named(&obs.state) else {
                continue;
            };
            if lc.state(state).terminal {
                continue;
            }
            if self.history.resources[s].hourly_price.is_some() {
                moves.push(Move::Charge(s));
            }
            let mut ops = BTreeSet::new();
            let mut auto_release = false;
            for t in lc.transitions.iter().filter(|t| t.from.contains(&state)) {
                match &t.trigger {
                    Trigger::Operation(op) => {
                        ops.insert(catalog.op_name(*op).to_string());
                    }
                    Trigger::After {
                        since: Anchor::AutoRelease,
                        ..
                    } => auto_release = true,
                    _ => {}
                }
            }
            // Operations a state decides (allowed or refused) are tried
            // too: invariants are about them.
            for c in &lc.state(state).operations {
                ops.insert(catalog.op_name(c.op).to_string());
            }
            let doc = catalog.document(lc.doc);
            let declares = |name: &str| {
                catalog
                    .op_named(name)
                    .is_some_and(|op| doc.operations.contains_key(&op))
            };
            if self.history.resources[s].term.is_some() && declares("renew") {
                ops.insert("renew".into());
            }
            let chargeable = self.history.resources[s].hourly_price.is_some();
            for op in ops {
                match op.as_str() {
                    "renew" => moves.push(Move::Renew(s)),
                    "purchase" | "upgrade" | "set-auto-release" => {}
                    _ => {
                        if chargeable {
                            moves.push(Move::ChargeThenOperate(s, op.clone()));
                        }
                        moves.push(Move::Operate(s, op));
                    }
                }
            }
            if auto_release && *obs.lifecycle == *lc.id {
                moves.push(Move::AutoRelease(s));
            }
            if let Some(e) = obs.expires_at.filter(|e| *e >= observation.at) {
                moves.push(Move::Wait(e - observation.at + TimeDelta::seconds(1)));
            }
        }
        if owes {
            moves.push(Move::TopUp);
            moves.push(Move::PayNow);
            moves.push(Move::TopUpAndPayNow);
        }
        moves.extend(self.waits.iter().map(|w| Move::Wait(*w)));
        moves.push(Move::Wait(TimeDelta::hours(1)));
        moves
    }

    /// Applies a move to a copy of `node`; `None` if the model refuses it.
    pub(super) fn step(&self, node: &Node<'c>, m: &Move) -> Option<Node<'c>> {
        let mut next = node.clone();
        next.moves += 1;
        if !matches!(m, Move::Wait(_)) {
            // Each move at an instant of its own: at one instant, events
            // come before what the system has due then (a reading the
            // specs choose), so a top-up right after a charge would pay
            // the bill before its deduction is even attempted.
            next.now += TimeDelta::seconds(1);
        }
        let at = Offset(next.now);
        let observation = node.model.observe();
        let events = match m {
            Move::Wait(d) => {
                next.now += *d;
                next.model.advance_to(self.history.start + next.now).ok()?;
                next.observe.push(Offset(next.now));
                Vec::new()
            }
            Move::AutoRelease(_) => {
                next.auto_release_set = true;
                self.events(m, at, &observation.accounts[0])
            }
            _ => self.events(m, at, &observation.accounts[0]),
        };
        for e in events {
            next.model.apply(&e).ok()?;
            next.events.push(e);
        }
        if !matches!(m, Move::Wait(_)) {
            // What is due at this instant (a deduction at T) runs now.
            next.model.advance_to(self.history.start + next.now).ok()?;
            next.observe.push(at);
        }
        Some(next)
    }

    /// The history events a move (other than a wait) adds at `at`, given
    /// the account as observed before it.
    fn events(&self, m: &Move, at: Offset, account: &AccountObservation) -> Vec<Event> {
        let owed: i64 = account
            .outstanding_bills
            .iter()
            .map(|b| b.amount)
            .sum::<i64>()
            .saturating_add((-account.cash).max(0))
            .saturating_add(1_000);
        let charge = |s: usize| Event::Charge {
            at,
            resource: self.id(s),
            amount: Some(account.available_credit.max(0).saturating_add(1_000)),
            hours: None,
        };
        let top_up = || Event::TopUp {
            at,
            account: "a-1".into(),
            amount: owed,
        };
        let pay_now = || Event::PayNow {
            at,
            account: "a-1".into(),
        };
        let operate = |s: usize, op: &str| Event::Operate {
            at,
            resource: self.id(s),
            operation: op.to_string(),
        };
        match m {
            Move::Charge(s) => vec![charge(*s)],
            Move::TopUp => vec![top_up()],
            Move::PayNow => vec![pay_now()],
            Move::TopUpAndPayNow => vec![top_up(), pay_now()],
            Move::Operate(s, op) => vec![operate(*s, op)],
            Move::ChargeThenOperate(s, op) => vec![charge(*s), operate(*s, op)],
            Move::Renew(s) => vec![Event::Renew {
                at,
                resource: self.id(*s),
                term: self.history.resources[*s]
                    .term
                    .unwrap_or(Term::Fixed(TimeDelta::days(30))),
                price: 0,
            }],
            Move::AutoRelease(s) => vec![Event::SetAutoRelease {
                at,
                resource: self.id(*s),
                release_at: Offset(at.0 + TimeDelta::hours(1)),
            }],
            Move::Wait(_) => Vec::new(),
        }
    }
}
