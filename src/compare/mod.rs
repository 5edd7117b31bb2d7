//! Differential comparison: what an implementation reports against what
//! the reference model shows for the same history, at the same instants.
//!
//! The model runs once per accepted reading (the chosen one first, or
//! exactly the readings the implementation declared); a resource's or an
//! account's observation is accepted if it equals the model's under one of
//! them, field by field, and so is each resource's sequence of transitions,
//! deductions, notifications (the first of each kind, except those whose
//! instant the reading leaves open), refunds and operation verdicts (with
//! the error a refusal answers where the document names one).
//!
//! Only what the documents decide is compared: not the fields they leave
//! unspecified, not the operations no rule decides in the state at hand (no
//! capability, no transition, no refusal while overdue), nothing of an
//! account from the instant the implementation acted on such an operation
//! (see `contingent_accounts`), and nothing of a resource from its entry
//! into a state the specs mark `undecided` (see `undecided_resources`).
//!
//! The first divergence in time is reported with the rule behind it: the
//! rule of the transition, deduction, notification or capability where the
//! two part ways.
//!
//! This file holds the references and the verdict; `scope.rs` says what is
//! judged, `observations.rs` compares observations with the fields and
//! rules of `fields.rs`, and `sequences.rs` compares the event sequences.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::observation::{Name, Trace};
use crate::spec::{Anchor, Catalog, Guard, Trigger};

mod fields;
mod observations;
mod scope;
mod sequences;

use observations::observation_divergences;
use scope::{Judged, Undecided, undecided_operations};
use sequences::sequence_divergences;

/// Where an implementation first departs from the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Divergence {
    /// The instant of the first difference.
    pub at: DateTime<Utc>,
    /// `resource i-1`, `account a-1`.
    pub subject: String,
    /// The field or the kind of event that differs.
    pub field: String,
    /// What the model shows (under the chosen or declared reading).
    pub expected: String,
    /// What the implementation reports.
    pub actual: String,
    /// The rules behind the expected behaviour.
    pub rules: Vec<String>,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: expected {}, observed {}",
            self.subject, self.field, self.expected, self.actual
        )
    }
}

/// A reference trace: the model run under one accepted reading.
#[derive(Debug, Clone)]
pub struct Reference {
    pub trace: Trace,
    /// The notifications whose instant that reading leaves open: the
    /// comparison leaves them to the invariants, which say before what they
    /// must come.
    pub open_instant: BTreeSet<String>,
    /// The transitions whose instant that reading leaves to the system,
    /// by (lifecycle, transition): when they may come.
    pub open_windows: BTreeMap<(Name, Name), OpenWindow>,
}

/// When a transition whose instant the document leaves to the system may
/// come: from `earliest` to `latest` after its anchor, from one of `from`.
#[derive(Debug, Clone)]
pub struct OpenWindow {
    pub from: Vec<String>,
    pub since: Anchor,
    pub earliest: TimeDelta,
    pub latest: TimeDelta,
}

impl Reference {
    /// The model's trace under `catalog`'s readings.
    pub fn new(catalog: &Catalog, trace: Trace) -> Reference {
        let mut open_windows = BTreeMap::new();
        for lc in &catalog.lifecycles {
            for t in &lc.transitions {
                let (Some(earliest), Trigger::After { duration, since }) =
                    (&t.open_from, &t.trigger)
                else {
                    continue;
                };
                let enabled = t.guards.iter().all(|g| match g {
                    Guard::Param { param, equals } => catalog.value(*param) == equals,
                    _ => true,
                });
                if enabled {
                    open_windows.insert(
                        (lc.id.as_str().into(), t.id.as_str().into()),
                        OpenWindow {
                            from: t.from.iter().map(|s| lc.state(*s).id.clone()).collect(),
                            since: *since,
                            earliest: catalog.duration(earliest),
                            latest: catalog.duration(duration),
                        },
                    );
                }
            }
        }
        Reference {
            trace,
            open_instant: catalog.notifications_with_open_instant(),
            open_windows,
        }
    }
}

impl From<Trace> for Reference {
    /// A reference under readings that leave no instant open.
    fn from(trace: Trace) -> Reference {
        Reference {
            trace,
            open_instant: BTreeSet::new(),
            open_windows: BTreeMap::new(),
        }
    }
}

/// The first divergence of `actual` from the model, or `None` if the model
/// under one accepted reading explains every observation and every event
/// sequence.
///
/// `references[0]` is the model under the chosen (or declared) readings;
/// the rest are the other accepted readings. An implementation must follow
/// one reading throughout: mixing them (settling on top-up for the bills but
/// not for the restart, say) is a divergence. When no reading explains the
/// trace, the divergence reported is the one from the chosen reading, the
/// one the specs argue for.
pub fn compare(catalog: &Catalog, references: &[Reference], actual: &Trace) -> Option<Divergence> {
    let chosen = against(catalog, std::slice::from_ref(references.first()?), actual)?;
    for reference in &references[1..] {
        against(catalog, std::slice::from_ref(reference), actual)?;
    }
    Some(chosen)
}

/// The first divergence of `actual` from these reference traces taken
/// together.
fn against(catalog: &Catalog, references: &[Reference], actual: &Trace) -> Option<Divergence> {
    references.first()?;
    let undecided: Undecided = references
        .iter()
        .flat_map(|r| undecided_operations(&r.trace))
        .collect();
    let judged = Judged::new(catalog, references, actual, &undecided);
    // Observations, instant by instant.
    let mut found: Vec<Divergence> = actual
        .observations
        .iter()
        .flat_map(|obs| observation_divergences(catalog, references, obs, &judged))
        .collect();
    // Event sequences, per resource and kind, of what is still judged.
    found.extend(sequence_divergences(
        references, actual, &undecided, &judged,
    ));
    // The earliest divergence; at one instant, event sequences explain
    // observation differences better (they carry the rule).
    found.sort_by_key(|d| (d.at, priority(&d.field)));
    found.into_iter().next()
}

/// Which divergence at one instant explains the others best: a transition
/// (it carries the rule of the step taken or missed), then a deduction, an
/// operation verdict, a refund, a charge, a notification, then the fields
/// of observations, which follow from those.
fn priority(field: &str) -> u8 {
    match field {
        "transitions" => 0,
        "deductions" => 1,
        "operations" => 2,
        "refunds" => 3,
        "charges" => 4,
        "notifications" => 5,
        "existence" => 6,
        "state" => 7,
        _ => 8,
    }
}
