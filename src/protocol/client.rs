//! The client side of the adapter protocol: a [`Client`] speaks it over a
//! [`Transport`] — a child process ([`ChildProcess`](super::ChildProcess))
//! or, in tests, a scripted list of replies ([`ScriptedTransport`]).
//!
//! Every step has a deadline ([`Timeouts`]): writing a request and reading
//! its reply together take at most the request's timeout, the first
//! request (**hello**) allowing extra time for the implementation to start.
//! Once an implementation breaks the protocol the client stops it
//! ([`Transport::kill`]) and never talks to it again.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::messages::{PROTOCOL, Reply, ReplyEnvelope, Request, RequestEnvelope};
use super::{Answer, Declaration, HistoryHeader, Implementation, ProductOffer, ProtocolError};
use crate::history::Event;
use crate::observation::{Observation, TraceEvent};

/// A reply line longer than this is refused: an observation of a large
/// history is a few hundred kilobytes, and a flood must not exhaust memory.
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// What a transport got when asked for a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Line(String),
    Timeout,
    /// The other side closed its output (it exited).
    Closed,
    TooLong,
}

/// Why a request could not be handed to the implementation.
#[derive(Debug)]
pub enum SendError {
    /// It did not take the request within the timeout: it stopped reading
    /// its standard input.
    NotRead,
    /// Writing failed (its standard input is closed: it exited).
    Failed(std::io::Error),
}

/// A line-based channel to an implementation.
pub trait Transport: Send {
    /// Hands one line to the implementation, waiting at most `timeout` for
    /// it to be taken.
    fn send(&mut self, line: &str, timeout: Duration) -> Result<(), SendError>;
    fn receive(&mut self, timeout: Duration) -> Received;
    /// How the implementation ended, for error messages (empty if unknown).
    fn exit_report(&mut self) -> String;
    /// Stops the implementation at once: it broke the protocol.
    fn kill(&mut self) {}
    /// The longest reply line the transport accepts.
    fn max_reply_bytes(&self) -> usize {
        MAX_REPLY_BYTES
    }
}

/// How long an implementation may take per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// For the first request, **hello**, which also waits for the process
    /// to start (a JVM or a Python adapter may take seconds).
    pub startup: Duration,
    /// For every other request: writing it and reading the reply.
    pub request: Duration,
}

impl Timeouts {
    /// The start-up allowance when only a request timeout is given.
    pub const DEFAULT_STARTUP: Duration = Duration::from_secs(10);

    /// `request` per request, and [`Timeouts::DEFAULT_STARTUP`] (or
    /// `request` if longer) for **hello**.
    pub fn new(request: Duration) -> Timeouts {
        Timeouts {
            startup: request.max(Timeouts::DEFAULT_STARTUP),
            request,
        }
    }
}

impl Timeouts {
    /// Allows **hello** `startup` instead.
    pub fn startup(mut self, startup: Duration) -> Timeouts {
        self.startup = startup;
        self
    }
}

impl From<Duration> for Timeouts {
    fn from(request: Duration) -> Timeouts {
        Timeouts::new(request)
    }
}

/// The adapter protocol over a transport.
pub struct Client<T: Transport> {
    transport: T,
    next_id: u64,
    timeouts: Timeouts,
    /// It broke the protocol and was stopped, or was told **bye**: no more
    /// requests.
    finished: bool,
}

impl<T: Transport> Client<T> {
    /// A client whose requests wait as `timeouts` say (a plain [`Duration`]
    /// is the request timeout, with the default start-up allowance).
    pub fn new(transport: T, timeouts: impl Into<Timeouts>) -> Client<T> {
        Client {
            transport,
            next_id: 1,
            timeouts: timeouts.into(),
            finished: false,
        }
    }

    /// Stops the implementation after it broke the protocol, and passes the
    /// error on.
    fn broke(&mut self, e: ProtocolError) -> ProtocolError {
        self.finished = true;
        self.transport.kill();
        e
    }

    /// Sends a request and reads its reply, checking the id and the JSON.
    pub fn request(&mut self, request: Request) -> Result<(Reply, String), ProtocolError> {
        if self.finished {
            return Err(ProtocolError::Stopped {
                id: self.next_id,
                request: request.describe(),
            });
        }
        self.exchange(request).map_err(|e| self.broke(e))
    }

