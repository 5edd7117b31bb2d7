//! Money: accounts (cash, vouchers, the credit alert) and bills (amount,
//! settlement date, status, attempts, the next scheduled attempt). These
//! are plain data with the arithmetic the documents fix; the engine decides
//! when money moves and logs it.
//!
//! Readings taken from the specs: a deduction or a payment uses vouchers
//! before cash (ecs.interp.deduction-source); a bill is paid whole or not at
//! all (ecs.interp.settlement-order).

use chrono::{DateTime, Utc};

use arrears::observation::BillStatus;

/// An account: its available credit is the cash balance plus vouchers
/// (ECS, opening paragraph; ecs.overdue.available-credit).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    /// May be negative after an EMR fee was taken into overdraft.
    pub cash: i64,
    pub vouchers: i64,
    /// The credit-alert threshold the owner set, if any.
    pub alert_threshold: Option<i64>,
    /// The alert is sent once per fall below the threshold; it is armed
    /// again when the credit is back at or above it.
    pub alert_armed: bool,
    /// Start of the current overdue period, while any bill is overdue.
    pub overdue_since: Option<DateTime<Utc>>,
}

impl Account {
    pub fn new(id: String, cash: i64, vouchers: i64, alert: Option<i64>) -> Account {
        Account {
            id,
            cash,
            vouchers,
            alert_threshold: alert,
            alert_armed: true,
            overdue_since: None,
        }
    }

    /// Cash plus vouchers.
    pub fn credit(&self) -> i64 {
        self.cash + self.vouchers
    }

    /// Takes `amount`, vouchers first, and returns (cash, vouchers) taken.
    /// The cash may go below zero: the caller decides whether that is
    /// allowed (only an EMR overdraft does it).
    pub fn take(&mut self, amount: i64) -> (i64, i64) {
        let from_vouchers = self.vouchers.min(amount).max(0);
        let from_cash = amount - from_vouchers;
        self.vouchers -= from_vouchers;
        self.cash -= from_cash;
        (from_cash, from_vouchers)
    }

    /// Re-evaluates the credit alert after the credit changed: true when
    /// the notification is to be sent now (ECS, "Set a credit alert": the
    /// owner is notified once the credit drops under the threshold;
    /// ecs.prevent.credit-alert).
    pub fn credit_alert_due(&mut self) -> bool {
        let Some(threshold) = self.alert_threshold else {
            return false;
        };
        if self.credit() < threshold {
            if self.alert_armed {
                self.alert_armed = false;
                return true;
            }
        } else {
            self.alert_armed = true;
        }
        false
    }
}

/// A bill: one billed charge of a resource, with settlement date T.
#[derive(Debug, Clone)]
pub struct Bill {
    /// `<resource>/<n>`.
    pub id: String,
    pub resource: usize,
    pub account: usize,
    pub amount: i64,
    pub settlement: DateTime<Utc>,
    pub status: BillStatus,
    pub attempts: u32,
    /// The next scheduled attempt and when it was scheduled (the engine's
    /// sequence number, which orders attempts due at the same instant).
    pub next: Option<(DateTime<Utc>, u64)>,
    /// Which entry of the product's schedule the next attempt is.
    pub schedule_index: usize,
}

impl Bill {
    /// Overdue in the sense of the documents: a deduction failed, or it was
    /// taken into a negative balance that has not come back to zero.
    pub fn is_overdue(&self) -> bool {
        matches!(self.status, BillStatus::Overdue | BillStatus::Overdrawn)
    }

    pub fn is_outstanding(&self) -> bool {
        self.status != BillStatus::Paid
    }
}
