//! Validation and resolution: from parsed spec files to one [`Catalog`].
//!
//! Every check a spec author can get wrong lives here, and each failure
//! becomes a [`Diagnostic`] naming the file, line, column and element. The
//! compiler collects all problems instead of stopping at the first, so that
//! `arrears lint` shows an author everything in one run.
//!
//! What is checked: ids are well-formed, prefixed with their document's id
//! and unique across all files; every reference resolves to the right kind
//! of thing; parameter values fit their units; every parameter is used;
//! durations are non-negative, and positive where something waits for
//! them; lifecycles have reachable states, terminal states without exits,
//! and deleted data only in terminal states; triggers and anchors can fire
//! for the lifecycle they are in; every rule is enforced by what it declares
//! (and only that) or is marked not-modelled with a reason; interpretations
//! name their chosen reading and override parameters with valid values;
//! exactly one file defines the ledger.
//!
//! One `Compiler` walks the files; its methods live beside the element they
//! compile, each with the diagnostics it can raise: `parameters.rs`,
//! `rules.rs`, `policies.rs` (billing, ledger, notifications, formulas),
//! `lifecycles.rs`, `interpretations.rs`, `invariants.rs`; `resolve.rs`
//! turns references into ids; `checks.rs` holds the checks across elements.
//! This file orders the passes (`run`) and declares ids.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::TimeDelta;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::formula::{self, Rounding};
use super::raw::{self, Id};
use super::*;
use crate::yaml::{self, Position, position_of};

mod checks;
mod interpretations;
mod invariants;
mod lifecycles;
mod parameters;
mod policies;
mod resolve;
mod rules;
mod transitions;

pub use rules::enforcer_name;

/// The longest anchor we quote from a source, in words.
pub const MAX_ANCHOR_WORDS: usize = 15;

/// The most terms a duration expression may add up.
const MAX_DURATION_TERMS: usize = 16;

/// Parses, validates and resolves a set of spec files into a catalog.
pub fn compile(sources: &[SpecSource]) -> Result<Catalog, Diagnostics> {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    for source in sources {
        match yaml::from_str::<raw::SpecFile>(&source.text) {
            Ok(file) => files.push((source.name.as_str(), file)),
            Err(err) => diags.push(Diagnostic::new(
                &source.name,
                err.position,
                "",
                format!("failed to read spec: {}", err.message),
            )),
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    // The catalog's order (documents, and through them lifecycles, rules and
    // invariants) decides what the generators draw from a seed, so it must
    // not depend on where the specs came from: the embedded copy and a
    // directory list their files in different orders.
    files.sort_by(|(a_name, a), (b_name, b)| {
        (a.document.id.value.as_str(), *a_name).cmp(&(b.document.id.value.as_str(), *b_name))
    });
    if files.is_empty() {
        return Err(Diagnostics(vec![Diagnostic::new(
            "",
            None,
            "",
            "no spec files found (expected *.yaml files)",
        )]));
    }
    let mut compiler = Compiler::new(&files);
    compiler.run();
    if compiler.diags.is_empty() {
        Ok(compiler.finish())
    } else {
        compiler
            .diags
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        compiler.diags.dedup();
        Err(Diagnostics(compiler.diags))
    }
}

struct Compiler<'a> {
    files: &'a [(&'a str, raw::SpecFile)],
    diags: Vec<Diagnostic>,
    ids: BTreeMap<String, Item>,
    documents: Vec<Document>,
    parameters: Vec<Parameter>,
    param_used: Vec<bool>,
    param_units: Vec<raw::Unit>,
    param_options: Vec<Vec<String>>,
    operation_names: Vec<String>,
    ledger: Option<LedgerPolicy>,
    notifications: Vec<NotificationDef>,
    notification_used: Vec<bool>,
    formulas: Vec<FormulaDef>,
    lifecycles: Vec<Lifecycle>,
    rules: Vec<Rule>,
    interpretations: Vec<InterpretationDef>,
    invariants: Vec<InvariantDef>,
    /// Where each catalog id was declared, for "declared here" messages.
    declared_at: HashMap<String, (usize, Position)>,
    /// Who cites each rule.
    enforcements: Vec<Vec<Enforcement>>,
    /// The checks to run again under each reading.
    value_checks: Vec<ValueCheck>,
}

