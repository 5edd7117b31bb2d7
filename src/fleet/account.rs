//! One simulated account of a fleet: its resources and a history of
//! everyday billing over the fleet's days, drawn from its own random
//! stream (keyed by the run's seed and the account's index, as `verify`
//! keys its cases), so an account is the same whatever the thread count or
//! shard layout, and `--replay-account` rebuilds it alone.
//!
//! The vocabulary is the property suite's ([`crate::generate`]): the
//! lifecycles a generated history may hold and what may be done with them,
//! and the three payment behaviours. What differs is the shape: instead of
//! a few steps around the specs' boundaries, an account lives through
//! ordinary days — usage billed daily, top-ups on its payer's rhythm,
//! renewals around expiry, now and then an operation — and the specs
//! decide what comes of it.

use chrono::TimeDelta;
use proptest::prelude::Rng;
use proptest::test_runner::TestRng;

use super::mix::Mix;
use crate::generate::{Builder, LifecycleInfo, Payer};
use crate::history::{AccountDef, Event, History, Offset, ResourceDef, Term};
use crate::spec::{BillingMethod, Catalog};

/// A subscription's term, in days.
const TERM_DAYS: i64 = 30;

/// A share, and the builder's indexes of the root lifecycles it draws from.
type Methods = Vec<(u32, Vec<usize>)>;

/// What the generator needs of the catalog and the mix, prepared once per run.
#[derive(Debug, Clone)]
pub struct Menu {
    builder: Builder,
    /// Per product of the mix: its share, and per billing method its share
    /// and the root lifecycles (indexes into the builder's) it draws from.
    products: Vec<(u32, Methods)>,
    /// Per lifecycle (builder index), the lifecycles that attach under it.
    children: Vec<Vec<usize>>,
    /// Per lifecycle (builder index), the operations an owner may ask for
    /// (each once), and whether each ends the resource (moves it to a
    /// final state): after one, its owner stops using it.
    operations: Vec<Vec<(String, bool)>>,
    payers: [(Payer, u32); 3],
    resources: (u32, u32),
    attachments: u32,
    weekly_operations: u32,
    weekly_hand_releases: u32,
}

/// A generated account: its history and how it pays.
#[derive(Debug, Clone)]
pub struct Account {
    pub history: History,
    pub payer: Payer,
}

impl Menu {
    /// Prepares `mix` (already checked against `catalog`) for drawing.
    pub fn new(catalog: &Catalog, mix: &Mix) -> Menu {
        Menu::restricted(catalog, mix, None)
    }

    /// Prepares `mix` for drawing only resources of `lifecycles` (those an
    /// implementation under test implements), when given.
    pub fn restricted(
        catalog: &Catalog,
        mix: &Mix,
        lifecycles: Option<std::collections::BTreeSet<crate::spec::LifecycleId>>,
    ) -> Menu {
        let config = crate::generate::GenConfig {
            lifecycles,
            ..crate::generate::GenConfig::all(catalog)
        };
        let builder = Builder::new(catalog, &config);
        let infos = builder.lifecycles();
        let products = product_shares(catalog, mix, infos);
        let children = infos
            .iter()
            .map(|parent| {
                (0..infos.len())
                    .filter(|i| infos[*i].parent == Some(parent.id))
                    .collect()
            })
            .collect();
        let operations = owner_operations(catalog, infos);
        Menu {
            builder,
            products,
            children,
            operations,
            payers: [
                (Payer::OnTime, mix.payers.on_time),
                (Payer::Late, mix.payers.late),
                (Payer::Never, mix.payers.never),
            ],
            resources: (mix.resources_per_account.min, mix.resources_per_account.max),
            attachments: mix.attachments,
            weekly_operations: mix.weekly_operations,
            weekly_hand_releases: mix.weekly_hand_releases,
        }
    }

    /// Whether any resource can be drawn at all.
    pub fn draws_anything(&self) -> bool {
        self.products.iter().any(|p| p.0 > 0)
    }

