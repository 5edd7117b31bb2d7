//! The JSON Schemas of `arrears schema` against the files they describe.
//!
//! Every file a user writes or reads must validate against the schema
//! arrears prints for it: the shipped specs, worked examples and mixes, and
//! the files a run writes (the JSON report, replay files, the regressions
//! file, the protocol messages both ways). The spec schema must also reject
//! what the spec reader rejects (an unknown key at any level, a value of
//! the wrong type), since editors flag a spec by it. And the copies shipped
//! under `schemas/` (which editor modelines point to) must be exactly what
//! `arrears schema` prints now; `ARREARS_BLESS=1 cargo test --test schemas`
//! rewrites them after a deliberate change of a format.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");
const FAITHFUL: &str = env!("CARGO_BIN_EXE_arrears-faithful");

const KINDS: [&str; 10] = [
    "spec",
    "history",
    "example",
    "observation",
    "replay",
    "regressions",
    "report",
    "coverage",
    "protocol",
    "mix",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn arrears(args: &[&str]) -> Output {
    Command::new(ARREARS)
        .args(args)
        .output()
        .expect("arrears runs")
}

/// What `arrears schema KIND` prints.
fn printed(kind: &str) -> String {
    let out = arrears(&["schema", kind]);
    assert!(
        out.status.success(),
        "arrears schema {kind} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("a schema is UTF-8")
}

fn validator(kind: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&printed(kind)).expect("a schema is JSON");
    jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("arrears schema {kind} is not a valid JSON Schema: {e}"))
}

