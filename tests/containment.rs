//! Implementations under test are contained: whatever an adapter does —
//! hang with helpers of its own, stop reading, flood its output or its
//! standard error, start slowly, misname a product — arrears ends within
//! its timeouts, in bounded memory, with a clear report, and leaves no
//! process of the adapter behind, also when arrears itself is interrupted.

mod support;

use std::time::Duration;

use arrears::protocol::{
    Answer, ChildProcess, Client, Declaration, HistoryHeader, Implementation, Implemented,
    ProductOffer, ProtocolError, Timeouts,
};
use support::{ARREARS, HELLO_OK, Scratch, run_arrears, wait_for};

/// Long enough that a hanging arrears is caught, never reached otherwise.
const GUARD: Duration = Duration::from_secs(60);

/// What scheduling noise may add to a run on a busy 2-core machine.
const SLACK: Duration = Duration::from_secs(10);

fn verify(sut: &str, timeout_ms: &str, cases: &str, out: &Scratch) -> Vec<String> {
    [
        "verify",
        // A few cases cannot reach every rule; these tests are about the
        // process, not coverage.
        "--no-coverage-gate",
        "--cases",
        cases,
        "--timeout-ms",
        timeout_ms,
        "--out",
        &out.path("out").display().to_string(),
        "--sut",
        sut,
    ]
    .map(String::from)
    .to_vec()
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_nothing_left(scratch: &Scratch) {
    assert!(
        !scratch.groups().is_empty(),
        "the adapter never recorded its process group"
    );
    let left = scratch.survivors(Duration::from_secs(5));
    assert!(
        left.is_empty(),
        "processes of the adapter survived arrears:\n{}",
        left.join("\n")
    );
}

#[test]
fn a_hung_adapter_is_killed_with_the_helpers_it_started() {
    let scratch = Scratch::new("hung");
    let sut = scratch.adapter(
        "hung.sh",
        &format!("read line\necho '{HELLO_OK}'\nsleep 300 &\nsleep 300"),
    );
    let run = run_arrears(&args(&verify(&sut, "400", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(3), "{}", run.text());
    assert!(
        run.stdout.contains("did not answer request 2 (load"),
        "{}",
        run.text()
    );
    assert!(
        run.took < Duration::from_millis(400) + SLACK,
        "{}",
        run.text()
    );
    assert_nothing_left(&scratch);
}

#[test]
fn helpers_of_a_well_behaved_adapter_are_killed_at_the_end() {
    // The adapter answers everything (it is the reference model) but leaves
    // a helper behind that holds its pipes: after bye and a short grace
    // period, the whole group goes.
    let scratch = Scratch::new("lingering");
    let sut = scratch.adapter(
        "lingering.sh",
        &format!("sleep 300 &\nexec {ARREARS} serve"),
    );
    let run = run_arrears(&args(&verify(&sut, "2000", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_nothing_left(&scratch);
}

fn interrupted_by(signal: i32) {
    let scratch = Scratch::new(&format!("signal-{signal}"));
    let ready = scratch.path("ready");
    let sut = scratch.adapter(
        "hangs-after-hello.sh",
        &format!(
            "read line\necho '{HELLO_OK}'\nsleep 300 &\necho > '{}'\nsleep 300",
            ready.display()
        ),
    );
    let mut signalled = None;
    let run = run_arrears(&args(&verify(&sut, "60000", "4", &scratch)), GUARD, |pid| {
        assert!(
            wait_for(&ready, Duration::from_secs(20)),
            "the adapter never got the hello request"
        );
        signalled = Some(std::time::Instant::now());
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
    });
    assert!(
        run.signal == Some(signal) || run.code == Some(128 + signal),
        "arrears should die of signal {signal}: {}",
        run.text()
    );
    let after = run.ended - signalled.expect("signal sent");
    assert!(after < Duration::from_secs(5), "{after:?}: {}", run.text());
    assert_nothing_left(&scratch);
}

#[test]
fn sigterm_to_arrears_kills_the_adapter_group() {
    interrupted_by(libc::SIGTERM);
}

#[test]
fn sigint_to_arrears_kills_the_adapter_group() {
    interrupted_by(libc::SIGINT);
}

#[test]
fn an_adapter_that_stops_reading_but_floods_its_output_is_stopped_in_bounded_memory() {
    // It answers hello, then never reads again but writes `unsupported`
    // replies for ids 2, 3, ... as fast as it can: every history is skipped
    // until arrears' requests fill the pipe it no longer reads.
    let scratch = Scratch::new("flood");
    let sut = scratch.adapter(
        "flood.sh",
        &format!(
            "read line\necho '{HELLO_OK}'\ni=2\nwhile :; do echo \"{{\\\"id\\\":$i,\\\"type\\\":\\\"unsupported\\\",\\\"reason\\\":\\\"no\\\"}}\"; i=$((i+1)); done"
        ),
    );
    let cases = "300";
    let baseline = run_arrears(
        &[
            "verify",
            "--no-coverage-gate",
            "--cases",
            cases,
            "--out",
            &scratch.path("out").display().to_string(),
        ],
        GUARD,
        |_| {},
    );
    let run = run_arrears(&args(&verify(&sut, "400", cases, &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(3), "{}", run.text());
    assert!(
        run.stdout.contains("it stopped reading its standard input"),
        "{}",
        run.text()
    );
    assert!(
        run.took < Duration::from_millis(400) + SLACK,
        "{}",
        run.text()
    );
    assert!(
        run.max_rss_kib < baseline.max_rss_kib + 64 * 1024,
        "peak {} KiB, the reference model alone {} KiB",
        run.max_rss_kib,
        baseline.max_rss_kib
    );
    assert_nothing_left(&scratch);
}

#[test]
fn latin1_on_standard_error_does_not_stop_arrears_reading_it() {
    // A Latin-1 line, then a megabyte more of standard error: if arrears
    // stopped reading at the invalid line, the adapter would block (or die
    // of SIGPIPE) before its first answer.
    let scratch = Scratch::new("latin1");
    let sut = scratch.adapter(
        "latin1.sh",
        &format!(
            "printf '\\351t\\351 \\340 No\\353l\\n' >&2\n\
             head -c 1000000 /dev/zero | tr '\\0' 'x' >&2\n\
             echo >&2\n\
             exec {ARREARS} serve"
        ),
    );
    let run = run_arrears(&args(&verify(&sut, "2000", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_nothing_left(&scratch);
}

#[test]
fn a_flood_of_standard_error_without_newlines_costs_bounded_memory() {
    let scratch = Scratch::new("stderr-flood");
    let sut = scratch.adapter(
        "stderr-flood.sh",
        &format!("head -c 268435456 /dev/zero >&2\nexec {ARREARS} serve"),
    );
    let run = run_arrears(&args(&verify(&sut, "2000", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(0), "{}", run.text());
    // 256 MiB went through; arrears with its adapter stays far below.
    assert!(run.max_rss_kib < 100 * 1024, "{}", run.text());
    assert_nothing_left(&scratch);
}

#[test]
fn the_end_of_a_long_standard_error_line_is_shown_cut_off() {
    let scratch = Scratch::new("stderr-tail");
    let sut = scratch.adapter(
        "stderr-tail.sh",
        "echo 'starting' >&2\nhead -c 1000000 /dev/zero | tr '\\0' 'x' >&2\nexit 5",
    );
    let run = run_arrears(&args(&verify(&sut, "2000", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(3), "{}", run.text());
    assert!(
        run.stderr.contains("exit status: 5") && run.stderr.contains("  | starting\n"),
        "{}",
        run.text()
    );
    let kept = format!("  | {}… (1000000 bytes)", "x".repeat(500));
    assert!(run.stderr.contains(&kept), "{}", run.text());
}

#[test]
fn a_slow_starting_adapter_gets_the_start_up_allowance() {
    let scratch = Scratch::new("slow-start");
    let sut = scratch.adapter("slow.sh", &format!("sleep 1.5\nexec {ARREARS} serve"));
    let run = run_arrears(&args(&verify(&sut, "500", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_nothing_left(&scratch);
}

#[test]
fn the_start_up_allowance_is_a_timeout_too() {
    let catalog = arrears::spec::compile(&arrears::spec::sources::embedded()).expect("specs");
    let scratch = Scratch::new("slow-start-lib");
    let sut = scratch.adapter("slow.sh", &format!("sleep 5\nexec {ARREARS} serve"));
    let started = std::time::Instant::now();
    let timeouts = Timeouts::new(Duration::from_millis(5000)).startup(Duration::from_millis(300));
    let error = arrears::sut::Driven::child_with(&catalog, &sut, timeouts)
        .err()
        .expect("hello times out");
    assert!(
        matches!(error, ProtocolError::Timeout { id: 1, ms: 300, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("allowance for starting up"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_millis(300) + SLACK);
    assert_nothing_left(&scratch);
}

#[test]
fn a_misspelt_product_in_hello_is_a_protocol_violation() {
    let scratch = Scratch::new("misspelt");
    let hello = HELLO_OK.replace("\"ecs\"", "\"MaxCompute\"");
    // Otherwise the reference model: without the check, arrears would
    // generate histories without any resource and pass it.
    let sut = scratch.adapter(
        "misspelt.sh",
        &format!("read line\necho '{hello}'\nexec {ARREARS} serve"),
    );
    let run = run_arrears(&args(&verify(&sut, "2000", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(3), "{}", run.text());
    assert!(
        run.stderr.contains(
            "the implementation declared product `MaxCompute`, which the specs do not cover; \
             they cover: ecs, emr, flink, maxcompute, spark"
        ),
        "{}",
        run.text()
    );
    assert_nothing_left(&scratch);

    let billing = HELLO_OK.replace("\"pay-as-you-go\"", "\"hybrid\"");
    let sut = scratch.adapter(
        "billing.sh",
        &format!("read line\necho '{billing}'\nexec {ARREARS} serve"),
    );
    let run = run_arrears(&args(&verify(&sut, "2000", "4", &scratch)), GUARD, |_| {});
    assert_eq!(run.code, Some(3), "{}", run.text());
    assert!(
        run.stderr
            .contains("billing method `hybrid` for product `ecs`, which the specs do not list"),
        "{}",
        run.text()
    );
}

/// An in-process implementation that declares a product the specs lack.
struct Misspelt;

impl Implementation for Misspelt {
    fn hello(&mut self, _: &[ProductOffer]) -> Result<Declaration, ProtocolError> {
        Ok(Declaration {
            implementation: "misspelt".into(),
            implements: vec![Implemented {
                product: "MaxCompute".into(),
                billing: Vec::new(),
            }],
            readings: Default::default(),
        })
    }
    fn load(&mut self, _: &HistoryHeader) -> Result<Answer<()>, ProtocolError> {
        Ok(Answer::Error("never loaded".into()))
    }
    fn apply(
        &mut self,
        _: chrono::DateTime<chrono::Utc>,
        _: &arrears::history::Event,
    ) -> Result<Answer<()>, ProtocolError> {
        Ok(Answer::Error("never applied".into()))
    }
    fn advance(&mut self, _: chrono::DateTime<chrono::Utc>) -> Result<Answer<()>, ProtocolError> {
        Ok(Answer::Error("never advanced".into()))
    }
    fn observe(
        &mut self,
    ) -> Result<
        Answer<(
            arrears::observation::Observation,
            Vec<arrears::observation::TraceEvent>,
        )>,
        ProtocolError,
    > {
        Ok(Answer::Error("never observed".into()))
    }
}

#[test]
fn an_in_process_implementation_is_held_to_the_offer_too() {
    let catalog = arrears::spec::compile(&arrears::spec::sources::embedded()).expect("specs");
    let error = arrears::sut::Driven::new(&catalog, "misspelt", || Ok(Box::new(Misspelt)))
        .err()
        .expect("the declaration is refused");
    assert!(
        error.to_string().contains("declared product `MaxCompute`"),
        "{error}"
    );
}

#[test]
fn a_reply_line_over_the_cap_is_refused_and_the_child_killed() {
    let scratch = Scratch::new("too-long");
    // A small cap exercises the same path as the 64 MiB one, cheaply.
    let sut = scratch.adapter(
        "long.sh",
        "read line\nhead -c 5000 /dev/zero | tr '\\0' 'x'\necho\nsleep 300",
    );
    let child = ChildProcess::spawn_limited(&sut, 1024).expect("starts");
    let mut client = Client::new(child, Duration::from_millis(2000));
    let offer = arrears::protocol::offer(
        &arrears::spec::compile(&arrears::spec::sources::embedded()).expect("specs"),
    );
    let error = client.hello(&offer).expect_err("too long");
    assert!(
        matches!(error, ProtocolError::TooLong { limit: 1024, .. }),
        "{error}"
    );
    // The client stops the child as soon as it breaks the protocol.
    assert_nothing_left(&scratch);
}
