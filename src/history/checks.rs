//! The small checks every part of a history shares: an id's form, an
//! amount's range, an operation the product has, and the error naming the
//! place a check failed at.

use super::{HistoryError, MAX_AMOUNT};
use crate::spec::{Catalog, DocId};

pub(super) fn unknown_resource(place: String, id: &str) -> HistoryError {
    err(
        place,
        format!("unknown resource `{id}` (not listed, or bought later)"),
    )
}

pub(super) fn err(place: impl Into<String>, message: impl Into<String>) -> HistoryError {
    HistoryError {
        place: place.into(),
        message: message.into(),
    }
}

pub(super) fn check_id(id: &str, place: &str) -> Result<(), HistoryError> {
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            place,
            "an id must be 1 to 128 characters without spaces",
        ));
    }
    Ok(())
}

pub(super) fn check_amount(amount: i64, place: &str, field: &str) -> Result<(), HistoryError> {
    if !(0..=MAX_AMOUNT).contains(&amount) {
        return Err(err(
            place,
            format!("{field} must be between 0 and {MAX_AMOUNT} (minor units)"),
        ));
    }
    Ok(())
}

pub(super) fn require_op(
    catalog: &Catalog,
    doc: DocId,
    op: &str,
    place: &str,
) -> Result<(), HistoryError> {
    let d = catalog.document(doc);
    let declared = catalog
        .op_named(op)
        .is_some_and(|id| d.operations.contains_key(&id));
    if declared {
        Ok(())
    } else {
        let names: Vec<&str> = d.operations.keys().map(|id| catalog.op_name(*id)).collect();
        Err(err(
            place,
            format!(
                "product `{}` has no operation `{op}`; it has: {}",
                d.id,
                names.join(", ")
            ),
        ))
    }
}
