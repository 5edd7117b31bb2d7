//! The vocabulary check: what an adapter reported, held against the specs'
//! ids (accounts and resources of the history, lifecycles, states,
//! operations and cited rules).

use serde_json::Value;

use crate::history::History;
use crate::observation::{Observation, ResourceObservation, Trace, TraceEvent};
use crate::spec::{Catalog, DocId};

use super::AdapterCheck;

/// Checks what the adapter reported against the specs' vocabulary: every
/// account and resource of the history is there, each resource names a
/// lifecycle of its product and a state of that lifecycle, and lists every
/// operation of its product; every rule an event cites exists.
pub(super) fn vocabulary(
    catalog: &Catalog,
    doc: DocId,
    history: &History,
    trace: &Trace,
    check: &mut AdapterCheck,
) {
    let document = catalog.document(doc);
    let product = document.id.as_str();
    let operations: Vec<&str> = document
        .operations
        .keys()
        .map(|op| catalog.op_name(*op))
        .collect();
    let mut sorted_ops = operations.clone();
    sorted_ops.sort_unstable();
    let lifecycles: Vec<&crate::spec::Lifecycle> =
        catalog.lifecycles.iter().filter(|l| l.doc == doc).collect();
    // Operations left out (or unknown), with the resources they are
    // missing from: one finding per set, however many resources share it.
    let mut operation_slips: Slips = Vec::new();
    for o in &trace.observations {
        observation_vocabulary(
            product,
            &sorted_ops,
            &lifecycles,
            history,
            o,
            check,
            &mut operation_slips,
        );
    }
    for (slip, resources) in operation_slips {
        check.find(
            product,
            format!(
                "{slip} (in its observations of {})",
                quoted(&resources.iter().map(String::as_str).collect::<Vec<_>>())
            ),
        );
    }
    for e in &trace.events {
        if let Some(rule) = e.rule()
            && catalog.rule_named(rule).is_none()
        {
            check.find(
                product,
                format!(
                    "a `{}` event cites rule `{rule}`, which the specs do not have (`arrears rules --product {product}` lists them)",
                    event_name(e)
                ),
            );
        }
        if let TraceEvent::Transition {
            lifecycle,
            from,
            to,
            ..
        } = e
            && let Some(l) = lifecycles.iter().find(|l| l.id == **lifecycle)
        {
            for state in [from, to] {
                if l.state_named(state).is_none() {
                    check.find(
                        product,
                        format!(
                            "a `transition` event names state `{state}`, which lifecycle `{lifecycle}` does not have; its states: {}",
                            state_list(l)
                        ),
                    );
                }
            }
        }
    }
}

/// Operation slips: a message about a resource's `operations` (an
/// operation left out or unknown), with the resources it was seen in.
type Slips = Vec<(String, Vec<String>)>;

/// Checks one observation: every account and resource of the history is
/// there, and each resource it reports is one of the history's, in a
/// lifecycle and state of its product, listing exactly its operations.
fn observation_vocabulary(
    product: &str,
    operations: &[&str],
    lifecycles: &[&crate::spec::Lifecycle],
    history: &History,
    o: &Observation,
    check: &mut AdapterCheck,
    operation_slips: &mut Slips,
) {
    everything_observed(product, history, o, check);
    for r in &o.resources {
        if !resource_vocabulary(product, lifecycles, history, r, check) {
            continue;
        }
        for message in operation_mismatches(product, operations, r) {
            slip(operation_slips, message, &r.resource);
        }
    }
}

/// Notes that `resource` shows `message`, once per resource and message.
fn slip(slips: &mut Slips, message: String, resource: &str) {
    match slips.iter_mut().find(|(m, _)| *m == message) {
        Some((_, resources)) => {
            if !resources.iter().any(|r| r == resource) {
                resources.push(resource.to_string());
            }
        }
        None => slips.push((message, vec![resource.to_string()])),
    }
}

/// Every account and every resource of the history is in the observation.
fn everything_observed(
    product: &str,
    history: &History,
    o: &Observation,
    check: &mut AdapterCheck,
) {
    for a in &history.accounts {
        if o.account(&a.id).is_none() {
            check.find(
                product,
                format!(
                    "its observation at {} leaves out account `{}` of the history",
                    o.at.to_rfc3339(),
                    a.id
                ),
            );
        }
    }
    for r in &history.resources {
        if o.resource(&r.id).is_none() {
            check.find(
                product,
                format!(
                    "its observation at {} leaves out resource `{}` of the history",
                    o.at.to_rfc3339(),
                    r.id
                ),
            );
        }
    }
}

/// A reported resource is one of the history's, of its product, in a
/// lifecycle of that product and a state of that lifecycle. False when it
/// is not the history's resource of that product, so nothing more about it
/// can be judged.
fn resource_vocabulary(
    product: &str,
    lifecycles: &[&crate::spec::Lifecycle],
    history: &History,
    r: &ResourceObservation,
    check: &mut AdapterCheck,
) -> bool {
    let id = &r.resource;
    let Some(def) = history.resources.iter().find(|d| d.id == **id) else {
        check.find(
            product,
            format!("it reports resource `{id}`, which the history does not have"),
        );
        return false;
    };
    if r.product != def.product {
        check.find(
            product,
            format!(
                "it reports resource `{id}` as product `{}`; the history says `{}`",
                r.product, def.product
            ),
        );
        return false;
    }
    match lifecycles.iter().find(|l| l.id == *r.lifecycle) {
        None => check.find(
            product,
            format!(
                "it reports resource `{id}` in lifecycle `{}`, which {product} does not have; its lifecycles: {}",
                r.lifecycle,
                lifecycles
                    .iter()
                    .map(|l| l.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some(l) if l.state_named(&r.state).is_none() => check.find(
            product,
            format!(
                "it reports resource `{id}` in state `{}`, which lifecycle `{}` does not have; its states: {}",
                r.state,
                l.id,
                state_list(l)
            ),
        ),
        Some(_) => {}
    }
    true
}

/// What is wrong with a resource's `operations`: operations of the product
/// it leaves out, operations it lists that the product does not have.
fn operation_mismatches(
    product: &str,
    operations: &[&str],
    r: &ResourceObservation,
) -> Vec<String> {
    let mut mismatches = Vec::new();
    let missing: Vec<&str> = operations
        .iter()
        .copied()
        .filter(|op| r.operations.get(op).is_none())
        .collect();
    if !missing.is_empty() {
        mismatches.push(format!(
            "a resource's `operations` leaves out operation{} {} of {product}; it must list every operation of the product: {}",
            if missing.len() == 1 { "" } else { "s" },
            quoted(&missing),
            operations.join(", ")
        ));
    }
    let unknown: Vec<&str> = r
        .operations
        .keys()
        .filter(|op| !operations.contains(op))
        .collect();
    if !unknown.is_empty() {
        mismatches.push(format!(
            "a resource's `operations` lists operation{} {}, which {product} does not have; its operations: {}",
            if unknown.len() == 1 { "" } else { "s" },
            quoted(&unknown),
            operations.join(", ")
        ));
    }
    mismatches
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn state_list(l: &crate::spec::Lifecycle) -> String {
    l.states
        .iter()
        .map(|s| s.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn event_name(e: &TraceEvent) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("event").and_then(Value::as_str).map(String::from))
        .unwrap_or_default()
}
