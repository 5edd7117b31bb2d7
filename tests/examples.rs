//! Every worked example in specs/examples passes against the reference
//! model, and together they pin every rule the model carries out by a
//! transition or a capability.

use std::collections::BTreeSet;
use std::path::Path;

use arrears::examples;
use arrears::spec::{Catalog, Enforcer};

fn catalog() -> Catalog {
    arrears::spec::compile(&arrears::spec::sources::embedded()).expect("shipped specs compile")
}

fn all_examples() -> Vec<(String, examples::WorkedExample)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/examples");
    examples::read_dir(&dir).expect("the examples read")
}

#[test]
fn every_worked_example_passes_against_the_model() {
    let catalog = catalog();
    let all = all_examples();
    assert!(
        all.len() >= 40,
        "expected at least 40 worked examples, found {}",
        all.len()
    );
    let failed: Vec<String> = all
        .iter()
        .map(|(name, ex)| examples::check(&catalog, name, ex))
        .filter(|o| !o.passed())
        .map(|o| format!("{}:\n  {}", o.name, o.failures.join("\n  ")))
        .collect();
    assert!(
        failed.is_empty(),
        "failing examples:\n{}",
        failed.join("\n")
    );
}

#[test]
fn every_rule_carried_out_by_a_transition_or_capability_is_pinned_by_an_example() {
    let catalog = catalog();
    let pinned: BTreeSet<String> = all_examples()
        .into_iter()
        .flat_map(|(_, ex)| ex.rules)
        .collect();
    let missing: Vec<&str> = catalog
        .rules
        .iter()
        .filter(|r| {
            r.enforced_by
                .iter()
                .any(|k| matches!(k, Enforcer::Transition | Enforcer::Capability))
        })
        .filter(|r| !pinned.contains(&r.id))
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "rules pinned by no worked example: {missing:?}"
    );
}

#[test]
fn every_product_and_billing_method_has_an_example() {
    let catalog = catalog();
    let mut seen = BTreeSet::new();
    for (_, ex) in all_examples() {
        for r in &ex.history.resources {
            seen.insert((r.product.clone(), r.billing));
        }
    }
    for lc in &catalog.lifecycles {
        let product = catalog.document(lc.doc).id.clone();
        assert!(
            seen.contains(&(product.clone(), lc.billing)),
            "no example has a {:?} resource of {product}",
            lc.billing
        );
    }
}

#[test]
fn a_wrong_expectation_is_reported() {
    let catalog = catalog();
    let (name, mut ex) = all_examples()
        .into_iter()
        .find(|(n, _)| n == "ecs-payg-stop-at-t15-release-at-t30")
        .expect("the template example exists");
    let expectation = ex
        .expect
        .iter_mut()
        .find(|e| e.resources.contains_key("i-1"))
        .unwrap();
    expectation
        .resources
        .insert("i-1".into(), serde_json::json!({"state": "no-such-state"}));
    let outcome = examples::check(&catalog, &name, &ex);
    assert!(!outcome.passed());
    assert!(
        outcome.failures[0].contains("state expected \"no-such-state\""),
        "{:?}",
        outcome.failures
    );
}
