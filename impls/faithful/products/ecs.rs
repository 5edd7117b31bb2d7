//! Elastic Compute Service: the state machines of pay-as-you-go instances
//! and everything attached to them (disks, local disks, static IP,
//! snapshots, custom images), elastic IPs, standalone pay-as-you-go disks,
//! and subscription instances with their pay-as-you-go disks and
//! pay-by-traffic bandwidth. Source: ecs-overdue-payments.txt.

use arrears::observation::{BillingStatus as B, Data as D, Serving as S};
use chrono::{DateTime, TimeDelta, Utc};

use crate::faults::{Fault, Faults};
use crate::policy;
use crate::vocab::{Ctx, Effect, Lc, OpAnswer, Signal, St, Timed, Tr, Traits, gone, tr, traits};

pub fn initial(lc: Lc) -> St {
    match lc {
        Lc::EcsPaygInstance => St::Running,
        Lc::EcsPaygDataDisk | Lc::EcsPaygLocalDisk | Lc::EcsPaygDisk | Lc::EcsSubPaygDisk => {
            St::InService
        }
        Lc::EcsStaticIp => St::Assigned,
        Lc::EcsEip => St::Allocated,
        Lc::EcsSnapshot => St::Retained,
        Lc::EcsCustomImage => St::Available,
        Lc::EcsImageSystemDisk => St::ImageKept,
        Lc::EcsSubInstance => St::Active,
        Lc::EcsSubBandwidth => St::Available,
        _ => unreachable!("not an ECS lifecycle"),
    }
}

// A declarative table over every (lifecycle, state) pair: one arm per row, so it stays whole.
/// `entered_by` is the rule of the transition that brought the resource
/// into its state.
pub fn traits_of(
    lc: Lc,
    st: St,
    entered_by: &str,
    account_overdue: bool,
    faults: &Faults,
) -> Traits {
    use St::*;
    match (lc, st) {
        // "Within 15 days after the payment is overdue": the instance keeps
        // running and stays usable (ecs.payg.usable-within-15-days).
        (Lc::EcsPaygInstance, Running | Overdue) => traits(S::Yes, D::Retained, B::Running),
        // Economical mode recycles vCPUs, GPUs and memory; whether it is
        // billed is not said.
        (Lc::EcsPaygInstance, EconomicalStopped | EconomicalStoppedOverdue) => {
            traits(S::No, D::Retained, B::Unspecified)
        }
        // "the instance is stopped and billing ceases on T+15"; computing
        // resources are retained but nothing is served.
        (Lc::EcsPaygInstance, Stopped | StoppedSettled) => traits(S::No, D::Retained, B::Ceased),
        // "The computing resources (vCPUs, GPUs, and memory) are released."
        // The fault `released-data-comes-back` only pretends to release
        // them 15 days after the stop: the data stays, and settling brings
        // the instance back.
        (Lc::EcsPaygInstance, Released) => {
            if faults.has(Fault::ReleasedDataComesBack) && entered_by == RELEASE_AFTER_STOP {
                gone(S::No, D::Retained)
            } else {
                gone(S::No, D::Deleted)
            }
        }

        (Lc::EcsPaygDataDisk | Lc::EcsPaygLocalDisk, InService) => {
            traits(S::Yes, D::Retained, B::Unspecified)
        }
        // "Disks and their data are retained, but the disks stop providing
        // services."
        (Lc::EcsPaygDataDisk | Lc::EcsPaygLocalDisk, OutOfService) => {
            traits(S::No, D::Retained, B::Unspecified)
        }
        (Lc::EcsPaygDataDisk | Lc::EcsPaygLocalDisk, Released) => gone(S::No, D::Deleted),

        (Lc::EcsPaygDisk, InService | Overdue) => traits(S::Yes, D::Retained, B::Running),
        (Lc::EcsPaygDisk, OutOfService) => traits(S::No, D::Retained, B::Ceased),
        (Lc::EcsPaygDisk, Released) => gone(S::No, D::Deleted),

        (Lc::EcsStaticIp, Assigned) => traits(S::Yes, D::Retained, B::Unspecified),
        // "The static public IP address is retained."
        (Lc::EcsStaticIp, Retained) => traits(S::No, D::Retained, B::Unspecified),
        (Lc::EcsStaticIp, Released) => gone(S::No, D::Deleted),

        // The EIP's own overdue handling is in another document.
        (Lc::EcsEip, Allocated) => traits(S::Unspecified, D::Unspecified, B::Unspecified),
        (Lc::EcsEip, Released) => gone(S::No, D::Deleted),

        (Lc::EcsSnapshot, Retained) => traits(S::Yes, D::Retained, B::Unspecified),
        (Lc::EcsSnapshot, Deleted) => gone(S::No, D::Deleted),
        (Lc::EcsCustomImage, Available) => traits(S::Yes, D::Retained, B::Unspecified),
        (Lc::EcsCustomImage, Deleted) => gone(S::No, D::Deleted),
        // "the deletion of the custom image does not affect the use of the
        // instances": only re-initializing the system disk goes.
        (Lc::EcsImageSystemDisk, ImageKept | ImageDeleted) => {
            traits(S::Unspecified, D::Retained, B::Unspecified)
        }

        // "Subscription ECS resources": what is already paid for stays
        // usable while the account is overdue (ecs.sub.usable-while-overdue).
        (Lc::EcsSubInstance, Active) => {
            if account_overdue && faults.has(Fault::SubscriptionStoppedWhileOverdue) {
                traits(S::No, D::Retained, B::Unspecified)
            } else {
                traits(S::Yes, D::Retained, B::Unspecified)
            }
        }
        // What follows an expiry is in another document.
        (Lc::EcsSubInstance, Expired) => traits(S::Unspecified, D::Unspecified, B::Unspecified),

        (Lc::EcsSubPaygDisk, InService) => traits(S::Yes, D::Retained, B::Running),
        // An overdue account puts such a disk (and pay-by-traffic
        // bandwidth) out of use (ecs.sub.attached-payg-disk-unavailable);
        // the disk is still billed.
        (Lc::EcsSubPaygDisk, Unavailable) => traits(S::No, D::Retained, B::Running),
        (Lc::EcsSubPaygDisk, OutOfService) => traits(S::No, D::Retained, B::Ceased),
        (Lc::EcsSubPaygDisk, Released) => gone(S::No, D::Deleted),

        (Lc::EcsSubBandwidth, Available) => traits(S::Yes, D::Unspecified, B::Running),
        (Lc::EcsSubBandwidth, Unavailable) => traits(S::No, D::Unspecified, B::Unspecified),
        _ => unreachable!("{lc:?} has no state {st:?}"),
    }
}

