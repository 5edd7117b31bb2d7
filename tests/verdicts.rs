//! Verdicts users can believe: a run that checked nothing does not pass,
//! every violated check keeps its counterexample, reports and regressions
//! survive a closed standard output, an unwritable file and concurrent
//! runs, inputs far larger than before load, the catalog's order does not
//! depend on where the specs come from, and every exit code means one
//! thing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn arrears() -> Command {
    Command::new(env!("CARGO_BIN_EXE_arrears"))
}

fn faithful(fault: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_arrears-faithful");
    match fault {
        Some(f) => format!("{bin} --fault {f}"),
        None => bin.to_string(),
    }
}

fn run(args: &[&str]) -> Output {
    arrears().args(args).output().expect("arrears runs")
}

/// `arrears verify` against the faithful implementation with one fault,
/// on the products it concerns, plus `extra` arguments.
fn verify_fault(fault: &str, extra: &[&str]) -> Output {
    let product = match fault {
        "maxcompute-locked-day-10" => "maxcompute",
        _ => "ecs",
    };
    let sut = faithful(Some(fault));
    let mut args = vec![
        "verify",
        "--sut",
        &sut,
        "--products",
        product,
        "--cases",
        "128",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// A shell adapter that declares `implements` and answers `reply` to every
/// request after hello (requests are numbered 1, 2, 3... in order).
fn shell_adapter(implements: &str, reply: &str) -> String {
    let hello = format!(
        r#"{{"id":1,"type":"hello","protocol":"arrears-adapter/1","implementation":"shell","implements":{implements}}}"#
    );
    format!(
        "i=0; while read -r line; do i=$((i+1)); if [ $i = 1 ]; then echo '{hello}'; \
         else printf '{{\"id\":%d,{reply}}}\\n' $i; fi; done"
    )
}

// ----- 2. green when nothing was verified ----------------------------------

#[test]
fn an_implementation_that_supports_nothing_is_not_a_pass() {
    let adapter = shell_adapter(
        r#"[{"product":"maxcompute","billing":["pay-as-you-go"]}]"#,
        r#""type":"unsupported","reason":"not yet""#,
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = run(&[
        "verify",
        "--cases",
        "8",
        "--sut",
        &adapter,
        "--json",
        path(&json),
        "--out",
        path(&dir.path().join("out")),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("NOTHING VERIFIED"),
        "{}",
        text(&out)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["executed"], 0);
    assert!(
        report["not_verified"]
            .as_str()
            .unwrap()
            .contains("unsupported")
    );
}

#[test]
fn zero_cases_is_not_a_pass() {
    let out = run(&["verify", "--cases", "0"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let out = run(&["verify", "--cases", "1", "--shard", "2/2"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a shard with no cases: {}",
        text(&out)
    );
}

#[test]
fn replaying_on_an_implementation_that_skips_it_is_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    // A counterexample of the MaxCompute lock, written by a failing run.
    let out_dir = dir.path().join("out");
    let out = verify_fault("maxcompute-locked-day-10", &["--out", path(&out_dir)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let replay = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".replay.yaml"))
        .expect("a replay file");
    let adapter = shell_adapter(
        r#"[{"product":"maxcompute","billing":["pay-as-you-go","subscription"]}]"#,
        r#""type":"unsupported","reason":"not today""#,
    );
    let out = run(&["replay", path(&replay), "--sut", &adapter]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("not verified"), "{}", text(&out));
    assert!(!stdout.contains("reproduced"), "{}", text(&out));
}

// ----- 3. every violated invariant keeps its counterexample -----------------

#[test]
fn every_violated_invariant_gets_its_own_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit, out_dir) = (
        dir.path().join("r.json"),
        dir.path().join("r.xml"),
        dir.path().join("out"),
    );
    let out = verify_fault(
        "disks-released-day-29",
        &[
            "--json",
            path(&json),
            "--junit",
            path(&junit),
            "--out",
            path(&out_dir),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let violated: Vec<&str> = report["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["violations"].as_u64().unwrap() > 0)
        .map(|s| s["invariant"].as_str().unwrap())
        .collect();
    assert!(
        violated.len() >= 2,
        "this fault breaks two invariants: {violated:?}"
    );
    let checks: Vec<&str> = report["counterexamples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    let xml = std::fs::read_to_string(&junit).unwrap();
    for inv in &violated {
        assert!(
            checks.contains(inv),
            "{inv} has no counterexample: {checks:?}"
        );
        assert!(
            out_dir.join(format!("{inv}.replay.yaml")).is_file(),
            "{inv} has no replay file"
        );
        let case = xml
            .split("<testcase ")
            .find(|c| c.contains(&format!("name=\"{inv}\"")))
            .expect("a JUnit test case per invariant");
        assert!(
            case.contains("minimal history"),
            "{inv}'s JUnit failure has no counterexample:\n{case}"
        );
    }
}

// ----- 4. reports survive a closed or failing standard output ----------------

#[test]
fn a_closed_standard_output_keeps_the_verdict_and_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut child = arrears()
        .args([
            "verify",
            "--sut",
            &faithful(Some("disks-released-day-29")),
            "--products",
            "ecs",
            "--cases",
            "128",
            "--json",
            path(&json),
            "--out",
            path(&dir.path().join("out")),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -0`: the reader is gone before anything is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        text(&out)
    );
    assert!(json.is_file(), "the JSON report was written");
}

#[test]
fn every_command_survives_a_closed_standard_output() {
    for args in [
        vec!["rules"],
        vec!["explain", "ecs.payg.stop-at-t15"],
        vec!["schema", "history"],
        vec!["examples"],
        vec!["verify"],
    ] {
        let mut child = arrears()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_standard_output_does_not_pass_for_green() {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let out = arrears().args(["verify"]).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("failed to write the report to standard output"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_unwritable_junit_file_keeps_the_failure_and_the_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = verify_fault(
        "disks-released-day-29",
        &[
            "--junit",
            path(&dir.path().join("no-such-dir/r.xml")),
            "--json",
            path(&json),
            "--out",
            path(&dir.path().join("out")),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(json.is_file());
    assert!(dir.path().join("out").is_dir());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failed to write"), "{}", text(&out));
    assert!(stderr.contains("r.xml"), "{}", text(&out));
    // A passing run whose report file cannot be written is not green.
    let out = run(&[
        "verify",
        "--json",
        path(&dir.path().join("no-such-dir/r.json")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

// ----- 5. durable regressions and output directories ------------------------

#[test]
fn concurrent_runs_sharing_a_regressions_file_lose_no_entry() {
    let dir = tempfile::tempdir().unwrap();
    let regressions = dir.path().join("regressions.yaml");
    let faults = [
        "disks-released-day-29",
        "maxcompute-locked-day-10",
        "emr-suspended-after-23-hours",
        "fourth-deduction-attempt",
    ];
    let children: Vec<_> = faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            arrears()
                .args([
                    "verify",
                    "--cases",
                    "256",
                    "--sut",
                    &faithful(Some(f)),
                    "--regressions",
                    path(&regressions),
                    "--out",
                    path(&dir.path().join(format!("out-{i}"))),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut expected = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let added: usize = stderr
            .lines()
            .find_map(|l| {
                l.strip_suffix(&format!(" new regressions added to {}", path(&regressions)))
            })
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no regressions added: {stderr}"));
        expected += added;
    }
    let file = arrears::replay::RegressionsFile::read(&regressions).unwrap();
    assert_eq!(file.regressions.len(), expected);
    for f in faults {
        assert!(
            file.regressions.iter().any(|r| r.replay.system.contains(f)),
            "{f}'s regressions were lost"
        );
    }
}

#[test]
fn the_output_directory_holds_exactly_the_last_runs_counterexamples() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    // The user's own file stays; a symbolic link at a path arrears writes
    // is replaced, never written through.
    std::fs::write(out_dir.join("notes.txt"), "mine").unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "keep").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, out_dir.join("differential.replay.yaml")).unwrap();
    let first = verify_fault("disks-released-day-29", &["--out", path(&out_dir)]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    assert!(
        out_dir
            .join("ecs.inv.payg-data-kept-30-days.replay.yaml")
            .is_file()
    );
    let second = run(&[
        "verify",
        "--sut",
        &faithful(Some("maxcompute-locked-day-10")),
        "--products",
        "maxcompute",
        "--out",
        path(&out_dir),
    ]);
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    assert!(
        !out_dir
            .join("ecs.inv.payg-data-kept-30-days.replay.yaml")
            .exists(),
        "a stale replay file from the first run is left"
    );
    assert!(
        out_dir.join("notes.txt").is_file(),
        "the user's file is gone"
    );
    let passing = run(&["verify", "--out", path(&out_dir)]);
    assert_eq!(passing.status.code(), Some(0), "{}", text(&passing));
    let left: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".svg"))
        .collect();
    assert!(
        left.is_empty(),
        "stale counterexamples after a passing run: {left:?}"
    );

    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = verify_fault("disks-released-day-29", &["--out", path(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is a file, not a directory"),
        "{}",
        text(&out)
    );
}

// ----- 6. inputs as large as real ones ---------------------------------------

fn one_regression() -> String {
    let dir = tempfile::tempdir().unwrap();
    let regressions = dir.path().join("r.yaml");
    let out = verify_fault(
        "maxcompute-locked-day-10",
        &[
            "--regressions",
            path(&regressions),
            "--out",
            path(&dir.path().join("out")),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    std::fs::read_to_string(&regressions).unwrap()
}

#[test]
fn a_regressions_file_of_thousands_of_entries_is_read() {
    // 1,200 entries were past the old reader's budget.
    let one = one_regression();
    let entry_start = one.find("- replay:").expect("an entry");
    let entry = &one[entry_start..];
    let mut big = String::from("regressions:\n");
    for _ in 0..3000 {
        big.push_str(entry);
    }
    let dir = tempfile::tempdir().unwrap();
    let regressions = dir.path().join("big.yaml");
    std::fs::write(&regressions, &big).unwrap();
    let out = run(&[
        "verify",
        "--cases",
        "8",
        "--no-coverage-gate",
        "--products",
        "maxcompute",
        "--regressions",
        path(&regressions),
    ]);
    // On the model the old counterexamples pass.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("regression 3000 ("), "{}", text(&out));

    // Past the input limit: a message naming the limit and the flag.
    let out = run(&[
        "--input-limit-mb",
        "1",
        "verify",
        "--regressions",
        path(&regressions),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--input-limit-mb"), "{}", text(&out));
    assert!(stderr.contains("big.yaml"), "{}", text(&out));
}

#[test]
fn a_json_history_of_a_hundred_thousand_events_is_read() {
    // About 27,000 events were past the old reader's budget.
    let mut events = Vec::new();
    for i in 0..100_000 {
        events.push(format!(
            r#"{{"top_up":{{"at":"+{}s","account":"a-1","amount":1}}}}"#,
            i
        ));
    }
    let history = format!(
        r#"{{"start":"2026-01-01T00:00:00Z","accounts":[{{"id":"a-1"}}],"events":[{}]}}"#,
        events.join(",")
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.json");
    std::fs::write(&file, history).unwrap();
    let out = arrears()
        .args(["timeline", path(&file), "--format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

// ----- 9. the same seed, the same cases, wherever the specs come from -------

#[test]
fn the_specs_directory_and_the_embedded_copy_give_the_same_report() {
    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs");
    let embedded = run(&["verify", "--seed", "7", "--format", "json"]);
    let from_dir = run(&[
        "--specs",
        path(&specs),
        "verify",
        "--seed",
        "7",
        "--format",
        "json",
    ]);
    assert_eq!(embedded.status.code(), Some(0), "{}", text(&embedded));
    assert_eq!(
        String::from_utf8_lossy(&embedded.stdout),
        String::from_utf8_lossy(&from_dir.stdout)
    );
}

// ----- 10. exit codes and messages --------------------------------------------

fn example_dir(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("specs/examples/ecs-payg-stop-at-t15-release-at-t30.yaml");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(shipped).unwrap();
    std::fs::write(dir.path().join("case.yaml"), edit(&text)).unwrap();
    dir
}

#[test]
fn malformed_worked_examples_are_usage_errors() {
    for (what, edit, expect) in [
        (
            "unknown field in an expectation",
            Box::new(|t: &str| t.replacen("{state: overdue,", "{stat: overdue,", 1))
                as Box<dyn Fn(&str) -> String>,
            "has no field `stat`",
        ),
        (
            "expectation before the start",
            Box::new(|t: &str| t.replacen("  - at: +1d\n", "  - at: -1d\n", 1)),
            "before the history's start",
        ),
        (
            "unknown rule",
            Box::new(|t: &str| {
                t.replacen(
                    "  - ecs.payg.stop-at-t15\n",
                    "  - ecs.payg.stop-at-t16\n",
                    1,
                )
            }),
            "unknown rule `ecs.payg.stop-at-t16`",
        ),
    ] {
        let dir = example_dir(edit);
        let out = run(&["examples", path(dir.path())]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{what}: {}", text(&out));
        assert!(stderr.contains("case.yaml"), "{what}: {}", text(&out));
    }
}

#[test]
fn a_zero_timeout_is_refused_before_anything_runs() {
    let out = run(&["verify", "--sut", "true", "--timeout-ms", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(&["examples", "--sut", "true", "--startup-timeout-ms", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn examples_as_json_are_only_json_and_skipped_is_not_passed() {
    let out = run(&[
        "examples",
        "--format",
        "json",
        "--sut",
        &format!("{} serve", env!("CARGO_BIN_EXE_arrears")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let outcomes: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out)));
    assert!(outcomes.as_array().is_some_and(|a| !a.is_empty()));

    let maxcompute_only = shell_adapter(
        r#"[{"product":"maxcompute","billing":["pay-as-you-go"]}]"#,
        r#""type":"unsupported","reason":"no""#,
    );
    let out = run(&["examples", "--format", "json", "--sut", &maxcompute_only]);
    let outcomes: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out)));
    let all = outcomes.as_array().unwrap();
    assert!(
        all.iter().all(|o| o["skipped"].is_string()),
        "{}",
        text(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "every example skipped: {}",
        text(&out)
    );
    let table = run(&["examples", "--sut", &maxcompute_only]);
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(stdout.contains("0 of 0 examples pass"), "{}", text(&table));
    assert!(
        !stdout.lines().any(|l| l.contains("  pass  ")),
        "skipped reported as passed: {}",
        text(&table)
    );
}

#[test]
fn user_facing_errors_say_what_failed_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let out = run(&["timeline", path(&missing)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failed to read"), "{stderr}");
    assert!(stderr.contains("missing.yaml"), "{stderr}");
    assert!(!stderr.contains("os error"), "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");

    let history = dir.path().join("h.yaml");
    std::fs::write(
        &history,
        "start: 2026-01-01T00:00:00Z\naccounts: [{id: ~}]\n",
    )
    .unwrap();
    let out = run(&["timeline", path(&history)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Option<"), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
}
