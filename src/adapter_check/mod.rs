//! `arrears check-adapter`: a smoke test of an adapter, in the adapter's own
//! terms, before any conformance run.
//!
//! It starts the adapter, says hello, and runs one tiny history per product
//! the adapter declares (one account that never pays, one resource of each
//! lifecycle it implements, a charge on each that can be charged), through
//! the same [`Client`] and process containment as `verify`. It judges only
//! whether the adapter speaks the protocol and the observation vocabulary,
//! never whether it behaves as the documents say (that is `verify`): each
//! [`Finding`] names what the adapter did wrong — a product id the specs do
//! not know, an operation of its product its observations leave out, a
//! malformed observation with the field and what was expected, a reply that
//! is not JSON, a timeout, a crash with its last lines of standard error.
//!
//! A malformed reply is located by reading it again: the client only knows
//! that the reply did not parse, so `Recording` keeps the last request and
//! reply lines, and `locate` finds the path of the field that failed.
//!
//! This file runs the check (hello, the declaration, one history per
//! product); `vocabulary.rs` holds the observations against the specs' ids,
//! `recording.rs` keeps the last exchange and `locate.rs` finds the field.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::generate::{
    AccountBlueprint, Blueprint, Builder, GenConfig, Payer, ResourceBlueprint, Scenario, Step,
    StepKind, Swarm, TimeSpec,
};
use crate::protocol::{
    self, Answer, ChildProcess, Client, Declaration, Implementation, Implemented, ProtocolError,
    Timeouts,
};
use crate::spec::{Catalog, DocId};

mod locate;
mod recording;
mod vocabulary;

use recording::{Exchange, Recording, broke, last_request};
use vocabulary::vocabulary;

/// One thing wrong with the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Where: `start`, `hello`, or the product whose tiny history showed it.
    pub scope: String,
    pub message: String,
}

/// What one product's tiny history did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRun {
    pub product: String,
    pub resources: usize,
    pub events: usize,
    /// Observations taken (the history ran to its end), or `None` when it
    /// did not.
    pub observations: Option<usize>,
}

/// The result of a smoke test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterCheck {
    pub command: String,
    /// The name it gave in hello, once it answered.
    pub implementation: Option<String>,
    pub implements: Vec<Implemented>,
    pub products: Vec<ProductRun>,
    pub findings: Vec<Finding>,
}

impl AdapterCheck {
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    fn find(&mut self, scope: &str, message: impl Into<String>) {
        let finding = Finding {
            scope: scope.to_string(),
            message: message.into().trim_end().to_string(),
        };
        // The same slip shows in every observation: say it once.
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }

