//! The example implementations against the suite: the faithful
//! implementation (written independently of the model, hour-stepped) passes
//! the default `arrears verify` and every worked example; each single-fault
//! variant fails the default run, citing the rule it breaks, with a
//! counterexample of at most six events.

use std::process::Command;

const MAX_EVENTS: usize = 6;

fn faithful(fault: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_arrears-faithful");
    match fault {
        None => bin.to_string(),
        Some(f) => format!("{bin} --fault {f}"),
    }
}

fn arrears(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_arrears"))
        .args(args)
        .output()
        .expect("arrears runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("arrears-faithful-{name}-{}", std::process::id()));
    dir.display().to_string()
}

#[test]
fn the_faithful_implementation_passes_the_default_run() {
    let out = scratch("default");
    let (code, stdout, stderr) = arrears(&["verify", "--sut", &faithful(None), "--out", &out]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("matches the model"), "{stdout}");
    assert!(stdout.contains("0 violated, 0 skipped"), "{stdout}");
}

#[test]
fn the_faithful_implementation_passes_every_worked_example() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/examples");
    let (code, stdout, stderr) = arrears(&["examples", dir, "--sut", &faithful(None)]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("skipped"),
        "it implements every product: {stdout}"
    );
}

/// Runs the default verification against a fault and checks its report.
fn caught(fault: &str, rules: &[&str]) {
    let out = scratch(fault);
    let json = format!("{out}.json");
    let (code, stdout, stderr) = arrears(&[
        "verify",
        "--sut",
        &faithful(Some(fault)),
        "--out",
        &out,
        "--json",
        &json,
    ]);
    assert_eq!(
        code,
        Some(1),
        "fault {fault} should fail the default run:\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let counterexamples = report["counterexamples"]
        .as_array()
        .expect("counterexamples");
    let citing: Vec<&serde_json::Value> = counterexamples
        .iter()
        .filter(|c| {
            c["rules"].as_array().is_some_and(|rs| {
                rs.iter()
                    .any(|r| rules.contains(&r["rule"].as_str().unwrap_or("")))
            })
        })
        .collect();
    assert!(
        !citing.is_empty(),
        "fault {fault}: no counterexample cites {rules:?}; they cite {:?}",
        counterexamples
            .iter()
            .map(|c| (&c["check"], &c["rules"]))
            .collect::<Vec<_>>()
    );
    let smallest = citing
        .iter()
        .map(|c| c["events"].as_u64().unwrap_or(u64::MAX))
        .min()
        .unwrap();
    assert!(
        smallest as usize <= MAX_EVENTS,
        "fault {fault}: the smallest counterexample citing {rules:?} has {smallest} events"
    );
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&json);
}

#[test]
fn no_restart_after_settlement() {
    caught("no-restart-after-settlement", &["ecs.settle.auto-restart"]);
}

#[test]
fn disks_released_day_29() {
    caught(
        "disks-released-day-29",
        &[
            "ecs.payg.release-after-stopped-15-days",
            "ecs.released.disks-deleted",
            "ecs.released.data-disks-regardless-of-attachment",
        ],
    );
}

#[test]
fn subscription_stopped_while_overdue() {
    caught(
        "subscription-stopped-while-overdue",
        &["ecs.sub.usable-while-overdue"],
    );
}

#[test]
fn fee_operations_allowed_while_overdue() {
    caught(
        "fee-operations-allowed-while-overdue",
        &[
            "ecs.overdue.no-fee-operations",
            "ecs.payg.no-fee-operations-while-overdue",
        ],
    );
}

#[test]
fn fourth_deduction_attempt() {
    caught(
        "fourth-deduction-attempt",
        &[
            "ecs.payg.three-deduction-dates",
            "ecs.payg.retries-at-t7-t14",
        ],
    );
}

#[test]
fn emr_suspended_after_23_hours() {
    caught(
        "emr-suspended-after-23-hours",
        &[
            "emr.payg.suspended-after-24-hours",
            "emr.payg.deducts-within-24-hours",
        ],
    );
}

#[test]
fn flink_payg_jobs_left_running() {
    caught("flink-payg-jobs-left-running", &["flink.payg.jobs-stopped"]);
}

#[test]
fn flink_storage_charging_stopped() {
    caught(
        "flink-storage-charging-stopped",
        &["flink.payg.storage-keeps-charging"],
    );
}

#[test]
fn maxcompute_locked_day_10() {
    caught(
        "maxcompute-locked-day-10",
        &["maxcompute.payg.locked-after-15-days"],
    );
}

#[test]
fn refund_counts_vouchers() {
    caught(
        "refund-counts-vouchers",
        &["spark.quota.cash-only", "spark.quota.refund-formula"],
    );
}

#[test]
fn plan_refund_day_6() {
    caught(
        "plan-refund-day-6",
        &["spark.plan.full-refund-within-5-days"],
    );
}

#[test]
fn released_data_comes_back() {
    caught(
        "released-data-comes-back",
        &[
            "ecs.released.compute-released",
            "ecs.payg.release-after-stopped-15-days",
            "ecs.payg.stop-at-t15",
            "ecs.settle.auto-restart",
        ],
    );
}

#[test]
fn stop_at_t14() {
    caught(
        "stop-at-t14",
        &[
            "ecs.payg.stop-at-t15",
            "ecs.payg.not-stopped-within-15-days",
        ],
    );
}
