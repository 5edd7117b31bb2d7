//! Single-fault variants: each one breaks exactly one documented rule, so
//! that the conformance suite can be shown to notice it.
//!
//! A fault is chosen with `--fault NAME` or the `ARREARS_FAULT` environment
//! variable; the product modules ask [`Faults::has`] at the one place where
//! the rule is implemented, so the rest of the engine stays untouched.

/// One deliberately broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    NoRestartAfterSettlement,
    DisksReleasedDay29,
    SubscriptionStoppedWhileOverdue,
    FeeOperationsAllowedWhileOverdue,
    FourthDeductionAttempt,
    EmrSuspendedAfter23Hours,
    FlinkPaygJobsLeftRunning,
    FlinkStorageChargingStopped,
    MaxcomputeLockedDay10,
    RefundCountsVouchers,
    PlanRefundDay6,
    ReleasedDataComesBack,
    StopAtT14,
    DisksStayOutAfterSettlement,
    MaxcomputeStaysLockedAfterSettlement,
    EmrSuspendedDespiteSettlement,
}

/// Every fault with its command-line name and the rules it breaks (the
/// rule the fault is about first).
pub const ALL: &[(Fault, &str, &[&str])] = &[
    (
        Fault::NoRestartAfterSettlement,
        "no-restart-after-settlement",
        &["ecs.settle.auto-restart"],
    ),
    (
        Fault::DisksReleasedDay29,
        "disks-released-day-29",
        &[
            "ecs.payg.release-after-stopped-15-days",
            "ecs.released.data-disks-regardless-of-attachment",
        ],
    ),
    (
        Fault::SubscriptionStoppedWhileOverdue,
        "subscription-stopped-while-overdue",
        &["ecs.sub.usable-while-overdue"],
    ),
    (
        Fault::FeeOperationsAllowedWhileOverdue,
        "fee-operations-allowed-while-overdue",
        &["ecs.overdue.no-fee-operations"],
    ),
    (
        Fault::FourthDeductionAttempt,
        "fourth-deduction-attempt",
        &["ecs.payg.three-deduction-dates"],
    ),
    (
        Fault::EmrSuspendedAfter23Hours,
        "emr-suspended-after-23-hours",
        &[
            "emr.payg.suspended-after-24-hours",
            "emr.payg.deducts-within-24-hours",
        ],
    ),
    (
        Fault::FlinkPaygJobsLeftRunning,
        "flink-payg-jobs-left-running",
        &["flink.payg.jobs-stopped"],
    ),
    (
        Fault::FlinkStorageChargingStopped,
        "flink-storage-charging-stopped",
        &["flink.payg.storage-keeps-charging"],
    ),
    (
        Fault::MaxcomputeLockedDay10,
        "maxcompute-locked-day-10",
        &["maxcompute.payg.locked-after-15-days"],
    ),
    (
        Fault::RefundCountsVouchers,
        "refund-counts-vouchers",
        &["spark.quota.cash-only", "spark.quota.refund-formula"],
    ),
    (
        Fault::PlanRefundDay6,
        "plan-refund-day-6",
        &["spark.plan.full-refund-within-5-days"],
    ),
    (
        Fault::ReleasedDataComesBack,
        "released-data-comes-back",
        &[
            "ecs.released.compute-released",
            "ecs.payg.release-after-stopped-15-days",
        ],
    ),
    (Fault::StopAtT14, "stop-at-t14", &["ecs.payg.stop-at-t15"]),
    (
        Fault::DisksStayOutAfterSettlement,
        "disks-stay-out-after-settlement",
        &["ecs.settle.auto-restart"],
    ),
    (
        Fault::MaxcomputeStaysLockedAfterSettlement,
        "maxcompute-stays-locked-after-settlement",
        &["maxcompute.overdue.clear-to-avoid-release"],
    ),
    (
        Fault::EmrSuspendedDespiteSettlement,
        "emr-suspended-despite-settlement",
        &["emr.overdue.settle-before-suspension"],
    ),
];

/// The faults switched on for this run (at most one in practice).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    on: Vec<Fault>,
}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }

    /// Parses a fault name; `Err` lists the known names.
    pub fn named(name: &str) -> Result<Faults, String> {
        match ALL.iter().find(|(_, n, _)| *n == name) {
            Some((f, _, _)) => Ok(Faults { on: vec![*f] }),
            None => Err(format!(
                "unknown fault `{name}`; known faults: {}",
                ALL.iter()
                    .map(|(_, n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    pub fn has(&self, fault: Fault) -> bool {
        self.on.contains(&fault)
    }

    /// The name of the active fault, for the implementation's name in hello.
    pub fn label(&self) -> Option<&'static str> {
        self.on
            .first()
            .and_then(|f| ALL.iter().find(|(g, _, _)| g == f).map(|(_, n, _)| *n))
    }
}
