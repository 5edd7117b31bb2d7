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

use std::collections::BTreeSet;

use chrono::TimeDelta;
use proptest::prelude::*;
use proptest::sample::SizeRange;

use crate::history::{AccountDef, Event, History, Offset, ResourceDef, Term};
use crate::spec::{BillingMethod, Catalog, DocId, LifecycleId, ParamValue};

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

/// The durations the specs name, and their pairwise sums: where behaviour
/// changes, so where events and observations should land.
pub fn boundaries(catalog: &Catalog) -> Vec<TimeDelta> {
    let singles: BTreeSet<i64> = catalog
        .parameters
        .iter()
        .filter_map(|p| match p.value {
            ParamValue::Duration(d) if d > TimeDelta::zero() => Some(d.num_seconds()),
            _ => None,
        })
        .collect();
    let mut all: BTreeSet<i64> = singles.clone();
    all.insert(0);
    for a in &singles {
        for b in &singles {
            all.insert(a + b);
        }
    }
    all.into_iter().map(TimeDelta::seconds).collect()
}

/// How far histories run: half as far again as the longest sum of two
/// boundaries, so that a bill charged well after the start still has its
/// stop and the release after it inside the history.
pub fn horizon(catalog: &Catalog) -> TimeDelta {
    let longest = boundaries(catalog).last().copied().unwrap_or_default();
    (longest + longest / 2 + TimeDelta::days(2)).clamp(TimeDelta::days(10), TimeDelta::days(120))
}

fn time_spec(max_boundary: usize) -> impl Strategy<Value = TimeSpec> {
    (
        prop::option::weighted(0.6, 0usize..64),
        0..max_boundary.max(1),
        0..DELTAS.len() + 1,
        0u32..(3 * 86_400),
    )
        .prop_map(|(base, boundary, delta, jitter)| TimeSpec {
            base,
            boundary,
            delta,
            jitter,
        })
}

fn amount(max: i64) -> impl Strategy<Value = i64> {
    prop_oneof![3 => 0..=max / 10, 2 => 0..=max]
}

fn account() -> impl Strategy<Value = AccountBlueprint> {
    (
        // Opening cash: often too little for the bills, sometimes plenty.
        prop_oneof![2 => 0i64..=2_000, 2 => 0i64..=20_000, 1 => 100_000i64..=1_000_000],
        prop_oneof![3 => Just(0i64), 1 => 0i64..=5_000],
        prop::option::weighted(0.3, 0i64..=10_000),
        // On time first, so that shrinking makes an account a simple payer.
        prop_oneof![11 => Just(Payer::OnTime), 5 => Just(Payer::Late), 4 => Just(Payer::Never)],
    )
        .prop_map(|(cash, vouchers, credit_alert, payer)| AccountBlueprint {
            cash,
            vouchers,
            credit_alert,
            payer,
        })
}

fn resource() -> impl Strategy<Value = ResourceBlueprint> {
    (
        0usize..256,
        0usize..8,
        0usize..8,
        0i64..=500,
        1i64..=45,
        prop_oneof![3 => Just(0i64), 1 => 0i64..=30],
        amount(50_000),
        prop_oneof![2 => Just(0i64), 1 => 0i64..=5_000],
    )
        .prop_map(
            |(
                lifecycle,
                account,
                parent,
                hourly_price,
                term_days,
                bought_days_ago,
                paid_cash,
                paid_voucher,
            )| ResourceBlueprint {
                lifecycle,
                account,
                parent,
                hourly_price,
                term_days,
                bought_days_ago,
                paid_cash,
                paid_voucher,
            },
        )
}

