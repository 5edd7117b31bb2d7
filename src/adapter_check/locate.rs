//! Locating a malformed observation: the path of the field where a reply
//! departs from the observation vocabulary, and what serde expected there.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::observation::{Observation, TraceEvent};

/// Where an `observation` reply departs from the vocabulary: the path of
/// the field (`observation.resources[0].serving`) and what serde expected.
pub(super) fn malformed_observation(line: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value.get("type").and_then(Value::as_str) != Some("observation") {
        return None;
    }
    let Some(observation) = value.get("observation") else {
        return Some(("observation".into(), "the field is missing".into()));
    };
    if let Some(found) = locate::<Observation>("observation", observation) {
        return Some(found);
    }
    match value.get("events") {
        None | Some(Value::Null) => None,
        Some(events) => locate::<Vec<TraceEvent>>("events", events),
    }
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_text(root: &str, path: &[Seg]) -> String {
    let mut out = root.to_string();
    for s in path {
        match s {
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Where deserializing `value` as `T` fails, as a path under `root` and the
/// problem. The value is written out one field per line, so the line serde
/// stops at names the field. Where serde reads a value as a whole before
/// deserializing it (an internally tagged enum: a trace event, and the list
/// holding it), the line names only the enclosing value: the culprit is then
/// found by leaving each element or field out in turn and seeing which one
/// the value parses without (or, for a field, without which it is only
/// that field that is missing).
fn locate<T: DeserializeOwned>(root: &str, value: &Value) -> Option<(String, String)> {
    let (mut path, problem) = failing_path::<T>(value)?;
    let without = |path: &[Seg], seg: &Seg| {
        let mut copy = value.clone();
        match (pointer_mut(&mut copy, path), seg) {
            (Some(Value::Array(items)), Seg::Index(i)) => {
                items.remove(*i);
            }
            (Some(Value::Object(o)), Seg::Key(k)) => {
                o.remove(k);
            }
            _ => {}
        }
        failing_path::<T>(&copy)
    };
    loop {
        let narrower = match pointer(value, &path) {
            Some(Value::Array(items)) => (0..items.len())
                .map(Seg::Index)
                .find(|seg| without(&path, seg).is_none()),
            Some(Value::Object(o)) if !problem.starts_with("missing field") => o
                .keys()
                // Without its tag an event fails for that alone.
                .filter(|k| *k != "event")
                .map(|k| Seg::Key(k.clone()))
                .find(|seg| {
                    let Seg::Key(k) = seg else { return false };
                    match without(&path, seg) {
                        None => true,
                        Some((_, p)) => p == format!("missing field `{k}`"),
                    }
                }),
            _ => None,
        };
        match narrower {
            Some(seg) => path.push(seg),
            None => break,
        }
    }
    let problem = match pointer(value, &path) {
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null))
            if !problem.contains(&v.to_string()) =>
        {
            format!("{problem} (the value is {v})")
        }
        _ => problem,
    };
    Some((path_text(root, &path), problem))
}

/// The path to the line where deserializing fails, and serde's message
/// without its position.
fn failing_path<T: DeserializeOwned>(value: &Value) -> Option<(Vec<Seg>, String)> {
    let mut text = String::new();
    let mut lines: Vec<Vec<Seg>> = Vec::new();
    write_lines(value, &mut Vec::new(), None, false, &mut text, &mut lines);
    let error = serde_json::from_str::<T>(&text).err()?;
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let path = lines.get(error.line().saturating_sub(1)).cloned()?;
    Some((path, message))
}

/// Writes `value` as JSON with every scalar and every bracket on a line of
/// its own, recording the path of each line.
fn write_lines(
    value: &Value,
    path: &mut Vec<Seg>,
    key: Option<&str>,
    comma: bool,
    text: &mut String,
    lines: &mut Vec<Vec<Seg>>,
) {
    let prefix = key
        .map(|k| format!("{}:", Value::String(k.to_string())))
        .unwrap_or_default();
    let end = if comma { "," } else { "" };
    let mut line = |text: &mut String, content: String| {
        text.push_str(&content);
        text.push('\n');
        lines.push(path.clone());
    };
    match value {
        Value::Object(map) => {
            line(text, format!("{prefix}{{"));
            let n = map.len();
            for (i, (k, v)) in map.iter().enumerate() {
                path.push(Seg::Key(k.clone()));
                write_lines(v, path, Some(k), i + 1 < n, text, lines);
                path.pop();
            }
            text.push_str(&format!("}}{end}\n"));
            lines.push(path.clone());
        }
        Value::Array(items) => {
            line(text, format!("{prefix}["));
            let n = items.len();
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                write_lines(v, path, None, i + 1 < n, text, lines);
                path.pop();
            }
            text.push_str(&format!("]{end}\n"));
            lines.push(path.clone());
        }
        scalar => line(text, format!("{prefix}{scalar}{end}")),
    }
}

fn pointer<'v>(value: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, s| match s {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Index(i) => v.get(*i),
    })
}