/// A check that depends on parameter values. The compiler runs it on the
/// parameters' own values where the value is used, and again under every
/// accepted reading that overrides one of its parameters, so that no reading
/// the checks accept gives the model a value lint would have refused.
#[derive(Debug, Clone)]
enum ValueCheck {
    /// Something waits for this duration: it must be positive.
    Positive {
        expr: DurationExpr,
        /// How the spec writes it, such as `ecs.stop-after-overdue`.
        text: String,
        what: &'static str,
        used: Use,
    },
    /// Deduction offsets must increase.
    Increasing { offsets: Vec<ParamId>, used: Use },
}

/// Where a value is used, for messages about a reading that breaks it.
#[derive(Debug, Clone)]
struct Use {
    element: String,
    file: usize,
    position: Position,
}

impl ValueCheck {
    fn params(&self) -> &[ParamId] {
        match self {
            ValueCheck::Positive { expr, .. } => &expr.params,
            ValueCheck::Increasing { offsets, .. } => offsets,
        }
    }

    fn used(&self) -> &Use {
        match self {
            ValueCheck::Positive { used, .. } | ValueCheck::Increasing { used, .. } => used,
        }
    }

    /// What is wrong with the values, if anything.
    fn problem(&self, values: &[ParamValue], names: &[Parameter]) -> Option<String> {
        match self {
            ValueCheck::Positive {
                expr, text, what, ..
            } => {
                let total = expr.params.iter().fold(expr.literal, |acc, p| {
                    acc + duration_value(&values[p.index()])
                });
                (total <= TimeDelta::zero()).then(|| {
                    format!(
                        "{what} `{text}` is {}, but it must be positive",
                        crate::duration::format(total)
                    )
                })
            }
            ValueCheck::Increasing { offsets, .. } => offsets.windows(2).find_map(|pair| {
                let (a, b) = (pair[0], pair[1]);
                let (da, db) = (
                    duration_value(&values[a.index()]),
                    duration_value(&values[b.index()]),
                );
                (db <= da).then(|| {
                    format!(
                        "deduction offsets must increase, but `{}` is {} and the next, `{}`, {}",
                        names[a.index()].id,
                        crate::duration::format(da),
                        names[b.index()].id,
                        crate::duration::format(db)
                    )
                })
            }),
        }
    }
}

/// The file index and name a problem is reported in.
#[derive(Clone, Copy)]
struct At<'a> {
    file: usize,
    name: &'a str,
}

fn is_well_formed_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !id.ends_with('.')
        && !id.ends_with('-')
        && !id.contains("..")
}

fn is_local_id(id: &str) -> bool {
    is_well_formed_id(id) && !id.contains('.')
}

