//! Realtime Compute for Apache Flink: pay-as-you-go, subscription and
//! hybrid-billing workspaces with their jobs and storage. Flink reacts to
//! the account being overdue (any bill of the account), not to its own
//! bills (flink.interp.account-level). Source: flink-overdue-payments.txt.

use arrears::observation::{BillingStatus as B, Data as D, Serving as S};
use chrono::{DateTime, TimeDelta, Utc};

use crate::faults::{Fault, Faults};
use crate::policy;
use crate::readings::Readings;
use crate::vocab::{Ctx, Lc, OpAnswer, Signal, St, Timed, Tr, Traits, gone, tr, traits};

pub fn initial(lc: Lc) -> St {
    match lc {
        Lc::FlinkPaygWorkspace => St::Running,
        Lc::FlinkPaygJob
        | Lc::FlinkSubJob
        | Lc::FlinkHybridElasticJob
        | Lc::FlinkHybridFixedJob => St::Running,
        Lc::FlinkPaygStorage | Lc::FlinkSubStorage | Lc::FlinkHybridStorage => St::Available,
        Lc::FlinkSubWorkspace | Lc::FlinkHybridWorkspace => St::Active,
        Lc::FlinkSubUpload | Lc::FlinkHybridUpload => St::Uploaded,
        _ => unreachable!("not a Flink lifecycle"),
    }
}

// A declarative table over every (lifecycle, state) pair: one arm per row, so it stays whole.
pub fn traits_of(lc: Lc, st: St, faults: &Faults) -> Traits {
    use St::*;
    match (lc, st) {
        (Lc::FlinkPaygWorkspace, Running) => traits(S::Yes, D::Retained, B::Running),
        // "Pay-as-you-go", within the first 15 overdue days: no access, jobs
        // halted, and compute and management fees stop
        // (flink.payg.no-access, flink.payg.no-compute-fees).
        (Lc::FlinkPaygWorkspace, Overdue) => traits(S::No, D::Retained, B::Ceased),
        // "Job data in the workspaces is deleted and cannot be recovered."
        (Lc::FlinkPaygWorkspace, Released) => gone(S::No, D::Deleted),

        (Lc::FlinkPaygJob | Lc::FlinkSubJob | Lc::FlinkHybridFixedJob, Running) => {
            traits(S::Yes, D::Retained, B::Unspecified)
        }
        (Lc::FlinkPaygJob | Lc::FlinkSubJob | Lc::FlinkHybridFixedJob, Stopped) => {
            traits(S::No, D::Retained, B::Unspecified)
        }
        (Lc::FlinkPaygJob | Lc::FlinkSubJob | Lc::FlinkHybridFixedJob, Deleted) => {
            gone(S::No, D::Deleted)
        }
        (Lc::FlinkHybridElasticJob, Running) => traits(S::Yes, D::Retained, B::Unspecified),
        (Lc::FlinkHybridElasticJob, Stopped) => traits(S::No, D::Retained, B::Unspecified),
        // "The elastic computing resources are considered abandoned."
        (Lc::FlinkHybridElasticJob, Abandoned) => gone(S::No, D::Unspecified),
        (Lc::FlinkHybridElasticJob, Deleted) => gone(S::No, D::Deleted),

        (Lc::FlinkPaygStorage | Lc::FlinkSubStorage | Lc::FlinkHybridStorage, Available) => {
            traits(S::Yes, D::Retained, B::Running)
        }
        // "Notes": while overdue, state data and JAR packages can be
        // neither read nor written (flink.notes.storage-blocks-state); the
        // storage is still charged (flink.payg.storage-keeps-charging).
        (Lc::FlinkPaygStorage, Blocked) => {
            if faults.has(Fault::FlinkStorageChargingStopped) {
                traits(S::No, D::Retained, B::Ceased)
            } else {
                traits(S::No, D::Retained, B::Running)
            }
        }
        (Lc::FlinkSubStorage | Lc::FlinkHybridStorage, Blocked) => {
            traits(S::No, D::Retained, B::Running)
        }
        // What becomes of a released pay-as-you-go workspace's bucket is not
        // documented.
        (Lc::FlinkPaygStorage, LeftBehind) => {
            traits(S::Unspecified, D::Unspecified, B::Unspecified)
        }
        // After 15 overdue days the storage counts as abandoned and its data
        // is deleted for good (flink.sub.storage-abandoned).
        (Lc::FlinkSubStorage | Lc::FlinkHybridStorage, Deleted) => gone(S::No, D::Deleted),
        // "Expiration" note: uploads such as JAR packages survive the
        // release, kept in the owner's OSS (flink.expiry.uploads-kept).
        (Lc::FlinkSubStorage | Lc::FlinkHybridStorage, KeptInOss) => {
            traits(S::Unspecified, D::Retained, B::Unspecified)
        }
        // "Resources that you upload, such as JAR packages, are not
        // deleted. They are stored in your OSS." — before the release and
        // after it; whether they can be read while overdue is the storage's
        // part (flink.expiry.uploads-kept).
        (Lc::FlinkSubUpload | Lc::FlinkHybridUpload, Uploaded) => {
            traits(S::Unspecified, D::Retained, B::Unspecified)
        }
        (Lc::FlinkSubUpload | Lc::FlinkHybridUpload, KeptInOss) => Traits {
            terminal: true,
            ..traits(S::Unspecified, D::Retained, B::Unspecified)
        },

        (Lc::FlinkSubWorkspace, Active) => traits(S::Yes, D::Retained, B::Unspecified),
        // "you can still access the existing workspace"
        (Lc::FlinkSubWorkspace, Overdue) => traits(S::Yes, D::Retained, B::Unspecified),
        // "Within 15 days after expiration": the workspace is inaccessible
        // and its online jobs are halted (flink.expiry.no-access).
        (Lc::FlinkSubWorkspace | Lc::FlinkHybridWorkspace, Expired) => {
            traits(S::No, D::Retained, B::Unspecified)
        }
        (Lc::FlinkSubWorkspace | Lc::FlinkHybridWorkspace, Released) => gone(S::No, D::Deleted),

        (Lc::FlinkHybridWorkspace, Active) => traits(S::Yes, D::Retained, B::Running),
        (Lc::FlinkHybridWorkspace, Overdue | ConvertedOverdue | Converted) => {
            traits(S::Yes, D::Retained, B::Unspecified)
        }
        (Lc::FlinkHybridWorkspace, ExpiredConverted) => traits(S::No, D::Retained, B::Unspecified),
        _ => unreachable!("{lc:?} has no state {st:?}"),
    }
}