    /// Sends a request with the next id, waits for its reply until the
    /// request's deadline, and reads it.
    fn exchange(&mut self, request: Request) -> Result<(Reply, String), ProtocolError> {
        let id = self.next_id;
        self.next_id += 1;
        let describe = request.describe();
        let hello = matches!(request, Request::Hello { .. });
        let timeout = if hello {
            self.timeouts.startup
        } else {
            self.timeouts.request
        };
        let deadline = Instant::now() + timeout;
        let line =
            serde_json::to_string(&RequestEnvelope { id, request }).expect("requests serialize");
        self.send(id, &describe, &line, timeout)?;
        let left = deadline.saturating_duration_since(Instant::now());
        let reply = self.receive(id, &describe, left, (timeout, hello))?;
        read_reply(id, describe, &reply)
    }

    /// Sends request `id`'s line, or says why the implementation did not
    /// take it within `timeout`.
    fn send(
        &mut self,
        id: u64,
        describe: &str,
        line: &str,
        timeout: Duration,
    ) -> Result<(), ProtocolError> {
        match self.transport.send(line, timeout) {
            Ok(()) => Ok(()),
            Err(SendError::NotRead) => Err(ProtocolError::NotRead {
                id,
                request: describe.to_string(),
                ms: timeout.as_millis() as u64,
                exit: self.transport.exit_report(),
            }),
            Err(SendError::Failed(e)) => Err(ProtocolError::Write {
                id,
                request: describe.to_string(),
                error: e.to_string(),
                exit: self.transport.exit_report(),
            }),
        }
    }

    /// Receives the reply line to request `id` within `left`, or says why
    /// none came, given the request's whole timeout and whether it
    /// was hello's.
    fn receive(
        &mut self,
        id: u64,
        describe: &str,
        left: Duration,
        (timeout, hello): (Duration, bool),
    ) -> Result<String, ProtocolError> {
        match self.transport.receive(left) {
            Received::Line(l) => Ok(l),
            Received::Timeout => Err(ProtocolError::Timeout {
                id,
                request: describe.to_string(),
                ms: timeout.as_millis() as u64,
                allowance: if hello {
                    " (the allowance for starting up and answering hello)".into()
                } else {
                    String::new()
                },
                exit: self.transport.exit_report(),
            }),
            Received::Closed => Err(ProtocolError::Exited {
                id,
                request: describe.to_string(),
                exit: self.transport.exit_report(),
            }),
            Received::TooLong => Err(ProtocolError::TooLong {
                id,
                request: describe.to_string(),
                limit: self.transport.max_reply_bytes(),
            }),
        }
    }

    /// A request whose answer is `ok`, `error` or `unsupported`.
    fn simple(&mut self, request: Request) -> Result<Answer<()>, ProtocolError> {
        let id = self.next_id;
        match self.request(request)? {
            (Reply::Ok, _) => Ok(Answer::Done(())),
            (Reply::Error { message }, _) => Ok(Answer::Error(message)),
            (Reply::Unsupported { reason }, _) => Ok(Answer::Unsupported(reason)),
            (other, describe) => Err(self.broke(ProtocolError::Unexpected {
                id,
                request: describe,
                expected: "ok".into(),
                error: format!("got a `{}` reply", other.kind()),
                line: String::new(),
            })),
        }
    }

    /// Tells the implementation to exit, without waiting long for its
    /// answer: whatever it does, the transport stops it when dropped.
    pub fn bye(&mut self) {
        if self.finished || self.next_id == 1 {
            return;
        }
        let line = serde_json::to_string(&RequestEnvelope {
            id: self.next_id,
            request: Request::Bye,
        })
        .expect("requests serialize");
        self.next_id += 1;
        let wait = self.timeouts.request.min(BYE_WAIT);
        if self.transport.send(&line, wait).is_ok() {
            let _ = self.transport.receive(wait);
        }
        // Nothing more is sent once it said goodbye.
        self.finished = true;
    }
}

/// How long **bye** waits to be read, and then answered.
const BYE_WAIT: Duration = Duration::from_millis(200);

