//! The model's work budget: a lint-clean spec whose timed transitions cycle
//! every second gets a clear error quickly and in bounded memory, instead of
//! running for minutes and gigabytes; every realistic history stays far
//! below the budget.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use arrears::history::History;
use arrears::model::{Model, ModelError, WORK_BASE, WORK_PER_ITEM};
use arrears::spec::{Catalog, SpecSource};

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the minimal valid spec whose instance blinks: running and
/// stopped each last one second.
fn blinking_spec() -> Vec<SpecSource> {
    let mut sources =
        arrears::spec::sources::read_dir(&manifest().join("tests/fixtures/specs/valid")).unwrap();
    let text = &mut sources[0].text;
    let edits = [
        (
            "parameters:\n",
            "parameters:\n  - id: mini.blink\n    value: 1\n    unit: seconds\n    \
             meaning: how long the instance stays in each state of its blinking\n    \
             section: \"Overdue resources\"\n    \
             anchor: \"the resource is stopped when the payment is overdue\"\n",
        ),
        (
            "    transitions:\n",
            "    transitions:\n      - id: blink-off\n        from: [running]\n        \
             to: stopped\n        on: {after: {duration: mini.blink, since: entered}}\n        \
             rule: mini.stop-when-overdue\n      - id: blink-on\n        from: [stopped]\n        \
             to: running\n        on: {after: {duration: mini.blink, since: entered}}\n        \
             rule: mini.stop-when-overdue\n",
        ),
    ];
    for (anchor, replacement) in edits {
        assert!(
            text.contains(anchor),
            "the valid fixture changed: {anchor:?}"
        );
        *text = text.replacen(anchor, replacement, 1);
    }
    sources
}

fn thirty_days() -> History {
    History::from_text(
        "start: 2026-01-01T00:00:00Z\nuntil: +30d\naccounts: [{id: a-1, cash: 1000}]\n\
         resources: [{id: i-1, account: a-1, product: mini, kind: instance, billing: pay-as-you-go}]\n\
         events: [{top_up: {at: +1d, account: a-1, amount: 5}}]\n",
    )
    .unwrap()
}

/// The peak resident memory of this process so far, in kB (Linux only).
fn peak_memory_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_one_second_cycle_runs_out_of_budget_quickly_with_a_clear_error() {
    let catalog = arrears::spec::compile(&blinking_spec())
        .unwrap_or_else(|d| panic!("the blinking spec is lint-clean:\n{d}"));
    let history = thirty_days();
    let started = Instant::now();
    let err = arrears::model::run(&catalog, &history, &[]).unwrap_err();
    let took = started.elapsed();
    // 2 accounts and resources plus 1 event.
    let limit = WORK_BASE + 3 * WORK_PER_ITEM;
    assert!(
        matches!(err, ModelError::Budget { limit: l, .. } if l == limit),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "failed to run the history: more than {limit} steps of work by 2026-01-0"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "; lifecycle `mini.instance` transitions `running`→`stopped` (blink-off), \
             `stopped`→`running` (blink-on) cycle faster than the history can hold — check \
             the spec's timed transitions"
        ),
        "{text}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    if let Some(kb) = peak_memory_kb() {
        assert!(kb < 512 * 1024, "peak memory {kb} kB");
    }
}

#[test]
fn the_same_cycle_under_serve_stops_at_the_budget_too() {
    // Driven step by step (as `arrears serve` drives it), the budget holds.
    let catalog = arrears::spec::compile(&blinking_spec()).unwrap();
    let history = thirty_days();
    let mut model = Model::new(&catalog, &history).unwrap();
    let err = model
        .advance_to(history.end().at(history.start))
        .unwrap_err();
    assert!(matches!(err, ModelError::Budget { .. }), "{err:?}");
}

fn catalog() -> Catalog {
    arrears::spec::compile(&arrears::spec::sources::embedded()).unwrap()
}

/// The work a history takes, and its budget.
fn work(catalog: &Catalog, history: &History) -> (u64, u64) {
    let mut model = Model::new(catalog, history).unwrap();
    for e in &history.events {
        model.apply(e).unwrap();
    }
    model.advance_to(history.end().at(history.start)).unwrap();
    model.work()
}

#[test]
fn realistic_histories_use_a_tiny_part_of_the_budget() {
    // The budget is a safety limit: the shipped examples and generated
    // histories (four times the usual number of steps) need well under 1%.
    let catalog = catalog();
    let examples = arrears::examples::read_dir(&manifest().join("specs/examples")).unwrap();
    assert!(examples.len() > 50);
    for (name, example) in &examples {
        let (used, budget) = work(&catalog, &example.history);
        assert!(used * 100 < budget, "{name}: {used} of {budget}");
    }
    let mut config = arrears::generate::GenConfig::all(&catalog);
    config.max_steps *= 4;
    let strategy = arrears::generate::scenarios(&catalog, &config);
    let mut runner = TestRunner::new_with_rng(
        common::proptest_config(1),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let mut most = 0;
    for _ in 0..500 {
        let scenario = strategy.new_tree(&mut runner).unwrap().current();
        let (used, budget) = work(&catalog, &scenario.history);
        assert!(
            used * 100 < budget,
            "{used} of {budget}:\n{}",
            scenario.history.to_yaml()
        );
        most = most.max(used);
    }
    assert!(most > 20, "the generated histories did some work ({most})");
}
