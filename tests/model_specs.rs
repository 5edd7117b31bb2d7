//! The model executes the specs: change a number in a copied spec and the
//! trace changes; every parameter and every transition of the specs is
//! exercised by the worked examples (under the chosen reading or another
//! accepted one).

use std::collections::BTreeSet;
use std::path::Path;

use arrears::examples::{self, WorkedExample};
use arrears::history::History;
use arrears::observation::TraceEvent;
use arrears::spec::{Catalog, ParamValue, SpecSource};

fn shipped() -> Vec<SpecSource> {
    arrears::spec::sources::embedded()
}

fn compile(sources: &[SpecSource]) -> Catalog {
    arrears::spec::compile(sources).unwrap_or_else(|d| panic!("specs must compile:\n{d}"))
}

fn all_examples() -> Vec<(String, WorkedExample)> {
    examples::read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/examples")).unwrap()
}

fn events(catalog: &Catalog, history: &History) -> Vec<TraceEvent> {
    arrears::model::run(catalog, history, &[])
        .map(|t| t.events)
        .unwrap_or_default()
}

/// The whole trace of an example: its event log and its observations.
/// The model's trace of `example`, read as the example pins (a parameter
/// only a reading puts to use is probed under that reading).
fn trace(catalog: &Catalog, example: &WorkedExample) -> Option<arrears::observation::Trace> {
    let mut read = catalog.clone();
    for (id, reading) in &example.readings {
        let i = catalog.interpretations.iter().position(|x| &x.id == id)?;
        read = read.with_reading(arrears::spec::InterpretationId(i as u32), reading)?;
    }
    let instants: Vec<_> = example.expect.iter().map(|e| e.at).collect();
    arrears::model::run(&read, &example.history, &instants).ok()
}

fn release_instant(catalog: &Catalog, history: &History) -> Option<String> {
    events(catalog, history).into_iter().find_map(|e| match e {
        TraceEvent::Transition {
            resource, to, at, ..
        } if resource == "i-1" && to == "released" => Some(at.to_rfc3339()),
        _ => None,
    })
}

#[test]
fn changing_the_release_window_in_a_copied_spec_moves_the_release() {
    let history = History::from_text(
        "start: 2026-01-01T00:00:00Z\nuntil: +40d\naccounts: [{id: a-1, cash: 0}]\n\
         resources: [{id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}]\n\
         events: [{charge: {at: +1d, resource: i-1, amount: 100}}]\n",
    )
    .unwrap();
    let original = compile(&shipped());
    // Charged on day 1: stopped on day 16, released 15 days later.
    assert_eq!(
        release_instant(&original, &history).as_deref(),
        Some("2026-02-01T00:00:00+00:00")
    );

    // Edit the text of the spec, as a spec author would.
    let mut edited = shipped();
    let ecs = edited
        .iter_mut()
        .find(|s| s.name.ends_with("ecs.yaml"))
        .unwrap();
    let block = "  - id: ecs.release-after-stop\n    value: 15\n";
    assert!(
        ecs.text.contains(block),
        "the parameter block moved; update this test"
    );
    ecs.text = ecs
        .text
        .replace(block, "  - id: ecs.release-after-stop\n    value: 10\n");
    let catalog = compile(&edited);
    assert_eq!(
        release_instant(&catalog, &history).as_deref(),
        Some("2026-01-27T00:00:00+00:00")
    );

    // And the deduction schedule: a retry at T+3 instead of T+7.
    let mut edited = shipped();
    let ecs = edited
        .iter_mut()
        .find(|s| s.name.ends_with("ecs.yaml"))
        .unwrap();
    ecs.text = ecs.text.replace(
        "  - id: ecs.deduction-at-t7\n    value: 7\n",
        "  - id: ecs.deduction-at-t7\n    value: 3\n",
    );
    let catalog = compile(&edited);
    let second_attempt = events(&catalog, &history)
        .into_iter()
        .find_map(|e| match e {
            TraceEvent::Deduction { attempt: 2, at, .. } => Some(at.to_rfc3339()),
            _ => None,
        });
    assert_eq!(second_attempt.as_deref(), Some("2026-01-05T00:00:00+00:00"));
}

/// Another value of the same kind, for probing whether a parameter matters.
fn perturbed(value: &ParamValue, options: &[String]) -> ParamValue {
    match value {
        ParamValue::Duration(d) => ParamValue::Duration(*d + chrono::TimeDelta::hours(25)),
        ParamValue::Count(n) => ParamValue::Count(n + 1),
        ParamValue::Flag(b) => ParamValue::Flag(!b),
        ParamValue::Choice(c) => {
            let next = options
                .iter()
                .position(|o| o == c)
                .map(|i| (i + 1) % options.len())
                .unwrap_or(0);
            ParamValue::Choice(options[next].clone())
        }
    }
}

