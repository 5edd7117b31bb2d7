//! Directed generation: for every transition the specs can take, a short
//! history that takes it — found by searching the lifecycles, with the
//! reference model as the oracle of what each step does.
//!
//! Random histories reach the common paths; the rare ones (settling inside
//! the stop window, overdue again after a hybrid conversion, renewing after
//! expiry) need several steps in the right order at the right distances.
//! This module finds them. For each lifecycle it sets up the smallest world
//! the lifecycle lives in (the resource, its ancestors, and something the
//! account can be billed for), then searches breadth-first over *moves* —
//! a charge the account cannot cover, a top-up that settles, Pay Now, each
//! operation the lifecycle reacts to, a wait of each duration the specs
//! name, a wait until expiry — running each move through a copy of the
//! model and keeping one history per situation it reaches. Every transition
//! fired along the way is recorded with the history that fired it first.
//!
//! The search runs on the catalog *in force* (the specs' readings, or those
//! an implementation declares), so what settles, what overdraws and which
//! transitions a reading enables come from the model under those readings:
//! under `top-up-settles: waits` the recipes settle with Pay Now. Counted in
//! the catalog's own parameters, the recipes change when a spec changes.
//!
//! A recipe is an ordinary history, so a failing directed case shrinks by
//! delta debugging like any other. A transition the search cannot reach is
//! reported, and `verify`'s coverage gate fails on it.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use crate::generate::Scenario;
use crate::history::{AccountDef, Event, History, Offset, ResourceDef, Term};
use crate::model::Model;
use crate::observation::TraceEvent;
use crate::spec::{Anchor, BillingMethod, Catalog, Guard, LifecycleId, ParamValue, Trigger};

/// At most this many situations are explored per lifecycle: far more than
/// any lifecycle of the specs has (the largest reaches about 60).
const MAX_NODES: usize = 600;
/// At most this many moves lead to a situation.
const MAX_DEPTH: usize = 8;

/// A transition, as `(lifecycle, index in its transitions)`.
pub type TransitionRef = (LifecycleId, usize);

/// What a recipe is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// Firing a transition.
    Transition(TransitionRef),
    /// Putting an invariant to the test (its scope or trigger holds).
    Invariant(crate::spec::InvariantId),
}

/// A history that fires a transition, or puts an invariant to the test.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub target: Target,
    /// `lifecycle/transition`, as coverage names it, or the invariant id.
    pub name: String,
    pub scenario: Scenario,
    /// How many moves it takes.
    pub moves: usize,
    /// The invariants whose scope or trigger the recipe's history puts to
    /// the test on the model.
    pub exercises: Vec<crate::spec::InvariantId>,
    /// Its last move comes just after one of the specs' durations (under
    /// any accepted reading) has passed since the start: a boundary probe,
    /// where an implementation that reads a window a little too wide or
    /// too narrow shows it.
    pub at_edge: bool,
}

/// What the search found for a set of lifecycles.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// One recipe per reachable transition (in catalog order), then every
    /// situation the searches reached that puts an invariant to the test.
    pub recipes: Vec<Recipe>,
    /// Transitions that can fire under the catalog's readings but that no
    /// searched history fired: holes in generation.
    pub unreached: Vec<String>,
    /// The order directed cases take recipes in (indexes into `recipes`):
    /// every recipe once, then, in turn for each invariant, a recipe that
    /// exercises it — so invariants whose situations random histories
    /// rarely reach are put to the test as often as the common ones.
    pub schedule: Vec<usize>,
}

impl Targets {
    /// Directed case `n` of a run: `per_case` recipes taken from the
    /// schedule in turn, each in a world of its own (its own account and
    /// resources), merged into one history.
    pub fn case(&self, n: usize, per_case: usize) -> Option<Scenario> {
        if self.schedule.is_empty() {
            return None;
        }
        let picks: Vec<&Recipe> = (0..per_case)
            .map(|k| &self.recipes[self.schedule[(n * per_case + k) % self.schedule.len()]])
            .collect();
        Some(merge(&picks))
    }
}

