//! Money never wraps around: a history whose amounts could overflow a
//! balance is rejected with a located error, the model's arithmetic is
//! checked even on input nobody validated, and `arrears serve` checks what
//! it is sent as a history file is checked.
//!
//! The property: random sequences of money events, with amounts anywhere
//! in i64, either validate and then run to a trace whose balances equal the
//! exact (i128) sum of what came in and went out, or are rejected with an
//! error naming the event or account. Driven without validation, the model
//! either agrees with the same exact sums or fails with an error: never a
//! wrapped balance, never a panic.

mod common;

use std::process::Command;

use chrono::TimeDelta;
use proptest::prelude::*;

use arrears::history::{
    AccountDef, Event, History, MAX_ACCOUNT_TOTAL, MAX_AMOUNT, Offset, ResourceDef, Term,
};
use arrears::model::{Model, ModelError};
use arrears::observation::{Outcome, Trace, TraceEvent};
use arrears::protocol::{ModelImplementation, serve};
use arrears::spec::{BillingMethod, Catalog};

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        arrears::spec::compile(&arrears::spec::sources::embedded()).expect("shipped specs compile")
    })
}

/// A pay-as-you-go resource of `product` (ECS fails a deduction it cannot
/// cover; EMR overdraws the cash balance).
fn payg(id: &str, product: &str, kind: &str) -> ResourceDef {
    ResourceDef {
        id: id.to_string(),
        account: "a-1".to_string(),
        product: product.to_string(),
        kind: kind.to_string(),
        billing: BillingMethod::PayAsYouGo,
        parent: None,
        hourly_price: None,
        purchased_at: None,
        term: None,
        paid_cash: 0,
        paid_voucher: 0,
        auto_release_at: None,
        associated_with: None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Money {
    TopUp(i64),
    Voucher(i64),
    /// A charge to the ECS instance (false) or the EMR cluster (true).
    Charge(bool, i64),
    /// The purchase of a Spark workspace (a 30-day quota) at this price.
    Buy(i64),
    /// The unsubscription of the last workspace bought: a refund.
    Unsubscribe,
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(0),
        Just(MAX_AMOUNT),
        Just(i64::MAX),
        Just(i64::MIN),
        -5i64..5,
        0..=MAX_AMOUNT,
        (MAX_AMOUNT - 2)..=(MAX_AMOUNT + 2),
    ]
}

fn money() -> impl Strategy<Value = Money> {
    prop_oneof![
        amount().prop_map(Money::TopUp),
        amount().prop_map(Money::Voucher),
        (any::<bool>(), amount()).prop_map(|(emr, a)| Money::Charge(emr, a)),
        amount().prop_map(Money::Buy),
        Just(Money::Unsubscribe),
    ]
}

/// Enough large top-ups to cross the account's bound on money in.
fn flood() -> impl Strategy<Value = Vec<Money>> {
    (990usize..1010).prop_map(|n| vec![Money::TopUp(MAX_AMOUNT); n])
}

fn history(cash: i64, vouchers: i64, steps: &[Money]) -> History {
    let mut bought = None;
    let events = steps
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let at = Offset(TimeDelta::hours(i as i64));
            Some(match *m {
                Money::TopUp(amount) => Event::TopUp {
                    at,
                    account: "a-1".into(),
                    amount,
                },
                Money::Voucher(amount) => Event::GrantVoucher {
                    at,
                    account: "a-1".into(),
                    amount,
                },
                Money::Charge(emr, amount) => Event::Charge {
                    at,
                    resource: if emr { "c-1" } else { "i-1" }.into(),
                    amount: Some(amount),
                    hours: None,
                },
                Money::Buy(price) => {
                    let id = format!("w-{i}");
                    bought = Some(id.clone());
                    let mut workspace = payg(&id, "spark", "workspace");
                    workspace.account = String::new();
                    workspace.billing = BillingMethod::Subscription;
                    workspace.term = Some(Term::Fixed(TimeDelta::days(30)));
                    Event::Purchase {
                        at,
                        account: "a-1".into(),
                        resource: Box::new(workspace),
                        price,
                    }
                }
                Money::Unsubscribe => Event::Operate {
                    at,
                    resource: bought.take()?,
                    operation: "unsubscribe".into(),
                },
            })
        })
        .collect();
    History {
        start: "2026-01-01T00:00:00Z".parse().unwrap(),
        until: Some(Offset(TimeDelta::days(60))),
        accounts: vec![AccountDef {
            id: "a-1".into(),
            cash,
            vouchers,
            credit_alert: None,
        }],
        resources: vec![
            payg("i-1", "ecs", "instance"),
            payg("c-1", "emr", "cluster"),
        ],
        events,
        observe: Vec::new(),
    }
}

