//! The world a lifecycle is searched in (its resource, its ancestors and a
//! payer, one account, the waits the specs name) and the breadth-first
//! search over the situations the moves reach.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use crate::generate::Scenario;
use crate::history::{AccountDef, Event, History, Offset, ResourceDef, Term};
use crate::model::Model;
use crate::observation::TraceEvent;
use crate::spec::{Anchor, BillingMethod, Catalog, Guard, LifecycleId, ParamValue, Trigger};

use super::moves::Move;
use super::{MAX_DEPTH, MAX_NODES, Recipe, Target, enabled};

/// The smallest world a lifecycle lives in: its resource and ancestors
/// (slots, root first), and possibly a resource that lets the account be
/// billed.
pub(super) struct World<'c> {
    pub(super) catalog: &'c Catalog,
    /// The lifecycle of each slot.
    pub(super) slots: Vec<LifecycleId>,
    /// The slot of the lifecycle searched for.
    pub(super) target: usize,
    /// Whether that lifecycle has a window (a `within` guard).
    pub(super) windowed: bool,
    pub(super) history: History,
    /// Distinct durations the specs name, plus one second.
    pub(super) waits: Vec<TimeDelta>,
}

/// A situation reached: the model after some moves.
#[derive(Clone)]
pub(super) struct Node<'c> {
    pub(super) model: Model<'c>,
    pub(super) now: TimeDelta,
    pub(super) events: Vec<Event>,
    pub(super) observe: Vec<Offset>,
    pub(super) moves: usize,
    /// An automatic release is set (observations do not show it).
    pub(super) auto_release_set: bool,
}

