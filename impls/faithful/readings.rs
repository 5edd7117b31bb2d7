//! The readings the faithful implementation can take where a document's
//! sentence can be read more than one way, chosen with `--reading
//! ID=READING` and declared in hello, so that the suite judges it against
//! the model read the same way.
//!
//! Without `--reading`, it follows the readings the specs choose (and
//! declares none, so any accepted reading is accepted of it).

use std::collections::BTreeMap;

use crate::vocab::Product;

/// Each interpretation this implementation can read another way, with its
/// readings (the specs' choice first).
pub const KNOWN: &[(&str, &[&str])] = &[
    ("ecs.interp.top-up-settles", &["settles", "waits"]),
    (
        "maxcompute.interp.fee-operations-while-overdue",
        &["allowed", "refused"],
    ),
    (
        "ecs.interp.settlement-order",
        &["oldest-first", "all-or-none"],
    ),
    (
        "ecs.interp.billing-where-unspecified",
        &["billed", "not-billed"],
    ),
    (
        "flink.interp.billing-where-unspecified",
        &["billed", "not-billed"],
    ),
    (
        "maxcompute.interp.billing-where-unspecified",
        &["billed", "not-billed"],
    ),
    (
        "flink.interp.jobs-after-resume",
        &["start-by-hand", "restart-themselves"],
    ),
    ("ecs.interp.restart-may-fail", &["automatic", "by-hand"]),
    ("ecs.interp.economical-restart", &["fails", "succeeds"]),
    ("flink.interp.reminder-lead", &["seven-days", "any-lead"]),
    ("ecs.interp.overdue-notice", &["resource", "account"]),
    ("ecs.interp.attached-unavailable", &["at-once", "t15"]),
    ("ecs.interp.same-instant", &["events-first", "system-first"]),
    (
        "flink.interp.conversion-or-expiry",
        &["conversion-first", "expiry-first"],
    ),
    (
        "flink.interp.storage-after-settlement",
        &["with-workspace", "on-settlement"],
    ),
    (
        "spark.interp.window-boundary",
        &["half-open", "end-inclusive"],
    ),
    (
        "maxcompute.interp.release-time",
        &["never-by-model", "system-selected"],
    ),
    ("maxcompute.interp.lock-scope", &["instance", "account"]),
    (
        "spark.interp.late-plan-unsubscription",
        &["refused", "pro-rata"],
    ),
];

/// The readings in force.
#[derive(Debug, Clone)]
pub struct Readings {
    /// "If you add funds to your account to settle the overdue amount": a
    /// top-up settles overdue bills at once (`settles`), or only Pay Now and
    /// the scheduled retries do (`waits`).
    pub top_up_settles: bool,
    /// The MaxCompute document never says whether a renewal is refused while
    /// the account is overdue: allowed (`allowed`), or refused as ECS, EMR
    /// and Flink refuse theirs (`refused`).
    pub maxcompute_refuses_renewal_while_overdue: bool,
    /// "Complete the overdue payments": a payment pays whole bills oldest
    /// first until one does not fit (`oldest-first`), or every overdue bill
    /// or none (`all-or-none`).
    pub settle_all_or_none: bool,
    /// The products whose documents leave billing open in some state (an
    /// ECS instance stopped in economical mode, an expired hybrid Flink
    /// workspace, a locked MaxCompute instance) and that this
    /// implementation does not bill there (`not-billed`).
    pub unbilled_where_unspecified: Vec<Product>,
    /// "You can resume using the workspaces": Flink jobs stopped for an
    /// overdue payment wait to be started by hand (`start-by-hand`), or run
    /// again by themselves once the workspace is usable
    /// (`restart-themselves`).
    pub jobs_restart_after_resume: bool,
    /// "If an instance fails to restart automatically, you can start it
    /// manually": an ECS instance stopped for an overdue payment restarts
    /// when it is paid (`automatic`), or waits to be started (`by-hand`).
    pub ecs_restart_by_hand: bool,
    /// "The ECS instance may fail to restart": starting an instance stopped
    /// in economical mode while overdue fails (`fails`) or succeeds
    /// (`succeeds`).
    pub ecs_economical_restart_succeeds: bool,
    /// "Before expiration: The system sends you reminder notifications": seven
    /// days before (`seven-days`), or any lead (`any-lead`; this
    /// implementation then reminds three days before).
    pub reminder_any_lead: bool,
    /// "You will receive reminders and notifications": the ECS overdue
    /// reminder per resource (`resource`), or once to the account per
    /// overdue episode (`account`).
    pub ecs_overdue_notice_per_account: bool,
    /// "An overdue payment makes both the disk and the public bandwidth
    /// service unavailable": at once (`at-once`), or 15 days into the
    /// account's overdue episode (`t15`).
    pub attached_unavailable_at_t15: bool,
    /// At one instant, the history's events come before what the system
    /// has due then (`events-first`), or after it (`system-first`), for
    /// every product: the account is shared.
    pub system_first: bool,
    /// A hybrid Flink workspace 15 days overdue at the instant it expires:
    /// converted first (`conversion-first`) or expired first
    /// (`expiry-first`).
    pub hybrid_expiry_first: bool,
    /// "State writes will resume": Flink storage blocked by an overdue
    /// payment is writable again with its workspace (`with-workspace`), or
    /// at the settlement whatever the workspace's state (`on-settlement`).
    pub storage_writable_on_settlement: bool,
    /// "Within five days of purchase": the instant five days after the
    /// purchase is outside the refund window (`half-open`) or its last
    /// instant (`end-inclusive`).
    pub spark_window_end_inclusive: bool,
    /// A resource plan used or past its five days: its unsubscription is
    /// refused (`refused`), or accepted with the unused share of its term
    /// refunded, as the general unsubscription rules do (`pro-rata`).
    pub spark_late_plan_pro_rata: bool,
    /// "Your instances may be released at a system-selected time after the
    /// payment due date": never for an unpaid bill (`never-by-model`), or
    /// at a time this implementation selects (`system-selected`).
    pub maxcompute_releases_unpaid: bool,
    /// "Your MaxCompute services are locked": the instance that carries the
    /// bill (`instance`), or every pay-as-you-go instance of the account,
    /// from 15 days into the account's overdue period until it is settled
    /// (`account`).
    pub maxcompute_lock_with_account: bool,
    /// As given on the command line, for hello.
    pub declared: BTreeMap<String, String>,
}

