//! The shared vocabulary of the engine: products, the lifecycle each kind
//! of resource follows, states, transitions, and what a product's state
//! machine answers. The ids are the specs' ids, because the conformance
//! suite reads observations in that vocabulary; the behaviour behind them
//! lives in the product modules (`products/*.rs`).

use chrono::{DateTime, TimeDelta, Utc};

use arrears::observation::{BillingMethod, BillingStatus, Data, Serving};

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

/// The lifecycle a resource follows: one per (product, kind, billing,
/// parent) the documents describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lc {
    EcsPaygInstance,
    EcsPaygDataDisk,
    EcsPaygLocalDisk,
    EcsPaygDisk,
    EcsStaticIp,
    EcsEip,
    EcsSnapshot,
    EcsCustomImage,
    EcsImageSystemDisk,
    EcsSubInstance,
    EcsSubPaygDisk,
    EcsSubBandwidth,
    EmrPaygCluster,
    EmrSubCluster,
    McSubInstance,
    McPaygInstance,
    FlinkPaygWorkspace,
    FlinkPaygJob,
    FlinkPaygStorage,
    FlinkSubWorkspace,
    FlinkSubJob,
    FlinkSubStorage,
    FlinkHybridWorkspace,
    FlinkHybridElasticJob,
    FlinkHybridFixedJob,
    FlinkHybridStorage,
    FlinkSubUpload,
    FlinkHybridUpload,
    SparkWorkspace,
    SparkJob,
    SparkPlan,
}

impl Lc {
    /// Which lifecycle a resource follows, from its product, kind, billing
    /// method and the lifecycle of its parent.
    pub fn resolve(product: Product, kind: &str, billing: &str, parent: Option<Lc>) -> Option<Lc> {
        use Lc::*;
        Some(match (product, kind, billing, parent) {
            (Product::Ecs, "instance", "pay-as-you-go", None) => EcsPaygInstance,
            (Product::Ecs, "disk", "not-billed", Some(EcsPaygInstance)) => EcsPaygDataDisk,
            (Product::Ecs, "local-disk", "not-billed", Some(EcsPaygInstance)) => EcsPaygLocalDisk,
            (Product::Ecs, "disk", "pay-as-you-go", None) => EcsPaygDisk,
            (Product::Ecs, "static-ip", "not-billed", Some(EcsPaygInstance)) => EcsStaticIp,
            (Product::Ecs, "eip", "not-billed", None) => EcsEip,
            (Product::Ecs, "snapshot", "not-billed", Some(EcsPaygInstance)) => EcsSnapshot,
            (Product::Ecs, "custom-image", "not-billed", Some(EcsSnapshot)) => EcsCustomImage,
            (Product::Ecs, "system-disk", "not-billed", Some(EcsCustomImage)) => EcsImageSystemDisk,
            (Product::Ecs, "instance", "subscription", None) => EcsSubInstance,
            (Product::Ecs, "disk", "pay-as-you-go", Some(EcsSubInstance)) => EcsSubPaygDisk,
            (Product::Ecs, "bandwidth", "pay-as-you-go", Some(EcsSubInstance)) => EcsSubBandwidth,
            (Product::Emr, "cluster", "pay-as-you-go", None) => EmrPaygCluster,
            (Product::Emr, "cluster", "subscription", None) => EmrSubCluster,
            (Product::MaxCompute, "instance", "subscription", None) => McSubInstance,
            (Product::MaxCompute, "instance", "pay-as-you-go", None) => McPaygInstance,
            (Product::Flink, "workspace", "pay-as-you-go", None) => FlinkPaygWorkspace,
            (Product::Flink, "job", "not-billed", Some(FlinkPaygWorkspace)) => FlinkPaygJob,
            (Product::Flink, "storage", "pay-as-you-go", Some(FlinkPaygWorkspace)) => {
                FlinkPaygStorage
            }
            (Product::Flink, "workspace", "subscription", None) => FlinkSubWorkspace,
            (Product::Flink, "job", "not-billed", Some(FlinkSubWorkspace)) => FlinkSubJob,
            (Product::Flink, "storage", "pay-as-you-go", Some(FlinkSubWorkspace)) => {
                FlinkSubStorage
            }
            (Product::Flink, "workspace", "hybrid", None) => FlinkHybridWorkspace,
            (Product::Flink, "elastic-job", "not-billed", Some(FlinkHybridWorkspace)) => {
                FlinkHybridElasticJob
            }
            (Product::Flink, "fixed-job", "not-billed", Some(FlinkHybridWorkspace)) => {
                FlinkHybridFixedJob
            }
            (Product::Flink, "storage", "pay-as-you-go", Some(FlinkHybridWorkspace)) => {
                FlinkHybridStorage
            }
            (Product::Flink, "upload", "not-billed", Some(FlinkSubWorkspace)) => FlinkSubUpload,
            (Product::Flink, "upload", "not-billed", Some(FlinkHybridWorkspace)) => {
                FlinkHybridUpload
            }
            (Product::Spark, "workspace", "subscription", None) => SparkWorkspace,
            (Product::Spark, "job", "not-billed", Some(SparkWorkspace)) => SparkJob,
            (Product::Spark, "resource-plan", "subscription", None) => SparkPlan,
            _ => return None,
        })
    }

