//! A misbehaving implementation under test gets a clear report and exit
//! code 3, within the timeout, never a hang or a panic.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use arrears::history::History;
use arrears::protocol::{Client, Implementation, Received, ScriptedTransport, drive, offer};
use proptest::prelude::*;

static OFFER: std::sync::LazyLock<Vec<arrears::protocol::ProductOffer>> =
    std::sync::LazyLock::new(|| {
        offer(
            &arrears::spec::compile(&arrears::spec::sources::embedded())
                .expect("shipped specs compile"),
        )
    });

const HELLO_OK: &str = r#"{"id":1,"type":"hello","protocol":"arrears-adapter/1","implementation":"fake","implements":[{"product":"ecs","billing":["pay-as-you-go"]}]}"#;

fn history() -> History {
    History::from_text(
        "start: 2026-01-01T00:00:00Z\naccounts: [{id: a-1, cash: 0}]\n\
         resources: [{id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}]\n\
         events: [{charge: {at: +1d, resource: i-1, amount: 100}}, {top_up: {at: +2d, account: a-1, amount: 100}}]\n\
         until: +20d\n",
    )
    .unwrap()
}

/// Runs `arrears verify --sut CMD` with a short timeout; returns the exit
/// code, stderr and how long it took.
fn verify_against(command: &str) -> (Option<i32>, String, Duration) {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_arrears"))
        .args([
            "verify",
            "--no-coverage-gate",
            "--cases",
            "16",
            "--timeout-ms",
            "400",
            "--startup-timeout-ms",
            "1000",
            "--out",
        ])
        .arg(out.path())
        .args(["--sut", command])
        .output()
        .expect("arrears runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
        started.elapsed(),
    )
}

fn assert_protocol_violation(command: &str, expect: &str) {
    let (code, text, took) = verify_against(command);
    assert_eq!(
        code,
        Some(3),
        "`{command}` should be a protocol violation:\n{text}"
    );
    assert!(
        text.contains(expect),
        "`{command}`: expected `{expect}` in:\n{text}"
    );
    assert!(took < Duration::from_secs(20), "`{command}` took {took:?}");
}

#[test]
fn a_child_that_exits_at_once() {
    // Depending on timing the request meets a closed pipe or goes unanswered;
    // either way the report names the request and the exit status.
    assert_protocol_violation("exit 7", "request 1 (hello)");
    let (_, text, _) = verify_against("exit 7");
    assert!(text.contains("exit status: 7"), "{text}");
}

#[test]
fn a_child_that_crashes_after_the_handshake() {
    let hello = HELLO_OK.replace('"', "\\\"");
    assert_protocol_violation(
        &format!("read line; echo \"{hello}\"; read line; echo boom >&2; exit 1"),
        "request 2 (load",
    );
    let (_, text, _) = verify_against(&format!(
        "read line; echo \"{hello}\"; read line; echo boom >&2; exit 1"
    ));
    assert!(
        text.contains("boom"),
        "the last lines of standard error are shown:\n{text}"
    );
}

#[test]
fn a_child_that_hangs_is_stopped_at_the_timeout() {
    // hello waits for the start-up allowance (--startup-timeout-ms),
    // every later request for --timeout-ms.
    assert_protocol_violation(
        "sleep 30",
        "did not answer request 1 (hello) within 1000 ms (the allowance for starting up",
    );
    let hello = HELLO_OK.replace('"', "\\\"");
    assert_protocol_violation(
        &format!("read line; echo \"{hello}\"; sleep 30"),
        "did not answer request 2",
    );
}

#[test]
fn a_child_that_prints_garbage() {
    assert_protocol_violation("read line; echo 'this is not json'; cat", "is not JSON");
}

#[test]
fn a_child_that_speaks_another_version() {
    let wrong = HELLO_OK
        .replace("arrears-adapter/1", "arrears-adapter/0")
        .replace('"', "\\\"");
    assert_protocol_violation(
        &format!("read line; echo \"{wrong}\"; cat"),
        "speaks protocol `arrears-adapter/0`",
    );
}

#[test]
fn a_child_that_answers_out_of_order() {
    let wrong = HELLO_OK
        .replace("\"id\":1", "\"id\":2")
        .replace('"', "\\\"");
    assert_protocol_violation(&format!("read line; echo \"{wrong}\"; cat"), "carries id 2");
}

#[test]
fn a_child_that_answers_with_the_wrong_reply() {
    assert_protocol_violation(
        r#"read line; echo '{"id":1,"type":"ok"}'; cat"#,
        "not a valid hello reply",
    );
}

/// Lines a fake implementation may answer with: garbage, JSON of every
/// shape, and well-formed replies with the right or wrong ids.
fn reply_line() -> impl Strategy<Value = Received> {
    let json_reply = (0u64..8, prop_oneof![
        Just("ok"), Just("error"), Just("unsupported"), Just("observation"), Just("hello"), Just("bogus")
    ])
        .prop_map(|(id, kind)| match kind {
            "observation" => format!(r#"{{"id":{id},"type":"observation","observation":{{"at":"2026-01-02T00:00:00Z","accounts":[],"resources":[]}},"events":[]}}"#),
            "error" => format!(r#"{{"id":{id},"type":"error","message":"nope"}}"#),
            "unsupported" => format!(r#"{{"id":{id},"type":"unsupported","reason":"no"}}"#),
            "hello" => HELLO_OK.replace("\"id\":1", &format!("\"id\":{id}")),
            other => format!(r#"{{"id":{id},"type":"{other}"}}"#),
        });
    prop_oneof![
        3 => json_reply.prop_map(Received::Line),
        2 => ".{0,80}".prop_map(Received::Line),
        1 => Just(Received::Timeout),
        1 => Just(Received::Closed),
        1 => Just(Received::TooLong),
        1 => "[\\[\\]{}\":,0-9a-z ]{0,60}".prop_map(Received::Line),
    ]
}

proptest! {
    #![proptest_config(common::proptest_config(2000))]

    /// Whatever a fake implementation answers, the client returns a result
    /// or a protocol error: no panic, no hang (the script runs out).
    #[test]
    fn any_reply_gives_a_result_or_a_protocol_error(lines in prop::collection::vec(reply_line(), 0..12), good_hello in any::<bool>()) {
        let mut script: Vec<Received> = Vec::new();
        if good_hello {
            script.push(Received::Line(HELLO_OK.to_string()));
        }
        script.extend(lines);
        let mut client = Client::new(ScriptedTransport::new(script), Duration::from_millis(10));
        if client.hello(&OFFER).is_ok() {
            let result = drive(&mut client, &history(), &[arrears::history::Offset(chrono::TimeDelta::days(3))]);
            if let Err(e) = result {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
