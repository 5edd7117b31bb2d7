//! The account-isolation check: each account's resources make the same
//! transitions when the other accounts are removed from the history (the
//! history re-run restricted to the account).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::check::{Rerun, TraceIndex, Violation, violation};
use crate::history::{Event, History};
use crate::observation::{Trace, TraceEvent};
use crate::spec::{Catalog, InvariantDef};

/// The history restricted to one account.
pub(crate) fn project(history: &History, account: &str) -> History {
    let resources: Vec<_> = history
        .resources
        .iter()
        .filter(|r| r.account == account)
        .cloned()
        .collect();
    let mut ids: std::collections::HashSet<String> =
        resources.iter().map(|r| r.id.clone()).collect();
    let events = history
        .events
        .iter()
        .filter(|e| {
            if let Event::Purchase {
                account: a,
                resource,
                ..
            } = e
            {
                if a == account {
                    ids.insert(resource.id.clone());
                    return true;
                }
                return false;
            }
            match (e.account(), e.resource()) {
                (Some(a), _) => a == account,
                (None, Some(r)) => ids.contains(r),
                (None, None) => false,
            }
        })
        .cloned()
        .collect();
    History {
        start: history.start,
        until: Some(history.end()),
        accounts: history
            .accounts
            .iter()
            .filter(|a| a.id == account)
            .cloned()
            .collect(),
        resources,
        events,
        observe: history.observe.clone(),
    }
}

fn transitions_of<'t>(
    trace: &'t Trace,
    resources: &[&str],
) -> Vec<(DateTime<Utc>, &'t str, &'t str, &'t str)> {
    trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Transition {
                at,
                resource,
                from,
                to,
                ..
            } if resources.contains(&resource.as_str()) => {
                Some((*at, resource.as_str(), from.as_str(), to.as_str()))
            }
            _ => None,
        })
        .collect()
}

pub(super) fn isolation(
    judge: &Catalog,
    inv: &InvariantDef,
    index: &TraceIndex<'_>,
    rerun: Option<&Rerun<'_>>,
) -> (bool, Option<Violation>) {
    let history = index.history;
    let Some(rerun) = rerun else {
        return (false, None);
    };
    if history.accounts.len() < 2 {
        return (false, None);
    }
    let mut by_account: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in index.subjects(&inv.subjects) {
        by_account
            .entry(index.account_of(s))
            .or_default()
            .push(index.resource_id(s));
    }
    let mut exercised = false;
    for (account, resources) in by_account {
        let Some(alone) = index.rerun_cached(account, || rerun(&project(history, account))) else {
            continue;
        };
        exercised = true;
        let together = transitions_of(index.trace, &resources);
        let apart = transitions_of(&alone, &resources);
        let differ = together
            .iter()
            .zip(&apart)
            .position(|(a, b)| a != b)
            .or_else(|| (together.len() != apart.len()).then(|| together.len().min(apart.len())));
        if let Some(i) = differ {
            let (at, what) = match (together.get(i), apart.get(i)) {
                (Some(a), Some(b)) => (
                    a.0.min(b.0),
                    format!(
                        "{} {} -> {} at {} with the other accounts, {} {} -> {} at {} without them",
                        a.1, a.2, a.3, a.0, b.1, b.2, b.3, b.0
                    ),
                ),
                (Some(a), None) => (
                    a.0,
                    format!(
                        "{} {} -> {} at {} happens only when other accounts are present",
                        a.1, a.2, a.3, a.0
                    ),
                ),
                (None, Some(b)) => (
                    b.0,
                    format!(
                        "{} {} -> {} at {} happens only when the account is alone",
                        b.1, b.2, b.3, b.0
                    ),
                ),
                (None, None) => continue,
            };
            return (
                true,
                Some(violation(
                    inv,
                    judge,
                    None,
                    at,
                    format!("account {account} is affected by other accounts: {what}"),
                    None,
                )),
            );
        }
    }
    (exercised, None)
}