/// Several recipes side by side in one history: world `k` has account
/// `a-k` and resources prefixed `wk-`; accounts never interact, so each
/// recipe does in the merged history what it does alone.
fn merge(recipes: &[&Recipe]) -> Scenario {
    let first = &recipes[0].scenario;
    let mut history = History {
        start: first.history.start,
        until: None,
        accounts: Vec::new(),
        resources: Vec::new(),
        events: Vec::new(),
        observe: Vec::new(),
    };
    let mut observe = Vec::new();
    let mut events: Vec<(Offset, usize, Event)> = Vec::new();
    for (k, recipe) in recipes.iter().enumerate() {
        let world = k + 1;
        let h = &recipe.scenario.history;
        let account = format!("a-{world}");
        let rename = |id: &str| format!("w{world}-{id}");
        for a in &h.accounts {
            history.accounts.push(AccountDef {
                id: account.clone(),
                ..a.clone()
            });
        }
        for r in &h.resources {
            let mut r = r.clone();
            r.id = rename(&r.id);
            r.account = account.clone();
            r.parent = r.parent.as_deref().map(rename);
            r.associated_with = r.associated_with.as_deref().map(rename);
            history.resources.push(r);
        }
        for (i, e) in h.events.iter().enumerate() {
            let mut e = e.clone();
            match &mut e {
                Event::Charge { resource, .. }
                | Event::Renew { resource, .. }
                | Event::Upgrade { resource, .. }
                | Event::SetAutoRelease { resource, .. }
                | Event::Operate { resource, .. } => *resource = rename(resource),
                Event::TopUp { account: a, .. }
                | Event::GrantVoucher { account: a, .. }
                | Event::PayNow { account: a, .. } => *a = account.clone(),
                Event::Purchase {
                    account: a,
                    resource,
                    ..
                } => {
                    *a = account.clone();
                    resource.id = rename(&resource.id);
                }
            }
            events.push((e.at(), k * 10_000 + i, e));
        }
        history.until = history.until.max(h.until);
        observe.extend(recipe.scenario.observe.iter().copied());
    }
    // In time order; at one instant, world by world in their own order.
    events.sort_by_key(|(at, order, _)| (*at, *order));
    history.events = events.into_iter().map(|(_, _, e)| e).collect();
    observe.sort();
    observe.dedup();
    Scenario { history, observe }
}

/// Whether a transition can fire at all under the catalog's readings: its
/// parameter guards hold.
pub fn enabled(catalog: &Catalog, (lifecycle, t): TransitionRef) -> bool {
    catalog.lifecycle(lifecycle).transitions[t]
        .guards
        .iter()
        .all(|g| match g {
            Guard::Param { param, equals } => catalog.value(*param) == equals,
            _ => true,
        })
}

/// Searches every lifecycle of `lifecycles` (their ancestors must be in the
/// set too, as a history cannot hold a child without its parent).
pub fn targets(catalog: &Catalog, lifecycles: &BTreeSet<LifecycleId>) -> Targets {
    let mut found: BTreeMap<TransitionRef, Recipe> = BTreeMap::new();
    // Every situation the searches reached, shortest first within each.
    let mut situations: Vec<(usize, bool, Scenario)> = Vec::new();
    for &l in lifecycles {
        let Some(world) = World::new(catalog, l, lifecycles) else {
            continue;
        };
        let (recipes, reached) = world.search();
        situations.extend(reached);
        for recipe in recipes {
            let Target::Transition(t) = recipe.target else {
                continue;
            };
            let better = found.get(&t).is_none_or(|r| recipe.moves < r.moves);
            if better && lifecycles.contains(&t.0) {
                found.insert(t, recipe);
            }
        }
    }
    let mut unreached = Vec::new();
    for &l in lifecycles {
        let lc = catalog.lifecycle(l);
        for (t, tr) in lc.transitions.iter().enumerate() {
            if enabled(catalog, (l, t)) && !found.contains_key(&(l, t)) {
                unreached.push(format!("{}/{}", lc.id, tr.id));
            }
        }
    }
    let mut recipes: Vec<Recipe> = found.into_values().collect();
    for r in &mut recipes {
        r.exercises = exercised(catalog, &r.scenario, None);
    }
    // Every situation the searches reached is a recipe for the invariants
    // it puts to the test: an invariant is tried in many situations (a
    // refused operation just after a window, a settlement inside one...),
    // not only in the first that reaches its scope.
    situations.sort_by_key(|(moves, _, _)| *moves);
    let wanted: BTreeSet<crate::spec::InvariantId> = (0..catalog.invariants.len())
        .map(|i| crate::spec::InvariantId(i as u32))
        .filter(|i| {
            catalog.invariants[i.index()]
                .subjects
                .iter()
                .any(|s| lifecycles.contains(s))
        })
        .collect();
    use rayon::prelude::*;
    let evaluated: Vec<(usize, bool, Scenario, Vec<crate::spec::InvariantId>)> = situations
        .into_par_iter()
        .map(|(moves, at_edge, scenario)| {
            let hit = exercised(catalog, &scenario, Some(&wanted));
            (moves, at_edge, scenario, hit)
        })
        .collect();
    for (moves, at_edge, scenario, hit) in evaluated {
        let Some(first) = hit.first() else {
            continue;
        };
        recipes.push(Recipe {
            target: Target::Invariant(*first),
            name: catalog.invariants[first.index()].id.clone(),
            scenario,
            moves,
            exercises: hit,
            at_edge,
        });
    }
    let schedule = schedule(catalog, &recipes);
    Targets {
        recipes,
        unreached,
        schedule,
    }
}

