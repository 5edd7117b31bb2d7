//! Random billing histories: the proptest strategies of the property suite.
//!
//! A strategy generates a [`Blueprint`] — accounts, resources and steps
//! described by small numbers (which lifecycle, which account, which
//! boundary, which offset around it) — and builds it into a [`Scenario`]
//! (a history and observation instants) deterministically. References are
//! taken modulo what exists, so every blueprint builds into a valid history:
//! when proptest shrinks a blueprint (fewer steps, fewer resources, smaller
//! indexes and amounts) the history it builds stays valid and gets simpler —
//! fewer events, fewer resources, earlier and rounder times, smaller
//! amounts. That is what makes a broken rule shrink to a handful of events.
//!
//! Everything is generic over the specs: the resources are drawn from the
//! catalog's lifecycles (a child brings the parent it needs), the operations
//! from each product's declared operations, and virtual time from the specs'
//! own durations. Time is a generated dimension: every step and observation
//! lands on a boundary the specs name (T+7, T+15, 24 hours, 5 days, their
//! sums, a term), just before it, just after it, or anywhere, counted from
//! the start or from an earlier step; observations include long clock jumps.
//!
//! The mix is meant to look like a fleet: each case focuses on one or two
//! products (a fifth of cases mix them all); most accounts pay on time,
//! about a quarter pay late (their payments land at the later boundaries
//! after a charge, in full) and a fifth never pay; payments and operations
//! count from earlier charges so that they fall inside overdue episodes.

mod build;
mod lifecycle_info;
mod strategies;

use crate::history::{History, Offset};
use crate::spec::{Catalog, DocId, LifecycleId};
pub use build::Builder;
pub(crate) use lifecycle_info::LifecycleInfo;
pub use strategies::{blueprints, boundaries, horizon, scenarios, usable_lifecycles};

/// What a generated history may contain.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// The products (document ids) resources are drawn from.
    pub products: Vec<DocId>,
    pub max_accounts: usize,
    pub max_resources: usize,
    pub max_steps: usize,
    pub max_observations: usize,
    /// Only these lifecycles (those an implementation implements); all of
    /// the products' lifecycles when `None`.
    pub lifecycles: Option<std::collections::BTreeSet<LifecycleId>>,
}

impl GenConfig {
    /// Every product of the catalog, with sizes that keep a case small
    /// enough to read when it fails.
    pub fn all(catalog: &Catalog) -> GenConfig {
        GenConfig {
            products: (0..catalog.documents.len())
                .map(|i| DocId(i as u32))
                .collect(),
            max_accounts: 3,
            max_resources: 6,
            max_steps: 24,
            max_observations: 10,
            lifecycles: None,
        }
    }
}

/// A generated history and the instants to observe it at.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub history: History,
    pub observe: Vec<Offset>,
}

/// An instant, as a boundary of the specs plus a small offset, counted from
/// the start or from an earlier step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSpec {
    /// Count from this earlier step (modulo the steps before), or from the start.
    pub base: Option<usize>,
    /// Index into the boundaries (0 is no boundary).
    pub boundary: usize,
    /// Index into the table of offsets around a boundary (`DELTAS`); the
    /// last one uses `jitter`.
    pub delta: usize,
    /// Seconds, for the "anywhere" delta.
    pub jitter: u32,
}

/// Offsets around a boundary, roundest first (shrinking goes left).
const DELTAS: [i64; 7] = [0, 1, -1, 3_600, -3_600, 86_400, -86_400];

