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

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::observation::{
    AccountObservation, Name, Observation, ResourceObservation, Trace, TraceEvent,
};
use crate::spec::{Anchor, BillingStatus, Catalog, Data, Guard, Serving, Trigger};

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

/// The fields of a resource observation that are compared, as (name, value);
/// capabilities the model leaves unspecified are left out, and so are the
/// operations outside `operations` (those the documents say nothing about
/// in the reference's state).
fn resource_fields(
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

fn account_fields(a: &AccountObservation) -> Vec<(String, Value)> {
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

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "nothing".into(),
        other => other.to_string(),
    }
}

/// Per (subject, kind of event): the instant, what happened, and the rule.
type Sequences = std::collections::BTreeMap<
    (String, &'static str),
    Vec<(DateTime<Utc>, String, Option<String>)>,
>;

/// User operations (instant, resource, operation) that no rule decided in
/// a reference trace.
type Undecided = BTreeSet<(DateTime<Utc>, Name, Name)>;

/// The operations the model allowed with no rule behind the verdict (no
/// capability, no transition, no refusal while overdue): whatever an
/// implementation answers to them is its own choice, so they are left out
/// of the operation sequences on both sides.
fn undecided_operations(reference: &Trace) -> Undecided {
    reference
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Operation {
                at,
                resource,
                operation,
                allowed: true,
                rule: None,
                ..
            } => Some((*at, resource.clone(), operation.clone())),
            _ => None,
        })
        .collect()
}

/// Per account, the instant from which nothing of it is compared: the
/// first instant the implementation made a choice the documents leave to
/// it and changed a resource by it —
/// - it answered an operation no rule decides (see `undecided_operations`)
///   with a transition at that instant, which the model, leaving the
///   operation without effect, did not take (a hand release of a resource
///   whose lifecycle has no release edge);
/// - it allowed an operation on a resource from the instant the documents
///   stop deciding anything of it (see `undecided_resources`);
/// - it took a transition whose instant the reading leaves to the system
///   (`open_from`) within its window, earlier than the model, which takes
///   it at the window's end (a MaxCompute release at a system-selected
///   time).
///
/// What follows in that account (the resource gone, its charges no longer
/// billed, the balance that results) is the implementation's own, not the
/// documents'. Other accounts are still judged: they share nothing with it.
fn contingent_accounts<'a>(
    references: &[Reference],
    accounts: &AccountOf<'a>,
    actual: &Trace,
    undecided: &Undecided,
    undecided_from: &BTreeMap<&str, DateTime<Utc>>,
) -> std::collections::BTreeMap<&'a str, DateTime<Utc>> {
    let mut out = std::collections::BTreeMap::new();
    for e in &actual.events {
        // An operation it allowed on a resource the documents no longer
        // decide anything of (an upgrade paid for on the disk of an
        // instance released by hand): its price, if any, is its own choice.
        if let TraceEvent::Operation {
            at,
            resource,
            allowed: true,
            ..
        } = e
        {
            let open = undecided_from
                .get(resource.as_str())
                .is_some_and(|t| at >= t);
            if let (true, Some(account)) = (open, accounts.get(resource.as_str())) {
                out.entry(*account).or_insert(*at);
            }
        }
        let TraceEvent::Transition { at, resource, .. } = e else {
            continue;
        };
        let changed_by_choice = undecided
            .iter()
            .any(|(when, r, _)| when == at && r == resource)
            || references.iter().any(|r| within_open_window(r, e));
        if let (true, Some(account)) = (changed_by_choice, accounts.get(resource.as_str())) {
            out.entry(*account).or_insert(*at);
        }
    }
    out
}

/// Per resource, the instant from which nothing of it is compared: when it
/// entered, under one of the references, a state in which the documents
/// decide nothing of it (`undecided`: the disks of an instance released by
/// hand, which the documents never say go with it). Whether the
/// implementation keeps, releases or detaches it is its own choice. Only
/// resources that are not billed can enter such a state (the spec compiler
/// sees to it), so their account is still judged.
fn undecided_resources<'a>(
    catalog: &Catalog,
    references: &'a [Reference],
) -> BTreeMap<&'a str, DateTime<Utc>> {
    let mut out: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for e in references.iter().flat_map(|r| &r.trace.events) {
        let TraceEvent::Transition {
            at,
            resource,
            lifecycle,
            to,
            ..
        } = e
        else {
            continue;
        };
        if catalog.is_undecided(lifecycle, to) {
            let from = out.entry(resource.as_str()).or_insert(*at);
            *from = (*from).min(*at);
        }
    }
    out
}

