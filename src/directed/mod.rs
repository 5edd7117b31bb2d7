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
//!
//! This file holds the recipes and their schedule; `world.rs` sets up a
//! lifecycle's world and searches it, `moves.rs` lists and applies the
//! moves.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::generate::Scenario;
use crate::history::{AccountDef, Event, History, Offset};
use crate::spec::{Catalog, Guard, LifecycleId};

mod moves;
mod world;

use world::World;

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
    // Each lifecycle's search is independent of the others': they run in
    // parallel, and their results are taken in the lifecycles' order, as a
    // serial loop would.
    let searched: Vec<_> = lifecycles
        .par_iter()
        .filter_map(|&l| World::new(catalog, l, lifecycles).map(|world| world.search()))
        .collect();
    for (recipes, reached) in searched {
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
    recipes
        .par_iter_mut()
        .for_each(|r| r.exercises = exercised(catalog, &r.scenario, None));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::TraceEvent;

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
