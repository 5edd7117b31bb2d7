//! Worked examples: histories with the observations a careful reader of the
//! documents expects at chosen instants.
//!
//! Like the cases of JSON-Schema-Test-Suite, an example is language-neutral
//! data (`specs/examples/*.yaml`), so any implementation can run them; the
//! runner contract is in `specs/examples/README.md`. Expectations are
//! partial: only the fields an example names are compared, so an example
//! pins exactly what its sentences say and nothing else.
//!
//! Matching rules: an expected observation at instant `at` is compared with
//! the observation taken after every event at `at` and every scheduled
//! action due at or before it. Fields holding instants are written as
//! offsets from the history's start. Two shorthands exist: `overdue`
//! (whether `overdue_since` is set) for accounts and resources, and
//! `outstanding` (the number of unpaid bills) for accounts. Expected events
//! must each match at least one event of the log, field by field; `absent`
//! events must match none.
//!
//! This file reads and runs examples; `validation.rs` checks one is
//! well-formed, `matching.rs` holds a trace against its expectations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{History, Offset};

mod matching;
mod validation;

use crate::spec::Catalog;
pub use matching::compare;
pub use validation::validate;

/// One worked example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkedExample {
    /// What the example shows, in words.
    pub description: String,
    /// The rules the example pins (spec rule ids).
    pub rules: Vec<String>,
    /// The readings the expectations are written under, as
    /// `{interpretation id: reading id}`; an interpretation not named here
    /// is read as the specs choose. An example about another reading than
    /// the specs' names it here, and runs only against the model read that
    /// way and against implementations that declare that reading.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub readings: BTreeMap<String, String>,
    pub history: History,
    /// Observations expected at chosen instants.
    #[serde(default)]
    pub expect: Vec<ExpectedObservation>,
    /// Events that must appear in the log (partial match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Value>,
    /// Events that must not appear in the log (partial match).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedObservation {
    pub at: Offset,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Value>,
}

/// Fields whose values are instants, written as offsets in examples.
const TIME_FIELDS: [&str; 8] = [
    "at",
    "since",
    "overdue_since",
    "oldest_overdue_bill",
    "purchased_at",
    "expires_at",
    "settlement_date",
    "next_attempt",
];

/// The result of checking one example.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub description: String,
    pub rules: Vec<String>,
    pub checks: usize,
    /// Empty when the example passed.
    pub failures: Vec<String>,
    /// Why the example was not run, when it was not (the system does not
    /// implement what it is about, or answered `unsupported`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Outcome {
    /// Ran, and every expectation held. A skipped example has not passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.skipped.is_none()
    }

    /// Ran, and some expectation did not hold.
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The outcome of an example before anything is checked.
    fn new(name: &str, example: &WorkedExample) -> Outcome {
        Outcome {
            name: name.to_string(),
            description: example.description.clone(),
            rules: example.rules.clone(),
            checks: 0,
            failures: Vec::new(),
            skipped: None,
        }
    }

    /// An example that was not run, with the reason.
    pub fn skipped(name: &str, example: &WorkedExample, reason: impl Into<String>) -> Outcome {
        Outcome {
            skipped: Some(reason.into()),
            ..Outcome::new(name, example)
        }
    }

    /// An example that could not be run to a comparison, with the reason.
    fn failing(name: &str, example: &WorkedExample, failure: String) -> Outcome {
        Outcome {
            failures: vec![failure],
            ..Outcome::new(name, example)
        }
    }
}

/// An example file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    #[error("failed to read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl WorkedExample {
    pub fn from_text(text: &str) -> Result<WorkedExample, String> {
        crate::yaml::from_str(text).map_err(|e| match e.position {
            Some(p) => format!("line {}, column {}: {}", p.line, p.column, e.message),
            None => e.message,
        })
    }

    pub fn to_yaml(&self) -> String {
        crate::yaml::to_string(self).unwrap_or_default()
    }
}

/// Reads every `*.yaml` example of a directory, in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, WorkedExample)>, ExampleError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ExampleError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| ExampleError::Io {
                path: path.clone(),
                source,
            })?;
            let example =
                WorkedExample::from_text(&text).map_err(|message| ExampleError::Invalid {
                    path: path.clone(),
                    message,
                })?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((name, example))
        })
        .collect()
}

/// The catalog read as an example is written: the specs' choices, with the
/// example's own `readings` applied. `None` when they name an unknown
/// interpretation or reading (`validate` says which).
pub fn catalog_for(catalog: &Catalog, example: &WorkedExample) -> Option<Catalog> {
    if example.readings.is_empty() {
        return Some(catalog.clone());
    }
    crate::verify::reference_catalogs(catalog, &example.readings)
        .ok()?
        .into_iter()
        .next()
}

