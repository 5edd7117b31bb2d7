//! The report as Markdown, for a CI job's summary page (GitHub Actions'
//! `$GITHUB_STEP_SUMMARY`, or any Markdown a pipeline shows): the verdict
//! first, then what failed, with the long parts (every invariant, each
//! minimal history) folded into `<details>` so the page stays short.
//!
//! Text that comes from outside the specs' ids (messages, the system's
//! name, the sources' words) is escaped, so it renders as written and can
//! never open a table cell, a link or an HTML tag.

use super::{InvariantCounts, RuleCoverage, VerifyReport};

use crate::spec::Catalog;
use crate::verify::{Counterexample, DIFFERENTIAL, InvariantSummary, RegressionVerdict};

/// The report as Markdown: a level-2 heading with the verdict, the run's
/// figures, the invariants (failures in view, the whole table folded), the
/// counterexamples, and what the run left unexercised.
pub fn markdown(judge: &Catalog, report: &VerifyReport) -> String {
    let mut out = String::new();
    headline(&mut out, judge, report);
    if report.protocol_error.is_none() {
        regressions(&mut out, report);
        invariants(&mut out, report);
        counterexamples(&mut out, report);
        problems(&mut out, report);
        coverage(&mut out, judge, report);
    }
    out
}

/// The verdict as a heading, the one-line summary, and what was run.
fn headline(out: &mut String, judge: &Catalog, report: &VerifyReport) {
    let verdict = match report.exit_code() {
        crate::exit::OK => "✅ conforms",
        crate::exit::PROTOCOL => "❌ protocol violation",
        crate::exit::NOTHING_VERIFIED => "⚠️ nothing verified",
        crate::exit::COVERAGE => "❌ coverage gate failed",
        _ => "❌ does not conform",
    };
    out.push_str(&format!("## arrears verify: {verdict}\n\n"));
    let summary = super::summary_line(judge, report, None, None, false);
    let summary = summary.strip_prefix("arrears: ").unwrap_or(&summary);
    out.push_str(&format!("**{}**\n\n", escape(summary)));
    out.push_str(&format!(
        "System: {} · seed {} · {} cases{} · products: {}\n",
        escape(&report.system),
        report.seed,
        report.cases,
        super::shard_label(report),
        report
            .products
            .iter()
            .map(|p| code(p))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(e) = &report.protocol_error {
        out.push_str(&format!(
            "\nThe implementation broke the adapter protocol: {}\n",
            escape(e)
        ));
    }
}

fn regressions(out: &mut String, report: &VerifyReport) {
    if report.regressions.is_empty() {
        return;
    }
    out.push_str("\n### Regressions\n\n");
    for r in &report.regressions {
        let verdict = match r.verdict {
            RegressionVerdict::Fails => "❌ **fails**".to_string(),
            RegressionVerdict::Passes => "✅ passes".to_string(),
            RegressionVerdict::Skipped => format!(
                "⚠️ skipped ({})",
                escape(r.reason.as_deref().unwrap_or("not run"))
            ),
        };
        out.push_str(&format!("- {}: {verdict}\n", escape(&r.name)));
    }
}

/// The invariants that failed (and the comparison, when it diverged) in
/// view; every invariant in a folded table.
fn invariants(out: &mut String, report: &VerifyReport) {
    out.push_str(&format!(
        "\n### Invariants\n\n{}\n",
        InvariantCounts::of(report).sentence()
    ));
    let failed: Vec<&InvariantSummary> = report
        .invariants
        .iter()
        .filter(|s| s.violations > 0)
        .collect();
    let diverged = report.differential.as_ref().filter(|d| d.divergences > 0);
    if !failed.is_empty() || diverged.is_some() {
        out.push('\n');
        table_head(out);
        for s in failed {
            invariant_row(out, s);
        }
        if let Some(d) = diverged {
            differential_row(out, d);
        }
    }
    out.push_str(&format!(
        "\n<details><summary>Every invariant ({})</summary>\n\n",
        report.invariants.len()
    ));
    table_head(out);
    for s in &report.invariants {
        invariant_row(out, s);
    }
    if let Some(d) = &report.differential {
        differential_row(out, d);
    }
    out.push_str("\n</details>\n");
}

fn table_head(out: &mut String) {
    out.push_str("| invariant | cases | exercised | verdict |\n|:--|--:|--:|:--|\n");
}

fn invariant_row(out: &mut String, s: &InvariantSummary) {
    let verdict = if let Some(reason) = &s.skipped {
        format!("⚠️ skipped ({})", escape(reason))
    } else if s.violations > 0 {
        format!("❌ **violated in {} cases**", s.violations)
    } else if s.exercised == 0 {
        "⚠️ holds (never exercised)".to_string()
    } else {
        "✅ holds".to_string()
    };
    out.push_str(&format!(
        "| {} | {} | {} | {verdict} |\n",
        code(&s.invariant),
        s.cases,
        s.exercised
    ));
}

fn differential_row(out: &mut String, d: &super::DifferentialSummary) {
    let verdict = if d.divergences > 0 {
        format!("❌ **diverges in {} cases**", d.divergences)
    } else {
        "✅ matches the model".to_string()
    };
    out.push_str(&format!(
        "| {DIFFERENTIAL} | {} | {} | {verdict} |\n",
        d.cases, d.cases
    ));
}

/// Each counterexample: the check, the rules it cites with their sources,
/// what was seen, and the minimal history folded.
fn counterexamples(out: &mut String, report: &VerifyReport) {
    if report.counterexamples.is_empty() {
        return;
    }
    out.push_str("\n### Counterexamples\n");
    for c in &report.counterexamples {
        counterexample(out, c);
    }
}

fn counterexample(out: &mut String, c: &Counterexample) {
    let what = if c.check == DIFFERENTIAL {
        "diverges from the model"
    } else {
        "violated"
    };
    out.push_str(&format!(
        "\n#### ❌ {} {what}{}\n\n",
        code(&c.check),
        c.regression
            .as_ref()
            .map(|r| format!(" (regression {})", escape(r)))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "At {}: {}\n\n",
        crate::timeline::day_label(c.history.start, c.at()),
        escape(&c.message())
    ));
    for r in &c.rules {
        out.push_str(&format!(
            "- rule {} ({}): “{}”  \n  {}\n",
            code(&r.rule),
            escape(&r.section),
            escape(&r.anchor),
            escape(&r.statement)
        ));
    }
    let yaml = c.history.to_yaml();
    let fence = "`".repeat(longest_run(&yaml, '`').max(2) + 1);
    out.push_str(&format!(
        "\n<details><summary>Minimal history: {} events, after {} shrinking steps</summary>\n\n{fence}yaml\n{}{}{fence}\n\n</details>\n",
        c.events,
        c.shrink_steps,
        yaml,
        if yaml.ends_with('\n') { "" } else { "\n" }
    ));
}

/// Histories refused, cases skipped, and a run that verified nothing.
fn problems(out: &mut String, report: &VerifyReport) {
    for e in &report.refused {
        out.push_str(&format!("\n❌ **Refused:** {}\n", escape(e)));
    }
    if let Some(first) = report.skipped_cases.first() {
        out.push_str(&format!(
            "\n⚠️ {} cases skipped as unsupported, the first: {}\n",
            report.skipped_cases.len(),
            escape(first)
        ));
    }
    if let Some(why) = &report.not_verified {
        out.push_str(&format!("\n⚠️ **Nothing verified:** {}\n", escape(why)));
    }
}

/// The rule and transition coverage, what was left unexercised, and the
/// coverage gate's findings.
fn coverage(out: &mut String, judge: &Catalog, report: &VerifyReport) {
    let coverage = RuleCoverage::of(judge, report);
    out.push_str(&format!(
        "\n### Coverage\n\n{}.\n",
        coverage.sentence(report)
    ));
    let unexercised: Vec<&str> = coverage
        .enforced
        .iter()
        .filter(|r| !report.coverage.rules.contains_key(&r.id))
        .map(|r| r.id.as_str())
        .collect();
    list(out, "Rules not exercised", unexercised);
    list(
        out,
        "Transitions never fired",
        report.unfired_transitions.iter().map(String::as_str),
    );
    let Some(gate) = &report.gate else {
        return;
    };
    let under: Vec<String> = gate
        .under_exercised
        .iter()
        .map(|(inv, n)| format!("{} ({n})", code(inv)))
        .collect();
    if !under.is_empty() {
        out.push_str(&format!(
            "\nInvariants exercised in fewer than {} cases: {}\n",
            gate.min_exercised,
            under.join(", ")
        ));
    }
    list(
        out,
        "No generated history reaches",
        gate.unreached_by_generation.iter().map(String::as_str),
    );
    if !gate.passed {
        let verdict = if gate.enforced {
            "❌ **Coverage gate failed**"
        } else {
            "⚠️ Coverage gate not met"
        };
        out.push_str(&format!(
            "\n{verdict}: the run did not reach every enforced rule and transition, and every invariant in {} cases.\n",
            gate.min_exercised
        ));
    }
}

/// `title: `a`, `b`` on one line, or nothing when there is nothing.
fn list<'a>(out: &mut String, title: &str, ids: impl IntoIterator<Item = &'a str>) {
    let ids: Vec<String> = ids.into_iter().map(code).collect();
    if !ids.is_empty() {
        out.push_str(&format!("\n{title}: {}\n", ids.join(", ")));
    }
}

/// An id as inline code, fenced with more backticks than it holds.
fn code(id: &str) -> String {
    let fence = "`".repeat(longest_run(id, '`') + 1);
    let pad = if id.starts_with('`') || id.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{id}{pad}{fence}")
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    text.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

/// Text as Markdown that renders as written: punctuation that could start
/// emphasis, code, a link, an HTML tag or a table cell is backslash-escaped,
/// and a line break becomes a space (a table row and a list item are one
/// line).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_cannot_open_a_cell_a_tag_or_emphasis() {
        assert_eq!(
            escape("a | b <script> *x* [l](u)\nnext"),
            "a \\| b \\<script\\> \\*x\\* \\[l\\](u) next"
        );
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("ecs.inv.x"), "`ecs.inv.x`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }

    #[test]
    fn a_fence_is_longer_than_any_run_of_backticks_in_the_history() {
        assert_eq!(longest_run("a ```` b ` c", '`'), 4);
        assert_eq!(longest_run("none", '`'), 0);
    }
}