fn step(max_boundary: usize) -> SBoxedStrategy<Step> {
    let target = 0usize..64;
    let account = 0usize..8;
    let kind = prop_oneof![
        6 => (target.clone(), amount(5_000)).prop_map(|(target, amount)| StepKind::Charge { target, amount }).sboxed(),
        1 => (target.clone(), 0i64..=48).prop_map(|(target, hours)| StepKind::ChargeHours { target, hours }).sboxed(),
        3 => (account.clone(), amount(20_000), prop::bool::weighted(0.5)).prop_map(|(account, amount, pay_now)| StepKind::TopUp { account, amount, pay_now }).sboxed(),
        1 => (account.clone(), amount(5_000)).prop_map(|(account, amount)| StepKind::Voucher { account, amount }).sboxed(),
        2 => account.clone().prop_map(|account| StepKind::PayNow { account }).sboxed(),
        3 => (target.clone(), 0usize..32).prop_map(|(target, op)| StepKind::Operate { target, op }).sboxed(),
        1 => (target.clone(), 1i64..=45, amount(5_000)).prop_map(|(target, term_days, price)| StepKind::Renew { target, term_days, price }).sboxed(),
        1 => (target.clone(), amount(5_000)).prop_map(|(target, price)| StepKind::Upgrade { target, price }).sboxed(),
        1 => (target.clone(), time_spec(max_boundary)).prop_map(|(target, after)| StepKind::AutoRelease { target, after }).sboxed(),
        1 => (account, 0usize..256, amount(5_000), 1i64..=45)
            .prop_map(|(account, lifecycle, price, term_days)| StepKind::Purchase { account, lifecycle, price, term_days }).sboxed(),
    ];
    (time_spec(max_boundary), kind)
        .prop_map(|(when, kind)| Step { when, kind })
        .sboxed()
}

/// Swarm testing (Groce et al., "Swarm testing", ISSTA 2012): a third of
/// the cases use every kind of step and payer; the others leave each kind
/// out with probability 0.4 (charges, without which nothing happens, with
/// 0.1) and each payment behaviour with 0.3. The flags are drawn as
/// "left out", so that shrinking, which takes a bool to `false`, turns
/// kinds back on and the history reads like an ordinary one.
fn swarm() -> impl Strategy<Value = Swarm> {
    let off = |p: f64| prop::bool::weighted(p);
    prop_oneof![
        1 => Just(Swarm::all()),
        2 => (
            off(0.1),
            prop::array::uniform9(off(0.4)),
            prop::array::uniform3(off(0.3)),
        )
            .prop_map(|(charge_off, rest_off, payers_off)| {
                let mut kinds = [true; StepKind::KINDS];
                kinds[0] = !charge_off;
                for (k, off) in rest_off.iter().enumerate() {
                    kinds[k + 1] = !off;
                }
                Swarm {
                    kinds,
                    payers: payers_off.map(|off| !off),
                }
            }),
    ]
}

/// The strategy of blueprints for a catalog and configuration.
pub fn blueprints(catalog: &Catalog, config: &GenConfig) -> SBoxedStrategy<Blueprint> {
    let max_boundary = boundaries(catalog).len();
    (
        prop::collection::vec(0usize..16, 1..=2),
        prop::bool::weighted(0.2),
        prop::collection::vec(account(), SizeRange::from(1..=config.max_accounts.max(1))),
        prop::collection::vec(resource(), SizeRange::from(1..=config.max_resources.max(1))),
        prop::collection::vec(step(max_boundary), SizeRange::from(0..=config.max_steps)),
        prop::collection::vec(
            time_spec(max_boundary),
            SizeRange::from(0..=config.max_observations),
        ),
        swarm(),
    )
        .prop_map(
            |(focus, all_products, accounts, resources, steps, observe, swarm)| Blueprint {
                focus,
                all_products,
                accounts,
                resources,
                steps,
                observe,
                swarm,
            },
        )
        .sboxed()
}

/// The strategy of scenarios: blueprints built into histories.
pub fn scenarios(catalog: &Catalog, config: &GenConfig) -> SBoxedStrategy<Scenario> {
    let builder = Builder::new(catalog, config);
    blueprints(catalog, config)
        .prop_map(move |b| builder.build(&b))
        .sboxed()
}

/// The lifecycles a history may hold: those selected (by product, and by
/// what an implementation implements) whose ancestors are selected too.
pub fn usable_lifecycles(catalog: &Catalog, config: &GenConfig) -> BTreeSet<LifecycleId> {
    let selected = |id: LifecycleId| {
        let l = catalog.lifecycle(id);
        config.products.contains(&l.doc)
            && config.lifecycles.as_ref().is_none_or(|s| s.contains(&id))
    };
    (0..catalog.lifecycles.len())
        .map(|i| LifecycleId(i as u32))
        .filter(|id| {
            let mut cursor = Some(*id);
            while let Some(c) = cursor {
                if !selected(c) {
                    return false;
                }
                cursor = catalog.lifecycle(c).parent;
            }
            true
        })
        .collect()
}

