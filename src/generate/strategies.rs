//! The proptest strategies of the property suite: the boundaries the specs
//! name and how far histories run, and the strategies of blueprints (time
//! specs, accounts, resources, steps, swarms) and of the scenarios built
//! from them.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use proptest::prelude::*;
use proptest::sample::SizeRange;

use super::{
    AccountBlueprint, Blueprint, Builder, DELTAS, GenConfig, Payer, ResourceBlueprint, Scenario,
    Step, StepKind, Swarm, TimeSpec,
};
use crate::spec::{Catalog, LifecycleId, ParamValue};

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