/// The schema's complaints about `instance`, each with where it is.
fn problems(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("at `{}`: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let found = problems(validator, instance);
    assert!(
        found.is_empty(),
        "{what} does not validate against its schema:\n  {}",
        found.join("\n  ")
    );
}

/// A YAML file as JSON, read the way arrears reads YAML (YAML 1.2
/// booleans: `serving: yes` is the string "yes") and the way
/// yaml-language-server reads it.
fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str_with_options(&text, serde_saphyr::options! { strict_booleans: true })
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// The `*.yaml` files of a directory, in name order.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_shipped_schemas_are_what_arrears_prints() {
    let dir = root().join("schemas");
    let bless = std::env::var_os("ARREARS_BLESS").is_some();
    let mut stale = Vec::new();
    for kind in KINDS {
        let path = dir.join(format!("{kind}.schema.json"));
        let now = printed(kind);
        if bless {
            std::fs::create_dir_all(&dir).expect("schemas/ is writable");
            std::fs::write(&path, &now).expect("the schema file is writable");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(shipped) if shipped == now => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(e) => stale.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "the shipped schemas are not what `arrears schema` prints (after a deliberate format change, \
         rewrite them with ARREARS_BLESS=1 cargo test --test schemas):\n  {}",
        stale.join("\n  ")
    );
    // Nothing else lives there: a schema of a kind that no longer exists
    // would mislead the editors pointed at it.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("schemas/ exists")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut expected: Vec<String> = KINDS.iter().map(|k| format!("{k}.schema.json")).collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn every_shipped_spec_validates() {
    let spec = validator("spec");
    let files = yaml_files(&root().join("specs"));
    assert!(files.len() >= 5, "the shipped specs are found");
    for path in files {
        assert_valid(&spec, &yaml(&path), &path.display().to_string());
    }
}

#[test]
fn every_worked_example_and_its_history_validates() {
    let example = validator("example");
    let history = validator("history");
    let files = yaml_files(&root().join("specs/examples"));
    assert!(files.len() >= 50, "the worked examples are found");
    for path in files {
        let value = yaml(&path);
        assert_valid(&example, &value, &path.display().to_string());
        assert_valid(
            &history,
            &value["history"],
            &format!("the history of {}", path.display()),
        );
    }
}

#[test]
fn every_shipped_mix_validates() {
    let mix = validator("mix");
    let files = yaml_files(&root().join("mixes"));
    assert!(!files.is_empty(), "the shipped mixes are found");
    for path in files {
        assert_valid(&mix, &yaml(&path), &path.display().to_string());
    }
}

/// The wrong specs: an unknown key at each level the spec reader checks,
/// and values of the wrong type. Each must be refused by the schema (so an
/// editor flags it) and by `arrears lint` (so the schema is not stricter
/// than arrears).
#[test]
fn the_spec_schema_refuses_what_the_spec_reader_refuses() {
    let spec = validator("spec");
    let shipped = root().join("specs");
    let ecs = yaml(&shipped.join("ecs.yaml"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    for path in yaml_files(&shipped) {
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let lint = |value: &Value| -> Output {
        // JSON is YAML: the reader takes the value as it is.
        std::fs::write(dir.path().join("ecs.yaml"), value.to_string()).unwrap();
        arrears(&["lint", dir.path().to_str().unwrap()])
    };
    // The spec as JSON is still a valid spec: what follows changes only
    // the one thing named.
    let out = lint(&ecs);
    assert!(
        out.status.success(),
        "ecs.yaml read back from JSON lints: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let states = "/lifecycles/0/states/0";
    let transition = "/lifecycles/0/transitions/0";
    let after = ecs["lifecycles"][0]["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|t| t["on"].get("after").is_some())
        .expect("a transition on `after`");
    let universality = ecs["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .position(|i| i.get("universality").is_some())
        .expect("an invariant with universality");
    let wrong: Vec<(String, Edit)> = vec![
        ("an unknown top-level key".into(), unknown_key("")),
        (
            "an unknown key in document".into(),
            unknown_key("/document"),
        ),
        (
            "an unknown key in a parameter".into(),
            unknown_key("/parameters/0"),
        ),
        ("an unknown key in a state".into(), unknown_key(states)),
        (
            "an unknown key in a transition".into(),
            unknown_key(transition),
        ),
        (
            "an unknown key inside a trigger".into(),
            unknown_key(&format!("/lifecycles/0/transitions/{after}/on/after")),
        ),
        ("an unknown key in a rule".into(), unknown_key("/rules/0")),
        (
            "an unknown key in an invariant's pattern".into(),
            unknown_key(&format!("/invariants/{universality}/universality")),
        ),
        (
            "an unknown kind of trigger".into(),
            set(&format!("{transition}/on"), json!({"someday": true})),
        ),
        (
            "an unknown unit".into(),
            set("/parameters/0/unit", json!("fortnights")),
        ),
        (
            "a number for a state's serving".into(),
            set(&format!("{states}/serving"), json!(1)),
        ),
        (
            "a string for a boolean".into(),
            set(&format!("{states}/terminal"), json!("yes")),
        ),
        ("a map for the rules".into(), set("/rules", json!({}))),
        ("no rules".into(), remove("", "rules")),
    ];
    for (what, edit) in wrong {
        let mut value = ecs.clone();
        edit(&mut value);
        assert!(
            !problems(&spec, &value).is_empty(),
            "the spec schema accepts a spec with {what}"
        );
        // The reader itself refuses it, not a later check of the specs.
        let out = lint(&value);
        let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(2) && said.contains("failed to read spec"),
            "arrears reads a spec with {what}, which the schema refuses: {said}"
        );
    }
}

/// A change to a spec read as JSON.
type Edit = Box<dyn Fn(&mut Value)>;

/// Adds a key the reader does not know to the map a pointer names.
fn unknown_key(at: &str) -> Edit {
    let at = at.to_string();
    Box::new(move |value: &mut Value| {
        value
            .pointer_mut(&at)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{at} is a map in ecs.yaml"))
            .insert("colour".into(), json!("blue"));
    })
}

/// Sets the key a pointer names (whether or not the file writes it).
fn set(at: &str, new: Value) -> Edit {
    let (parent, key) = at.rsplit_once('/').expect("a pointer to a key");
    let (parent, key) = (parent.to_string(), key.to_string());
    Box::new(move |value: &mut Value| {
        value
            .pointer_mut(&parent)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{parent} is a map in ecs.yaml"))
            .insert(key.clone(), new.clone());
    })
}

/// Removes a key from the map a pointer names.
fn remove(at: &str, key: &str) -> Edit {
    let (at, key) = (at.to_string(), key.to_string());
    Box::new(move |value: &mut Value| {
        value
            .pointer_mut(&at)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("{at} is a map in ecs.yaml"))
            .remove(&key)
            .unwrap_or_else(|| panic!("{at}/{key} is in ecs.yaml"));
    })
}

/// A few cases through the reference model behind the adapter protocol,
/// with the messages both ways recorded: the JSON report, every request
/// and every reply validate, and the observations and events the replies
/// carry validate as a trace.
#[test]
fn a_report_and_the_protocol_messages_of_a_run_validate() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let transcripts = dir.path().join("transcripts");
    std::fs::create_dir(&transcripts).unwrap();
    let report = dir.path().join("report.json");
    // verify may start several processes: each records its own messages
    // (`$$`, the pid of the shell that runs it, names its files).
    let sut = format!(
        "tee '{dir}'/requests.$$ | '{ARREARS}' serve | tee '{dir}'/replies.$$",
        dir = transcripts.display()
    );
    let out = Command::new(ARREARS)
        .args([
            "verify",
            "--cases",
            "4",
            "--no-coverage-gate",
            "--format",
            "json",
        ])
        .args(["--sut", &sut, "--out"])
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&report)
        .arg("--coverage-report")
        .arg(dir.path().join("coverage.json"))
        .output()
        .expect("arrears runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the report is JSON");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).expect("JSON");
    assert_eq!(printed, written);
    assert_eq!(printed["format_version"], json!(1));
    assert_valid(&validator("report"), &printed, "the report of verify");
    let coverage: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("coverage.json")).unwrap())
            .expect("the coverage report is JSON");
    assert!(coverage["rules"].as_object().is_some_and(|r| !r.is_empty()));
    assert_valid(&validator("coverage"), &coverage, "the coverage report");

    let protocol = validator("protocol");
    let schema: Value = serde_json::from_str(&self::printed("protocol")).unwrap();
    let request = jsonschema::validator_for(&with_root(&schema, "RequestEnvelope")).unwrap();
    let reply = jsonschema::validator_for(&with_root(&schema, "ReplyEnvelope")).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    let mut trace = json!({"events": [], "observations": []});
    let mut files: Vec<PathBuf> = std::fs::read_dir(&transcripts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the messages are recorded");
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        let (side, validator) = if name.starts_with("requests.") {
            ("request", &request)
        } else {
            ("reply", &reply)
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let message: Value = serde_json::from_str(line).expect("a message is JSON");
            let what = format!("{name}:{} ({})", i + 1, message["type"]);
            assert_valid(&protocol, &message, &what);
            assert_valid(validator, &message, &what);
            kinds.insert(format!("{side} {}", message["type"].as_str().unwrap()));
            if side == "reply" && message["type"] == "observation" {
                let events = message["events"].as_array().unwrap().clone();
                trace["events"].as_array_mut().unwrap().extend(events);
                trace["observations"]
                    .as_array_mut()
                    .unwrap()
                    .push(message["observation"].clone());
            }
        }
    }
    for kind in [
        "request hello",
        "request load",
        "request apply",
        "request advance",
        "request observe",
        "reply hello",
        "reply ok",
        "reply observation",
    ] {
        assert!(kinds.contains(kind), "the run has a {kind}: {kinds:?}");
    }
    assert!(!trace["events"].as_array().unwrap().is_empty());
    assert_valid(&validator("observation"), &trace, "the trace of the run");

    // Both sides ignore fields they do not know, and the schema says so;
    // a message of neither kind is refused.
    assert_valid(
        &reply,
        &json!({"id": 3, "type": "ok", "elapsed_ms": 2}),
        "an ok with an extra field",
    );
    for wrong in [
        json!({"id": 3, "type": "okay"}),
        json!({"type": "ok"}),
        json!({"id": 3, "type": "error"}),
        json!({"id": -1, "type": "ok"}),
    ] {
        assert!(
            !problems(&protocol, &wrong).is_empty(),
            "the protocol schema accepts {wrong}"
        );
    }
}

