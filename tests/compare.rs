//! The differential comparison judges only what the documents decide: an
//! operation verdict a rule speaks of is compared (and a difference names
//! that rule), one no rule speaks of is the implementation's own business.

use std::path::Path;

use chrono::{DateTime, Utc};

use arrears::compare::compare;
use arrears::examples::WorkedExample;
use arrears::history::{History, Offset};
use arrears::observation::{Trace, TraceEvent};
use arrears::spec::Catalog;

fn catalog() -> Catalog {
    arrears::spec::compile(&arrears::spec::sources::embedded()).expect("shipped specs compile")
}

/// The model's trace of a pay-as-you-go instance whose bill is never paid,
/// observed while overdue (day 2) and while stopped (day 20).
fn never_paid(catalog: &Catalog) -> (Trace, DateTime<Utc>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs/examples/ecs-payg-stop-at-t15-release-at-t30.yaml");
    let example = WorkedExample::from_text(&std::fs::read_to_string(path).unwrap()).unwrap();
    let observe: Vec<Offset> = ["+2d", "+20d"].iter().map(|o| o.parse().unwrap()).collect();
    let trace =
        arrears::model::run(catalog, &example.history, &observe).expect("the model runs it");
    (trace, example.history.start)
}

/// The trace with one operation verdict of instance i-1 flipped at `at`.
fn flipped(trace: &Trace, start: DateTime<Utc>, at: &str, operation: &str) -> Trace {
    let instant = at.parse::<Offset>().unwrap().at(start);
    let mut out = trace.clone();
    let observation = out
        .observations
        .iter_mut()
        .find(|o| o.at == instant)
        .expect("observed at that instant");
    let resource = observation
        .resources
        .iter_mut()
        .find(|r| r.resource == "i-1")
        .map(std::sync::Arc::make_mut)
        .expect("i-1 is observed");
    let verdict = resource
        .operations
        .get(operation)
        .expect("the operation is reported");
    resource.operations.insert(operation, !verdict);
    out
}

#[test]
fn the_model_agrees_with_itself() {
    let catalog = catalog();
    let (trace, _) = never_paid(&catalog);
    assert_eq!(compare(&catalog, &[trace.clone().into()], &trace), None);
}

#[test]
fn a_verdict_a_state_decides_is_compared_and_cites_its_rule() {
    let catalog = catalog();
    let (trace, start) = never_paid(&catalog);
    let actual = flipped(&trace, start, "+20d", "create-snapshot");
    let divergence = compare(&catalog, &[trace.clone().into()], &actual)
        .expect("a snapshot allowed while stopped is a divergence");
    assert_eq!(divergence.field, "operation create-snapshot");
    assert_eq!(divergence.expected, "false");
    assert_eq!(divergence.actual, "true");
    assert_eq!(divergence.rules, vec!["ecs.stopped.no-manual-snapshots"]);
}

#[test]
fn a_fee_incurring_operation_while_overdue_is_compared() {
    let catalog = catalog();
    let (trace, start) = never_paid(&catalog);
    let actual = flipped(&trace, start, "+2d", "upgrade");
    let divergence = compare(&catalog, &[trace.clone().into()], &actual)
        .expect("an upgrade allowed while overdue is a divergence");
    assert_eq!(divergence.field, "operation upgrade");
    assert_eq!(divergence.rules.len(), 1, "{divergence:?}");
    assert!(
        divergence.rules[0].starts_with("ecs."),
        "{:?}",
        divergence.rules
    );
}

#[test]
fn a_verdict_a_transition_decides_is_compared_and_cites_its_rule() {
    let catalog = catalog();
    let (trace, start) = never_paid(&catalog);
    // The user may release a stopped instance: a transition says so.
    let actual = flipped(&trace, start, "+20d", "release");
    let divergence = compare(&catalog, &[trace.clone().into()], &actual)
        .expect("refusing a user release is a divergence");
    assert_eq!(divergence.field, "operation release");
    assert_eq!(divergence.expected, "true");
    assert!(!divergence.rules.is_empty(), "{divergence:?}");
}

