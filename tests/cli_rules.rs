//! The `arrears` binary: `rules`, `explain` and `lint`, run as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use arrears::spec::compile;
use arrears::spec::sources::embedded;

const PRODUCTS: [&str; 5] = ["ecs", "emr", "maxcompute", "flink", "spark"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary from the crate root.
fn arrears(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arrears"))
        .args(args)
        .current_dir(manifest_dir())
        .output()
        .expect("the arrears binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rules_json(args: &[&str]) -> Vec<Value> {
    let out = arrears(args);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let value: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("`arrears {}` is not JSON: {e}", args.join(" ")));
    value.as_array().expect("a JSON array of rules").clone()
}

fn check_rule_entry(entry: &Value) {
    let obj = entry.as_object().expect("each rule is a JSON object");
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .expect("id is a string");
    for field in [
        "product",
        "level",
        "section",
        "anchor",
        "statement",
        "source",
    ] {
        let v = obj
            .get(field)
            .unwrap_or_else(|| panic!("{id}: no `{field}`"));
        let s = v
            .as_str()
            .unwrap_or_else(|| panic!("{id}: `{field}` is not a string"));
        assert!(!s.is_empty(), "{id}: `{field}` is empty");
    }
    for field in ["enforced_by", "enforcements"] {
        let v = obj
            .get(field)
            .unwrap_or_else(|| panic!("{id}: no `{field}`"));
        let items = v
            .as_array()
            .unwrap_or_else(|| panic!("{id}: `{field}` is not an array"));
        assert!(
            items.iter().all(Value::is_string),
            "{id}: `{field}` holds a non-string"
        );
    }
    let not_modelled = obj
        .get("not_modelled")
        .unwrap_or_else(|| panic!("{id}: no `not_modelled`"));
    assert!(
        not_modelled.is_null() || not_modelled.is_string(),
        "{id}: `not_modelled` is neither a string nor null"
    );
    let enforcements = obj["enforcements"].as_array().unwrap();
    assert!(
        !enforcements.is_empty() || not_modelled.is_string(),
        "{id}: neither enforced nor not_modelled"
    );
    let product = obj["product"].as_str().unwrap();
    assert!(PRODUCTS.contains(&product), "{id}: product `{product}`");
    assert!(
        id.starts_with(&format!("{product}.")),
        "{id} is listed under product {product}"
    );
    let level = obj["level"].as_str().unwrap();
    assert!(
        ["must", "should", "informational"].contains(&level),
        "{id}: level `{level}`"
    );
}

#[test]
fn rules_json_lists_every_catalog_rule_with_all_fields() {
    let catalog = compile(&embedded()).expect("shipped specs compile");
    let rules = rules_json(&["rules", "--format", "json"]);
    assert_eq!(rules.len(), catalog.rules.len());
    let listed: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(listed, expected, "one entry per rule, in catalog order");
    for entry in &rules {
        check_rule_entry(entry);
    }
    // Every product has rules in the listing.
    for product in PRODUCTS {
        assert!(
            rules.iter().any(|r| r["product"] == product),
            "no rule of {product}"
        );
    }
}

#[test]
fn rules_for_one_product_lists_only_that_product() {
    let all = rules_json(&["rules", "--format", "json"]);
    let flink = rules_json(&["rules", "--product", "flink", "--format", "json"]);
    assert!(!flink.is_empty());
    for entry in &flink {
        check_rule_entry(entry);
        assert_eq!(entry["product"], "flink", "{entry}");
    }
    let expected = all.iter().filter(|r| r["product"] == "flink").count();
    assert_eq!(flink.len(), expected, "every flink rule and only those");
}

#[test]
fn rules_for_an_unknown_product_is_a_usage_error() {
    let out = arrears(&["rules", "--product", "nope"]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("nope"), "stderr: {}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn explain_shows_the_rule_and_its_anchor() {
    let out = arrears(&["explain", "ecs.payg.stop-at-t15"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("ecs.payg.stop-at-t15"), "{text}");
    assert!(
        text.contains("the instance is stopped and billing ceases on T+15"),
        "{text}"
    );

    let out = arrears(&["explain", "ecs.payg.stop-at-t15", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let value: Value = serde_json::from_str(&stdout(&out)).expect("explain JSON");
    assert_eq!(value["id"], "ecs.payg.stop-at-t15");
    assert_eq!(
        value["anchor"],
        "the instance is stopped and billing ceases on T+15"
    );
}

#[test]
fn explain_an_unknown_rule_is_a_usage_error() {
    let out = arrears(&["explain", "no.such.rule"]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("no.such.rule"),
        "stderr: {}",
        stderr(&out)
    );
}

#[test]
fn explain_a_lifecycle_shows_per_state_what_is_decided_and_by_which_rule() {
    let out = arrears(&["explain", "ecs.snapshot"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    // "All snapshots and custom images are retained" decides the data of a
    // kept snapshot, not whether it serves.
    let retained = text
        .split("state deleted")
        .next()
        .expect("the retained state comes first");
    assert!(
        retained.contains("serving")
            && retained.contains("unspecified  (not decided: not compared)"),
        "{text}"
    );
    assert!(
        retained.contains(
            "data                           retained  (by ecs.stopped.snapshots-retained)"
        ),
        "{text}"
    );
    let out = arrears(&["explain", "ecs.snapshot", "--format", "json"]);
    let value: Value = serde_json::from_str(&stdout(&out)).expect("explain JSON");
    let serving = &value["states"][0]["fields"][0];
    assert_eq!(serving["field"], "serving");
    assert_eq!(serving["value"], "unspecified");
    assert_eq!(serving["rules"], serde_json::json!([]));
}

#[test]
fn explain_an_interpretation_lists_its_readings_and_what_each_sets() {
    let out = arrears(&["explain", "maxcompute.interp.fee-operations-while-overdue"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("allowed: a renewal is accepted"), "{text}");
    assert!(
        text.contains("sets maxcompute.fee-operations-refused-while-overdue = true"),
        "{text}"
    );
}

#[test]
fn lint_reports_a_broken_fixture_with_its_location() {
    let name = "unknown-rule-reference";
    let dir = format!("tests/fixtures/specs/broken/{name}");
    let expected = std::fs::read_to_string(manifest_dir().join(&dir).join("expected.txt"))
        .expect("the fixture has expected.txt");
    // `file:line:column` of the expected first diagnostic.
    let location: String = expected
        .splitn(4, ':')
        .take(3)
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        location.starts_with(&format!("{dir}/spec.yaml:")),
        "{location}"
    );
    let message = expected.splitn(4, ':').nth(3).unwrap().trim();
    let message = message.split(" (in ").next().unwrap();

    let out = arrears(&["lint", &dir]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&location), "no `{location}` in:\n{err}");
    assert!(err.contains(message), "no `{message}` in:\n{err}");

    let out = arrears(&["lint", &dir, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let diags: Value = serde_json::from_str(&stdout(&out)).expect("lint JSON");
    let first = &diags[0];
    let rendered = format!(
        "{}:{}:{}: {} (in {})",
        first["file"].as_str().unwrap(),
        first["line"],
        first["column"],
        first["message"].as_str().unwrap(),
        first["element"].as_str().unwrap()
    );
    assert_eq!(rendered, expected.trim_end());
}

#[test]
fn lint_on_the_valid_fixture_succeeds() {
    let out = arrears(&["lint", "tests/fixtures/specs/valid"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with("ok: 1 spec files"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn lint_of_the_shipped_specs_succeeds() {
    let out = arrears(&["lint"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let out = arrears(&["lint", "specs"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
}

#[test]
fn specs_option_reads_another_directory() {
    // `--specs` applies to every command: with the valid fixture, `rules`
    // lists its rules and nothing of the shipped specs.
    let rules = rules_json(&[
        "--specs",
        "tests/fixtures/specs/valid",
        "rules",
        "--format",
        "json",
    ]);
    assert!(!rules.is_empty());
    assert!(
        rules
            .iter()
            .all(|r| r["id"].as_str().unwrap().starts_with("mini."))
    );
    // A broken spec directory makes `rules` fail with a usage error.
    let out = arrears(&[
        "--specs",
        "tests/fixtures/specs/broken/missing-ledger",
        "rules",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