/// Why an example cannot judge an implementation that declared `declared`
/// readings, or `None` when it can: the example is written under a reading
/// the implementation did not declare, or its expectations hold only under
/// the specs' choice for an interpretation the implementation reads another
/// way (found by running the example on the model read as the
/// implementation declared).
pub fn pinned_elsewhere(
    catalog: &Catalog,
    example: &WorkedExample,
    declared: &BTreeMap<String, String>,
) -> Option<String> {
    let not_chosen = |interpretation: &str, reading: &str| {
        catalog
            .interpretations
            .iter()
            .any(|i| i.id == interpretation && i.chosen != reading)
    };
    for (interpretation, reading) in &example.readings {
        match declared.get(interpretation) {
            Some(theirs) if theirs != reading => {
                return Some(format!(
                    "written under {interpretation}={reading}; the system declared {interpretation}={theirs}"
                ));
            }
            Some(_) => {}
            None if not_chosen(interpretation, reading) => {
                return Some(format!(
                    "written under {interpretation}={reading}, which the system did not declare"
                ));
            }
            None => {}
        }
    }
    // The readings the system declared that this example does not name and
    // that differ from the specs' choice: does the example still hold when
    // the model reads them the system's way?
    let other: BTreeMap<String, String> = declared
        .iter()
        .filter(|(i, r)| !example.readings.contains_key(*i) && not_chosen(i, r))
        .map(|(i, r)| (i.clone(), r.clone()))
        .collect();
    if other.is_empty() {
        return None;
    }
    let mut merged = example.readings.clone();
    merged.extend(other.clone());
    let read_their_way = crate::verify::reference_catalogs(catalog, &merged)
        .ok()?
        .into_iter()
        .next()?;
    let model = crate::verify::ReferenceModel {
        catalog: &read_their_way,
    };
    let holds = check_on(&read_their_way, &model, "", example).is_ok_and(|o| o.passed());
    (!holds).then(|| {
        format!(
            "holds only under the specs' reading of {}",
            other
                .iter()
                .map(|(i, r)| format!("{i} (the system declared {r})"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Runs an example through the reference model (read as the example is
/// written) and compares.
pub fn check(catalog: &Catalog, name: &str, example: &WorkedExample) -> Outcome {
    let Some(read) = catalog_for(catalog, example) else {
        let problem = validate(catalog, example).err().unwrap_or_default();
        let failure = format!("the example is malformed: {problem}");
        return Outcome::failing(name, example, failure);
    };
    let model = crate::verify::ReferenceModel { catalog: &read };
    match check_on(&read, &model, name, example) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::failing(name, example, e.to_string()),
    }
}

/// Runs an example through an implementation under test as `arrears
/// examples --sut` does: an example about a product or billing method the
/// system did not declare in its hello, or written under a reading other
/// than those it declared, says nothing about it and is skipped; any other
/// is run ([`check_on`]). A system without a declaration runs every example.
pub fn check_declared(
    catalog: &Catalog,
    system: &dyn crate::verify::System,
    name: &str,
    example: &WorkedExample,
) -> Result<Outcome, crate::verify::SystemError> {
    if let Some(declaration) = system.declaration() {
        let implemented = crate::verify::implemented_lifecycles(catalog, declaration);
        let resolved = example.history.validate(catalog).unwrap_or_default();
        let missing = resolved
            .values()
            .map(|r| r.lifecycle)
            .filter(|l| !implemented.contains(l))
            .min()
            .map(|l| catalog.lifecycle(l).id.clone());
        if let Some(lifecycle) = missing {
            let reason = format!("not implemented: {lifecycle}");
            return Ok(Outcome::skipped(name, example, reason));
        }
        if let Some(reason) = pinned_elsewhere(catalog, example, &declaration.readings) {
            return Ok(Outcome::skipped(name, example, reason));
        }
    }
    check_on(catalog, system, name, example)
}

/// Runs an example through any system (an implementation under test) and
/// compares what it reports with the example's expectations. A protocol
/// violation is returned as the error; anything else is a failure of the
/// example.
pub fn check_on(
    catalog: &Catalog,
    system: &dyn crate::verify::System,
    name: &str,
    example: &WorkedExample,
) -> Result<Outcome, crate::verify::SystemError> {
    let mut outcome = Outcome::new(name, example);
    if let Err(problem) = validate(catalog, example) {
        outcome
            .failures
            .push(format!("the example is malformed: {problem}"));
        return Ok(outcome);
    }
    let mut instants: Vec<Offset> = example.expect.iter().map(|e| e.at).collect();
    instants.sort();
    instants.dedup();
    match system.run(&example.history, &instants) {
        Ok(trace) => compare(example, &trace, &mut outcome),
        Err(err) if err.kind == crate::verify::SystemErrorKind::Protocol => return Err(err),
        Err(err) if err.kind == crate::verify::SystemErrorKind::Unsupported => {
            outcome.skipped = Some(format!("unsupported: {}", err.message));
        }
        Err(err) => outcome.failures.push(format!(
            "{} cannot run the history: {err}",
            system.describe()
        )),
    }
    Ok(outcome)
}
/// The JSON Schema of worked examples.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<WorkedExample>()
}