impl<'a> Compiler<'a> {
    fn new(files: &'a [(&'a str, raw::SpecFile)]) -> Self {
        Compiler {
            files,
            diags: Vec::new(),
            ids: BTreeMap::new(),
            documents: Vec::new(),
            parameters: Vec::new(),
            param_used: Vec::new(),
            param_units: Vec::new(),
            param_options: Vec::new(),
            operation_names: Vec::new(),
            ledger: None,
            notifications: Vec::new(),
            notification_used: Vec::new(),
            formulas: Vec::new(),
            lifecycles: Vec::new(),
            rules: Vec::new(),
            interpretations: Vec::new(),
            invariants: Vec::new(),
            declared_at: HashMap::new(),
            enforcements: Vec::new(),
            value_checks: Vec::new(),
        }
    }

    fn error(&mut self, at: At, position: Position, element: &str, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::new(at.name, Some(position), element, message));
    }

    fn error_at<T>(
        &mut self,
        at: At,
        spanned: &yaml::Spanned<T>,
        element: &str,
        message: impl Into<String>,
    ) {
        self.error(at, position_of(spanned), element, message);
    }

    fn run(&mut self) {
        self.register_documents();
        self.register_ids();
        self.compile_parameters();
        self.compile_operations();
        self.register_rules();
        self.register_lifecycles();
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            let doc = DocId(index as u32);
            self.compile_policies(at, doc, file);
            self.compile_notifications(at, doc, file);
            self.compile_formulas(at, doc, file);
        }
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            self.compile_transitions(at, file);
        }
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            let doc = DocId(index as u32);
            self.compile_interpretations(at, doc, file);
            self.compile_invariants(at, doc, file);
        }
        self.check_readings();
        self.check_ledger();
        self.check_lifecycles();
        self.check_rules();
        self.check_usage();
    }

    // ----- documents and ids -------------------------------------------------

    fn register_documents(&mut self) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            let d = &file.document;
            let id = d.id.value.clone();
            let element = format!("document {id}");
            if !is_local_id(&id) {
                self.error_at(
                    at,
                    &d.id,
                    &element,
                    format!("document id `{id}` must be lowercase letters, digits and dashes"),
                );
            }
            if let Some(other) = seen.insert(id.clone(), index) {
                self.error_at(
                    at,
                    &d.id,
                    &element,
                    format!("document id `{id}` is also used by {}", self.files[other].0),
                );
            }
            self.check_document_fields(at, d, &element);
            self.check_sections(at, d, &element);
            self.ids
                .insert(id.clone(), Item::Document(DocId(index as u32)));
            self.documents.push(Document {
                id,
                file: name.to_string(),
                title: d.title.value.clone(),
                product: d.product.value.clone(),
                last_updated: d.last_updated.as_ref().map(|s| s.value.clone()),
                source: d.source.value.clone(),
                sections: d.sections.iter().map(|s| s.value.clone()).collect(),
                operations: BTreeMap::new(),
                billing: None,
                deny_fee_operations_while_overdue: None,
                refuse_fee_operations_flag: None,
            });
        }
    }

    /// A document's date is a date, and its title, product and source are
    /// not empty.
    fn check_document_fields(&mut self, at: At, d: &raw::Document, element: &str) {
        if let Some(date) = &d.last_updated
            && chrono::NaiveDate::parse_from_str(&date.value, "%Y-%m-%d").is_err()
        {
            self.error_at(
                at,
                date,
                element,
                format!(
                    "last_updated `{}` is not a date of the form YYYY-MM-DD",
                    date.value
                ),
            );
        }
        for (field, value) in [
            ("title", &d.title),
            ("product", &d.product),
            ("source", &d.source),
        ] {
            if value.value.trim().is_empty() {
                self.error_at(at, value, element, format!("{field} must not be empty"));
            }
        }
    }

    /// A document lists its source's section headings, each once.
    fn check_sections(&mut self, at: At, d: &raw::Document, element: &str) {
        let mut sections = BTreeSet::new();
        if d.sections.is_empty() {
            self.error_at(
                at,
                &d.id,
                element,
                "sections must list the source's section headings",
            );
        }
        for s in &d.sections {
            if !sections.insert(s.value.clone()) {
                self.error_at(
                    at,
                    s,
                    element,
                    format!("section `{}` is listed twice", s.value),
                );
            }
        }
    }

    /// Declares a catalog-wide id, checking its form, prefix and uniqueness.
    fn declare(&mut self, at: At, id: &Id, what: &str, item: Item) -> bool {
        let doc = &self.documents[at.file].id;
        let element = format!("{what} {}", id.value);
        if !is_well_formed_id(&id.value) {
            self.error_at(
                at,
                id,
                &element,
                format!(
                    "{what} id `{}` must be lowercase letters, digits, dashes and dots",
                    id.value
                ),
            );
            return false;
        }
        if !id.value.starts_with(&format!("{doc}.")) {
            self.error_at(
                at,
                id,
                &element,
                format!(
                    "{what} id `{}` must start with `{doc}.`, the document's id",
                    id.value
                ),
            );
        }
        if let Some((file, pos)) = self.declared_at.get(&id.value) {
            let other = self.files[*file].0;
            self.error_at(
                at,
                id,
                &element,
                format!("id `{}` is already declared at {other}:{pos}", id.value),
            );
            return false;
        }
        self.declared_at
            .insert(id.value.clone(), (at.file, position_of(id)));
        self.ids.insert(id.value.clone(), item);
        true
    }

    fn register_ids(&mut self) {
        let mut counts = [0u32; 6];
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                self.declare(at, &p.id, "parameter", Item::Parameter(ParamId(counts[0])));
                counts[0] += 1;
            }
            for n in &file.notifications {
                self.declare(
                    at,
                    &n.id,
                    "notification",
                    Item::Notification(NotificationId(counts[1])),
                );
                counts[1] += 1;
            }
            for f in &file.formulas {
                self.declare(at, &f.id, "formula", Item::Formula(FormulaId(counts[2])));
                counts[2] += 1;
            }
            for l in &file.lifecycles {
                self.declare(
                    at,
                    &l.id,
                    "lifecycle",
                    Item::Lifecycle(LifecycleId(counts[3])),
                );
                counts[3] += 1;
            }
            for i in &file.interpretations {
                self.declare(
                    at,
                    &i.id,
                    "interpretation",
                    Item::Interpretation(InterpretationId(counts[4])),
                );
                counts[4] += 1;
            }
            for i in &file.invariants {
                self.declare(
                    at,
                    &i.id,
                    "invariant",
                    Item::Invariant(InvariantId(counts[5])),
                );
                counts[5] += 1;
            }
        }
    }

    // ----- references ----------------------------------------------------------

    fn finish(self) -> Catalog {
        Catalog {
            documents: self.documents,
            parameters: self.parameters,
            operation_names: self.operation_names,
            ledger: self.ledger.expect("checked by check_ledger"),
            notifications: self.notifications,
            formulas: self.formulas,
            lifecycles: self.lifecycles,
            rules: self.rules,
            interpretations: self.interpretations,
            invariants: self.invariants,
            applied_readings: Vec::new(),
            ids: self.ids.into_iter().collect(),
            lookups: std::sync::OnceLock::new(),
        }
    }
}

