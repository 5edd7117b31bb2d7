//! A trace told as a story: one line per thing that happened, in the words
//! a person uses ("day 15 00:00  instance i-1 stopped: stops serving,
//! billing ceased [ecs.payg.stop-at-t15]").
//!
//! The timeline reads only the trace and the specs (for the capabilities of
//! each state), so it tells what any implementation's trace says, not only
//! the model's.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::observation::{AttemptCause, Name, Outcome, Trace, TraceEvent};
use crate::spec::{BillingStatus, Catalog, Data, Serving};

/// One line of a timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// Offset from the start, such as `+15d`.
    pub offset: String,
    /// The resource (or account) the line is about.
    pub subject: String,
    pub text: String,
    pub rule: Option<String>,
}

/// "day 15 03:00" for an instant.
pub fn day_label(start: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let d = at - start;
    let secs = d.num_seconds();
    let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let days = secs / 86_400;
    let rem = secs % 86_400;
    if rem % 60 == 0 {
        format!("day {sign}{days} {:02}:{:02}", rem / 3600, (rem / 60) % 60)
    } else {
        format!(
            "day {sign}{days} {:02}:{:02}:{:02}",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }
}

fn kind_of<'a>(catalog: &'a Catalog, lifecycle: &str) -> &'a str {
    catalog
        .lifecycle_named(lifecycle)
        .map(|l| catalog.lifecycle(l).kind.as_str())
        .unwrap_or("resource")
}

/// What changes, in words, when a resource moves between two states.
fn changes(catalog: &Catalog, lifecycle: &str, from: &str, to: &str) -> Vec<&'static str> {
    let Some(lid) = catalog.lifecycle_named(lifecycle) else {
        return Vec::new();
    };
    let lc = catalog.lifecycle(lid);
    let (Some(f), Some(t)) = (lc.state_named(from), lc.state_named(to)) else {
        return Vec::new();
    };
    let (f, t) = (lc.state(f), lc.state(t));
    let mut out = Vec::new();
    match (f.serving, t.serving) {
        (Serving::Yes, Serving::No) => out.push("stops serving"),
        (Serving::No, Serving::Yes) => out.push("serves again"),
        _ => {}
    }
    if t.data == Data::Deleted && f.data != Data::Deleted {
        out.push("data deleted");
    }
    match (f.billing, t.billing) {
        (BillingStatus::Running, BillingStatus::Ceased) => out.push("billing ceased"),
        (BillingStatus::Ceased, BillingStatus::Running) => out.push("billing resumes"),
        _ => {}
    }
    let denied_now =
        |s: &crate::spec::State, op| s.operations.iter().any(|c| c.op == op && !c.allowed);
    for cap in &t.operations {
        if !cap.allowed && !denied_now(f, cap.op) && catalog.op_name(cap.op) != "start" {
            match catalog.op_name(cap.op) {
                "checkpoint" => out.push("checkpoints fail"),
                "snapshot" | "create-snapshot" => out.push("snapshots fail"),
                "access" => out.push("no access"),
                _ => {}
            }
        }
    }
    out.dedup();
    out
}

fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    // unsigned_abs: i64::MIN has no positive i64 counterpart.
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// The timeline of a trace.
pub fn entries(catalog: &Catalog, start: DateTime<Utc>, trace: &Trace) -> Vec<Entry> {
    trace
        .events
        .iter()
        .map(|e| {
            let (subject, text, rule) = describe(catalog, e);
            let rule = rule.filter(|r| !r.is_empty()).or_else(|| match e {
                TraceEvent::Refund { rule, .. } => Some(rule.clone()),
                _ => None,
            });
            Entry {
                at: e.at(),
                offset: crate::history::Offset::between(start, e.at()).to_string(),
                subject: subject.to_string(),
                text,
                rule: rule.map(|r| r.to_string()),
            }
        })
        .collect()
}