#[test]
fn a_verdict_no_rule_decides_is_not_compared() {
    let catalog = catalog();
    let (trace, start) = never_paid(&catalog);
    // No rule says whether a user may switch an instance that was stopped
    // for an overdue payment to economical mode, or set its automatic
    // release time: an implementation may answer either way.
    for operation in ["economical-stop", "set-auto-release"] {
        let actual = flipped(&trace, start, "+20d", operation);
        assert_eq!(
            compare(&catalog, &[trace.clone().into()], &actual),
            None,
            "{operation} is decided by no rule in state stopped"
        );
    }
}

/// The model's trace of the never-paid instance on which the user, while it
/// is stopped on day 20, asks for a snapshot (refused by a rule) and for
/// economical mode (which no rule decides).
fn operations_while_stopped(catalog: &Catalog) -> Trace {
    let history: History = arrears::yaml::from_str(
        r#"
start: 2026-01-01T00:00:00Z
until: +31d
accounts:
  - {id: a-1, cash: 1000}
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}
events:
  - charge: {at: +1d, resource: i-1, amount: 2400}
  - operate: {at: +20d, resource: i-1, operation: create-snapshot}
  - operate: {at: +20d, resource: i-1, operation: economical-stop}
"#,
    )
    .expect("the history parses");
    arrears::model::run(catalog, &history, &[]).expect("the model runs it")
}

/// The trace with the verdict of the user's `operation` turned around.
fn answered_otherwise(trace: &Trace, operation: &str) -> Trace {
    let mut out = trace.clone();
    let verdict = out
        .events
        .iter_mut()
        .find_map(|e| match e {
            TraceEvent::Operation {
                operation: o,
                allowed,
                ..
            } if o == operation => Some(allowed),
            _ => None,
        })
        .expect("the operation is in the log");
    *verdict = !*verdict;
    out
}

/// The model's verdict on the user's first `operation`, with the rule
/// behind it.
fn verdict(trace: &Trace, operation: &str) -> Option<(bool, Option<String>)> {
    trace.events.iter().find_map(|e| match e {
        TraceEvent::Operation {
            operation: o,
            allowed,
            rule,
            ..
        } if o == operation => Some((*allowed, rule.as_ref().map(|r| r.to_string()))),
        _ => None,
    })
}

#[test]
fn a_refusal_a_rule_decides_is_compared_in_the_event_log() {
    let catalog = catalog();
    let trace = operations_while_stopped(&catalog);
    let actual = answered_otherwise(&trace, "create-snapshot");
    let divergence = compare(&catalog, &[trace.clone().into()], &actual)
        .expect("a snapshot taken while stopped is a divergence");
    assert_eq!(divergence.field, "operations");
    assert_eq!(divergence.rules, vec!["ecs.stopped.no-manual-snapshots"]);
}

#[test]
fn an_answer_no_rule_decides_is_not_compared_in_the_event_log() {
    let catalog = catalog();
    let trace = operations_while_stopped(&catalog);
    assert_eq!(
        verdict(&trace, "economical-stop"),
        Some((true, None)),
        "the model allows it with no rule behind the verdict"
    );
    let actual = answered_otherwise(&trace, "economical-stop");
    assert_eq!(compare(&catalog, &[trace.clone().into()], &actual), None);
}

/// Two accounts, each with a subscription instance that its owner asks to
/// release by hand on day 1 (no rule of the ECS document gives a
/// subscription instance a release by hand), observed on day 2.
fn hand_release_undecided(catalog: &Catalog) -> (Trace, DateTime<Utc>) {
    let history: History = arrears::yaml::from_str(
        r#"
start: 2026-01-01T00:00:00Z
until: +3d
accounts:
  - {id: a-1, cash: 1000}
  - {id: a-2, cash: 1000}
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: subscription, term: 30d, paid_cash: 100}
  - {id: i-2, account: a-2, product: ecs, kind: instance, billing: subscription, term: 30d, paid_cash: 100}
events:
  - operate: {at: +1d, resource: i-1, operation: release}
"#,
    )
    .expect("the history parses");
    let start = history.start;
    let observe: [Offset; 1] = ["+2d".parse().unwrap()];
    let trace = arrears::model::run(catalog, &history, &observe).expect("the model runs it");
    (trace, start)
}

