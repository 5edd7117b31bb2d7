//! The reports are pinned: `verify`'s JSON report for seeds 0–4 and a small
//! fleet's result are stored under `tests/fixtures/reports/` and must come
//! out byte for byte the same. Work on the model's speed (or a move of code)
//! must not change what any run reports; a change to the specs or to the
//! generators that is meant to change them re-records the files with
//! `ARREARS_BLESS=1 cargo test --release --test reports_unchanged` and shows
//! the difference in review.

use std::path::PathBuf;
use std::process::Command;

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

/// Runs arrears with `args` and compares its standard output with the
/// fixture `name` (or records it under `ARREARS_BLESS=1`).
fn pinned(name: &str, args: &[&str]) {
    let out = Command::new(ARREARS)
        .args(args)
        .output()
        .expect("arrears runs");
    assert!(
        out.status.success(),
        "arrears {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = fixture(name);
    if std::env::var_os("ARREARS_BLESS").is_some() {
        std::fs::write(&path, &out.stdout).expect("the fixture is writable");
        return;
    }
    let expected = std::fs::read(&path).expect("the fixture exists");
    if out.stdout != expected {
        let got = String::from_utf8_lossy(&out.stdout);
        let want = String::from_utf8_lossy(&expected);
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "arrears {args:?} no longer gives {name}: first difference at line {}:\n  now:    {}\n  stored: {}",
            line + 1,
            got.lines().nth(line).unwrap_or("(end)"),
            want.lines().nth(line).unwrap_or("(end)")
        );
    }
}

#[test]
fn verify_reports_for_seeds_0_to_4_are_unchanged() {
    for seed in 0..5 {
        let seed = seed.to_string();
        pinned(
            &format!("verify-seed-{seed}.json"),
            &["verify", "--seed", &seed, "--format", "json"],
        );
    }
}

#[test]
fn a_fleet_result_is_unchanged() {
    pinned(
        "fleet-300x30-seed-3.json",
        &[
            "fleet",
            "--accounts",
            "300",
            "--days",
            "30",
            "--seed",
            "3",
            "--format",
            "json",
            "--quiet",
        ],
    );
}
