//! The checks of one resource's definition, listed at the start or bought
//! by a purchase: its id new, its product known, a lifecycle of the product
//! covering its kind, billing method and parent, its term and amounts
//! sensible. What they learn is the resource's lifecycle.

use super::checks::{check_amount, check_id, err};
use super::{HistoryError, Offset, ResolvedResource, ResourceDef};
use crate::spec::{BillingMethod, Catalog, DocId};

/// Checks a resource's definition and finds its lifecycle. `known` tells
/// what validation learned about the resources so far; a purchased
/// resource's payments are set by the purchase, not checked here.
pub(super) fn resolve_resource(
    catalog: &Catalog,
    r: &ResourceDef,
    known: impl Fn(&str) -> Option<ResolvedResource>,
    place: &str,
    purchased: bool,
) -> Result<ResolvedResource, HistoryError> {
    check_id(&r.id, place)?;
    if known(&r.id).is_some() {
        return Err(err(place, format!("resource `{}` already exists", r.id)));
    }
    let doc = catalog.document_named(&r.product).ok_or_else(|| {
        let names: Vec<&str> = catalog.documents.iter().map(|d| d.id.as_str()).collect();
        err(
            place,
            format!(
                "unknown product `{}`; the specs cover: {}",
                r.product,
                names.join(", ")
            ),
        )
    })?;
    let parent = match &r.parent {
        None => None,
        Some(p) => Some(
            known(p)
                .ok_or_else(|| {
                    err(
                        place,
                        format!("unknown parent `{p}` (a parent must be listed first)"),
                    )
                })?
                .lifecycle,
        ),
    };
    let lifecycle = catalog
        .find_lifecycle(doc, &r.kind, r.billing, parent)
        .ok_or_else(|| no_lifecycle(catalog, doc, r, place))?;
    check_term(r, place)?;
    check_money_and_references(r, &known, place, purchased)?;
    Ok(ResolvedResource { doc, lifecycle })
}

/// The error for a resource no lifecycle of its product covers, listing
/// the ones the product has.
fn no_lifecycle(catalog: &Catalog, doc: DocId, r: &ResourceDef, place: &str) -> HistoryError {
    let options: Vec<String> = catalog
        .lifecycles
        .iter()
        .filter(|l| l.doc == doc)
        .map(|l| {
            let parent = l
                .parent
                .map(|p| format!(" under {}", catalog.lifecycle(p).kind))
                .unwrap_or_default();
            format!("{} {}{}", kebab_billing(l.billing), l.kind, parent)
        })
        .collect();
    err(
        place,
        format!(
            "no lifecycle of `{}` covers a {} {}{}; it has: {}",
            r.product,
            kebab_billing(r.billing),
            r.kind,
            r.parent
                .as_ref()
                .map(|p| format!(" under `{p}`"))
                .unwrap_or_default(),
            options.join("; ")
        ),
    )
}

/// A positive term for a subscription or hybrid resource, none for others.
fn check_term(r: &ResourceDef, place: &str) -> Result<(), HistoryError> {
    let has_term = matches!(
        r.billing,
        BillingMethod::Subscription | BillingMethod::Hybrid
    );
    match (has_term, r.term) {
        (true, None) => Err(err(place, "a subscription or hybrid resource needs a term")),
        (true, Some(t)) if !t.is_positive() => Err(err(place, "the term must be positive")),
        (false, Some(_)) => Err(err(
            place,
            "only subscription and hybrid resources have a term",
        )),
        _ => Ok(()),
    }
}

/// The resource's amounts sensible, its associated resource known and its
/// automatic release not before the start.
fn check_money_and_references(
    r: &ResourceDef,
    known: &impl Fn(&str) -> Option<ResolvedResource>,
    place: &str,
    purchased: bool,
) -> Result<(), HistoryError> {
    if !purchased {
        check_amount(r.paid_cash, place, "paid_cash")?;
        check_amount(r.paid_voucher, place, "paid_voucher")?;
    }
    if let Some(p) = r.hourly_price {
        check_amount(p, place, "hourly_price")?;
    }
    if let Some(a) = &r.associated_with
        && known(a).is_none()
    {
        return Err(err(place, format!("unknown associated resource `{a}`")));
    }
    if let Some(auto) = r.auto_release_at
        && auto < Offset::default()
    {
        return Err(err(place, "auto_release_at cannot be before the start"));
    }
    Ok(())
}

pub(super) fn kebab_billing(b: BillingMethod) -> &'static str {
    match b {
        BillingMethod::Subscription => "subscription",
        BillingMethod::PayAsYouGo => "pay-as-you-go",
        BillingMethod::Hybrid => "hybrid",
        BillingMethod::NotBilled => "not-billed",
    }
}
