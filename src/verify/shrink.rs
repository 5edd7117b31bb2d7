//! Shrinking a failing case to a minimal history: proptest's shrinking
//! of the generated blueprint, then delta debugging on the history itself.

use std::collections::BTreeSet;

use proptest::strategy::ValueTree;

use super::case::Context;
use crate::check::Violation;
use crate::compare::Divergence;
use crate::generate::Scenario;
use crate::spec::{Catalog, InvariantId};

pub(super) type Found = (Option<Violation>, Option<Divergence>);

/// Shrinks a failing case with proptest, then by delta debugging.
pub(super) fn shrink(
    ctx: &Context<'_>,
    mut tree: Box<dyn ValueTree<Value = Scenario>>,
    which: Option<InvariantId>,
    limit: u32,
    watch: &crate::progress::Watch,
) -> Option<(Scenario, Found, u32)> {
    let mut best = tree.current();
    let mut found = ctx.fails(&best, which)?;
    let mut steps = 0;
    let mut iterations = 0;
    if tree.simplify() {
        while iterations < limit {
            iterations += 1;
            watch.advance(1);
            let candidate = tree.current();
            match ctx.fails(&candidate, which) {
                Some(f) => {
                    best = candidate;
                    found = f;
                    steps += 1;
                    if !tree.simplify() {
                        break;
                    }
                }
                None => {
                    if !tree.complicate() {
                        break;
                    }
                }
            }
        }
    }
    // proptest shrinks the blueprint; removing a step there can shift what
    // later steps refer to, so finish on the concrete history.
    let (best, found, more) = minimize(ctx.judge, best, found, |s| ctx.fails(s, which));
    Some((best, found, steps + more))
}

/// Delta debugging on a concrete history: drop whole accounts, then
/// events, then resources and accounts nothing refers to, then observation
/// instants, then zero the amounts, keeping each change that still fails,
/// until a round changes nothing.
pub fn minimize<F: Clone>(
    judge: &Catalog,
    best: Scenario,
    found: F,
    fails: impl Fn(&Scenario) -> Option<F>,
) -> (Scenario, F, u32) {
    let mut search = Search {
        judge,
        best,
        found,
        steps: 0,
        fails,
    };
    loop {
        let before = search.steps;
        search.drop_accounts();
        search.drop_events();
        search.drop_unreferenced_resources();
        search.drop_unreferenced_accounts();
        search.drop_instants();
        search.zero_amounts();
        if search.steps == before {
            return (search.best, search.found, search.steps);
        }
    }
}

/// The smallest failing scenario found so far, and what it fails with.
struct Search<'a, F, P> {
    judge: &'a Catalog,
    best: Scenario,
    found: F,
    /// Changes kept.
    steps: u32,
    fails: P,
}

impl<F, P: Fn(&Scenario) -> Option<F>> Search<'_, F, P> {
    /// Keeps `candidate` if it is a valid history that still fails.
    fn attempt(&mut self, candidate: Scenario) -> bool {
        if candidate.history.validate(self.judge).is_err() {
            return false;
        }
        match (self.fails)(&candidate) {
            Some(f) => {
                self.best = candidate;
                self.found = f;
                self.steps += 1;
                true
            }
            None => false,
        }
    }

    /// Whole accounts first, with their resources and events: a directed
    /// case holds several independent worlds, and usually one of them is
    /// the failure.
    fn drop_accounts(&mut self) {
        for i in (0..self.best.history.accounts.len()).rev() {
            if self.best.history.accounts.len() > 1 && i < self.best.history.accounts.len() {
                let mut c = self.best.clone();
                let id = c.history.accounts.remove(i).id;
                let gone: BTreeSet<String> = c
                    .history
                    .resources
                    .iter()
                    .filter(|r| r.account == id)
                    .map(|r| r.id.clone())
                    .collect();
                c.history.resources.retain(|r| r.account != id);
                c.history.events.retain(|e| {
                    e.account() != Some(id.as_str())
                        && e.resource().is_none_or(|r| !gone.contains(r))
                });
                self.attempt(c);
            }
        }
    }

    fn drop_events(&mut self) {
        for i in (0..self.best.history.events.len()).rev() {
            if i < self.best.history.events.len() {
                let mut c = self.best.clone();
                c.history.events.remove(i);
                self.attempt(c);
            }
        }
    }

    /// Resources no event and no other resource refers to.
    fn drop_unreferenced_resources(&mut self) {
        for i in (0..self.best.history.resources.len()).rev() {
            let history = &self.best.history;
            let id = history.resources[i].id.clone();
            let referenced = history
                .events
                .iter()
                .any(|e| e.resource() == Some(id.as_str()))
                || history
                    .resources
                    .iter()
                    .any(|r| r.parent.as_deref() == Some(id.as_str()));
            if !referenced {
                let mut c = self.best.clone();
                c.history.resources.remove(i);
                self.attempt(c);
            }
        }
    }

    /// Accounts no resource and no event refers to (one always stays).
    fn drop_unreferenced_accounts(&mut self) {
        for i in (0..self.best.history.accounts.len()).rev() {
            let history = &self.best.history;
            let id = history.accounts[i].id.clone();
            let referenced = history.resources.iter().any(|r| r.account == id)
                || history
                    .events
                    .iter()
                    .any(|e| e.account() == Some(id.as_str()));
            if !referenced && history.accounts.len() > 1 {
                let mut c = self.best.clone();
                c.history.accounts.remove(i);
                self.attempt(c);
            }
        }
    }

    fn drop_instants(&mut self) {
        for i in (0..self.best.observe.len()).rev() {
            let mut c = self.best.clone();
            c.observe.remove(i);
            self.attempt(c);
        }
    }

    /// Every amount an event carries, set to zero.
    fn zero_amounts(&mut self) {
        for i in 0..self.best.history.events.len() {
            let mut c = self.best.clone();
            let changed = match &mut c.history.events[i] {
                crate::history::Event::Charge {
                    amount: Some(a), ..
                }
                | crate::history::Event::TopUp { amount: a, .. }
                | crate::history::Event::GrantVoucher { amount: a, .. }
                | crate::history::Event::Renew { price: a, .. }
                | crate::history::Event::Upgrade { price: a, .. }
                | crate::history::Event::Purchase { price: a, .. }
                    if *a > 0 =>
                {
                    *a = 0;
                    true
                }
                _ => false,
            };
            if changed {
                self.attempt(c);
            }
        }
    }
}
