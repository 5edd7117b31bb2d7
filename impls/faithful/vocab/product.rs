//! Products: one per policy document, with how each deducts its bills,
//! which of its operations incur fees, and the notifications its ledger
//! sends.

use chrono::TimeDelta;

use crate::faults::Faults;
use crate::policy;

/// A product: one policy document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Ecs,
    Emr,
    MaxCompute,
    Flink,
    Spark,
}

/// How a product deducts its bills.
#[derive(Debug, Clone)]
pub struct Billing {
    /// When each attempt is made, from the settlement date T.
    pub offsets: Vec<TimeDelta>,
    /// What an attempt the credit cannot cover does.
    pub shortfall: Shortfall,
    /// The rule every attempt cites.
    pub rule: &'static str,
}

/// What a failed deduction does when the credit does not cover a bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    /// The bill stays unpaid and overdue (ECS, MaxCompute, Flink).
    Fail,
    /// The fee is taken anyway and the cash goes negative (EMR).
    Overdraw,
}

/// The products whose documents name fee-incurring operations, in the order
/// an account's `fee_operations` lists them, each with those operations in
/// alphabetical order.
pub const FEE_PRODUCTS: [(Product, &[&str]); 4] = [
    (Product::Ecs, &["purchase", "renew", "upgrade"]),
    (Product::Emr, &["purchase", "renew"]),
    (Product::MaxCompute, &["renew"]),
    (Product::Flink, &["purchase", "renew"]),
];

impl Product {
    pub fn from_id(id: &str) -> Option<Product> {
        Some(match id {
            "ecs" => Product::Ecs,
            "emr" => Product::Emr,
            "maxcompute" => Product::MaxCompute,
            "flink" => Product::Flink,
            "spark" => Product::Spark,
            _ => return None,
        })
    }

    pub fn id(self) -> &'static str {
        match self {
            Product::Ecs => "ecs",
            Product::Emr => "emr",
            Product::MaxCompute => "maxcompute",
            Product::Flink => "flink",
            Product::Spark => "spark",
        }
    }

    /// Every operation the product's document lets a user ask for, sorted.
    pub fn operations(self) -> &'static [&'static str] {
        match self {
            Product::Ecs => &[
                "auto-snapshot",
                "connect",
                "create-custom-image",
                "create-snapshot",
                "economical-stop",
                "purchase",
                "reinitialize",
                "release",
                "renew",
                "set-auto-release",
                "start",
                "upgrade",
            ],
            Product::Emr => &["purchase", "release", "renew", "run-job"],
            Product::MaxCompute => &["release", "renew", "run-task"],
            Product::Flink => &[
                "access",
                "allocate-elastic",
                "checkpoint",
                "purchase",
                "release",
                "renew",
                "snapshot",
                "start",
            ],
            Product::Spark => &["run-job", "unsubscribe"],
        }
    }

    /// Operations that cost money (buying, renewing, upgrading).
    pub fn fee_incurring(self, op: &str) -> bool {
        FEE_PRODUCTS
            .iter()
            .any(|(p, ops)| *p == self && ops.contains(&op))
    }

    /// The rule that refuses fee-incurring operations while the account is
    /// overdue, for the documents that say so.
    pub fn fee_denial_rule(self, faults: &Faults) -> Option<&'static str> {
        match self {
            // ECS, "Subscription ECS resources": while overdue, nothing that
            // costs money (buying, upgrading, renewing) is allowed
            // (ecs.overdue.no-fee-operations).
            Product::Ecs => {
                if faults.has(crate::faults::Fault::FeeOperationsAllowedWhileOverdue) {
                    None
                } else {
                    Some("ecs.overdue.no-fee-operations")
                }
            }
            // "you cannot perform operations that generate fees".
            Product::Emr => Some("emr.overdue.no-fee-operations"),
            // Flink, "Subscription" and "Hybrid billing": while overdue,
            // operations that "incur fees" are refused, e.g. opening another
            // workspace or renewing.
            Product::Flink => Some("flink.sub.no-fee-operations"),
            // The MaxCompute and Spark documents refuse nothing for an
            // overdue account.
            Product::MaxCompute | Product::Spark => None,
        }
    }

    /// How the product's bills are deducted; `None` for a product without
    /// bills (Spark records consumption only).
    pub fn billing(self, faults: &Faults) -> Option<Billing> {
        let once = vec![TimeDelta::zero()];
        Some(match self {
            Product::Ecs => Billing {
                offsets: policy::ecs_deduction_offsets(faults),
                shortfall: Shortfall::Fail,
                rule: "ecs.payg.three-deduction-dates",
            },
            // EMR: fees are deducted as billed; an uncovered fee makes the
            // balance negative: deductions go on even below zero
            // (emr.payg.deducts-within-24-hours).
            Product::Emr => Billing {
                offsets: once,
                shortfall: Shortfall::Overdraw,
                rule: "emr.payg.automatic-deduction",
            },
            // MaxCompute: one attempt at the due date, no retry
            // (maxcompute.interp.no-retries).
            Product::MaxCompute => Billing {
                offsets: once,
                shortfall: Shortfall::Fail,
                rule: "maxcompute.payg.overdue-when-unpaid-at-due",
            },
            // Flink: one attempt when the bill is issued
            // (flink.interp.deduction).
            Product::Flink => Billing {
                offsets: once,
                shortfall: Shortfall::Fail,
                rule: "flink.opening.overdue-affects-business",
            },
            Product::Spark => return None,
        })
    }

    /// The reminder sent when one of the product's bills first fails.
    pub fn overdue_notification(self) -> Option<(&'static str, &'static str)> {
        match self {
            Product::Ecs => Some(("ecs.notify.overdue", "ecs.overdue.reminders")),
            Product::Emr => Some(("emr.notify.overdue", "emr.overdue.notification")),
            Product::MaxCompute => Some((
                "maxcompute.notify.overdue",
                "maxcompute.payg.reminder-by-default",
            )),
            Product::Flink | Product::Spark => None,
        }
    }

    /// The notice sent when a deduction of this product takes the cash
    /// balance from zero or above to below zero.
    pub fn negative_balance_notification(self) -> Option<(&'static str, &'static str)> {
        match self {
            // EMR: a balance below zero triggers a text or email notice
            // (emr.payg.negative-balance-notification).
            Product::Emr => Some((
                "emr.notify.negative-balance",
                "emr.payg.negative-balance-notification",
            )),
            _ => None,
        }
    }
}

/// The ledger's rule on what pays a bill or a purchase: the available
/// credit, i.e. the account balance plus vouchers (ECS, opening paragraph);
/// shared by every product.
pub const AVAILABLE_CREDIT_RULE: &str = "ecs.overdue.available-credit";

/// The credit alert of the ECS document ("Set a credit alert"), sent at the
/// account level whatever the products.
pub const CREDIT_ALERT: (&str, &str) = ("ecs.notify.credit-alert", "ecs.prevent.credit-alert");
