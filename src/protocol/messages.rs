//! The messages of the adapter protocol, with their wire format.
//!
//! # Format
//!
//! An implementation under test runs as a child process. arrears writes
//! requests to its standard input and reads replies from its standard
//! output, one JSON value per line ([JSON Lines](https://jsonlines.org/)),
//! UTF-8, each line ending with `\n`. The implementation may write anything
//! to its standard error; arrears keeps the last lines to show when the
//! implementation fails.
//!
//! ## Envelope
//!
//! Every request and every reply is one JSON object with these fields:
//!
//! * **id** - A number. arrears numbers its requests 1, 2, 3... in the order
//!   it sends them; a reply carries the id of the request it answers.
//!   Replies come in the order of the requests: exactly one reply per
//!   request, before the next request is sent.
//! * **type** - A string naming the message; the other fields depend on it.
//!
//! Unknown fields are ignored by both sides, so fields can be added later
//! without changing the protocol version.
//!
//! ## Requests
//!
//! #### Request: **hello**
//!
//! Sent first, once per process. Fields:
//!
//! * **protocol** - The protocol version, `"arrears-adapter/1"`.
//! * **products** - What the specs cover: an array of
//!   `{"product": "ecs", "title": "...", "billing": ["pay-as-you-go", ...],
//!   "operations": [{"id": "renew", "fee_incurring": true}, ...],
//!   "fee_operations_denied_while_overdue": true}`, one per spec document:
//!   the billing methods its lifecycles use, its operations (the keys of an
//!   observation's `operations`), and whether its fee-incurring operations
//!   are refused while the account is overdue (what an account's
//!   `fee_operations` reports).
//!
//! The reply must be a **hello** reply (below), or **error**.
//!
//! #### Request: **load**
//!
//! Forgets everything and loads the start of a new history. Fields:
//!
//! * **history** - `{"start": RFC3339, "accounts": [...], "resources": [...]}`:
//!   the history's start instant, its accounts and the resources that exist
//!   at the start, exactly as in a history file (`arrears schema history`).
//!
//! The implementation's clock is at `start` after loading.
//!
//! #### Request: **apply**
//!
//! One event of the history. Fields:
//!
//! * **at** - The event's instant, RFC3339 (the event also carries it as an
//!   offset from the start).
//! * **event** - The event, as in a history file: a one-key object such as
//!   `{"charge": {"at": "+1d", "resource": "i-1", "amount": 2400}}`.
//!
//! Events come in time order. Before applying an event at `at`, the
//! implementation runs what its own schedule has due before `at` (whether
//! actions due exactly at `at` come before or after the event is an
//! interpretation; see `ecs.interp.same-instant`).
//!
//! #### Request: **advance**
//!
//! Moves the clock. Fields:
//!
//! * **to** - RFC3339. The implementation runs everything due up to and
//!   including this instant. `to` is never before the last `apply` or
//!   `advance`; it may be weeks later (a long jump).
//!
//! #### Request: **observe**
//!
//! Asks what the implementation shows now. No fields. The reply must be an
//! **observation** reply.
//!
//! #### Request: **bye**
//!
//! The last request. The implementation answers **ok** and exits.
//!
//! ## Replies
//!
//! #### Reply: **hello**
//!
//! * **protocol** - Must be `"arrears-adapter/1"`.
//! * **implementation** - A name and version to show in reports.
//! * **implements** - What it implements: an array of
//!   `{"product": "ecs", "billing": ["pay-as-you-go", "not-billed"]}`.
//!   Histories are generated only with resources of these products and
//!   billing methods; invariants about the rest are reported as *skipped*,
//!   never as passed.
//! * **readings** - Optional: `{"<interpretation id>": "<reading id>"}` for
//!   ambiguous sentences it reads another way than the specs' choice. The
//!   model then runs with exactly those readings when comparing. Without
//!   it, any accepted reading is accepted.
//!
//! #### Reply: **ok**
//!
//! The request was carried out. No fields.
//!
//! #### Reply: **observation**
//!
//! The answer to **observe**. Fields:
//!
//! * **observation** - What the implementation shows at its current clock,
//!   in the observation vocabulary (`docs/observations.md`,
//!   `arrears schema observation`).
//! * **events** - The events of its log since the previous **observe** (or
//!   since **load**), in order.
//!
//! #### Reply: **error**
//!
//! * **message** - Why the implementation could not carry out the request.
//!   The history is reported as failing, with this message.
//!
//! #### Reply: **unsupported**
//!
//! * **reason** - The implementation does not support what the request
//!   needs (an operation, a kind of resource). The history is reported as
//!   skipped, with the reason.
//!
//! ## Failures
//!
//! A child that exits before answering, does not read a request or answer
//! it within the timeout (**hello** has a start-up allowance), writes a
//! line that is not JSON or longer than 64 MiB, answers with the wrong id or
//! the wrong type of reply, speaks another protocol version, or declares in
//! **hello** a product or billing method the offer does not list has broken
//! the protocol: arrears stops, kills the child's process group, reports the
//! request and the reply (or the exit status and the last lines of standard
//! error), and exits with code 3. See `docs/protocol.md` for how children
//! are contained.
//!
//! ## Schema
//!
//! `arrears schema protocol` prints the JSON Schema of every message (see
//! [`json_schema`]): a message is valid if it is a request
//! (`#/definitions/RequestEnvelope`) or a reply
//! (`#/definitions/ReplyEnvelope`); an adapter checks what it writes
//! against the second.
//!
//! ## Example
//!
//! A complete annotated transcript is in `docs/protocol.md`. In short
//! (`>` arrears to the implementation, `<` back):
//!
//! ```text
//! > {"id":1,"type":"hello","protocol":"arrears-adapter/1","products":[...]}
//! < {"id":1,"type":"hello","protocol":"arrears-adapter/1","implementation":"my-billing 2.3","implements":[{"product":"ecs","billing":["pay-as-you-go"]}]}
//! > {"id":2,"type":"load","history":{"start":"2026-01-01T00:00:00Z","accounts":[{"id":"a-1","cash":0}],"resources":[...]}}
//! < {"id":2,"type":"ok"}
//! > {"id":3,"type":"apply","at":"2026-01-02T00:00:00Z","event":{"charge":{"at":"+1d","resource":"i-1","amount":2400}}}
//! < {"id":3,"type":"ok"}
//! > {"id":4,"type":"advance","to":"2026-01-17T00:00:00Z"}
//! < {"id":4,"type":"ok"}
//! > {"id":5,"type":"observe"}
//! < {"id":5,"type":"observation","observation":{...},"events":[...]}
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::history::{AccountDef, Event, History, ResourceDef};
use crate::observation::{Observation, TraceEvent};
use crate::spec::BillingMethod;

