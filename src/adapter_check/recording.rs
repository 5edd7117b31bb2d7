//! The transport wrapper that keeps the last exchange, and what a protocol
//! error says once that exchange is read again: the request it answered,
//! and the field at fault when the reply was a malformed observation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::protocol::messages::RequestEnvelope;
use crate::protocol::{ProtocolError, Received, SendError, Transport};

use super::locate::malformed_observation;

/// The last request sent and reply received, shared with the check while
/// the client owns the transport.
#[derive(Debug, Default)]
pub(super) struct Exchange {
    request: Option<String>,
    reply: Option<String>,
}

/// A transport that remembers the last exchange, so that a reply the client
/// refused can be read again to say where it is wrong.
pub(super) struct Recording<T> {
    pub(super) inner: T,
    pub(super) last: Arc<Mutex<Exchange>>,
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&mut self, line: &str, timeout: Duration) -> Result<(), SendError> {
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            last.request = Some(line.to_string());
            last.reply = None;
        }
        self.inner.send(line, timeout)
    }

    fn receive(&mut self, timeout: Duration) -> Received {
        let received = self.inner.receive(timeout);
        if let Received::Line(line) = &received {
            self.last.lock().unwrap_or_else(|e| e.into_inner()).reply = Some(line.clone());
        }
        received
    }

    fn exit_report(&mut self) -> String {
        self.inner.exit_report()
    }

    fn kill(&mut self) {
        self.inner.kill();
    }

    fn max_reply_bytes(&self) -> usize {
        self.inner.max_reply_bytes()
    }
}

/// The last request sent, described: `request 5 (observe)`.
pub(super) fn last_request(last: &Mutex<Exchange>) -> String {
    let last = last.lock().unwrap_or_else(|e| e.into_inner());
    match last
        .request
        .as_deref()
        .and_then(|l| serde_json::from_str::<RequestEnvelope>(l).ok())
    {
        Some(r) => format!("request {} ({})", r.id, r.request.describe()),
        None => "a request".to_string(),
    }
}

/// What a protocol error says, with the field at fault when the reply was
/// an observation that did not parse.
pub(super) fn broke(e: &ProtocolError, last: &Mutex<Exchange>) -> String {
    let message = e.to_string();
    let ProtocolError::Unexpected { id, request, .. } = e else {
        return message;
    };
    let reply = last.lock().unwrap_or_else(|e| e.into_inner()).reply.clone();
    match reply.as_deref().and_then(malformed_observation) {
        // Located, the field says more than the reply's first 300 bytes.
        Some((path, problem)) => format!(
            "failed to read the reply to request {id} ({request}): the observation is malformed at `{path}`: {problem} (`arrears schema observation` prints the expected shape)"
        ),
        None => message,
    }
}
