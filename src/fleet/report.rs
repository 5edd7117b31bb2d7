//! A fleet result in words: the summary table `arrears fleet` prints.
//!
//! Everything here is computed from the [`FleetResult`] alone, so a merged
//! result prints the same table as one run; the timing line is the only
//! part that depends on the machine, and it is passed in.

use std::fmt::Write as _;

use super::FleetResult;
use super::tally::{Daily, Histogram, Tally};

/// Thousands separated by commas: `1,234,567`.
pub fn grouped(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn sum<T: Copy + Into<i128>>(series: &[T]) -> i128 {
    series.iter().map(|x| (*x).into()).sum()
}

/// The median and 90th percentile of a histogram of days, and its count.
fn percentiles(h: &Histogram) -> Option<(usize, usize, u64)> {
    let total: u64 = h.iter().sum();
    if total == 0 {
        return None;
    }
    let at = |fraction_num: u64, fraction_den: u64| {
        let rank = (total * fraction_num).div_ceil(fraction_den).max(1);
        let mut seen = 0;
        for (d, n) in h.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return d;
            }
        }
        h.len().saturating_sub(1)
    };
    Some((at(1, 2), at(9, 10), total))
}

/// The commands that write account `account`'s history and show its
/// timeline.
pub fn replay_command(result: &FleetResult, account: u64) -> String {
    let specs = result
        .specs_dir
        .as_ref()
        .map(|d| format!(" --specs {d}"))
        .unwrap_or_default();
    let mix = if result.mix_name == "default" {
        String::new()
    } else {
        format!(" --mix {}", result.mix_name)
    };
    format!(
        "arrears{specs} fleet --replay-account {account} --seed {} --days {}{mix} > account-{account}.yaml \\
      && arrears{specs} timeline account-{account}.yaml",
        result.seed, result.days
    )
}

/// How long a run took: for the last line, never for the result.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Wall-clock seconds.
    pub elapsed: f64,
    /// With an implementation under test: seconds spent in the model and
    /// in the implementation, summed over threads.
    pub model_and_sut: Option<(f64, f64)>,
}

/// The summary table; `timing` adds the timing line.
pub fn summary(result: &FleetResult, timing: Option<Timing>) -> String {
    let t = &result.tally;
    let mut out = String::new();
    header(&mut out, result);
    let mut rows = size_rows(t);
    rows.extend(outcome_rows(&t.daily));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    out.push('\n');
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<width$}  {v}");
    }
    overdue_durations(&mut out, t);
    resources_table(&mut out, result);
    invariants(&mut out, t);
    first_violations(&mut out, result);
    model_errors(&mut out, result);
    sut_comparison(&mut out, result);
    let verdict = verdict(t);
    let timing = timing_line(t, timing);
    let _ = writeln!(
        out,
        "\narrears fleet: {} accounts × {} days, {verdict}{timing}",
        grouped(i128::from(t.accounts)),
        result.days
    );
    out
}

/// The first lines: what was simulated (accounts, days, start, seed, shard,
/// mix) and how the accounts pay.
fn header(out: &mut String, result: &FleetResult) {
    let mix_name = &result.mix_name;
    let t = &result.tally;
    let shards = if result.shard_count > 1 {
        let list: Vec<String> = result.shards.iter().map(u32::to_string).collect();
        format!(", shard {} of {}", list.join("+"), result.shard_count)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "fleet: {} accounts over {} days from {}, seed {}{shards}, mix {mix_name}",
        grouped(i128::from(t.accounts)),
        result.days,
        result.start.format("%Y-%m-%d"),
        result.seed,
    );
    let payers: Vec<String> = t
        .payers
        .iter()
        .map(|(p, n)| format!("{p} {}", grouped(i128::from(*n))))
        .collect();
    let _ = writeln!(out, "payers: {}", payers.join(", "));
}

/// The table's rows on the fleet's size: resources and events, each also
/// per account.
fn size_rows(t: &Tally) -> Vec<(&'static str, String)> {
    let per_account = |n: u64| {
        if t.accounts == 0 {
            String::new()
        } else {
            format!(" ({:.1} per account)", n as f64 / t.accounts as f64)
        }
    };
    vec![
        (
            "resources",
            format!(
                "{}{}",
                grouped(i128::from(t.resources)),
                per_account(t.resources)
            ),
        ),
        (
            "history events",
            format!(
                "{}{}",
                grouped(i128::from(t.history_events)),
                per_account(t.history_events)
            ),
        ),
        (
            "trace events",
            format!(
                "{}{}",
                grouped(i128::from(t.trace_events)),
                per_account(t.trace_events)
            ),
        ),
    ]
}