/// Operations a state refuses by itself, with the rule that refuses them.
pub fn refusal(lc: Lc, st: St, op: &str) -> Option<&'static str> {
    use St::*;
    match (lc, st, op) {
        (Lc::EcsPaygInstance, EconomicalStopped | EconomicalStoppedOverdue, "connect") => {
            Some("ecs.payg.economical-mode-recycles")
        }
        // "After the payment becomes overdue, the ECS instance may fail to
        // restart."
        (Lc::EcsPaygInstance, EconomicalStoppedOverdue, "start") => {
            Some("ecs.payg.economical-mode-restart-may-fail")
        }
        (Lc::EcsPaygInstance, Stopped | StoppedSettled, "connect") => {
            Some("ecs.stopped.no-remote-connection")
        }
        (Lc::EcsPaygInstance, Stopped, "start") => Some("ecs.payg.stop-at-t15"),
        (Lc::EcsPaygInstance, Stopped, "create-snapshot") => {
            Some("ecs.stopped.no-manual-snapshots")
        }
        (Lc::EcsPaygInstance, Stopped, "auto-snapshot") => {
            Some("ecs.stopped.no-automatic-snapshots")
        }
        (Lc::EcsPaygInstance, Stopped, "create-custom-image") => {
            Some("ecs.stopped.custom-image-creation-fails")
        }
        // "you cannot re-initialize the system disks of the instances".
        (Lc::EcsImageSystemDisk, ImageDeleted, "reinitialize") => {
            Some("ecs.released.image-users-cannot-reinitialize")
        }
        _ => None,
    }
}

/// The rule of the release 15 days after an overdue stop.
const RELEASE_AFTER_STOP: &str = "ecs.payg.release-after-stopped-15-days";