/// An event's subject (its resource, or its account), its line of text,
/// and the rule it cites. Longer than most functions: one declarative arm
/// per kind of event.
fn describe(catalog: &Catalog, e: &TraceEvent) -> (Name, String, Option<Name>) {
    match e {
        TraceEvent::Charge {
            resource,
            bill,
            amount,
            ..
        } => (
            resource.clone(),
            match bill {
                Some(b) => {
                    format!("bill {b} of {} issued (settlement date T)", money(*amount))
                }
                None => format!("consumption of {} recorded", money(*amount)),
            },
            None,
        ),
        TraceEvent::ChargeSkipped {
            resource,
            amount,
            rule,
            ..
        } => (
            resource.clone(),
            format!(
                "charge of {} not billed: billing has ceased",
                money(*amount)
            ),
            Some(rule.clone()),
        ),
        TraceEvent::Deduction {
            resource,
            bill,
            amount,
            attempt,
            cause,
            outcome,
            rule,
            ..
        } => (
            resource.clone(),
            deduction_text(bill, *amount, *attempt, *cause, *outcome),
            Some(rule.clone()),
        ),
        TraceEvent::BillSettled { resource, bill, .. } => (
            resource.clone(),
            format!("bill {bill} settled, no longer overdue"),
            None,
        ),
        TraceEvent::TopUp {
            account, amount, ..
        } => (
            account.clone(),
            format!("top-up of {}", money(*amount)),
            None,
        ),
        TraceEvent::VoucherGranted {
            account, amount, ..
        } => (
            account.clone(),
            format!("voucher of {} granted", money(*amount)),
            None,
        ),
        TraceEvent::Payment {
            resource,
            operation,
            cash,
            vouchers,
            ..
        } => (
            resource.clone(),
            format!(
                "{operation} paid: {} cash, {} vouchers",
                money(*cash),
                money(*vouchers)
            ),
            None,
        ),
        TraceEvent::Transition {
            resource,
            lifecycle,
            from,
            to,
            rule,
            ..
        } => (
            resource.clone(),
            transition_text(catalog, resource, lifecycle, from, to),
            Some(rule.clone()),
        ),
        TraceEvent::Notification {
            account,
            resource,
            notification,
            rule,
            ..
        } => (
            resource.clone().unwrap_or_else(|| account.clone()),
            format!("notification {notification} sent to {account}"),
            Some(rule.clone()),
        ),
        TraceEvent::Operation {
            resource,
            operation,
            allowed,
            rule,
            reason,
            ..
        } => (
            resource.clone(),
            if *allowed {
                format!("{operation} allowed")
            } else {
                format!("{operation} denied: {}", reason.clone().unwrap_or_default())
            },
            rule.clone(),
        ),
        TraceEvent::Refund {
            resource,
            amount,
            paid_cash,
            ..
        } => (
            resource.clone(),
            format!(
                "refund of {} (of {} cash paid)",
                money(*amount),
                money(*paid_cash)
            ),
            None,
        ),
    }
}

/// How a deduction attempt reads: what made it and how it went.
fn deduction_text(
    bill: &str,
    amount: i64,
    attempt: u32,
    cause: AttemptCause,
    outcome: Outcome,
) -> String {
    let how = match cause {
        AttemptCause::Scheduled => format!("deduction attempt {attempt}"),
        AttemptCause::PayNow => "pay-now".to_string(),
        AttemptCause::TopUp => "settlement on top-up".to_string(),
    };
    let result = match outcome {
        Outcome::Paid => "paid",
        Outcome::Failed => "failed: available credit too low",
        Outcome::Overdrawn => "deducted into a negative balance",
    };
    format!("{how} of bill {bill} ({}) {result}", money(amount))
}

/// How a transition reads: the resource, its new state, what changed and
/// the state it left.
fn transition_text(
    catalog: &Catalog,
    resource: &str,
    lifecycle: &str,
    from: &str,
    to: &str,
) -> String {
    let kind = kind_of(catalog, lifecycle);
    let mut text = format!("{kind} {resource} {to}");
    let what = changes(catalog, lifecycle, from, to);
    if !what.is_empty() {
        text.push_str(&format!(", {}", what.join(", ")));
    }
    text.push_str(&format!(" (was {from})"));
    text
}

/// The timeline as text, one line per entry.
pub fn text(catalog: &Catalog, start: DateTime<Utc>, trace: &Trace) -> String {
    let entries = entries(catalog, start, trace);
    let width = entries
        .iter()
        .map(|e| day_label(start, e.at).len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for e in &entries {
        let label = day_label(start, e.at);
        out.push_str(&format!("{label:width$}  {}", e.text));
        if let Some(rule) = &e.rule {
            out.push_str(&format!(" [{rule}]"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn money_prints_every_amount_an_implementation_may_report() {
        assert_eq!(super::money(12_345), "123.45");
        assert_eq!(super::money(-5), "-0.05");
        assert_eq!(super::money(i64::MIN), "-92233720368547758.08");
        assert_eq!(super::money(i64::MAX), "92233720368547758.07");
    }
}
