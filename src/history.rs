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

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::idmap::{IdMap, id_map};
use crate::spec::{BillingMethod, Catalog, DocId, LifecycleId};

/// An instant written as an offset from the history's start: `+15d`,
/// `+1d12h`, `-30d` (before the start, for resources bought earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub TimeDelta);

impl Offset {
    pub fn from_start(duration: TimeDelta) -> Offset {
        Offset(duration)
    }

    pub fn at(self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + self.0
    }

    pub fn between(start: DateTime<Utc>, at: DateTime<Utc>) -> Offset {
        Offset(at - start)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < TimeDelta::zero() {
            write!(f, "-{}", crate::duration::format(-self.0))
        } else {
            write!(f, "+{}", crate::duration::format(self.0))
        }
    }
}

impl std::str::FromStr for Offset {
    type Err = String;

    fn from_str(text: &str) -> Result<Offset, String> {
        let text = text.trim();
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => (1, text),
        };
        crate::duration::parse(rest)
            .map(|d| Offset(d * sign))
            .map_err(|e| {
                format!("{e} (an instant is written as an offset from the start, like +15d)")
            })
    }
}

impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Offset, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Offset {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Offset".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[+-]?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "description": "An instant as an offset from the history's start, such as +15d or +14d23h; negative for instants before the start."
        })
    }
}

/// A length of time written like `30d` or `1d12h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub TimeDelta);

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::duration::format(self.0))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let text = String::deserialize(d)?;
        crate::duration::parse(&text)
            .map(Span)
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Span {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Span".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "description": "A duration such as 30d or 1d12h."
        })
    }
}

/// A subscription term: a fixed length (`30d`, `1d12h`) or whole calendar
/// months and years (`1mo`, `3mo`, `1y`, `1y6mo`), since real terms and the
/// Spark refund's "used duration / subscription duration" are counted in
/// months.
///
/// The calendar rule: a term of N months ends on the same day of the month
/// N months later at the same time of day, clamped to the last day of a
/// shorter month (bought 31 January, one month ends 28 or 29 February). A
/// renewal counts from the old expiry the same way, so its length in
/// seconds depends on the months it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Term {
    Fixed(TimeDelta),
    Months(u32),
}

impl Term {
    /// When a term that starts at `from` ends; `None` past chrono's
    /// calendar.
    pub fn end(self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Term::Fixed(d) => from.checked_add_signed(d),
            Term::Months(m) => from.checked_add_months(chrono::Months::new(m)),
        }
    }

    /// Its length when it starts at `from` (zero past chrono's calendar).
    pub fn length_from(self, from: DateTime<Utc>) -> TimeDelta {
        self.end(from).map(|e| e - from).unwrap_or_default()
    }

    pub fn is_positive(self) -> bool {
        match self {
            Term::Fixed(d) => d > TimeDelta::zero(),
            Term::Months(m) => m > 0,
        }
    }
}

impl From<TimeDelta> for Term {
    fn from(d: TimeDelta) -> Term {
        Term::Fixed(d)
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Term::Fixed(d) => f.write_str(&crate::duration::format(d)),
            Term::Months(m) => {
                let (years, months) = (m / 12, m % 12);
                if years > 0 {
                    write!(f, "{years}y")?;
                }
                if months > 0 || years == 0 {
                    write!(f, "{months}mo")?;
                }
                Ok(())
            }
        }
    }
}

impl std::str::FromStr for Term {
    type Err = String;

    fn from_str(text: &str) -> Result<Term, String> {
        let t = text.trim();
        if !(t.ends_with("mo") || t.ends_with('y')) {
            return crate::duration::parse(t)
                .map(Term::Fixed)
                .map_err(|e| e.to_string());
        }
        let bad = || {
            format!(
                "invalid term `{text}`: write calendar months and years as 1mo, 3mo, 1y or 1y6mo, or a fixed length such as 30d"
            )
        };
        let (years, rest) = match t.split_once('y') {
            Some((y, rest)) => (y.parse::<u32>().map_err(|_| bad())?, rest),
            None => (0, t),
        };
        let months = match rest.strip_suffix("mo") {
            Some(m) => m.parse::<u32>().map_err(|_| bad())?,
            None if rest.is_empty() => 0,
            None => return Err(bad()),
        };
        // Ten thousand years, as for fixed lengths.
        let total = years
            .checked_mul(12)
            .and_then(|y| y.checked_add(months))
            .filter(|m| *m <= 120_000)
            .ok_or_else(|| format!("invalid term `{text}`: number too large"))?;
        Ok(Term::Months(total))
    }
}

