//! Counterexamples as data: replay files and the regressions file.
//!
//! A replay file is a self-contained failing case — the minimal history, the
//! instants it is observed at, what the reference model shows there (as
//! worked-example expectations), the check that failed and the rules it
//! cites — not a proptest seed, so it stays meaningful across versions of
//! arrears and of the generators. `arrears replay` re-runs one against an
//! implementation; `--promote` turns one into a worked example, so that
//! every implementation is checked on it from then on. A regressions file
//! is a list of replay files that `verify --regressions` runs first and
//! appends new failures to.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::examples::{ExpectedObservation, WorkedExample};
use crate::generate::Scenario;
use crate::history::{History, Offset};
use crate::observation::{Trace, TraceEvent};
use crate::spec::{BillingStatus, Catalog, Data, Serving};
use crate::verify::{Counterexample, Regression};

/// The version of the replay format.
pub const REPLAY_VERSION: u32 = 1;

/// A counterexample as a file (`arrears-out/*.replay.yaml`): what
/// `arrears replay` re-runs and `--promote` turns into a worked example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "arrears replay file")]
pub struct ReplayFile {
    /// Where the counterexample comes from.
    pub replay: ReplayInfo,
    /// What the case shows, in words (the worked example's description
    /// when promoted).
    pub description: String,
    /// The rules the failed check cites.
    pub rules: Vec<String>,
    /// The minimal failing history.
    pub history: History,
    /// The instants the case is observed at.
    #[serde(default)]
    pub observe: Vec<Offset>,
    /// What the reference model shows at those instants (chosen readings).
    #[serde(default)]
    pub expect: Vec<ExpectedObservation>,
    /// Transitions of the reference model, as expected events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Value>,
}

/// Where a counterexample comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayInfo {
    /// The version of the replay format (1).
    pub version: u32,
    /// The invariant that failed, or `differential`.
    pub check: String,
    /// What was observed, in words.
    pub found: String,
    /// The system it was found on.
    pub system: String,
}

/// The regressions file of `verify --regressions`: counterexamples found
/// before, run first by every later run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
#[schemars(title = "arrears regressions file")]
pub struct RegressionsFile {
    /// The counterexamples, each as its replay file holds it.
    #[serde(default)]
    pub regressions: Vec<ReplayFile>,
}

/// The JSON Schema of replay files.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<ReplayFile>()
}

/// The JSON Schema of regressions files.
pub fn regressions_json_schema() -> schemars::Schema {
    crate::schema::of_input::<RegressionsFile>()
}

/// A replay or regressions file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("failed to read {path}: {error}")]
    Read { path: String, error: String },
    #[error("failed to write {path}: {error}")]
    Write { path: String, error: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Partial expectations of what the model shows: per resource its state and
/// the capabilities the specs give it, per account overdue, cash, vouchers;
/// nothing of a resource in a state where the documents decide nothing of it.
pub fn expectations(
    catalog: &Catalog,
    history: &History,
    trace: &Trace,
) -> Vec<ExpectedObservation> {
    trace
        .observations
        .iter()
        .map(|o| {
            let accounts = o
                .accounts
                .iter()
                .map(|a| {
                    (
                        a.account.to_string(),
                        serde_json::json!({"overdue": a.overdue_since.is_some(), "cash": a.cash, "vouchers": a.vouchers}),
                    )
                })
                .collect();
            let resources = o
                .resources
                .iter()
                .filter(|r| !catalog.is_undecided(&r.lifecycle, &r.state))
                .map(|r| {
                    let mut fields = serde_json::Map::new();
                    fields.insert("state".into(), Value::from(&*r.state));
                    if r.serving != Serving::Unspecified {
                        fields.insert("serving".into(), serde_json::to_value(r.serving).unwrap_or_default());
                    }
                    if r.data != Data::Unspecified {
                        fields.insert("data".into(), serde_json::to_value(r.data).unwrap_or_default());
                    }
                    if r.billing != BillingStatus::Unspecified {
                        fields.insert("billing".into(), serde_json::to_value(r.billing).unwrap_or_default());
                    }
                    (r.resource.to_string(), Value::Object(fields))
                })
                .collect();
            ExpectedObservation {
                at: Offset::between(history.start, o.at),
                accounts,
                resources,
            }
        })
        .collect()
}

fn transitions(catalog: &Catalog, history: &History, trace: &Trace) -> Vec<Value> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Transition {
                at,
                resource,
                lifecycle,
                from,
                to,
                rule,
                ..
            } if !catalog.is_undecided(lifecycle, to) => Some(serde_json::json!({
                "event": "transition",
                "at": Offset::between(history.start, *at).to_string(),
                "resource": resource,
                "from": from,
                "to": to,
                "rule": rule,
            })),
            _ => None,
        })
        .collect()
}

