//! Building a blueprint into a valid history, deterministically: which
//! lifecycles a case draws from (what a generator may do with each is
//! [`LifecycleInfo`]), the resources (a child bringing the parent it needs), each step's instant
//! and event, and the observation instants.

use chrono::TimeDelta;

use super::{
    Blueprint, DELTAS, GenConfig, LifecycleInfo, Payer, ResourceBlueprint, Scenario, Step,
    StepKind, TimeSpec, boundaries, horizon, usable_lifecycles,
};
use crate::history::{AccountDef, Event, History, Offset, ResourceDef, Term};
use crate::spec::{BillingMethod, Catalog, DocId, LifecycleId};

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

/// What one case draws its targets from: the resources made (lifecycle
/// index, id, account index), the lifecycles a purchase may create, and
/// how each account pays.
struct Draw<'a> {
    made: &'a [(usize, String, usize)],
    roots: &'a [usize],
    payers: Vec<Payer>,
}

/// What a late payer adds to each top-up: enough for several of the
/// largest charges a step draws (see the `step` strategy in
/// [`strategies`](super::strategies)), so that paying late does
/// settle and what settlement undoes gets exercised.
const LATE_TOP_UP: i64 = 20_000;

impl Builder {
    pub fn new(catalog: &Catalog, config: &GenConfig) -> Builder {
        let usable = usable_lifecycles(catalog, config);
        let usable = |id: LifecycleId| usable.contains(&id);
        let lifecycles: Vec<LifecycleInfo> = catalog
            .lifecycles
            .iter()
            .enumerate()
            .filter(|(i, _)| usable(LifecycleId(*i as u32)))
            .map(|(i, l)| LifecycleInfo::of(catalog, LifecycleId(i as u32), l))
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
        let mut history = self.history_of_accounts(b);
        if self.lifecycles.is_empty() {
            return Scenario {
                history,
                observe: Vec::new(),
            };
        }
        let drawn = self.drawn_lifecycles(b);
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
        let (instants, mut events) = self.step_events(&history, &draw, b);
        events.sort_by_key(|(at, _)| *at);
        history.events = events.into_iter().map(|(_, e)| e).collect();
        let observe = self.observations(b, &instants);
        Scenario { history, observe }
    }

    /// The history's start, end and accounts, before any resource or event.
    fn history_of_accounts(&self, b: &Blueprint) -> History {
        History {
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
        }
    }

    /// The lifecycles this case draws from: those of its focus products
    /// (indexes into the builder's lifecycles).
    fn drawn_lifecycles(&self, b: &Blueprint) -> Vec<usize> {
        let focus: Vec<DocId> = if b.all_products || b.focus.is_empty() {
            self.products.clone()
        } else {
            b.focus
                .iter()
                .map(|f| self.products[f % self.products.len()])
                .collect()
        };
        (0..self.lifecycles.len())
            .filter(|i| focus.contains(&self.lifecycles[*i].doc))
            .collect()
    }