pub fn refusal(lc: Lc, st: St, op: &str) -> Option<&'static str> {
    use St::*;
    match (lc, st, op) {
        // "During this period, you cannot access the workspaces."
        (Lc::FlinkPaygWorkspace, Overdue, "access" | "checkpoint" | "snapshot") => {
            Some("flink.payg.no-access")
        }
        // "Subscription", while overdue: stateful operations such as
        // checkpoints and snapshots do not succeed
        // (flink.sub.stateful-ops-fail).
        (Lc::FlinkSubWorkspace, Overdue, "checkpoint" | "snapshot") => {
            Some("flink.sub.stateful-ops-fail")
        }
        (Lc::FlinkSubWorkspace, Expired, "access" | "checkpoint" | "snapshot") => {
            Some("flink.expiry.no-access")
        }
        // "You cannot use or allocate elastic computing resources."
        (Lc::FlinkHybridWorkspace, Overdue, "allocate-elastic") => {
            Some("flink.hybrid.no-elastic-allocation")
        }
        (Lc::FlinkHybridWorkspace, Overdue | ConvertedOverdue, "checkpoint" | "snapshot") => {
            Some("flink.hybrid.stateful-ops-fail")
        }
        (Lc::FlinkHybridWorkspace, ConvertedOverdue | Converted, "allocate-elastic") => {
            Some("flink.hybrid.elastic-abandoned")
        }
        // "After the workspace expires, you cannot use it." (hybrid too)
        (
            Lc::FlinkHybridWorkspace,
            Expired,
            "access" | "allocate-elastic" | "checkpoint" | "snapshot",
        ) => Some("flink.expiry.no-access"),
        (Lc::FlinkHybridWorkspace, ExpiredConverted, "access" | "checkpoint" | "snapshot") => {
            Some("flink.expiry.no-access")
        }
        (Lc::FlinkHybridWorkspace, ExpiredConverted, "allocate-elastic") => {
            Some("flink.hybrid.elastic-abandoned")
        }
        _ => None,
    }
}

