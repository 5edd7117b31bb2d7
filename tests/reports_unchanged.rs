//! The reports are pinned: `verify`'s JSON report for seeds 0–4 on the
//! reference model and on the faithful implementation, the text, JUnit and
//! Markdown renderings of a run that fails, the worked examples' results
//! and a small fleet's result are stored under `tests/fixtures/reports/`
//! and must come out byte for byte the same. Work on the model's speed (or
//! a move of code) must not change what any run reports; a change to the
//! specs or to the generators that is meant to change them re-records the
//! files with `ARREARS_BLESS=1 cargo test --release --test
//! reports_unchanged` and shows the difference in review.

use std::path::{Path, PathBuf};
use std::process::Command;

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reports")
        .join(name)
}

/// Runs arrears with `args`, with the directory of the test binaries first
/// on `PATH` so that `--sut arrears-faithful` names the faithful
/// implementation the same way on every machine (the report quotes the
/// command), and checks that it exits with `code`. It runs in `dir` when
/// given, so that the files its report names have the same names every run.
fn run(dir: Option<&Path>, args: &[&str], code: i32) -> Vec<u8> {
    let bin_dir = Path::new(ARREARS)
        .parent()
        .expect("the binary has a directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let mut command = Command::new(ARREARS);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command
        .args(args)
        .env("PATH", std::env::join_paths(dirs).expect("a valid PATH"))
        .env_remove("ARREARS_FAULT")
        .output()
        .expect("arrears runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "arrears {args:?} exited otherwise: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs arrears with `args` and compares its standard output with the
/// fixture `name` (or records it under `ARREARS_BLESS=1`).
fn pinned(name: &str, args: &[&str]) {
    same_as_stored(name, &format!("arrears {args:?}"), &run(None, args, 0));
}

/// Compares `bytes`, what `what` gave, with the fixture `name` (or records
/// them under `ARREARS_BLESS=1`).
fn same_as_stored(name: &str, what: &str, bytes: &[u8]) {
    let path = fixture(name);
    if std::env::var_os("ARREARS_BLESS").is_some() {
        std::fs::write(&path, bytes).expect("the fixture is writable");
        return;
    }
    let expected = std::fs::read(&path).expect("the fixture exists");
    if bytes != expected {
        let got = String::from_utf8_lossy(bytes);
        let want = String::from_utf8_lossy(&expected);
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "{what} no longer gives {name}: first difference at line {}:\n  now:    {}\n  stored: {}",
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

#[test]
fn verify_reports_on_the_faithful_implementation_are_unchanged() {
    for seed in 0..5 {
        let seed = seed.to_string();
        pinned(
            &format!("verify-faithful-seed-{seed}.json"),
            &[
                "verify",
                "--seed",
                &seed,
                "--sut",
                "arrears-faithful",
                "--format",
                "json",
            ],
        );
    }
}

/// The text report, the JUnit XML and the Markdown summary of a run that
/// finds a counterexample (the faithful implementation with one rule
/// broken): the renderers and the shrinking are pinned, not only the JSON.
#[test]
fn the_renderings_of_a_failing_run_are_unchanged() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = run(
        Some(dir.path()),
        &[
            "verify",
            "--seed",
            "0",
            "--sut",
            "arrears-faithful --fault no-restart-after-settlement",
            "--color",
            "never",
            "--junit",
            "junit.xml",
            "--markdown",
            "summary.md",
            "--out",
            "out",
        ],
        1,
    );
    same_as_stored("verify-fault-seed-0.txt", "the text report", &text);
    let junit = std::fs::read(dir.path().join("junit.xml")).expect("the JUnit file was written");
    same_as_stored("verify-fault-seed-0.junit.xml", "the JUnit report", &junit);
    let markdown = std::fs::read(dir.path().join("summary.md")).expect("the Markdown was written");
    same_as_stored("verify-fault-seed-0.md", "the Markdown report", &markdown);
}

#[test]
fn the_worked_examples_report_is_unchanged() {
    pinned("examples.json", &["examples", "--format", "json"]);
    pinned(
        "examples-faithful.txt",
        &["examples", "--sut", "arrears-faithful", "--color", "never"],
    );
}
