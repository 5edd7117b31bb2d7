//! Throughput of the property suite: generated histories per second, each
//! run through the reference model and checked against every invariant of
//! the specs (with every accepted reading), as `arrears verify` does.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use arrears::verify::{ReferenceModel, VerifyOptions, verify};

// The binary's allocator (`src/main.rs`), so that the figures are the
// command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let catalog =
        arrears::spec::compile(&arrears::spec::sources::embedded()).expect("shipped specs compile");
    let model = ReferenceModel { catalog: &catalog };
    let mut options = VerifyOptions::new(&catalog);
    options.cases = 256;
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(options.cases as u64));
    group.sample_size(20);
    group.bench_function("generate, run and check (all products, 256 cases)", |b| {
        b.iter(|| {
            options.seed += 1;
            verify(&catalog, &model, &options)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