#[test]
fn every_parameter_changes_the_trace_of_some_worked_example() {
    let catalog = compile(&shipped());
    let examples = all_examples();
    let baseline: Vec<_> = examples.iter().map(|(_, ex)| trace(&catalog, ex)).collect();
    // The billing cycle tells generators how often usage is billed; the
    // model bills whatever charges a history holds.
    // A notification's open instant is for the comparison to read: the
    // model sends the reminder at its lead either way.
    let generator_only = ["emr.payg.billing-cycle", "flink.expiry-reminder-any-lead"];
    let mut dead = Vec::new();
    for (i, p) in catalog.parameters.iter().enumerate() {
        if generator_only.contains(&p.id.as_str()) {
            continue;
        }
        let options: Vec<String> = catalog
            .interpretations
            .iter()
            .flat_map(|interp| interp.readings.iter())
            .flat_map(|r| r.overrides.iter())
            .filter(|(param, _)| param.index() == i)
            .map(|(_, v)| v.to_string())
            .chain(std::iter::once(p.value.to_string()))
            .collect();
        let mut variant = catalog.clone();
        variant.parameters[i].value = perturbed(&p.value, &options);
        let changed = examples
            .iter()
            .zip(&baseline)
            .any(|((_, ex), base)| &trace(&variant, ex) != base);
        if !changed {
            dead.push(p.id.clone());
        }
    }
    assert!(
        dead.is_empty(),
        "changing these parameters changes no worked example's trace: {dead:?}"
    );
}

#[test]
fn every_transition_fires_in_some_worked_example_under_an_accepted_reading() {
    let catalog = compile(&shipped());
    let mut fired = BTreeSet::new();
    for variant in catalog.reading_variants() {
        for (_, ex) in all_examples() {
            for e in events(&variant, &ex.history) {
                if let TraceEvent::Transition {
                    lifecycle,
                    transition,
                    ..
                } = e
                {
                    fired.insert(format!("{lifecycle}/{transition}"));
                }
            }
        }
    }
    let never: Vec<String> = catalog
        .lifecycles
        .iter()
        .flat_map(|lc| {
            lc.transitions
                .iter()
                .map(move |t| format!("{}/{}", lc.id, t.id))
        })
        .filter(|t| !fired.contains(t))
        .collect();
    assert!(
        never.is_empty(),
        "transitions no worked example exercises: {never:#?}"
    );
}

#[test]
fn a_refund_formula_without_a_value_stops_the_model_instead_of_refunding_0() {
    // A formula dividing by `used` passes lint (used is not always zero) but
    // has no value for a quota unsubscribed the instant it was bought. It
    // used to refund 0 silently.
    let with_formula = |expression: &str| -> Vec<SpecSource> {
        let mut edited = shipped();
        let spark = edited
            .iter_mut()
            .find(|s| s.name.ends_with("emr-serverless-spark.yaml"))
            .unwrap();
        let formula = "expression: \"paid_cash - used * paid_cash / term\"";
        assert!(spark.text.contains(formula), "the quota formula moved");
        spark.text = spark
            .text
            .replace(formula, &format!("expression: \"{expression}\""));
        edited
    };
    let catalog = compile(&with_formula("paid_cash * term / used"));
    let history = History::from_text(
        "start: 2026-01-01T00:00:00Z\nuntil: +1d\naccounts: [{id: a-1, cash: 0}]\n\
         resources: [{id: ws-1, account: a-1, product: spark, kind: workspace, \
         billing: subscription, term: 30d, paid_cash: 3000}]\n\
         events: [{operate: {at: +0s, resource: ws-1, operation: unsubscribe}}]\n",
    )
    .unwrap();
    let err = arrears::model::run(&catalog, &history, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to compute the refund of resource `ws-1` at 2026-01-01 00:00:00 UTC: formula \
         `spark.formula.quota-refund` (`paid_cash * term / used`) gives no value on paid_cash \
         3000, paid_voucher 0, used 0s, term 2592000s: division by zero; check the formula in \
         the spec"
    );
    // Lint still refuses a divisor that is zero whatever the inputs.
    let diags =
        arrears::spec::compile(&with_formula("paid_cash * term / (used - used)")).unwrap_err();
    assert!(
        diags.0[0]
            .message
            .ends_with("divides by an expression that is always zero: `used - used`"),
        "{diags}"
    );
}