impl Default for Readings {
    /// The specs' choices throughout.
    fn default() -> Readings {
        Readings::from_declared(BTreeMap::new())
    }
}

impl Readings {
    /// Parses `ID=READING` arguments; `Err` names what is wrong and lists
    /// what is known.
    pub fn parse(args: &[String]) -> Result<Readings, String> {
        let mut declared = BTreeMap::new();
        for arg in args {
            let Some((id, reading)) = arg.split_once('=') else {
                return Err(format!(
                    "failed to read --reading `{arg}`: write it ID=READING, like ecs.interp.top-up-settles=waits"
                ));
            };
            let Some((_, known)) = KNOWN.iter().find(|(k, _)| *k == id) else {
                return Err(format!(
                    "failed to read --reading `{arg}`: no interpretation `{id}` can be read another way here; known: {}",
                    list()
                ));
            };
            if !known.contains(&reading) {
                return Err(format!(
                    "failed to read --reading `{arg}`: `{id}` has the readings {}",
                    known.join(", ")
                ));
            }
            declared.insert(id.to_string(), reading.to_string());
        }
        Ok(Readings::from_declared(declared))
    }

    /// The readings in force when these are declared (the specs' choice
    /// for every interpretation not declared).
    fn from_declared(declared: BTreeMap<String, String>) -> Readings {
        let is = |id: &str, reading: &str| declared.get(id).map(String::as_str) == Some(reading);
        let unbilled_where_unspecified = [
            ("ecs", Product::Ecs),
            ("flink", Product::Flink),
            ("maxcompute", Product::MaxCompute),
        ]
        .into_iter()
        .filter(|(doc, _)| {
            is(
                &format!("{doc}.interp.billing-where-unspecified"),
                "not-billed",
            )
        })
        .map(|(_, product)| product)
        .collect();
        Readings {
            top_up_settles: !is("ecs.interp.top-up-settles", "waits"),
            maxcompute_refuses_renewal_while_overdue: is(
                "maxcompute.interp.fee-operations-while-overdue",
                "refused",
            ),
            settle_all_or_none: is("ecs.interp.settlement-order", "all-or-none"),
            unbilled_where_unspecified,
            jobs_restart_after_resume: is("flink.interp.jobs-after-resume", "restart-themselves"),
            ecs_restart_by_hand: is("ecs.interp.restart-may-fail", "by-hand"),
            ecs_economical_restart_succeeds: is("ecs.interp.economical-restart", "succeeds"),
            reminder_any_lead: is("flink.interp.reminder-lead", "any-lead"),
            ecs_overdue_notice_per_account: is("ecs.interp.overdue-notice", "account"),
            attached_unavailable_at_t15: is("ecs.interp.attached-unavailable", "t15"),
            system_first: is("ecs.interp.same-instant", "system-first"),
            hybrid_expiry_first: is("flink.interp.conversion-or-expiry", "expiry-first"),
            storage_writable_on_settlement: is(
                "flink.interp.storage-after-settlement",
                "on-settlement",
            ),
            spark_window_end_inclusive: is("spark.interp.window-boundary", "end-inclusive"),
            spark_late_plan_pro_rata: is("spark.interp.late-plan-unsubscription", "pro-rata"),
            maxcompute_releases_unpaid: is("maxcompute.interp.release-time", "system-selected"),
            maxcompute_lock_with_account: is("maxcompute.interp.lock-scope", "account"),
            declared,
        }
    }
}

/// The known interpretations and readings, for help and errors.
pub fn list() -> String {
    KNOWN
        .iter()
        .map(|(id, readings)| format!("{id}={}", readings.join("|")))
        .collect::<Vec<_>>()
        .join(", ")
}
