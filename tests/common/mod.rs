//! What the integration tests share: the configuration of every property
//! test, so that the whole suite is reproducible (see docs/testing.md).
//!
//! Include it with `mod common;` and write
//! `#![proptest_config(common::proptest_config(256))]` in a `proptest!`
//! block.

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
