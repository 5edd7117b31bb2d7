//! Systems under test: an [`Implementation`] (a child process speaking the
//! adapter protocol, or an in-process Rust type) seen as a
//! [`System`] that runs whole histories.
//!
//! Cases run in parallel, so [`Driven`] keeps a pool of implementation
//! instances: each history takes one (or starts a new one, which says
//! hello), loads into it, and gives it back. An instance that broke the
//! protocol is dropped (a child process is killed), and once one has, no new
//! history is started: the run stops with the protocol error instead of
//! waiting out one timeout per remaining case.
//!
//! Every instance's **hello** is checked against the offer
//! ([`protocol::check_declaration`]), in-process implementations included.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::history::{History, Offset};
use crate::observation::Trace;
use crate::protocol::{
    self, Answer, ChildProcess, Client, Declaration, Implementation, ProductOffer, ProtocolError,
    Timeouts,
};
use crate::spec::Catalog;
use crate::verify::{System, SystemError, SystemErrorKind};

type Factory<'a> =
    Box<dyn Fn() -> Result<Box<dyn Implementation + 'a>, ProtocolError> + Send + Sync + 'a>;

pub struct Driven<'a> {
    name: String,
    factory: Factory<'a>,
    offer: Vec<ProductOffer>,
    declaration: Declaration,
    pool: Mutex<Vec<Box<dyn Implementation + 'a>>>,
    broken: AtomicBool,
}

impl<'a> Driven<'a> {
    /// Starts one instance and shakes hands with it.
    pub fn new(
        catalog: &Catalog,
        name: impl Into<String>,
        factory: impl Fn() -> Result<Box<dyn Implementation + 'a>, ProtocolError> + Send + Sync + 'a,
    ) -> Result<Driven<'a>, ProtocolError> {
        let offer = protocol::offer(catalog);
        let mut first = factory()?;
        let declaration = first.hello(&offer)?;
        protocol::check_declaration(&offer, &declaration)?;
        Ok(Driven {
            name: name.into(),
            factory: Box::new(factory),
            offer,
            declaration,
            pool: Mutex::new(vec![first]),
            broken: AtomicBool::new(false),
        })
    }

    /// A child process started with `command`, answering each request
    /// within `timeout`, and **hello** within the default start-up
    /// allowance ([`Timeouts::new`]).
    pub fn child(
        catalog: &Catalog,
        command: &str,
        timeout: Duration,
    ) -> Result<Driven<'static>, ProtocolError> {
        Driven::child_with(catalog, command, Timeouts::new(timeout))
    }

    /// A child process started with `command`, answering as `timeouts` say.
    pub fn child_with(
        catalog: &Catalog,
        command: &str,
        timeouts: Timeouts,
    ) -> Result<Driven<'static>, ProtocolError> {
        let owned = command.to_string();
        let spawn = move || -> Result<Box<dyn Implementation + 'static>, ProtocolError> {
            Ok(Box::new(Client::new(
                ChildProcess::spawn(&owned)?,
                timeouts,
            )))
        };
        let driven = Driven::new(catalog, "", spawn)?;
        let name = format!("{} (`{command}`)", driven.declaration.implementation);
        Ok(Driven { name, ..driven })
    }

    pub fn declaration(&self) -> &Declaration {
        &self.declaration
    }

    fn take(&self) -> Result<Box<dyn Implementation + 'a>, ProtocolError> {
        if let Some(i) = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(i);
        }
        let mut fresh = (self.factory)()?;
        let declaration = fresh.hello(&self.offer)?;
        if declaration != self.declaration {
            return Err(ProtocolError::Unexpected {
                id: 1,
                request: "hello".into(),
                expected: "hello".into(),
                error: "a second instance declared something else than the first".into(),
                line: String::new(),
            });
        }
        Ok(fresh)
    }
}

impl System for Driven<'_> {
    fn describe(&self) -> String {
        if self.name.is_empty() {
            self.declaration.implementation.clone()
        } else {
            self.name.clone()
        }
    }

    fn declaration(&self) -> Option<&Declaration> {
        Some(&self.declaration)
    }

    fn run(&self, history: &History, observe: &[Offset]) -> Result<Trace, SystemError> {
        let protocol = |e: ProtocolError| SystemError {
            kind: SystemErrorKind::Protocol,
            message: e.to_string(),
        };
        if self.broken.load(Ordering::SeqCst) {
            return Err(SystemError {
                kind: SystemErrorKind::Protocol,
                message: "not run: the implementation already broke the protocol".into(),
            });
        }
        let mut instance = self.take().map_err(|e| {
            self.broken.store(true, Ordering::SeqCst);
            protocol(e)
        })?;
        match protocol::drive(instance.as_mut(), history, observe) {
            Ok(answer) => {
                self.pool
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(instance);
                match answer {
                    Answer::Done(trace) => Ok(trace),
                    Answer::Error(message) => Err(SystemError {
                        kind: SystemErrorKind::Refused,
                        message,
                    }),
                    Answer::Unsupported(reason) => Err(SystemError {
                        kind: SystemErrorKind::Unsupported,
                        message: reason,
                    }),
                }
            }
            Err(e) => {
                self.broken.store(true, Ordering::SeqCst);
                Err(protocol(e))
            }
        }
    }
}
