//! The verify report for CI: JUnit XML (one test case per invariant, plus
//! the comparison with the model) for test dashboards.
//!
//! The JSON report is the serialized [`VerifyReport`] itself.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{DIFFERENTIAL, VerifyReport};

/// The report as JUnit XML.
pub fn junit(report: &VerifyReport) -> String {
    let mut suite = TestSuite::new(format!("arrears verify: {}", report.system));
    suite.add_property(("seed", report.seed.to_string().as_str()));
    suite.add_property(("cases", report.cases.to_string().as_str()));
    if let Some((k, n)) = report.shard {
        suite.add_property(("shard", format!("{k}/{n}").as_str()));
    }
    let failure_of = |check: &str| report.counterexamples.iter().find(|c| c.check == check);
    let mut cases = Vec::new();
    if let Some(e) = &report.protocol_error {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message("the implementation broke the adapter protocol");
        status.set_description(e.as_str());
        let mut case = TestCase::new("protocol", status);
        case.set_classname("arrears");
        cases.push(case);
    }
    for s in &report.invariants {
        let status = if let Some(reason) = &s.skipped {
            let mut st = TestCaseStatus::skipped();
            st.set_message(reason.as_str());
            st
        } else if let Some(c) = failure_of(&s.invariant) {
            failed(c)
        } else if s.violations > 0 {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(format!("violated in {} cases", s.violations));
            st
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(s.invariant.as_str(), status);
        case.set_classname(s.product.as_str());
        case.set_assertions(s.cases);
        cases.push(case);
    }
    if let Some(d) = &report.differential {
        let status = match failure_of(DIFFERENTIAL) {
            Some(c) => failed(c),
            None => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(DIFFERENTIAL, status);
        case.set_classname("model");
        case.set_assertions(d.cases);
        cases.push(case);
    }
    suite.add_test_cases(cases);
    let mut junit = Report::new("arrears");
    junit.add_test_suite(suite);
    junit.to_string().unwrap_or_default()
}

pub(super) fn failed(c: &crate::verify::Counterexample) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(c.message());
    let rules: Vec<String> = c
        .rules
        .iter()
        .map(|r| format!("{} [{}]: \"{}\"", r.rule, r.section, r.anchor))
        .collect();
    status.set_description(format!(
        "{}\nminimal history ({} events):\n{}",
        rules.join("\n"),
        c.events,
        c.history.to_yaml()
    ));
    status
}
