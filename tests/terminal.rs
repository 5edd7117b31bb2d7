//! What a person at a terminal sees, and what a pipe gets: the progress bar
//! only on a terminal, colour only where asked for or allowed, and a report
//! that ends with one summary line either way.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(ARREARS);
    command
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("arrears runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last line that is not blank.
fn last_line(text: &str) -> &str {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// A passing run's summary line: verdict, rules, cases, and the time the
/// run took when a person watches it on a terminal.
fn is_passing_summary(line: &str, cases: &str, timed: bool) -> bool {
    let cases = format!(", {cases} cases");
    line.starts_with("arrears: ")
        && line.contains(" invariants hold, ")
        && line.contains(" rules exercised, ")
        && if timed {
            line.contains(&format!("{cases}, ")) && line.ends_with(" s")
        } else {
            line.ends_with(&cases)
        }
}

#[test]
fn on_a_terminal_verify_shows_a_progress_bar_and_ends_with_the_summary() {
    let script = Command::new("script").arg("--version").output();
    if script.is_err() {
        eprintln!("NOTICE: skipped: `script` (util-linux) is not installed, so no pseudo-terminal");
        return;
    }
    let command = format!("{ARREARS} verify --cases 20000");
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm")
        .output()
        .expect("script runs");
    let seen = text(&out.stdout);
    assert!(out.status.success(), "{seen}");
    assert!(
        seen.contains("verifying [") && seen.contains("/20,000 cases") && seen.contains("ETA"),
        "no progress bar on a terminal:\n{}",
        &seen[..seen.len().min(2000)]
    );
    // On a terminal the verdict is coloured.
    assert!(seen.contains("\x1b[32m61 invariants hold"), "{seen}");
    let plain = String::from_utf8(
        anstream::adapter::strip_str(last_line(&seen))
            .to_string()
            .into_bytes(),
    )
    .unwrap();
    assert!(
        is_passing_summary(&plain, "20000", true),
        "last line: {plain:?}"
    );
}

#[test]
fn piped_verify_has_no_progress_or_colour_and_ends_with_the_same_summary() {
    let out = run(&["verify", "--cases", "400", "--no-coverage-gate"], &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    for stream in [&stdout, &stderr] {
        assert!(
            !stream.contains('\x1b'),
            "escape codes in a pipe: {stream:?}"
        );
        assert!(!stream.contains("verifying ["), "a progress bar in a pipe");
    }
    assert!(
        is_passing_summary(last_line(&stdout), "400", false),
        "{stdout}"
    );
    // The rule table waits for --coverage; its one-line count does not.
    assert!(stdout.contains("rule coverage: "), "{stdout}");
    assert!(!stdout.contains("\nrule  "), "{stdout}");
    let covered = run(
        &[
            "verify",
            "--cases",
            "400",
            "--no-coverage-gate",
            "--coverage",
        ],
        &[],
    );
    let covered = text(&covered.stdout);
    let table_header = covered
        .lines()
        .find(|l| l.starts_with("rule ") && l.trim_end().ends_with("cases"));
    assert!(table_header.is_some(), "{covered}");
    assert!(covered.contains("ecs.overdue.definition"), "{covered}");
    assert!(
        is_passing_summary(last_line(&covered), "400", false),
        "{covered}"
    );
}

#[test]
fn colour_follows_color_no_color_and_clicolor_force() {
    let args = ["verify", "--cases", "50", "--no-coverage-gate"];
    let coloured = |out: &Output| text(&out.stdout).contains("\x1b[");
    assert!(coloured(&run(
        &[&args[..], &["--color", "always"]].concat(),
        &[]
    )));
    assert!(coloured(&run(&args, &[("CLICOLOR_FORCE", "1")])));
    assert!(!coloured(&run(&args, &[])));
    assert!(!coloured(&run(&args, &[("NO_COLOR", "1")])));
    assert!(!coloured(&run(
        &[&args[..], &["--color", "never"]].concat(),
        &[("CLICOLOR_FORCE", "1")]
    )));
}

#[test]
fn verbose_logs_phases_and_quiet_and_verbose_exclude_each_other() {
    let out = run(
        &["verify", "--cases", "30", "--no-coverage-gate", "-v"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("arrears: verifying (30 cases)"), "{stderr}");
    let both = run(&["verify", "-q", "-v"], &[]);
    assert_eq!(both.status.code(), Some(2), "{}", text(&both.stderr));
}

#[test]
fn a_failing_run_summarises_its_failures_and_where_the_counterexamples_went() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    common::mutated_specs(&specs);
    let out_dir = dir.path().join("out");
    let out = run(
        &[
            "--specs",
            path(&specs),
            "verify",
            "--cases",
            "300",
            "--products",
            "ecs",
            "--no-coverage-gate",
            "--out",
            path(&out_dir),
        ],
        &[],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let last = last_line(&stdout);
    assert!(
        last.starts_with("arrears: ") && last.contains(" invariants violated, "),
        "{last}"
    );
    assert!(
        last.contains(&format!("counterexamples written to {}", out_dir.display())),
        "{last}"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}