/// The table's rows on what happened: fees, deductions, settlements, the
/// peak of overdue accounts, stops, releases, refunds, notifications and
/// operations.
fn outcome_rows(d: &Daily) -> Vec<(&'static str, String)> {
    let peak = d
        .accounts_overdue_at_day_end
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)));
    vec![
        (
            "fees charged",
            format!("{} minor units", grouped(sum(&d.fees_charged))),
        ),
        (
            "fees not charged",
            format!(
                "{} minor units (billing had ceased)",
                grouped(sum(&d.fees_not_charged))
            ),
        ),
        (
            "deductions",
            format!(
                "{} paid, {} failed, {} overdrawn",
                grouped(sum(&d.deductions_paid)),
                grouped(sum(&d.deductions_failed)),
                grouped(sum(&d.deductions_overdrawn))
            ),
        ),
        ("overdue bills settled", grouped(sum(&d.settlements))),
        (
            "peak overdue accounts",
            match peak {
                Some((day, n)) if *n > 0 => {
                    format!("{} at the end of day {day}", grouped(i128::from(*n)))
                }
                _ => "none".to_string(),
            },
        ),
        (
            "stops / restarts",
            format!("{} / {}", grouped(sum(&d.stops)), grouped(sum(&d.restarts))),
        ),
        ("releases", grouped(sum(&d.releases))),
        ("data deleted", grouped(sum(&d.data_deleted))),
        (
            "refunds",
            format!(
                "{} ({} minor units)",
                grouped(sum(&d.refunds)),
                grouped(sum(&d.refunded))
            ),
        ),
        ("notifications", grouped(sum(&d.notifications))),
        (
            "operations",
            format!(
                "{} allowed, {} refused",
                grouped(sum(&d.operations_allowed)),
                grouped(sum(&d.operations_refused))
            ),
        ),
    ]
}

/// Days from a resource's first overdue bill to its stop, its release and
/// its settlement: median, 90th percentile and count.
fn overdue_durations(out: &mut String, t: &Tally) {
    out.push_str(
        "\ndays from a resource's first overdue bill (median, 90th percentile, resources):\n",
    );
    for (name, h) in [
        ("to its stop", &t.distributions.overdue_to_stop_days),
        ("to its release", &t.distributions.overdue_to_release_days),
        ("to settlement", &t.distributions.overdue_to_settlement_days),
    ] {
        match percentiles(h) {
            Some((median, p90, n)) => {
                let _ = writeln!(
                    out,
                    "  {name:<15} {median:>4} {p90:>4}   {}",
                    grouped(i128::from(n))
                );
            }
            None => {
                let _ = writeln!(out, "  {name:<15}    -    -   0");
            }
        }
    }
}

/// The invariants: how many were checked and exercised, which were broken
/// and on how many accounts, and which these accounts never put to the
/// test.
fn invariants(out: &mut String, t: &Tally) {
    let exercised = t.invariants.values().filter(|i| i.exercised > 0).count();
    let broken: Vec<(&String, u64)> = t
        .invariants
        .iter()
        .filter(|(_, i)| i.violated > 0)
        .map(|(id, i)| (id, i.violated))
        .collect();
    let _ = writeln!(
        out,
        "\ninvariants: {} checked on every account, {exercised} exercised, {} violated",
        t.invariants.len(),
        broken.len()
    );
    for (id, n) in &broken {
        let _ = writeln!(
            out,
            "  {id}: broken on {} accounts",
            grouped(i128::from(*n))
        );
    }
    let idle: Vec<&str> = t
        .invariants
        .iter()
        .filter(|(_, i)| i.exercised == 0)
        .map(|(id, _)| id.as_str())
        .collect();
    if !idle.is_empty() && t.accounts > 0 {
        let _ = writeln!(
            out,
            "  never put to the test by these accounts: {}",
            idle.join(", ")
        );
    }
}

/// The first violations, grouped by account, each account with the command
/// that replays it.
fn first_violations(out: &mut String, result: &FleetResult) {
    let t = &result.tally;
    if !t.violations.is_empty() {
        let _ = writeln!(
            out,
            "\nfirst violations (of {} accounts):",
            grouped(i128::from(t.accounts_violating))
        );
        let mut last = None;
        for v in &t.violations {
            if last != Some(v.account) {
                if let Some(previous) = last {
                    let _ = writeln!(out, "    replay: {}", replay_command(result, previous));
                }
                let _ = writeln!(out, "  account {}:", v.account);
                last = Some(v.account);
            }
            let _ = writeln!(
                out,
                "    {} at {}{}: {}",
                v.invariant,
                v.at.format("%Y-%m-%dT%H:%M:%SZ"),
                v.resource
                    .as_ref()
                    .map(|r| format!(" on {r}"))
                    .unwrap_or_default(),
                v.message,
            );
        }
        if let Some(previous) = last {
            let _ = writeln!(out, "    replay: {}", replay_command(result, previous));
        }
    }
}

/// The accounts the model could not run, each with its replay command.
fn model_errors(out: &mut String, result: &FleetResult) {
    let t = &result.tally;
    if !t.model_errors.is_empty() {
        let _ = writeln!(out, "\naccounts the model could not run:");
        for e in &t.model_errors {
            let _ = writeln!(
                out,
                "  account {}: {}\n    replay: {}",
                e.account,
                e.message,
                replay_command(result, e.account)
            );
        }
    }
}