    /// Draws account `index` of a fleet over `days` days. The draws come
    /// from the account's own random stream in a fixed order (payer,
    /// resources, balances, operations, usage, payments, renewals): the
    /// pinned fleet reports depend on that order.
    pub fn account(&self, seed: u64, index: u64, days: u32) -> Account {
        let mut rng = crate::verify::case_rng(seed, index);
        let payer = weighted(&mut rng, &self.payers.map(|(p, w)| (w, p)))
            .copied()
            .unwrap_or(Payer::OnTime);
        let id = format!("acct-{index}");
        let (resources, made) = self.draw_resources(&mut rng, id.clone());
        let daily: i64 = resources.iter().filter_map(|r| r.hourly_price).sum::<i64>() * 24;
        let horizon = TimeDelta::days(i64::from(days));
        let account = account_def(&mut rng, id.clone(), payer, daily);
        let mut events: Vec<Event> = Vec::new();
        let mut ends = self.operations(&mut rng, &resources, &made, horizon, &mut events);
        end_attachments_with_parents(&resources, &mut ends);
        daily_usage(&mut rng, &resources, &ends, days, &mut events);
        let renewals = self.renewal_prices(&resources, &made);
        events.extend(self.payments(&mut rng, payer, &id, daily, renewals, horizon));
        self.renewals(&mut rng, payer, &resources, &made, &ends, &mut events);
        // Stable: events at one instant keep the order they were made in
        // (operations, charges, payments, renewals).
        events.sort_by_key(Event::at);
        Account {
            history: History {
                start: self.builder.start(),
                until: Some(Offset(horizon)),
                accounts: vec![account],
                resources,
                events,
                observe: Vec::new(),
            },
            payer,
        }
    }

    /// The account's resources (with the builder's lifecycle index of
    /// each): its root resources drawn by product and billing method, each
    /// with the attachments the mix's chance gives it.
    fn draw_resources(&self, rng: &mut TestRng, account: String) -> (Vec<ResourceDef>, Vec<usize>) {
        let mut draw = Draw {
            menu: self,
            rng,
            account,
            resources: Vec::new(),
            made: Vec::new(),
        };
        let roots = draw.rng.random_range(self.resources.0..=self.resources.1);
        for _ in 0..roots {
            let Some((_, methods)) =
                weighted_index(draw.rng, &self.products, |p| p.0).map(|i| &self.products[i])
            else {
                break;
            };
            let Some((_, lifecycles)) =
                weighted_index(draw.rng, methods, |m| m.0).map(|i| &methods[i])
            else {
                continue;
            };
            let li = lifecycles[draw.rng.random_range(0..lifecycles.len())];
            draw.add(li, None);
        }
        let Draw {
            resources, made, ..
        } = draw;
        (resources, made)
    }

    /// Now and then an operation; one that ends a resource (a release,
    /// an unsubscription) ends its use. Returns when each resource's use
    /// ends (the horizon, or the operation that ended it).
    fn operations(
        &self,
        rng: &mut TestRng,
        resources: &[ResourceDef],
        made: &[usize],
        horizon: TimeDelta,
        events: &mut Vec<Event>,
    ) -> Vec<TimeDelta> {
        let mut ends: Vec<TimeDelta> = vec![horizon; resources.len()];
        for (i, li) in made.iter().enumerate() {
            let operations = &self.operations[*li];
            let ending: Vec<&(String, bool)> = operations.iter().filter(|o| o.1).collect();
            let other: Vec<&(String, bool)> = operations.iter().filter(|o| !o.1).collect();
            let mut week = 0;
            while TimeDelta::days(week * 7) < ends[i] {
                let week_start = TimeDelta::days(week * 7);
                for (choices, chance) in [
                    (&other, self.weekly_operations),
                    (&ending, self.weekly_hand_releases),
                ] {
                    if choices.is_empty() || rng.random_range(0..100) >= chance {
                        continue;
                    }
                    let at = week_start + TimeDelta::hours(rng.random_range(0..168));
                    if at >= ends[i] {
                        continue;
                    }
                    let (operation, ending) = choices[rng.random_range(0..choices.len())];
                    events.push(Event::Operate {
                        at: Offset(at),
                        resource: resources[i].id.clone(),
                        operation: operation.clone(),
                    });
                    if *ending {
                        ends[i] = at;
                    }
                }
                week += 1;
            }
        }
        ends
    }

    /// What renewing every renewable resource once costs.
    fn renewal_prices(&self, resources: &[ResourceDef], made: &[usize]) -> i64 {
        let infos = self.builder.lifecycles();
        resources
            .iter()
            .zip(made)
            .filter(|(_, li)| infos[**li].renewable)
            .map(|(r, _)| r.paid_cash.max(100))
            .sum()
    }