/// The history driven through the model step by step, without validation.
fn drive_unvalidated(catalog: &Catalog, history: &History) -> Result<Trace, ModelError> {
    let mut model = Model::new(catalog, history)?;
    for e in &history.events {
        model.apply(e)?;
    }
    model.advance_to(history.end().at(history.start))?;
    let observation = model.observe();
    Ok(Trace {
        events: model.take_events(),
        observations: vec![observation],
    })
}

/// The ledger identity, in exact arithmetic: the final available credit is
/// what the account started with, plus every top-up and voucher of the
/// history and every refund, minus every deduction that took money (paid or
/// overdrawn) and every payment; each payment is its purchase's price, each
/// refund at most the cash paid.
fn check_balances(history: &History, trace: &Trace) -> Result<(), TestCaseError> {
    let a = &history.accounts[0];
    let mut expected = i128::from(a.cash) + i128::from(a.vouchers);
    let mut top_ups = Vec::new();
    let mut prices = std::collections::HashMap::new();
    for e in &history.events {
        match e {
            Event::TopUp { amount, .. } => {
                expected += i128::from(*amount);
                top_ups.push(*amount);
            }
            Event::GrantVoucher { amount, .. } => expected += i128::from(*amount),
            Event::Purchase {
                resource, price, ..
            } => {
                prices.insert(resource.id.clone(), *price);
            }
            _ => {}
        }
    }
    let mut logged_top_ups = Vec::new();
    let mut paid = std::collections::HashMap::new();
    for e in &trace.events {
        match e {
            TraceEvent::Deduction {
                amount,
                outcome: Outcome::Paid | Outcome::Overdrawn,
                ..
            } => {
                expected -= i128::from(*amount);
            }
            TraceEvent::TopUp { amount, .. } => logged_top_ups.push(*amount),
            TraceEvent::Payment {
                resource,
                cash,
                vouchers,
                ..
            } => {
                prop_assert!(*cash >= 0 && *vouchers >= 0);
                let payment = i128::from(*cash) + i128::from(*vouchers);
                prop_assert_eq!(
                    Some(payment),
                    prices.get(resource.as_str()).map(|p| i128::from(*p))
                );
                paid.insert(resource.clone(), *cash);
                expected -= payment;
            }
            TraceEvent::Refund {
                resource, amount, ..
            } => {
                prop_assert!(
                    *amount >= 0 && Some(amount) <= paid.get(resource),
                    "{:?}",
                    e
                );
                expected += i128::from(*amount);
            }
            _ => {}
        }
    }
    prop_assert_eq!(&logged_top_ups, &top_ups);
    let last = trace
        .observations
        .last()
        .expect("an observation at the end");
    let account = &last.accounts[0];
    prop_assert_eq!(
        i128::from(account.cash) + i128::from(account.vouchers),
        expected
    );
    prop_assert_eq!(i128::from(account.available_credit), expected);
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(256))]

    #[test]
    fn money_is_exact_or_rejected_with_a_located_error(
        cash in amount(),
        vouchers in amount(),
        steps in prop_oneof![
            3 => prop::collection::vec(money(), 0..24),
            1 => flood(),
        ],
    ) {
        let catalog = catalog();
        let history = history(cash, vouchers, &steps);
        let end = history.end();
        match history.validate(catalog) {
            Ok(_) => {
                let trace = arrears::model::run(catalog, &history, &[end])
                    .map_err(|e| TestCaseError::fail(format!("a valid history failed: {e}")))?;
                check_balances(&history, &trace)?;
            }
            Err(e) => {
                prop_assert!(
                    e.place.starts_with("events[") || e.place.starts_with("accounts[0]"),
                    "not located: {}", e
                );
                prop_assert!(
                    e.message.contains("between 0 and") || e.message.contains(&MAX_ACCOUNT_TOTAL.to_string()),
                    "{}", e
                );
            }
        }
        // Unvalidated, the model agrees with exact arithmetic or says why not.
        match drive_unvalidated(catalog, &history) {
            Ok(trace) => check_balances(&history, &trace)?,
            Err(ModelError::Money { account, .. }) => prop_assert_eq!(account, "a-1"),
            Err(ModelError::History(e)) => {
                prop_assert!(e.message.contains("must not be negative"), "{}", e);
            }
            Err(e) => prop_assert!(false, "unexpected error: {}", e),
        }
    }
}

