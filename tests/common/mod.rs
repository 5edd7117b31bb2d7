//! What the integration tests share: the configuration of every property
//! test, so that the whole suite is reproducible (see docs/testing.md), and
//! a spec mutation that the reference model then breaks.
//!
//! Include it with `mod common;` and write
//! `#![proptest_config(common::proptest_config(256))]` in a `proptest!`
//! block.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::Path;

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// The seed every property test draws its cases from, unless
/// `PROPTEST_RNG_SEED` names another.
pub const SEED: u64 = 2026;

/// A fixed-seed configuration with `cases` cases, or as many as
/// `PROPTEST_CASES` says. Failures found are saved next to the test's
/// source as `tests/<file>.regressions` and replayed first on every run, so
/// a failing case found once (locally, with more cases or another seed) is
/// checked by CI forever once that file is committed.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases: env_number("PROPTEST_CASES").unwrap_or(cases),
        rng_seed: RngSeed::Fixed(env_number("PROPTEST_RNG_SEED").unwrap_or(SEED)),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

/// A number from the environment; a value that is not one stops the test
/// with a message rather than being silently ignored.
fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a whole number"),
    }
}

/// The shipped specs copied into `dir`, with ECS pay-as-you-go instances
/// released 14 days after their stop while every invariant still reads
/// the documents' 15.
pub fn mutated_specs(dir: &Path) {
    for source in arrears::spec::sources::embedded() {
        let name = Path::new(&source.name).file_name().unwrap().to_owned();
        let mut text = source.text.clone();
        if source.name.ends_with("ecs.yaml") {
            let from = text.find("      - id: release-after-stop\n").unwrap();
            let old = "on: {after: {duration: ecs.release-after-stop, since: entered}}";
            let at = from + text[from..].find(old).unwrap();
            text.replace_range(
                at..at + old.len(),
                "on: {after: {duration: 14d, since: entered}}",
            );
        }
        std::fs::write(dir.join(name), text).unwrap();
    }
}