    /// Payments on the payer's rhythm: top-ups (each followed by Pay Now
    /// when a top-up does not settle by itself) sized to the account's
    /// daily usage and its renewals.
    fn payments(
        &self,
        rng: &mut TestRng,
        payer: Payer,
        id: &str,
        daily: i64,
        renewals: i64,
        horizon: TimeDelta,
    ) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        let pays_now = !self.builder.top_up_settles();
        let pay = |events: &mut Vec<Event>, at: TimeDelta, amount: i64| {
            events.push(Event::TopUp {
                at: Offset(at),
                account: id.to_string(),
                amount,
            });
            if pays_now {
                events.push(Event::PayNow {
                    at: Offset(at),
                    account: id.to_string(),
                });
            }
        };
        match payer {
            Payer::OnTime => {
                let hour = TimeDelta::hours(rng.random_range(0..24));
                let mut day = 7;
                while TimeDelta::days(day) < horizon {
                    let amount = daily * 8 + renewals / 4 + 1;
                    pay(&mut events, TimeDelta::days(day) + hour, amount);
                    day += 7;
                }
            }
            Payer::Late => {
                let gap = rng.random_range(16..=45);
                let hour = TimeDelta::hours(rng.random_range(0..24));
                let mut day = gap;
                while TimeDelta::days(day) < horizon {
                    let amount = daily * (gap + 10) + renewals * 2 + 1;
                    pay(&mut events, TimeDelta::days(day) + hour, amount);
                    day += gap;
                }
            }
            Payer::Never => {}
        }
        events
    }

    /// Renewals around expiry: an on-time payer renews a few days before,
    /// a late one up to 20 days after, one that never pays not at all.
    fn renewals(
        &self,
        rng: &mut TestRng,
        payer: Payer,
        resources: &[ResourceDef],
        made: &[usize],
        ends: &[TimeDelta],
        events: &mut Vec<Event>,
    ) {
        let infos = self.builder.lifecycles();
        for ((r, li), end) in resources.iter().zip(made).zip(ends) {
            if !infos[*li].renewable || payer == Payer::Never {
                continue;
            }
            let bought = r.purchased_at.map_or(TimeDelta::zero(), |o| o.0);
            let mut expiry = bought + TimeDelta::days(TERM_DAYS);
            while expiry < *end {
                let at = match payer {
                    Payer::OnTime => expiry - TimeDelta::days(rng.random_range(1..=3)),
                    _ => expiry + TimeDelta::days(rng.random_range(1..=20)),
                };
                if at >= TimeDelta::zero() && at < *end {
                    events.push(Event::Renew {
                        at: Offset(at),
                        resource: r.id.clone(),
                        term: Term::Fixed(TimeDelta::days(TERM_DAYS)),
                        price: r.paid_cash.max(100),
                    });
                }
                expiry += TimeDelta::days(TERM_DAYS);
            }
        }
    }
}

/// The account's opening cash balance (by how its payer pays, against its
/// daily usage), vouchers and credit alert.
fn account_def(rng: &mut TestRng, id: String, payer: Payer, daily: i64) -> AccountDef {
    let cash = match payer {
        Payer::OnTime => daily * 14 + rng.random_range(0..=10_000),
        Payer::Late => daily * rng.random_range(0..=10),
        Payer::Never => daily * rng.random_range(0..=5),
    };
    AccountDef {
        id,
        cash,
        vouchers: if rng.random_bool(0.3) {
            rng.random_range(0..=daily * 3 + 100)
        } else {
            0
        },
        credit_alert: rng.random_bool(0.3).then(|| daily * 3),
    }
}

/// Resources come after their parents: an attachment's use ends with its
/// parent's.
fn end_attachments_with_parents(resources: &[ResourceDef], ends: &mut [TimeDelta]) {
    for i in 0..resources.len() {
        if let Some(p) = &resources[i].parent
            && let Some(pi) = resources.iter().position(|r| &r.id == p)
        {
            ends[i] = ends[i].min(ends[pi]);
        }
    }
}

/// Usage, billed daily at an hour of the account's own, while each
/// resource is in use.
fn daily_usage(
    rng: &mut TestRng,
    resources: &[ResourceDef],
    ends: &[TimeDelta],
    days: u32,
    events: &mut Vec<Event>,
) {
    let billing_hour = TimeDelta::hours(rng.random_range(0..24));
    for day in 0..i64::from(days) {
        let at = Offset(TimeDelta::days(day) + billing_hour);
        for (r, _) in resources
            .iter()
            .zip(ends)
            .filter(|(r, end)| r.hourly_price.is_some() && at.0 < **end)
        {
            events.push(Event::Charge {
                at,
                resource: r.id.clone(),
                amount: None,
                hours: Some(24),
            });
        }
    }
}

/// The resources of one account as they are drawn.
struct Draw<'a> {
    menu: &'a Menu,
    rng: &'a mut TestRng,
    account: String,
    resources: Vec<ResourceDef>,
    /// The builder's lifecycle index of each resource.
    made: Vec<usize>,
}