/// How an account pays what it owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    /// Its top-ups, vouchers and payments land at any boundary after a
    /// charge (or anywhere).
    OnTime,
    /// Its top-ups, vouchers and payments land at the later half of the
    /// boundaries after a charge: after a stop or a lock and around the
    /// release, where settling has the most to undo.
    Late,
    /// No top-up, voucher or payment reaches it: its bills run the whole
    /// overdue course.
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBlueprint {
    pub cash: i64,
    pub vouchers: i64,
    pub credit_alert: Option<i64>,
    pub payer: Payer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceBlueprint {
    pub lifecycle: usize,
    pub account: usize,
    pub parent: usize,
    pub hourly_price: i64,
    pub term_days: i64,
    pub bought_days_ago: i64,
    pub paid_cash: i64,
    pub paid_voucher: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    Charge {
        target: usize,
        amount: i64,
    },
    ChargeHours {
        target: usize,
        hours: i64,
    },
    TopUp {
        account: usize,
        amount: i64,
        /// Under a reading where a top-up alone settles nothing, also
        /// press Pay Now at the same instant.
        pay_now: bool,
    },
    Voucher {
        account: usize,
        amount: i64,
    },
    PayNow {
        account: usize,
    },
    Operate {
        target: usize,
        op: usize,
    },
    Renew {
        target: usize,
        term_days: i64,
        price: i64,
    },
    Upgrade {
        target: usize,
        price: i64,
    },
    AutoRelease {
        target: usize,
        after: TimeSpec,
    },
    Purchase {
        account: usize,
        lifecycle: usize,
        price: i64,
        term_days: i64,
    },
}

impl StepKind {
    /// How many kinds of step there are.
    pub const KINDS: usize = 10;

    /// The kind's place in [`Swarm::kinds`].
    pub fn index(&self) -> usize {
        match self {
            StepKind::Charge { .. } => 0,
            StepKind::ChargeHours { .. } => 1,
            StepKind::TopUp { .. } => 2,
            StepKind::Voucher { .. } => 3,
            StepKind::PayNow { .. } => 4,
            StepKind::Operate { .. } => 5,
            StepKind::Renew { .. } => 6,
            StepKind::Upgrade { .. } => 7,
            StepKind::AutoRelease { .. } => 8,
            StepKind::Purchase { .. } => 9,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub when: TimeSpec,
    pub kind: StepKind,
}

/// The generated description a history is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blueprint {
    /// The products this case draws its resources from (indexes into the
    /// configured products), unless `all_products`: a case that goes deep
    /// into one or two products reaches their rarer paths far more often
    /// than one spread over all five.
    pub focus: Vec<usize>,
    pub all_products: bool,
    pub accounts: Vec<AccountBlueprint>,
    pub resources: Vec<ResourceBlueprint>,
    pub steps: Vec<Step>,
    pub observe: Vec<TimeSpec>,
    /// Swarm testing: the step kinds this case may use (indexed as
    /// [`StepKind::index`]) and the payment behaviours its accounts may
    /// have. Leaving some out makes rare combinations of the others
    /// frequent: only charges and Pay Now, only late payers...
    pub swarm: Swarm,
}

/// The subset of step kinds and payment behaviours a case draws from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swarm {
    pub kinds: [bool; StepKind::KINDS],
    /// On time, late, never.
    pub payers: [bool; 3],
}

impl Swarm {
    /// Everything enabled (what shrinking leaves when it can).
    pub fn all() -> Swarm {
        Swarm {
            kinds: [true; StepKind::KINDS],
            payers: [true; 3],
        }
    }

    fn allows(&self, kind: &StepKind) -> bool {
        self.kinds[kind.index()]
    }

    /// The behaviour an account with `wanted` gets: itself if enabled, or
    /// the first enabled one (on time if none is).
    fn payer(&self, wanted: Payer) -> Payer {
        let all = [Payer::OnTime, Payer::Late, Payer::Never];
        let i = all.iter().position(|p| *p == wanted).unwrap_or(0);
        if self.payers[i] {
            wanted
        } else {
            all.iter()
                .zip(self.payers)
                .find(|(_, on)| *on)
                .map_or(Payer::OnTime, |(p, _)| *p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;
    use proptest::test_runner::TestRunner;

    fn catalog() -> Catalog {
        crate::spec::compile(&crate::spec::sources::embedded()).unwrap()
    }

    #[test]
    fn boundaries_include_the_documents_numbers_and_their_sums() {
        let b = boundaries(&catalog());
        for days in [0, 5, 7, 14, 15, 30] {
            assert!(b.contains(&TimeDelta::days(days)), "{days} days missing");
        }
        assert!(b.contains(&TimeDelta::hours(24)));
        assert!(horizon(&catalog()) >= TimeDelta::days(31));
    }

    #[test]
    fn every_generated_history_is_valid_and_runs() {
        let catalog = catalog();
        let strategy = scenarios(&catalog, &GenConfig::all(&catalog));
        let mut runner = TestRunner::deterministic();
        for _ in 0..300 {
            let s = strategy.new_tree(&mut runner).unwrap().current();
            s.history
                .validate(&catalog)
                .unwrap_or_else(|e| panic!("{e}\n{}", s.history.to_yaml()));
            crate::model::run(&catalog, &s.history, &s.observe).unwrap();
        }
    }
}
