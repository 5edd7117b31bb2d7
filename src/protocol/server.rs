//! The implementation side of the adapter protocol: reads requests from a
//! reader, answers them with an [`Implementation`], writes replies to a
//! writer. A Rust implementation under test can be a protocol-speaking
//! binary with a `main` of three lines; `arrears serve` is the reference
//! model served this way.

use std::io::{BufRead, Write};

use super::messages::{PROTOCOL, Reply, ReplyEnvelope, Request, RequestEnvelope};
use super::{Answer, Implementation, ProtocolError};

/// Serves requests until **bye** or the end of the input. Returns an error
/// only if the output cannot be written.
pub fn serve(
    implementation: &mut dyn Implementation,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (id, reply, last) = match serde_json::from_str::<RequestEnvelope>(&line) {
            Err(e) => {
                let id = serde_json::from_str::<serde_json::Value>(&line)
                    .ok()
                    .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64))
                    .unwrap_or(0);
                (
                    id,
                    Reply::Error {
                        message: format!("failed to read the request: {e}"),
                    },
                    false,
                )
            }
            Ok(RequestEnvelope { id, request }) => {
                let last = matches!(request, Request::Bye);
                (id, answer(implementation, request), last)
            }
        };
        let text = serde_json::to_string(&ReplyEnvelope { id, reply }).expect("replies serialize");
        output.write_all(text.as_bytes())?;
        output.write_all(b"\n")?;
        output.flush()?;
        if last {
            break;
        }
    }
    Ok(())
}

fn answer(implementation: &mut dyn Implementation, request: Request) -> Reply {
    fn simple(a: Result<Answer<()>, ProtocolError>) -> Reply {
        match a {
            Ok(Answer::Done(())) => Reply::Ok,
            Ok(Answer::Error(message)) => Reply::Error { message },
            Ok(Answer::Unsupported(reason)) => Reply::Unsupported { reason },
            Err(e) => Reply::Error {
                message: e.to_string(),
            },
        }
    }
    match request {
        Request::Hello { products, .. } => match implementation.hello(&products) {
            Ok(d) => Reply::Hello {
                protocol: PROTOCOL.to_string(),
                implementation: d.implementation,
                implements: d.implements,
                readings: d.readings,
            },
            Err(e) => Reply::Error {
                message: e.to_string(),
            },
        },
        Request::Load { history } => simple(implementation.load(&history)),
        Request::Apply { at, event } => simple(implementation.apply(at, &event)),
        Request::Advance { to } => simple(implementation.advance(to)),
        Request::Observe => match implementation.observe() {
            Ok(Answer::Done((observation, events))) => Reply::Observation {
                observation,
                events,
            },
            Ok(Answer::Error(message)) => Reply::Error { message },
            Ok(Answer::Unsupported(reason)) => Reply::Unsupported { reason },
            Err(e) => Reply::Error {
                message: e.to_string(),
            },
        },
        Request::Bye => Reply::Ok,
    }
}
