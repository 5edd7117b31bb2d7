//! Observations compared instant by instant: each resource and account the
//! model shows, against the implementation's, on the fields the documents
//! decide; the first field that differs, with the rules behind it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::observation::{AccountObservation, Observation, ResourceObservation};
use crate::spec::Catalog;

use super::fields::{
    account_fields, documented_operations, field_rules, r_rules, resource_fields, show,
};
use super::scope::Judged;
use super::{Divergence, Reference};

/// Where `obs` (the implementation's) departs from every reference's
/// observation at its instant, for the resources and accounts still judged.
pub(super) fn observation_divergences(
    catalog: &Catalog,
    references: &[Reference],
    obs: &Observation,
    judged: &Judged,
) -> Vec<Divergence> {
    let refs: Vec<&Observation> = references
        .iter()
        .filter_map(|r| r.trace.observations.iter().find(|o| o.at == obs.at))
        .collect();
    let Some(main) = refs.first() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for r in main
        .resources
        .iter()
        .filter(|r| judged.resource(&r.resource, &r.account, obs.at))
    {
        found.extend(resource_divergence(catalog, &refs, obs, r));
    }
    for extra in obs.resources.iter().filter(|x| {
        main.resource(&x.resource).is_none() && judged.resource(&x.resource, &x.account, obs.at)
    }) {
        found.push(Divergence {
            at: obs.at,
            subject: format!("resource {}", extra.resource),
            field: "existence".into(),
            expected: "no such resource".into(),
            actual: format!("in state {}", extra.state),
            rules: Vec::new(),
        });
    }
    for a in main
        .accounts
        .iter()
        .filter(|a| judged.account(&a.account, obs.at))
    {
        found.extend(account_divergence(catalog, &refs, obs, a));
    }
    found
}

/// Where the implementation's observation of resource `r` (as the chosen
/// reference, `refs[0]`, shows it) departs from every reference's.
fn resource_divergence(
    catalog: &Catalog,
    refs: &[&Observation],
    obs: &Observation,
    r: &ResourceObservation,
) -> Option<Divergence> {
    let main = refs[0];
    let subject = format!("resource {}", r.resource);
    let Some(got) = obs.resource(&r.resource) else {
        return Some(Divergence {
            at: obs.at,
            subject,
            field: "existence".into(),
            expected: format!("{} in state {}", r.lifecycle, r.state),
            actual: "not reported".into(),
            rules: r_rules(catalog, r),
        });
    };
    // An observation equal to a reference's in every field is accepted
    // without projecting both onto the compared fields (most are, and
    // projecting costs allocations).
    let accepted = refs.iter().any(|o| {
        o.resource(&r.resource).is_some_and(|reference| {
            if got == reference {
                return true;
            }
            let ops = documented_operations(catalog, reference, o);
            let reported = got.billing_method.is_some();
            resource_fields(got, reference, &ops, reported)
                == resource_fields(reference, reference, &ops, reported)
        })
    });
    if accepted {
        return None;
    }
    let ops = documented_operations(catalog, r, main);
    first_field_difference(
        obs.at,
        subject,
        &resource_fields(r, r, &ops, got.billing_method.is_some()),
        &resource_fields(got, r, &ops, got.billing_method.is_some()),
        |field| field_rules(catalog, r, main, field),
    )
}

/// Where the implementation's observation of account `a` (as the chosen
/// reference shows it) departs from every reference's.
fn account_divergence(
    catalog: &Catalog,
    refs: &[&Observation],
    obs: &Observation,
    a: &AccountObservation,
) -> Option<Divergence> {
    let subject = format!("account {}", a.account);
    let Some(got) = obs.account(&a.account) else {
        return Some(Divergence {
            at: obs.at,
            subject,
            field: "existence".into(),
            expected: "an account".into(),
            actual: "not reported".into(),
            rules: Vec::new(),
        });
    };
    let accepted = refs
        .iter()
        .filter_map(|o| o.account(&a.account))
        .any(|reference| got == reference || account_fields(got) == account_fields(reference));
    if accepted {
        return None;
    }
    first_field_difference(
        obs.at,
        subject,
        &account_fields(a),
        &account_fields(got),
        |_| {
            catalog
                .ledger
                .rules
                .iter()
                .map(|r| catalog.rule(*r).id.clone())
                .collect()
        },
    )
}

/// The first field where `theirs` differs from `ours` (same fields, same
/// order), as a divergence with the rules `rules` gives for that field.
fn first_field_difference(
    at: DateTime<Utc>,
    subject: String,
    ours: &[(String, Value)],
    theirs: &[(String, Value)],
    rules: impl FnOnce(&str) -> Vec<String>,
) -> Option<Divergence> {
    let ((field, want), (_, have)) = ours.iter().zip(theirs).find(|(a, b)| a != b)?;
    Some(Divergence {
        at,
        subject,
        field: field.clone(),
        expected: show(want),
        actual: show(have),
        rules: rules(field),
    })
}