impl Draw<'_> {
    /// Adds a resource of lifecycle `li` (under `parent`), and by the mix's
    /// chance each resource that may attach under it.
    fn add(&mut self, li: usize, parent: Option<String>) {
        let info: &LifecycleInfo = &self.menu.builder.lifecycles()[li];
        let n = self.resources.len() + 1;
        let id = format!("{}-{n}", info.kind);
        let has_term = matches!(
            info.billing,
            BillingMethod::Subscription | BillingMethod::Hybrid
        );
        let hourly_price = info.chargeable.then(|| self.rng.random_range(5..=200_i64));
        let bought_days_ago = self.rng.random_range(0..TERM_DAYS);
        let paid = self.rng.random_range(1_000..=30_000_i64);
        self.resources.push(ResourceDef {
            id: id.clone(),
            account: self.account.clone(),
            product: info.product.clone(),
            kind: info.kind.clone(),
            billing: info.billing,
            parent,
            hourly_price,
            purchased_at: has_term.then(|| Offset(-TimeDelta::days(bought_days_ago))),
            term: has_term.then_some(Term::Fixed(TimeDelta::days(TERM_DAYS))),
            paid_cash: if has_term { paid } else { 0 },
            paid_voucher: 0,
            auto_release_at: None,
            associated_with: None,
        });
        self.made.push(li);
        for child in self.menu.children[li].clone() {
            if self.rng.random_range(0..100) < self.menu.attachments {
                self.add(child, Some(id.clone()));
            }
        }
    }
}

/// Per product of the mix: its share, and per billing method its share and
/// the root lifecycles (indexes into `infos`) it draws from.
fn product_shares(catalog: &Catalog, mix: &Mix, infos: &[LifecycleInfo]) -> Vec<(u32, Methods)> {
    mix.products
        .iter()
        .filter_map(|(name, p)| {
            let doc = catalog.document_named(name)?;
            let methods = p
                .billing
                .iter()
                .map(|(method, share)| {
                    let roots = (0..infos.len())
                        .filter(|i| {
                            let l = &infos[*i];
                            l.doc == doc && l.parent.is_none() && l.billing == *method
                        })
                        .collect::<Vec<usize>>();
                    (if roots.is_empty() { 0 } else { *share }, roots)
                })
                .collect::<Methods>();
            // A product none of whose billing methods can be drawn
            // (not implemented) is left out, not drawn empty.
            let share = if methods.iter().all(|m| m.0 == 0) {
                0
            } else {
                p.share
            };
            Some((share, methods))
        })
        .collect()
}

/// Per lifecycle, the operations an owner may ask for (each once), and
/// whether each ends the resource (moves it to a final state).
fn owner_operations(catalog: &Catalog, infos: &[LifecycleInfo]) -> Vec<Vec<(String, bool)>> {
    infos
        .iter()
        .map(|info| {
            let lifecycle = catalog.lifecycle(info.id);
            let mut ops: Vec<(String, bool)> = Vec::new();
            for name in &info.operations {
                if ops.iter().any(|(n, _)| n == name) {
                    continue;
                }
                let ends = lifecycle.transitions.iter().any(|t| {
                    matches!(t.trigger, crate::spec::Trigger::Operation(op)
                        if catalog.op_name(op) == name)
                        && lifecycle.state(t.to).terminal
                });
                ops.push((name.clone(), ends));
            }
            ops
        })
        .collect()
}

/// Draws one of `choices` by weight; `None` when every weight is 0.
fn weighted<'c, T>(rng: &mut TestRng, choices: &'c [(u32, T)]) -> Option<&'c T> {
    weighted_index(rng, choices, |c| c.0).map(|i| &choices[i].1)
}

/// Draws the index of one of `choices` by the weight `weight` gives it.
fn weighted_index<T>(
    rng: &mut TestRng,
    choices: &[T],
    weight: impl Fn(&T) -> u32,
) -> Option<usize> {
    let total: u64 = choices.iter().map(|c| u64::from(weight(c))).sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.random_range(0..total);
    for (i, c) in choices.iter().enumerate() {
        let w = u64::from(weight(c));
        if pick < w {
            return Some(i);
        }
        pick -= w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        crate::spec::compile(&crate::spec::sources::embedded()).unwrap()
    }

    #[test]
    fn accounts_are_valid_histories_that_the_model_runs() {
        let catalog = catalog();
        let menu = Menu::new(&catalog, &Mix::default_mix());
        for index in 0..200 {
            let a = menu.account(7, index, 90);
            a.history
                .validate(&catalog)
                .unwrap_or_else(|e| panic!("account {index}: {e}\n{}", a.history.to_yaml()));
            crate::model::run(&catalog, &a.history, &[]).unwrap();
        }
    }

    #[test]
    fn an_account_depends_on_the_seed_and_its_index_only() {
        let catalog = catalog();
        let menu = Menu::new(&catalog, &Mix::default_mix());
        assert_eq!(
            menu.account(3, 17, 90).history,
            menu.account(3, 17, 90).history
        );
        assert_ne!(
            menu.account(3, 17, 90).history,
            menu.account(3, 18, 90).history
        );
        assert_ne!(
            menu.account(3, 17, 90).history,
            menu.account(4, 17, 90).history
        );
    }
}
