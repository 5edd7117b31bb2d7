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

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::generate::{
    AccountBlueprint, Blueprint, Builder, GenConfig, Payer, ResourceBlueprint, Scenario, Step,
    StepKind, Swarm, TimeSpec,
};
use crate::history::History;
use crate::observation::{Observation, Trace, TraceEvent};
use crate::protocol::messages::RequestEnvelope;
use crate::protocol::{
    self, Answer, ChildProcess, Client, Declaration, Implementation, Implemented, ProtocolError,
    Received, SendError, Timeouts, Transport,
};
use crate::spec::{Catalog, DocId};

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

/// The last request sent and reply received, shared with the check while
/// the client owns the transport.
#[derive(Debug, Default)]
struct Exchange {
    request: Option<String>,
    reply: Option<String>,
}

/// A transport that remembers the last exchange, so that a reply the client
/// refused can be read again to say where it is wrong.
struct Recording<T> {
    inner: T,
    last: Arc<Mutex<Exchange>>,
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
    for (doc, implemented) in valid {
        let product = catalog.document(doc).id.clone();
        let lifecycles = crate::verify::implemented_lifecycles(
            catalog,
            &Declaration {
                implementation: declaration.implementation.clone(),
                implements: vec![implemented],
                readings: Default::default(),
            },
        );
        let Some(scenario) = tiny_history(catalog, doc, lifecycles) else {
            check.find(
                &product,
                "the billing methods it declares leave no resource a history can hold (a resource whose parent's billing method is not declared is never generated): `verify` would run nothing of this product",
            );
            continue;
        };
        let observe = crate::verify::observation_instants(catalog, &scenario);
        let mut run = ProductRun {
            product: product.clone(),
            resources: scenario.history.resources.len(),
            events: scenario.history.events.len(),
            observations: None,
        };
        let outcome = protocol::drive(&mut client, &scenario.history, &observe);
        let stop = match outcome {
            Ok(Answer::Done(trace)) => {
                run.observations = Some(trace.observations.len());
                vocabulary(catalog, doc, &scenario.history, &trace, &mut check);
                false
            }
            Ok(Answer::Error(message)) => {
                check.find(
                    &product,
                    format!(
                        "it answered {} with `error` in a history holding only what it declares: {message}",
                        last_request(&last)
                    ),
                );
                false
            }
            Ok(Answer::Unsupported(reason)) => {
                check.find(
                    &product,
                    format!(
                        "it answered {} with `unsupported` in a history holding only what it declares (so `verify` would skip such histories): {reason}",
                        last_request(&last)
                    ),
                );
                false
            }
            Err(e) => {
                check.find(&product, broke(&e, &last));
                true
            }
        };
        check.products.push(run);
        if stop {
            // It was stopped for breaking the protocol: nothing more to ask.
            break;
        }
    }
    client.bye();
    check
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

/// Checks what the adapter reported against the specs' vocabulary: every
/// account and resource of the history is there, each resource names a
/// lifecycle of its product and a state of that lifecycle, and lists every
/// operation of its product; every rule an event cites exists.
fn vocabulary(
    catalog: &Catalog,
    doc: DocId,
    history: &History,
    trace: &Trace,
    check: &mut AdapterCheck,
) {
    let document = catalog.document(doc);
    let product = document.id.as_str();
    let operations: Vec<&str> = document
        .operations
        .keys()
        .map(|op| catalog.op_name(*op))
        .collect();
    let mut sorted_ops = operations.clone();
    sorted_ops.sort_unstable();
    let lifecycles: Vec<&crate::spec::Lifecycle> =
        catalog.lifecycles.iter().filter(|l| l.doc == doc).collect();
    // Operations left out (or unknown), with the resources they are
    // missing from: one finding per set, however many resources share it.
    let mut operation_slips: Vec<(String, Vec<String>)> = Vec::new();
    for o in &trace.observations {
        observation_vocabulary(
            product,
            &sorted_ops,
            &lifecycles,
            history,
            o,
            check,
            &mut operation_slips,
        );
    }
    for (slip, resources) in operation_slips {
        check.find(
            product,
            format!(
                "{slip} (in its observations of {})",
                quoted(&resources.iter().map(String::as_str).collect::<Vec<_>>())
            ),
        );
    }
    for e in &trace.events {
        if let Some(rule) = e.rule()
            && catalog.rule_named(rule).is_none()
        {
            check.find(
                product,
                format!(
                    "a `{}` event cites rule `{rule}`, which the specs do not have (`arrears rules --product {product}` lists them)",
                    event_name(e)
                ),
            );
        }
        if let TraceEvent::Transition {
            lifecycle,
            from,
            to,
            ..
        } = e
            && let Some(l) = lifecycles.iter().find(|l| l.id == **lifecycle)
        {
            for state in [from, to] {
                if l.state_named(state).is_none() {
                    check.find(
                        product,
                        format!(
                            "a `transition` event names state `{state}`, which lifecycle `{lifecycle}` does not have; its states: {}",
                            state_list(l)
                        ),
                    );
                }
            }
        }
    }
}

fn observation_vocabulary(
    product: &str,
    operations: &[&str],
    lifecycles: &[&crate::spec::Lifecycle],
    history: &History,
    o: &Observation,
    check: &mut AdapterCheck,
    operation_slips: &mut Vec<(String, Vec<String>)>,
) {
    let mut slip = |message: String, resource: &str| match operation_slips
        .iter_mut()
        .find(|(m, _)| *m == message)
    {
        Some((_, resources)) => {
            if !resources.iter().any(|r| r == resource) {
                resources.push(resource.to_string());
            }
        }
        None => operation_slips.push((message, vec![resource.to_string()])),
    };
    for a in &history.accounts {
        if o.account(&a.id).is_none() {
            check.find(
                product,
                format!(
                    "its observation at {} leaves out account `{}` of the history",
                    o.at.to_rfc3339(),
                    a.id
                ),
            );
        }
    }
    for r in &history.resources {
        if o.resource(&r.id).is_none() {
            check.find(
                product,
                format!(
                    "its observation at {} leaves out resource `{}` of the history",
                    o.at.to_rfc3339(),
                    r.id
                ),
            );
        }
    }
    for r in &o.resources {
        let id = &r.resource;
        let Some(def) = history.resources.iter().find(|d| d.id == **id) else {
            check.find(
                product,
                format!("it reports resource `{id}`, which the history does not have"),
            );
            continue;
        };
        if r.product != def.product {
            check.find(
                product,
                format!(
                    "it reports resource `{id}` as product `{}`; the history says `{}`",
                    r.product, def.product
                ),
            );
            continue;
        }
        match lifecycles.iter().find(|l| l.id == *r.lifecycle) {
            None => check.find(
                product,
                format!(
                    "it reports resource `{id}` in lifecycle `{}`, which {product} does not have; its lifecycles: {}",
                    r.lifecycle,
                    lifecycles
                        .iter()
                        .map(|l| l.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some(l) if l.state_named(&r.state).is_none() => check.find(
                product,
                format!(
                    "it reports resource `{id}` in state `{}`, which lifecycle `{}` does not have; its states: {}",
                    r.state,
                    l.id,
                    state_list(l)
                ),
            ),
            Some(_) => {}
        }
        let missing: Vec<&str> = operations
            .iter()
            .copied()
            .filter(|op| r.operations.get(op).is_none())
            .collect();
        if !missing.is_empty() {
            slip(
                format!(
                    "a resource's `operations` leaves out operation{} {} of {product}; it must list every operation of the product: {}",
                    if missing.len() == 1 { "" } else { "s" },
                    quoted(&missing),
                    operations.join(", ")
                ),
                id,
            );
        }
        let unknown: Vec<&str> = r
            .operations
            .keys()
            .filter(|op| !operations.contains(op))
            .collect();
        if !unknown.is_empty() {
            slip(
                format!(
                    "a resource's `operations` lists operation{} {}, which {product} does not have; its operations: {}",
                    if unknown.len() == 1 { "" } else { "s" },
                    quoted(&unknown),
                    operations.join(", ")
                ),
                id,
            );
        }
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn state_list(l: &crate::spec::Lifecycle) -> String {
    l.states
        .iter()
        .map(|s| s.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn event_name(e: &TraceEvent) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.get("event").and_then(Value::as_str).map(String::from))
        .unwrap_or_default()
}

/// The last request sent, described: `request 5 (observe)`.
fn last_request(last: &Mutex<Exchange>) -> String {
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
fn broke(e: &ProtocolError, last: &Mutex<Exchange>) -> String {
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

/// Where an `observation` reply departs from the vocabulary: the path of
/// the field (`observation.resources[0].serving`) and what serde expected.
fn malformed_observation(line: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(line).ok()?;
    if value.get("type").and_then(Value::as_str) != Some("observation") {
        return None;
    }
    let Some(observation) = value.get("observation") else {
        return Some(("observation".into(), "the field is missing".into()));
    };
    if let Some(found) = locate::<Observation>("observation", observation) {
        return Some(found);
    }
    match value.get("events") {
        None | Some(Value::Null) => None,
        Some(events) => locate::<Vec<TraceEvent>>("events", events),
    }
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_text(root: &str, path: &[Seg]) -> String {
    let mut out = root.to_string();
    for s in path {
        match s {
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Where deserializing `value` as `T` fails, as a path under `root` and the
/// problem. The value is written out one field per line, so the line serde
/// stops at names the field. Where serde reads a value as a whole before
/// deserializing it (an internally tagged enum: a trace event, and the list
/// holding it), the line names only the enclosing value: the culprit is then
/// found by leaving each element or field out in turn and seeing which one
/// the value parses without (or, for a field, without which it is only
/// that field that is missing).
fn locate<T: DeserializeOwned>(root: &str, value: &Value) -> Option<(String, String)> {
    let (mut path, problem) = failing_path::<T>(value)?;
    let without = |path: &[Seg], seg: &Seg| {
        let mut copy = value.clone();
        match (pointer_mut(&mut copy, path), seg) {
            (Some(Value::Array(items)), Seg::Index(i)) => {
                items.remove(*i);
            }
            (Some(Value::Object(o)), Seg::Key(k)) => {
                o.remove(k);
            }
            _ => {}
        }
        failing_path::<T>(&copy)
    };
    loop {
        let narrower = match pointer(value, &path) {
            Some(Value::Array(items)) => (0..items.len())
                .map(Seg::Index)
                .find(|seg| without(&path, seg).is_none()),
            Some(Value::Object(o)) if !problem.starts_with("missing field") => o
                .keys()
                // Without its tag an event fails for that alone.
                .filter(|k| *k != "event")
                .map(|k| Seg::Key(k.clone()))
                .find(|seg| {
                    let Seg::Key(k) = seg else { return false };
                    match without(&path, seg) {
                        None => true,
                        Some((_, p)) => p == format!("missing field `{k}`"),
                    }
                }),
            _ => None,
        };
        match narrower {
            Some(seg) => path.push(seg),
            None => break,
        }
    }
    let problem = match pointer(value, &path) {
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null))
            if !problem.contains(&v.to_string()) =>
        {
            format!("{problem} (the value is {v})")
        }
        _ => problem,
    };
    Some((path_text(root, &path), problem))
}

/// The path to the line where deserializing fails, and serde's message
/// without its position.
fn failing_path<T: DeserializeOwned>(value: &Value) -> Option<(Vec<Seg>, String)> {
    let mut text = String::new();
    let mut lines: Vec<Vec<Seg>> = Vec::new();
    write_lines(value, &mut Vec::new(), None, false, &mut text, &mut lines);
    let error = serde_json::from_str::<T>(&text).err()?;
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    let path = lines.get(error.line().saturating_sub(1)).cloned()?;
    Some((path, message))
}

/// Writes `value` as JSON with every scalar and every bracket on a line of
/// its own, recording the path of each line.
fn write_lines(
    value: &Value,
    path: &mut Vec<Seg>,
    key: Option<&str>,
    comma: bool,
    text: &mut String,
    lines: &mut Vec<Vec<Seg>>,
) {
    let prefix = key
        .map(|k| format!("{}:", Value::String(k.to_string())))
        .unwrap_or_default();
    let end = if comma { "," } else { "" };
    let mut line = |text: &mut String, content: String| {
        text.push_str(&content);
        text.push('\n');
        lines.push(path.clone());
    };
    match value {
        Value::Object(map) => {
            line(text, format!("{prefix}{{"));
            let n = map.len();
            for (i, (k, v)) in map.iter().enumerate() {
                path.push(Seg::Key(k.clone()));
                write_lines(v, path, Some(k), i + 1 < n, text, lines);
                path.pop();
            }
            text.push_str(&format!("}}{end}\n"));
            lines.push(path.clone());
        }
        Value::Array(items) => {
            line(text, format!("{prefix}["));
            let n = items.len();
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                write_lines(v, path, None, i + 1 < n, text, lines);
                path.pop();
            }
            text.push_str(&format!("]{end}\n"));
            lines.push(path.clone());
        }
        scalar => line(text, format!("{prefix}{scalar}{end}")),
    }
}

fn pointer<'v>(value: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, s| match s {
        Seg::Key(k) => v.get(k.as_str()),
        Seg::Index(i) => v.get(*i),
    })
}

fn pointer_mut<'v>(value: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    path.iter().try_fold(value, |v, s| match s {
        Seg::Key(k) => v.get_mut(k.as_str()),
        Seg::Index(i) => v.get_mut(*i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation_reply() -> Value {
        serde_json::json!({"id": 5, "type": "observation", "observation": {
            "at": "2026-01-02T00:00:00Z",
            "accounts": [{"account": "a-1", "cash": 0, "vouchers": 0, "available_credit": 0,
                "overdue_since": null, "outstanding_bills": [], "fee_operations": []}],
            "resources": [{"resource": "m-1", "account": "a-1", "product": "maxcompute",
                "lifecycle": "maxcompute.payg-instance", "state": "active",
                "since": "2026-01-01T00:00:00Z", "serving": "yes", "data": "retained",
                "billing": "running", "overdue_since": null, "oldest_overdue_bill": null,
                "purchased_at": "2026-01-01T00:00:00Z", "expires_at": null,
                "operations": {"release": true, "renew": true, "run-task": true}}]},
            "events": [{"event": "charge", "at": "2026-01-02T00:00:00Z", "account": "a-1",
                "resource": "m-1", "bill": "m-1/1", "amount": 600}]})
    }

    fn located(edit: impl FnOnce(&mut Value)) -> Option<(String, String)> {
        let mut reply = observation_reply();
        edit(&mut reply);
        malformed_observation(&reply.to_string())
    }

    #[test]
    fn a_well_formed_observation_has_nothing_to_locate() {
        assert_eq!(located(|_| {}), None);
    }

    #[test]
    fn a_wrong_enum_value_is_located_at_its_field() {
        let (path, problem) =
            located(|r| r["observation"]["resources"][0]["serving"] = "true".into()).unwrap();
        assert_eq!(path, "observation.resources[0].serving");
        assert!(problem.contains("unknown variant `true`"), "{problem}");
        assert!(problem.contains("`yes`"), "{problem}");
    }

    #[test]
    fn a_missing_field_is_located_at_its_object() {
        let (path, problem) = located(|r| {
            r["observation"]["resources"][0]
                .as_object_mut()
                .unwrap()
                .remove("state");
        })
        .unwrap();
        assert_eq!(path, "observation.resources[0]");
        assert_eq!(problem, "missing field `state`");
    }

    #[test]
    fn a_wrong_type_deep_down_is_located() {
        let (path, problem) =
            located(|r| r["observation"]["resources"][0]["operations"]["run-task"] = "yes".into())
                .unwrap();
        assert_eq!(path, "observation.resources[0].operations.run-task");
        assert!(problem.contains("expected a boolean"), "{problem}");
        let (path, _) = located(|r| r["observation"]["accounts"][0]["cash"] = 1.5.into()).unwrap();
        assert_eq!(path, "observation.accounts[0].cash");
        let (path, _) = located(|r| r["observation"]["at"] = "tomorrow".into()).unwrap();
        assert_eq!(path, "observation.at");
    }

    #[test]
    fn a_wrong_field_of_an_event_is_found_by_leaving_fields_out() {
        let (path, problem) = located(|r| r["events"][0]["amount"] = "600".into()).unwrap();
        assert_eq!(path, "events[0].amount");
        assert!(problem.contains("invalid type"), "{problem}");
        let (path, problem) = located(|r| {
            r["events"][0].as_object_mut().unwrap().remove("resource");
        })
        .unwrap();
        assert_eq!(path, "events[0]");
        assert_eq!(problem, "missing field `resource`");
        let (path, problem) = located(|r| r["events"][0]["event"] = "bill".into()).unwrap();
        assert_eq!(path, "events[0].event");
        assert!(problem.contains("unknown variant `bill`"), "{problem}");
    }

    #[test]
    fn a_reply_of_another_type_is_not_diagnosed_as_an_observation() {
        assert_eq!(malformed_observation(r#"{"id":1,"type":"ok"}"#), None);
        assert_eq!(malformed_observation("not json"), None);
    }
}
