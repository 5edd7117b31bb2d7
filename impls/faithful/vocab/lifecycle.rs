//! Lifecycles: the one a resource follows, resolved from its product,
//! kind, billing method and parent, and what it implies for charges,
//! billing method and paid term.

use arrears::observation::BillingMethod;

use super::{Product, St};

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