impl<'c> World<'c> {
    pub(super) fn new(
        catalog: &'c Catalog,
        target: LifecycleId,
        usable: &BTreeSet<LifecycleId>,
    ) -> Option<World<'c>> {
        let mut slots = lineage(catalog, target, usable)?;
        slots.extend(payer(catalog, &slots, target, usable));
        let waits = named_waits(catalog);
        let longest = waits.iter().max().copied().unwrap_or(TimeDelta::days(5));
        let term = (longest * 2).max(TimeDelta::days(10));
        let history = world_history(catalog, &slots, term);
        history.validate(catalog).ok()?;
        let target_slot = slots.iter().position(|s| *s == target).unwrap_or(0);
        let windowed = catalog
            .lifecycle(target)
            .transitions
            .iter()
            .any(|t| t.guards.iter().any(|g| matches!(g, Guard::Within { .. })));
        Some(World {
            catalog,
            target: target_slot,
            windowed,
            slots,
            history,
            waits: waits.into_iter().collect(),
        })
    }

    pub(super) fn id(&self, slot: usize) -> String {
        self.history.resources[slot].id.clone()
    }

    /// The situation: each slot's state, overdue and expiry, and the
    /// account's overdue status. Two histories in one situation react to
    /// every later move alike, up to timing.
    fn key(&self, node: &Node<'_>) -> Vec<String> {
        let observation = node.model.observe();
        let now = observation.at;
        let mut key = Vec::new();
        // For a lifecycle with a window (a guard `within`), how many of the
        // specs' durations have passed since the target resource was
        // bought: an operation refused just after the window is another
        // situation than one allowed just before it. (Elsewhere, time since
        // an anchor shows in the states the timers move to.)
        let target = &self.history.resources[self.target].id;
        for r in &observation.resources {
            let passed = if self.windowed && *r.resource == **target {
                self.waits
                    .iter()
                    .filter(|w| now - r.purchased_at >= **w)
                    .count()
            } else {
                0
            };
            key.push(format!(
                "{}:{}:{}:{}:{passed}",
                r.resource,
                r.state,
                r.overdue_since.is_some(),
                r.expires_at.is_some_and(|e| now >= e),
            ));
        }
        for a in &observation.accounts {
            key.push(format!(
                "{}:{}:{}",
                a.account,
                a.overdue_since.is_some(),
                a.cash < 0
            ));
        }
        key.push(format!("auto-release:{}", node.auto_release_set));
        key
    }

    /// Breadth-first over situations; returns a recipe for every transition
    /// fired on the way, the first (so shortest) time it fired, and every
    /// situation reached with the number of moves it took.
    pub(super) fn search(&self) -> (Vec<Recipe>, Vec<(usize, bool, Scenario)>) {
        let Ok(model) = Model::new(self.catalog, &self.history) else {
            return (Vec::new(), Vec::new());
        };
        let root = Node {
            model,
            now: TimeDelta::zero(),
            events: Vec::new(),
            observe: Vec::new(),
            moves: 0,
            auto_release_set: false,
        };
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        seen.insert(self.key(&root));
        let mut queue = VecDeque::from([root]);
        let mut recipes: BTreeMap<String, Recipe> = BTreeMap::new();
        let mut situations = Vec::new();
        let mut explored = 0;
        while let Some(node) = queue.pop_front() {
            explored += 1;
            if explored > MAX_NODES || node.moves >= MAX_DEPTH {
                continue;
            }
            for m in self.moves(&node) {
                let Some(mut next) = self.step(&node, &m) else {
                    continue;
                };
                for e in next.model.take_events() {
                    if let TraceEvent::Transition {
                        lifecycle,
                        transition,
                        ..
                    } = e
                    {
                        let name = format!("{lifecycle}/{transition}");
                        if let std::collections::btree_map::Entry::Vacant(slot) =
                            recipes.entry(name)
                            && let Some(recipe) = self.recipe(&next, &lifecycle, &transition)
                        {
                            slot.insert(recipe);
                        }
                    }
                }
                let new_situation = seen.insert(self.key(&next));
                // A move that changed nothing visible (an operation refused,
                // a renewal attempted while overdue) still shows something
                // invariants are about.
                if new_situation || !matches!(m, Move::Wait(_)) {
                    let at_edge = !matches!(m, Move::Wait(_)) && self.at_edge(next.now);
                    situations.push((next.moves, at_edge, self.scenario(&next)));
                }
                if new_situation {
                    queue.push_back(next);
                }
            }
        }
        (recipes.into_values().collect(), situations)
    }

    /// Whether `elapsed` (since the start, when every resource of the world
    /// was bought) lies just past one of the waits: within a minute.
    fn at_edge(&self, elapsed: TimeDelta) -> bool {
        self.waits
            .iter()
            .any(|w| *w <= elapsed && elapsed < *w + TimeDelta::minutes(1))
    }

    /// The history of a node, observed at its instants and an hour later.
    fn scenario(&self, node: &Node<'_>) -> Scenario {
        let mut history = self.history.clone();
        history.events = node.events.clone();
        history.until = Some(Offset(node.now + TimeDelta::hours(1)));
        let mut observe = node.observe.clone();
        observe.push(Offset(node.now + TimeDelta::hours(1)));
        observe.sort();
        observe.dedup();
        Scenario { history, observe }
    }

    fn recipe(&self, node: &Node<'_>, lifecycle: &str, transition: &str) -> Option<Recipe> {
        let l = self.catalog.lifecycle_named(lifecycle)?;
        let t = self
            .catalog
            .lifecycle(l)
            .transitions
            .iter()
            .position(|x| x.id == transition)?;
        Some(Recipe {
            target: Target::Transition((l, t)),
            name: format!("{lifecycle}/{transition}"),
            scenario: self.scenario(node),
            moves: node.moves,
            exercises: Vec::new(),
            at_edge: false,
        })
    }
}

/// `target` and its ancestors, root first; `None` when an ancestor is not
/// usable (a history cannot hold the child without it).
fn lineage(
    catalog: &Catalog,
    target: LifecycleId,
    usable: &BTreeSet<LifecycleId>,
) -> Option<Vec<LifecycleId>> {
    let mut slots = vec![target];
    while let Some(p) = catalog.lifecycle(slots[0]).parent {
        if !usable.contains(&p) {
            return None;
        }
        slots.insert(0, p);
    }
    Some(slots)
}

/// Whether a resource of lifecycle `l` can be charged (is billed by use).
fn chargeable(catalog: &Catalog, l: LifecycleId) -> bool {
    let lc = catalog.lifecycle(l);
    matches!(
        lc.billing,
        BillingMethod::PayAsYouGo | BillingMethod::Hybrid
    ) || (catalog.document(lc.doc).billing.is_none() && lc.billing != BillingMethod::NotBilled)
}

/// Under a reading that bills nothing where the document leaves billing
/// open, a slot in such a state cannot fall overdue by itself.
fn unbilled_somewhere(catalog: &Catalog, l: LifecycleId) -> bool {
    let lc = catalog.lifecycle(l);
    let open_unbilled = catalog
        .document(lc.doc)
        .billing
        .as_ref()
        .and_then(|b| b.bill_where_unspecified)
        .is_some_and(|p| !catalog.flag(p));
    open_unbilled
        && lc
            .states
            .iter()
            .any(|s| !s.terminal && s.billing == crate::spec::BillingStatus::Unspecified)
}

