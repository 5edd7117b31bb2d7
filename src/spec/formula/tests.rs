//! The formula tests: parsing, printing, evaluation over exact rationals
//! and rounding, and the properties that tie them together.

use super::*;
use proptest::prelude::*;

fn inputs(paid_cash: i64, used: i64, term: i64) -> Inputs {
    Inputs {
        paid_cash,
        paid_voucher: 0,
        used_seconds: used,
        term_seconds: term,
    }
}

#[test]
fn prorated_refund_is_exact_then_rounded_once() {
    let f = parse("paid_cash - used * paid_cash / term").unwrap();
    // 1000 paid, one third used: 666.66.. remains.
    let i = inputs(1000, 10, 30);
    assert_eq!(f.eval_rounded(&i, Rounding::Floor).unwrap(), 666);
    assert_eq!(f.eval_rounded(&i, Rounding::Ceil).unwrap(), 667);
    assert_eq!(f.eval_rounded(&i, Rounding::HalfUp).unwrap(), 667);
}

#[test]
fn half_even_rounds_ties_to_even() {
    let f = parse("paid_cash / 2").unwrap();
    assert_eq!(
        f.eval_rounded(&inputs(5, 0, 1), Rounding::HalfEven)
            .unwrap(),
        2
    );
    assert_eq!(
        f.eval_rounded(&inputs(7, 0, 1), Rounding::HalfEven)
            .unwrap(),
        4
    );
    assert_eq!(
        f.eval_rounded(&inputs(-5, 0, 1), Rounding::HalfEven)
            .unwrap(),
        -2
    );
    assert_eq!(
        f.eval_rounded(&inputs(-5, 0, 1), Rounding::Floor).unwrap(),
        -3
    );
}

#[test]
fn errors_are_reported_not_panicked() {
    let f = parse("paid_cash / term").unwrap();
    assert_eq!(f.eval(&inputs(1, 0, 0)), Err(EvalError::DivisionByZero));
    let big = parse("paid_cash * paid_cash * paid_cash").unwrap();
    assert_eq!(big.eval(&inputs(i64::MAX, 0, 1)), Err(EvalError::Overflow));
    assert!(parse("paid_cash +").unwrap_err().message.contains("ends"));
    assert!(parse("cash").unwrap_err().message.contains("unknown name"));
    assert_eq!(parse("(paid_cash").unwrap_err().message, "missing `)`");
    assert_eq!(parse("1 $ 2").unwrap_err().offset, 2);
    assert!(parse(&"(".repeat(100)).is_err());
    // A long chain would make a tree as deep as it is long.
    let long = vec!["1"; 300_000].join("+");
    assert!(parse(&long).unwrap_err().message.contains("longer than"));
}

fn zero_divisors(text: &str) -> Vec<String> {
    parse(text)
        .unwrap()
        .zero_divisors()
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn divisors_that_are_always_zero_are_found() {
    assert_eq!(zero_divisors("paid_cash / 0"), ["0"]);
    assert_eq!(zero_divisors("paid_cash / (term - term)"), ["term - term"]);
    assert_eq!(
        zero_divisors("used / (2 * term - term - term)"),
        ["2 * term - term - term"]
    );
    assert_eq!(
        zero_divisors("used / ((term + used) * 3 - 3 * used - term * 3)"),
        ["(term + used) * 3 - 3 * used - term * 3"]
    );
    assert_eq!(
        zero_divisors("1 / (paid_cash / term - paid_cash / term)"),
        ["paid_cash / term - paid_cash / term"]
    );
    assert_eq!(
        zero_divisors("1 / (term * term - term * term)"),
        ["term * term - term * term"]
    );
    assert_eq!(zero_divisors("1 / (0 * used)"), ["0 * used"]);
    assert_eq!(
        zero_divisors("1 / (term / 2 - term / 2)"),
        ["term / 2 - term / 2"]
    );
    // Not always zero: these divide by something that can be nonzero.
    for fine in [
        "paid_cash - used * paid_cash / term",
        "paid_cash / (term - used)",
        "paid_cash / (term * term - used * used)",
        "paid_cash / (2 * term - term)",
        "paid_cash / (1 / term)",
        "paid_cash / -(term - 1)",
    ] {
        assert_eq!(zero_divisors(fine), Vec::<String>::new(), "{fine}");
    }
}

#[test]
fn normalising_a_huge_divisor_gives_up_instead_of_growing() {
    // (a + b + c + d)^15 has 816 terms: past the bound, normalising
    // gives up (the divisor is not reported) instead of growing.
    let product = vec!["(paid_cash + paid_voucher + used + term)"; 15].join(" * ");
    let f = parse(&format!("1 / ({product} - {product})")).unwrap();
    assert!(f.zero_divisors().is_empty());
    let f = parse(&format!(
        "1 / ({p} - {p})",
        p = vec!["term"; 100].join(" * ")
    ))
    .unwrap();
    assert!(f.zero_divisors().is_empty());
}

#[test]
fn formulas_print_as_they_read() {
    for text in [
        "paid_cash - used * paid_cash / term",
        "(paid_cash - used) * term",
        "paid_cash - (used - term)",
        "paid_cash / (used * term)",
        "-(paid_cash + 1) * 2",
        "-paid_cash",
    ] {
        let e = parse(text).unwrap();
        assert_eq!(e.to_string(), text);
        assert_eq!(parse(&e.to_string()).unwrap(), e);
    }
}

proptest! {
    #![proptest_config(crate::testing::proptest_config(256))]

    #[test]
    fn printed_formulas_read_back(text in "[-+*/() 0-9a-z_]{0,40}") {
        if let Ok(expr) = parse(&text) {
            prop_assert_eq!(parse(&expr.to_string()), Ok(expr));
        }
    }

    #[test]
    fn a_divisor_reported_zero_is_zero_on_every_input(text in "[-+*/() 0-9a-z_]{0,40}",
                                       cash in -1000i64..1000, used in -1000i64..1000, term in -1000i64..1000) {
        if let Ok(expr) = parse(&text) {
            for d in expr.zero_divisors() {
                let value = d.eval(&inputs(cash, used, term));
                prop_assert!(
                    matches!(value, Err(_) | Ok(Ratio { num: 0, .. })),
                    "{} is {:?}", d, value
                );
            }
        }
    }

    #[test]
    fn parser_and_evaluator_never_panic(text in "[-+*/() 0-9a-z_]{0,40}",
                                       cash in any::<i64>(), used in any::<i64>(), term in any::<i64>()) {
        if let Ok(expr) = parse(&text) {
            let _ = expr.eval_rounded(&inputs(cash, used, term), Rounding::HalfEven);
        }
    }

    #[test]
    fn refund_stays_within_paid_amount(paid in 0i64..1_000_000_000, term in 1i64..100_000_000, used_frac in 0u32..=1000) {
        let used = term * used_frac as i64 / 1000;
        let f = parse("paid_cash - used * paid_cash / term").unwrap();
        for mode in [Rounding::Floor, Rounding::Ceil, Rounding::HalfUp, Rounding::HalfEven] {
            let r = f.eval_rounded(&inputs(paid, used, term), mode).unwrap();
            prop_assert!((0..=paid).contains(&r));
        }
    }
}