// A declarative table over every (lifecycle, state, signal) triple: one arm per row, so it stays whole.
/// `entered_by` is the rule of the transition that brought the resource
/// into its state.
pub fn on_signal(lc: Lc, st: St, entered_by: &str, signal: Signal, faults: &Faults) -> Option<Tr> {
    use St::*;
    let overdue = |to| {
        tr(
            to,
            "becomes-overdue",
            "ecs.payg.overdue-on-failed-deduction",
        )
    };
    match (lc, st, signal) {
        // A failed deduction at T makes the instance's payment overdue
        // (ecs.payg.overdue-on-failed-deduction).
        (Lc::EcsPaygInstance, Running, Signal::Overdue) => Some(overdue(Overdue)),
        (Lc::EcsPaygInstance, Overdue, Signal::Settled) => {
            Some(tr(Running, "settled-before-stop", "ecs.settle.pay-now"))
        }
        (Lc::EcsPaygInstance, EconomicalStopped, Signal::Overdue) => Some(tr(
            EconomicalStoppedOverdue,
            "economical-stopped-becomes-overdue",
            "ecs.payg.overdue-on-failed-deduction",
        )),
        (Lc::EcsPaygInstance, EconomicalStoppedOverdue, Signal::Settled) => Some(tr(
            EconomicalStopped,
            "economical-stopped-settled",
            "ecs.settle.pay-now",
        )),
        // "Complete overdue payments": once the debt is paid, instances the
        // debt had stopped are started again by the system
        // (ecs.settle.auto-restart).
        (Lc::EcsPaygInstance, Stopped, Signal::Settled) => {
            if faults.has(Fault::NoRestartAfterSettlement) {
                None
            } else {
                Some(tr(
                    Running,
                    "restart-after-settlement",
                    "ecs.settle.auto-restart",
                ))
            }
        }
        (Lc::EcsPaygInstance, Released, Signal::Settled)
            if faults.has(Fault::ReleasedDataComesBack) && entered_by == RELEASE_AFTER_STOP =>
        {
            Some(tr(
                Running,
                "restart-after-settlement",
                "ecs.settle.auto-restart",
            ))
        }

        (Lc::EcsPaygDisk, InService, Signal::Overdue) => Some(overdue(Overdue)),
        (Lc::EcsPaygDisk, Overdue, Signal::Settled) => {
            Some(tr(InService, "settled-before-stop", "ecs.settle.pay-now"))
        }
        (Lc::EcsPaygDisk, OutOfService, Signal::Settled) => Some(tr(
            InService,
            "back-in-service-after-settlement",
            "ecs.settle.auto-restart",
        )),

        // The pay-as-you-go disk of a subscription instance follows the
        // account: unavailable while it is overdue.
        (Lc::EcsSubPaygDisk, InService, Signal::AccountOverdue) => Some(tr(
            Unavailable,
            "unavailable-while-account-overdue",
            "ecs.sub.attached-payg-disk-unavailable",
        )),
        (Lc::EcsSubPaygDisk, Unavailable, Signal::AccountSettled) => Some(tr(
            InService,
            "available-after-settlement",
            "ecs.sub.attached-payg-disk-unavailable",
        )),
        (Lc::EcsSubPaygDisk, OutOfService, Signal::AccountSettled) => Some(tr(
            InService,
            "back-after-settlement",
            "ecs.settle.auto-restart",
        )),
        (Lc::EcsSubBandwidth, Available, Signal::AccountOverdue) => Some(tr(
            Unavailable,
            "unavailable-while-account-overdue",
            "ecs.sub.pay-by-traffic-bandwidth-unavailable",
        )),
        (Lc::EcsSubBandwidth, Unavailable, Signal::AccountSettled) => Some(tr(
            Available,
            "available-after-settlement",
            "ecs.sub.pay-by-traffic-bandwidth-unavailable",
        )),
        _ => None,
    }
}