/// The schema with one of its definitions as the root: what one side of
/// the protocol checks its messages against.
fn with_root(schema: &Value, definition: &str) -> Value {
    let mut root = schema.clone();
    let object = root.as_object_mut().unwrap();
    object.remove("anyOf");
    object.insert("$ref".into(), json!(format!("#/definitions/{definition}")));
    root
}

/// A run against an implementation with a bug: its report (with
/// counterexamples), the replay files, the histories in them and the
/// regressions file validate.
#[test]
fn the_files_of_a_failing_run_validate() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out_dir = dir.path().join("out");
    let regressions = dir.path().join("regressions.yaml");
    let sut = format!("'{FAITHFUL}' --fault stop-at-t14");
    // Few events a history keeps the shrinking short.
    let out = Command::new(ARREARS)
        .args([
            "verify",
            "--products",
            "ecs",
            "--cases",
            "6",
            "--max-events",
            "6",
        ])
        .args(["--no-coverage-gate", "--format", "json", "--sut", &sut])
        .arg("--out")
        .arg(&out_dir)
        .arg("--regressions")
        .arg(&regressions)
        .output()
        .expect("arrears runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the fault is found: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report is JSON");
    assert!(!report["counterexamples"].as_array().unwrap().is_empty());
    assert_valid(&validator("report"), &report, "the report of a failing run");

    let replay = validator("replay");
    let history = validator("history");
    let files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".replay.yaml"))
        .collect();
    assert!(!files.is_empty(), "replay files are written");
    for path in &files {
        let value = yaml(path);
        assert_valid(&replay, &value, &path.display().to_string());
        assert_valid(
            &history,
            &value["history"],
            &format!("the history of {}", path.display()),
        );
    }
    let value = yaml(&regressions);
    assert_eq!(
        value["regressions"].as_array().map(Vec::len),
        Some(files.len())
    );
    assert_valid(&validator("regressions"), &value, "the regressions file");

    // A replay file with a misspelt field is refused, as `arrears replay`
    // refuses it.
    let mut wrong = yaml(&files[0]);
    wrong["replay"]["systme"] = json!("x");
    assert!(!problems(&replay, &wrong).is_empty());
    let path = dir.path().join("wrong.replay.yaml");
    std::fs::write(&path, wrong.to_string()).unwrap();
    let out = arrears(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}