/// Builds blueprints into histories for one catalog and configuration.
#[derive(Debug, Clone)]
pub struct Builder {
    lifecycles: Vec<LifecycleInfo>,
    /// The products with usable lifecycles, in catalog order.
    products: Vec<DocId>,
    boundaries: Vec<TimeDelta>,
    horizon: TimeDelta,
    start: chrono::DateTime<chrono::Utc>,
    /// Whether a top-up settles overdue bills by itself, under the
    /// readings generation follows.
    top_up_settles: bool,
}

/// What a generator may do with resources of one lifecycle (shared with
/// the fleet's account generator, [`crate::fleet`]).
#[derive(Debug, Clone)]
pub(crate) struct LifecycleInfo {
    pub(crate) id: LifecycleId,
    pub(crate) doc: DocId,
    pub(crate) product: String,
    pub(crate) kind: String,
    pub(crate) billing: BillingMethod,
    pub(crate) parent: Option<LifecycleId>,
    /// Resources of this lifecycle can be charged.
    pub(crate) chargeable: bool,
    /// Operations a history may ask for with `operate` (those that move
    /// the lifecycle listed three times).
    pub(crate) operations: Vec<String>,
    pub(crate) renewable: bool,
    pub(crate) upgradable: bool,
    pub(crate) auto_releasable: bool,
}

/// What one case draws its targets from: the resources made (lifecycle
/// index, id, account index), the lifecycles a purchase may create, and
/// how each account pays.
struct Draw<'a> {
    made: &'a [(usize, String, usize)],
    roots: &'a [usize],
    payers: Vec<Payer>,
}

/// What a late payer adds to each top-up: enough for several of the
/// largest charges a step draws (see [`step`]), so that paying late does
/// settle and what settlement undoes gets exercised.
const LATE_TOP_UP: i64 = 20_000;

/// Operations that carry amounts and have events of their own.
const MECHANISM_OPERATIONS: [&str; 4] = ["purchase", "renew", "upgrade", "set-auto-release"];

impl Builder {
    pub fn new(catalog: &Catalog, config: &GenConfig) -> Builder {
        let usable = usable_lifecycles(catalog, config);
        let usable = |id: LifecycleId| usable.contains(&id);
        let lifecycles: Vec<LifecycleInfo> = catalog
            .lifecycles
            .iter()
            .enumerate()
            .filter(|(i, _)| usable(LifecycleId(*i as u32)))
            .map(|(i, l)| {
                let doc = catalog.document(l.doc);
                let declares = |name: &str| {
                    catalog
                        .op_named(name)
                        .is_some_and(|op| doc.operations.contains_key(&op))
                };
                // Operations that move this lifecycle (start, release,
                // unsubscribe...) are listed three times, so they are drawn
                // more often than those that only succeed or fail.
                let moves: BTreeSet<crate::spec::OpId> = l
                    .transitions
                    .iter()
                    .filter_map(|t| match t.trigger {
                        crate::spec::Trigger::Operation(op) => Some(op),
                        _ => None,
                    })
                    .collect();
                // An operation no rule of this lifecycle speaks of (no
                // transition, no state's capability, no refusal while
                // overdue) is left out: whatever an implementation does with
                // it — releasing by hand a resource the documents give no
                // release, say — is its own choice, and its consequences
                // would be judged against the model's.
                let decided = |op: &crate::spec::OpId| {
                    moves.contains(op)
                        || l.states
                            .iter()
                            .any(|s| s.operations.iter().any(|c| c.op == *op))
                        || doc.operations.get(op).is_some_and(|o| o.fee_incurring)
                };
                let operations = doc
                    .operations
                    .keys()
                    .filter(|op| !MECHANISM_OPERATIONS.contains(&catalog.op_name(**op)))
                    .filter(|op| decided(op))
                    .flat_map(|op| {
                        let times = if moves.contains(op) { 3 } else { 1 };
                        std::iter::repeat_n(catalog.op_name(*op).to_string(), times)
                    })
                    .collect();
                let has_term = matches!(
                    l.billing,
                    BillingMethod::Subscription | BillingMethod::Hybrid
                );
                LifecycleInfo {
                    id: LifecycleId(i as u32),
                    doc: l.doc,
                    product: doc.id.clone(),
                    kind: l.kind.clone(),
                    billing: l.billing,
                    parent: l.parent,
                    chargeable: matches!(
                        l.billing,
                        BillingMethod::PayAsYouGo | BillingMethod::Hybrid
                    ) || (doc.billing.is_none()
                        && l.billing != BillingMethod::NotBilled),
                    operations,
                    renewable: has_term && declares("renew"),
                    upgradable: declares("upgrade"),
                    auto_releasable: declares("set-auto-release"),
                }
            })
            .collect();
        let mut products: Vec<DocId> = lifecycles.iter().map(|l| l.doc).collect();
        products.sort();
        products.dedup();
        Builder {
            lifecycles,
            products,
            boundaries: boundaries(catalog),
            horizon: horizon(catalog),
            start: "2026-01-01T00:00:00Z".parse().expect("a valid instant"),
            top_up_settles: catalog.flag(catalog.ledger.top_up_settles),
        }
    }