/// `trace` as an implementation that released `resource` at `at` would
/// report it: a transition to `released`, and the state observed after.
fn released_by_hand(trace: &Trace, start: DateTime<Utc>, resource: &str, at: &str) -> Trace {
    let at = at.parse::<Offset>().unwrap().at(start);
    let mut out = trace.clone();
    out.events.push(TraceEvent::Transition {
        at,
        resource: resource.into(),
        lifecycle: "ecs.subscription-instance".into(),
        from: "active".into(),
        to: "released".into(),
        transition: "its-own-release".into(),
        rule: "none".into(),
    });
    for o in out.observations.iter_mut().filter(|o| o.at >= at) {
        for r in o.resources.iter_mut().filter(|r| r.resource == resource) {
            let r = std::sync::Arc::make_mut(r);
            r.state = "released".into();
        }
    }
    out
}

#[test]
fn what_follows_an_undecided_operation_the_implementation_acted_on_is_not_compared() {
    let catalog = catalog();
    let (trace, start) = hand_release_undecided(&catalog);
    assert_eq!(
        verdict(&trace, "release"),
        Some((true, None)),
        "no rule decides the release"
    );
    // i-1 released when asked: its own choice, and all that follows in its
    // account is its own too.
    let actual = released_by_hand(&trace, start, "i-1", "+1d");
    assert_eq!(compare(&catalog, &[trace.clone().into()], &actual), None);
    // i-2 released with nobody asking: the other account is still judged.
    let actual = released_by_hand(&trace, start, "i-2", "+1d");
    let divergence = compare(&catalog, &[trace.clone().into()], &actual)
        .expect("a release nobody asked for is a divergence");
    assert_eq!(divergence.subject, "resource i-2");
}

/// An account with two pay-as-you-go instances, each with a data disk, a
/// static IP and a snapshot: i-1 is paid and released by hand on day 1,
/// i-2's bill is never paid, so it is stopped at T+15 and released for the
/// overdue payment at T+30; observed on days 2 and 31.
fn hand_and_overdue_release(catalog: &Catalog) -> Trace {
    let history: History = arrears::yaml::from_str(
        r#"
start: 2026-01-01T00:00:00Z
until: +32d
accounts:
  - {id: a-1, cash: 1000}
  - {id: a-2, cash: 0}
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}
  - {id: dd-1, account: a-1, product: ecs, kind: disk, billing: not-billed, parent: i-1}
  - {id: ip-1, account: a-1, product: ecs, kind: static-ip, billing: not-billed, parent: i-1}
  - {id: snap-1, account: a-1, product: ecs, kind: snapshot, billing: not-billed, parent: i-1}
  - {id: i-2, account: a-2, product: ecs, kind: instance, billing: pay-as-you-go}
  - {id: dd-2, account: a-2, product: ecs, kind: disk, billing: not-billed, parent: i-2}
events:
  - charge: {at: +0s, resource: i-1, amount: 100}
  - charge: {at: +0s, resource: i-2, amount: 100}
  - operate: {at: +1d, resource: i-1, operation: release}
"#,
    )
    .expect("the history parses");
    let observe: Vec<Offset> = ["+2d", "+31d"].iter().map(|o| o.parse().unwrap()).collect();
    arrears::model::run(catalog, &history, &observe).expect("the model runs it")
}

/// `trace` as an implementation that keeps `children` as they were (in
/// service, their data kept) when their instance is released: none of their
/// transitions at the release, and the state they had before it.
fn children_kept(trace: &Trace, children: &[(&str, &str)]) -> Trace {
    let gone = ["released", "deleted", "instance-released-by-hand"];
    let mut out = trace.clone();
    out.events.retain(|e| {
        !matches!(e, TraceEvent::Transition { resource, to, .. }
            if children.iter().any(|(c, _)| c == resource) && gone.contains(&to.as_str()))
    });
    for o in &mut out.observations {
        for r in &mut o.resources {
            let r = std::sync::Arc::make_mut(r);
            let found = children.iter().find(|(c, _)| *c == r.resource);
            if let (Some((_, state)), true) = (found, gone.contains(&r.state.as_str())) {
                r.state = (*state).into();
                r.serving = arrears::spec::Serving::Yes;
                r.data = arrears::spec::Data::Retained;
            }
        }
    }
    out
}