/// What an attached resource does when the instance (or snapshot) it
/// belongs to enters a state.
pub fn on_parent(lc: Lc, st: St, parent: St, faults: &Faults) -> Option<Tr> {
    use St::*;
    match (lc, st, parent) {
        // The fault: disks forget to come back with their instance.
        (Lc::EcsPaygDataDisk | Lc::EcsPaygLocalDisk, OutOfService, Running)
            if faults.has(Fault::DisksStayOutAfterSettlement) =>
        {
            None
        }
        (Lc::EcsPaygDataDisk, InService, Stopped) => Some(tr(
            OutOfService,
            "out-of-service-with-instance",
            "ecs.stopped.disks-retained",
        )),
        (Lc::EcsPaygDataDisk, OutOfService, Running) => Some(tr(
            InService,
            "back-in-service-with-instance",
            "ecs.settle.auto-restart",
        )),
        (Lc::EcsPaygDataDisk, InService | OutOfService, Released) => Some(tr(
            Released,
            "released-with-instance",
            "ecs.released.disks-deleted",
        )),
        (Lc::EcsPaygLocalDisk, InService, Stopped) => Some(tr(
            OutOfService,
            "out-of-service-with-instance",
            "ecs.stopped.local-disks-retained",
        )),
        (Lc::EcsPaygLocalDisk, OutOfService, Running) => Some(tr(
            InService,
            "back-in-service-with-instance",
            "ecs.settle.auto-restart",
        )),
        (Lc::EcsPaygLocalDisk, InService | OutOfService, Released) => Some(tr(
            Released,
            "released-with-instance",
            "ecs.released.local-disks-deleted",
        )),
        (Lc::EcsStaticIp, Assigned, Stopped) => Some(tr(
            Retained,
            "kept-while-stopped",
            "ecs.stopped.static-ip-retained",
        )),
        (Lc::EcsStaticIp, Retained, Running) => {
            Some(tr(Assigned, "assigned-again", "ecs.settle.auto-restart"))
        }
        (Lc::EcsStaticIp, Assigned | Retained, Released) => Some(tr(
            Released,
            "released-with-instance",
            "ecs.released.static-ip-released",
        )),
        // "All snapshot resources are deleted" with the instance's release.
        (Lc::EcsSnapshot, Retained, Released) => Some(tr(
            Deleted,
            "deleted-with-instance",
            "ecs.released.snapshots-deleted",
        )),
        (Lc::EcsCustomImage, Available, Deleted) => Some(tr(
            Deleted,
            "deleted-with-snapshot",
            "ecs.released.custom-image-deleted",
        )),
        (Lc::EcsImageSystemDisk, ImageKept, Deleted) => Some(tr(
            ImageDeleted,
            "image-deleted",
            "ecs.released.image-users-cannot-reinitialize",
        )),
        _ => None,
    }
}

pub fn on_operation(lc: Lc, st: St, op: &str) -> OpAnswer {
    use St::*;
    let user_release = tr(Released, "user-release", "ecs.prevent.release-unused");
    match (lc, st, op) {
        (Lc::EcsPaygInstance, Running, "economical-stop") => OpAnswer::Fire(tr(
            EconomicalStopped,
            "economical-stop",
            "ecs.payg.economical-mode-recycles",
        )),
        (Lc::EcsPaygInstance, Overdue, "economical-stop") => OpAnswer::Fire(tr(
            EconomicalStoppedOverdue,
            "economical-stop-while-overdue",
            "ecs.payg.economical-mode-recycles",
        )),
        (Lc::EcsPaygInstance, EconomicalStopped, "start") => OpAnswer::Fire(tr(
            Running,
            "start-after-economical-stop",
            "ecs.payg.economical-mode-restart-may-fail",
        )),
        // "If an instance fails to restart automatically, you can start it
        // manually."
        (Lc::EcsPaygInstance, StoppedSettled, "start") => OpAnswer::Fire(tr(
            Running,
            "started-by-hand-after-settlement",
            "ecs.settle.manual-start",
        )),
        (
            Lc::EcsPaygInstance,
            Running
            | Overdue
            | EconomicalStopped
            | EconomicalStoppedOverdue
            | Stopped
            | StoppedSettled,
            "release",
        ) => OpAnswer::Fire(user_release),
        (Lc::EcsPaygDataDisk, InService | OutOfService, "release") => OpAnswer::Fire(user_release),
        (Lc::EcsPaygDisk, InService | Overdue | OutOfService, "release") => {
            OpAnswer::Fire(user_release)
        }
        (Lc::EcsEip, Allocated, "release") => OpAnswer::Fire(user_release),
        (Lc::EcsSubInstance, Expired, "renew") => OpAnswer::Fire(tr(
            Active,
            "renewed-after-expiry",
            "ecs.sub.expiration-date",
        )),
        (Lc::EcsSubPaygDisk, InService | Unavailable | OutOfService, "release") => {
            OpAnswer::Fire(user_release)
        }
        _ => OpAnswer::Allowed,
    }
}

