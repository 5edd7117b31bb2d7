//! What a generator may do with resources of one lifecycle: the facts a
//! history builder draws on (product, kind, billing method, parent, whether
//! it can be charged, renewed, upgraded or given an automatic release), and
//! the operations an `operate` step may ask for.

use std::collections::BTreeSet;

use crate::spec::{BillingMethod, Catalog, DocId, Lifecycle, LifecycleId, OpId, Trigger};

/// What a generator may do with resources of one lifecycle (shared with
/// the fleet's account generator, [`crate::fleet`]).
#[derive(Debug, Clone)]
pub(crate) struct LifecycleInfo {
    pub(crate) id: LifecycleId,
    pub(crate) doc: DocId,
    pub(crate) product: String,
    pub(crate) kind: String,
    pub(crate) billing: BillingMethod,
    pub(crate) parent: Option<LifecycleId>,
    /// Resources of this lifecycle can be charged.
    pub(crate) chargeable: bool,
    /// Operations a history may ask for with `operate` (those that move
    /// the lifecycle listed three times).
    pub(crate) operations: Vec<String>,
    pub(crate) renewable: bool,
    pub(crate) upgradable: bool,
    pub(crate) auto_releasable: bool,
}

/// Operations that carry amounts and have events of their own.
const MECHANISM_OPERATIONS: [&str; 4] = ["purchase", "renew", "upgrade", "set-auto-release"];

impl LifecycleInfo {
    /// What a generator may do with resources of lifecycle `l`.
    pub(super) fn of(catalog: &Catalog, id: LifecycleId, l: &Lifecycle) -> LifecycleInfo {
        let doc = catalog.document(l.doc);
        let declares = |name: &str| {
            catalog
                .op_named(name)
                .is_some_and(|op| doc.operations.contains_key(&op))
        };
        let has_term = matches!(
            l.billing,
            BillingMethod::Subscription | BillingMethod::Hybrid
        );
        LifecycleInfo {
            id,
            doc: l.doc,
            product: doc.id.clone(),
            kind: l.kind.clone(),
            billing: l.billing,
            parent: l.parent,
            chargeable: matches!(l.billing, BillingMethod::PayAsYouGo | BillingMethod::Hybrid)
                || (doc.billing.is_none() && l.billing != BillingMethod::NotBilled),
            operations: operations_drawn(catalog, l),
            renewable: has_term && declares("renew"),
            upgradable: declares("upgrade"),
            auto_releasable: declares("set-auto-release"),
        }
    }
}

/// The operations a history may ask for with `operate` on a resource of
/// lifecycle `l`, those that move it listed three times.
fn operations_drawn(catalog: &Catalog, l: &Lifecycle) -> Vec<String> {
    let doc = catalog.document(l.doc);
    // Operations that move this lifecycle (start, release,
    // unsubscribe...) are listed three times, so they are drawn
    // more often than those that only succeed or fail.
    let moves: BTreeSet<OpId> = l
        .transitions
        .iter()
        .filter_map(|t| match t.trigger {
            Trigger::Operation(op) => Some(op),
            _ => None,
        })
        .collect();
    // An operation no rule of this lifecycle speaks of (no
    // transition, no state's capability, no refusal while
    // overdue) is left out: whatever an implementation does with
    // it — releasing by hand a resource the documents give no
    // release, say — is its own choice, and its consequences
    // would be judged against the model's.
    let decided = |op: &OpId| {
        moves.contains(op)
            || l.states
                .iter()
                .any(|s| s.operations.iter().any(|c| c.op == *op))
            || doc.operations.get(op).is_some_and(|o| o.fee_incurring)
    };
    doc.operations
        .keys()
        .filter(|op| !MECHANISM_OPERATIONS.contains(&catalog.op_name(**op)))
        .filter(|op| decided(op))
        .flat_map(|op| {
            let times = if moves.contains(op) { 3 } else { 1 };
            std::iter::repeat_n(catalog.op_name(*op).to_string(), times)
        })
        .collect()
}