    pub fn product(self) -> Product {
        use Lc::*;
        match self {
            EcsPaygInstance | EcsPaygDataDisk | EcsPaygLocalDisk | EcsPaygDisk | EcsStaticIp
            | EcsEip | EcsSnapshot | EcsCustomImage | EcsImageSystemDisk | EcsSubInstance
            | EcsSubPaygDisk | EcsSubBandwidth => Product::Ecs,
            EmrPaygCluster | EmrSubCluster => Product::Emr,
            McSubInstance | McPaygInstance => Product::MaxCompute,
            FlinkPaygWorkspace
            | FlinkPaygJob
            | FlinkPaygStorage
            | FlinkSubWorkspace
            | FlinkSubJob
            | FlinkSubStorage
            | FlinkHybridWorkspace
            | FlinkHybridElasticJob
            | FlinkHybridFixedJob
            | FlinkHybridStorage
            | FlinkSubUpload
            | FlinkHybridUpload => Product::Flink,
            SparkWorkspace | SparkJob | SparkPlan => Product::Spark,
        }
    }

    pub fn id(self) -> &'static str {
        use Lc::*;
        match self {
            EcsPaygInstance => "ecs.payg-instance",
            EcsPaygDataDisk => "ecs.payg-data-disk",
            EcsPaygLocalDisk => "ecs.payg-local-disk",
            EcsPaygDisk => "ecs.payg-disk",
            EcsStaticIp => "ecs.static-ip",
            EcsEip => "ecs.eip",
            EcsSnapshot => "ecs.snapshot",
            EcsCustomImage => "ecs.custom-image",
            EcsImageSystemDisk => "ecs.image-system-disk",
            EcsSubInstance => "ecs.subscription-instance",
            EcsSubPaygDisk => "ecs.subscription-payg-disk",
            EcsSubBandwidth => "ecs.subscription-bandwidth",
            EmrPaygCluster => "emr.payg-cluster",
            EmrSubCluster => "emr.subscription-cluster",
            McSubInstance => "maxcompute.subscription-instance",
            McPaygInstance => "maxcompute.payg-instance",
            FlinkPaygWorkspace => "flink.payg-workspace",
            FlinkPaygJob => "flink.payg-job",
            FlinkPaygStorage => "flink.payg-storage",
            FlinkSubWorkspace => "flink.subscription-workspace",
            FlinkSubJob => "flink.subscription-job",
            FlinkSubStorage => "flink.subscription-storage",
            FlinkHybridWorkspace => "flink.hybrid-workspace",
            FlinkHybridElasticJob => "flink.hybrid-elastic-job",
            FlinkHybridFixedJob => "flink.hybrid-fixed-job",
            FlinkHybridStorage => "flink.hybrid-storage",
            FlinkSubUpload => "flink.subscription-upload",
            FlinkHybridUpload => "flink.hybrid-upload",
            SparkWorkspace => "spark.workspace",
            SparkJob => "spark.job",
            SparkPlan => "spark.resource-plan",
        }
    }

    /// Whether usage of the resource is billed: pay-as-you-go and hybrid
    /// resources get bills; a Spark workspace or plan records consumption.
    pub fn charge_kind(self) -> ChargeKind {
        use Lc::*;
        match self {
            EcsPaygInstance | EcsPaygDisk | EcsSubPaygDisk | EcsSubBandwidth | EmrPaygCluster
            | McPaygInstance | FlinkPaygWorkspace | FlinkPaygStorage | FlinkSubStorage
            | FlinkHybridWorkspace | FlinkHybridStorage => ChargeKind::Billed,
            SparkWorkspace | SparkPlan => ChargeKind::Consumption,
            _ => ChargeKind::NotCharged,
        }
    }

    /// The billing method the resource is billed under in state `st`: the
    /// one it was bought with, except that a hybrid Flink workspace whose
    /// elastic resources were abandoned "changes to the subscription
    /// billing model".
    pub fn billing_method_in(self, st: St) -> BillingMethod {
        use Lc::*;
        match self {
            FlinkHybridWorkspace
                if matches!(
                    st,
                    St::Converted | St::ConvertedOverdue | St::ExpiredConverted
                ) =>
            {
                BillingMethod::Subscription
            }
            FlinkHybridWorkspace => BillingMethod::Hybrid,
            EcsPaygDataDisk
            | EcsPaygLocalDisk
            | EcsStaticIp
            | EcsEip
            | EcsSnapshot
            | EcsCustomImage
            | EcsImageSystemDisk
            | FlinkPaygJob
            | FlinkSubJob
            | FlinkHybridElasticJob
            | FlinkHybridFixedJob
            | FlinkSubUpload
            | FlinkHybridUpload
            | SparkJob => BillingMethod::NotBilled,
            EcsSubInstance | EmrSubCluster | McSubInstance | FlinkSubWorkspace | SparkWorkspace
            | SparkPlan => BillingMethod::Subscription,
            EcsPaygInstance | EcsPaygDisk | EcsSubPaygDisk | EcsSubBandwidth | EmrPaygCluster
            | McPaygInstance | FlinkPaygWorkspace | FlinkPaygStorage | FlinkSubStorage
            | FlinkHybridStorage => BillingMethod::PayAsYouGo,
        }
    }

    /// Whether the resource has a paid term that ends (subscription and
    /// hybrid billing).
    pub fn has_term(self) -> bool {
        use Lc::*;
        matches!(
            self,
            EcsSubInstance
                | EmrSubCluster
                | McSubInstance
                | FlinkSubWorkspace
                | FlinkHybridWorkspace
                | SparkWorkspace
                | SparkPlan
        )
    }

    /// Whether the product reminds the owner before this resource expires
    /// (Flink: "Before expiration: The system sends you reminder
    /// notifications").
    pub fn reminds_before_expiry(self) -> bool {
        matches!(self, Lc::FlinkSubWorkspace | Lc::FlinkHybridWorkspace)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeKind {
    Billed,
    Consumption,
    NotCharged,
}

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

/// What a transition does besides changing the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Send this notification (id, rule).
    Notify(&'static str, &'static str),
    /// Refund by this formula.
    Refund(Formula),
}

