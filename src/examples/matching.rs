//! Matching a trace against an example's partial expectations: each
//! expected observation field by field (instants written as offsets), each
//! expected event against the log, each `absent` event against none.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::history::Offset;
use crate::observation::{Observation, Trace};

use super::validation::{check_event_fields, event_fields};
use super::{ExpectedObservation, Outcome, TIME_FIELDS, WorkedExample};

/// Compares a trace (from the model or any implementation) with an
/// example's expectations.
pub fn compare(example: &WorkedExample, trace: &Trace, outcome: &mut Outcome) {
    let start = example.history.start;
    for expected in &example.expect {
        let at = expected.at.at(start);
        let Some(observed) = trace.observations.iter().find(|o| o.at == at) else {
            outcome
                .failures
                .push(format!("no observation at {}", expected.at));
            continue;
        };
        compare_observation(start, expected, observed, outcome);
    }
    let events: Vec<Value> = trace
        .events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    let known = event_fields();
    for entry in example.events.iter().chain(&example.absent) {
        if let Err(problem) = check_event_fields(&known, entry) {
            outcome.failures.push(problem);
        }
    }
    for want in &example.events {
        outcome.checks += 1;
        let want = with_instants(start, want);
        if !events.iter().any(|e| contains(e, &want)) {
            outcome
                .failures
                .push(format!("expected event not in the log: {}", compact(&want)));
        }
    }
    for unwanted in &example.absent {
        outcome.checks += 1;
        let unwanted = with_instants(start, unwanted);
        if let Some(found) = events.iter().find(|e| contains(e, &unwanted)) {
            outcome.failures.push(format!(
                "event that must not happen is in the log: {}",
                compact(found)
            ));
        }
    }
}

fn compare_observation(
    start: DateTime<Utc>,
    expected: &ExpectedObservation,
    observed: &Observation,
    outcome: &mut Outcome,
) {
    for (id, want) in &expected.accounts {
        let Some(account) = observed.account(id) else {
            outcome
                .failures
                .push(format!("at {}: no account `{id}` observed", expected.at));
            continue;
        };
        let mut actual = serde_json::to_value(account).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut actual {
            map.insert(
                "overdue".into(),
                Value::Bool(account.overdue_since.is_some()),
            );
            map.insert(
                "outstanding".into(),
                Value::from(account.outstanding_bills.len()),
            );
        }
        compare_fields(
            start,
            &format!("at {}, account {id}", expected.at),
            want,
            &actual,
            outcome,
        );
    }
    for (id, want) in &expected.resources {
        let Some(resource) = observed.resource(id) else {
            outcome
                .failures
                .push(format!("at {}: no resource `{id}` observed", expected.at));
            continue;
        };
        let mut actual = serde_json::to_value(resource).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut actual {
            map.insert(
                "overdue".into(),
                Value::Bool(resource.overdue_since.is_some()),
            );
        }
        compare_fields(
            start,
            &format!("at {}, resource {id}", expected.at),
            want,
            &actual,
            outcome,
        );
    }
}

fn compare_fields(
    start: DateTime<Utc>,
    place: &str,
    want: &Value,
    actual: &Value,
    outcome: &mut Outcome,
) {
    let Value::Object(want) = with_instants(start, want) else {
        outcome
            .failures
            .push(format!("{place}: expectations must be a map of fields"));
        return;
    };
    for (field, value) in &want {
        outcome.checks += 1;
        match actual.get(field) {
            None => outcome
                .failures
                .push(format!("{place}: no field `{field}` in the observation")),
            Some(got) if !contains(got, value) => outcome.failures.push(format!(
                "{place}: {field} expected {}, observed {}",
                compact(value),
                compact(got)
            )),
            Some(_) => {}
        }
    }
}

/// Rewrites offsets in time fields (at any depth) into RFC 3339 instants.
fn with_instants(start: DateTime<Utc>, value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if TIME_FIELDS.contains(&k.as_str()) => {
                            match s.parse::<Offset>() {
                                Ok(o) => serde_json::to_value(o.at(start)).unwrap_or(Value::Null),
                                Err(_) => v.clone(),
                            }
                        }
                        other => with_instants(start, other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| with_instants(start, v)).collect())
        }
        other => other.clone(),
    }
}

/// Whether `actual` has everything `want` has: maps by subset, numbers by
/// value, everything else by equality.
fn contains(actual: &Value, want: &Value) -> bool {
    match (actual, want) {
        (Value::Object(a), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| contains(av, v))),
        (Value::Number(a), Value::Number(w)) => {
            a.as_i64() == w.as_i64() && a.as_f64() == w.as_f64()
        }
        (Value::Array(a), Value::Array(w)) => {
            a.len() == w.len() && a.iter().zip(w).all(|(x, y)| contains(x, y))
        }
        (a, w) => a == w,
    }
}

pub(super) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_maps_match_and_scalars_must_be_equal() {
        let actual = json!({"state": "stopped", "serving": "no", "operations": {"renew": false, "start": true}});
        assert!(contains(&actual, &json!({"state": "stopped"})));
        assert!(contains(&actual, &json!({"operations": {"renew": false}})));
        assert!(!contains(&actual, &json!({"operations": {"renew": true}})));
        assert!(!contains(&actual, &json!({"state": "overdue"})));
        assert!(!contains(&actual, &json!({"missing": 1})));
    }

    #[test]
    fn expected_events_with_unknown_fields_are_refused() {
        let known = event_fields();
        assert!(known["transition"].contains(&"rule".to_string()));
        assert!(
            check_event_fields(&known, &json!({"event": "transition", "to": "stopped"})).is_ok()
        );
        let err = check_event_fields(&known, &json!({"event": "transition", "too": "stopped"}))
            .unwrap_err();
        assert!(err.contains("no field `too`"), "{err}");
        assert!(
            check_event_fields(&known, &json!({"event": "transitio"}))
                .unwrap_err()
                .contains("unknown event kind")
        );
        assert!(check_event_fields(&known, &json!({"to": "x"})).is_err());
    }

    #[test]
    fn offsets_in_time_fields_become_instants() {
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let v = with_instants(
            start,
            &json!({"at": "+1d", "state": "+1d", "nested": {"overdue_since": "+2h"}}),
        );
        assert_eq!(v["at"], json!("2026-01-02T00:00:00Z"));
        assert_eq!(v["state"], json!("+1d"));
        assert_eq!(v["nested"]["overdue_since"], json!("2026-01-01T02:00:00Z"));
    }
}
