//! How a verify run is asked for: the options and their defaults, and a
//! history that failed before (a regression) to run again first.

use std::collections::{BTreeMap, BTreeSet};

use super::System;
use super::plan::implemented_lifecycles;
use crate::generate::Scenario;
use crate::spec::{Catalog, DocId, LifecycleId};

/// A history that failed before, re-run first.
#[derive(Debug, Clone)]
pub struct Regression {
    pub name: String,
    pub scenario: Scenario,
}

/// How [`verify`](super::verify()) runs: start from [`VerifyOptions::new`] and change what
/// you need with the chained setters (or by assigning the fields).
///
/// `#[non_exhaustive]`: new options arrive with defaults that keep today's
/// behaviour, so code written against this version keeps compiling.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Generated histories to run (`--cases`).
    pub cases: u32,
    /// The seed every case's own seed is derived from (`--seed`).
    pub seed: u64,
    /// The spec documents (products) whose invariants are checked.
    pub products: Vec<DocId>,
    /// The most events a generated history holds (`--max-events`).
    pub max_events: usize,
    /// The most steps shrinking a failing history may take.
    pub max_shrink_iters: u32,
    /// `(k, n)`: evaluate only the cases whose index is k-1 modulo n.
    pub shard: Option<(u32, u32)>,
    /// The lifecycles the system implements (all when `None`).
    pub implemented: Option<BTreeSet<LifecycleId>>,
    /// Readings the system declared (interpretation id → reading id).
    pub readings: BTreeMap<String, String>,
    /// Compare every observation with the reference model's.
    pub compare: bool,
    pub regressions: Vec<Regression>,
    /// The fewest cases each invariant must be exercised in.
    pub min_exercised: usize,
    /// Whether the coverage gate decides the verdict.
    pub coverage_gate: bool,
    /// Told how far the run has got (a progress bar); none by default.
    pub watch: crate::progress::Watch,
}

/// The default of `--min-exercised`: half the 20 cases the default run
/// exercises every invariant in at any seed, for margin.
pub const DEFAULT_MIN_EXERCISED: usize = 10;

impl VerifyOptions {
    pub fn new(catalog: &Catalog) -> VerifyOptions {
        VerifyOptions {
            cases: 512,
            seed: 0,
            products: (0..catalog.documents.len())
                .map(|i| DocId(i as u32))
                .collect(),
            max_events: 24,
            max_shrink_iters: 2_000,
            shard: None,
            implemented: None,
            readings: BTreeMap::new(),
            compare: false,
            regressions: Vec::new(),
            min_exercised: DEFAULT_MIN_EXERCISED,
            coverage_gate: true,
            watch: crate::progress::Watch::default(),
        }
    }

    /// Runs `cases` generated histories.
    pub fn cases(mut self, cases: u32) -> VerifyOptions {
        self.cases = cases;
        self
    }

    /// Derives every case's seed from `seed`.
    pub fn seed(mut self, seed: u64) -> VerifyOptions {
        self.seed = seed;
        self
    }

    /// Checks only the invariants of the products named (spec document
    /// ids, such as `maxcompute`); `None` names the unknown one.
    pub fn products<'a>(
        mut self,
        catalog: &Catalog,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<VerifyOptions, String> {
        self.products = names
            .into_iter()
            .map(|name| {
                catalog
                    .document_named(name)
                    .ok_or_else(|| format!("unknown product `{name}`"))
            })
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Gives generated histories at most `max_events` events.
    pub fn max_events(mut self, max_events: usize) -> VerifyOptions {
        self.max_events = max_events;
        self
    }

    /// Evaluates only the cases whose index is `k - 1` modulo `n`.
    pub fn shard(mut self, k: u32, n: u32) -> VerifyOptions {
        self.shard = Some((k, n));
        self
    }

    /// Compares every observation with the reference model's too.
    pub fn compare(mut self, compare: bool) -> VerifyOptions {
        self.compare = compare;
        self
    }

    /// Re-runs these histories before the generated ones.
    pub fn regressions(mut self, regressions: Vec<Regression>) -> VerifyOptions {
        self.regressions = regressions;
        self
    }

    /// Requires each invariant to be exercised in at least `cases` cases
    /// for the coverage gate to pass.
    pub fn min_exercised(mut self, cases: usize) -> VerifyOptions {
        self.min_exercised = cases;
        self
    }

    /// Whether the coverage gate decides the verdict (on by default).
    pub fn coverage_gate(mut self, on: bool) -> VerifyOptions {
        self.coverage_gate = on;
        self
    }

    /// Tells `watch` how far the run has got (a progress bar).
    pub fn watch(mut self, watch: crate::progress::Watch) -> VerifyOptions {
        self.watch = watch;
        self
    }

    /// These options as `system` asks to be run: when it declared what it
    /// implements (the protocol's hello) and the caller left `implemented`
    /// and `readings` unset, they are taken from the declaration.
    pub(super) fn as_declared_by(
        &self,
        judge: &Catalog,
        system: &dyn System,
    ) -> Option<VerifyOptions> {
        let declaration = system.declaration()?;
        if self.implemented.is_some() || !self.readings.is_empty() {
            return None;
        }
        let mut declared = self.clone();
        declared.implemented = Some(implemented_lifecycles(judge, declaration));
        declared.readings = declaration.readings.clone();
        Some(declared)
    }
}
