//! Billing histories: the input of the reference model and of every
//! implementation under test.
//!
//! A history is a start instant, the accounts and resources that exist at
//! the start, and timestamped events. Every instant after the start is
//! written as an offset from it (`+15d`, `+14d23h`), which keeps histories
//! readable ("day 15") and independent of calendars. The same types read
//! YAML and JSON; `arrears schema history` prints their JSON Schema.
//!
//! [`History::validate`] checks a history against the specs before anything
//! runs it, so that a bad history gets an error naming the event and the
//! problem instead of surprising the model halfway.

mod checks;
mod resource;
mod time;
mod validate;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{BillingMethod, Catalog, DocId, LifecycleId};
use checks::err;
pub use time::{Offset, Span, Term};
pub use validate::Validator;

/// A billing history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// The instant every offset counts from (RFC 3339, UTC).
    pub start: DateTime<Utc>,
    /// Where the history ends: the model runs its clock up to here. Defaults
    /// to the last event or observation instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Offset>,
    pub accounts: Vec<AccountDef>,
    #[serde(default)]
    pub resources: Vec<ResourceDef>,
    #[serde(default)]
    pub events: Vec<Event>,
    /// Instants at which observations are taken (for timelines and worked
    /// examples; the property suite chooses its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observe: Vec<Offset>,
}

/// An account at the start of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDef {
    pub id: String,
    /// Cash balance in minor units (cents).
    #[serde(default)]
    pub cash: i64,
    /// Voucher balance in minor units.
    #[serde(default)]
    pub vouchers: i64,
    /// Credit-alert threshold in minor units, if the owner set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_alert: Option<i64>,
}

/// A resource: an instance, a disk, a workspace, a job, a plan...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceDef {
    pub id: String,
    /// Filled in by a `purchase` event from its `account`; required for
    /// resources listed at the start.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// The product: a spec document id (ecs, emr, maxcompute, flink, spark).
    pub product: String,
    /// The resource kind, as the product's lifecycles name it (instance,
    /// disk, workspace, job, storage, resource-plan...).
    pub kind: String,
    pub billing: BillingMethod,
    /// The resource this one is attached to (a disk's instance, a job's
    /// workspace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Price per hour of use in minor units, for `charge` events given in hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly_price: Option<i64>,
    /// When it was bought (default: the start). Set by `purchase` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchased_at: Option<Offset>,
    /// The subscription term (subscription and hybrid resources): `30d`,
    /// or calendar months and years (`1mo`, `1y`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<Term>,
    /// Cash paid for the subscription, in minor units. Set by `purchase`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paid_cash: i64,
    /// Vouchers spent on the subscription, in minor units. Set by `purchase`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paid_voucher: i64,
    /// An automatic release time set before the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_release_at: Option<Offset>,
    /// A resource this one is associated with without depending on it (an
    /// EIP's instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_with: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// Something that happens at an instant. Written as a one-key map:
/// `{charge: {at: +1d, resource: i-1, amount: 2400}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// Usage billed to a pay-as-you-go resource: a bill with settlement date
    /// T = `at`, deducted on the product's schedule. Give `amount` in minor
    /// units, or `hours` of use at the resource's hourly price. On a prepaid
    /// resource of a product without billing (a Spark resource plan), it
    /// records consumption.
    Charge {
        at: Offset,
        resource: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hours: Option<i64>,
    },
    /// Cash added to an account.
    TopUp {
        at: Offset,
        account: String,
        amount: i64,
    },
    /// Vouchers added to an account.
    GrantVoucher {
        at: Offset,
        account: String,
        amount: i64,
    },
    /// The owner pays the overdue bills now ("Pay Now").
    PayNow { at: Offset, account: String },
    /// A new resource is bought for `price` (a fee-incurring operation).
    Purchase {
        at: Offset,
        account: String,
        resource: Box<ResourceDef>,
        #[serde(default)]
        price: i64,
    },
    /// A subscription is extended by `term` for `price`.
    Renew {
        at: Offset,
        resource: String,
        term: Term,
        price: i64,
    },
    /// An instance's configuration is upgraded for `price`.
    Upgrade {
        at: Offset,
        resource: String,
        price: i64,
    },
    /// The owner sets an automatic release time.
    SetAutoRelease {
        at: Offset,
        resource: String,
        release_at: Offset,
    },
    /// Any other operation on a resource, named as its product's spec names
    /// it: release, unsubscribe, start, economical-stop, create-snapshot,
    /// checkpoint, access, run-job...
    Operate {
        at: Offset,
        resource: String,
        operation: String,
    },
}

