//! What is compared of an observation, and the rules behind each field:
//! the fields of resources and accounts, projected onto what the documents
//! decide in the state at hand, and the rules that decide them.

use serde::Serialize;
use serde_json::Value;

use crate::observation::{AccountObservation, Observation, ResourceObservation};
use crate::spec::{BillingStatus, Catalog, Data, Serving, Trigger};

/// The fields of a resource observation that are compared, as (name, value);
/// capabilities the model leaves unspecified are left out, and so are the
/// operations outside `operations` (those the documents say nothing about
/// in the reference's state).
pub(super) fn resource_fields(
    r: &ResourceObservation,
    reference: &ResourceObservation,
    operations: &[String],
    method_reported: bool,
) -> Vec<(String, Value)> {
    let mut out = vec![
        ("state".to_string(), Value::from(&*r.state)),
        ("overdue_since".to_string(), json(&r.overdue_since)),
        (
            "oldest_overdue_bill".to_string(),
            json(&r.oldest_overdue_bill),
        ),
        ("expires_at".to_string(), json(&r.expires_at)),
    ];
    if reference.serving != Serving::Unspecified {
        out.push(("serving".into(), json(&r.serving)));
    }
    if reference.data != Data::Unspecified {
        out.push(("data".into(), json(&r.data)));
    }
    if reference.billing != BillingStatus::Unspecified {
        out.push(("billing".into(), json(&r.billing)));
    }
    // Compared where the implementation reports it (an optional field).
    if method_reported {
        out.push(("billing_method".into(), json(&r.billing_method)));
    }
    for op in operations {
        out.push((format!("operation {op}"), json(&r.operations.get(op))));
    }
    out
}

pub(super) fn account_fields(a: &AccountObservation) -> Vec<(String, Value)> {
    // Lists compare as sets: their order is not part of the vocabulary.
    let mut bills: Vec<Value> = a
        .outstanding_bills
        .iter()
        .map(|b| serde_json::json!([b.bill, b.amount, b.settlement_date, b.status]))
        .collect();
    bills.sort_by_key(|v| v.to_string());
    let mut fee: Vec<Value> = a
        .fee_operations
        .iter()
        .map(|f| serde_json::json!([f.product, f.operation, f.allowed]))
        .collect();
    fee.sort_by_key(|v| v.to_string());
    vec![
        ("cash".into(), Value::from(a.cash)),
        ("vouchers".into(), Value::from(a.vouchers)),
        ("overdue_since".into(), json(&a.overdue_since)),
        ("outstanding bills".into(), Value::Array(bills)),
        ("fee operations".into(), Value::Array(fee)),
    ]
}

pub(super) fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub(super) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "nothing".into(),
        other => other.to_string(),
    }
}

/// The rules that give a state its capabilities.
pub(super) fn r_rules(catalog: &Catalog, r: &ResourceObservation) -> Vec<String> {
    let Some(lid) = catalog.lifecycle_named(&r.lifecycle) else {
        return Vec::new();
    };
    let lc = catalog.lifecycle(lid);
    lc.state_named(&r.state)
        .map(|s| {
            lc.state(s)
                .rules
                .iter()
                .map(|id| catalog.rule(*id).id.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The rules that decide whether `op` is allowed on `r` at this
/// observation, in the order the model weighs them: a terminal state
/// refuses everything (its own rules), fee-incurring operations are refused
/// while the account is overdue, then the capability the state declares,
/// then the transitions the operation triggers from that state (allowed when
/// one's conditions hold). Empty when the documents say nothing about it,
/// and then the operation is not compared: an implementation may allow or
/// refuse what no rule speaks of (renewing a pay-as-you-go instance, say).
fn operation_rules(
    catalog: &Catalog,
    r: &ResourceObservation,
    observation: &Observation,
    op: &str,
) -> Vec<String> {
    let Some(lc) = catalog
        .lifecycle_named(&r.lifecycle)
        .map(|l| catalog.lifecycle(l))
    else {
        return Vec::new();
    };
    let Some(sid) = lc.state_named(&r.state) else {
        return Vec::new();
    };
    let state = lc.state(sid);
    if state.undecided {
        return Vec::new();
    }
    if state.terminal {
        return r_rules(catalog, r);
    }
    let Some(op) = catalog.op_named(op) else {
        return Vec::new();
    };
    let doc = catalog.document(lc.doc);
    let overdue = observation
        .account(&r.account)
        .is_some_and(|a| a.overdue_since.is_some());
    let fee = doc.operations.get(&op).is_some_and(|o| o.fee_incurring);
    if overdue && fee && catalog.refuses_fee_operations_while_overdue(lc.doc) {
        return catalog
            .fee_refusal_rules(lc.doc)
            .into_iter()
            .map(|r| catalog.rule(r).id.clone())
            .collect();
    }
    if let Some(cap) = state.operations.iter().find(|c| c.op == op) {
        return vec![catalog.rule(cap.rule).id.clone()];
    }
    let mut rules: Vec<String> = Vec::new();
    for t in &lc.transitions {
        if t.from.contains(&sid) && matches!(t.trigger, Trigger::Operation(o) if o == op) {
            let id = catalog.rule(t.rule).id.clone();
            if !rules.contains(&id) {
                rules.push(id);
            }
        }
    }
    rules
}

/// The operations of `r` whose verdict the documents decide at this
/// observation.
pub(super) fn documented_operations(
    catalog: &Catalog,
    r: &ResourceObservation,
    observation: &Observation,
) -> Vec<String> {
    r.operations
        .keys()
        .filter(|op| !operation_rules(catalog, r, observation, op).is_empty())
        .map(str::to_string)
        .collect()
}

/// The rules behind one expected field of a resource.
pub(super) fn field_rules(
    catalog: &Catalog,
    r: &ResourceObservation,
    observation: &Observation,
    field: &str,
) -> Vec<String> {
    let Some(lid) = catalog.lifecycle_named(&r.lifecycle) else {
        return Vec::new();
    };
    let lc = catalog.lifecycle(lid);
    if let Some(op) = field.strip_prefix("operation ") {
        let rules = operation_rules(catalog, r, observation, op);
        if !rules.is_empty() {
            return rules;
        }
    }
    if matches!(field, "overdue_since" | "oldest_overdue_bill")
        && let Some(b) = &catalog.document(lc.doc).billing
    {
        return vec![catalog.rule(b.rule).id.clone()];
    }
    r_rules(catalog, r)
}