fn pointer_mut<'v>(value: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |v, s| match s {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation_reply() -> Value {
        serde_json::json!({"id": 5, "type": "observation", "observation": {
            "at": "2026-01-02T00:00:00Z",
            "accounts": [{"account": "a-1", "cash": 0, "vouchers": 0, "available_credit": 0,
                "overdue_since": null, "outstanding_bills": [], "fee_operations": []}],
            "resources": [{"resource": "m-1", "account": "a-1", "product": "maxcompute",
                "lifecycle": "maxcompute.payg-instance", "state": "active",
                "since": "2026-01-01T00:00:00Z", "serving": "yes", "data": "retained",
                "billing": "running", "overdue_since": null, "oldest_overdue_bill": null,
                "purchased_at": "2026-01-01T00:00:00Z", "expires_at": null,
                "operations": {"release": true, "renew": true, "run-task": true}}]},
            "events": [{"event": "charge", "at": "2026-01-02T00:00:00Z", "account": "a-1",
                "resource": "m-1", "bill": "m-1/1", "amount": 600}]})
    }

    fn located(edit: impl FnOnce(&mut Value)) -> Option<(String, String)> {
        let mut reply = observation_reply();
        edit(&mut reply);
        malformed_observation(&reply.to_string())
    }

    #[test]
    fn a_well_formed_observation_has_nothing_to_locate() {
        assert_eq!(located(|_| {}), None);
    }

    #[test]
    fn a_wrong_enum_value_is_located_at_its_field() {
        let (path, problem) =
            located(|r| r["observation"]["resources"][0]["serving"] = "true".into()).unwrap();
        assert_eq!(path, "observation.resources[0].serving");
        assert!(problem.contains("unknown variant `true`"), "{problem}");
        assert!(problem.contains("`yes`"), "{problem}");
    }

    #[test]
    fn a_missing_field_is_located_at_its_object() {
        let (path, problem) = located(|r| {
            r["observation"]["resources"][0]
                .as_object_mut()
                .unwrap()
                .remove("state");
        })
        .unwrap();
        assert_eq!(path, "observation.resources[0]");
        assert_eq!(problem, "missing field `state`");
    }

    #[test]
    fn a_wrong_type_deep_down_is_located() {
        let (path, problem) =
            located(|r| r["observation"]["resources"][0]["operations"]["run-task"] = "yes".into())
                .unwrap();
        assert_eq!(path, "observation.resources[0].operations.run-task");
        assert!(problem.contains("expected a boolean"), "{problem}");
        let (path, _) = located(|r| r["observation"]["accounts"][0]["cash"] = 1.5.into()).unwrap();
        assert_eq!(path, "observation.accounts[0].cash");
        let (path, _) = located(|r| r["observation"]["at"] = "tomorrow".into()).unwrap();
        assert_eq!(path, "observation.at");
    }

    #[test]
    fn a_wrong_field_of_an_event_is_found_by_leaving_fields_out() {
        let (path, problem) = located(|r| r["events"][0]["amount"] = "600".into()).unwrap();
        assert_eq!(path, "events[0].amount");
        assert!(problem.contains("invalid type"), "{problem}");
        let (path, problem) = located(|r| {
            r["events"][0].as_object_mut().unwrap().remove("resource");
        })
        .unwrap();
        assert_eq!(path, "events[0]");
        assert_eq!(problem, "missing field `resource`");
        let (path, problem) = located(|r| r["events"][0]["event"] = "bill".into()).unwrap();
        assert_eq!(path, "events[0].event");
        assert!(problem.contains("unknown variant `bill`"), "{problem}");
    }

    #[test]
    fn a_reply_of_another_type_is_not_diagnosed_as_an_observation() {
        assert_eq!(malformed_observation(r#"{"id":1,"type":"ok"}"#), None);
        assert_eq!(malformed_observation("not json"), None);
    }
}