/// The version both sides must speak.
pub const PROTOCOL: &str = "arrears-adapter/1";

/// A request with its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RequestEnvelope {
    /// The request's number: 1, 2, 3... in the order arrears sends them.
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

/// A reply with the id of the request it answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReplyEnvelope {
    /// The id of the request it answers.
    pub id: u64,
    #[serde(flatten)]
    pub reply: Reply,
}

impl ReplyEnvelope {
    /// Reads a well-formed reply of a common type (`ok`, `observation`,
    /// `error`, `unsupported`) in one typed pass, or `None` for anything
    /// else, which the caller then reads the thorough way to say what is
    /// wrong with it.
    ///
    /// Why: a derived `ReplyEnvelope` goes through `flatten` and the
    /// internally tagged `Reply`, which buffer the whole line as
    /// `serde::__private::Content` (and the client used to build a
    /// `serde_json::Value` before that); an observation reply is kilobytes,
    /// and a verify run reads tens of megabytes of them. This path reads
    /// the envelope's `id` and `type` (skipping the rest unparsed), then the
    /// variant's own fields straight from the text. Both paths accept the
    /// same well-formed replies with the same meaning; the thorough one
    /// alone words the errors.
    pub fn parse_common(line: &str) -> Option<ReplyEnvelope> {
        #[derive(Deserialize)]
        struct Head<'a> {
            id: u64,
            #[serde(rename = "type", borrow)]
            kind: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct ObservationFields {
            observation: Observation,
            #[serde(default)]
            events: Vec<TraceEvent>,
        }
        #[derive(Deserialize)]
        struct ErrorFields {
            message: String,
        }
        #[derive(Deserialize)]
        struct UnsupportedFields {
            reason: String,
        }
        let head: Head = serde_json::from_str(line).ok()?;
        let reply = match head.kind.as_ref() {
            "ok" => Reply::Ok,
            "observation" => {
                let f: ObservationFields = serde_json::from_str(line).ok()?;
                Reply::Observation {
                    observation: f.observation,
                    events: f.events,
                }
            }
            "error" => Reply::Error {
                message: serde_json::from_str::<ErrorFields>(line).ok()?.message,
            },
            "unsupported" => Reply::Unsupported {
                reason: serde_json::from_str::<UnsupportedFields>(line).ok()?.reason,
            },
            _ => return None,
        };
        Some(ReplyEnvelope { id: head.id, reply })
    }
}

/// A request from arrears to the implementation, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Sent first, once per process: what the specs cover.
    Hello {
        /// The protocol version, `arrears-adapter/1`.
        protocol: String,
        /// One offer per spec document.
        products: Vec<ProductOffer>,
    },
    /// Forget everything and load the start of a new history.
    Load {
        /// The history's start, accounts and initial resources.
        history: HistoryHeader,
    },
    /// One event of the history, in time order.
    Apply {
        /// The event's instant.
        at: DateTime<Utc>,
        /// The event, as in a history file.
        event: Event,
    },
    /// Run everything due up to and including `to`.
    Advance {
        /// The new clock; never before the last `apply` or `advance`.
        to: DateTime<Utc>,
    },
    /// What does the implementation show now? Answered by an
    /// `observation` reply.
    Observe,
    /// The last request: answer `ok` and exit.
    Bye,
}