/// The invariants (of `only`, or all) a scenario puts to the test on the
/// model.
fn exercised(
    catalog: &Catalog,
    scenario: &Scenario,
    only: Option<&BTreeSet<crate::spec::InvariantId>>,
) -> Vec<crate::spec::InvariantId> {
    let Ok(trace) = crate::model::run(catalog, &scenario.history, &scenario.observe) else {
        return Vec::new();
    };
    let index = crate::check::TraceIndex::new(catalog, &scenario.history, &trace);
    (0..catalog.invariants.len())
        .map(|i| crate::spec::InvariantId(i as u32))
        .filter(|i| only.is_none_or(|o| o.contains(i)))
        .filter(|i| {
            crate::check::evaluate(catalog, std::slice::from_ref(catalog), &index, *i, None)
                .exercised
        })
        .collect()
}

/// Every transition's recipe once, then rounds over the invariants: in each
/// round, each invariant some recipe exercises gets the next of its
/// recipes (boundary probes first, then the shortest).
fn schedule(catalog: &Catalog, recipes: &[Recipe]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..recipes.len())
        .filter(|r| matches!(recipes[*r].target, Target::Transition(_)))
        .collect();
    let by_invariant: Vec<Vec<usize>> = (0..catalog.invariants.len())
        .map(|i| {
            let mut rs: Vec<usize> = (0..recipes.len())
                .filter(|r| {
                    recipes[*r]
                        .exercises
                        .contains(&crate::spec::InvariantId(i as u32))
                })
                .collect();
            // Boundary probes first, then the shortest.
            rs.sort_by_key(|r| (!recipes[*r].at_edge, recipes[*r].moves));
            rs
        })
        .filter(|v: &Vec<usize>| !v.is_empty())
        .collect();
    // Enough rounds for a long run to try each invariant in many situations.
    for round in 0..64 {
        for rs in &by_invariant {
            order.push(rs[round % rs.len()]);
        }
    }
    order
}

/// One move of the search.
#[derive(Debug, Clone)]
enum Move {
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

/// The smallest world a lifecycle lives in: its resource and ancestors
/// (slots, root first), and possibly a resource that lets the account be
/// billed.
struct World<'c> {
    catalog: &'c Catalog,
    /// The lifecycle of each slot.
    slots: Vec<LifecycleId>,
    /// The slot of the lifecycle searched for.
    target: usize,
    /// Whether that lifecycle has a window (a `within` guard).
    windowed: bool,
    history: History,
    /// Distinct durations the specs name, plus one second.
    waits: Vec<TimeDelta>,
}

/// A situation reached: the model after some moves.
#[derive(Clone)]
struct Node<'c> {
    model: Model<'c>,
    now: TimeDelta,
    events: Vec<Event>,
    observe: Vec<Offset>,
    moves: usize,
    /// An automatic release is set (observations do not show it).
    auto_release_set: bool,
}