impl Event {
    pub fn at(&self) -> Offset {
        match self {
            Event::Charge { at, .. }
            | Event::TopUp { at, .. }
            | Event::GrantVoucher { at, .. }
            | Event::PayNow { at, .. }
            | Event::Purchase { at, .. }
            | Event::Renew { at, .. }
            | Event::Upgrade { at, .. }
            | Event::SetAutoRelease { at, .. }
            | Event::Operate { at, .. } => *at,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Event::Charge { .. } => "charge",
            Event::TopUp { .. } => "top_up",
            Event::GrantVoucher { .. } => "grant_voucher",
            Event::PayNow { .. } => "pay_now",
            Event::Purchase { .. } => "purchase",
            Event::Renew { .. } => "renew",
            Event::Upgrade { .. } => "upgrade",
            Event::SetAutoRelease { .. } => "set_auto_release",
            Event::Operate { .. } => "operate",
        }
    }

    /// The resource the event is about, if any.
    pub fn resource(&self) -> Option<&str> {
        match self {
            Event::Charge { resource, .. }
            | Event::Renew { resource, .. }
            | Event::Upgrade { resource, .. }
            | Event::SetAutoRelease { resource, .. }
            | Event::Operate { resource, .. } => Some(resource),
            Event::Purchase { resource, .. } => Some(&resource.id),
            _ => None,
        }
    }

    /// The account the event is about, if it names one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Event::TopUp { account, .. }
            | Event::GrantVoucher { account, .. }
            | Event::PayNow { account, .. }
            | Event::Purchase { account, .. } => Some(account),
            _ => None,
        }
    }

    /// The same event moved to another instant.
    pub fn with_at(&self, new: Offset) -> Event {
        let mut e = self.clone();
        match &mut e {
            Event::Charge { at, .. }
            | Event::TopUp { at, .. }
            | Event::GrantVoucher { at, .. }
            | Event::PayNow { at, .. }
            | Event::Purchase { at, .. }
            | Event::Renew { at, .. }
            | Event::Upgrade { at, .. }
            | Event::SetAutoRelease { at, .. }
            | Event::Operate { at, .. } => *at = new,
        }
        e
    }
}

/// A history that does not fit the specs, with the place it is at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct HistoryError {
    /// Such as `resources[2] (i-1)` or `events[7] (charge at +3d)`.
    pub place: String,
    pub message: String,
}

/// What validation learned about each resource, for the model to use.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedResource {
    pub doc: DocId,
    pub lifecycle: LifecycleId,
}

/// The largest amount of money a history may hold anywhere, in minor units:
/// far beyond any bill, and small enough that sums never overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// The most money one account may take in over a whole history, and the
/// most it may be charged, in minor units (a thousand times
/// [`MAX_AMOUNT`]). Money in counts the balances at the start, top-ups,
/// vouchers and every payment (which a refund may return); money out counts
/// charges and prices. With both bounded, no balance the model can reach
/// (cash, vouchers, their sum, what a resource has paid) comes near the
/// range of an `i64`: a safety limit, not a policy number.
pub const MAX_ACCOUNT_TOTAL: i64 = 1_000 * MAX_AMOUNT;

/// The latest instant a history may reach (the end of the year 2999), and
/// the latest a subscription's expiry may be moved to by renewals (the end
/// of the year 9999), as seconds since 1970: every instant the model
/// computes from them, spec durations added, stays far inside chrono's range.
const MAX_HISTORY_END: i64 = 32_503_680_000;
const MAX_EXPIRY: i64 = 253_402_300_799;