#[test]
fn what_becomes_of_the_disks_of_an_instance_released_by_hand_is_not_compared() {
    let catalog = catalog();
    let trace = hand_and_overdue_release(&catalog);
    let state_of = |resource: &str| {
        trace.observations[0]
            .resource(resource)
            .map(|r| r.state.clone())
            .unwrap()
    };
    assert_eq!(state_of("i-1"), "released");
    assert_eq!(state_of("dd-1"), "instance-released-by-hand");
    // Kept, all three: the documents say what goes with an instance only
    // when it is released for an overdue payment.
    let kept = children_kept(
        &trace,
        &[
            ("dd-1", "in-service"),
            ("ip-1", "assigned"),
            ("snap-1", "retained"),
        ],
    );
    assert_eq!(compare(&catalog, &[trace.clone().into()], &kept), None);
    // Dropped from the observations altogether: also its own choice.
    let mut gone = trace.clone();
    for o in &mut gone.observations {
        o.resources.retain(|r| r.resource != "dd-1");
    }
    assert_eq!(compare(&catalog, &[trace.clone().into()], &gone), None);
    // The disk of the instance released for the overdue payment goes with
    // it, and keeping it is a divergence that cites the rule.
    let released = trace.observations[1].resource("dd-2").unwrap();
    assert_eq!(released.state, "released");
    let kept = children_kept(&trace, &[("dd-2", "out-of-service")]);
    let divergence =
        compare(&catalog, &[trace.clone().into()], &kept).expect("the overdue release decides it");
    assert_eq!(divergence.subject, "resource dd-2");
    assert!(
        divergence
            .rules
            .contains(&"ecs.released.disks-deleted".to_string()),
        "{divergence:?}"
    );
}

#[test]
fn a_price_paid_on_a_resource_the_documents_no_longer_decide_is_the_implementations_choice() {
    let catalog = catalog();
    let history: History = arrears::yaml::from_str(
        r#"
start: 2026-01-01T00:00:00Z
until: +2d
accounts:
  - {id: a-1, cash: 1000}
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}
  - {id: dd-1, account: a-1, product: ecs, kind: disk, billing: not-billed, parent: i-1}
events:
  - operate: {at: +0s, resource: i-1, operation: release}
  - upgrade: {at: +1d, resource: dd-1, price: 100}
"#,
    )
    .expect("the history parses");
    let observe: Vec<Offset> = ["+12h", "+1d", "+2d"]
        .iter()
        .map(|o| o.parse().unwrap())
        .collect();
    let trace = arrears::model::run(&catalog, &history, &observe).expect("the model runs it");
    assert_eq!(verdict(&trace, "upgrade").map(|v| v.0), Some(false));
    let upgraded = history.start + chrono::TimeDelta::days(1);
    // The implementation kept the disk and took the upgrade's price.
    let paid = |from: DateTime<Utc>| {
        let mut out = trace.clone();
        for e in &mut out.events {
            if let TraceEvent::Operation {
                operation, allowed, ..
            } = e
                && operation == "upgrade"
            {
                *allowed = true;
            }
        }
        for o in out.observations.iter_mut().filter(|o| o.at >= from) {
            for a in &mut o.accounts {
                a.cash -= 100;
            }
        }
        out
    };
    // From the upgrade on, the account is its own...
    assert_eq!(
        compare(&catalog, &[trace.clone().into()], &paid(upgraded)),
        None
    );
    // ...but not before it.
    let divergence = compare(&catalog, &[trace.clone().into()], &paid(history.start))
        .expect("the cash before the upgrade is still judged");
    assert_eq!(divergence.subject, "account a-1");
    assert_eq!(divergence.at, history.start + chrono::TimeDelta::hours(12));
}

