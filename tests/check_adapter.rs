//! `arrears check-adapter`: good adapters pass the smoke test (the faithful
//! implementation, the Python kit's example), and adapters that get the
//! protocol wrong are told what they got wrong, in their own terms: a
//! product id the specs do not know, an operation left out of the
//! observations, a malformed observation with the field at fault, a reply
//! that is not JSON, a crash with its last lines of standard error. The
//! Python cases need `python3`; without it they say so and pass.

use std::path::Path;
use std::process::{Command, Output};

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(sut: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let output: Output = Command::new(ARREARS)
        .arg("check-adapter")
        .args(["--sut", sut])
        .args(extra)
        .output()
        .expect("arrears runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn python3_available() -> bool {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("this check-adapter test needs python3, which does not run here: skipped");
    }
    found
}

/// The command that runs one of the deliberately wrong adapters, built on
/// the kit's example.
fn wrong_adapter(name: &str) -> String {
    format!(
        "PYTHONPATH='{}' python3 '{}'",
        root().join("adapters/python").display(),
        root()
            .join("tests/fixtures/adapters")
            .join(format!("{name}.py"))
            .display()
    )
}

fn findings(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("FAIL ")).collect()
}

#[test]
fn the_faithful_implementation_passes_the_smoke_test() {
    let (code, stdout, stderr) = check(env!("CARGO_BIN_EXE_arrears-faithful"), &[]);
    let context = format!("{stdout}\n--- stderr\n{stderr}");
    assert_eq!(code, Some(0), "{context}");
    assert!(findings(&stdout).is_empty(), "{context}");
    for product in ["ecs", "emr", "flink", "maxcompute", "spark"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("{product}: ran a tiny history"))),
            "no tiny history of {product}:\n{context}"
        );
    }
    assert!(
        stdout.ends_with("passed: the adapter speaks the protocol; run `arrears verify` with it\n"),
        "{context}"
    );
}

#[test]
fn the_python_example_passes_the_smoke_test() {
    if !python3_available() {
        return;
    }
    let sut = format!(
        "python3 '{}'",
        root()
            .join("adapters/python/arrears_maxcompute.py")
            .display()
    );
    let (code, stdout, stderr) = check(&sut, &[]);
    let context = format!("{stdout}\n--- stderr\n{stderr}");
    assert_eq!(code, Some(0), "{context}");
    assert!(
        stdout.contains("implements maxcompute (subscription, pay-as-you-go)"),
        "{context}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("maxcompute: ran a tiny history (2 resources")),
        "{context}"
    );
}

#[test]
fn a_product_id_the_specs_do_not_know_is_named_with_the_known_ones() {
    if !python3_available() {
        return;
    }
    let (code, stdout, _) = check(&wrong_adapter("wrong_product"), &[]);
    assert_eq!(code, Some(3), "{stdout}");
    assert_eq!(
        findings(&stdout),
        [
            "FAIL hello: it declares product `MaxCompute`, which the specs do not cover; they cover: ecs, emr, flink, maxcompute, spark"
        ],
        "{stdout}"
    );
}

#[test]
fn an_operation_left_out_of_the_observations_is_named() {
    if !python3_available() {
        return;
    }
    let (code, stdout, _) = check(&wrong_adapter("missing_operation"), &[]);
    assert_eq!(code, Some(3), "{stdout}");
    let found = findings(&stdout);
    assert_eq!(found.len(), 1, "{stdout}");
    assert!(
        found[0].starts_with(
            "FAIL maxcompute: a resource's `operations` leaves out operation `run-task` of maxcompute; it must list every operation of the product: release, renew, run-task"
        ),
        "{stdout}"
    );
}

#[test]
fn a_malformed_observation_is_named_with_the_field_and_what_was_expected() {
    if !python3_available() {
        return;
    }
    let (code, stdout, _) = check(&wrong_adapter("malformed_observation"), &[]);
    assert_eq!(code, Some(3), "{stdout}");
    let found = findings(&stdout);
    assert_eq!(found.len(), 1, "{stdout}");
    assert!(
        found[0].starts_with("FAIL maxcompute: failed to read the reply to request 5 (observe): the observation is malformed at `observation.resources[0].serving`: unknown variant `true`, expected one of `yes`, `no`, `unspecified`"),
        "{stdout}"
    );
}

#[test]
fn a_reply_that_is_not_json_and_a_crash_are_named() {
    let (code, stdout, _) = check(r#"read line; echo "{not json"; sleep 5"#, &[]);
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        findings(&stdout).iter().any(|f| f.starts_with(
            "FAIL hello: failed to read the reply to request 1 (hello): it is not JSON"
        )),
        "{stdout}"
    );
    let (code, stdout, _) = check("read line; echo 'loading tariffs' >&2; exit 7", &[]);
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        stdout.contains("closed its standard output before answering request 1 (hello)"),
        "{stdout}"
    );
    assert!(stdout.contains("exit status: 7"), "{stdout}");
    assert!(stdout.contains("  | loading tariffs"), "{stdout}");
}

#[test]
fn the_findings_are_also_json() {
    let (code, stdout, _) = check("exit 0", &["--format", "json"]);
    assert_eq!(code, Some(3), "{stdout}");
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(value["findings"][0]["scope"], "hello");
    assert!(value["implementation"].is_null());
}

#[test]
fn check_adapter_without_an_adapter_is_bad_usage() {
    let output = Command::new(ARREARS)
        .arg("check-adapter")
        .output()
        .expect("arrears runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--sut"));
}
