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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFile {
    pub replay: ReplayInfo,
    pub description: String,
    /// The rules the failed check cites.
    pub rules: Vec<String>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayInfo {
    pub version: u32,
    /// The invariant that failed, or `differential`.
    pub check: String,
    /// What was observed, in words.
    pub found: String,
    /// The system it was found on.
    pub system: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RegressionsFile {
    #[serde(default)]
    pub regressions: Vec<ReplayFile>,
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
/// the capabilities the specs give it, per account overdue, cash, vouchers.
pub fn expectations(history: &History, trace: &Trace) -> Vec<ExpectedObservation> {
    trace
        .observations
        .iter()
        .map(|o| {
            let accounts = o
                .accounts
                .iter()
                .map(|a| {
                    (
                        a.account.clone(),
                        serde_json::json!({"overdue": a.overdue_since.is_some(), "cash": a.cash, "vouchers": a.vouchers}),
                    )
                })
                .collect();
            let resources = o
                .resources
                .iter()
                .map(|r| {
                    let mut fields = serde_json::Map::new();
                    fields.insert("state".into(), Value::from(r.state.clone()));
                    if r.serving != Serving::Unspecified {
                        fields.insert("serving".into(), serde_json::to_value(r.serving).unwrap_or_default());
                    }
                    if r.data != Data::Unspecified {
                        fields.insert("data".into(), serde_json::to_value(r.data).unwrap_or_default());
                    }
                    if r.billing != BillingStatus::Unspecified {
                        fields.insert("billing".into(), serde_json::to_value(r.billing).unwrap_or_default());
                    }
                    (r.resource.clone(), Value::Object(fields))
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

fn transitions(history: &History, trace: &Trace) -> Vec<Value> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Transition {
                at,
                resource,
                from,
                to,
                rule,
                ..
            } => Some(serde_json::json!({
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
        expect: expectations(&history, &trace),
        events: transitions(&history, &trace),
        observe: instants,
        history,
    }
}

impl ReplayFile {
    pub fn read(path: &Path) -> Result<ReplayFile, ReplayError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReplayError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
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
            error: e.to_string(),
        })?;
        crate::yaml::from_str(&text).map_err(|e| ReplayError::Invalid {
            path: path.display().to_string(),
            message: match e.position {
                Some(p) => format!("line {}, column {}: {}", p.line, p.column, e.message),
                None => e.message,
            },
        })
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

/// Writes each counterexample's replay file and the timelines of both
/// systems into `dir`; returns the files written.
pub fn write_counterexamples(
    reference: &Catalog,
    system: &dyn crate::verify::System,
    counterexamples: &[Counterexample],
    dir: &Path,
) -> Result<Vec<String>, ReplayError> {
    std::fs::create_dir_all(dir).map_err(|e| ReplayError::Write {
        path: dir.display().to_string(),
        error: e.to_string(),
    })?;
    let mut written = Vec::new();
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
        let path = dir.join(format!("{stem}.replay.yaml"));
        replay.write(&path)?;
        written.push(path.display().to_string());
        let model = crate::model::run(reference, &replay.history, &replay.observe);
        if let Ok(trace) = &model {
            let path = dir.join(format!("{stem}.model.svg"));
            std::fs::write(&path, crate::svg::render(reference, &replay.history, trace)).map_err(
                |e| ReplayError::Write {
                    path: path.display().to_string(),
                    error: e.to_string(),
                },
            )?;
            written.push(path.display().to_string());
        }
        if let Ok(trace) = system.run(&replay.history, &replay.observe) {
            let path = dir.join(format!("{stem}.system.svg"));
            std::fs::write(
                &path,
                crate::svg::render(reference, &replay.history, &trace),
            )
            .map_err(|e| ReplayError::Write {
                path: path.display().to_string(),
                error: e.to_string(),
            })?;
            written.push(path.display().to_string());
        }
    }
    Ok(written)
}

/// Writes `value` as YAML to `path`.
fn write_yaml<T: serde::Serialize>(value: &T, path: &Path) -> Result<(), ReplayError> {
    let text = crate::yaml::to_string(value).map_err(|e| ReplayError::Write {
        path: path.display().to_string(),
        error: e.message,
    })?;
    std::fs::write(path, text).map_err(|e| ReplayError::Write {
        path: path.display().to_string(),
        error: e.to_string(),
    })
}