/// A counterexample as a replay file, with the reference model's view of it.
pub fn from_counterexample(reference: &Catalog, system: &str, c: &Counterexample) -> ReplayFile {
    let mut history = c.history.clone();
    history.observe.clear();
    let scenario = Scenario {
        history: history.clone(),
        observe: c.observe.clone(),
    };
    let instants = crate::verify::observation_instants(reference, &scenario);
    let trace = crate::model::run(reference, &history, &instants).unwrap_or(Trace {
        events: Vec::new(),
        observations: Vec::new(),
    });
    ReplayFile {
        replay: ReplayInfo {
            version: REPLAY_VERSION,
            check: c.check.clone(),
            found: c.message(),
            system: system.to_string(),
        },
        description: format!("Counterexample to {}: {}", c.check, c.message()),
        rules: c.rules.iter().map(|r| r.rule.clone()).collect(),
        expect: expectations(reference, &history, &trace),
        events: transitions(reference, &history, &trace),
        observe: instants,
        history,
    }
}

impl ReplayFile {
    pub fn read(path: &Path) -> Result<ReplayFile, ReplayError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReplayError::Read {
            path: path.display().to_string(),
            error: crate::files::plain_io(&e),
        })?;
        let file: ReplayFile = crate::yaml::from_str(&text).map_err(|e| ReplayError::Invalid {
            path: path.display().to_string(),
            message: match e.position {
                Some(p) => format!("line {}, column {}: {}", p.line, p.column, e.message),
                None => e.message,
            },
        })?;
        if file.replay.version != REPLAY_VERSION {
            return Err(ReplayError::Invalid {
                path: path.display().to_string(),
                message: format!(
                    "replay format version {} is not supported (this arrears reads {REPLAY_VERSION})",
                    file.replay.version
                ),
            });
        }
        Ok(file)
    }

    pub fn write(&self, path: &Path) -> Result<(), ReplayError> {
        write_yaml(self, path)
    }

    pub fn scenario(&self) -> Scenario {
        Scenario {
            history: self.history.clone(),
            observe: self.observe.clone(),
        }
    }

    /// The worked example this replay becomes when promoted.
    pub fn to_example(&self) -> WorkedExample {
        let mut history = self.history.clone();
        history.until = Some(history.end());
        WorkedExample {
            description: self.description.clone(),
            rules: self.rules.clone(),
            // A replay's expectations are the model's under the specs'
            // chosen readings.
            readings: Default::default(),
            history,
            expect: self.expect.clone(),
            events: self.events.clone(),
            absent: Vec::new(),
        }
    }
}

