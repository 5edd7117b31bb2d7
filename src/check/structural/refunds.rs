//! The refund-formula check: each refund equals its formula on the inputs
//! the history implies, within [0, cash paid], and that formula is one a
//! transition of the resource's lifecycle refunds with at that point of its
//! term under the reading.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::check::{TraceIndex, Violation, violation};
use crate::history::Event;
use crate::observation::TraceEvent;
use crate::spec::formula::{Inputs, Rounding};
use crate::spec::{Catalog, FormulaDef, InvariantDef, ParamValue};

/// The refund inputs the history and the trace's payments imply.
fn implied_inputs(index: &TraceIndex<'_>, resource: &str, at: DateTime<Utc>) -> Option<Inputs> {
    let history = index.history;
    let (def, purchased_at) = history
        .resources
        .iter()
        .find(|r| r.id == resource)
        .map(|r| (r, r.purchased_at.unwrap_or_default().at(history.start)))
        .or_else(|| {
            history.events.iter().find_map(|e| match e {
                Event::Purchase {
                    resource: r, at, ..
                } if r.id == resource => Some((&**r, at.at(history.start))),
                _ => None,
            })
        })?;
    let mut inputs = Inputs {
        paid_cash: def.paid_cash,
        paid_voucher: def.paid_voucher,
        used_seconds: (at - purchased_at).num_seconds(),
        term_seconds: def
            .term
            .map(|t| t.length_from(purchased_at).num_seconds())
            .unwrap_or(0),
    };
    // A renewal in months is as long as the months it adds to the expiry
    // then in force.
    let mut expiry = def.term.and_then(|t| t.end(purchased_at));
    let renew_terms: HashMap<DateTime<Utc>, crate::history::Term> = history
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Renew {
                resource: r,
                at,
                term,
                ..
            } if r == resource => Some((at.at(history.start), *term)),
            _ => None,
        })
        .collect();
    for e in &index.trace.events {
        if let TraceEvent::Payment {
            resource: r,
            at: paid_at,
            operation,
            cash,
            vouchers,
            ..
        } = e
            && r == resource
            && *paid_at <= at
        {
            // A trace's amounts come from the implementation: sums that
            // overflow mean no inputs can be implied.
            inputs.paid_cash = inputs.paid_cash.checked_add(*cash)?;
            inputs.paid_voucher = inputs.paid_voucher.checked_add(*vouchers)?;
            if operation == "renew" {
                let (Some(term), Some(old)) = (renew_terms.get(paid_at), expiry) else {
                    continue;
                };
                let renewed = term.end(old)?;
                expiry = Some(renewed);
                let seconds = (renewed - old).num_seconds();
                inputs.term_seconds = inputs.term_seconds.checked_add(seconds)?;
            }
        }
    }
    Some(inputs)
}

/// Whether a transition of `lifecycle` refunds with `formula` when
/// `used_seconds` have passed since the purchase, as far as the guards a
/// refund can be judged by say (the reading's parameters, a window since
/// the purchase); `None` without a lifecycle to ask.
fn refundable_by(
    params: &Catalog,
    lifecycle: Option<crate::spec::LifecycleId>,
    formula: &str,
    used_seconds: i64,
) -> Option<bool> {
    use crate::spec::{Anchor, Effect, Guard};
    let lc = params.lifecycle(lifecycle?);
    Some(lc.transitions.iter().any(|t| {
        t.effects
            .iter()
            .any(|e| matches!(e, Effect::Refund(f) if params.formulas[f.index()].id == formula))
            && t.guards.iter().all(|g| match g {
                Guard::Param { param, equals } => params.value(*param) == equals,
                Guard::Within {
                    duration,
                    since: Anchor::Purchase,
                } => used_seconds < params.duration(duration).num_seconds(),
                _ => true,
            })
    }))
}