/// The refund formulas of the Spark document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    /// "Refundable amount = Paid amount - Fees for consumed resources".
    QuotaRefund,
    /// "Refund amount = Actual amount paid".
    PlanRefund,
    /// A late plan refunded like a quota, the general unsubscription rules
    /// (spark.interp.late-plan-unsubscription read `pro-rata`).
    PlanProRata,
}

/// A transition: the target state, the transition's id and the rule behind
/// it, as the specs name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub to: St,
    pub id: &'static str,
    pub rule: &'static str,
    pub effect: Effect,
}

pub const fn tr(to: St, id: &'static str, rule: &'static str) -> Tr {
    Tr {
        to,
        id,
        rule,
        effect: Effect::None,
    }
}

/// What changed for a resource, from the ledger's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// One of its own bills is overdue and none was before.
    Overdue,
    /// Its last overdue bill was settled.
    Settled,
    /// The account has an overdue bill and had none before.
    AccountOverdue,
    /// The account's last overdue bill was settled.
    AccountSettled,
    /// A charge was recorded against it.
    Charged,
}

/// How a state machine answers a user operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpAnswer {
    /// The operation is allowed and changes nothing in the lifecycle.
    Allowed,
    /// The operation is allowed and makes this transition.
    Fire(Tr),
    /// The operation would make a transition whose conditions do not hold
    /// now; it is refused citing this rule.
    Blocked(&'static str),
}

/// Something a resource has scheduled, computed from its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    Transition(Tr),
    /// The reminder before expiry (Flink).
    ExpiryReminder,
}

/// What the state machines may read about a resource and its surroundings.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub now: DateTime<Utc>,
    /// When the resource entered its current state.
    pub since: DateTime<Utc>,
    pub purchased_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Start of the resource's own overdue episode.
    pub overdue_since: Option<DateTime<Utc>>,
    /// Settlement date of its oldest bill still overdue.
    pub oldest_overdue_bill: Option<DateTime<Utc>>,
    /// Start of the account's overdue period.
    pub account_overdue_since: Option<DateTime<Utc>>,
    pub auto_release_at: Option<DateTime<Utc>>,
    pub parent_state: Option<St>,
    /// Whether the reminder for the current expiry has been sent.
    pub reminded: bool,
    /// How long before expiry the Flink reminder goes out: seven days (the
    /// specs' reading), or three read the `any-lead` way.
    /// Whether the pay-as-you-go disk and bandwidth of a subscription
    /// instance become unavailable only 15 days into the account's overdue
    /// episode (ecs.interp.attached-unavailable read `t15`).
    pub attached_unavailable_at_t15: bool,
    /// Whether a hybrid Flink workspace due to expire at the instant its
    /// elastic resources are abandoned expires first
    /// (flink.interp.conversion-or-expiry read `expiry-first`).
    pub hybrid_expiry_first: bool,
    /// Whether the Spark plan's refund window holds its last instant
    /// (spark.interp.window-boundary read `end-inclusive`).
    pub spark_window_end_inclusive: bool,
    /// Whether a late Spark plan is unsubscribed pro rata
    /// (spark.interp.late-plan-unsubscription read `pro-rata`).
    pub spark_late_plan_pro_rata: bool,
    /// How long after the due date of its oldest unpaid bill a MaxCompute
    /// instance is released, when this implementation selects a time
    /// (maxcompute.interp.release-time read `system-selected`).
    pub maxcompute_release_after: Option<TimeDelta>,
    /// Whether a MaxCompute lock covers every pay-as-you-go instance of the
    /// account (maxcompute.interp.lock-scope read `account`).
    pub maxcompute_lock_with_account: bool,
    pub reminder_lead: TimeDelta,
}