impl RegressionsFile {
    /// Reads a regressions file; a missing file is an empty list (it is
    /// created when the first failure is appended).
    pub fn read(path: &Path) -> Result<RegressionsFile, ReplayError> {
        if !path.exists() {
            return Ok(RegressionsFile::default());
        }
        let text = std::fs::read_to_string(path).map_err(|e| ReplayError::Read {
            path: path.display().to_string(),
            error: crate::files::plain_io(&e),
        })?;
        RegressionsFile::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<RegressionsFile, ReplayError> {
        if text.trim().is_empty() {
            // An empty file holds no regressions; arrears never leaves one
            // half-written (it writes by rename), so this is a new file.
            return Ok(RegressionsFile::default());
        }
        let file: RegressionsFile =
            crate::yaml::from_str(text).map_err(|e| ReplayError::Invalid {
                path: path.display().to_string(),
                message: match e.position {
                    Some(p) => format!("line {}, column {}: {}", p.line, p.column, e.message),
                    None => e.message,
                },
            })?;
        if let Some((i, r)) = file
            .regressions
            .iter()
            .enumerate()
            .find(|(_, r)| r.replay.version != REPLAY_VERSION)
        {
            return Err(ReplayError::Invalid {
                path: path.display().to_string(),
                message: format!(
                    "regressions[{i}]: replay format version {} is not supported (this arrears reads {REPLAY_VERSION})",
                    r.replay.version
                ),
            });
        }
        Ok(file)
    }

    pub fn regressions(&self) -> Vec<Regression> {
        self.regressions
            .iter()
            .enumerate()
            .map(|(i, r)| Regression {
                name: format!("{} ({})", i + 1, r.replay.check),
                scenario: r.scenario(),
            })
            .collect()
    }

    /// Adds the replays whose histories are not there yet; returns how many.
    pub fn append(&mut self, new: impl IntoIterator<Item = ReplayFile>) -> usize {
        let mut added = 0;
        for r in new {
            if !self
                .regressions
                .iter()
                .any(|x| x.history == r.history && x.replay.check == r.replay.check)
            {
                self.regressions.push(r);
                added += 1;
            }
        }
        added
    }

    pub fn write(&self, path: &Path) -> Result<(), ReplayError> {
        write_yaml(self, path)
    }

    /// Appends `new` to the regressions file at `path` as it is *now* (not
    /// as it was when the run read it), under a lock, so that runs sharing
    /// the file (CI shards, two terminals) never lose each other's entries.
    /// Returns how many were added.
    pub fn append_to_file(path: &Path, new: &[ReplayFile]) -> Result<usize, ReplayError> {
        let mut added = 0;
        crate::files::update_locked::<ReplayError>(path, |current| {
            let mut file = match current {
                Some(text) => RegressionsFile::parse(path, text)?,
                None => RegressionsFile::default(),
            };
            added = file.append(new.iter().cloned());
            if added == 0 && current.is_some() {
                return Ok(None);
            }
            let text = crate::yaml::to_string(&file).map_err(|e| ReplayError::Write {
                path: path.display().to_string(),
                error: e.message,
            })?;
            Ok(Some(text.into_bytes()))
        })?;
        Ok(added)
    }
}

impl From<crate::files::WriteError> for ReplayError {
    fn from(e: crate::files::WriteError) -> ReplayError {
        ReplayError::Write {
            path: e.path.display().to_string(),
            error: e.reason,
        }
    }
}

/// A file name for a check: `ecs.inv.x` → `ecs.inv.x`, safe on any system.
pub fn file_stem(check: &str) -> String {
    check
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The file in an output directory that lists what the last run wrote
/// there, so that the next run removes exactly those files and nothing of
/// the user's.
pub const RUN_INDEX: &str = "arrears-run.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct RunIndex {
    /// The system the counterexamples were found on.
    system: String,
    /// The files written, by name, inside the directory.
    files: Vec<String>,
}

/// Writes each counterexample's replay file and the timelines of both
/// systems into `dir`, replacing what an earlier run wrote there (listed in
/// [`RUN_INDEX`]); returns the files written. With no counterexamples and
/// no directory, writes nothing.
pub fn write_counterexamples(
    reference: &Catalog,
    system: &dyn crate::verify::System,
    counterexamples: &[Counterexample],
    dir: &Path,
) -> Result<Vec<String>, ReplayError> {
    let invalid = |message: String| ReplayError::Invalid {
        path: dir.display().to_string(),
        message,
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(invalid(
                "it is a file, not a directory; give --out a directory for the counterexamples"
                    .into(),
            ));
        }
        Ok(_) => remove_previous_run(dir)?,
        Err(_) if counterexamples.is_empty() => return Ok(Vec::new()),
        Err(_) => std::fs::create_dir_all(dir).map_err(|e| ReplayError::Write {
            path: dir.display().to_string(),
            error: crate::files::plain_io(&e),
        })?,
    }
    let mut index = RunIndex {
        system: system.describe(),
        files: Vec::new(),
    };
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for c in counterexamples {
        let n = used.entry(c.check.clone()).or_default();
        *n += 1;
        let stem = if *n == 1 {
            file_stem(&c.check)
        } else {
            format!("{}-{n}", file_stem(&c.check))
        };
        let replay = from_counterexample(reference, &system.describe(), c);
        let name = format!("{stem}.replay.yaml");
        replay.write(&dir.join(&name))?;
        index.files.push(name);
        if let Ok(trace) = crate::model::run(reference, &replay.history, &replay.observe) {
            let name = format!("{stem}.model.svg");
            let svg = crate::svg::render(reference, &replay.history, &trace);
            crate::files::write_atomic(&dir.join(&name), svg.as_bytes())?;
            index.files.push(name);
        }
        if let Ok(trace) = system.run(&replay.history, &replay.observe) {
            let name = format!("{stem}.system.svg");
            let svg = crate::svg::render(reference, &replay.history, &trace);
            crate::files::write_atomic(&dir.join(&name), svg.as_bytes())?;
            index.files.push(name);
        }
    }
    let text = serde_json::to_string_pretty(&index).unwrap_or_default();
    crate::files::write_atomic(&dir.join(RUN_INDEX), text.as_bytes())?;
    Ok(index
        .files
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect())
}

/// Removes the files an earlier run listed in the directory's index, so
/// that no stale replay file sits beside new ones. Only plain names inside
/// the directory are removed (a symbolic link itself, never its target).
fn remove_previous_run(dir: &Path) -> Result<(), ReplayError> {
    let Ok(text) = std::fs::read_to_string(dir.join(RUN_INDEX)) else {
        return Ok(());
    };
    let Ok(index) = serde_json::from_str::<RunIndex>(&text) else {
        return Ok(());
    };
    for name in &index.files {
        let plain = Path::new(name)
            .file_name()
            .is_some_and(|f| f == name.as_str());
        if !plain {
            continue;
        }
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
            std::fs::remove_file(&path).map_err(|e| ReplayError::Write {
                path: path.display().to_string(),
                error: format!("cannot remove it: {}", crate::files::plain_io(&e)),
            })?;
        }
    }
    Ok(())
}

/// Writes `value` as YAML to `path`.
fn write_yaml<T: serde::Serialize>(value: &T, path: &Path) -> Result<(), ReplayError> {
    let text = crate::yaml::to_string(value).map_err(|e| ReplayError::Write {
        path: path.display().to_string(),
        error: e.message,
    })?;
    crate::files::write_atomic(path, text.as_bytes())?;
    Ok(())
}