pub(super) fn refunds(
    judge: &Catalog,
    params: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
) -> (bool, Option<Violation>) {
    let mut exercised = false;
    for subject in index.subjects(&inv.subjects) {
        let resource = index.resource_id(subject);
        for e in index.logged(subject) {
            let TraceEvent::Refund { at, .. } = e else {
                continue;
            };
            exercised = true;
            let fail =
                |message: String| Some(violation(inv, judge, Some(resource), *at, message, None));
            if let Some(message) = refund_fault(params, index, subject, e) {
                return (true, fail(message));
            }
        }
    }
    (exercised, None)
}

/// What is wrong with one refund of `subject`'s log, if anything: an
/// unknown formula, a formula no transition refunds with then, inputs other
/// than the history implies, or an amount outside [0, cash paid] or other
/// than its formula gives. `None` also where the inputs or the formula have
/// no value to judge by.
fn refund_fault(
    params: &Catalog,
    index: &TraceIndex<'_>,
    subject: usize,
    refund: &TraceEvent,
) -> Option<String> {
    let TraceEvent::Refund {
        at,
        amount,
        formula,
        paid_cash,
        paid_voucher,
        used_seconds,
        term_seconds,
        ..
    } = refund
    else {
        return None;
    };
    let resource = index.resource_id(subject);
    let Some(def) = params.formulas.iter().find(|f| f.id == *formula) else {
        return Some(format!("refund by unknown formula {formula}"));
    };
    let inputs = implied_inputs(index, resource, *at)?;
    let reported = Inputs {
        paid_cash: *paid_cash,
        paid_voucher: *paid_voucher,
        used_seconds: *used_seconds,
        term_seconds: *term_seconds,
    };
    // The formula must be one a transition of the resource's
    // lifecycle refunds with at that point of its term, under this
    // reading: a plan's full refund after its window, named by its
    // own formula, is still a refund the document does not give.
    if let Some(refundable) = refundable_by(
        params,
        index.lifecycle(subject),
        formula,
        inputs.used_seconds,
    ) && !refundable
    {
        return Some(format!(
            "refund by {formula} {}s after purchase, which no transition refunds with then under this reading",
            inputs.used_seconds
        ));
    }
    if reported != inputs {
        return Some(format!(
            "refund computed on paid cash {}, vouchers {}, used {}s of {}s; the history implies {}, {}, {}s of {}s",
            paid_cash,
            paid_voucher,
            used_seconds,
            term_seconds,
            inputs.paid_cash,
            inputs.paid_voucher,
            inputs.used_seconds,
            inputs.term_seconds
        ));
    }
    let expected = formula_refund(params, def, &inputs)?;
    if *amount < 0 || *amount > inputs.paid_cash {
        return Some(format!(
            "refund of {amount} outside [0, cash paid {}]",
            inputs.paid_cash
        ));
    }
    if *amount != expected {
        return Some(format!(
            "refund of {amount}, but {} gives {expected}",
            def.text
        ));
    }
    None
}

/// The refund `def` gives on `inputs`, rounded as the reading says and
/// held within its bounds. A formula without a value on these inputs (a
/// division by zero, an overflow) cannot say what the refund should be: no
/// verdict rather than a guessed 0. (The model fails on such a history
/// instead of refunding.)
fn formula_refund(params: &Catalog, def: &FormulaDef, inputs: &Inputs) -> Option<i64> {
    let mode = match params.value(def.rounding) {
        ParamValue::Choice(c) => Rounding::from_name(c).unwrap_or(Rounding::Floor),
        _ => Rounding::Floor,
    };
    let eval = |e: &crate::spec::formula::Expr| e.eval_rounded(inputs, mode).ok();
    let mut expected = eval(&def.expression)?;
    if let Some(lo) = &def.at_least {
        expected = expected.max(eval(lo)?);
    }
    if let Some(hi) = &def.at_most {
        expected = expected.min(eval(hi)?);
    }
    Some(expected)
}