pub fn on_signal(lc: Lc, st: St, signal: Signal) -> Option<Tr> {
    use St::*;
    match (lc, st, signal) {
        // Once the account is overdue, every pay-as-you-go workspace in it
        // is overdue too (flink.payg.all-workspaces-overdue).
        (Lc::FlinkPaygWorkspace, Running, Signal::AccountOverdue) => Some(tr(
            Overdue,
            "overdue-with-account",
            "flink.payg.all-workspaces-overdue",
        )),
        // Topping the account up makes the workspaces usable again
        // (flink.payg.resume-after-top-up).
        (Lc::FlinkPaygWorkspace, Overdue, Signal::AccountSettled) => Some(tr(
            Running,
            "resumed-after-top-up",
            "flink.payg.resume-after-top-up",
        )),
        (Lc::FlinkSubWorkspace, Active, Signal::AccountOverdue) => Some(tr(
            Overdue,
            "overdue-with-account",
            "flink.sub.stateful-ops-fail",
        )),
        // "you can use the workspace normally, and state writes will resume"
        (Lc::FlinkSubWorkspace, Overdue, Signal::AccountSettled) => Some(tr(
            Active,
            "state-writes-resume",
            "flink.sub.state-writes-resume",
        )),
        // "All jobs that use elastic computing resources are stopped."
        (Lc::FlinkHybridWorkspace, Active, Signal::AccountOverdue) => Some(tr(
            Overdue,
            "overdue-with-account",
            "flink.hybrid.elastic-jobs-stopped",
        )),
        (Lc::FlinkHybridWorkspace, Overdue, Signal::AccountSettled) => Some(tr(
            Active,
            "elastic-resumes-after-top-up",
            "flink.hybrid.elastic-resume",
        )),
        (Lc::FlinkHybridWorkspace, ConvertedOverdue, Signal::AccountSettled) => Some(tr(
            Converted,
            "converted-settled",
            "flink.hybrid.state-writes-resume",
        )),
        (Lc::FlinkHybridWorkspace, Converted, Signal::AccountOverdue) => Some(tr(
            ConvertedOverdue,
            "converted-overdue-again",
            "flink.hybrid.stateful-ops-fail",
        )),
        _ => None,
    }
}

// A declarative table over every (lifecycle, state, parent state) triple: one arm per row, so it stays whole.
pub fn on_parent(lc: Lc, st: St, parent: St, faults: &Faults, readings: &Readings) -> Option<Tr> {
    use St::*;
    match (lc, st, parent) {
        // "You can resume using the workspaces", read the
        // `restart-themselves` way: jobs stopped for the overdue payment run
        // again as soon as the workspace is usable.
        (Lc::FlinkPaygJob, Stopped, Running) if readings.jobs_restart_after_resume => Some(tr(
            Running,
            "restarted-with-workspace",
            "flink.payg.resume-after-top-up",
        )),
        (Lc::FlinkHybridElasticJob, Stopped, Active) if readings.jobs_restart_after_resume => {
            Some(tr(
                Running,
                "restarted-with-workspace",
                "flink.hybrid.elastic-resume",
            ))
        }
        // "Running jobs are stopped."
        (Lc::FlinkPaygJob, Running, Overdue) => {
            if faults.has(Fault::FlinkPaygJobsLeftRunning) {
                None
            } else {
                Some(tr(
                    Stopped,
                    "stopped-with-workspace",
                    "flink.payg.jobs-stopped",
                ))
            }
        }
        (Lc::FlinkPaygJob, Running | Stopped, Released) => Some(tr(
            Deleted,
            "deleted-with-workspace",
            "flink.payg.job-data-deleted",
        )),
        (Lc::FlinkPaygStorage, Available, Overdue) => Some(tr(
            Blocked,
            "blocked-with-workspace",
            "flink.notes.storage-blocks-state",
        )),
        (Lc::FlinkPaygStorage, Blocked, Running) => Some(tr(
            Available,
            "available-after-top-up",
            "flink.payg.resume-after-top-up",
        )),
        (Lc::FlinkPaygStorage, Available | Blocked, Released) => Some(tr(
            LeftBehind,
            "left-behind-by-release",
            "flink.payg.released-after-15-days",
        )),

        (Lc::FlinkSubJob, Running, Expired) => {
            Some(tr(Stopped, "stopped-at-expiry", "flink.expiry.no-access"))
        }
        (Lc::FlinkSubJob, Running | Stopped, Released) => Some(tr(
            Deleted,
            "deleted-with-workspace",
            "flink.expiry.released-after-15-days",
        )),
        (Lc::FlinkSubStorage, Available, Overdue) => Some(tr(
            Blocked,
            "blocked-with-account",
            "flink.notes.storage-blocks-state",
        )),
        (Lc::FlinkSubStorage, Blocked, Active) if !readings.storage_writable_on_settlement => {
            Some(tr(
                Available,
                "writable-after-top-up",
                "flink.sub.state-writes-resume",
            ))
        }
        (Lc::FlinkSubStorage, Available | Blocked, Released) => Some(tr(
            KeptInOss,
            "kept-after-release",
            "flink.expiry.uploads-kept",
        )),

        (Lc::FlinkHybridElasticJob, Running, Overdue | Expired) => Some(tr(
            Stopped,
            "stopped-while-overdue",
            "flink.hybrid.elastic-jobs-stopped",
        )),
        (Lc::FlinkHybridElasticJob, Running | Stopped, ConvertedOverdue) => Some(tr(
            Abandoned,
            "abandoned-with-elastic-resources",
            "flink.hybrid.elastic-abandoned",
        )),
        (Lc::FlinkHybridElasticJob, Running | Stopped, Released) => Some(tr(
            Deleted,
            "deleted-with-workspace",
            "flink.expiry.released-after-15-days",
        )),
        (Lc::FlinkHybridFixedJob, Running, Expired | ExpiredConverted) => {
            Some(tr(Stopped, "stopped-at-expiry", "flink.expiry.no-access"))
        }
        (Lc::FlinkHybridFixedJob, Running | Stopped, Released) => Some(tr(
            Deleted,
            "deleted-with-workspace",
            "flink.expiry.released-after-15-days",
        )),
        (Lc::FlinkHybridStorage, Available, Overdue | ConvertedOverdue) => Some(tr(
            Blocked,
            "blocked-with-account",
            "flink.hybrid.stateful-ops-fail",
        )),
        (Lc::FlinkHybridStorage, Blocked, Active | Converted)
            if !readings.storage_writable_on_settlement =>
        {
            Some(tr(
                Available,
                "writable-after-top-up",
                "flink.hybrid.state-writes-resume",
            ))
        }
        (Lc::FlinkHybridStorage, Available | Blocked, Released) => Some(tr(
            KeptInOss,
            "kept-after-release",
            "flink.expiry.uploads-kept",
        )),
        (Lc::FlinkSubUpload | Lc::FlinkHybridUpload, Uploaded, Released) => Some(tr(
            KeptInOss,
            "kept-after-release",
            "flink.expiry.uploads-kept",
        )),
        _ => None,
    }
}