    /// The text report: one line per product and per finding, then a verdict.
    pub fn text(&self) -> String {
        let mut out = format!("arrears check-adapter: `{}`\n", self.command);
        if let Some(name) = &self.implementation {
            let declared: Vec<String> = self
                .implements
                .iter()
                .map(|i| format!("{} ({})", i.product, billing_names(&i.billing).join(", ")))
                .collect();
            out.push_str(&format!(
                "hello: {name} implements {}\n",
                if declared.is_empty() {
                    "nothing".to_string()
                } else {
                    declared.join("; ")
                }
            ));
        }
        for p in &self.products {
            match p.observations {
                Some(n) => out.push_str(&format!(
                    "{}: ran a tiny history ({}, {}, {})\n",
                    p.product,
                    count(p.resources, "resource"),
                    count(p.events, "event"),
                    count(n, "observation")
                )),
                None => out.push_str(&format!(
                    "{}: the tiny history ({}) did not run to its end\n",
                    p.product,
                    count(p.resources, "resource")
                )),
            }
        }
        for f in &self.findings {
            out.push_str(&format!("FAIL {}: {}\n", f.scope, f.message));
        }
        if self.passed() {
            out.push_str("passed: the adapter speaks the protocol; run `arrears verify` with it\n");
        } else {
            out.push_str(&format!(
                "failed: {} finding{} in the adapter\n",
                self.findings.len(),
                if self.findings.len() == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

/// "1 event", "2 events".
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The wire names of billing methods (`pay-as-you-go`).
fn billing_names(billing: &[crate::spec::BillingMethod]) -> Vec<String> {
    billing
        .iter()
        .map(|b| {
            serde_json::to_value(b)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| format!("{b:?}"))
        })
        .collect()
}

/// Runs the smoke test on the adapter started with `command`.
pub fn check_adapter(catalog: &Catalog, command: &str, timeouts: Timeouts) -> AdapterCheck {
    let mut check = AdapterCheck {
        command: command.to_string(),
        implementation: None,
        implements: Vec::new(),
        products: Vec::new(),
        findings: Vec::new(),
    };
    let child = match ChildProcess::spawn(command) {
        Ok(c) => c,
        Err(e) => {
            check.find("start", e.to_string());
            return check;
        }
    };
    let last = Arc::new(Mutex::new(Exchange::default()));
    let mut client = Client::new(
        Recording {
            inner: child,
            last: last.clone(),
        },
        timeouts,
    );
    let offer = protocol::offer(catalog);
    let declaration = match client.hello(&offer) {
        Ok(d) => d,
        Err(e) => {
            check.find("hello", broke(&e, &last));
            return check;
        }
    };
    check.implementation = Some(declaration.implementation.clone());
    check.implements = declaration.implements.clone();
    let valid = checked_declaration(catalog, &declaration, &mut check);
    let session = Session {
        catalog,
        implementation: &declaration.implementation,
        last: &last,
    };
    for (doc, implemented) in valid {
        if session
            .run_product(&mut client, doc, implemented, &mut check)
            .is_break()
        {
            // It was stopped for breaking the protocol: nothing more to ask.
            break;
        }
    }
    client.bye();
    check
}

/// What running each declared product's history needs besides the client.
struct Session<'a> {
    catalog: &'a Catalog,
    /// The implementation's name, from its hello.
    implementation: &'a str,
    last: &'a Mutex<Exchange>,
}

impl Session<'_> {
    /// Runs the tiny history of one declared product and checks what the
    /// adapter reports; breaks when the adapter broke the protocol.
    fn run_product(
        &self,
        client: &mut Client<Recording<ChildProcess>>,
        doc: DocId,
        implemented: Implemented,
        check: &mut AdapterCheck,
    ) -> ControlFlow<()> {
        let catalog = self.catalog;
        let product = catalog.document(doc).id.clone();
        let lifecycles = crate::verify::implemented_lifecycles(
            catalog,
            &Declaration {
                implementation: self.implementation.to_string(),
                implements: vec![implemented],
                readings: Default::default(),
            },
        );
        let Some(scenario) = tiny_history(catalog, doc, lifecycles) else {
            check.find(
                &product,
                "the billing methods it declares leave no resource a history can hold (a resource whose parent's billing method is not declared is never generated): `verify` would run nothing of this product",
            );
            return ControlFlow::Continue(());
        };
        let observe = crate::verify::observation_instants(catalog, &scenario);
        let mut run = ProductRun {
            product: product.clone(),
            resources: scenario.history.resources.len(),
            events: scenario.history.events.len(),
            observations: None,
        };
        let outcome = protocol::drive(client, &scenario.history, &observe);
        let flow = match outcome {
            Ok(Answer::Done(trace)) => {
                run.observations = Some(trace.observations.len());
                vocabulary(catalog, doc, &scenario.history, &trace, check);
                ControlFlow::Continue(())
            }
            Ok(Answer::Error(message)) => {
                check.find(
                    &product,
                    format!(
                        "it answered {} with `error` in a history holding only what it declares: {message}",
                        last_request(self.last)
                    ),
                );
                ControlFlow::Continue(())
            }
            Ok(Answer::Unsupported(reason)) => {
                check.find(
                    &product,
                    format!(
                        "it answered {} with `unsupported` in a history holding only what it declares (so `verify` would skip such histories): {reason}",
                        last_request(self.last)
                    ),
                );
                ControlFlow::Continue(())
            }
            Err(e) => {
                check.find(&product, broke(&e, self.last));
                ControlFlow::Break(())
            }
        };
        check.products.push(run);
        flow
    }
}

/// Checks a hello declaration product by product; returns the products
/// that can be run, each with the billing methods the offer lists for it.
fn checked_declaration(
    catalog: &Catalog,
    declaration: &Declaration,
    check: &mut AdapterCheck,
) -> Vec<(DocId, Implemented)> {
    if declaration.implements.is_empty() {
        check.find(
            "hello",
            "it declares no product in `implements`: `verify` would have nothing to run",
        );
    }
    if let Err(e) = crate::verify::reference_catalogs(catalog, &declaration.readings) {
        check.find("hello", format!("it declares {e}"));
    }
    let offer = protocol::offer(catalog);
    let mut valid: Vec<(DocId, Implemented)> = Vec::new();
    let mut seen = BTreeSet::new();
    for implemented in &declaration.implements {
        if !seen.insert(implemented.product.clone()) {
            check.find(
                "hello",
                format!(
                    "it declares product `{}` twice in `implements`",
                    implemented.product
                ),
            );
            continue;
        }
        // The same check as verify's, one product at a time, so that every
        // wrong id is named, not just the first.
        let one = Declaration {
            implementation: declaration.implementation.clone(),
            implements: vec![implemented.clone()],
            readings: Default::default(),
        };
        if let Err(ProtocolError::Declared { error }) = protocol::check_declaration(&offer, &one) {
            check.find("hello", format!("it declares {error}"));
            continue;
        }
        if implemented.billing.is_empty() {
            check.find(
                "hello",
                format!(
                    "it declares product `{}` with no billing method",
                    implemented.product
                ),
            );
            continue;
        }
        if let Some(doc) = catalog.document_named(&implemented.product) {
            valid.push((doc, implemented.clone()));
        }
    }
    valid
}

/// A tiny history of one product: one account that never pays, one
/// resource of each lifecycle implemented (and the parents they need), a
/// charge on each that can be charged a day in, and the long jump to the
/// end that every generated history has.
fn tiny_history(
    catalog: &Catalog,
    doc: DocId,
    lifecycles: BTreeSet<crate::spec::LifecycleId>,
) -> Option<Scenario> {
    let config = GenConfig {
        products: vec![doc],
        lifecycles: Some(lifecycles),
        ..GenConfig::all(catalog)
    };
    let builder = Builder::new(catalog, &config);
    let drawn = builder.lifecycles();
    if drawn.is_empty() {
        return None;
    }
    let day_one = TimeSpec {
        base: None,
        boundary: 0,
        delta: 5,
        jitter: 0,
    };
    let chargeable = drawn.iter().filter(|l| l.chargeable).count();
    let blueprint = Blueprint {
        focus: vec![0],
        all_products: false,
        accounts: vec![AccountBlueprint {
            cash: 0,
            vouchers: 0,
            credit_alert: None,
            payer: Payer::Never,
        }],
        resources: (0..drawn.len())
            .map(|i| ResourceBlueprint {
                lifecycle: i,
                account: 0,
                parent: 0,
                hourly_price: 100,
                term_days: 30,
                bought_days_ago: 0,
                paid_cash: 3_000,
                paid_voucher: 0,
            })
            .collect(),
        steps: (0..chargeable)
            .map(|target| Step {
                when: day_one,
                kind: StepKind::Charge {
                    target,
                    amount: 2_400,
                },
            })
            .collect(),
        observe: vec![day_one],
        swarm: Swarm::all(),
    };
    Some(builder.build(&blueprint))
}
