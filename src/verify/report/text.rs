//! The report as text for a terminal or a log, and the one summary line a
//! run ends with.

use super::{DIFFERENTIAL, InvariantCounts, RegressionVerdict, RuleCoverage, VerifyReport};

use crate::spec::Catalog;

/// How verify's text report is laid out: `TextOptions::default()` is the
/// plain report without the per-rule table.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TextOptions {
    /// List every enforced rule with the number of cases that exercised it
    /// (`--coverage`); without it, only the rules nothing exercised.
    pub coverage_table: bool,
    /// Mark verdicts with ANSI styles (the command line strips them again
    /// where colour is off).
    pub styled: bool,
}

impl TextOptions {
    /// Lists every enforced rule with its cases (`--coverage`).
    pub fn coverage_table(mut self, on: bool) -> TextOptions {
        self.coverage_table = on;
        self
    }

    /// Marks verdicts with ANSI styles.
    pub fn styled(mut self, on: bool) -> TextOptions {
        self.styled = on;
        self
    }
}

/// Styles for verdict words; plain text when off.
#[derive(Clone, Copy)]
pub(crate) struct Paint {
    on: bool,
}

impl Paint {
    pub(crate) fn new(on: bool) -> Paint {
        Paint { on }
    }

    pub(super) fn with(self, style: anstyle::Style, text: &str) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// A verdict that fails the run.
    pub(crate) fn bad(self, text: &str) -> String {
        self.with(
            anstyle::AnsiColor::Red.on_default() | anstyle::Effects::BOLD,
            text,
        )
    }

    /// A verdict that passes.
    pub(crate) fn good(self, text: &str) -> String {
        self.with(anstyle::AnsiColor::Green.on_default(), text)
    }

    /// Something that does not fail the run but deserves a look.
    pub(crate) fn warn(self, text: &str) -> String {
        self.with(anstyle::AnsiColor::Yellow.on_default(), text)
    }
}

/// The report as text: the invariant table, the counterexamples, and the
/// rule coverage (the whole table with `options.coverage_table`, else only
/// what was left unexercised).
pub fn report_text(judge: &Catalog, report: &VerifyReport, options: TextOptions) -> String {
    let paint = Paint::new(options.styled);
    let mut out = String::new();
    out.push_str(&format!("arrears verify: {}\n", report.system));
    out.push_str(&format!(
        "seed {}, {} cases{}, products: {}\n",
        report.seed,
        report.cases,
        super::shard_label(report),
        report.products.join(", ")
    ));
    if let Some(e) = &report.protocol_error {
        out.push_str(&format!("\n{}: {e}\n", paint.bad("PROTOCOL VIOLATION")));
        return out;
    }
    for r in &report.regressions {
        let verdict = match r.verdict {
            RegressionVerdict::Fails => paint.bad("FAILS"),
            RegressionVerdict::Passes => paint.good("passes"),
            RegressionVerdict::Skipped => paint.warn(&format!(
                "skipped ({})",
                r.reason.as_deref().unwrap_or("not run")
            )),
        };
        out.push_str(&format!("regression {}: {verdict}\n", r.name));
    }
    out.push('\n');
    invariant_table(&mut out, report, paint);
    counterexamples_text(&mut out, report, paint);
    for e in &report.refused {
        out.push_str(&format!("\n{} {e}\n", paint.bad("REFUSED")));
    }
    if !report.skipped_cases.is_empty() {
        out.push_str(&format!(
            "\n{} cases skipped as unsupported, the first: {}\n",
            report.skipped_cases.len(),
            report.skipped_cases[0]
        ));
    }
    coverage_text(&mut out, judge, report, options, paint);
    if let Some(why) = &report.not_verified {
        out.push_str(&format!("\n{}: {why}\n", paint.bad("NOTHING VERIFIED")));
    }
    out
}

/// One line per invariant with its verdict, then the comparison's, then
/// the count.
pub(super) fn invariant_table(out: &mut String, report: &VerifyReport, paint: Paint) {
    let w = report
        .invariants
        .iter()
        .map(|s| s.invariant.len())
        .max()
        .unwrap_or(9)
        .max(12);
    out.push_str(&format!(
        "{:w$}  {:>6}  {:>9}  verdict\n",
        "invariant", "cases", "exercised"
    ));
    for s in &report.invariants {
        let verdict = if let Some(reason) = &s.skipped {
            paint.warn(&format!("skipped ({reason})"))
        } else if s.violations > 0 {
            paint.bad(&format!("VIOLATED in {} cases", s.violations))
        } else if s.exercised == 0 {
            paint.warn("holds (never exercised)")
        } else {
            paint.good("holds")
        };
        out.push_str(&format!(
            "{:w$}  {:>6}  {:>9}  {verdict}\n",
            s.invariant, s.cases, s.exercised
        ));
    }
    if let Some(d) = &report.differential {
        let verdict = if d.divergences > 0 {
            paint.bad(&format!("DIVERGES in {} cases", d.divergences))
        } else {
            paint.good("matches the model")
        };
        out.push_str(&format!(
            "{:w$}  {:>6}  {:>9}  {verdict}\n",
            DIFFERENTIAL, d.cases, d.cases
        ));
    }
    out.push_str(&InvariantCounts::of(report).sentence());
    out.push('\n');
}