impl History {
    /// Reads a history from YAML or JSON text (JSON is YAML).
    pub fn from_text(text: &str) -> Result<History, HistoryError> {
        crate::yaml::from_str(text).map_err(|err| HistoryError {
            place: err
                .position
                .map(|p| format!("line {}, column {}", p.line, p.column))
                .unwrap_or_else(|| "history".to_string()),
            message: format!("failed to read history: {}", err.message),
        })
    }

    /// Reads a history file. A JSON history (its first character is `{`)
    /// is read as a stream straight into the history, without holding the
    /// text or a tree of it, so histories of millions of events load in
    /// bounded extra memory; YAML is read through [`History::from_text`].
    pub fn read_file(path: &std::path::Path) -> Result<History, HistoryError> {
        use std::io::{BufRead, BufReader};
        let failed = |message: String| HistoryError {
            place: path.display().to_string(),
            message,
        };
        let file = std::fs::File::open(path)
            .map_err(|e| failed(format!("failed to read: {}", crate::files::plain_io(&e))))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0) as usize;
        let limit = crate::yaml::input_limit_mb().saturating_mul(1024 * 1024);
        if size > limit {
            return Err(failed(format!(
                "failed to read: {}",
                crate::yaml::too_large(size)
            )));
        }
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let first = reader
            .fill_buf()
            .map_err(|e| failed(format!("failed to read: {}", crate::files::plain_io(&e))))?
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace());
        if first == Some(b'{') {
            let mut de = serde_json::Deserializer::from_reader(reader);
            let history = History::deserialize(&mut de).and_then(|h| de.end().map(|()| h));
            return history.map_err(|e| HistoryError {
                place: format!(
                    "{}: line {}, column {}",
                    path.display(),
                    e.line(),
                    e.column()
                ),
                message: format!("failed to read history: {}", json_message(&e)),
            });
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut reader, &mut text).map_err(|e| {
            failed(format!(
                "failed to read: {} (a history is UTF-8 YAML or JSON)",
                crate::files::plain_io(&e)
            ))
        })?;
        History::from_text(&text).map_err(|e| HistoryError {
            place: format!("{}: {}", path.display(), e.place),
            message: e.message,
        })
    }

    pub fn to_yaml(&self) -> String {
        crate::yaml::to_string(self).unwrap_or_default()
    }

    /// The instant the history ends at.
    pub fn end(&self) -> Offset {
        let last_event = self.events.iter().map(Event::at).max().unwrap_or_default();
        let last_observation = self.observe.iter().copied().max().unwrap_or_default();
        self.until
            .unwrap_or_else(|| last_event.max(last_observation))
            .max(last_event)
    }

    /// Checks the history against the specs: every id unique and known,
    /// every resource matching a lifecycle, events in time order, amounts
    /// sensible and each account's totals bounded (see [`Validator`]).
    /// Returns each resource's lifecycle, in the order resources appear
    /// (start resources, then purchases).
    pub fn validate(
        &self,
        catalog: &Catalog,
    ) -> Result<HashMap<String, ResolvedResource>, HistoryError> {
        let mut validator = Validator::new(catalog, self.start, &self.accounts, &self.resources)?;
        for e in &self.events {
            validator.event(e)?;
        }
        for (i, o) in self.observe.iter().enumerate() {
            if *o < Offset::default() {
                return Err(err(
                    format!("observe[{i}]"),
                    "observations cannot be before the start",
                ));
            }
        }
        if let Some(u) = self.until
            && u < Offset::default()
        {
            return Err(err("until", "the end cannot be before the start"));
        }
        if after(self.start, self.end(), MAX_HISTORY_END) {
            return Err(err("until", "the history ends after the year 3000"));
        }
        Ok(validator.resolved())
    }
}

/// Whether `start + offset` is later than `limit` seconds since 1970 (or
/// out of any calendar).
fn after(start: DateTime<Utc>, offset: Offset, limit: i64) -> bool {
    start
        .checked_add_signed(offset.0)
        .is_none_or(|t| t.timestamp() > limit)
}

/// serde_json's message without the position it appends (the place is
/// reported separately).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The JSON Schema of histories.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<History>()
}
