//! What the unit tests share (compiled only for `cargo test`): the
//! configuration of every property test in `src/`, the counterpart of
//! `tests/common/mod.rs` for the integration tests. See docs/testing.md.

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// The seed every property test draws its cases from, unless
/// `PROPTEST_RNG_SEED` names another.
pub(crate) const SEED: u64 = 2026;

/// A fixed-seed configuration with `cases` cases, or as many as
/// `PROPTEST_CASES` says. Failures found are saved under
/// `proptest-regressions/` at the crate root, in a file named after the
/// test's source file (`src/spec/formula/tests.rs` saves to
/// `proptest-regressions/spec/formula/tests.txt`), and replayed first on every
/// run once committed.
pub(crate) fn proptest_config(cases: u32) -> Config {
    Config {
        cases: env_number("PROPTEST_CASES").unwrap_or(cases),
        rng_seed: RngSeed::Fixed(env_number("PROPTEST_RNG_SEED").unwrap_or(SEED)),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a whole number"),
    }
}
