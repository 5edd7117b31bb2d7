//! Planning the cases: which lifecycles and readings a run covers, and
//! how each case is drawn (its own random stream, or a recipe of directed
//! generation), so that a case is the same whatever the shard or thread.

use std::collections::{BTreeMap, BTreeSet};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::case::Context;
use super::options::VerifyOptions;
use crate::generate::{GenConfig, Scenario};
use crate::spec::{Catalog, InterpretationId, LifecycleId};

/// The random source of case `index` of a run seeded with `seed`: a
/// ChaCha stream keyed by both, so every case has its own, independent of
/// which other cases are drawn.
pub fn case_rng(seed: u64, index: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    let mut state = seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// SplitMix64 (Steele, Lea and Flood): spreads a counter over 64 bits.
pub(super) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The lifecycles whose product and billing method an implementation
/// declared in `hello`: the only ones generated histories hold, and the
/// only ones whose rules and invariants it is judged on.
pub fn implemented_lifecycles(
    catalog: &Catalog,
    declaration: &crate::protocol::Declaration,
) -> BTreeSet<LifecycleId> {
    catalog
        .lifecycles
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let product = &catalog.document(l.doc).id;
            declaration
                .implements
                .iter()
                .any(|i| i.product == *product && i.billing.contains(&l.billing))
        })
        .map(|(i, _)| LifecycleId(i as u32))
        .collect()
}

/// The catalogs the model runs with: exactly the declared readings, or the
/// chosen reading and every accepted alternative.
pub fn reference_catalogs(
    judge: &Catalog,
    readings: &BTreeMap<String, String>,
) -> Result<Vec<Catalog>, String> {
    if readings.is_empty() {
        return Ok(judge.reading_variants());
    }
    let mut catalog = judge.clone();
    for (interpretation, reading) in readings {
        let i = judge
            .interpretations
            .iter()
            .position(|x| x.id == *interpretation)
            .ok_or_else(|| {
                format!("unknown interpretation `{interpretation}` in the declared readings")
            })?;
        catalog = catalog
            .with_reading(InterpretationId(i as u32), reading)
            .ok_or_else(|| {
                format!("interpretation `{interpretation}` has no reading `{reading}`")
            })?;
    }
    Ok(vec![catalog])
}

/// Every `DIRECTED_EVERY`th case (starting with case 1) is a directed one:
/// `RECIPES_PER_CASE` recipes of directed generation side by side, taken in
/// the order of their schedule (every transition's recipe first, then
/// rounds over the invariants), so that a default run fires every
/// transition and puts every invariant to the test many times.
pub(super) const DIRECTED_EVERY: usize = 2;

pub(super) const RECIPES_PER_CASE: usize = 6;

/// How the cases of a run are drawn: the random strategy, and the recipes
/// of directed generation.
pub(super) struct Cases {
    pub(super) strategy: proptest::strategy::SBoxedStrategy<Scenario>,
    pub(super) targets: crate::directed::Targets,
    pub(super) seed: u64,
}

impl Cases {
    pub(super) fn new(ctx: &Context<'_>, options: &VerifyOptions) -> Cases {
        // Generation follows the readings in force: what settles, what the
        // recipes do, come from the catalog the system is judged under.
        let in_force = &ctx.references[0];
        let mut config = GenConfig::all(in_force);
        config.products = options.products.clone();
        config.max_steps = options.max_events;
        config.lifecycles = options.implemented.clone();
        let usable = crate::generate::usable_lifecycles(in_force, &config);
        Cases {
            strategy: crate::generate::scenarios(in_force, &config),
            targets: crate::directed::targets(in_force, &usable),
            seed: options.seed,
        }
    }

    /// The directed scenario of case `index`, if it is a directed case.
    pub(super) fn directed(&self, index: usize) -> Option<Scenario> {
        if index % DIRECTED_EVERY != 1 {
            return None;
        }
        self.targets.case(index / DIRECTED_EVERY, RECIPES_PER_CASE)
    }

    /// The shrink tree of case `index`: the same every time it is drawn.
    pub(super) fn tree(&self, index: usize) -> Box<dyn ValueTree<Value = Scenario>> {
        let mut runner = TestRunner::new_with_rng(
            Config {
                failure_persistence: None,
                ..Config::default()
            },
            case_rng(self.seed, index as u64),
        );
        if let Some(scenario) = self.directed(index) {
            // A directed case is one history; delta debugging shrinks it.
            return Box::new(DirectedTree(scenario));
        }
        // The generators have no filters, so a draw is never rejected; should
        // one be added, drawing again from the same stream stays
        // deterministic.
        for _ in 0..10_000 {
            if let Ok(tree) = self.strategy.new_tree(&mut runner) {
                return Box::new(tree);
            }
        }
        unreachable!("internal error: the history generator rejected 10,000 draws in a row")
    }
}

/// The shrink tree of a directed case: one value, which proptest cannot
/// simplify (delta debugging on the history does).
pub(super) struct DirectedTree(Scenario);

impl ValueTree for DirectedTree {
    type Value = Scenario;

    fn current(&self) -> Scenario {
        self.0.clone()
    }

    fn simplify(&mut self) -> bool {
        false
    }

    fn complicate(&mut self) -> bool {
        false
    }
}