/// The timed transitions of the current state, with their due instants, in
/// the order the policy lists them.
pub fn timers(lc: Lc, st: St, ctx: &Ctx, faults: &Faults) -> Vec<(DateTime<Utc>, Timed)> {
    use St::*;
    let mut out = Vec::new();
    let stop_after = policy::ecs_stop_after_overdue(faults);
    let release_after = policy::ecs_release_after_stop(faults);
    match (lc, st) {
        (Lc::EcsPaygInstance, _) => out = payg_instance_timers(st, ctx, stop_after, release_after),
        // A standalone disk, or a pay-as-you-go disk of a subscription
        // instance, stops on its own bills and is released 15 days later
        // (ecs.interp.standalone-disks).
        (Lc::EcsPaygDisk, Overdue) | (Lc::EcsSubPaygDisk, Unavailable) => {
            if let Some(t) = ctx.oldest_overdue_bill {
                out.push((
                    t + stop_after,
                    Timed::Transition(tr(OutOfService, "stop-at-t15", "ecs.payg.stop-at-t15")),
                ));
            }
        }
        // Read the `t15` way (ecs.interp.attached-unavailable), the disk and
        // the bandwidth of a subscription instance become unavailable 15
        // days into the account's overdue episode.
        (Lc::EcsSubPaygDisk, InService) | (Lc::EcsSubBandwidth, Available)
            if ctx.attached_unavailable_at_t15 =>
        {
            if let Some(since) = ctx.account_overdue_since {
                let rule = if lc == Lc::EcsSubPaygDisk {
                    "ecs.sub.attached-payg-disk-unavailable"
                } else {
                    "ecs.sub.pay-by-traffic-bandwidth-unavailable"
                };
                out.push((
                    since + stop_after,
                    Timed::Transition(tr(Unavailable, "unavailable-from-t15", rule)),
                ));
            }
        }
        (Lc::EcsPaygDisk | Lc::EcsSubPaygDisk, OutOfService) => {
            out.push((
                ctx.since + release_after,
                Timed::Transition(tr(
                    Released,
                    "release-after-stop",
                    "ecs.released.data-disks-regardless-of-attachment",
                )),
            ));
        }
        // "Subscription ECS resources have an expiration date."
        (Lc::EcsSubInstance, Active) => {
            if let Some(e) = ctx.expires_at {
                out.push((
                    e,
                    Timed::Transition(tr(Expired, "expires", "ecs.sub.expiration-date")),
                ));
            }
        }
        _ => {}
    }
    out
}

/// The timed transitions of a pay-as-you-go instance: the stop at T+15, the
/// release 15 days into the stop, and its automatic release time.
fn payg_instance_timers(
    st: St,
    ctx: &Ctx,
    stop_after: TimeDelta,
    release_after: TimeDelta,
) -> Vec<(DateTime<Utc>, Timed)> {
    use St::*;
    let mut out = Vec::new();
    // "the instance is stopped and billing ceases on T+15", T of the
    // oldest bill still overdue.
    if matches!(st, Overdue | EconomicalStoppedOverdue)
        && let Some(t) = ctx.oldest_overdue_bill
    {
        out.push((
            t + stop_after,
            Timed::Transition(tr(Stopped, "stop-at-t15", "ecs.payg.stop-at-t15")),
        ));
    }
    // 15 days into the stop the pay-as-you-go resources start being
    // released (ecs.payg.release-after-stopped-15-days), with an
    // email about the computing resources.
    if st == Stopped {
        out.push((
            ctx.since + release_after,
            Timed::Transition(Tr {
                to: Released,
                id: "release-after-stop",
                rule: RELEASE_AFTER_STOP,
                effect: Effect::Notify(
                    "ecs.notify.compute-released",
                    "ecs.released.email-notification",
                ),
            }),
        ));
    }
    // "Enable the automatic release feature for pay-as-you-go
    // instances".
    if matches!(
        st,
        Running | Overdue | EconomicalStopped | EconomicalStoppedOverdue | Stopped | StoppedSettled
    ) && let Some(at) = ctx.auto_release_at
    {
        out.push((
            at,
            Timed::Transition(tr(
                Released,
                "auto-release",
                "ecs.prevent.auto-release-time",
            )),
        ));
    }
    out
}
