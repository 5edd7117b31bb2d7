//! States: their ids, and what a state provides (serving, data, billing)
//! as the product modules' state tables write it.

use arrears::observation::{BillingStatus, Data, Serving};

/// A state of some lifecycle; its id is the specs' state id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum St {
    Running,
    Overdue,
    EconomicalStopped,
    EconomicalStoppedOverdue,
    Stopped,
    Released,
    InService,
    OutOfService,
    Assigned,
    Retained,
    Allocated,
    Deleted,
    Available,
    Active,
    Expired,
    Unavailable,
    Suspended,
    Locked,
    Blocked,
    LeftBehind,
    KeptInOss,
    Uploaded,
    ConvertedOverdue,
    /// An ECS instance stopped for an overdue payment, now paid, that the
    /// system did not restart (ecs.interp.restart-may-fail read `by-hand`).
    StoppedSettled,
    Converted,
    ExpiredConverted,
    Abandoned,
    Present,
    Unused,
    Used,
    Unsubscribed,
    ImageKept,
    ImageDeleted,
}

impl St {
    pub fn id(self) -> &'static str {
        use St::*;
        match self {
            Running => "running",
            Overdue => "overdue",
            EconomicalStopped => "economical-stopped",
            EconomicalStoppedOverdue => "economical-stopped-overdue",
            Stopped => "stopped",
            Released => "released",
            InService => "in-service",
            OutOfService => "out-of-service",
            Assigned => "assigned",
            Retained => "retained",
            Allocated => "allocated",
            Deleted => "deleted",
            Available => "available",
            Active => "active",
            Expired => "expired",
            Unavailable => "unavailable",
            Suspended => "suspended",
            Locked => "locked",
            Blocked => "blocked",
            LeftBehind => "left-behind",
            KeptInOss => "kept-in-oss",
            Uploaded => "uploaded",
            StoppedSettled => "stopped-settled",
            ConvertedOverdue => "converted-overdue",
            Converted => "converted",
            ExpiredConverted => "expired-converted",
            Abandoned => "abandoned",
            Present => "present",
            Unused => "unused",
            Used => "used",
            Unsubscribed => "unsubscribed",
            ImageKept => "image-kept",
            ImageDeleted => "image-deleted",
        }
    }
}

/// What a state provides.
#[derive(Debug, Clone, Copy)]
pub struct Traits {
    pub serving: Serving,
    pub data: Data,
    pub billing: BillingStatus,
    /// Nothing leaves a terminal state and every operation is refused.
    pub terminal: bool,
}

/// Shorthand for the product modules' state tables.
pub const fn traits(serving: Serving, data: Data, billing: BillingStatus) -> Traits {
    Traits {
        serving,
        data,
        billing,
        terminal: false,
    }
}

/// A terminal state: no service, billing ceased, with its data as given.
pub const fn gone(serving: Serving, data: Data) -> Traits {
    Traits {
        serving,
        data,
        billing: BillingStatus::Ceased,
        terminal: true,
    }
}