    /// The lifecycles generated histories may hold, in catalog order.
    pub(crate) fn lifecycles(&self) -> &[LifecycleInfo] {
        &self.lifecycles
    }

    /// Whether a top-up settles overdue bills by itself under the reading
    /// generation follows (else a payer also presses Pay Now).
    pub(crate) fn top_up_settles(&self) -> bool {
        self.top_up_settles
    }

    /// The instant generated histories start at.
    pub(crate) fn start(&self) -> chrono::DateTime<chrono::Utc> {
        self.start
    }

    fn resolve(&self, spec: &TimeSpec, earlier: &[TimeDelta]) -> TimeDelta {
        let base = match spec.base {
            Some(b) if !earlier.is_empty() => earlier[b % earlier.len()],
            _ => TimeDelta::zero(),
        };
        let boundary = self
            .boundaries
            .get(spec.boundary % self.boundaries.len().max(1))
            .copied()
            .unwrap_or_default();
        let delta = match DELTAS.get(spec.delta) {
            Some(d) => TimeDelta::seconds(*d),
            None => TimeDelta::seconds(spec.jitter as i64),
        };
        (base + boundary + delta).clamp(TimeDelta::zero(), self.horizon)
    }

    /// The same instant moved to the later half of the boundaries, counted
    /// from an earlier charge: when a late payer pays.
    fn late(&self, spec: &TimeSpec) -> TimeSpec {
        let half = self.boundaries.len() / 2;
        TimeSpec {
            base: Some(spec.base.unwrap_or(0)),
            boundary: half + spec.boundary % (self.boundaries.len() - half).max(1),
            ..*spec
        }
    }

    /// Builds a blueprint into a valid history.
    pub fn build(&self, b: &Blueprint) -> Scenario {
        let mut history = History {
            start: self.start,
            until: Some(Offset(self.horizon)),
            accounts: b
                .accounts
                .iter()
                .enumerate()
                .map(|(i, a)| AccountDef {
                    id: format!("a-{}", i + 1),
                    cash: a.cash,
                    vouchers: a.vouchers,
                    credit_alert: a.credit_alert,
                })
                .collect(),
            resources: Vec::new(),
            events: Vec::new(),
            observe: Vec::new(),
        };
        if self.lifecycles.is_empty() {
            return Scenario {
                history,
                observe: Vec::new(),
            };
        }
        // The lifecycles this case draws from: those of its focus products.
        let focus: Vec<DocId> = if b.all_products || b.focus.is_empty() {
            self.products.clone()
        } else {
            b.focus
                .iter()
                .map(|f| self.products[f % self.products.len()])
                .collect()
        };
        let drawn: Vec<usize> = (0..self.lifecycles.len())
            .filter(|i| focus.contains(&self.lifecycles[*i].doc))
            .collect();
        let roots: Vec<usize> = drawn
            .iter()
            .copied()
            .filter(|i| self.lifecycles[*i].parent.is_none())
            .collect();
        // (lifecycle index, resource id, account index) of each resource.
        let mut made: Vec<(usize, String, usize)> = Vec::new();
        for r in &b.resources {
            let li = drawn[r.lifecycle % drawn.len()];
            let account = r.account % history.accounts.len();
            self.add_resource(&mut history, &mut made, li, account, r);
        }
        let draw = Draw {
            made: &made,
            roots: &roots,
            payers: b.accounts.iter().map(|a| b.swarm.payer(a.payer)).collect(),
        };
        // Steps: resolve instants in blueprint order, then sort by time
        // (stably, so steps at one instant keep their order). Payments and
        // operations count from an earlier charge when there is one, so they
        // land at the bill's own boundaries (T+7, T+15, T+30...).
        let mut instants: Vec<TimeDelta> = Vec::new();
        let mut charges: Vec<TimeDelta> = Vec::new();
        let mut events: Vec<(TimeDelta, Event)> = Vec::new();
        let mut purchases = 0;
        for step in b.steps.iter().filter(|s| b.swarm.allows(&s.kind)) {
            let follows_a_bill = !matches!(
                step.kind,
                StepKind::Charge { .. } | StepKind::ChargeHours { .. } | StepKind::Purchase { .. }
            );
            let bases = if follows_a_bill && !charges.is_empty() {
                &charges
            } else {
                &instants
            };
            let late = match step.kind {
                StepKind::TopUp { account: a, .. }
                | StepKind::Voucher { account: a, .. }
                | StepKind::PayNow { account: a } => {
                    draw.payers.get(a % draw.payers.len().max(1)) == Some(&Payer::Late)
                }
                _ => false,
            };
            let when = if late && !charges.is_empty() {
                self.late(&step.when)
            } else {
                step.when
            };
            let at = self.resolve(&when, bases);
            instants.push(at);
            if let Some(e) = self.event(&history, &draw, step, at, &mut purchases) {
                if matches!(e, Event::Charge { .. }) {
                    charges.push(at);
                }
                // Where a top-up alone settles nothing, paying late means
                // Pay Now too: as often as a top-up settles under the
                // reading that it does.
                let pay_now = match (&e, &step.kind) {
                    (Event::TopUp { account, .. }, StepKind::TopUp { pay_now: true, .. })
                        if !self.top_up_settles =>
                    {
                        Some(Event::PayNow {
                            at: Offset(at),
                            account: account.clone(),
                        })
                    }
                    _ => None,
                };
                events.push((at, e));
                if let Some(p) = pay_now {
                    events.push((at, p));
                }
            }
        }
        events.sort_by_key(|(at, _)| *at);
        history.events = events.into_iter().map(|(_, e)| e).collect();
        let mut observe: Vec<Offset> = b
            .observe
            .iter()
            .map(|o| Offset(self.resolve(o, &instants)))
            .collect();
        // A long jump to the end: a system that only re-evaluates on a
        // timer must still show what happened meanwhile.
        observe.push(Offset(self.horizon));
        observe.sort();
        observe.dedup();
        Scenario { history, observe }
    }