impl Serialize for Term {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Term {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Term, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Term {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Term".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?|([0-9]+y)?([0-9]+mo)?)$",
            "description": "A subscription term: a fixed length such as 30d, or calendar months and years such as 1mo, 1y, 1y6mo (same day N months later, clamped to the month's end)."
        })
    }
}

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

/// What validation learned about a resource.
#[derive(Debug, Clone)]
struct KnownResource {
    id: String,
    resolved: ResolvedResource,
    account: usize,
    hourly_price: Option<i64>,
    /// A subscription's expiry, with the renewals so far.
    expiry: Option<Offset>,
}

/// Money an account has taken in and been charged so far, exactly.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    money_in: i128,
    money_out: i128,
}

/// The checks of [`History::validate`], one event at a time: what `arrears
/// serve` applies to the events an adapter session sends, so that the
/// served model rejects exactly what a history file may not contain.
///
/// Beyond each event on its own (known ids, amounts between 0 and
/// [`MAX_AMOUNT`], operations the product has), it keeps running totals per
/// account and rejects the first event that takes an account's money in or
/// money out past [`MAX_ACCOUNT_TOTAL`], and the first renewal that moves an
/// expiry past the year 9999.
#[derive(Debug, Clone)]
pub struct Validator<'c> {
    catalog: &'c Catalog,
    start: DateTime<Utc>,
    /// Accounts by id, and each one's id and totals by index.
    accounts: IdMap<String, usize>,
    account_ids: Vec<String>,
    totals: Vec<Totals>,
    /// Resources by id, and what validation learned about each by index
    /// (one lookup per event rather than one per fact).
    resource_index: IdMap<String, usize>,
    resources: Vec<KnownResource>,
    last: Option<Offset>,
    /// Events checked so far: the index of the next one.
    count: usize,
}

