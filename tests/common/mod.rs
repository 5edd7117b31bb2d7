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

/// Whether `program --version` runs here (an interpreter an adapter needs).
pub fn runs_here(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `arrears verify --sut SUT --cases 64` in a scratch directory (where
/// counterexamples would go) and checks what every MaxCompute-only adapter
/// must give: a pass, agreement with the model, and the other products'
/// invariants skipped. Returns the report and, for assertion messages, the
/// whole output.
pub fn verify_maxcompute_adapter(sut: &str) -> (String, String) {
    let workdir = tempfile::tempdir().expect("a scratch directory");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_arrears"))
        .args(["verify", "--sut", sut, "--cases", "64"])
        .current_dir(workdir.path())
        .output()
        .expect("arrears runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let context = format!(
        "status {:?}\n--- stdout\n{report}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{context}");
    let has = |prefix: &str, verdict: &str| {
        report
            .lines()
            .any(|l| l.starts_with(prefix) && l.contains(verdict))
    };
    assert!(
        has("differential", "matches the model"),
        "no `differential ... matches the model` line:\n{context}"
    );
    assert!(
        has("ecs.inv.", "skipped"),
        "no ECS invariant reported as skipped:\n{context}"
    );
    assert!(
        has("maxcompute.inv.", "holds") && !has("maxcompute.inv.", "skipped"),
        "a MaxCompute invariant was skipped or none holds:\n{context}"
    );
    (report, context)
}