impl raw::Unit {
    fn is_duration(self) -> bool {
        matches!(
            self,
            raw::Unit::Days | raw::Unit::Hours | raw::Unit::Minutes | raw::Unit::Seconds
        )
    }

    fn name(self) -> &'static str {
        match self {
            raw::Unit::Days => "days",
            raw::Unit::Hours => "hours",
            raw::Unit::Minutes => "minutes",
            raw::Unit::Seconds => "seconds",
            raw::Unit::Count => "count",
            raw::Unit::Flag => "flag",
            raw::Unit::Choice => "choice",
        }
    }
}

fn duration_value(v: &ParamValue) -> TimeDelta {
    match v {
        ParamValue::Duration(d) => *d,
        _ => TimeDelta::zero(),
    }
}

/// Reads a parameter value written as text, for its unit.
fn parse_value(unit: raw::Unit, options: &[String], text: &str) -> Result<ParamValue, String> {
    let text = text.trim();
    let whole = |what: &str| -> Result<i64, String> {
        text.parse::<i64>()
            .map_err(|_| format!("`{text}` is not a whole number of {what}"))
    };
    let per_unit = match unit {
        raw::Unit::Days => Some(86_400),
        raw::Unit::Hours => Some(3_600),
        raw::Unit::Minutes => Some(60),
        raw::Unit::Seconds => Some(1),
        _ => None,
    };
    if let Some(seconds) = per_unit {
        let n = whole(unit.name())?;
        if n < 0 {
            return Err(format!("a duration cannot be negative (`{text}`)"));
        }
        if n > 10_000 * 366 * 86_400 / seconds {
            return Err(format!(
                "`{text}` {} is beyond any billing history",
                unit.name()
            ));
        }
        return Ok(ParamValue::Duration(TimeDelta::seconds(n * seconds)));
    }
    match unit {
        raw::Unit::Count => {
            let n = whole("units")?;
            if n < 0 {
                return Err(format!("a count cannot be negative (`{text}`)"));
            }
            Ok(ParamValue::Count(n))
        }
        raw::Unit::Flag => match text {
            "true" => Ok(ParamValue::Flag(true)),
            "false" => Ok(ParamValue::Flag(false)),
            _ => Err(format!("`{text}` is not a flag value (true or false)")),
        },
        _ => {
            if options.iter().any(|o| o == text) {
                Ok(ParamValue::Choice(text.to_string()))
            } else {
                Err(format!(
                    "`{text}` is not one of the options: {}",
                    options.join(", ")
                ))
            }
        }
    }
}

/// A formula's text as a message quotes it: whole unless it is very long.
fn shortened(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    match text.char_indices().nth(MAX_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
    }
}
