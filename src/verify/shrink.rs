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

/// Delta debugging on a concrete history: drop events, then resources and
/// accounts nothing refers to, then observation instants, then zero the
/// amounts, keeping each change that still fails.
pub fn minimize<F: Clone>(
    judge: &Catalog,
    mut best: Scenario,
    mut found: F,
    fails: impl Fn(&Scenario) -> Option<F>,
) -> (Scenario, F, u32) {
    let mut steps = 0;
    let attempt =
        |candidate: Scenario, best: &mut Scenario, found: &mut F, steps: &mut u32| -> bool {
            if candidate.history.validate(judge).is_err() {
                return false;
            }
            match fails(&candidate) {
                Some(f) => {
                    *best = candidate;
                    *found = f;
                    *steps += 1;
                    true
                }
                None => false,
            }
        };
    loop {
        let before = steps;
        // Whole accounts first, with their resources and events: a directed
        // case holds several independent worlds, and usually one of them
        // is the failure.
        for i in (0..best.history.accounts.len()).rev() {
            if best.history.accounts.len() > 1 && i < best.history.accounts.len() {
                let mut c = best.clone();
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
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        for i in (0..best.history.events.len()).rev() {
            if i < best.history.events.len() {
                let mut c = best.clone();
                c.history.events.remove(i);
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        for i in (0..best.history.resources.len()).rev() {
            let id = best.history.resources[i].id.clone();
            let referenced = best
                .history
                .events
                .iter()
                .any(|e| e.resource() == Some(id.as_str()))
                || best
                    .history
                    .resources
                    .iter()
                    .any(|r| r.parent.as_deref() == Some(id.as_str()));
            if !referenced {
                let mut c = best.clone();
                c.history.resources.remove(i);
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        for i in (0..best.history.accounts.len()).rev() {
            let id = best.history.accounts[i].id.clone();
            let referenced = best.history.resources.iter().any(|r| r.account == id)
                || best
                    .history
                    .events
                    .iter()
                    .any(|e| e.account() == Some(id.as_str()));
            if !referenced && best.history.accounts.len() > 1 {
                let mut c = best.clone();
                c.history.accounts.remove(i);
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        for i in (0..best.observe.len()).rev() {
            let mut c = best.clone();
            c.observe.remove(i);
            attempt(c, &mut best, &mut found, &mut steps);
        }
        for i in 0..best.history.events.len() {
            let mut c = best.clone();
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
                attempt(c, &mut best, &mut found, &mut steps);
            }
        }
        if steps == before {
            return (best, found, steps);
        }
    }
}