impl<'c> World<'c> {
    fn new(
        catalog: &'c Catalog,
        target: LifecycleId,
        usable: &BTreeSet<LifecycleId>,
    ) -> Option<World<'c>> {
        let mut slots = vec![target];
        while let Some(p) = catalog.lifecycle(slots[0]).parent {
            if !usable.contains(&p) {
                return None;
            }
            slots.insert(0, p);
        }
        let chargeable = |l: LifecycleId| {
            let lc = catalog.lifecycle(l);
            matches!(
                lc.billing,
                BillingMethod::PayAsYouGo | BillingMethod::Hybrid
            ) || (catalog.document(lc.doc).billing.is_none()
                && lc.billing != BillingMethod::NotBilled)
        };
        // Under a reading that bills nothing where the document leaves
        // billing open, a slot in such a state cannot fall overdue by itself.
        let unbilled_somewhere = |l: LifecycleId| {
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
        };
        // Account-wide signals need a bill of the account: if no slot can
        // be charged, add a chargeable resource of the same product that can
        // hang under one of the slots (or stand alone). If a slot can be in
        // a state where charges are not billed, the account needs a payer
        // of another product, billed whatever the slots' states, as its own
        // product's resources may all be gone by then (Flink releases every
        // pay-as-you-go workspace when it abandons hybrid elastic
        // resources).
        let doc = catalog.lifecycle(target).doc;
        let fits = |l: &LifecycleId| {
            let lc = catalog.lifecycle(*l);
            lc.doc == doc && chargeable(*l) && lc.parent.is_none_or(|p| slots.contains(&p))
        };
        // A lifecycle timed both on the account's overdue episode and on its
        // own bills (the disk of a subscription instance read the `t15`
        // way) shows the difference only when another resource's bill makes
        // the account overdue.
        let timed_on_both = |l: LifecycleId| {
            let lc = catalog.lifecycle(l);
            let timed_on = |anchors: &[Anchor]| {
                lc.transitions.iter().enumerate().any(|(t, tr)| {
                    matches!(&tr.trigger, Trigger::After { since, .. } if anchors.contains(since))
                        && enabled(catalog, (l, t))
                })
            };
            timed_on(&[Anchor::AccountOverdueSince])
                && timed_on(&[Anchor::OldestOverdueBill, Anchor::OverdueSince])
        };
        let payer = if !slots.iter().any(|s| chargeable(*s)) {
            usable.iter().copied().find(fits)
        } else if slots
            .iter()
            .any(|s| unbilled_somewhere(*s) || timed_on_both(*s))
        {
            usable
                .iter()
                .copied()
                .find(|l| {
                    let lc = catalog.lifecycle(*l);
                    lc.doc != doc
                        && lc.parent.is_none()
                        && chargeable(*l)
                        && !unbilled_somewhere(*l)
                })
                .or_else(|| usable.iter().copied().find(fits))
        } else {
            None
        };
        slots.extend(payer);
        // The durations the specs name under every accepted reading: where
        // behaviour changes, or may change for an implementation that reads
        // a sentence another accepted way — where faults hide.
        let waits: BTreeSet<TimeDelta> = catalog
            .values_under_accepted_readings()
            .filter_map(|v| match v {
                ParamValue::Duration(d) if *d > TimeDelta::zero() => {
                    Some(*d + TimeDelta::seconds(1))
                }
                _ => None,
            })
            .collect();
        let longest = waits.iter().max().copied().unwrap_or(TimeDelta::days(5));
        let term = (longest * 2).max(TimeDelta::days(10));
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
                hourly_price: chargeable(*l).then_some(100),
                purchased_at: None,
                term: has_term.then_some(Term::Fixed(term)),
                paid_cash: if has_term { 10_000 } else { 0 },
                paid_voucher: 0,
                auto_release_at: None,
                associated_with: None,
            });
        }
        let history = History {
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
        };
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

    fn id(&self, slot: usize) -> String {
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

    /// The moves worth trying from a node.
    fn moves(&self, node: &Node<'_>) -> Vec<Move> {
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
    fn step(&self, node: &Node<'c>, m: &Move) -> Option<Node<'c>> {
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
        let account = &observation.accounts[0];
        let owed: i64 = account
            .outstanding_bills
            .iter()
            .map(|b| b.amount)
            .sum::<i64>()
            .saturating_add((-account.cash).max(0))
            .saturating_add(1_000);
        let mut events = Vec::new();
        match m {
            Move::Charge(s) => events.push(Event::Charge {
                at,
                resource: self.id(*s),
                amount: Some(account.available_credit.max(0).saturating_add(1_000)),
                hours: None,
            }),
            Move::TopUp => events.push(Event::TopUp {
                at,
                account: "a-1".into(),
                amount: owed,
            }),
            Move::PayNow => events.push(Event::PayNow {
                at,
                account: "a-1".into(),
            }),
            Move::TopUpAndPayNow => {
                events.push(Event::TopUp {
                    at,
                    account: "a-1".into(),
                    amount: owed,
                });
                events.push(Event::PayNow {
                    at,
                    account: "a-1".into(),
                });
            }
            Move::Operate(s, op) => events.push(Event::Operate {
                at,
                resource: self.id(*s),
                operation: op.clone(),
            }),
            Move::ChargeThenOperate(s, op) => {
                events.push(Event::Charge {
                    at,
                    resource: self.id(*s),
                    amount: Some(account.available_credit.max(0).saturating_add(1_000)),
                    hours: None,
                });
                events.push(Event::Operate {
                    at,
                    resource: self.id(*s),
                    operation: op.clone(),
                });
            }
            Move::Renew(s) => events.push(Event::Renew {
                at,
                resource: self.id(*s),
                term: self.history.resources[*s]
                    .term
                    .unwrap_or(Term::Fixed(TimeDelta::days(30))),
                price: 0,
            }),
            Move::AutoRelease(s) => {
                next.auto_release_set = true;
                events.push(Event::SetAutoRelease {
                    at,
                    resource: self.id(*s),
                    release_at: Offset(next.now + TimeDelta::hours(1)),
                });
            }
            Move::Wait(d) => {
                next.now += *d;
                next.model.advance_to(self.history.start + next.now).ok()?;
                next.observe.push(Offset(next.now));
            }
        }
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

    /// Breadth-first over situations; returns a recipe for every transition
    /// fired on the way, the first (so shortest) time it fired, and every
    /// situation reached with the number of moves it took.
    fn search(&self) -> (Vec<Recipe>, Vec<(usize, bool, Scenario)>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        crate::spec::compile(&crate::spec::sources::embedded()).unwrap()
    }

    fn all(catalog: &Catalog) -> BTreeSet<LifecycleId> {
        (0..catalog.lifecycles.len())
            .map(|i| LifecycleId(i as u32))
            .collect()
    }

    #[test]
    fn every_enabled_transition_of_the_shipped_specs_has_a_recipe_that_fires_it() {
        let catalog = catalog();
        let targets = targets(&catalog, &all(&catalog));
        assert!(targets.unreached.is_empty(), "{:?}", targets.unreached);
        for r in targets
            .recipes
            .iter()
            .filter(|r| matches!(r.target, Target::Transition(_)))
        {
            r.scenario.history.validate(&catalog).unwrap();
            let trace =
                crate::model::run(&catalog, &r.scenario.history, &r.scenario.observe).unwrap();
            let fired = trace.events.iter().any(|e| {
                matches!(e, TraceEvent::Transition { lifecycle, transition, .. }
                    if format!("{lifecycle}/{transition}") == r.name)
            });
            assert!(
                fired,
                "{} does not fire:\n{}",
                r.name,
                r.scenario.history.to_yaml()
            );
        }
    }

    #[test]
    fn under_another_reading_the_recipes_follow_it() {
        let catalog = catalog();
        let i = catalog
            .interpretations
            .iter()
            .position(|x| x.id == "ecs.interp.top-up-settles")
            .unwrap();
        let waits = catalog
            .with_reading(crate::spec::InterpretationId(i as u32), "waits")
            .unwrap();
        let targets = targets(&waits, &all(&waits));
        assert!(targets.unreached.is_empty(), "{:?}", targets.unreached);
        let restart = targets
            .recipes
            .iter()
            .find(|r| r.name == "ecs.payg-instance/restart-after-settlement")
            .expect("a recipe for the restart");
        assert!(
            restart
                .scenario
                .history
                .events
                .iter()
                .any(|e| matches!(e, Event::PayNow { .. })),
            "under `waits` only Pay Now settles:\n{}",
            restart.scenario.history.to_yaml()
        );
    }
}