/// With an implementation under test: how many accounts it ran, diverged
/// on and refused, a broken protocol, and each disagreement with its replay
/// command.
fn sut_comparison(out: &mut String, result: &FleetResult) {
    let t = &result.tally;
    if let Some(sut) = &t.sut {
        let _ = writeln!(
            out,
            "\nimplementation under test `{}`: {} accounts run, compared with the model at every day's end: {} diverge, {} refused",
            sut.implementation,
            grouped(i128::from(sut.accounts)),
            grouped(i128::from(sut.diverging)),
            grouped(i128::from(sut.refused)),
        );
        if let Some(e) = &sut.protocol_error {
            let _ = writeln!(
                out,
                "  it broke the adapter protocol at account {}: {}",
                e.account, e.message
            );
        }
        for d in &sut.disagreements {
            let _ = writeln!(
                out,
                "  account {}{}: {}{}\n    replay: {}",
                d.account,
                d.at.map(|at| format!(" at {}", at.format("%Y-%m-%dT%H:%M:%SZ")))
                    .unwrap_or_default(),
                d.message,
                if d.rules.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", d.rules.join(", "))
                },
                replay_command(result, d.account)
            );
        }
    }
}

/// The last line's verdict: nothing simulated, invariants broken, an
/// implementation that diverges, or all holding.
fn verdict(t: &Tally) -> String {
    if t.accounts == 0 {
        "nothing simulated".to_string()
    } else if t.accounts_violating > 0 || !t.model_errors.is_empty() {
        format!(
            "{} accounts break an invariant, {} could not run",
            grouped(i128::from(t.accounts_violating)),
            t.model_errors.len()
        )
    } else if let Some(sut) = t
        .sut
        .as_ref()
        .filter(|s| s.diverging > 0 || s.refused > 0 || s.protocol_error.is_some())
    {
        format!(
            "{} invariants hold on the model; the implementation diverges on {} accounts, refused {}{}",
            t.invariants.len(),
            grouped(i128::from(sut.diverging)),
            grouped(i128::from(sut.refused)),
            if sut.protocol_error.is_some() {
                ", broke the protocol"
            } else {
                ""
            }
        )
    } else if t.sut.is_some() {
        format!(
            "{} invariants hold on every account and the implementation agrees with the model",
            t.invariants.len()
        )
    } else {
        format!("{} invariants hold on every account", t.invariants.len())
    }
}

/// The last line's timing, when given: wall-clock seconds and accounts per
/// second, and per thread for the model and the implementation.
fn timing_line(t: &Tally, timing: Option<Timing>) -> String {
    let per_second = |n: u64, s: f64| grouped(if s > 0.0 { (n as f64 / s) as i128 } else { 0 });
    timing
        .map(|timing| {
            let s = timing.elapsed;
            let mut line = format!(", {s:.1} s ({} accounts/s)", per_second(t.accounts, s));
            if let Some((model, sut)) = timing.model_and_sut {
                line.push_str(&format!(
                    "; per thread, the model ran {} accounts/s and the implementation {}",
                    per_second(t.accounts, model),
                    per_second(t.accounts, sut)
                ));
            }
            line
        })
        .unwrap_or_default()
}

/// Resources by product and state at the end of a few days.
fn resources_table(out: &mut String, result: &FleetResult) {
    let days = result.days as usize;
    if days == 0 {
        return;
    }
    let mut columns: Vec<usize> = (0..4).map(|i| i * (days - 1) / 3).collect();
    columns.dedup();
    let label_width = result
        .tally
        .resources_by_state
        .iter()
        .flat_map(|(p, states)| states.keys().map(move |s| p.len() + s.len() + 1))
        .max()
        .unwrap_or(0)
        .max(10);
    let _ = write!(
        out,
        "\nresources by product and state at the end of day\n  {:label_width$}",
        ""
    );
    for c in &columns {
        let _ = write!(out, " {:>10}", c);
    }
    out.push('\n');
    for (product, states) in &result.tally.resources_by_state {
        for (state, series) in states {
            let label = format!("{product} {state}");
            let _ = write!(out, "  {label:<label_width$}");
            for c in &columns {
                let n = series.get(*c).copied().unwrap_or(0);
                let _ = write!(out, " {:>10}", grouped(i128::from(n)));
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(-1_234_567), "-1,234,567");
    }

    #[test]
    fn percentiles_read_the_histogram() {
        assert_eq!(percentiles(&vec![0, 0]), None);
        // 10 resources: 5 at 1 day, 4 at 3 days, 1 at 9 days.
        let mut h = vec![0; 10];
        h[1] = 5;
        h[3] = 4;
        h[9] = 1;
        assert_eq!(percentiles(&h), Some((1, 3, 10)));
    }
}