/// A lifecycle timed both on the account's overdue episode and on its own
/// bills (the disk of a subscription instance read the `t15` way) shows the
/// difference only when another resource's bill makes the account overdue.
fn timed_on_both(catalog: &Catalog, l: LifecycleId) -> bool {
    let lc = catalog.lifecycle(l);
    let timed_on = |anchors: &[Anchor]| {
        lc.transitions.iter().enumerate().any(|(t, tr)| {
            matches!(&tr.trigger, Trigger::After { since, .. } if anchors.contains(since))
                && enabled(catalog, (l, t))
        })
    };
    timed_on(&[Anchor::AccountOverdueSince])
        && timed_on(&[Anchor::OldestOverdueBill, Anchor::OverdueSince])
}

/// The resource added to the world so that the account can be billed, if
/// the slots need one.
///
/// Account-wide signals need a bill of the account: if no slot can be
/// charged, add a chargeable resource of the same product that can hang
/// under one of the slots (or stand alone). If a slot can be in a state
/// where charges are not billed, the account needs a payer of another
/// product, billed whatever the slots' states, as its own product's
/// resources may all be gone by then (Flink releases every pay-as-you-go
/// workspace when it abandons hybrid elastic resources).
fn payer(
    catalog: &Catalog,
    slots: &[LifecycleId],
    target: LifecycleId,
    usable: &BTreeSet<LifecycleId>,
) -> Option<LifecycleId> {
    let doc = catalog.lifecycle(target).doc;
    let fits = |l: &LifecycleId| {
        let lc = catalog.lifecycle(*l);
        lc.doc == doc && chargeable(catalog, *l) && lc.parent.is_none_or(|p| slots.contains(&p))
    };
    if !slots.iter().any(|s| chargeable(catalog, *s)) {
        usable.iter().copied().find(fits)
    } else if slots
        .iter()
        .any(|s| unbilled_somewhere(catalog, *s) || timed_on_both(catalog, *s))
    {
        usable
            .iter()
            .copied()
            .find(|l| {
                let lc = catalog.lifecycle(*l);
                lc.doc != doc
                    && lc.parent.is_none()
                    && chargeable(catalog, *l)
                    && !unbilled_somewhere(catalog, *l)
            })
            .or_else(|| usable.iter().copied().find(fits))
    } else {
        None
    }
}

/// The durations the specs name under every accepted reading, plus one
/// second: where behaviour changes, or may change for an implementation
/// that reads a sentence another accepted way — where faults hide.
fn named_waits(catalog: &Catalog) -> BTreeSet<TimeDelta> {
    catalog
        .values_under_accepted_readings()
        .filter_map(|v| match v {
            ParamValue::Duration(d) if *d > TimeDelta::zero() => Some(*d + TimeDelta::seconds(1)),
            _ => None,
        })
        .collect()
}

/// The world's history before any move: one account without money, and a
/// resource per slot (priced if chargeable, with `term` if it has one).
fn world_history(catalog: &Catalog, slots: &[LifecycleId], term: TimeDelta) -> History {
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("a valid instant");
    let mut resources: Vec<ResourceDef> = Vec::new();
    for (i, l) in slots.iter().enumerate() {
        let lc = catalog.lifecycle(*l);
        let has_term = matches!(
            lc.billing,
            BillingMethod::Subscription | BillingMethod::Hybrid
        );
        let parent = lc
            .parent
            .and_then(|p| slots.iter().position(|s| *s == p))
            .map(|j| format!("{}-{}", catalog.lifecycle(slots[j]).kind, j + 1));
        resources.push(ResourceDef {
            id: format!("{}-{}", lc.kind, i + 1),
            account: "a-1".into(),
            product: catalog.document(lc.doc).id.clone(),
            kind: lc.kind.clone(),
            billing: lc.billing,
            parent,
            hourly_price: chargeable(catalog, *l).then_some(100),
            purchased_at: None,
            term: has_term.then_some(Term::Fixed(term)),
            paid_cash: if has_term { 10_000 } else { 0 },
            paid_voucher: 0,
            auto_release_at: None,
            associated_with: None,
        });
    }
    History {
        start,
        until: None,
        accounts: vec![AccountDef {
            id: "a-1".into(),
            cash: 0,
            vouchers: 0,
            credit_alert: None,
        }],
        resources,
        events: Vec::new(),
        observe: Vec::new(),
    }
}