    /// Adds a resource of lifecycle `li` (and the parent it needs).
    fn add_resource(
        &self,
        h: &mut History,
        made: &mut Vec<(usize, String, usize)>,
        li: usize,
        account: usize,
        r: &ResourceBlueprint,
    ) -> usize {
        let info = &self.lifecycles[li];
        let parent = info.parent.map(|p| {
            let candidates: Vec<usize> = made
                .iter()
                .enumerate()
                .filter(|(_, (l, _, a))| self.lifecycles[*l].id == p && *a == account)
                .map(|(i, _)| i)
                .collect();
            match candidates.get(r.parent % candidates.len().max(1)) {
                Some(i) => *i,
                None => {
                    let pli = self
                        .lifecycles
                        .iter()
                        .position(|l| l.id == p)
                        .expect("a parent lifecycle of a selected product");
                    self.add_resource(h, made, pli, account, r)
                }
            }
        });
        let n = made
            .iter()
            .filter(|(l, _, _)| self.lifecycles[*l].kind == info.kind)
            .count()
            + 1;
        let id = format!("{}-{n}", info.kind);
        let has_term = matches!(
            info.billing,
            BillingMethod::Subscription | BillingMethod::Hybrid
        );
        h.resources.push(ResourceDef {
            id: id.clone(),
            account: h.accounts[account].id.clone(),
            product: info.product.clone(),
            kind: info.kind.clone(),
            billing: info.billing,
            parent: parent.map(|p| made[p].1.clone()),
            hourly_price: info.chargeable.then_some(r.hourly_price),
            purchased_at: (has_term && r.bought_days_ago > 0).then(|| {
                Offset(-TimeDelta::days(
                    r.bought_days_ago.min(r.term_days - 1).max(0),
                ))
            }),
            term: has_term.then_some(Term::Fixed(TimeDelta::days(r.term_days))),
            paid_cash: if has_term { r.paid_cash } else { 0 },
            paid_voucher: if has_term { r.paid_voucher } else { 0 },
            auto_release_at: None,
            associated_with: None,
        });
        made.push((li, id, account));
        made.len() - 1
    }