pub fn on_operation(lc: Lc, st: St, op: &str, ctx: &Ctx) -> OpAnswer {
    use St::*;
    let parent_in = |states: &[St]| ctx.parent_state.is_some_and(|p| states.contains(&p));
    // Stopped jobs run again only when started by hand in a usable
    // workspace (flink.interp.jobs-after-resume).
    let start = |states: &[St], t: Tr| {
        if parent_in(states) {
            OpAnswer::Fire(t)
        } else {
            OpAnswer::Blocked(t.rule)
        }
    };
    match (lc, st, op) {
        (Lc::FlinkPaygWorkspace, Running | Overdue, "release") => {
            OpAnswer::Fire(tr(Released, "user-release", "flink.payg.job-data-deleted"))
        }
        (Lc::FlinkPaygJob, Stopped, "start") => start(
            &[Running],
            tr(
                Running,
                "started-after-top-up",
                "flink.payg.resume-after-top-up",
            ),
        ),
        (Lc::FlinkSubWorkspace, Expired, "renew") => {
            OpAnswer::Fire(tr(Active, "renewed", "flink.expiry.renew-to-continue"))
        }
        (Lc::FlinkSubJob, Stopped, "start") => start(
            &[Active, Overdue],
            tr(
                Running,
                "started-after-renewal",
                "flink.expiry.renew-to-continue",
            ),
        ),
        (Lc::FlinkHybridWorkspace, Expired, "renew") => {
            OpAnswer::Fire(tr(Active, "renewed", "flink.expiry.renew-to-continue"))
        }
        (Lc::FlinkHybridWorkspace, ExpiredConverted, "renew") => OpAnswer::Fire(tr(
            Converted,
            "renewed-converted",
            "flink.expiry.renew-to-continue",
        )),
        (Lc::FlinkHybridElasticJob, Stopped, "start") => start(
            &[Active],
            tr(
                Running,
                "started-after-top-up",
                "flink.hybrid.elastic-resume",
            ),
        ),
        (Lc::FlinkHybridFixedJob, Stopped, "start") => start(
            &[Active, Overdue, Converted, ConvertedOverdue],
            tr(
                Running,
                "started-after-renewal",
                "flink.expiry.renew-to-continue",
            ),
        ),
        _ => OpAnswer::Allowed,
    }
}

