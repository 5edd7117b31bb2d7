//! The client side of the adapter protocol: a [`Client`] speaks it over a
//! [`Transport`] — a child process ([`ChildProcess`]) or, in tests, a
//! scripted list of replies ([`ScriptedTransport`]).
//!
//! Reading a child's output happens on a thread that hands complete lines
//! to the client through a channel, so that every wait has a timeout and a
//! child that hangs, floods or dies is reported instead of blocking arrears.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// A line-based channel to an implementation.
pub trait Transport: Send {
    fn send(&mut self, line: &str) -> std::io::Result<()>;
    fn receive(&mut self, timeout: Duration) -> Received;
    /// How the implementation ended, for error messages (empty if unknown).
    fn exit_report(&mut self) -> String;
}

/// The adapter protocol over a transport.
pub struct Client<T: Transport> {
    transport: T,
    next_id: u64,
    timeout: Duration,
}

impl<T: Transport> Client<T> {
    pub fn new(transport: T, timeout: Duration) -> Client<T> {
        Client {
            transport,
            next_id: 1,
            timeout,
        }
    }

    /// Sends a request and reads its reply, checking the id and the JSON.
    pub fn request(&mut self, request: Request) -> Result<(Reply, String), ProtocolError> {
        let id = self.next_id;
        self.next_id += 1;
        let describe = request.describe();
        let line =
            serde_json::to_string(&RequestEnvelope { id, request }).expect("requests serialize");
        if let Err(e) = self.transport.send(&line) {
            return Err(ProtocolError::Write {
                id,
                request: describe,
                error: e.to_string(),
                exit: self.transport.exit_report(),
            });
        }
        let reply = match self.transport.receive(self.timeout) {
            Received::Line(l) => l,
            Received::Timeout => {
                return Err(ProtocolError::Timeout {
                    id,
                    request: describe,
                    ms: self.timeout.as_millis() as u64,
                });
            }
            Received::Closed => {
                return Err(ProtocolError::Exited {
                    id,
                    request: describe,
                    exit: self.transport.exit_report(),
                });
            }
            Received::TooLong => {
                return Err(ProtocolError::TooLong {
                    id,
                    request: describe,
                    limit: MAX_REPLY_BYTES,
                });
            }
        };
        let value: serde_json::Value =
            serde_json::from_str(&reply).map_err(|e| ProtocolError::NotJson {
                id,
                request: describe.clone(),
                error: e.to_string(),
                line: excerpt(&reply),
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
                line: excerpt(&reply),
            })?;
        Ok((envelope.reply, describe))
    }

    /// A request whose answer is `ok`, `error` or `unsupported`.
    fn simple(&mut self, request: Request) -> Result<Answer<()>, ProtocolError> {
        let id = self.next_id;
        match self.request(request)? {
            (Reply::Ok, _) => Ok(Answer::Done(())),
            (Reply::Error { message }, _) => Ok(Answer::Error(message)),
            (Reply::Unsupported { reason }, _) => Ok(Answer::Unsupported(reason)),
            (other, describe) => Err(ProtocolError::Unexpected {
                id,
                request: describe,
                expected: "ok".into(),
                error: format!("got a `{}` reply", other.kind()),
                line: String::new(),
            }),
        }
    }

    /// Tells the implementation to exit.
    pub fn bye(&mut self) {
        let line = serde_json::to_string(&RequestEnvelope {
            id: self.next_id,
            request: Request::Bye,
        })
        .expect("requests serialize");
        let _ = self.transport.send(&line);
        let _ = self.transport.receive(Duration::from_millis(200));
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
                    return Err(ProtocolError::Version {
                        expected: PROTOCOL.into(),
                        got: protocol,
                    });
                }
                Ok(Declaration {
                    implementation,
                    implements,
                    readings,
                })
            }
            (other, describe) => Err(ProtocolError::Unexpected {
                id,
                request: describe,
                expected: "hello".into(),
                error: match &other {
                    Reply::Error { message } => format!("it answered with an error: {message}"),
                    _ => format!("got a `{}` reply", other.kind()),
                },
                line: String::new(),
            }),
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
            (other, describe) => Err(ProtocolError::Unexpected {
                id,
                request: describe,
                expected: "observation".into(),
                error: format!("got a `{}` reply", other.kind()),
                line: String::new(),
            }),
        }
    }
}

/// A child process speaking the protocol on its standard input and output.
pub struct ChildProcess {
    command: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Received>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

/// The last lines of standard error kept for error messages.
const STDERR_LINES: usize = 20;

impl ChildProcess {
    /// Starts `command` (run by `sh -c`, so it may carry arguments and quotes).
    pub fn spawn(command: &str) -> Result<ChildProcess, ProtocolError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ProtocolError::Spawn {
                command: command.to_string(),
                error: e.to_string(),
            })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                let read = (&mut reader)
                    .take(MAX_REPLY_BYTES as u64 + 1)
                    .read_until(b'\n', &mut buf);
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) if buf.len() > MAX_REPLY_BYTES => {
                        let _ = tx.send(Received::TooLong);
                        break;
                    }
                    Ok(_) => {
                        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                            buf.pop();
                        }
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        if tx.send(Received::Line(line)).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let keep = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let reader = BufReader::new(stderr_pipe);
            for line in reader.lines() {
                let Ok(line) = line else { break };
                let mut kept = keep.lock().unwrap_or_else(|e| e.into_inner());
                if kept.len() == STDERR_LINES {
                    kept.pop_front();
                }
                kept.push_back(line.chars().take(500).collect());
            }
        });
        Ok(ChildProcess {
            command: command.to_string(),
            child,
            stdin,
            lines: rx,
            stderr,
        })
    }

    pub fn command(&self) -> &str {
        &self.command
    }
}

impl Transport for ChildProcess {
    fn send(&mut self, line: &str) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "standard input closed")
        })?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    fn receive(&mut self, timeout: Duration) -> Received {
        match self.lines.recv_timeout(timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Received::Timeout,
            Err(RecvTimeoutError::Disconnected) => Received::Closed,
        }
    }

    fn exit_report(&mut self) -> String {
        // Give a dying child a moment to be reaped, so its status is known.
        let mut status = None;
        for _ in 0..20 {
            if let Ok(Some(s)) = self.child.try_wait() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut out = match status {
            Some(s) => format!("; it exited with {s}"),
            None => "; it is still running".to_string(),
        };
        std::thread::sleep(Duration::from_millis(20));
        let stderr = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        if !stderr.is_empty() {
            out.push_str("; its last lines of standard error:\n");
            for line in stderr.iter() {
                out.push_str("  | ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Closing standard input lets a well-behaved child exit by itself.
        self.stdin = None;
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
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
    fn send(&mut self, line: &str) -> std::io::Result<()> {
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
