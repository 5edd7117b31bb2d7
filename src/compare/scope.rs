//! What is judged: the operations no rule decides, the resources from the
//! instant the documents stop deciding anything of them, and the accounts
//! from the instant the implementation made a choice the documents leave
//! to it. Everything else of a trace is compared.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::observation::{Name, Trace, TraceEvent};
use crate::spec::Catalog;

use super::Reference;

/// User operations (instant, resource, operation) that no rule decided in
/// a reference trace.
pub(super) type Undecided = BTreeSet<(DateTime<Utc>, Name, Name)>;

/// The operations the model allowed with no rule behind the verdict (no
/// capability, no transition, no refusal while overdue): whatever an
/// implementation answers to them is its own choice, so they are left out
/// of the operation sequences on both sides.
pub(super) fn undecided_operations(reference: &Trace) -> Undecided {
    reference
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Operation {
                at,
                resource,
                operation,
                allowed: true,
                rule: None,
                ..
            } => Some((*at, resource.clone(), operation.clone())),
            _ => None,
        })
        .collect()
}

/// Per account, the instant from which nothing of it is compared: the
/// first instant the implementation made a choice the documents leave to
/// it and changed a resource by it —
/// - it answered an operation no rule decides (see `undecided_operations`)
///   with a transition at that instant, which the model, leaving the
///   operation without effect, did not take (a hand release of a resource
///   whose lifecycle has no release edge);
/// - it allowed an operation on a resource from the instant the documents
///   stop deciding anything of it (see `undecided_resources`);
/// - it took a transition whose instant the reading leaves to the system
///   (`open_from`) within its window, earlier than the model, which takes
///   it at the window's end (a MaxCompute release at a system-selected
///   time).
///
/// What follows in that account (the resource gone, its charges no longer
/// billed, the balance that results) is the implementation's own, not the
/// documents'. Other accounts are still judged: they share nothing with it.
fn contingent_accounts<'a>(
    references: &[Reference],
    accounts: &AccountOf<'a>,
    actual: &Trace,
    undecided: &Undecided,
    undecided_from: &BTreeMap<&str, DateTime<Utc>>,
) -> std::collections::BTreeMap<&'a str, DateTime<Utc>> {
    let mut out = std::collections::BTreeMap::new();
    for e in &actual.events {
        // An operation it allowed on a resource the documents no longer
        // decide anything of (an upgrade paid for on the disk of an
        // instance released by hand): its price, if any, is its own choice.
        if let TraceEvent::Operation {
            at,
            resource,
            allowed: true,
            ..
        } = e
        {
            let open = undecided_from
                .get(resource.as_str())
                .is_some_and(|t| at >= t);
            if let (true, Some(account)) = (open, accounts.get(resource.as_str())) {
                out.entry(*account).or_insert(*at);
            }
        }
        let TraceEvent::Transition { at, resource, .. } = e else {
            continue;
        };
        let changed_by_choice = undecided
            .iter()
            .any(|(when, r, _)| when == at && r == resource)
            || references.iter().any(|r| within_open_window(r, e));
        if let (true, Some(account)) = (changed_by_choice, accounts.get(resource.as_str())) {
            out.entry(*account).or_insert(*at);
        }
    }
    out
}

/// Per resource, the instant from which nothing of it is compared: when it
/// entered, under one of the references, a state in which the documents
/// decide nothing of it (`undecided`: the disks of an instance released by
/// hand, which the documents never say go with it). Whether the
/// implementation keeps, releases or detaches it is its own choice. Only
/// resources that are not billed can enter such a state (the spec compiler
/// sees to it), so their account is still judged.
fn undecided_resources<'a>(
    catalog: &Catalog,
    references: &'a [Reference],
) -> BTreeMap<&'a str, DateTime<Utc>> {
    let mut out: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for e in references.iter().flat_map(|r| &r.trace.events) {
        let TraceEvent::Transition {
            at,
            resource,
            lifecycle,
            to,
            ..
        } = e
        else {
            continue;
        };
        if catalog.is_undecided(lifecycle, to) {
            let from = out.entry(resource.as_str()).or_insert(*at);
            *from = (*from).min(*at);
        }
    }
    out
}

/// Each resource's account, as the observations show it.
type AccountOf<'a> = std::collections::BTreeMap<&'a str, &'a str>;

fn accounts_of<'a>(references: &'a [Reference], actual: &'a Trace) -> AccountOf<'a> {
    references
        .iter()
        .flat_map(|r| &r.trace.observations)
        .chain(&actual.observations)
        .flat_map(|o| &o.resources)
        .map(|r| (&*r.resource, &*r.account))
        .collect()
}

/// Whether the implementation's transition `e` comes within the window a
/// reference leaves open for it: the reference's last observation of the
/// resource at or before that instant shows it in a state the transition
/// leaves, and the instant lies from `earliest` to `latest` after the
/// anchor that observation shows.
fn within_open_window(reference: &Reference, e: &TraceEvent) -> bool {
    let TraceEvent::Transition {
        at,
        resource,
        lifecycle,
        transition,
        ..
    } = e
    else {
        return false;
    };
    let Some(window) = reference
        .open_windows
        .get(&(lifecycle.clone(), transition.clone()))
    else {
        return false;
    };
    let Some((observation, r)) = reference
        .trace
        .observations
        .iter()
        .rev()
        .filter(|o| o.at <= *at)
        .find_map(|o| o.resource(resource).map(|r| (o, r)))
    else {
        return false;
    };
    let anchor = r.anchor(window.since, observation.account(&r.account));
    window.from.iter().any(|s| **s == *r.state)
        && anchor.is_some_and(|a| a + window.earliest <= *at && *at <= a + window.latest)
}

/// What of a trace is still judged, given the references and the
/// implementation's trace.
pub(super) struct Judged<'a> {
    /// Each resource's account.
    accounts: AccountOf<'a>,
    /// Per resource, the instant from which nothing of it is compared.
    undecided_from: BTreeMap<&'a str, DateTime<Utc>>,
    /// Per account, the instant from which nothing of it is compared.
    contingent: BTreeMap<&'a str, DateTime<Utc>>,
}

impl<'a> Judged<'a> {
    pub(super) fn new(
        catalog: &Catalog,
        references: &'a [Reference],
        actual: &'a Trace,
        undecided: &Undecided,
    ) -> Judged<'a> {
        let accounts = accounts_of(references, actual);
        let undecided_from = undecided_resources(catalog, references);
        let contingent =
            contingent_accounts(references, &accounts, actual, undecided, &undecided_from);
        Judged {
            accounts,
            undecided_from,
            contingent,
        }
    }

    /// Whether `account` is still judged at `at`.
    pub(super) fn account(&self, account: &str, at: DateTime<Utc>) -> bool {
        self.contingent.get(account).is_none_or(|t| at < *t)
    }

    /// Whether `resource` (of `account`) is still judged at `at`.
    pub(super) fn resource(&self, resource: &str, account: &str, at: DateTime<Utc>) -> bool {
        self.account(account, at) && self.undecided_from.get(resource).is_none_or(|t| at < *t)
    }

    /// Whether an event is still judged: its resource and its account.
    pub(super) fn event(&self, e: &TraceEvent) -> bool {
        let account = match e {
            TraceEvent::Notification { account, .. } => Some(account.as_str()),
            _ => e.resource().and_then(|r| self.accounts.get(r).copied()),
        };
        let resource_open = e
            .resource()
            .and_then(|r| self.undecided_from.get(r))
            .is_some_and(|t| e.at() >= *t);
        !resource_open && account.is_none_or(|a| self.account(a, e.at()))
    }
}
