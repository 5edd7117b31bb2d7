//! The figures every rendering of the report shows: how many invariants
//! hold, are violated or were skipped, and how much of what the run could
//! exercise it did.

use super::VerifyReport;

use crate::spec::Catalog;
use crate::verify::gate::exercisable;

/// How much of what the run could exercise it did.
pub(super) struct RuleCoverage<'a> {
    /// Rules of the run's products and implemented lifecycles that are
    /// enforced under the readings in force.
    pub(super) enforced: Vec<&'a crate::spec::Rule>,
    pub(super) covered: usize,
    /// Transitions of the implemented lifecycles.
    pub(super) transitions: usize,
    /// Of those, the ones the readings in force let fire.
    pub(super) allowed: usize,
}

impl<'a> RuleCoverage<'a> {
    pub(super) fn of(judge: &'a Catalog, report: &VerifyReport) -> RuleCoverage<'a> {
        // Only what the system implements can be exercised: rules and
        // transitions of other lifecycles are left out of the counts.
        let implemented = |lifecycle: crate::spec::LifecycleId| {
            report
                .products
                .contains(&judge.document(judge.lifecycle(lifecycle).doc).id)
                && report
                    .implemented
                    .as_ref()
                    .is_none_or(|imp| imp.contains(&lifecycle.0))
        };
        let enforced: Vec<&crate::spec::Rule> = judge
            .rules
            .iter()
            .filter(|r| {
                r.not_modelled.is_none() && report.products.contains(&judge.document(r.doc).id)
            })
            .filter(|r| report.implemented.is_none() || exercisable(judge, r, &implemented))
            // A rule only another reading's transitions enforce is left out,
            // as the coverage verdict leaves it out.
            .filter(|r| {
                report.coverage.rules.contains_key(&r.id)
                    || report.unexercised_rules.contains(&r.id)
            })
            .collect();
        let covered = enforced
            .iter()
            .filter(|r| report.coverage.rules.contains_key(&r.id))
            .count();
        let transitions: usize = (0..judge.lifecycles.len())
            .map(|i| crate::spec::LifecycleId(i as u32))
            .filter(|l| implemented(*l))
            .map(|l| judge.lifecycle(l).transitions.len())
            .sum();
        // Transitions another reading enables cannot fire under these.
        let allowed = report
            .gate
            .as_ref()
            .map_or(transitions, |g| g.transitions_allowed);
        RuleCoverage {
            enforced,
            covered,
            transitions,
            allowed,
        }
    }

    /// The run's coverage in one sentence (no full stop): rules exercised
    /// of those enforced, and transitions fired of those the readings in
    /// force allow.
    pub(super) fn sentence(&self, report: &VerifyReport) -> String {
        let (transitions, allowed) = (self.transitions, self.allowed);
        format!(
            "{} of {} enforced rules exercised; {} of the {allowed} transitions the readings in force allow fired{}",
            self.covered,
            self.enforced.len(),
            allowed.saturating_sub(report.unfired_transitions.len()),
            if allowed < transitions {
                format!(" ({} more need other readings)", transitions - allowed)
            } else {
                String::new()
            }
        )
    }
}

/// The invariants by verdict.
pub(super) struct InvariantCounts {
    pub(super) hold: usize,
    pub(super) violated: usize,
    pub(super) skipped: usize,
}

impl InvariantCounts {
    pub(super) fn of(report: &VerifyReport) -> InvariantCounts {
        let violated = report
            .invariants
            .iter()
            .filter(|s| s.violations > 0)
            .count();
        let skipped = report
            .invariants
            .iter()
            .filter(|s| s.skipped.is_some())
            .count();
        InvariantCounts {
            hold: report.invariants.len() - violated - skipped,
            violated,
            skipped,
        }
    }

    /// The counts in words: `61 invariants: 60 hold, 1 violated, 0 skipped`.
    pub(super) fn sentence(&self) -> String {
        format!(
            "{} invariants: {} hold, {} violated, {} skipped",
            self.hold + self.violated + self.skipped,
            self.hold,
            self.violated,
            self.skipped
        )
    }
}

/// ` (shard K/N)` when the report holds one shard of a run, else nothing.
pub(super) fn shard_label(report: &VerifyReport) -> String {
    report
        .shard
        .map(|(k, n)| format!(" (shard {k}/{n})"))
        .unwrap_or_default()
}