#[test]
fn nine_thousand_top_ups_of_the_largest_amount_are_rejected_where_they_cross_the_bound() {
    // Each top-up is within MAX_AMOUNT; together they used to wrap the cash
    // balance around, so a bill failed for lack of credit: a wrong verdict.
    let steps = vec![Money::TopUp(MAX_AMOUNT); 9_300];
    let history = history(0, 0, &steps);
    let err = history.validate(catalog()).unwrap_err();
    assert_eq!(err.place, "events[1000] (top_up at +41d16h)");
    assert!(
        err.message
            .starts_with("account `a-1` would take in more than 1000000000000000000 minor units"),
        "{err}"
    );
    let err = arrears::model::run(catalog(), &history, &[]).unwrap_err();
    assert!(err.to_string().starts_with("events[1000]"), "{err}");
}

#[test]
fn the_cli_exits_2_naming_the_event() {
    let steps = vec![Money::TopUp(MAX_AMOUNT); 1_001];
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), history(0, 0, &steps).to_yaml()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arrears"))
        .arg("timeline")
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("events[1000] (top_up at +41d16h): account `a-1` would take in more than"),
        "{stderr}"
    );
}

#[test]
fn the_model_fails_rather_than_wrapping_on_unvalidated_input() {
    let steps = [Money::TopUp(i64::MAX), Money::TopUp(1)];
    let err = drive_unvalidated(catalog(), &history(0, 0, &steps)).unwrap_err();
    assert!(matches!(err, ModelError::Money { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "failed to run the history: a top-up of 1 minor units at 2026-01-01 01:00:00 UTC \
             would take the balances of account `a-1` beyond what 64-bit minor units hold; keep \
             each account's money in and out under {MAX_ACCOUNT_TOTAL} minor units, as a valid \
             history does"
        )
    );
    // Cash and vouchers may each fit while their sum does not.
    let err = drive_unvalidated(catalog(), &history(i64::MAX, i64::MAX, &[])).unwrap_err();
    assert!(matches!(err, ModelError::Money { .. }), "{err:?}");
    // An overdraw past the bottom of the range.
    let steps = [Money::Charge(true, i64::MAX), Money::Charge(true, i64::MAX)];
    let err = drive_unvalidated(catalog(), &history(-5, 0, &steps)).unwrap_err();
    assert!(err.to_string().contains("a deduction of"), "{err}");
}

/// Serves `requests` (JSON lines) with the reference model; the replies.
fn served(requests: &[String]) -> Vec<serde_json::Value> {
    let catalog = catalog();
    let mut implementation = ModelImplementation::new(catalog);
    let input = requests.join("\n");
    let mut output = Vec::new();
    serve(&mut implementation, input.as_bytes(), &mut output).unwrap();
    String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn load(cash: i64) -> String {
    serde_json::json!({
        "id": 1, "type": "load",
        "history": {
            "start": "2026-01-01T00:00:00Z",
            "accounts": [{"id": "a-1", "cash": cash}],
            "resources": [{"id": "i-1", "account": "a-1", "product": "ecs", "kind": "instance", "billing": "pay-as-you-go"}],
        }
    })
    .to_string()
}

fn apply(id: u64, event: serde_json::Value) -> String {
    let at = "2026-01-02T00:00:00Z";
    serde_json::json!({"id": id, "type": "apply", "at": at, "event": event}).to_string()
}

#[test]
fn serve_rejects_negative_and_extreme_amounts_naming_the_field() {
    let top_up = |amount: i64| serde_json::json!({"top_up": {"at": "+1d", "account": "a-1", "amount": amount}});
    let replies = served(&[
        load(0),
        apply(2, top_up(-5)),
        apply(3, top_up(i64::MAX)),
        apply(
            4,
            serde_json::json!({"charge": {"at": "+1d", "resource": "i-1", "amount": -1}}),
        ),
        apply(5, top_up(100)),
        serde_json::json!({"id": 6, "type": "observe"}).to_string(),
    ]);
    assert_eq!(replies[0]["type"], "ok", "{:?}", replies[0]);
    for (reply, needle) in [
        (
            &replies[1],
            "events[0] (top_up at +1d): amount must be between 0 and",
        ),
        (
            &replies[2],
            "events[1] (top_up at +1d): amount must be between 0 and",
        ),
        (
            &replies[3],
            "events[2] (charge at +1d): amount must be between 0 and",
        ),
    ] {
        assert_eq!(reply["type"], "error", "{reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(
            message.starts_with("failed to apply the event: "),
            "{message}"
        );
        assert!(message.contains(needle), "{message}");
    }
    // Rejected events change nothing; a good one still applies.
    assert_eq!(replies[4]["type"], "ok", "{}", replies[4]);
    assert_eq!(replies[5]["observation"]["accounts"][0]["cash"], 100);
}

#[test]
fn serve_rejects_a_start_and_a_total_a_history_file_may_not_have() {
    let replies = served(&[load(-1)]);
    assert_eq!(replies[0]["type"], "error");
    assert!(
        replies[0]["message"]
            .as_str()
            .unwrap()
            .contains("accounts[0] (a-1): cash must be between 0 and"),
        "{}",
        replies[0]
    );
    let mut requests = vec![load(0)];
    for i in 0..1_001 {
        requests.push(apply(
            i + 2,
            serde_json::json!({"top_up": {"at": "+1d", "account": "a-1", "amount": MAX_AMOUNT}}),
        ));
    }
    let replies = served(&requests);
    assert!(replies[1..1_000].iter().all(|r| r["type"] == "ok"));
    let last = &replies[1_001];
    assert_eq!(last["type"], "error");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("events[1000] (top_up at +1d): account `a-1` would take in more than"),
        "{last}"
    );
}

#[test]
fn the_ledger_identity_covers_payments_and_refunds() {
    // The property's identity is only worth something if its cases reach
    // payments and refunds: one that does, by hand.
    let steps = [
        Money::TopUp(1_000),
        Money::Buy(300),
        Money::Charge(true, 50),
        Money::Unsubscribe,
    ];
    let history = history(0, 0, &steps);
    history.validate(catalog()).unwrap();
    let trace = arrears::model::run(catalog(), &history, &[history.end()]).unwrap();
    let refunds: Vec<i64> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Refund { amount, .. } => Some(*amount),
            _ => None,
        })
        .collect();
    assert_eq!(refunds.len(), 1, "{:?}", trace.events);
    assert!(refunds[0] > 0 && refunds[0] <= 300);
    check_balances(&history, &trace).unwrap();
    assert_eq!(
        trace.observations[0].accounts[0].available_credit,
        1_000 - 300 - 50 + refunds[0]
    );
}
