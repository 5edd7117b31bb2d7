//! Throughput of the reference model: histories per second.
//!
//! A "typical" history is one account with a mixed fleet over 60 days (a
//! pay-as-you-go ECS instance with a disk and a snapshot, a subscription
//! instance, an hourly EMR cluster, a Flink workspace with a job and
//! storage), about 150 events, paying late now and then. The fleet case puts
//! many such accounts in one history.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use arrears::history::{AccountDef, Event, History, Offset, ResourceDef, Term};
use arrears::spec::{BillingMethod, Catalog};
use chrono::TimeDelta;

// The binary's allocator (`src/main.rs`), so that the figures are the
// command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn resource(
    id: String,
    account: &str,
    product: &str,
    kind: &str,
    billing: BillingMethod,
    parent: Option<String>,
) -> ResourceDef {
    ResourceDef {
        id,
        account: account.to_string(),
        product: product.to_string(),
        kind: kind.to_string(),
        billing,
        parent,
        hourly_price: Some(100),
        purchased_at: None,
        term: matches!(billing, BillingMethod::Subscription)
            .then_some(Term::Fixed(TimeDelta::days(30))),
        paid_cash: 0,
        paid_voucher: 0,
        auto_release_at: None,
        associated_with: None,
    }
}

fn at(days: i64, hours: i64) -> Offset {
    Offset(TimeDelta::days(days) + TimeDelta::hours(hours))
}

/// Adds one account with its fleet and 60 days of events to `h`.
fn add_account(h: &mut History, n: usize, events: &mut Vec<Event>) {
    let a = format!("a-{n}");
    h.accounts.push(AccountDef {
        id: a.clone(),
        cash: 5_000,
        vouchers: 500,
        credit_alert: Some(1_000),
    });
    let i = format!("i-{n}");
    h.resources.push(resource(
        i.clone(),
        &a,
        "ecs",
        "instance",
        BillingMethod::PayAsYouGo,
        None,
    ));
    h.resources.push(resource(
        format!("d-{n}"),
        &a,
        "ecs",
        "disk",
        BillingMethod::NotBilled,
        Some(i.clone()),
    ));
    h.resources.push(resource(
        format!("s-{n}"),
        &a,
        "ecs",
        "snapshot",
        BillingMethod::NotBilled,
        Some(i.clone()),
    ));
    h.resources.push(resource(
        format!("sub-{n}"),
        &a,
        "ecs",
        "instance",
        BillingMethod::Subscription,
        None,
    ));
    h.resources.push(resource(
        format!("c-{n}"),
        &a,
        "emr",
        "cluster",
        BillingMethod::PayAsYouGo,
        None,
    ));
    let w = format!("w-{n}");
    h.resources.push(resource(
        w.clone(),
        &a,
        "flink",
        "workspace",
        BillingMethod::PayAsYouGo,
        None,
    ));
    h.resources.push(resource(
        format!("j-{n}"),
        &a,
        "flink",
        "job",
        BillingMethod::NotBilled,
        Some(w.clone()),
    ));
    h.resources.push(resource(
        format!("st-{n}"),
        &a,
        "flink",
        "storage",
        BillingMethod::PayAsYouGo,
        Some(w),
    ));
    for day in 0..60 {
        events.push(Event::Charge {
            at: at(day, 1),
            resource: i.clone(),
            amount: Some(300 + (n as i64 % 7) * 10),
            hours: None,
        });
        events.push(Event::Charge {
            at: at(day, 2),
            resource: format!("st-{n}"),
            amount: Some(20),
            hours: None,
        });
        if day % 3 == 0 {
            events.push(Event::Charge {
                at: at(day, 3),
                resource: format!("c-{n}"),
                amount: None,
                hours: Some(8),
            });
        }
        if day % 20 == 19 {
            events.push(Event::TopUp {
                at: at(day, 4),
                account: a.clone(),
                amount: 8_000,
            });
        }
        if day == 25 {
            events.push(Event::Renew {
                at: at(day, 5),
                resource: format!("sub-{n}"),
                term: Term::Fixed(TimeDelta::days(30)),
                price: 1_000,
            });
        }
    }
}

fn fleet(accounts: usize) -> History {
    let mut h = History {
        start: "2026-01-01T00:00:00Z".parse().unwrap(),
        until: Some(at(90, 0)),
        accounts: Vec::new(),
        resources: Vec::new(),
        events: Vec::new(),
        observe: Vec::new(),
    };
    let mut events = Vec::new();
    for n in 0..accounts {
        add_account(&mut h, n, &mut events);
    }
    events.sort_by_key(Event::at);
    h.events = events;
    h
}

fn bench(c: &mut Criterion) {
    let catalog: Catalog =
        arrears::spec::compile(&arrears::spec::sources::embedded()).expect("shipped specs compile");
    let one = fleet(1);
    arrears::model::run(&catalog, &one, &[]).expect("the bench history runs");
    let mut group = c.benchmark_group("model");
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        "history (1 account, 8 resources, ~150 events, 90 days)",
        |b| b.iter(|| arrears::model::run(&catalog, &one, &[]).unwrap()),
    );
    let many = fleet(1_000);
    group.throughput(Throughput::Elements(1_000));
    group.sample_size(10);
    group.bench_function("fleet (1000 accounts in one history), per account", |b| {
        b.iter(|| arrears::model::run(&catalog, &many, &[]).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
