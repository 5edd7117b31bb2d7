//! Talking to implementations under test.
//!
//! [`Implementation`] is what arrears needs from a system under test: load
//! the start of a history, apply an event, advance the clock, observe. Three
//! things implement it: [`Client`], which speaks the JSON-lines adapter
//! protocol ([`messages`]) to a child process; [`ModelImplementation`], the
//! reference model; and any Rust type a team writes to run the suite inside
//! its own `cargo test`. [`drive`] runs one history through an
//! implementation and collects its trace.
//!
//! A misbehaving implementation is a [`ProtocolError`], never a panic or a
//! hang: every read and every write has a timeout, every reply is checked
//! for its id and its type, and the error names the request and the reply.
//! A child process is also *contained* ([`containment`]): it runs in a
//! process group of its own, killed on every way out, and however much it
//! writes, arrears' memory stays bounded ([`ChildProcess`]).

mod child;
mod client;
pub mod containment;
pub mod messages;
mod model;
mod server;

use chrono::{DateTime, Utc};

use crate::history::{Event, History, Offset};
use crate::observation::{Observation, Trace, TraceEvent};
pub use child::{ChildProcess, STDERR_LINE_BYTES, STDERR_LINES};
pub use client::{
    Client, MAX_REPLY_BYTES, Received, ScriptedTransport, SendError, Timeouts, Transport,
};
pub use containment::install_signal_cleanup;
pub use messages::{Declaration, HistoryHeader, Implemented, PROTOCOL, ProductOffer};
pub use model::ModelImplementation;
pub use server::serve;

/// The JSON Schema of the adapter protocol's messages
/// ([`messages::json_schema`]).
pub fn json_schema() -> schemars::Schema {
    messages::json_schema()
}

/// An implementation's answer to a request it understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    Done(T),
    /// It could not carry out the request.
    Error(String),
    /// It does not support what the request needs.
    Unsupported(String),
}

/// An implementation that broke the protocol. Each message says what arrears
/// failed to do, what the implementation did, and at which request; the
/// `exit` fields add its exit status and last lines of standard error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("failed to start the implementation `{command}`: {error}")]
    Spawn { command: String, error: String },
    #[error("failed to send request {id} ({request}) to the implementation: {error}{exit}")]
    Write {
        id: u64,
        request: String,
        error: String,
        exit: String,
    },
    #[error(
        "failed to send a request: the implementation did not read request {id} ({request}) within {ms} ms: it stopped reading its standard input{exit}"
    )]
    NotRead {
        id: u64,
        request: String,
        ms: u64,
        exit: String,
    },
    #[error(
        "failed to get a reply: the implementation did not answer request {id} ({request}) within {ms} ms{allowance}{exit}"
    )]
    Timeout {
        id: u64,
        request: String,
        ms: u64,
        /// Says when the timeout was the start-up allowance.
        allowance: String,
        exit: String,
    },
    #[error(
        "failed to get a reply: the implementation closed its standard output before answering request {id} ({request}){exit}"
    )]
    Exited {
        id: u64,
        request: String,
        exit: String,
    },
    #[error(
        "failed to read the reply to request {id} ({request}): it is not JSON ({error}): {line}"
    )]
    NotJson {
        id: u64,
        request: String,
        error: String,
        line: String,
    },
    #[error(
        "failed to read the reply to request {id} ({request}): it is longer than {limit} bytes"
    )]
    TooLong {
        id: u64,
        request: String,
        limit: usize,
    },
    #[error(
        "failed to read the reply to request {id} ({request}): it carries id {got}, and replies must answer requests in order"
    )]
    OutOfOrder {
        id: u64,
        request: String,
        got: String,
    },
    #[error(
        "failed to read the reply to request {id} ({request}): it is not a valid {expected} reply ({error}): {line}"
    )]
    Unexpected {
        id: u64,
        request: String,
        expected: String,
        error: String,
        line: String,
    },
    #[error(
        "failed to shake hands (request 1, hello): the implementation speaks protocol `{got}`; arrears speaks `{expected}`"
    )]
    Version { expected: String, got: String },
    #[error("failed to accept the reply to request 1 (hello): the implementation declared {error}")]
    Declared { error: String },
    #[error(
        "failed to send request {id} ({request}): the implementation was already stopped (it broke the protocol, or was told bye)"
    )]
    Stopped { id: u64, request: String },
}