/// Reads the reply line to request `id`: a protocol reply with that id, or
/// the error saying what is wrong with it.
fn read_reply(id: u64, describe: String, reply: &str) -> Result<(Reply, String), ProtocolError> {
    if let Some(envelope) = ReplyEnvelope::parse_common(reply)
        && envelope.id == id
    {
        return Ok((envelope.reply, describe));
    }
    let value: serde_json::Value =
        serde_json::from_str(reply).map_err(|e| ProtocolError::NotJson {
            id,
            request: describe.clone(),
            error: e.to_string(),
            line: excerpt(reply),
        })?;
    if value.get("id").and_then(serde_json::Value::as_u64) != Some(id) {
        return Err(ProtocolError::OutOfOrder {
            id,
            request: describe,
            got: value
                .get("id")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "none".into()),
        });
    }
    let envelope: ReplyEnvelope =
        serde_json::from_value(value).map_err(|e| ProtocolError::Unexpected {
            id,
            request: describe.clone(),
            expected: "protocol".into(),
            error: e.to_string(),
            line: excerpt(reply),
        })?;
    Ok((envelope.reply, describe))
}

impl<T: Transport> Drop for Client<T> {
    /// The end of a conversation that went well: **bye**.
    fn drop(&mut self) {
        self.bye();
    }
}

fn excerpt(line: &str) -> String {
    const MAX: usize = 300;
    if line.len() <= MAX {
        line.to_string()
    } else {
        let cut = line
            .char_indices()
            .take_while(|(i, _)| *i < MAX)
            .last()
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        format!("{}… ({} bytes)", &line[..cut], line.len())
    }
}

impl<T: Transport> Implementation for Client<T> {
    fn hello(&mut self, offer: &[ProductOffer]) -> Result<Declaration, ProtocolError> {
        let id = self.next_id;
        let request = Request::Hello {
            protocol: PROTOCOL.to_string(),
            products: offer.to_vec(),
        };
        match self.request(request)? {
            (
                Reply::Hello {
                    protocol,
                    implementation,
                    implements,
                    readings,
                },
                _,
            ) => {
                if protocol != PROTOCOL {
                    return Err(self.broke(ProtocolError::Version {
                        expected: PROTOCOL.into(),
                        got: protocol,
                    }));
                }
                Ok(Declaration {
                    implementation,
                    implements,
                    readings,
                })
            }
            (other, describe) => Err(self.broke(ProtocolError::Unexpected {
                id,
                request: describe,
                expected: "hello".into(),
                error: match &other {
                    Reply::Error { message } => format!("it answered with an error: {message}"),
                    _ => format!("got a `{}` reply", other.kind()),
                },
                line: String::new(),
            })),
        }
    }

    fn load(&mut self, header: &HistoryHeader) -> Result<Answer<()>, ProtocolError> {
        self.simple(Request::Load {
            history: header.clone(),
        })
    }

    fn apply(&mut self, at: DateTime<Utc>, event: &Event) -> Result<Answer<()>, ProtocolError> {
        self.simple(Request::Apply {
            at,
            event: event.clone(),
        })
    }

    fn advance(&mut self, to: DateTime<Utc>) -> Result<Answer<()>, ProtocolError> {
        self.simple(Request::Advance { to })
    }

    fn observe(&mut self) -> Result<Answer<(Observation, Vec<TraceEvent>)>, ProtocolError> {
        let id = self.next_id;
        match self.request(Request::Observe)? {
            (
                Reply::Observation {
                    observation,
                    events,
                },
                _,
            ) => Ok(Answer::Done((observation, events))),
            (Reply::Error { message }, _) => Ok(Answer::Error(message)),
            (Reply::Unsupported { reason }, _) => Ok(Answer::Unsupported(reason)),
            (other, describe) => Err(self.broke(ProtocolError::Unexpected {
                id,
                request: describe,
                expected: "observation".into(),
                error: format!("got a `{}` reply", other.kind()),
                line: String::new(),
            })),
        }
    }
}

/// Replies given in advance, for tests: each `receive` takes the next one.
pub struct ScriptedTransport {
    pub replies: VecDeque<Received>,
    pub sent: Vec<String>,
}

impl ScriptedTransport {
    pub fn new(replies: impl IntoIterator<Item = Received>) -> ScriptedTransport {
        ScriptedTransport {
            replies: replies.into_iter().collect(),
            sent: Vec::new(),
        }
    }
}

impl Transport for ScriptedTransport {
    fn send(&mut self, line: &str, _: Duration) -> Result<(), SendError> {
        self.sent.push(line.to_string());
        Ok(())
    }

    fn receive(&mut self, _: Duration) -> Received {
        self.replies.pop_front().unwrap_or(Received::Closed)
    }

    fn exit_report(&mut self) -> String {
        String::new()
    }
}