impl<'c> Validator<'c> {
    /// Checks the start of a history: its accounts and resources.
    pub fn new(
        catalog: &'c Catalog,
        start: DateTime<Utc>,
        accounts: &[AccountDef],
        resources: &[ResourceDef],
    ) -> Result<Validator<'c>, HistoryError> {
        let mut v = Validator {
            catalog,
            start,
            accounts: id_map(),
            account_ids: Vec::new(),
            totals: Vec::new(),
            resource_index: id_map(),
            resources: Vec::new(),
            last: None,
            count: 0,
        };
        // Each check names the account or resource as its place; the name
        // is written only for an error, since this runs for every history.
        let placed = |mut error: HistoryError, place: &dyn Fn() -> String| {
            if error.place.is_empty() {
                error.place = place();
            }
            error
        };
        for (i, a) in accounts.iter().enumerate() {
            v.add_account(a)
                .map_err(|e| placed(e, &|| format!("accounts[{i}] ({})", a.id)))?;
        }
        for (i, r) in resources.iter().enumerate() {
            v.add_listed_resource(r)
                .map_err(|e| placed(e, &|| format!("resources[{i}] ({})", r.id)))?;
        }
        Ok(v)
    }

    /// Checks a listed account and adds it. Errors leave `place` empty.
    fn add_account(&mut self, a: &AccountDef) -> Result<(), HistoryError> {
        let place = "";
        check_id(&a.id, place)?;
        if self.accounts.contains_key(a.id.as_str()) {
            return Err(err(place, format!("account `{}` is listed twice", a.id)));
        }
        check_amount(a.cash, place, "cash")?;
        check_amount(a.vouchers, place, "vouchers")?;
        if let Some(t) = a.credit_alert {
            check_amount(t, place, "credit_alert")?;
        }
        let index = self.totals.len();
        self.accounts.insert(a.id.clone(), index);
        self.account_ids.push(a.id.clone());
        self.totals.push(Totals::default());
        let totals = self.totals_after(index, &[a.cash, a.vouchers], 0, place)?;
        self.commit(totals);
        Ok(())
    }

    /// Checks a resource listed at the start and adds it. Errors leave
    /// `place` empty.
    fn add_listed_resource(&mut self, r: &ResourceDef) -> Result<(), HistoryError> {
        let place = "";
        let Some(&account) = self.accounts.get(r.account.as_str()) else {
            return Err(err(place, format!("unknown account `{}`", r.account)));
        };
        let res = resolve_resource(self.catalog, r, |id| self.resolved_of(id), place, false)?;
        let purchased = r.purchased_at.unwrap_or_default();
        let expiry = self.expiry_of(r, purchased, place)?;
        let totals = self.totals_after(account, &[r.paid_cash, r.paid_voucher], 0, place)?;
        self.add_resource(r, account, res, expiry);
        self.commit(totals);
        Ok(())
    }

    /// What validation learned about each resource so far.
    pub fn resolved(&self) -> HashMap<String, ResolvedResource> {
        self.resources
            .iter()
            .map(|r| (r.id.clone(), r.resolved))
            .collect()
    }

    fn known(&self, resource: &str) -> Option<&KnownResource> {
        self.resource_index
            .get(resource)
            .map(|i| &self.resources[*i])
    }

    fn resolved_of(&self, resource: &str) -> Option<ResolvedResource> {
        self.known(resource).map(|r| r.resolved)
    }

    /// When a subscription bought at `purchased` expires, if it does.
    fn expiry_of(
        &self,
        r: &ResourceDef,
        purchased: Offset,
        place: &str,
    ) -> Result<Option<Offset>, HistoryError> {
        let Some(term) = r.term else {
            return Ok(None);
        };
        let expiry = self
            .start
            .checked_add_signed(purchased.0)
            .and_then(|p| term.end(p).map(|e| Offset(e - self.start)));
        let Some(expiry) = expiry.filter(|e| !after(self.start, *e, MAX_EXPIRY)) else {
            return Err(err(
                place,
                "the subscription would expire after the year 9999",
            ));
        };
        Ok(Some(expiry))
    }

    fn add_resource(
        &mut self,
        r: &ResourceDef,
        account: usize,
        res: ResolvedResource,
        expiry: Option<Offset>,
    ) {
        self.resource_index
            .insert(r.id.clone(), self.resources.len());
        self.resources.push(KnownResource {
            id: r.id.clone(),
            resolved: res,
            account,
            hourly_price: r.hourly_price,
            expiry,
        });
    }

    /// The account's totals with `money_in` more taken in (or refundable
    /// later) and `money_out` more charged, if both stay within
    /// [`MAX_ACCOUNT_TOTAL`]. Nothing changes until [`Validator::commit`].
    fn totals_after(
        &self,
        index: usize,
        money_in: &[i64],
        money_out: i64,
        place: &str,
    ) -> Result<(usize, Totals), HistoryError> {
        let totals = self.totals[index];
        let account = &self.account_ids[index];
        let limit = i128::from(MAX_ACCOUNT_TOTAL);
        let after = Totals {
            money_in: totals.money_in + money_in.iter().map(|a| i128::from(*a)).sum::<i128>(),
            money_out: totals.money_out + i128::from(money_out),
        };
        if after.money_in > limit {
            return Err(err(
                place,
                format!(
                    "account `{account}` would take in more than {MAX_ACCOUNT_TOTAL} minor units \
                     over the history (balances at the start, top-ups, vouchers and payments a \
                     refund could return), the most one account may hold; use smaller amounts \
                     or split the history"
                ),
            ));
        }
        if after.money_out > limit {
            return Err(err(
                place,
                format!(
                    "account `{account}` would be charged more than {MAX_ACCOUNT_TOTAL} minor \
                     units over the history (charges and prices), the most one account may \
                     owe; use smaller amounts or split the history"
                ),
            ));
        }
        Ok((index, after))
    }

    /// The totals after a payment of `price` by the resource's account:
    /// charged now, and refundable later.
    fn totals_after_payment(
        &self,
        account: usize,
        price: i64,
        place: &str,
    ) -> Result<(usize, Totals), HistoryError> {
        self.totals_after(account, &[price], price, place)
    }

    fn commit(&mut self, (index, totals): (usize, Totals)) {
        self.totals[index] = totals;
    }

    /// The account of a resource validation has resolved.
    fn account_of(&self, resource: &str) -> usize {
        self.known(resource).map(|r| r.account).unwrap_or_default()
    }

    /// Checks the next event of the history. An event that fails changes
    /// nothing: the next one is checked as if it had not been sent.
    pub fn event(&mut self, e: &Event) -> Result<(), HistoryError> {
        let count = self.count;
        self.count += 1;
        // Every check names the event as its place; the name is written
        // only for an error, since this runs for every event of every
        // history.
        self.check(e, String::new()).map_err(|mut error| {
            if error.place.is_empty() {
                error.place = format!("events[{count}] ({} at {})", e.kind(), e.at());
            }
            error
        })?;
        self.last = Some(e.at());
        Ok(())
    }

    fn check(&mut self, e: &Event, place: String) -> Result<(), HistoryError> {
        let catalog = self.catalog;
        if e.at() < Offset::default() {
            return Err(err(place, "events cannot happen before the start"));
        }
        if self.last.is_some_and(|l| e.at() < l) {
            return Err(err(place, "events must be in time order"));
        }
        if after(self.start, e.at(), MAX_HISTORY_END) {
            return Err(err(place, "events cannot happen after the year 3000"));
        }
        let known_resource = |id: &str| -> Result<ResolvedResource, HistoryError> {
            self.resolved_of(id)
                .ok_or_else(|| unknown_resource(place.clone(), id))
        };
        match e {
            Event::Charge {
                resource,
                amount,
                hours,
                ..
            } => {
                // Everything the charge needs of the resource, looked up once.
                let (res, account, hourly_price) = self
                    .known(resource)
                    .map(|r| (r.resolved, r.account, r.hourly_price))
                    .ok_or_else(|| unknown_resource(place.clone(), resource))?;
                let lc = catalog.lifecycle(res.lifecycle);
                let billed = matches!(
                    lc.billing,
                    BillingMethod::PayAsYouGo | BillingMethod::Hybrid
                ) || (catalog.document(res.doc).billing.is_none()
                    && lc.billing != BillingMethod::NotBilled);
                if !billed {
                    return Err(err(
                        place,
                        format!(
                            "resource `{resource}` is not billed by usage ({}); charge its pay-as-you-go attachments",
                            kebab_billing(lc.billing)
                        ),
                    ));
                }
                let charged = match (amount, hours) {
                    (Some(a), None) => {
                        check_amount(*a, &place, "amount")?;
                        *a
                    }
                    (None, Some(h)) => {
                        check_amount(*h, &place, "hours")?;
                        let price = hourly_price.ok_or_else(|| {
                            err(
                                place.clone(),
                                format!("`hours` needs an hourly_price on resource `{resource}`"),
                            )
                        })?;
                        match price.checked_mul(*h) {
                            Some(v) if v <= MAX_AMOUNT => v,
                            _ => {
                                return Err(err(
                                    place,
                                    format!(
                                        "hours times the hourly price is more than {MAX_AMOUNT} \
                                         minor units"
                                    ),
                                ));
                            }
                        }
                    }
                    _ => return Err(err(place, "give exactly one of `amount` and `hours`")),
                };
                let totals = self.totals_after(account, &[], charged, &place)?;
                self.commit(totals);
            }
            Event::TopUp {
                account, amount, ..
            }
            | Event::GrantVoucher {
                account, amount, ..
            } => {
                let account = self.known_account(account, &place)?;
                check_amount(*amount, &place, "amount")?;
                let totals = self.totals_after(account, &[*amount], 0, &place)?;
                self.commit(totals);
            }
            Event::PayNow { account, .. } => {
                self.known_account(account, &place)?;
            }
            Event::Purchase {
                account,
                resource,
                price,
                ..
            } => {
                let index = self.known_account(account, &place)?;
                check_amount(*price, &place, "price")?;
                if !resource.account.is_empty() && resource.account != *account {
                    return Err(err(
                        place,
                        "the resource's account must be the purchasing account (or left out)",
                    ));
                }
                if resource.purchased_at.is_some()
                    || resource.paid_cash != 0
                    || resource.paid_voucher != 0
                {
                    return Err(err(
                        place,
                        "purchased_at, paid_cash and paid_voucher are set by the purchase itself",
                    ));
                }
                let res =
                    resolve_resource(catalog, resource, |id| self.resolved_of(id), &place, true)?;
                let expiry = self.expiry_of(resource, e.at(), &place)?;
                let totals = self.totals_after_payment(index, *price, &place)?;
                self.add_resource(resource, index, res, expiry);
                self.commit(totals);
            }
            Event::Renew {
                resource,
                price,
                term,
                ..
            } => {
                let res = known_resource(resource)?;
                check_amount(*price, &place, "price")?;
                if !term.is_positive() {
                    return Err(err(place, "a renewal term must be positive"));
                }
                let lc = catalog.lifecycle(res.lifecycle);
                if !matches!(
                    lc.billing,
                    BillingMethod::Subscription | BillingMethod::Hybrid
                ) {
                    return Err(err(
                        place,
                        format!("resource `{resource}` has no subscription to renew"),
                    ));
                }
                require_op(catalog, res.doc, "renew", &place)?;
                let expiry = self.known(resource).and_then(|r| r.expiry);
                let renewed = expiry.map(|e| {
                    self.start
                        .checked_add_signed(e.0)
                        .and_then(|e| term.end(e))
                        .map(|r| Offset(r - self.start))
                });
                if renewed.is_some_and(|r| r.is_none_or(|r| after(self.start, r, MAX_EXPIRY))) {
                    return Err(err(
                        place,
                        format!(
                            "the renewals would move the expiry of `{resource}` past the year 9999"
                        ),
                    ));
                }
                let totals =
                    self.totals_after_payment(self.account_of(resource), *price, &place)?;
                if let Some(Some(renewed)) = renewed
                    && let Some(&i) = self.resource_index.get(resource.as_str())
                {
                    self.resources[i].expiry = Some(renewed);
                }
                self.commit(totals);
            }
            Event::Upgrade {
                resource, price, ..
            } => {
                let res = known_resource(resource)?;
                check_amount(*price, &place, "price")?;
                require_op(catalog, res.doc, "upgrade", &place)?;
                let totals =
                    self.totals_after_payment(self.account_of(resource), *price, &place)?;
                self.commit(totals);
            }
            Event::SetAutoRelease {
                resource,
                release_at,
                ..
            } => {
                let res = known_resource(resource)?;
                require_op(catalog, res.doc, "set-auto-release", &place)?;
                if *release_at < e.at() {
                    return Err(err(place, "the release time must not be in the past"));
                }
            }
            Event::Operate {
                resource,
                operation,
                ..
            } => {
                let res = known_resource(resource)?;
                require_op(catalog, res.doc, operation, &place)?;
                if ["purchase", "renew", "upgrade", "set-auto-release"]
                    .contains(&operation.as_str())
                {
                    return Err(err(
                        place,
                        format!(
                            "use the `{}` event, which carries what `{operation}` needs",
                            operation.replace('-', "_")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn known_account(&self, id: &str, place: &str) -> Result<usize, HistoryError> {
        self.accounts
            .get(id)
            .copied()
            .ok_or_else(|| err(place, format!("unknown account `{id}`")))
    }
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

fn unknown_resource(place: String, id: &str) -> HistoryError {
    err(
        place,
        format!("unknown resource `{id}` (not listed, or bought later)"),
    )
}

fn err(place: impl Into<String>, message: impl Into<String>) -> HistoryError {
    HistoryError {
        place: place.into(),
        message: message.into(),
    }
}

fn check_id(id: &str, place: &str) -> Result<(), HistoryError> {
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            place,
            "an id must be 1 to 128 characters without spaces",
        ));
    }
    Ok(())
}

fn check_amount(amount: i64, place: &str, field: &str) -> Result<(), HistoryError> {
    if !(0..=MAX_AMOUNT).contains(&amount) {
        return Err(err(
            place,
            format!("{field} must be between 0 and {MAX_AMOUNT} (minor units)"),
        ));
    }
    Ok(())
}

fn require_op(catalog: &Catalog, doc: DocId, op: &str, place: &str) -> Result<(), HistoryError> {
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

fn resolve_resource(
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
    let billing = r.billing;
    let lifecycle = catalog
        .find_lifecycle(doc, &r.kind, billing, parent)
        .ok_or_else(|| {
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
                    kebab_billing(billing),
                    r.kind,
                    r.parent
                        .as_ref()
                        .map(|p| format!(" under `{p}`"))
                        .unwrap_or_default(),
                    options.join("; ")
                ),
            )
        })?;
    let has_term = matches!(billing, BillingMethod::Subscription | BillingMethod::Hybrid);
    match (has_term, r.term) {
        (true, None) => return Err(err(place, "a subscription or hybrid resource needs a term")),
        (true, Some(t)) if !t.is_positive() => {
            return Err(err(place, "the term must be positive"));
        }
        (false, Some(_)) => {
            return Err(err(
                place,
                "only subscription and hybrid resources have a term",
            ));
        }
        _ => {}
    }
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
    Ok(ResolvedResource { doc, lifecycle })
}

fn kebab_billing(b: BillingMethod) -> &'static str {
    match b {
        BillingMethod::Subscription => "subscription",
        BillingMethod::PayAsYouGo => "pay-as-you-go",
        BillingMethod::Hybrid => "hybrid",
        BillingMethod::NotBilled => "not-billed",
    }
}

/// The JSON Schema of histories.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<History>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_and_print_with_sign() {
        let o: Offset = "+15d".parse().unwrap();
        assert_eq!(o.0, TimeDelta::days(15));
        assert_eq!(o.to_string(), "+15d");
        let back: Offset = "-1d2h".parse().unwrap();
        assert_eq!(back.0, -TimeDelta::hours(26));
        assert_eq!(back.to_string(), "-1d2h");
        assert_eq!("3h".parse::<Offset>().unwrap().0, TimeDelta::hours(3));
        assert!("tomorrow".parse::<Offset>().is_err());
    }

    #[test]
    fn terms_in_calendar_months_end_on_the_same_day_clamped_to_the_month() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        let month: Term = "1mo".parse().unwrap();
        assert_eq!(month, Term::Months(1));
        assert_eq!(
            month.end(at("2026-01-31T10:00:00Z")),
            Some(at("2026-02-28T10:00:00Z"))
        );
        assert_eq!(
            month.end(at("2028-01-31T00:00:00Z")),
            Some(at("2028-02-29T00:00:00Z")),
            "a leap year's February"
        );
        assert_eq!(
            month.length_from(at("2026-02-01T00:00:00Z")),
            TimeDelta::days(28)
        );
        let year: Term = "1y6mo".parse().unwrap();
        assert_eq!(year, Term::Months(18));
        assert_eq!(year.to_string(), "1y6mo");
        assert_eq!(Term::Months(12).to_string(), "1y");
        assert_eq!(Term::Months(3).to_string(), "3mo");
        assert_eq!(
            "30d".parse::<Term>().unwrap(),
            Term::Fixed(TimeDelta::days(30))
        );
        assert_eq!(Term::Fixed(TimeDelta::hours(36)).to_string(), "1d12h");
        for bad in [
            "mo",
            "1m o",
            "1mo1y",
            "y",
            "1.5mo",
            "-1mo",
            "99999999999mo",
            "20000y",
        ] {
            assert!(bad.parse::<Term>().is_err(), "{bad} is not a term");
        }
        assert!(!Term::Months(0).is_positive());
    }

    #[test]
    fn renewals_cannot_move_an_expiry_past_the_year_9999() {
        // Each renewal term is bounded; their sum is bounded here, so the
        // model never adds past the end of chrono's calendar (a panic).
        let catalog = crate::spec::compile(&crate::spec::sources::embedded()).unwrap();
        let mut text = String::from(
            "start: 2026-01-01T00:00:00Z\naccounts: [{id: a-1, cash: 0}]\n\
             resources: [{id: s-1, account: a-1, product: ecs, kind: instance, \
             billing: subscription, term: 30d}]\nevents:\n",
        );
        for _ in 0..3 {
            text.push_str("  - {renew: {at: +1d, resource: s-1, term: 1000000d, price: 0}}\n");
        }
        let history = History::from_text(&text).unwrap();
        let e = history.validate(&catalog).unwrap_err();
        assert_eq!(e.place, "events[2] (renew at +1d)");
        assert_eq!(
            e.message,
            "the renewals would move the expiry of `s-1` past the year 9999"
        );
    }
}
