//! Fuzzing arrears with adapters that misbehave at random: a proptest
//! generates, per request, what a fake adapter
//! (`tests/fixtures/misbehaving_adapter.py`) does — answer correctly, answer
//! nothing, half a line, garbage, a reply of the wrong shape or id, a huge
//! line, close standard output or input, hang, fork a helper that keeps the
//! pipes open and exit, crash — and checks, for every plan, that
//! `arrears verify` exits 3 exactly when the adapter broke the protocol
//! (0 or 1 otherwise), within one timeout and a bounded slack, in bounded
//! memory, with its JSON report written, and with no process of the
//! adapter's process group left behind.
//!
//! Seeded, so every run tries the same plans; `PROPTEST_CASES` widens it.
//! Needs `python3`; without it the test says so and passes.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use support::{Scratch, run_arrears};

/// Per request; small, so each case is quick, and never near the run's
/// length: a healthy answer comes within a few milliseconds.
const TIMEOUT_MS: u64 = 500;

/// Far above what arrears needs here (about 20 MiB): only a leak gets there.
const MAX_RSS_KIB: u64 = 128 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Answer,
    StderrJunk,
    Silent,
    Half,
    Garbage,
    WrongShape,
    WrongId,
    Huge,
    CloseStdout,
    CloseStdin,
    Hang,
    ForkExit,
    Exit,
}

impl Behaviour {
    /// The name the fake adapter knows it by.
    fn name(self) -> &'static str {
        match self {
            Behaviour::Answer => "answer",
            Behaviour::StderrJunk => "stderr_junk",
            Behaviour::Silent => "silent",
            Behaviour::Half => "half",
            Behaviour::Garbage => "garbage",
            Behaviour::WrongShape => "wrong_shape",
            Behaviour::WrongId => "wrong_id",
            Behaviour::Huge => "huge",
            Behaviour::CloseStdout => "close_stdout",
            Behaviour::CloseStdin => "close_stdin",
            Behaviour::Hang => "hang",
            Behaviour::ForkExit => "fork_exit",
            Behaviour::Exit => "exit",
        }
    }
}

/// Whether a behaviour, seen by arrears on a request other than bye, is a
/// protocol violation: `Some(true)` always, `Some(false)` never, `None` for
/// closing standard input after a correct answer, which is one only if
/// arrears has another request to send (it cannot be written).
fn violates(name: &str) -> Option<bool> {
    match name {
        "answer" | "stderr_junk" => Some(false),
        "close_stdin" => None,
        _ => Some(true),
    }
}

/// What the adapter may do with hello. Not the behaviours that end in a
/// timeout: hello waits the start-up allowance (10 s), which would make the
/// test slow; tests/containment.rs covers a hang at hello.
fn at_hello() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        12 => Just(Behaviour::Answer),
        1 => Just(Behaviour::StderrJunk),
        1 => Just(Behaviour::Garbage),
        1 => Just(Behaviour::WrongShape),
        1 => Just(Behaviour::WrongId),
        1 => Just(Behaviour::Huge),
        1 => Just(Behaviour::CloseStdout),
        1 => Just(Behaviour::CloseStdin),
        1 => Just(Behaviour::Exit),
    ]
}

fn later() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        16 => Just(Behaviour::Answer),
        2 => Just(Behaviour::StderrJunk),
        1 => Just(Behaviour::Silent),
        1 => Just(Behaviour::Half),
        1 => Just(Behaviour::Garbage),
        1 => Just(Behaviour::WrongShape),
        1 => Just(Behaviour::WrongId),
        1 => Just(Behaviour::Huge),
        1 => Just(Behaviour::CloseStdout),
        1 => Just(Behaviour::CloseStdin),
        1 => Just(Behaviour::Hang),
        1 => Just(Behaviour::ForkExit),
        1 => Just(Behaviour::Exit),
    ]
}

fn plan() -> impl Strategy<Value = Vec<Behaviour>> {
    (at_hello(), prop::collection::vec(later(), 0..10)).prop_map(|(hello, rest)| {
        let mut plan = vec![hello];
        plan.extend(rest);
        plan
    })
}