/// Each resource's account, as the observations show it.
type AccountOf<'a> = std::collections::BTreeMap<&'a str, &'a str>;

fn accounts_of<'a>(references: &'a [Reference], actual: &'a Trace) -> AccountOf<'a> {
    references
        .iter()
        .flat_map(|r| &r.trace.observations)
        .chain(&actual.observations)
        .flat_map(|o| &o.resources)
        .map(|r| (&*r.resource, &*r.account))
        .collect()
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

/// Whether the implementation's transition `e` comes within the window a
/// reference leaves open for it: the reference's last observation of the
/// resource at or before that instant shows it in a state the transition
/// leaves, and the instant lies from `earliest` to `latest` after the
/// anchor that observation shows.
fn within_open_window(reference: &Reference, e: &TraceEvent) -> bool {
    let TraceEvent::Transition {
        at,
        resource,
        lifecycle,
        transition,
        ..
    } = e
    else {
        return false;
    };
    let Some(window) = reference
        .open_windows
        .get(&(lifecycle.clone(), transition.clone()))
    else {
        return false;
    };
    let Some((observation, r)) = reference
        .trace
        .observations
        .iter()
        .rev()
        .filter(|o| o.at <= *at)
        .find_map(|o| o.resource(resource).map(|r| (o, r)))
    else {
        return false;
    };
    let anchor = r.anchor(window.since, observation.account(&r.account));
    window.from.iter().any(|s| **s == *r.state)
        && anchor.is_some_and(|a| a + window.earliest <= *at && *at <= a + window.latest)
}

/// The event sequences compared per resource (and per account for
/// account-level events): each element is (instant, description, rule).
fn sequences(
    trace: &Trace,
    undecided: &Undecided,
    judged: &dyn Fn(&TraceEvent) -> bool,
) -> Sequences {
    let mut out = Sequences::new();
    for e in trace.events.iter().filter(|e| judged(e)) {
        if let TraceEvent::Operation {
            at,
            resource,
            operation,
            ..
        } = e
            && undecided.contains(&(*at, resource.clone(), operation.clone()))
        {
            continue;
        }
        let (subject, kind, what) = match e {
            TraceEvent::Transition {
                resource, from, to, ..
            } => (
                format!("resource {resource}"),
                "transitions",
                format!("{from} -> {to}"),
            ),
            TraceEvent::Deduction {
                resource,
                bill,
                attempt,
                outcome,
                amount,
                ..
            } => (
                format!("resource {resource}"),
                "deductions",
                format!(
                    "bill {bill} attempt {attempt} of {amount}: {}",
                    show(&json(outcome))
                ),
            ),
            TraceEvent::Notification {
                account,
                resource,
                notification,
                ..
            } => (
                resource
                    .as_ref()
                    .map(|r| format!("resource {r}"))
                    .unwrap_or_else(|| format!("account {account}")),
                "notifications",
                notification.to_string(),
            ),
            TraceEvent::Refund {
                resource, amount, ..
            } => (
                format!("resource {resource}"),
                "refunds",
                format!("refund of {amount}"),
            ),
            TraceEvent::Operation {
                resource,
                operation,
                allowed,
                error_code,
                ..
            } => (
                format!("resource {resource}"),
                "operations",
                // The error a refusal answers with is part of the verdict
                // where the document names one.
                match (allowed, error_code) {
                    (true, _) => format!("{operation} allowed"),
                    (false, None) => format!("{operation} denied"),
                    (false, Some(code)) => format!("{operation} denied with {code}"),
                },
            ),
            TraceEvent::ChargeSkipped {
                resource, amount, ..
            } => (
                format!("resource {resource}"),
                "charges",
                format!("charge of {amount} skipped"),
            ),
            TraceEvent::Charge {
                resource,
                bill,
                amount,
                ..
            } => (
                format!("resource {resource}"),
                "charges",
                format!(
                    "charge of {amount} billed as {}",
                    bill.clone().unwrap_or_else(|| "consumption".into())
                ),
            ),
            _ => continue,
        };
        let sequence = out.entry((subject, kind)).or_default();
        // The documents say that a notification is sent, never how often it
        // repeats (every hourly EMR bill, or once an episode?): only the
        // first of each kind is compared.
        if kind == "notifications" && sequence.iter().any(|(_, w, _)| *w == what) {
            continue;
        }
        sequence.push((e.at(), what, e.rule().map(str::to_string)));
    }
    out
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
    let mut found: Vec<Divergence> = Vec::new();
    let undecided: Undecided = references
        .iter()
        .flat_map(|r| undecided_operations(&r.trace))
        .collect();
    let accounts = accounts_of(references, actual);
    let undecided_from = undecided_resources(catalog, references);
    let contingent =
        contingent_accounts(references, &accounts, actual, &undecided, &undecided_from);
    let judged = |account: &str, at: DateTime<Utc>| contingent.get(account).is_none_or(|t| at < *t);
    let resource_judged = |resource: &str, account: &str, at: DateTime<Utc>| {
        judged(account, at) && undecided_from.get(resource).is_none_or(|t| at < *t)
    };
    // Observations, instant by instant.
    for obs in &actual.observations {
        let refs: Vec<&Observation> = references
            .iter()
            .filter_map(|r| r.trace.observations.iter().find(|o| o.at == obs.at))
            .collect();
        let Some(main) = refs.first() else { continue };
        for r in main
            .resources
            .iter()
            .filter(|r| resource_judged(&r.resource, &r.account, obs.at))
        {
            let subject = format!("resource {}", r.resource);
            let Some(got) = obs.resource(&r.resource) else {
                found.push(Divergence {
                    at: obs.at,
                    subject,
                    field: "existence".into(),
                    expected: format!("{} in state {}", r.lifecycle, r.state),
                    actual: "not reported".into(),
                    rules: r_rules(catalog, r),
                });
                continue;
            };
            // An observation equal to a reference's in every field is
            // accepted without projecting both onto the compared fields
            // (most are, and projecting costs allocations).
            let accepted = refs.iter().any(|o| {
                o.resource(&r.resource).is_some_and(|reference| {
                    if got == reference {
                        return true;
                    }
                    let ops = documented_operations(catalog, reference, o);
                    let reported = got.billing_method.is_some();
                    resource_fields(got, reference, &ops, reported)
                        == resource_fields(reference, reference, &ops, reported)
                })
            });
            if !accepted {
                let ops = documented_operations(catalog, r, main);
                found.extend(first_field_difference(
                    obs.at,
                    subject,
                    &resource_fields(r, r, &ops, got.billing_method.is_some()),
                    &resource_fields(got, r, &ops, got.billing_method.is_some()),
                    |field| field_rules(catalog, r, main, field),
                ));
            }
        }
        for extra in obs.resources.iter().filter(|x| {
            main.resource(&x.resource).is_none() && resource_judged(&x.resource, &x.account, obs.at)
        }) {
            found.push(Divergence {
                at: obs.at,
                subject: format!("resource {}", extra.resource),
                field: "existence".into(),
                expected: "no such resource".into(),
                actual: format!("in state {}", extra.state),
                rules: Vec::new(),
            });
        }
        for a in main.accounts.iter().filter(|a| judged(&a.account, obs.at)) {
            let subject = format!("account {}", a.account);
            let Some(got) = obs.account(&a.account) else {
                found.push(Divergence {
                    at: obs.at,
                    subject,
                    field: "existence".into(),
                    expected: "an account".into(),
                    actual: "not reported".into(),
                    rules: Vec::new(),
                });
                continue;
            };
            let accepted = refs
                .iter()
                .filter_map(|o| o.account(&a.account))
                .any(|reference| {
                    got == reference || account_fields(got) == account_fields(reference)
                });
            if !accepted {
                found.extend(first_field_difference(
                    obs.at,
                    subject,
                    &account_fields(a),
                    &account_fields(got),
                    |_| {
                        catalog
                            .ledger
                            .rules
                            .iter()
                            .map(|r| catalog.rule(*r).id.clone())
                            .collect()
                    },
                ));
            }
        }
    }
    // Event sequences, per resource and kind, of what is still judged.
    let event_judged = |e: &TraceEvent| {
        let account = match e {
            TraceEvent::Notification { account, .. } => Some(account.as_str()),
            _ => e.resource().and_then(|r| accounts.get(r).copied()),
        };
        let resource_open = e
            .resource()
            .and_then(|r| undecided_from.get(r))
            .is_some_and(|t| e.at() >= *t);
        !resource_open && account.is_none_or(|a| judged(a, e.at()))
    };
    // Where the reading leaves a notification's instant open, when it is
    // sent is the implementation's choice (and whether it was sent by the
    // end of a history may depend on it): the invariants say before what it
    // must come, the comparison leaves it out. `compare` passes the
    // references one at a time, so the first one's reading is the one.
    let open = &references[0].open_instant;
    let decided = |mut s: Sequences| {
        for ((_, kind), events) in s.iter_mut() {
            if *kind == "notifications" {
                events.retain(|(_, what, _)| !open.contains(what));
            }
        }
        s
    };
    let ours: Vec<_> = references
        .iter()
        .map(|r| decided(sequences(&r.trace, &undecided, &event_judged)))
        .collect();
    let theirs = decided(sequences(actual, &undecided, &event_judged));
    let keys: BTreeSet<(String, &'static str)> =
        ours[0].keys().chain(theirs.keys()).cloned().collect();
    for key in keys {
        let empty = Vec::new();
        let got = theirs.get(&key).unwrap_or(&empty);
        let same = |a: &Vec<(DateTime<Utc>, String, Option<String>)>| {
            a.len() == got.len() && a.iter().zip(got).all(|(x, y)| x.0 == y.0 && x.1 == y.1)
        };
        if ours.iter().any(|o| same(o.get(&key).unwrap_or(&empty))) {
            continue;
        }
        let want = ours[0].get(&key).unwrap_or(&empty);
        let i = want
            .iter()
            .zip(got)
            .position(|(x, y)| x.0 != y.0 || x.1 != y.1)
            .unwrap_or(want.len().min(got.len()));
        let (at, expected, actual, rule) = match (want.get(i), got.get(i)) {
            (Some(w), Some(g)) => (
                w.0.min(g.0),
                format!("{} at {}", w.1, w.0),
                format!("{} at {}", g.1, g.0),
                w.2.clone().or(g.2.clone()),
            ),
            (Some(w), None) => (
                w.0,
                format!("{} at {}", w.1, w.0),
                "nothing".into(),
                w.2.clone(),
            ),
            (None, Some(g)) => (
                g.0,
                "nothing".into(),
                format!("{} at {}", g.1, g.0),
                g.2.clone(),
            ),
            (None, None) => continue,
        };
        found.push(Divergence {
            at,
            subject: key.0.clone(),
            field: key.1.to_string(),
            expected,
            actual,
            rules: rule.into_iter().collect(),
        });
    }
    // The earliest divergence; at one instant, event sequences explain
    // observation differences better (they carry the rule).
    found.sort_by_key(|d| (d.at, priority(&d.field)));
    found.into_iter().next()
}

/// The first field where `theirs` differs from `ours` (same fields, same
/// order), as a divergence with the rules `rules` gives for that field.
fn first_field_difference(
    at: DateTime<Utc>,
    subject: String,
    ours: &[(String, Value)],
    theirs: &[(String, Value)],
    rules: impl FnOnce(&str) -> Vec<String>,
) -> Option<Divergence> {
    let ((field, want), (_, have)) = ours.iter().zip(theirs).find(|(a, b)| a != b)?;
    Some(Divergence {
        at,
        subject,
        field: field.clone(),
        expected: show(want),
        actual: show(have),
        rules: rules(field),
    })
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

/// The rules that give a state its capabilities.
fn r_rules(catalog: &Catalog, r: &ResourceObservation) -> Vec<String> {
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
fn documented_operations(
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
fn field_rules(
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