/// The model read with MaxCompute instances released at a time the system
/// selects, on a pay-as-you-go instance whose bill fails on day 2 and is
/// never paid (released at the window's end, day 32), observed daily.
fn released_at_selected_time() -> (Catalog, Trace, DateTime<Utc>) {
    let catalog = catalog();
    let interpretation = catalog
        .interpretations
        .iter()
        .position(|i| i.id == "maxcompute.interp.release-time")
        .expect("the interpretation exists");
    let read = catalog
        .with_reading(
            arrears::spec::InterpretationId(interpretation as u32),
            "system-selected",
        )
        .expect("the reading exists");
    let history: History = arrears::yaml::from_str(
        r#"
start: 2026-01-01T00:00:00Z
until: +40d
accounts:
  - {id: a-1, cash: 100}
resources:
  - {id: p-1, account: a-1, product: maxcompute, kind: instance, billing: pay-as-you-go}
events:
  - charge: {at: +2d, resource: p-1, amount: 800}
  - charge: {at: +35d, resource: p-1, amount: 50}
"#,
    )
    .expect("the history parses");
    let observe: Vec<Offset> = (1..40).map(|d| format!("+{d}d").parse().unwrap()).collect();
    let trace = arrears::model::run(&read, &history, &observe).expect("the model runs it");
    (read, trace, history.start)
}

/// `trace` with p-1's release moved to `at` (and observed so from then).
fn released_at(trace: &Trace, start: DateTime<Utc>, at: &str) -> Trace {
    let at = at.parse::<Offset>().unwrap().at(start);
    let mut out = trace.clone();
    for e in out.events.iter_mut() {
        if let TraceEvent::Transition { at: when, to, .. } = e
            && to == "released"
        {
            *when = at;
        }
    }
    for o in out.observations.iter_mut() {
        let r = o
            .resources
            .iter_mut()
            .find(|r| r.resource == "p-1")
            .map(std::sync::Arc::make_mut)
            .unwrap();
        if o.at >= at {
            r.state = "released".into();
            r.since = at;
        } else if r.state == "released" {
            r.state = "locked".into();
        }
    }
    out
}

#[test]
fn a_transition_the_reading_leaves_to_the_system_is_accepted_within_its_window() {
    let (read, trace, start) = released_at_selected_time();
    let reference = arrears::compare::Reference::new(&read, trace.clone());
    let released = trace.events.iter().find_map(|e| match e {
        TraceEvent::Transition { at, to, .. } if to == "released" => Some(*at),
        _ => None,
    });
    assert_eq!(released, Some("+32d".parse::<Offset>().unwrap().at(start)));
    // Any day within the window: accepted, and what follows is its own.
    for day in ["+18d", "+25d", "+31d"] {
        let actual = released_at(&trace, start, day);
        assert_eq!(
            compare(&read, std::slice::from_ref(&reference), &actual),
            None,
            "a release on {day}"
        );
    }
    // Later than the window's end, or never: a divergence at its end.
    let actual = released_at(&trace, start, "+34d");
    let divergence = compare(&read, std::slice::from_ref(&reference), &actual)
        .expect("a release after the window is a divergence");
    assert_eq!(divergence.at, "+32d".parse::<Offset>().unwrap().at(start));
    assert_eq!(
        divergence.rules,
        vec!["maxcompute.overdue.release-at-system-selected-time"]
    );
}

/// An EMR cluster whose hourly fees overdraw the account from the third
/// hour on: each uncovered hourly bill is a notice in the model's log.
fn overdrawn_cluster(catalog: &Catalog) -> Trace {
    let history: History = arrears::yaml::from_str(
        r#"
start: 2026-01-01T00:00:00Z
until: +10h
accounts:
  - {id: a-1, cash: 800}
resources:
  - {id: c-1, account: a-1, product: emr, kind: cluster, billing: pay-as-you-go, hourly_price: 400}
events:
  - charge: {at: +1h, resource: c-1, hours: 1}
  - charge: {at: +2h, resource: c-1, hours: 1}
  - charge: {at: +3h, resource: c-1, hours: 1}
  - charge: {at: +4h, resource: c-1, hours: 1}
  - charge: {at: +5h, resource: c-1, hours: 1}
"#,
    )
    .expect("the history parses");
    arrears::model::run(catalog, &history, &[]).expect("the model runs it")
}