fn python3_available() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One line of the adapter's log: what it did with which request.
#[derive(Debug)]
struct Step {
    pid: i32,
    n: u32,
    kind: String,
    behaviour: String,
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

fn check(plan: &[Behaviour]) -> Result<(), TestCaseError> {
    let scratch = Scratch::new("fuzz");
    let names: Vec<&str> = plan.iter().map(|b| b.name()).collect();
    let plan_file = scratch.path("plan.json");
    std::fs::write(&plan_file, serde_json::to_string(&names).expect("names")).expect("plan");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/misbehaving_adapter.py"
    );
    let sut = format!(
        "exec python3 '{fixture}' '{}' '{}' '{}'",
        plan_file.display(),
        scratch.dir.display(),
        support::ARREARS
    );
    let json = scratch.path("report.json");
    let out = scratch.path("out");
    let run = run_arrears(
        &[
            "verify",
            // Four cases cannot reach every rule; this test is about the
            // process, not coverage.
            "--no-coverage-gate",
            "--cases",
            "4",
            "--timeout-ms",
            &TIMEOUT_MS.to_string(),
            "--out",
            &out.display().to_string(),
            "--json",
            &json.display().to_string(),
            "--sut",
            &sut,
        ],
        Duration::from_secs(60),
        |_| {},
    );
    let text = run.text();
    prop_assert!(!run.guard_fired, "arrears hung: {}", text);

    let log = std::fs::read_to_string(scratch.path("log")).unwrap_or_default();
    let steps: Vec<Step> = log
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            Some(Step {
                pid: f.next()?.parse().ok()?,
                n: f.next()?.parse().ok()?,
                kind: f.next()?.to_string(),
                behaviour: f.next()?.to_string(),
            })
        })
        .collect();
    // bye's answer is not awaited: nothing done with it is a violation.
    let judged = || steps.iter().filter(|s| s.kind != "bye");
    let violated = judged().any(|s| violates(&s.behaviour) == Some(true));
    let maybe = judged().any(|s| violates(&s.behaviour).is_none());
    if violated {
        prop_assert_eq!(run.code, Some(3), "{:?}\n{}", steps, text);
        prop_assert!(text.contains("failed to"), "{}", text);
    } else if maybe {
        prop_assert!(matches!(run.code, Some(0 | 1 | 3)), "{:?}\n{}", steps, text);
    } else {
        prop_assert!(
            matches!(run.code, Some(0 | 1)),
            "the adapter behaved: {:?}\n{}",
            steps,
            text
        );
    }

    // An instance that broke the protocol is sent nothing more: a silent
    // or hung one is waited for once (one timeout), then dropped. (How
    // long the whole run may take is the guard's business: a hang, not a
    // speed, is what fails it.)
    let mut pids: Vec<i32> = steps.iter().map(|s| s.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        let mut own: Vec<&Step> = steps.iter().filter(|s| s.pid == pid).collect();
        own.sort_by_key(|s| s.n);
        if let Some(broke) = own
            .iter()
            .position(|s| s.kind != "bye" && violates(&s.behaviour) == Some(true))
        {
            prop_assert!(
                own.len() == broke + 1,
                "arrears kept talking to an instance after it broke the protocol: {:?}\n{}",
                own,
                text
            );
        }
    }
    prop_assert!(run.max_rss_kib < MAX_RSS_KIB, "{}", text);
    let left = scratch.survivors(Duration::from_secs(5));
    prop_assert!(
        left.is_empty(),
        "processes of the adapter survived arrears:\n{}",
        left.join("\n")
    );

    // The report. Not when the first instance's handshake failed: then
    // `arrears verify` stops before it has a report to write.
    let first = scratch.groups().first().copied();
    let handshake_failed = steps
        .iter()
        .any(|s| Some(s.pid) == first && s.n == 1 && violates(&s.behaviour) == Some(true));
    if handshake_failed {
        prop_assert!(
            text.contains("request 1 (hello)"),
            "the failed handshake is named: {}",
            text
        );
    } else {
        let report = std::fs::read_to_string(&json);
        prop_assert!(report.is_ok(), "no JSON report: {}", text);
        let report: serde_json::Value = serde_json::from_str(&report.unwrap_or_default())
            .map_err(|e| TestCaseError::fail(format!("the JSON report does not parse: {e}")))?;
        let protocol_error = report.get("protocol_error").and_then(|e| e.as_str());
        prop_assert_eq!(
            protocol_error.is_some(),
            run.code == Some(3),
            "protocol_error {:?} with exit {:?}",
            protocol_error,
            run.code
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        rng_seed: RngSeed::Fixed(0x4152_5245_4152_5321),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn misbehaving_adapters_are_contained(plan in plan()) {
        if !python3_available() {
            println!("the misbehaving-adapter fuzz test needs python3, which does not run here: skipped");
            return Ok(());
        }
        check(&plan)?;
    }
}
