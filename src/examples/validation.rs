//! Whether a worked example is well-formed for the specs before anything
//! runs it: rules it cites, its history, the instants and fields its
//! expectations name, and the kinds and fields of its expected events.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::history::Offset;
use crate::spec::Catalog;

use super::WorkedExample;
use super::matching::compact;

/// Checks that an example is well-formed for these specs, before anything
/// runs it: the rules it cites exist, its history fits the specs, its
/// expectations are at instants of the history and name fields an
/// observation has, its expected events name kinds and fields the log has.
/// A malformed example is an error of the example (exit 2), never a
/// failure of the system that runs it.
pub fn validate(catalog: &Catalog, example: &WorkedExample) -> Result<(), String> {
    let mut problems = Vec::new();
    for (i, rule) in example.rules.iter().enumerate() {
        if catalog.rule_named(rule).is_none() {
            problems.push(format!(
                "rules[{i}]: unknown rule `{rule}` (run `arrears rules` to list them)"
            ));
        }
    }
    if let Err(e) = crate::verify::reference_catalogs(catalog, &example.readings) {
        problems.push(format!(
            "readings: {e} (run `arrears explain` to list them)"
        ));
    }
    if let Err(e) = example.history.validate(catalog) {
        problems.push(format!("history: {e}"));
    }
    let account_fields = top_level_fields(
        schemars::schema_for!(crate::observation::AccountObservation),
        &["overdue", "outstanding"],
    );
    let resource_fields = top_level_fields(
        schemars::schema_for!(crate::observation::ResourceObservation),
        &["overdue"],
    );
    for (i, expected) in example.expect.iter().enumerate() {
        if expected.at < Offset::default() {
            problems.push(format!(
                "expect[{i}]: at {} is before the history's start; observations are taken from +0s on",
                expected.at
            ));
        }
        for (kind, map, fields) in [
            ("accounts", &expected.accounts, &account_fields),
            ("resources", &expected.resources, &resource_fields),
        ] {
            for (id, want) in map {
                let Some(want) = want.as_object() else {
                    problems.push(format!(
                        "expect[{i}].{kind}.{id}: expectations must be a map of fields"
                    ));
                    continue;
                };
                for field in want.keys() {
                    if !fields.contains(field) {
                        problems.push(format!(
                            "expect[{i}].{kind}.{id}: an observation has no field `{field}`; it has: {}",
                            fields.join(", ")
                        ));
                    }
                }
            }
        }
    }
    let known = event_fields();
    for (list, entries) in [("events", &example.events), ("absent", &example.absent)] {
        for (i, entry) in entries.iter().enumerate() {
            if let Err(problem) = check_event_fields(&known, entry) {
                problems.push(format!("{list}[{i}]: {problem}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The property names of a schema's top-level object, plus `extra`.
fn top_level_fields(schema: schemars::Schema, extra: &[&str]) -> Vec<String> {
    let value = serde_json::to_value(schema).unwrap_or(Value::Null);
    let mut fields: Vec<String> = value
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    fields.extend(extra.iter().map(|s| s.to_string()));
    fields.sort();
    fields
}

/// The fields of each kind of trace event, read from its JSON Schema so that
/// the two cannot drift apart.
pub(super) fn event_fields() -> BTreeMap<String, Vec<String>> {
    let schema = serde_json::to_value(schemars::schema_for!(crate::observation::TraceEvent))
        .unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    for variant in schema
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(props) = variant.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let tag = props
            .get("event")
            .and_then(|e| e.get("const"))
            .and_then(Value::as_str);
        if let Some(tag) = tag {
            out.insert(tag.to_string(), props.keys().cloned().collect());
        }
    }
    out
}

/// An expected event naming a field its kind does not have would silently
/// never match; refuse it instead.
pub(super) fn check_event_fields(
    known: &BTreeMap<String, Vec<String>>,
    entry: &Value,
) -> Result<(), String> {
    let Some(map) = entry.as_object() else {
        return Err(format!(
            "an expected event must be a map of fields: {}",
            compact(entry)
        ));
    };
    let Some(tag) = map.get("event").and_then(Value::as_str) else {
        return Err(format!(
            "an expected event needs its `event` kind: {}",
            compact(entry)
        ));
    };
    let Some(fields) = known.get(tag) else {
        let kinds: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(format!(
            "unknown event kind `{tag}`; the kinds are: {}",
            kinds.join(", ")
        ));
    };
    for field in map.keys() {
        if !fields.contains(field) {
            return Err(format!(
                "event kind `{tag}` has no field `{field}`; it has: {}",
                fields.join(", ")
            ));
        }
    }
    Ok(())
}
