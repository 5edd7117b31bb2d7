//! Throughput of `arrears fleet`: accounts drawn from the default mix, run
//! through the reference model, checked against every invariant and
//! tallied, on all cores. Two series show how the cost grows: with the
//! number of accounts (at 90 days) and with the simulated days (at 1,000
//! accounts; longer histories hold more daily events).

use std::sync::atomic::AtomicU64;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use arrears::fleet::{FleetOptions, mix::Mix};

// The binary's allocator (`src/main.rs`), so that the figures are the
// command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn options(catalog: &arrears::spec::Catalog, accounts: u64, days: u32) -> FleetOptions {
    let mix = Mix::default_mix();
    mix.check("default", catalog)
        .expect("the default mix is valid");
    FleetOptions {
        accounts,
        days,
        seed: 0,
        shard: None,
        mix,
        mix_name: "default".to_string(),
        specs: "bench".to_string(),
        specs_dir: None,
    }
}

fn fleet(c: &mut Criterion) {
    let catalog = arrears::spec::compile(&arrears::spec::sources::embedded()).expect("specs");
    let mut group = c.benchmark_group("fleet");
    group.sample_size(10);
    for accounts in [500u64, 1_000, 2_000] {
        let o = options(&catalog, accounts, 90);
        group.throughput(Throughput::Elements(accounts));
        group.bench_with_input(
            BenchmarkId::new("accounts-90-days", accounts),
            &o,
            |b, o| b.iter(|| arrears::fleet::run(&catalog, o, &AtomicU64::new(0))),
        );
    }
    for days in [30u32, 90, 365] {
        let o = options(&catalog, 1_000, days);
        group.throughput(Throughput::Elements(1_000));
        group.bench_with_input(BenchmarkId::new("days-1000-accounts", days), &o, |b, o| {
            b.iter(|| arrears::fleet::run(&catalog, o, &AtomicU64::new(0)))
        });
    }
    group.finish();
}

criterion_group!(benches, fleet);
criterion_main!(benches);