/// Each counterexample: the rules it breaks, what was seen, and the
/// minimal history.
pub(super) fn counterexamples_text(out: &mut String, report: &VerifyReport, paint: Paint) {
    for c in &report.counterexamples {
        out.push_str(&format!(
            "\n{} {}{}\n",
            paint.bad(if c.check == DIFFERENTIAL {
                "DIVERGES"
            } else {
                "VIOLATED"
            }),
            c.check,
            c.regression
                .as_ref()
                .map(|r| format!(" (regression {r})"))
                .unwrap_or_default()
        ));
        for r in &c.rules {
            out.push_str(&format!(
                "  rule {} [{}]: \"{}\"\n    {}\n",
                r.rule, r.section, r.anchor, r.statement
            ));
        }
        out.push_str(&format!(
            "  at {}: {}\n",
            crate::timeline::day_label(c.history.start, c.at()),
            c.message()
        ));
        out.push_str(&format!(
            "  minimal history ({} events, after {} shrinking steps):\n",
            c.events, c.shrink_steps
        ));
        for line in c.history.to_yaml().lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
}

/// The rule-coverage line, the table or what it left out, and the
/// coverage gate's findings.
pub(super) fn coverage_text(
    out: &mut String,
    judge: &Catalog,
    report: &VerifyReport,
    options: TextOptions,
    paint: Paint,
) {
    let coverage = RuleCoverage::of(judge, report);
    out.push_str(&format!("\nrule coverage: {}\n", coverage.sentence(report)));
    let w = coverage
        .enforced
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    if options.coverage_table {
        out.push_str(&format!("{:w$}  {:>6}\n", "rule", "cases"));
    }
    for r in &coverage.enforced {
        match report.coverage.rules.get(&r.id) {
            Some(n) if options.coverage_table => {
                out.push_str(&format!("{:w$}  {:>6}\n", r.id, n));
            }
            Some(_) => {}
            None => out.push_str(&format!(
                "{:w$}  {:>6}  {}\n",
                r.id,
                0,
                paint.warn("NOT EXERCISED")
            )),
        }
    }
    for t in &report.unfired_transitions {
        out.push_str(&format!("transition never fired: {t}\n"));
    }
    if let Some(gate) = &report.gate {
        for (inv, n) in &gate.under_exercised {
            out.push_str(&format!(
                "invariant exercised in {n} cases, fewer than {}: {inv}\n",
                gate.min_exercised
            ));
        }
        for t in &gate.unreached_by_generation {
            out.push_str(&format!("no generated history reaches: {t}\n"));
        }
        if !gate.passed {
            let verdict = if gate.enforced {
                paint.bad("COVERAGE GATE FAILED")
            } else {
                paint.warn("COVERAGE GATE not met")
            };
            out.push_str(&format!(
                "\n{verdict}: the run did not reach every enforced rule and transition, and every invariant in {} cases{}\n",
                gate.min_exercised,
                if gate.enforced {
                    " (raise --cases, or see docs/coverage.md)"
                } else if report.shard.is_some() {
                    " (a shard sees part of the cases; the gate applies to whole runs)"
                } else {
                    " (--no-coverage-gate)"
                }
            ));
        }
    }
}

/// The one line a run ends with: the verdict, rule coverage, cases and
/// (when given) the time the run took and where its counterexamples went,
/// e.g. `arrears: 61 invariants hold, 120/120 rules exercised, 512 cases, 2.1 s`.
pub fn summary_line(
    judge: &Catalog,
    report: &VerifyReport,
    elapsed: Option<std::time::Duration>,
    counterexamples_in: Option<&std::path::Path>,
    styled: bool,
) -> String {
    let paint = Paint::new(styled);
    let mut parts: Vec<String> = Vec::new();
    let counts = InvariantCounts::of(report);
    let total = report.invariants.len();
    if let Some(e) = &report.protocol_error {
        parts.push(paint.bad(&format!("the implementation broke the protocol ({e})")));
    } else {
        parts.push(if counts.violated > 0 {
            paint.bad(&format!(
                "{} of {total} invariants violated",
                counts.violated
            ))
        } else {
            paint.good(&format!("{} invariants hold", counts.hold))
        });
        if counts.skipped > 0 {
            parts.push(paint.warn(&format!("{} skipped", counts.skipped)));
        }
        if report
            .differential
            .as_ref()
            .is_some_and(|d| d.divergences > 0)
        {
            parts.push(paint.bad("the implementation diverges from the model"));
        }
        if !report.refused.is_empty() {
            parts.push(paint.bad(&format!("{} refused", report.refused.len())));
        }
        let coverage = RuleCoverage::of(judge, report);
        let rules = format!(
            "{}/{} rules exercised",
            coverage.covered,
            coverage.enforced.len()
        );
        parts.push(match &report.gate {
            Some(g) if !g.passed && g.enforced => {
                paint.bad(&format!("{rules}, coverage gate failed"))
            }
            _ if coverage.covered < coverage.enforced.len() => paint.warn(&rules),
            _ => rules,
        });
        if let Some(why) = &report.not_verified {
            parts.push(paint.bad(&format!("nothing verified ({why})")));
        }
    }
    parts.push(format!("{} cases", report.cases));
    if !report.regressions.is_empty() {
        parts.push(format!("{} regressions", report.regressions.len()));
    }
    if let Some(t) = elapsed {
        parts.push(format!("{:.1} s", t.as_secs_f64()));
    }
    let mut line = format!("arrears: {}", parts.join(", "));
    if let Some(dir) = counterexamples_in.filter(|_| !report.counterexamples.is_empty()) {
        line.push_str(&format!(
            "; {} counterexamples written to {}",
            report.counterexamples.len(),
            dir.display()
        ));
    }
    line
}