impl Request {
    /// A short description for error messages: `advance to 2026-01-17T00:00:00Z`.
    pub fn describe(&self) -> String {
        match self {
            Request::Hello { .. } => "hello".to_string(),
            Request::Load { history } => format!(
                "load (start {}, {} accounts, {} resources)",
                history.start,
                history.accounts.len(),
                history.resources.len()
            ),
            Request::Apply { at, event } => format!("apply {} at {at}", event.kind()),
            Request::Advance { to } => format!("advance to {to}"),
            Request::Observe => "observe".to_string(),
            Request::Bye => "bye".to_string(),
        }
    }
}

/// A reply from the implementation to arrears, by its `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The answer to `hello`: what the implementation implements.
    Hello {
        /// Must be `arrears-adapter/1`.
        protocol: String,
        /// A name and version to show in reports.
        implementation: String,
        /// The products and billing methods it implements; histories hold
        /// only these, and invariants about the rest are skipped.
        implements: Vec<Implemented>,
        /// `{interpretation id: reading id}` for ambiguous sentences it
        /// reads another way than the specs' choice.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        readings: BTreeMap<String, String>,
    },
    /// The request was carried out.
    Ok,
    /// The answer to `observe`.
    Observation {
        /// What the implementation shows at its current clock.
        observation: Observation,
        /// Its log since the previous `observe` (or `load`), in order.
        #[serde(default)]
        events: Vec<TraceEvent>,
    },
    /// It could not carry out the request: the history fails.
    Error {
        /// Why.
        message: String,
    },
    /// It does not support what the request needs: the history is skipped.
    Unsupported {
        /// What it does not support.
        reason: String,
    },
}

impl Reply {
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Hello { .. } => "hello",
            Reply::Ok => "ok",
            Reply::Observation { .. } => "observation",
            Reply::Error { .. } => "error",
            Reply::Unsupported { .. } => "unsupported",
        }
    }
}

/// A product the specs cover, offered in **hello**.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductOffer {
    /// The spec document's id (`ecs`).
    pub product: String,
    /// The spec document's title.
    pub title: String,
    /// The billing methods its lifecycles use.
    pub billing: Vec<BillingMethod>,
    /// The product's operations, as the observations name them.
    #[serde(default)]
    pub operations: Vec<OperationOffer>,
    /// Whether its fee-incurring operations are refused while the account
    /// is overdue.
    #[serde(default)]
    pub fee_operations_denied_while_overdue: bool,
}

/// An operation of a product, offered in **hello**.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OperationOffer {
    /// The operation's id, as the observations name it.
    pub id: String,
    /// Whether performing it costs money.
    pub fee_incurring: bool,
}

/// A product an implementation implements, with the billing methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Implemented {
    /// A product offered in **hello**.
    pub product: String,
    /// The billing methods of it that are implemented.
    pub billing: Vec<BillingMethod>,
}

/// What an implementation said about itself in **hello**.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declaration {
    pub implementation: String,
    pub implements: Vec<Implemented>,
    pub readings: BTreeMap<String, String>,
}

impl Declaration {
    /// Implements every product and billing method offered, under the
    /// specs' chosen readings.
    pub fn everything(implementation: impl Into<String>, offer: &[ProductOffer]) -> Declaration {
        Declaration {
            implementation: implementation.into(),
            implements: offer
                .iter()
                .map(|p| Implemented {
                    product: p.product.clone(),
                    billing: p.billing.clone(),
                })
                .collect(),
            readings: BTreeMap::new(),
        }
    }
}

/// The start of a history: what **load** carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryHeader {
    /// The history's start instant: the implementation's clock after
    /// loading.
    pub start: DateTime<Utc>,
    /// The accounts, as in a history file.
    pub accounts: Vec<AccountDef>,
    /// The resources that exist at the start, as in a history file.
    #[serde(default)]
    pub resources: Vec<ResourceDef>,
}

impl HistoryHeader {
    pub fn of(history: &History) -> HistoryHeader {
        HistoryHeader {
            start: history.start,
            accounts: history.accounts.clone(),
            resources: history.resources.clone(),
        }
    }

    /// A history with this start and no events.
    pub fn to_history(&self) -> History {
        History {
            start: self.start,
            until: None,
            accounts: self.accounts.clone(),
            resources: self.resources.clone(),
            events: Vec::new(),
            observe: Vec::new(),
        }
    }
}

/// Any message of the protocol: a request or a reply. Only the schema
/// uses it; the two sides read and write the envelopes themselves.
struct Message;

impl JsonSchema for Message {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "arrears adapter protocol message".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let request = generator.subschema_for::<RequestEnvelope>();
        let reply = generator.subschema_for::<ReplyEnvelope>();
        schemars::json_schema!({
            "description": "One line of the adapter protocol (docs/protocol.md): a request arrears writes (definitions/RequestEnvelope) or a reply an implementation writes (definitions/ReplyEnvelope). Unknown fields are ignored by both sides.",
            "anyOf": [request, reply],
        })
    }
}

/// The JSON Schema of the protocol's messages: one schema whose
/// definitions hold the request and the reply envelopes, and which a
/// message of either kind satisfies.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<Message>()
}