fn notices(trace: &Trace, id: &str) -> usize {
    trace
        .events
        .iter()
        .filter(
            |e| matches!(e, TraceEvent::Notification { notification, .. } if notification == id),
        )
        .count()
}

#[test]
fn how_often_a_notice_repeats_is_not_compared_but_the_first_is() {
    let catalog = catalog();
    let trace = overdrawn_cluster(&catalog);
    let id = "emr.notify.overdue";
    assert!(notices(&trace, id) > 1, "the model repeats the notice");

    // Once an episode is enough: the documents do not say how often.
    let mut once = trace.clone();
    let mut seen = false;
    once.events.retain(|e| match e {
        TraceEvent::Notification { notification, .. } if notification == id => {
            !std::mem::replace(&mut seen, true)
        }
        _ => true,
    });
    assert_eq!(notices(&once, id), 1);
    assert_eq!(compare(&catalog, &[trace.clone().into()], &once), None);

    // Never is not.
    let mut never = trace.clone();
    never.events.retain(
        |e| !matches!(e, TraceEvent::Notification { notification, .. } if notification == id),
    );
    let divergence = compare(&catalog, &[trace.clone().into()], &never)
        .expect("a missing notice is a divergence");
    assert_eq!(divergence.field, "notifications");
    assert_eq!(divergence.rules, vec!["emr.overdue.notification"]);
}

/// An implementation that answers like the model wherever a rule decides,
/// and at random wherever none does: a field of a resource the specs leave
/// `unspecified` in its state (serving, data, billing), an operation verdict
/// that neither a capability of the state, nor a transition it triggers, nor
/// a refusal while overdue decides, and how often a notification repeats.
/// The randomness is a hash of what is being answered, so every run of the
/// test draws the same answers.
struct Scrambler<'c> {
    catalog: &'c Catalog,
    /// How many answers it changed, so the test knows it changed some.
    changed: std::sync::atomic::AtomicUsize,
}

impl Scrambler<'_> {
    fn coin(&self, what: impl std::hash::Hash) -> bool {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(what) % 2 == 0
    }

    fn count(&self) {
        self.changed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the specs decide `op` on a resource in `state` of
    /// `lifecycle`, given whether its account is overdue.
    fn decided(&self, lifecycle: &str, state: &str, op: &str, overdue: bool) -> bool {
        let c = self.catalog;
        let lc = c.lifecycle(c.lifecycle_named(lifecycle).unwrap());
        let sid = lc.state_named(state).unwrap();
        let st = lc.state(sid);
        let Some(opid) = c.op_named(op) else {
            return false;
        };
        let fee = c
            .document(lc.doc)
            .operations
            .get(&opid)
            .is_some_and(|o| o.fee_incurring);
        !st.undecided && st.terminal
            || (fee && overdue && c.refuses_fee_operations_while_overdue(lc.doc))
            || st.operations.iter().any(|cap| cap.op == opid)
            || lc.transitions.iter().any(|t| {
                t.from.contains(&sid)
                    && matches!(t.trigger, arrears::spec::Trigger::Operation(o) if o == opid)
            })
    }
}