    /// The events of the blueprint's steps, with each step's instant (in
    /// blueprint order; the events not yet sorted by time).
    fn step_events(
        &self,
        history: &History,
        draw: &Draw<'_>,
        b: &Blueprint,
    ) -> (Vec<TimeDelta>, Vec<(TimeDelta, Event)>) {
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
            let when = if pays_late(draw, step) && !charges.is_empty() {
                self.late(&step.when)
            } else {
                step.when
            };
            let at = self.resolve(&when, bases);
            instants.push(at);
            if let Some(e) = self.event(history, draw, step, at, &mut purchases) {
                if matches!(e, Event::Charge { .. }) {
                    charges.push(at);
                }
                let pay_now = self.pay_now_after(&e, step, at);
                events.push((at, e));
                if let Some(p) = pay_now {
                    events.push((at, p));
                }
            }
        }
        (instants, events)
    }

    /// The Pay Now that follows a top-up. Where a top-up alone settles
    /// nothing, paying late means Pay Now too: as often as a top-up
    /// settles under the reading that it does.
    fn pay_now_after(&self, e: &Event, step: &Step, at: TimeDelta) -> Option<Event> {
        match (e, &step.kind) {
            (Event::TopUp { account, .. }, StepKind::TopUp { pay_now: true, .. })
                if !self.top_up_settles =>
            {
                Some(Event::PayNow {
                    at: Offset(at),
                    account: account.clone(),
                })
            }
            _ => None,
        }
    }

    /// The observation instants: the blueprint's, and the end.
    fn observations(&self, b: &Blueprint, instants: &[TimeDelta]) -> Vec<Offset> {
        let mut observe: Vec<Offset> = b
            .observe
            .iter()
            .map(|o| Offset(self.resolve(o, instants)))
            .collect();
        // A long jump to the end: a system that only re-evaluates on a
        // timer must still show what happened meanwhile.
        observe.push(Offset(self.horizon));
        observe.sort();
        observe.dedup();
        observe
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
    /// The event a step makes at `at`, if what it needs exists (a resource
    /// of the right kind, an account that pays at all).
    fn event(
        &self,
        h: &History,
        draw: &Draw<'_>,
        step: &Step,
        at: TimeDelta,
        purchases: &mut usize,
    ) -> Option<Event> {
        let (made, payers) = (draw.made, &draw.payers);
        let at_offset = Offset(at);
        let account = |i: usize| h.accounts[i % h.accounts.len()].id.clone();
        Some(match &step.kind {
            StepKind::Charge { target, amount } => {
                self.charge(made, *target, Some(*amount), None, at_offset)?
            }
            StepKind::ChargeHours { target, hours } => {
                self.charge(made, *target, None, Some(*hours), at_offset)?
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
            StepKind::Operate { target, op } => self.operate(made, *target, *op, at_offset)?,
            StepKind::Renew {
                target,
                term_days,
                price,
            } => self.renew(made, *target, *term_days, *price, at_offset)?,
            StepKind::Upgrade { target, price } => {
                self.upgrade(made, *target, *price, at_offset)?
            }
            StepKind::AutoRelease { target, after } => {
                self.auto_release(made, *target, after, at)?
            }
            StepKind::Purchase {
                account: a,
                lifecycle,
                price,
                term_days,
            } => {
                let info = self.purchasable(draw, *lifecycle)?;
                *purchases += 1;
                Event::Purchase {
                    at: at_offset,
                    account: account(*a),
                    resource: Box::new(purchased_resource(info, *purchases, *term_days)),
                    price: *price,
                }
            }
        })
    }

    /// The lifecycle a purchase buys, among those the case may create (none
    /// when it may create none).
    fn purchasable(&self, draw: &Draw<'_>, lifecycle: usize) -> Option<&LifecycleInfo> {
        if draw.roots.is_empty() {
            return None;
        }
        Some(&self.lifecycles[draw.roots[lifecycle % draw.roots.len()]])
    }

    /// A charge, of an amount or of hours, to a resource that can be charged.
    fn charge(
        &self,
        made: &[(usize, String, usize)],
        target: usize,
        amount: Option<i64>,
        hours: Option<i64>,
        at: Offset,
    ) -> Option<Event> {
        let (_, id, _) = self.pick(made, target, |l| l.chargeable)?;
        Some(Event::Charge {
            at,
            resource: id.clone(),
            amount,
            hours,
        })
    }

    /// An operation on a resource that has operations to draw from.
    fn operate(
        &self,
        made: &[(usize, String, usize)],
        target: usize,
        op: usize,
        at: Offset,
    ) -> Option<Event> {
        let (l, id, _) = self.pick(made, target, |l| !l.operations.is_empty())?;
        let ops = &self.lifecycles[*l].operations;
        Some(Event::Operate {
            at,
            resource: id.clone(),
            operation: ops[op % ops.len()].clone(),
        })
    }

    /// A renewal of a resource that can be renewed.
    fn renew(
        &self,
        made: &[(usize, String, usize)],
        target: usize,
        term_days: i64,
        price: i64,
        at: Offset,
    ) -> Option<Event> {
        let (_, id, _) = self.pick(made, target, |l| l.renewable)?;
        Some(Event::Renew {
            at,
            resource: id.clone(),
            term: Term::Fixed(TimeDelta::days(term_days)),
            price,
        })
    }

    /// An upgrade of a resource that can be upgraded.
    fn upgrade(
        &self,
        made: &[(usize, String, usize)],
        target: usize,
        price: i64,
        at: Offset,
    ) -> Option<Event> {
        let (_, id, _) = self.pick(made, target, |l| l.upgradable)?;
        Some(Event::Upgrade {
            at,
            resource: id.clone(),
            price,
        })
    }

    /// An automatic release, `after` from now (within the history), set on a
    /// resource that can have one.
    fn auto_release(
        &self,
        made: &[(usize, String, usize)],
        target: usize,
        after: &TimeSpec,
        at: TimeDelta,
    ) -> Option<Event> {
        let (_, id, _) = self.pick(made, target, |l| l.auto_releasable)?;
        let release = (at + self.resolve(after, &[])).min(self.horizon);
        Some(Event::SetAutoRelease {
            at: Offset(at),
            resource: id.clone(),
            release_at: Offset(release),
        })
    }
}

/// Whether the step is a payment by an account that pays late.
fn pays_late(draw: &Draw<'_>, step: &Step) -> bool {
    match step.kind {
        StepKind::TopUp { account: a, .. }
        | StepKind::Voucher { account: a, .. }
        | StepKind::PayNow { account: a } => {
            draw.payers.get(a % draw.payers.len().max(1)) == Some(&Payer::Late)
        }
        _ => false,
    }
}

/// The resource the `n`th purchase of a case buys, of lifecycle `info`.
fn purchased_resource(info: &LifecycleInfo, n: usize, term_days: i64) -> ResourceDef {
    let has_term = matches!(
        info.billing,
        BillingMethod::Subscription | BillingMethod::Hybrid
    );
    ResourceDef {
        id: format!("bought-{n}"),
        account: String::new(),
        product: info.product.clone(),
        kind: info.kind.clone(),
        billing: info.billing,
        parent: None,
        hourly_price: info.chargeable.then_some(100),
        purchased_at: None,
        term: has_term.then_some(Term::Fixed(TimeDelta::days(term_days))),
        paid_cash: 0,
        paid_voucher: 0,
        auto_release_at: None,
        associated_with: None,
    }
}