// A declarative table over every (lifecycle, state) pair with a timed transition: one arm per row.
pub fn timers(lc: Lc, st: St, ctx: &Ctx) -> Vec<(DateTime<Utc>, Timed)> {
    use St::*;
    let mut out = Vec::new();
    let abandon = TimeDelta::days(policy::FLINK_ABANDON_AFTER_OVERDUE_DAYS);
    let release = TimeDelta::days(policy::FLINK_RELEASE_AFTER_EXPIRY_DAYS);
    let after_overdue = |out: &mut Vec<_>, t: Tr| {
        if let Some(since) = ctx.account_overdue_since {
            out.push((since + abandon, Timed::Transition(t)));
        }
    };
    let at_expiry = |out: &mut Vec<_>, delay: TimeDelta, t: Tr| {
        if let Some(e) = ctx.expires_at {
            out.push((e + delay, Timed::Transition(t)));
        }
    };
    match (lc, st) {
        // "More than 15 days after payment is overdue": the workspaces are
        // treated as abandoned and released
        // (flink.payg.released-after-15-days).
        (Lc::FlinkPaygWorkspace, Overdue) => after_overdue(
            &mut out,
            tr(
                Released,
                "released-after-15-days",
                "flink.payg.released-after-15-days",
            ),
        ),
        (Lc::FlinkSubWorkspace, Active | Overdue) => at_expiry(
            &mut out,
            TimeDelta::zero(),
            tr(Expired, "expires", "flink.sub.no-use-after-expiry"),
        ),
        (Lc::FlinkSubWorkspace, Expired)
        | (Lc::FlinkHybridWorkspace, Expired | ExpiredConverted) => at_expiry(
            &mut out,
            release,
            tr(
                Released,
                "released-after-expiry",
                "flink.expiry.released-after-15-days",
            ),
        ),
        // After 15 overdue days the storage counts as abandoned and all its
        // data is deleted (flink.sub.storage-abandoned,
        // flink.hybrid.storage-abandoned).
        (Lc::FlinkSubStorage, Blocked) => after_overdue(
            &mut out,
            tr(
                Deleted,
                "abandoned-after-15-days",
                "flink.sub.storage-abandoned",
            ),
        ),
        (Lc::FlinkHybridStorage, Blocked) => after_overdue(
            &mut out,
            tr(
                Deleted,
                "abandoned-after-15-days",
                "flink.hybrid.storage-abandoned",
            ),
        ),
        (Lc::FlinkHybridWorkspace, Active | Overdue) => {
            // Read `expiry-first`, an expiry due at the instant of the
            // conversion comes first (the earlier timer of two due at one
            // instant runs first).
            if ctx.hybrid_expiry_first {
                at_expiry(
                    &mut out,
                    TimeDelta::zero(),
                    tr(Expired, "expires", "flink.hybrid.no-use-after-expiry"),
                );
            }
            // "Hybrid billing", after 15 overdue days: the elastic resources
            // are given up and the workspace becomes a subscription one
            // (flink.hybrid.elastic-abandoned,
            // flink.hybrid.becomes-subscription).
            if st == Overdue {
                after_overdue(
                    &mut out,
                    tr(
                        ConvertedOverdue,
                        "converted-after-15-days",
                        "flink.hybrid.becomes-subscription",
                    ),
                );
            }
            if !ctx.hybrid_expiry_first {
                at_expiry(
                    &mut out,
                    TimeDelta::zero(),
                    tr(Expired, "expires", "flink.hybrid.no-use-after-expiry"),
                );
            }
        }
        (Lc::FlinkHybridWorkspace, Converted | ConvertedOverdue) => at_expiry(
            &mut out,
            TimeDelta::zero(),
            tr(
                ExpiredConverted,
                "expires-converted",
                "flink.hybrid.no-use-after-expiry",
            ),
        ),
        _ => {}
    }
    out.extend(expiry_reminder(lc, st, ctx));
    out
}

/// "Before expiration": the owner gets a reminder by email or text
/// (flink.expiry.reminders), seven days before (the specs' reading), once
/// per expiry and only while the workspace has not expired yet.
fn expiry_reminder(lc: Lc, st: St, ctx: &Ctx) -> Option<(DateTime<Utc>, Timed)> {
    if lc.reminds_before_expiry()
        && !ctx.reminded
        && let Some(e) = ctx.expires_at
        && ctx.now < e
        && !matches!(st, St::Released)
    {
        return Some((e - ctx.reminder_lead, Timed::ExpiryReminder));
    }
    None
}
