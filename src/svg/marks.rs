//! What the picture's colours and shapes mean: the colour of a state
//! segment (from the state's capabilities in the specs), its tooltip, and
//! the marker drawn for each kind of event.

use crate::spec::{Catalog, Data, LifecycleId, Serving};

use super::num;

/// The colour classes of a state segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    Serving,
    /// Not serving, data kept: the window in which paying still saves it.
    Retained,
    /// Data deleted or the resource is at its end.
    Gone,
    /// The specs do not say (or the state is not in the specs).
    Unspecified,
}

impl Meaning {
    pub(crate) fn of(catalog: &Catalog, lifecycle: Option<LifecycleId>, state: &str) -> Meaning {
        let Some(lc) = lifecycle.map(|l| catalog.lifecycle(l)) else {
            return Meaning::Unspecified;
        };
        let Some(s) = lc.state_named(state).map(|s| lc.state(s)) else {
            return Meaning::Unspecified;
        };
        // Gone first: a terminal state ends the resource whatever else it says.
        if s.data == Data::Deleted || s.terminal {
            Meaning::Gone
        } else if s.serving == Serving::Yes {
            Meaning::Serving
        } else if s.serving == Serving::No && s.data == Data::Retained {
            Meaning::Retained
        } else {
            Meaning::Unspecified
        }
    }

    pub(super) fn class(self) -> &'static str {
        match self {
            Meaning::Serving => "state-serving",
            Meaning::Retained => "state-retained",
            Meaning::Gone => "state-gone",
            Meaning::Unspecified => "state-unspecified",
        }
    }

    pub(crate) fn fill(self) -> &'static str {
        match self {
            Meaning::Serving => "#81c784",
            Meaning::Retained => "#ffc857",
            Meaning::Gone => "#a6a6a6",
            Meaning::Unspecified => "#bfe3f5",
        }
    }

    pub(crate) fn words(self) -> &'static str {
        match self {
            Meaning::Serving => "serving",
            Meaning::Retained => "not serving, data retained",
            Meaning::Gone => "data deleted or terminal",
            Meaning::Unspecified => "unspecified",
        }
    }

    pub(crate) const ALL: [Meaning; 4] = [
        Meaning::Serving,
        Meaning::Retained,
        Meaning::Gone,
        Meaning::Unspecified,
    ];
}

/// What the capabilities of a state say, for its tooltip.
pub(super) fn state_summary(
    catalog: &Catalog,
    lifecycle: Option<LifecycleId>,
    state: &str,
) -> String {
    let Some(lc) = lifecycle.map(|l| catalog.lifecycle(l)) else {
        return "not in the specs".to_string();
    };
    let Some(s) = lc.state_named(state).map(|s| lc.state(s)) else {
        return format!("not a state of {}", lc.id);
    };
    let serving = match s.serving {
        Serving::Yes => "serving",
        Serving::No => "not serving",
        Serving::Unspecified => "serving unspecified",
    };
    let data = match s.data {
        Data::Retained => "data retained",
        Data::Deleted => "data deleted",
        Data::Unspecified => "data unspecified",
    };
    let billing = match s.billing {
        crate::spec::BillingStatus::Running => "billing running",
        crate::spec::BillingStatus::Ceased => "billing ceased",
        crate::spec::BillingStatus::Unspecified => "billing unspecified",
    };
    let terminal = if s.terminal { ", terminal" } else { "" };
    format!("{serving}, {data}, {billing}{terminal}")
}

// ----- markers ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    Paid,
    Failed,
    Overdrawn,
    TopUp,
    Voucher,
    Notification,
    Denied,
    Refund,
}

impl Mark {
    pub(super) fn class(self) -> &'static str {
        match self {
            Mark::Paid => "deduction-paid",
            Mark::Failed => "deduction-failed",
            Mark::Overdrawn => "deduction-overdrawn",
            Mark::TopUp => "top-up",
            Mark::Voucher => "voucher",
            Mark::Notification => "notification",
            Mark::Denied => "operation-denied",
            Mark::Refund => "refund",
        }
    }

    pub(super) fn words(self) -> &'static str {
        match self {
            Mark::Paid => "deduction paid",
            Mark::Failed => "deduction failed",
            Mark::Overdrawn => "deduction overdrawn",
            Mark::TopUp => "top-up",
            Mark::Voucher => "voucher",
            Mark::Notification => "notification",
            Mark::Denied => "operation denied",
            Mark::Refund => "refund",
        }
    }

    pub(super) const ALL: [Mark; 8] = [
        Mark::Paid,
        Mark::Failed,
        Mark::Overdrawn,
        Mark::TopUp,
        Mark::Voucher,
        Mark::Notification,
        Mark::Denied,
        Mark::Refund,
    ];

    /// The marker's shape, centred on (x, y).
    pub(super) fn shape(self, x: f64, y: f64) -> String {
        let p = |dx: f64, dy: f64| format!("{} {}", num(x + dx), num(y + dy));
        match self {
            Mark::Paid => format!(
                r##"<circle cx="{}" cy="{}" r="3.5" fill="#2e7d32"/>"##,
                num(x),
                num(y)
            ),
            Mark::Failed => format!(
                r##"<path d="M {} L {} M {} L {}" stroke="#d32f2f" stroke-width="2" fill="none"/>"##,
                p(-3.5, -3.5),
                p(3.5, 3.5),
                p(-3.5, 3.5),
                p(3.5, -3.5)
            ),
            Mark::Overdrawn => format!(
                r##"<path d="M {} L {} L {} Z" fill="#ef6c00"/>"##,
                p(0.0, -4.0),
                p(4.5, 4.0),
                p(-4.5, 4.0)
            ),
            Mark::TopUp | Mark::Voucher => {
                let fill = if self == Mark::TopUp {
                    "#1565c0"
                } else {
                    "#42a5f5"
                };
                format!(
                    r#"<path d="M {} L {} L {} L {} L {} L {} L {} Z" fill="{fill}"/>"#,
                    p(0.0, -5.0),
                    p(4.5, 0.0),
                    p(1.5, 0.0),
                    p(1.5, 5.0),
                    p(-1.5, 5.0),
                    p(-1.5, 0.0),
                    p(-4.5, 0.0)
                )
            }
            Mark::Notification => format!(
                r##"<path d="M {} L {} L {} L {} Z" fill="#8e44ad"/>"##,
                p(0.0, -4.5),
                p(4.5, 0.0),
                p(0.0, 4.5),
                p(-4.5, 0.0)
            ),
            Mark::Denied => format!(
                r##"<rect x="{}" y="{}" width="3" height="10" fill="#b71c1c"/>"##,
                num(x - 1.5),
                num(y - 5.0)
            ),
            Mark::Refund => format!(
                r##"<text x="{}" y="{}" font-size="11" font-weight="bold" text-anchor="middle" fill="#00796b">$</text>"##,
                num(x),
                num(y + 4.0)
            ),
        }
    }
}