impl arrears::verify::System for Scrambler<'_> {
    fn describe(&self) -> String {
        "the model, answering at random what no rule decides".into()
    }

    fn run(
        &self,
        history: &History,
        observe: &[Offset],
    ) -> Result<Trace, arrears::verify::SystemError> {
        use arrears::spec::{BillingStatus, Data, Serving};
        let mut trace = arrears::verify::ReferenceModel {
            catalog: self.catalog,
        }
        .run(history, observe)?;
        // A resource in a state where the documents decide nothing of it
        // (the disk of an instance released by hand): dropped from the
        // observations, with its transition into that state, or kept.
        let undecided = |lifecycle: &str, state: &str| {
            let c = self.catalog;
            let lc = c.lifecycle(c.lifecycle_named(lifecycle).unwrap());
            lc.state(lc.state_named(state).unwrap()).undecided
        };
        let dropped: Vec<arrears::observation::Name> = trace
            .events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Transition {
                    resource,
                    lifecycle,
                    to,
                    ..
                } if undecided(lifecycle, to) && self.coin((resource, "dropped")) => {
                    Some(resource.clone())
                }
                _ => None,
            })
            .collect();
        for o in &mut trace.observations {
            o.resources
                .retain(|r| !(dropped.contains(&r.resource) && undecided(&r.lifecycle, &r.state)));
        }
        trace.events.retain(|e| {
            !matches!(e, TraceEvent::Transition { resource, lifecycle, to, .. }
                if dropped.contains(resource) && undecided(lifecycle, to))
        });
        for _ in &dropped {
            self.count();
        }
        for o in &mut trace.observations {
            let overdue: Vec<String> = o
                .accounts
                .iter()
                .filter(|a| a.overdue_since.is_some())
                .map(|a| a.account.to_string())
                .collect();
            for r in &mut o.resources {
                let r = std::sync::Arc::make_mut(r);
                let key = (o.at, r.resource.clone());
                if r.serving == Serving::Unspecified {
                    r.serving = if self.coin((&key, "serving")) {
                        Serving::Yes
                    } else {
                        Serving::No
                    };
                    self.count();
                }
                if r.data == Data::Unspecified {
                    r.data = if self.coin((&key, "data")) {
                        Data::Retained
                    } else {
                        Data::Deleted
                    };
                    self.count();
                }
                if r.billing == BillingStatus::Unspecified {
                    r.billing = if self.coin((&key, "billing")) {
                        BillingStatus::Running
                    } else {
                        BillingStatus::Ceased
                    };
                    self.count();
                }
                let is_overdue = overdue.iter().any(|a| *a == r.account);
                let ops: Vec<String> = r.operations.keys().map(str::to_string).collect();
                for op in ops {
                    if !self.decided(&r.lifecycle, &r.state, &op, is_overdue) {
                        let allowed = self.coin((&key, op.as_str()));
                        r.operations.insert(&op, allowed);
                        self.count();
                    }
                }
            }
        }
        let mut events = Vec::new();
        for mut e in std::mem::take(&mut trace.events) {
            match &mut e {
                // Allowed with no rule behind the verdict: refuse it or not.
                TraceEvent::Operation {
                    at,
                    resource,
                    operation,
                    allowed,
                    rule: None,
                    reason,
                    ..
                } if *allowed && self.coin((*at, resource.clone(), operation.clone())) => {
                    *allowed = false;
                    *reason = Some("this implementation's own choice".into());
                    self.count();
                }
                // A notice repeated: the documents never say how often.
                TraceEvent::Notification {
                    at, notification, ..
                } if self.coin((*at, notification.clone())) => {
                    events.push(e.clone());
                    self.count();
                }
                _ => {}
            }
            events.push(e);
        }
        trace.events = events;
        Ok(trace)
    }
}

#[test]
fn an_implementation_that_answers_at_random_what_no_rule_decides_passes() {
    let catalog = catalog();
    let scrambler = Scrambler {
        catalog: &catalog,
        changed: Default::default(),
    };
    for seed in 0..3 {
        let mut options = arrears::verify::VerifyOptions::new(&catalog);
        options.seed = seed;
        options.cases = 256;
        options.compare = true;
        let report = arrears::verify::verify(&catalog, &scrambler, &options);
        assert!(
            report.counterexamples.is_empty(),
            "seed {seed}: {}",
            arrears::verify::report_text(&catalog, &report, Default::default())
        );
        assert!(report.executed > 0);
    }
    let changed = scrambler.changed.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        changed > 1000,
        "it answered only {changed} things its own way"
    );
}