    fn pick<'m>(
        &self,
        made: &'m [(usize, String, usize)],
        target: usize,
        ok: impl Fn(&LifecycleInfo) -> bool,
    ) -> Option<&'m (usize, String, usize)> {
        let eligible: Vec<&(usize, String, usize)> = made
            .iter()
            .filter(|(l, _, _)| ok(&self.lifecycles[*l]))
            .collect();
        (!eligible.is_empty()).then(|| eligible[target % eligible.len()])
    }

    fn event(
        &self,
        h: &History,
        draw: &Draw<'_>,
        step: &Step,
        at: TimeDelta,
        purchases: &mut usize,
    ) -> Option<Event> {
        let (made, roots, payers) = (draw.made, draw.roots, &draw.payers);
        let at_offset = Offset(at);
        let account = |i: usize| h.accounts[i % h.accounts.len()].id.clone();
        Some(match &step.kind {
            StepKind::Charge { target, amount } => {
                let (_, id, _) = self.pick(made, *target, |l| l.chargeable)?;
                Event::Charge {
                    at: at_offset,
                    resource: id.clone(),
                    amount: Some(*amount),
                    hours: None,
                }
            }
            StepKind::ChargeHours { target, hours } => {
                let (_, id, _) = self.pick(made, *target, |l| l.chargeable)?;
                Event::Charge {
                    at: at_offset,
                    resource: id.clone(),
                    amount: None,
                    hours: Some(*hours),
                }
            }
            StepKind::TopUp { account: a, .. }
            | StepKind::Voucher { account: a, .. }
            | StepKind::PayNow { account: a }
                if payers[a % payers.len()] == Payer::Never =>
            {
                return None;
            }
            StepKind::TopUp {
                account: a, amount, ..
            } => Event::TopUp {
                at: at_offset,
                account: account(*a),
                // A late payer pays up in full when it finally pays: its
                // top-up also covers the largest bills a case draws.
                amount: match payers[a % payers.len()] {
                    Payer::Late => *amount + LATE_TOP_UP,
                    _ => *amount,
                },
            },
            StepKind::Voucher { account: a, amount } => Event::GrantVoucher {
                at: at_offset,
                account: account(*a),
                amount: *amount,
            },
            StepKind::PayNow { account: a } => Event::PayNow {
                at: at_offset,
                account: account(*a),
            },
            StepKind::Operate { target, op } => {
                let (l, id, _) = self.pick(made, *target, |l| !l.operations.is_empty())?;
                let ops = &self.lifecycles[*l].operations;
                Event::Operate {
                    at: at_offset,
                    resource: id.clone(),
                    operation: ops[op % ops.len()].clone(),
                }
            }
            StepKind::Renew {
                target,
                term_days,
                price,
            } => {
                let (_, id, _) = self.pick(made, *target, |l| l.renewable)?;
                Event::Renew {
                    at: at_offset,
                    resource: id.clone(),
                    term: Term::Fixed(TimeDelta::days(*term_days)),
                    price: *price,
                }
            }
            StepKind::Upgrade { target, price } => {
                let (_, id, _) = self.pick(made, *target, |l| l.upgradable)?;
                Event::Upgrade {
                    at: at_offset,
                    resource: id.clone(),
                    price: *price,
                }
            }
            StepKind::AutoRelease { target, after } => {
                let (_, id, _) = self.pick(made, *target, |l| l.auto_releasable)?;
                let release = (at + self.resolve(after, &[])).min(self.horizon);
                Event::SetAutoRelease {
                    at: at_offset,
                    resource: id.clone(),
                    release_at: Offset(release),
                }
            }
            StepKind::Purchase {
                account: a,
                lifecycle,
                price,
                term_days,
            } => {
                if roots.is_empty() {
                    return None;
                }
                let info = &self.lifecycles[roots[lifecycle % roots.len()]];
                *purchases += 1;
                let has_term = matches!(
                    info.billing,
                    BillingMethod::Subscription | BillingMethod::Hybrid
                );
                Event::Purchase {
                    at: at_offset,
                    account: account(*a),
                    resource: Box::new(ResourceDef {
                        id: format!("bought-{}", *purchases),
                        account: String::new(),
                        product: info.product.clone(),
                        kind: info.kind.clone(),
                        billing: info.billing,
                        parent: None,
                        hourly_price: info.chargeable.then_some(100),
                        purchased_at: None,
                        term: has_term.then_some(Term::Fixed(TimeDelta::days(*term_days))),
                        paid_cash: 0,
                        paid_voucher: 0,
                        auto_release_at: None,
                        associated_with: None,
                    }),
                    price: *price,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