/// What arrears needs from a system under test. See [`messages`] for the
/// meaning of each step.
pub trait Implementation: Send {
    /// The handshake: what the specs cover, and what the implementation
    /// implements in return.
    fn hello(&mut self, offer: &[ProductOffer]) -> Result<Declaration, ProtocolError>;
    /// Forgets everything and loads the start of a history.
    fn load(&mut self, header: &HistoryHeader) -> Result<Answer<()>, ProtocolError>;
    fn apply(&mut self, at: DateTime<Utc>, event: &Event) -> Result<Answer<()>, ProtocolError>;
    fn advance(&mut self, to: DateTime<Utc>) -> Result<Answer<()>, ProtocolError>;
    /// What it shows now, and its events since the last observation.
    fn observe(&mut self) -> Result<Answer<(Observation, Vec<TraceEvent>)>, ProtocolError>;
}

/// The products and billing methods the specs cover, for **hello**.
pub fn offer(catalog: &crate::spec::Catalog) -> Vec<ProductOffer> {
    catalog
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut billing: Vec<crate::spec::BillingMethod> = catalog
                .lifecycles
                .iter()
                .filter(|l| l.doc.index() == i)
                .map(|l| l.billing)
                .collect();
            billing.sort();
            billing.dedup();
            ProductOffer {
                product: d.id.clone(),
                title: d.title.clone(),
                billing,
                operations: d
                    .operations
                    .iter()
                    .map(|(op, decl)| messages::OperationOffer {
                        id: catalog.op_name(*op).to_string(),
                        fee_incurring: decl.fee_incurring,
                    })
                    .collect(),
                fee_operations_denied_while_overdue: catalog
                    .refuses_fee_operations_while_overdue(crate::spec::DocId(i as u32)),
            }
        })
        .collect()
}

/// Checks that an implementation's **hello** declares only products the
/// offer lists, and for each only billing methods the offer lists for it: a
/// misspelt id (`MaxCompute` for `maxcompute`) would otherwise silently
/// leave the product untested.
pub fn check_declaration(
    offer: &[ProductOffer],
    declaration: &Declaration,
) -> Result<(), ProtocolError> {
    for implemented in &declaration.implements {
        let Some(offered) = offer.iter().find(|p| p.product == implemented.product) else {
            let covered: Vec<&str> = offer.iter().map(|p| p.product.as_str()).collect();
            return Err(ProtocolError::Declared {
                error: format!(
                    "product `{}`, which the specs do not cover; they cover: {}",
                    implemented.product,
                    covered.join(", ")
                ),
            });
        };
        if let Some(billing) = implemented
            .billing
            .iter()
            .find(|b| !offered.billing.contains(b))
        {
            // The wire names (`pay-as-you-go`), as the implementation wrote them.
            let wire = |b: &crate::spec::BillingMethod| {
                serde_json::to_value(b)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_else(|| format!("{b:?}"))
            };
            let listed: Vec<String> = offered.billing.iter().map(wire).collect();
            return Err(ProtocolError::Declared {
                error: format!(
                    "billing method `{}` for product `{}`, which the specs do not list for it; they list: {}",
                    wire(billing),
                    offered.product,
                    listed.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Runs one history through an implementation, observing at `observe`
/// (sorted offsets), exactly as [`crate::model::run`] runs the model.
pub fn drive(
    implementation: &mut dyn Implementation,
    history: &History,
    observe: &[Offset],
) -> Result<Answer<Trace>, ProtocolError> {
    macro_rules! step {
        ($e:expr) => {
            match $e? {
                Answer::Done(v) => v,
                Answer::Error(m) => return Ok(Answer::Error(m)),
                Answer::Unsupported(r) => return Ok(Answer::Unsupported(r)),
            }
        };
    }
    let start = history.start;
    step!(implementation.load(&HistoryHeader::of(history)));
    let mut trace = Trace {
        events: Vec::new(),
        observations: Vec::new(),
    };
    let mut pending = observe.iter().copied().peekable();
    let take = |implementation: &mut dyn Implementation,
                o: Offset,
                trace: &mut Trace|
     -> Result<Answer<()>, ProtocolError> {
        step!(implementation.advance(o.at(start)));
        let (observation, events) = step!(implementation.observe());
        trace.observations.push(observation);
        trace.events.extend(events);
        Ok(Answer::Done(()))
    };
    for event in &history.events {
        while let Some(o) = pending.next_if(|o| *o < event.at()) {
            step!(take(implementation, o, &mut trace));
        }
        step!(implementation.apply(event.at().at(start), event));
    }
    for o in pending {
        step!(take(implementation, o, &mut trace));
    }
    step!(implementation.advance(history.end().at(start)));
    // The last observation only collects the events since the previous one.
    let (_, events) = step!(implementation.observe());
    trace.events.extend(events);
    Ok(Answer::Done(trace))
}
