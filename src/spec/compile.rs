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

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::TimeDelta;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::formula::{self, Rounding};
use super::raw::{self, Id};
use super::*;
use crate::yaml::{self, Position, position_of};

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
            if let Some(date) = &d.last_updated
                && chrono::NaiveDate::parse_from_str(&date.value, "%Y-%m-%d").is_err()
            {
                self.error_at(
                    at,
                    date,
                    &element,
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
                    self.error_at(at, value, &element, format!("{field} must not be empty"));
                }
            }
            let mut sections = BTreeSet::new();
            if d.sections.is_empty() {
                self.error_at(
                    at,
                    &d.id,
                    &element,
                    "sections must list the source's section headings",
                );
            }
            for s in &d.sections {
                if !sections.insert(s.value.clone()) {
                    self.error_at(
                        at,
                        s,
                        &element,
                        format!("section `{}` is listed twice", s.value),
                    );
                }
            }
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

    fn lookup(&mut self, at: At, id: &Id, element: &str, what: &str) -> Option<Item> {
        match self.ids.get(&id.value) {
            Some(item) => Some(*item),
            None => {
                self.error_at(at, id, element, format!("unknown {what} `{}`", id.value));
                None
            }
        }
    }

    fn resolve_rule(
        &mut self,
        at: At,
        id: &Id,
        element: &str,
        by: Option<Enforcement>,
    ) -> Option<RuleId> {
        match self.lookup(at, id, element, "rule")? {
            Item::Rule(r) => {
                if let Some(e) = by {
                    self.enforcements[r.index()].push(e);
                }
                Some(r)
            }
            _ => {
                self.error_at(at, id, element, format!("`{}` is not a rule", id.value));
                None
            }
        }
    }

    fn resolve_param(&mut self, at: At, id: &Id, element: &str) -> Option<ParamId> {
        match self.lookup(at, id, element, "parameter")? {
            Item::Parameter(p) => {
                self.param_used[p.index()] = true;
                Some(p)
            }
            _ => {
                self.error_at(
                    at,
                    id,
                    element,
                    format!("`{}` is not a parameter", id.value),
                );
                None
            }
        }
    }

    /// `{param: {id, equals}}`: a `flag` or `choice` parameter and the value
    /// it is compared with (how readings switch transitions and invariants).
    fn param_condition(
        &mut self,
        at: At,
        id: &Id,
        equals: &raw::Text,
        element: &str,
    ) -> Option<(ParamId, ParamValue)> {
        let p = self.resolve_param(at, id, element)?;
        let unit = self.param_units[p.index()];
        if !matches!(unit, raw::Unit::Flag | raw::Unit::Choice) {
            self.error_at(
                at,
                id,
                element,
                "a param condition needs a flag or choice parameter",
            );
            return None;
        }
        match parse_value(unit, &self.param_options[p.index()], &equals.value) {
            Ok(v) => Some((p, v)),
            Err(msg) => {
                self.error_at(at, equals, element, msg);
                None
            }
        }
    }

    /// A parameter that must be a `flag` (reported, but still returned, if
    /// it is not, so that one mistake yields one diagnostic).
    fn resolve_flag(&mut self, at: At, id: &Id, element: &str) -> Option<ParamId> {
        let p = self.resolve_param(at, id, element)?;
        if self.param_units[p.index()] != raw::Unit::Flag {
            self.error_at(
                at,
                id,
                element,
                format!("parameter `{}` must be a flag", id.value),
            );
        }
        Some(p)
    }

    fn resolve_lifecycle(&mut self, at: At, id: &Id, element: &str) -> Option<LifecycleId> {
        match self.lookup(at, id, element, "lifecycle")? {
            Item::Lifecycle(l) => Some(l),
            _ => {
                self.error_at(
                    at,
                    id,
                    element,
                    format!("`{}` is not a lifecycle", id.value),
                );
                None
            }
        }
    }

    fn resolve_notification(&mut self, at: At, id: &Id, element: &str) -> Option<NotificationId> {
        match self.lookup(at, id, element, "notification")? {
            Item::Notification(n) => Some(n),
            _ => {
                self.error_at(
                    at,
                    id,
                    element,
                    format!("`{}` is not a notification", id.value),
                );
                None
            }
        }
    }

    /// An operation this document declares.
    fn resolve_op(&mut self, at: At, id: &Id, element: &str) -> Option<OpId> {
        let op = self
            .operation_names
            .iter()
            .position(|n| *n == id.value)
            .map(|i| OpId(i as u32));
        match op {
            Some(op) if self.documents[at.file].operations.contains_key(&op) => Some(op),
            _ => {
                let declared: Vec<&str> = self.documents[at.file]
                    .operations
                    .keys()
                    .map(|op| self.operation_names[op.index()].as_str())
                    .collect();
                let message = format!(
                    "unknown operation `{}`; this document declares: {}",
                    id.value,
                    if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    }
                );
                self.error_at(at, id, element, message);
                None
            }
        }
    }

    /// Parses `a + b + 3d` into parameter ids and a literal part.
    fn duration_expr(&mut self, at: At, text: &raw::Text, element: &str) -> Option<DurationExpr> {
        let mut expr = DurationExpr {
            params: Vec::new(),
            literal: TimeDelta::zero(),
        };
        let mut ok = true;
        // A bounded number of terms, each bounded by the duration parser and
        // the parameter units, keeps every sum (and every instant the model
        // computes from it) far inside chrono's range.
        if text.value.split('+').count() > MAX_DURATION_TERMS {
            self.error_at(
                at,
                text,
                element,
                format!("a duration sums at most {MAX_DURATION_TERMS} terms"),
            );
            ok = false;
        }
        for term in text.value.split('+').map(str::trim) {
            if term.is_empty() {
                self.error_at(
                    at,
                    text,
                    element,
                    format!("duration `{}` has an empty term", text.value),
                );
                return None;
            }
            if term.starts_with(|c: char| c.is_ascii_digit()) {
                match crate::duration::parse(term) {
                    Ok(d) => expr.literal += d,
                    Err(e) => {
                        self.error_at(at, text, element, e.to_string());
                        ok = false;
                    }
                }
                continue;
            }
            let id = yaml::Spanned {
                value: term.to_string(),
                referenced: text.referenced,
                defined: text.defined,
            };
            match self.resolve_param(at, &id, element) {
                Some(p) if self.param_units[p.index()].is_duration() => expr.params.push(p),
                Some(_) => {
                    self.error_at(
                        at,
                        text,
                        element,
                        format!("parameter `{term}` is not a duration"),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(expr)
    }

    fn positive_duration(
        &mut self,
        at: At,
        text: &raw::Text,
        element: &str,
    ) -> Option<DurationExpr> {
        let expr = self.duration_expr(at, text, element)?;
        let total = expr.params.iter().fold(expr.literal, |acc, p| {
            acc + duration_value(&self.parameters[p.index()].value)
        });
        if total <= TimeDelta::zero() {
            self.error_at(
                at,
                text,
                element,
                format!("duration `{}` must be positive", text.value),
            );
        }
        self.value_checks.push(ValueCheck::Positive {
            expr: expr.clone(),
            text: text.value.clone(),
            what: "duration",
            used: Use {
                element: element.to_string(),
                file: at.file,
                position: position_of(text),
            },
        });
        Some(expr)
    }

    // ----- parameters and operations -------------------------------------------

    fn compile_parameters(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                let element = format!("parameter {}", p.id.value);
                let unit = p.unit.value;
                let options: Vec<String> = p.options.iter().map(|o| o.value.clone()).collect();
                if unit == raw::Unit::Choice && options.is_empty() {
                    self.error_at(
                        at,
                        &p.unit,
                        &element,
                        "a `choice` parameter must list its options",
                    );
                }
                if unit != raw::Unit::Choice && !options.is_empty() {
                    self.error_at(
                        at,
                        &p.options[0],
                        &element,
                        "only a `choice` parameter has options",
                    );
                }
                let value = match parse_value(unit, &options, &p.value.value) {
                    Ok(v) => v,
                    Err(msg) => {
                        self.error_at(at, &p.value, &element, msg);
                        ParamValue::Count(0)
                    }
                };
                match (&p.section, &p.anchor, &p.interpretation) {
                    (Some(section), Some(_), None) => self.check_section(at, section, &element),
                    (None, None, Some(_)) => {}
                    (_, _, Some(i)) if p.section.is_some() || p.anchor.is_some() => self.error_at(
                        at,
                        i,
                        &element,
                        "a parameter comes either from the document (section and anchor) or from an interpretation, not both",
                    ),
                    _ => self.error_at(
                        at,
                        &p.id,
                        &element,
                        "a parameter needs a section and an anchor in the document, or the interpretation that chose it",
                    ),
                }
                if let Some(anchor) = &p.anchor {
                    self.check_anchor(at, anchor, &element);
                }
                self.parameters.push(Parameter {
                    id: p.id.value.clone(),
                    doc: DocId(index as u32),
                    value,
                    unit: unit.name().to_string(),
                    meaning: p.meaning.value.clone(),
                    section: p.section.as_ref().map(|s| s.value.clone()),
                    anchor: p.anchor.as_ref().map(|s| s.value.clone()),
                    interpretation: p.interpretation.as_ref().map(|s| s.value.clone()),
                });
                self.param_used.push(false);
                self.param_units.push(unit);
                self.param_options.push(options);
            }
        }
        // Interpretation references are checked once interpretations exist.
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                if let Some(i) = &p.interpretation {
                    let element = format!("parameter {}", p.id.value);
                    if !matches!(self.ids.get(&i.value), Some(Item::Interpretation(_))) {
                        self.error_at(
                            at,
                            i,
                            &element,
                            format!("unknown interpretation `{}`", i.value),
                        );
                    }
                }
            }
        }
    }

    fn compile_operations(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for op in &file.operations {
                let element = format!("operation {}", op.id.value);
                if !is_local_id(&op.id.value) {
                    self.error_at(
                        at,
                        &op.id,
                        &element,
                        format!(
                            "operation id `{}` must be lowercase letters, digits and dashes",
                            op.id.value
                        ),
                    );
                    continue;
                }
                let id = match self.operation_names.iter().position(|n| *n == op.id.value) {
                    Some(i) => OpId(i as u32),
                    None => {
                        self.operation_names.push(op.id.value.clone());
                        OpId(self.operation_names.len() as u32 - 1)
                    }
                };
                let decl = OperationDecl {
                    meaning: op.meaning.value.clone(),
                    fee_incurring: op.fee_incurring,
                };
                if self.documents[index].operations.insert(id, decl).is_some() {
                    self.error_at(
                        at,
                        &op.id,
                        &element,
                        format!("operation `{}` is declared twice", op.id.value),
                    );
                }
            }
        }
    }

    // ----- rules ---------------------------------------------------------------

    fn check_section(&mut self, at: At, section: &raw::Text, element: &str) {
        if !self.documents[at.file].sections.contains(&section.value) {
            self.error_at(
                at,
                section,
                element,
                format!(
                    "section `{}` is not one of the document's sections",
                    section.value
                ),
            );
        }
    }

    fn check_anchor(&mut self, at: At, anchor: &raw::Text, element: &str) {
        let words = anchor.value.split_whitespace().count();
        if words == 0 {
            self.error_at(at, anchor, element, "anchor must quote the source");
        } else if words > MAX_ANCHOR_WORDS {
            self.error_at(
                at,
                anchor,
                element,
                format!("anchor has {words} words; quote at most {MAX_ANCHOR_WORDS}"),
            );
        }
    }

    fn register_rules(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for r in &file.rules {
                let id = RuleId(self.rules.len() as u32);
                self.declare(at, &r.id, "rule", Item::Rule(id));
                let element = format!("rule {}", r.id.value);
                self.check_section(at, &r.section, &element);
                self.check_anchor(at, &r.anchor, &element);
                if r.statement.value.trim().is_empty() {
                    self.error_at(
                        at,
                        &r.statement,
                        &element,
                        "statement must say the rule in our own words",
                    );
                }
                let mut enforced_by = Vec::new();
                for e in &r.enforced_by {
                    if enforced_by.contains(&e.value) {
                        self.error_at(at, e, &element, "enforcer listed twice");
                    }
                    enforced_by.push(e.value);
                }
                match (&r.not_modelled, enforced_by.is_empty()) {
                    (None, true) => self.error_at(at, &r.id, &element, "a rule must be enforced by something (enforced_by) or marked not_modelled with the reason"),
                    (Some(reason), false) => self.error_at(at, reason, &element, "a rule is either enforced or not modelled, not both"),
                    (Some(reason), true) if reason.value.trim().is_empty() => self.error_at(at, reason, &element, "not_modelled must give the reason"),
                    _ => {}
                }
                self.rules.push(Rule {
                    id: r.id.value.clone(),
                    doc: DocId(index as u32),
                    section: r.section.value.clone(),
                    anchor: r.anchor.value.clone(),
                    statement: r.statement.value.clone(),
                    level: r.level.value,
                    enforced_by,
                    not_modelled: r.not_modelled.as_ref().map(|s| s.value.clone()),
                    enforcements: Vec::new(),
                    interpretations: Vec::new(),
                });
                self.enforcements.push(Vec::new());
            }
        }
    }

    fn check_rules(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for r in &file.rules {
                let Some(Item::Rule(id)) = self.ids.get(&r.id.value).copied() else {
                    continue;
                };
                let element = format!("rule {}", r.id.value);
                let mut actual: Vec<Enforcement> = self.enforcements[id.index()].clone();
                actual.sort();
                actual.dedup();
                let actual_kinds: BTreeSet<Enforcer> =
                    actual.iter().map(Enforcement::kind).collect();
                let declared: BTreeSet<Enforcer> =
                    self.rules[id.index()].enforced_by.iter().copied().collect();
                if self.rules[id.index()].not_modelled.is_some() {
                    if !actual.is_empty() {
                        self.error_at(
                            at,
                            &r.id,
                            &element,
                            format!(
                                "rule is marked not_modelled but is cited by: {}",
                                kinds(&actual_kinds)
                            ),
                        );
                    }
                } else {
                    for kind in declared.difference(&actual_kinds) {
                        let message = format!(
                            "rule declares it is enforced by {} but no {} cites it",
                            kind_name(*kind),
                            kind_name(*kind)
                        );
                        self.error_at(at, &r.id, &element, message);
                    }
                    for kind in actual_kinds.difference(&declared) {
                        let message = format!(
                            "rule is cited by {} but enforced_by does not list `{}`",
                            with_article(*kind),
                            kind_name(*kind)
                        );
                        self.error_at(at, &r.id, &element, message);
                    }
                }
                self.rules[id.index()].enforcements = actual;
            }
        }
    }

    // ----- ledger, billing, account, notifications, formulas -------------------

    fn compile_policies(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        if let Some(l) = &file.ledger {
            let element = "ledger";
            let flags: Vec<Option<ParamId>> = [
                &l.vouchers_first,
                &l.top_up_settles,
                &l.events_before_system_actions,
            ]
            .into_iter()
            .map(|id| self.resolve_flag(at, id, element))
            .collect();
            let settlement = l.settlement.as_ref().and_then(|id| {
                let p = self.resolve_param(at, id, element)?;
                let bad = self.param_units[p.index()] != raw::Unit::Choice
                    || self.param_options[p.index()]
                        .iter()
                        .any(|o| !crate::spec::SETTLEMENT_CHOICES.contains(&o.as_str()));
                if bad {
                    self.error_at(
                        at,
                        id,
                        element,
                        format!(
                            "settlement parameter `{}` must be a choice among {}",
                            id.value,
                            crate::spec::SETTLEMENT_CHOICES.join(", ")
                        ),
                    );
                }
                Some(p)
            });
            let rules = l
                .rules
                .iter()
                .filter_map(|r| self.resolve_rule(at, r, element, Some(Enforcement::Ledger)))
                .collect();
            if let [Some(v), Some(t), Some(e)] = flags[..] {
                if self.ledger.is_some() {
                    let pos = position_of(&l.vouchers_first);
                    self.error(
                        at,
                        pos,
                        element,
                        "the ledger is defined in more than one spec file; keep exactly one",
                    );
                } else {
                    self.ledger = Some(LedgerPolicy {
                        doc,
                        vouchers_first: v,
                        top_up_settles: t,
                        events_before_system_actions: e,
                        settlement,
                        rules,
                    });
                }
            }
        }
        if let Some(b) = &file.billing {
            let element = "billing";
            let mut offsets = Vec::new();
            let mut last: Option<TimeDelta> = None;
            for o in &b.deduction_offsets {
                let Some(p) = self.resolve_param(at, o, element) else {
                    continue;
                };
                if !self.param_units[p.index()].is_duration() {
                    self.error_at(
                        at,
                        o,
                        element,
                        format!("deduction offset `{}` must be a duration", o.value),
                    );
                    continue;
                }
                let d = duration_value(&self.parameters[p.index()].value);
                if last.is_some_and(|l| d <= l) {
                    self.error_at(at, o, element, "deduction offsets must increase");
                }
                last = Some(d);
                offsets.push(p);
            }
            self.value_checks.push(ValueCheck::Increasing {
                offsets: offsets.clone(),
                used: Use {
                    element: element.to_string(),
                    file: at.file,
                    position: b
                        .deduction_offsets
                        .first()
                        .map_or_else(|| position_of(&b.on_insufficient), position_of),
                },
            });
            if b.deduction_offsets.is_empty() {
                self.error_at(
                    at,
                    &b.on_insufficient,
                    element,
                    "billing needs at least one deduction offset",
                );
            }
            if b.rules.is_empty() {
                self.error_at(
                    at,
                    &b.on_insufficient,
                    element,
                    "billing must cite the rules that set its schedule",
                );
            }
            let rules: Vec<RuleId> = b
                .rules
                .iter()
                .filter_map(|r| self.resolve_rule(at, r, element, Some(Enforcement::Billing(doc))))
                .collect();
            let cycle = b.cycle.as_ref().and_then(|c| {
                let p = self.resolve_param(at, c, element)?;
                if !self.param_units[p.index()].is_duration()
                    || duration_value(&self.parameters[p.index()].value) <= TimeDelta::zero()
                {
                    self.error_at(
                        at,
                        c,
                        element,
                        "the billing cycle must be a positive duration",
                    );
                }
                self.value_checks.push(ValueCheck::Positive {
                    expr: DurationExpr {
                        params: vec![p],
                        literal: TimeDelta::zero(),
                    },
                    text: c.value.clone(),
                    what: "the billing cycle",
                    used: Use {
                        element: element.to_string(),
                        file: at.file,
                        position: position_of(c),
                    },
                });
                Some(p)
            });
            let bill_where_unspecified = b
                .bill_where_unspecified
                .as_ref()
                .and_then(|id| self.resolve_flag(at, id, element));
            if let Some(&rule) = rules.first() {
                self.documents[doc.index()].billing = Some(BillingPolicy {
                    deduction_offsets: offsets,
                    on_insufficient: b.on_insufficient.value,
                    cycle,
                    bill_where_unspecified,
                    rule,
                });
            }
        }
        if let Some(a) = &file.account {
            if let Some(r) = &a.deny_fee_operations_while_overdue {
                let rule = self.resolve_rule(at, r, "account", Some(Enforcement::Account(doc)));
                let has_fee_ops = self.documents[doc.index()]
                    .operations
                    .values()
                    .any(|o| o.fee_incurring);
                if !has_fee_ops {
                    self.error_at(
                        at,
                        r,
                        "account",
                        "no operation of this document is fee_incurring, so nothing can be refused",
                    );
                }
                self.documents[doc.index()].deny_fee_operations_while_overdue = rule;
            }
            if let Some(id) = &a.refuse_fee_operations_while_overdue {
                if a.deny_fee_operations_while_overdue.is_some() {
                    self.error_at(
                        at,
                        id,
                        "account",
                        "a document with deny_fee_operations_while_overdue decides the refusal by its rule; a reading cannot also decide it",
                    );
                }
                if let Some(p) = self.resolve_flag(at, id, "account") {
                    self.documents[doc.index()].refuse_fee_operations_flag = Some(p);
                }
            }
        }
    }

    fn compile_notifications(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        for n in &file.notifications {
            let element = format!("notification {}", n.id.value);
            let id = NotificationId(self.notifications.len() as u32);
            let trigger = match &n.on.value {
                raw::NotificationTrigger::BillOverdue => NotificationTrigger::BillOverdue,
                raw::NotificationTrigger::BalanceNegative => NotificationTrigger::BalanceNegative,
                raw::NotificationTrigger::CreditBelowThreshold => {
                    NotificationTrigger::CreditBelowThreshold
                }
                raw::NotificationTrigger::Transition => NotificationTrigger::Transition,
                raw::NotificationTrigger::BeforeExpiry { lead } => {
                    let p = self.resolve_param(at, lead, &element);
                    match p {
                        Some(p) if self.param_units[p.index()].is_duration() => {
                            NotificationTrigger::BeforeExpiry(p)
                        }
                        _ => {
                            self.error_at(
                                at,
                                lead,
                                &element,
                                "before_expiry needs a duration parameter as its lead",
                            );
                            NotificationTrigger::Transition
                        }
                    }
                }
            };
            let needs_billing = matches!(
                trigger,
                NotificationTrigger::BillOverdue | NotificationTrigger::BalanceNegative
            );
            if needs_billing && file.billing.is_none() {
                self.error_at(
                    at,
                    &n.on,
                    &element,
                    "this trigger needs bills, but the document has no billing section",
                );
            }
            let rule =
                self.resolve_rule(at, &n.rule, &element, Some(Enforcement::Notification(id)));
            let instant_open = n
                .instant_open
                .as_ref()
                .and_then(|id| self.resolve_flag(at, id, &element));
            let per = n.per.as_ref().and_then(|id| {
                let p = self.resolve_param(at, id, &element)?;
                let options = &self.param_options[p.index()];
                let choices_fit = self.param_units[p.index()] == raw::Unit::Choice
                    && options.iter().all(|o| o == "resource" || o == "account");
                if !choices_fit {
                    self.error_at(
                        at,
                        id,
                        &element,
                        "per needs a choice parameter among `resource` and `account`",
                    );
                    return None;
                }
                if trigger != NotificationTrigger::BillOverdue {
                    self.error_at(
                        at,
                        id,
                        &element,
                        "per applies only to bill_overdue notifications",
                    );
                    return None;
                }
                Some(p)
            });
            self.notifications.push(NotificationDef {
                id: n.id.value.clone(),
                doc,
                meaning: n.meaning.value.clone(),
                trigger,
                rule: rule.unwrap_or(RuleId(0)),
                instant_open,
                per,
            });
            self.notification_used
                .push(!matches!(trigger, NotificationTrigger::Transition));
        }
    }

    fn compile_formulas(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        for f in &file.formulas {
            let element = format!("formula {}", f.id.value);
            let id = FormulaId(self.formulas.len() as u32);
            let parse = |text: &raw::Text, this: &mut Self| match formula::parse(&text.value) {
                Ok(e) => {
                    // Division by zero has no value: the model would fail
                    // on every refund by this formula.
                    for divisor in e.zero_divisors() {
                        this.error_at(
                            at,
                            text,
                            &element,
                            format!(
                                "formula `{}` divides by an expression that is always zero: \
                                 `{divisor}`",
                                shortened(&text.value)
                            ),
                        );
                    }
                    Some(e)
                }
                Err(err) => {
                    this.error_at(
                        at,
                        text,
                        &element,
                        format!("formula `{}`: {err}", shortened(&text.value)),
                    );
                    None
                }
            };
            let expression = parse(&f.expression, self);
            let at_least = f.at_least.as_ref().and_then(|t| parse(t, self));
            let at_most = f.at_most.as_ref().and_then(|t| parse(t, self));
            let rounding = self.resolve_param(at, &f.rounding, &element);
            if let Some(p) = rounding {
                let bad = self.param_units[p.index()] != raw::Unit::Choice
                    || self.param_options[p.index()]
                        .iter()
                        .any(|o| Rounding::from_name(o).is_none());
                if bad {
                    let message = format!(
                        "rounding parameter `{}` must be a choice among {}",
                        f.rounding.value,
                        Rounding::NAMES.join(", ")
                    );
                    self.error_at(at, &f.rounding, &element, message);
                }
            }
            let rule = self.resolve_rule(at, &f.rule, &element, Some(Enforcement::Formula(id)));
            if let (Some(expression), Some(rounding), Some(rule)) = (expression, rounding, rule) {
                self.formulas.push(FormulaDef {
                    id: f.id.value.clone(),
                    doc,
                    meaning: f.meaning.value.clone(),
                    text: f.expression.value.clone(),
                    expression,
                    rounding,
                    at_least,
                    at_most,
                    rule,
                });
            } else {
                // Keep indexes aligned with declaration order.
                self.formulas.push(FormulaDef {
                    id: f.id.value.clone(),
                    doc,
                    meaning: String::new(),
                    text: String::new(),
                    expression: formula::Expr::Number(0),
                    rounding: ParamId(0),
                    at_least: None,
                    at_most: None,
                    rule: RuleId(0),
                });
            }
        }
    }

    // ----- lifecycles ----------------------------------------------------------

    fn register_lifecycles(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for l in &file.lifecycles {
                let element = format!("lifecycle {}", l.id.value);
                if !is_local_id(&l.kind.value) {
                    self.error_at(
                        at,
                        &l.kind,
                        &element,
                        format!(
                            "kind `{}` must be lowercase letters, digits and dashes",
                            l.kind.value
                        ),
                    );
                }
                let lifecycle_id = LifecycleId(self.lifecycles.len() as u32);
                let mut states = Vec::new();
                let mut names = BTreeSet::new();
                for s in &l.states {
                    let selement = format!("{element}, state {}", s.id.value);
                    if !is_local_id(&s.id.value) {
                        self.error_at(
                            at,
                            &s.id,
                            &selement,
                            format!(
                                "state id `{}` must be lowercase letters, digits and dashes",
                                s.id.value
                            ),
                        );
                    }
                    if !names.insert(s.id.value.clone()) {
                        self.error_at(
                            at,
                            &s.id,
                            &selement,
                            format!("state `{}` is declared twice", s.id.value),
                        );
                    }
                    let state_id = StateId(states.len() as u32);
                    let mut operations = Vec::new();
                    let mut seen_ops = BTreeSet::new();
                    for cap in &s.operations {
                        let op = self.resolve_op(at, &cap.id, &selement);
                        let rule = self.resolve_rule(
                            at,
                            &cap.rule,
                            &selement,
                            Some(Enforcement::Capability {
                                lifecycle: lifecycle_id,
                                state: state_id,
                            }),
                        );
                        if let (Some(op), Some(rule)) = (op, rule) {
                            if !seen_ops.insert(op) {
                                self.error_at(
                                    at,
                                    &cap.id,
                                    &selement,
                                    format!("operation `{}` is listed twice", cap.id.value),
                                );
                            }
                            let error_code = cap.error_code.as_ref().and_then(|code| {
                                let anchor = &self.rules[rule.index()].anchor;
                                if cap.allowed {
                                    self.error_at(at, code, &selement, "an allowed operation answers no error; give error_code only where it is refused");
                                    None
                                } else if code.value.trim().is_empty() || !anchor.contains(code.value.as_str()) {
                                    self.error_at(at, code, &selement, format!("error code `{}` must be quoted in the anchor of rule `{}` (\"{anchor}\"), so that it is traced to the source", code.value, cap.rule.value));
                                    None
                                } else {
                                    Some(code.value.clone())
                                }
                            });
                            operations.push(OperationCapability {
                                op,
                                allowed: cap.allowed,
                                rule,
                                error_code,
                            });
                        }
                    }
                    let rules = s
                        .rules
                        .iter()
                        .filter_map(|r| {
                            self.resolve_rule(
                                at,
                                r,
                                &selement,
                                Some(Enforcement::Capability {
                                    lifecycle: lifecycle_id,
                                    state: state_id,
                                }),
                            )
                        })
                        .collect::<Vec<_>>();
                    if s.rules.is_empty() {
                        self.error_at(
                            at,
                            &s.id,
                            &selement,
                            "a state must cite the rules that give it its capabilities",
                        );
                    }
                    if s.data.value == Data::Deleted && !s.terminal {
                        self.error_at(at, &s.data, &selement, "a state whose data is deleted must be terminal: deleted data never comes back");
                    }
                    if s.undecided {
                        let open = s.serving.value == Serving::Unspecified
                            && s.data.value == Data::Unspecified
                            && s.billing.value == BillingStatus::Unspecified;
                        if !open || !s.terminal {
                            self.error_at(at, &s.id, &selement, "an undecided state must be terminal with serving, data and billing unspecified: the documents decide nothing of the resource from its entry");
                        }
                        if l.billing.value != BillingMethod::NotBilled {
                            self.error_at(at, &s.id, &selement, "an undecided state needs a lifecycle that is not billed: charges reaching it would change the account by the implementation's choice");
                        }
                    }
                    if let Some(m) = &s.billing_method
                        && m.value == l.billing.value
                    {
                        self.error_at(at, m, &selement, "billing_method repeats the lifecycle's own billing method; give it only where the state changes it");
                    }
                    states.push(State {
                        id: s.id.value.clone(),
                        meaning: s.meaning.value.clone(),
                        serving: s.serving.value,
                        data: s.data.value,
                        billing: s.billing.value,
                        billing_method: s
                            .billing_method
                            .as_ref()
                            .map_or(l.billing.value, |m| m.value),
                        operations,
                        terminal: s.terminal,
                        undecided: s.undecided,
                        rules,
                    });
                }
                let initial = match states.iter().position(|s| s.id == l.initial.value) {
                    Some(i) => StateId(i as u32),
                    None => {
                        self.error_at(
                            at,
                            &l.initial,
                            &element,
                            format!(
                                "initial state `{}` is not one of the lifecycle's states",
                                l.initial.value
                            ),
                        );
                        StateId(0)
                    }
                };
                if states.is_empty() {
                    self.error_at(at, &l.id, &element, "a lifecycle needs at least one state");
                }
                self.lifecycles.push(Lifecycle {
                    id: l.id.value.clone(),
                    doc: DocId(index as u32),
                    meaning: l.meaning.value.clone(),
                    kind: l.kind.value.clone(),
                    billing: l.billing.value,
                    parent: None,
                    initial,
                    states,
                    transitions: Vec::new(),
                });
            }
        }
        // Parents, once every lifecycle is known.
        let mut counter = 0;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for l in &file.lifecycles {
                let element = format!("lifecycle {}", l.id.value);
                if let Some(p) = &l.parent {
                    self.lifecycles[counter].parent = self.resolve_lifecycle(at, p, &element);
                }
                counter += 1;
            }
        }
        // Parent chains must end, and one (document, kind, billing, parent)
        // must name one lifecycle, or a resource could not find its own.
        let mut keys: HashMap<(DocId, String, BillingMethod, Option<LifecycleId>), String> =
            HashMap::new();
        let mut counter = 0;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for l in &file.lifecycles {
                let element = format!("lifecycle {}", l.id.value);
                let mut seen = BTreeSet::new();
                let mut cursor = Some(LifecycleId(counter));
                while let Some(c) = cursor {
                    if !seen.insert(c) {
                        self.error_at(
                            at,
                            &l.id,
                            &element,
                            "the parent chain of this lifecycle loops back on itself",
                        );
                        break;
                    }
                    cursor = self.lifecycles[c.index()].parent;
                }
                let lc = &self.lifecycles[counter as usize];
                let key = (lc.doc, lc.kind.clone(), lc.billing, lc.parent);
                if let Some(other) = keys.insert(key, lc.id.clone()) {
                    self.error_at(at, &l.id, &element, format!("lifecycle `{other}` already covers the same kind, billing method and parent"));
                }
                counter += 1;
            }
        }
    }

    fn compile_transitions(&mut self, at: At, file: &raw::SpecFile) {
        for l in &file.lifecycles {
            let Some(Item::Lifecycle(lid)) = self.ids.get(&l.id.value).copied() else {
                continue;
            };
            let doc = DocId(at.file as u32);
            let billed = matches!(
                l.billing.value,
                BillingMethod::PayAsYouGo | BillingMethod::Hybrid
            ) && file.billing.is_some();
            let has_expiry = matches!(
                l.billing.value,
                BillingMethod::Subscription | BillingMethod::Hybrid
            );
            let parent = self.lifecycles[lid.index()].parent;
            let mut ids = BTreeSet::new();
            let mut transitions = Vec::new();
            for (t_index, t) in l.transitions.iter().enumerate() {
                let element = format!("lifecycle {}, transition {}", l.id.value, t.id.value);
                if !is_local_id(&t.id.value) {
                    self.error_at(
                        at,
                        &t.id,
                        &element,
                        format!(
                            "transition id `{}` must be lowercase letters, digits and dashes",
                            t.id.value
                        ),
                    );
                }
                if !ids.insert(t.id.value.clone()) {
                    self.error_at(
                        at,
                        &t.id,
                        &element,
                        format!("transition `{}` is declared twice", t.id.value),
                    );
                }
                let from: Vec<StateId> = t
                    .from
                    .iter()
                    .filter_map(|s| self.resolve_state(at, lid, s, &element))
                    .collect();
                if t.from.is_empty() {
                    self.error_at(at, &t.id, &element, "`from` must list at least one state");
                }
                let to = self.resolve_state(at, lid, &t.to, &element);
                if let Some(to) = to
                    && from.contains(&to)
                {
                    self.error_at(
                        at,
                        &t.to,
                        &element,
                        "a transition must change the state; `to` is also in `from`",
                    );
                }
                let anchor_ok = |this: &mut Self, anchor: &yaml::Spanned<Anchor>| {
                    let problem = match anchor.value {
                        Anchor::OverdueSince | Anchor::OldestOverdueBill if !billed => Some(
                            "this lifecycle has no bills of its own, so it is never overdue by itself",
                        ),
                        Anchor::Expiry if !has_expiry => {
                            Some("only subscription and hybrid resources have an expiry")
                        }
                        Anchor::ParentEntered if parent.is_none() => {
                            Some("this lifecycle has no parent")
                        }
                        _ => None,
                    };
                    if let Some(p) = problem {
                        this.error_at(
                            at,
                            anchor,
                            &element,
                            format!("anchor cannot be used here: {p}"),
                        );
                    }
                };
                let trigger = match &t.on.value {
                    raw::Trigger::Signal(s) => {
                        let problem = match s.value {
                            Signal::Overdue | Signal::Settled if !billed => Some(
                                "this lifecycle has no bills of its own (needs pay-as-you-go or hybrid billing and a billing section)",
                            ),
                            Signal::Charged if l.billing.value == BillingMethod::NotBilled => {
                                Some("a not-billed resource is never charged")
                            }
                            _ => None,
                        };
                        if let Some(p) = problem {
                            self.error_at(
                                at,
                                s,
                                &element,
                                format!("signal can never fire here: {p}"),
                            );
                        }
                        Some(Trigger::Signal(s.value))
                    }
                    raw::Trigger::Operation(op) => {
                        self.resolve_op(at, op, &element).map(Trigger::Operation)
                    }
                    raw::Trigger::After { duration, since } => {
                        anchor_ok(self, since);
                        self.positive_duration(at, duration, &element)
                            .map(|duration| Trigger::After {
                                duration,
                                since: since.value,
                            })
                    }
                    raw::Trigger::At(anchor) => {
                        anchor_ok(self, anchor);
                        Some(Trigger::After {
                            duration: DurationExpr {
                                params: Vec::new(),
                                literal: TimeDelta::zero(),
                            },
                            since: anchor.value,
                        })
                    }
                    raw::Trigger::ParentEntered(states) => match parent {
                        None => {
                            self.error_at(
                                at,
                                &t.on,
                                &element,
                                "parent_entered needs a lifecycle with a parent",
                            );
                            None
                        }
                        Some(p) => Some(Trigger::ParentEntered(
                            states
                                .iter()
                                .filter_map(|s| self.resolve_state(at, p, s, &element))
                                .collect(),
                        )),
                    },
                };
                let mut guards = Vec::new();
                for g in &t.when {
                    let guard = match &g.value {
                        raw::Guard::AccountOverdue(b) => Some(Guard::AccountOverdue(*b)),
                        raw::Guard::Overdue(b) => {
                            if !billed {
                                self.error_at(at, g, &element, "`overdue` is always false here: this lifecycle has no bills of its own");
                            }
                            Some(Guard::Overdue(*b))
                        }
                        raw::Guard::Expired(b) => {
                            if !has_expiry {
                                self.error_at(
                                    at,
                                    g,
                                    &element,
                                    "only subscription and hybrid resources have an expiry",
                                );
                            }
                            Some(Guard::Expired(*b))
                        }
                        raw::Guard::Within { duration, since } => {
                            anchor_ok(self, since);
                            self.positive_duration(at, duration, &element)
                                .map(|duration| Guard::Within {
                                    duration,
                                    since: since.value,
                                })
                        }
                        raw::Guard::ParentState(states) => match parent {
                            None => {
                                self.error_at(
                                    at,
                                    g,
                                    &element,
                                    "parent_state needs a lifecycle with a parent",
                                );
                                None
                            }
                            Some(p) => Some(Guard::ParentState(
                                states
                                    .iter()
                                    .filter_map(|s| self.resolve_state(at, p, s, &element))
                                    .collect(),
                            )),
                        },
                        raw::Guard::ParentEnteredUnder(rules) => {
                            if parent.is_none() {
                                self.error_at(
                                    at,
                                    g,
                                    &element,
                                    "parent_entered_under needs a lifecycle with a parent",
                                );
                            }
                            let rules: Vec<RuleId> = rules
                                .iter()
                                .filter_map(|r| self.resolve_rule(at, r, &element, None))
                                .collect();
                            parent.map(|_| Guard::ParentEnteredUnder(rules))
                        }
                        raw::Guard::Param { id, equals } => self
                            .param_condition(at, id, equals, &element)
                            .map(|(param, equals)| Guard::Param { param, equals }),
                    };
                    guards.extend(guard);
                }
                let mut effects = Vec::new();
                for e in &t.effects {
                    match &e.value {
                        raw::Effect::Notify(n) => {
                            if let Some(n) = self.resolve_notification(at, n, &element) {
                                if self.notifications[n.index()].trigger
                                    != NotificationTrigger::Transition
                                {
                                    self.error_at(at, e, &element, "only a notification with `on: transition` can be sent by a transition");
                                }
                                self.notification_used[n.index()] = true;
                                effects.push(Effect::Notify(n));
                            }
                        }
                        raw::Effect::Refund(f) => match self.lookup(at, f, &element, "formula") {
                            Some(Item::Formula(f)) => effects.push(Effect::Refund(f)),
                            Some(_) => self.error_at(
                                at,
                                f,
                                &element,
                                format!("`{}` is not a formula", f.value),
                            ),
                            None => {}
                        },
                    }
                }
                let open_from = t.open_from.as_ref().and_then(|text| {
                    let earliest = self.duration_expr(at, text, &element)?;
                    let latest = match &trigger {
                        Some(Trigger::After { duration, .. }) => duration,
                        Some(_) => {
                            self.error_at(at, text, &element, "open_from needs an `after` trigger: it opens the instant that trigger closes");
                            return None;
                        }
                        None => return None,
                    };
                    let value = |e: &DurationExpr| {
                        e.params.iter().fold(e.literal, |acc, p| {
                            acc + duration_value(&self.parameters[p.index()].value)
                        })
                    };
                    if value(&earliest) >= value(latest) {
                        self.error_at(
                            at,
                            text,
                            &element,
                            format!(
                                "open_from `{}` must come before the trigger's duration",
                                text.value
                            ),
                        );
                    }
                    Some(earliest)
                });
                let rule = self.resolve_rule(
                    at,
                    &t.rule,
                    &element,
                    Some(Enforcement::Transition {
                        lifecycle: lid,
                        transition: t_index,
                    }),
                );
                if let (Some(trigger), Some(to), Some(rule)) = (trigger, to, rule) {
                    transitions.push(Transition {
                        id: t.id.value.clone(),
                        from,
                        to,
                        trigger,
                        guards,
                        effects,
                        open_from,
                        rule,
                    });
                }
            }
            let _ = doc;
            self.lifecycles[lid.index()].transitions = transitions;
        }
    }

    fn resolve_state(
        &mut self,
        at: At,
        lifecycle: LifecycleId,
        id: &Id,
        element: &str,
    ) -> Option<StateId> {
        let lc = &self.lifecycles[lifecycle.index()];
        match lc.state_named(&id.value) {
            Some(s) => Some(s),
            None => {
                let names: Vec<&str> = lc.states.iter().map(|s| s.id.as_str()).collect();
                let message = format!(
                    "unknown state `{}` of lifecycle {}; its states are: {}",
                    id.value,
                    lc.id,
                    names.join(", ")
                );
                self.error_at(at, id, element, message);
                None
            }
        }
    }

    fn check_lifecycles(&mut self) {
        let mut counter = 0usize;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for l in &file.lifecycles {
                let lc = &self.lifecycles[counter];
                counter += 1;
                if lc.states.is_empty() || lc.transitions.len() != l.transitions.len() {
                    continue; // already reported
                }
                let element = format!("lifecycle {}", l.id.value);
                // Reachability from the initial state.
                let mut reached = vec![false; lc.states.len()];
                let mut queue = VecDeque::from([lc.initial]);
                reached[lc.initial.index()] = true;
                while let Some(s) = queue.pop_front() {
                    for t in lc.transitions.iter().filter(|t| t.from.contains(&s)) {
                        if !reached[t.to.index()] {
                            reached[t.to.index()] = true;
                            queue.push_back(t.to);
                        }
                    }
                }
                let mut problems = Vec::new();
                for (i, s) in l.states.iter().enumerate() {
                    if !reached[i] {
                        problems.push((
                            position_of(&s.id),
                            format!("{element}, state {}", s.id.value),
                            format!(
                                "state `{}` cannot be reached from the initial state `{}`",
                                s.id.value, l.initial.value
                            ),
                        ));
                    }
                }
                for (t, raw_t) in lc.transitions.iter().zip(&l.transitions) {
                    for (f, raw_f) in t.from.iter().zip(&raw_t.from) {
                        if lc.states[f.index()].terminal {
                            problems.push((
                                position_of(raw_f),
                                format!("{element}, transition {}", raw_t.id.value),
                                format!(
                                    "state `{}` is terminal, so no transition may leave it",
                                    raw_f.value
                                ),
                            ));
                        }
                    }
                }
                // A charge can reach a pay-as-you-go or hybrid resource in
                // any state; where the document leaves its billing open, a
                // reading must decide whether the charge bills, or the
                // comparison would judge what no sentence decides.
                let billed = matches!(
                    lc.billing,
                    BillingMethod::PayAsYouGo | BillingMethod::Hybrid
                );
                let decided = self.documents[index]
                    .billing
                    .as_ref()
                    .is_none_or(|b| b.bill_where_unspecified.is_some());
                if billed && !decided {
                    for (state, raw_s) in lc.states.iter().zip(&l.states) {
                        if !state.terminal && state.billing == BillingStatus::Unspecified {
                            problems.push((
                                position_of(&raw_s.billing),
                                format!("{element}, state {}", raw_s.id.value),
                                format!(
                                    "state `{}` leaves billing unspecified, but charges reach it; \
                                     name billing.bill_where_unspecified so that a reading decides \
                                     whether they bill",
                                    raw_s.id.value
                                ),
                            ));
                        }
                    }
                }
                for (pos, el, msg) in problems {
                    self.error(at, pos, &el, msg);
                }
            }
        }
    }

    // ----- interpretations and invariants ---------------------------------------

    fn compile_interpretations(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        for i in &file.interpretations {
            let element = format!("interpretation {}", i.id.value);
            let id = InterpretationId(self.interpretations.len() as u32);
            self.check_section(at, &i.section, &element);
            self.check_anchor(at, &i.anchor, &element);
            let mut readings = Vec::new();
            let mut reading_ids = BTreeSet::new();
            for r in &i.readings {
                if !reading_ids.insert(r.id.value.clone()) {
                    self.error_at(
                        at,
                        &r.id,
                        &element,
                        format!("reading `{}` is declared twice", r.id.value),
                    );
                }
                let is_chosen = r.id.value == i.chosen.value;
                if is_chosen && !r.overrides.is_empty() {
                    self.error_at(at, &r.overrides[0].param, &element, "the chosen reading takes the parameters' own values; it cannot override them");
                }
                if !is_chosen && r.overrides.is_empty() {
                    self.error_at(at, &r.id, &element, format!("reading `{}` changes no parameter, so the checks cannot accept it; describe it in `window` instead", r.id.value));
                }
                let mut overrides = Vec::new();
                for o in &r.overrides {
                    // Overrides do not count as uses of the parameter.
                    let Some(Item::Parameter(p)) = self.ids.get(&o.param.value).copied() else {
                        self.error_at(
                            at,
                            &o.param,
                            &element,
                            format!("unknown parameter `{}`", o.param.value),
                        );
                        continue;
                    };
                    match parse_value(
                        self.param_units[p.index()],
                        &self.param_options[p.index()],
                        &o.value.value,
                    ) {
                        Ok(v) if v == self.parameters[p.index()].value => self.error_at(
                            at,
                            &o.value,
                            &element,
                            "the override repeats the parameter's own value",
                        ),
                        Ok(v) => overrides.push((p, v)),
                        Err(msg) => self.error_at(at, &o.value, &element, msg),
                    }
                }
                readings.push(ReadingDef {
                    id: r.id.value.clone(),
                    meaning: r.meaning.value.clone(),
                    overrides,
                });
            }
            if !reading_ids.contains(&i.chosen.value) {
                self.error_at(
                    at,
                    &i.chosen,
                    &element,
                    format!(
                        "chosen reading `{}` is not one of the readings",
                        i.chosen.value
                    ),
                );
            }
            let rules: Vec<RuleId> = i
                .rules
                .iter()
                .filter_map(|r| self.resolve_rule(at, r, &element, None))
                .collect();
            for r in &rules {
                self.rules[r.index()].interpretations.push(id);
            }
            self.interpretations.push(InterpretationDef {
                id: i.id.value.clone(),
                doc,
                section: i.section.value.clone(),
                anchor: i.anchor.value.clone(),
                question: i.question.value.clone(),
                chosen: i.chosen.value.clone(),
                rationale: i.rationale.value.clone(),
                window: i.window.value.clone(),
                readings,
                rules,
            });
        }
    }

    fn compile_invariants(&mut self, at: At<'a>, doc: DocId, file: &raw::SpecFile) {
        for inv in &file.invariants {
            let element = format!("invariant {}", inv.id.value);
            let id = InvariantId(self.invariants.len() as u32);
            let subjects: Vec<LifecycleId> = inv
                .subjects
                .iter()
                .filter_map(|s| self.resolve_lifecycle(at, s, &element))
                .collect();
            if inv.subjects.is_empty() {
                self.error_at(
                    at,
                    &inv.id,
                    &element,
                    "an invariant needs the lifecycles it is about (subjects)",
                );
            }
            let checks: Vec<RuleId> = inv
                .checks
                .iter()
                .filter_map(|r| {
                    self.resolve_rule(at, r, &element, Some(Enforcement::Invariant(id)))
                })
                .collect();
            if inv.checks.is_empty() {
                self.error_at(
                    at,
                    &inv.id,
                    &element,
                    "an invariant must cite the rules it checks",
                );
            }
            let given = [
                inv.absence.is_some(),
                inv.universality.is_some(),
                inv.existence.is_some(),
                inv.response.is_some(),
                inv.precedence.is_some(),
                inv.structural.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if given != 1 {
                self.error_at(at, &inv.id, &element, format!("an invariant has exactly one pattern (absence, universality, existence, response, precedence or structural); this one has {given}"));
            }
            let scope = Scope {
                at,
                doc,
                subjects: subjects.clone(),
                element: element.clone(),
            };
            let pattern = if let Some(p) = &inv.absence {
                Some(Pattern::Absence {
                    never: self.predicate(&scope, &p.value.never),
                    scope: p.value.scope.as_ref().map(|s| self.predicate(&scope, s)),
                })
            } else if let Some(p) = &inv.universality {
                Some(Pattern::Universality {
                    always: self.predicate(&scope, &p.value.always),
                    scope: p.value.scope.as_ref().map(|s| self.predicate(&scope, s)),
                })
            } else if let Some(p) = &inv.existence {
                Some(Pattern::Existence {
                    after: self.event_predicate(&scope, &p.value.after),
                    eventually: self.predicate(&scope, &p.value.eventually),
                    within: p
                        .value
                        .within
                        .as_ref()
                        .and_then(|w| self.duration_expr(at, w, &element)),
                    unless: p
                        .value
                        .unless
                        .iter()
                        .map(|u| self.event_predicate(&scope, u))
                        .collect(),
                })
            } else if let Some(p) = &inv.response {
                Some(Pattern::Response {
                    trigger: self.event_predicate(&scope, &p.value.trigger),
                    given: p.value.given.as_ref().map(|g| self.predicate(&scope, g)),
                    expect: self.predicate(&scope, &p.value.expect),
                    within: p
                        .value
                        .within
                        .as_ref()
                        .and_then(|w| self.duration_expr(at, w, &element)),
                    unless: p
                        .value
                        .unless
                        .iter()
                        .map(|u| self.event_predicate(&scope, u))
                        .collect(),
                })
            } else if let Some(p) = &inv.precedence {
                Some(Pattern::Precedence {
                    effect: self.event_predicate(&scope, &p.value.effect),
                    cause: self.event_predicate(&scope, &p.value.cause),
                })
            } else {
                inv.structural
                    .as_ref()
                    .map(|s| Pattern::Structural(s.value))
            };
            if let Some(s) = &inv.structural {
                let needs_billing = s.value == Structural::DeductionSchedule;
                if needs_billing && file.billing.is_none() {
                    self.error_at(
                        at,
                        s,
                        &element,
                        "deduction-schedule needs a billing section in this document",
                    );
                }
                let needs_formula = s.value == Structural::RefundFormula;
                if needs_formula && file.formulas.is_empty() {
                    self.error_at(
                        at,
                        s,
                        &element,
                        "refund-formula needs a formula in this document",
                    );
                }
            }
            self.invariants.push(InvariantDef {
                id: inv.id.value.clone(),
                doc,
                statement: inv.statement.value.clone(),
                subjects,
                checks,
                pattern: pattern.unwrap_or(Pattern::Structural(Structural::LifecycleConformance)),
            });
        }
    }

    fn predicate(&mut self, scope: &Scope<'a>, p: &yaml::Spanned<raw::Predicate>) -> Predicate {
        let (at, element) = (scope.at, scope.element.as_str());
        match &p.value {
            raw::Predicate::State(names) => Predicate::State(self.state_names(scope, names)),
            raw::Predicate::Entered(names) => Predicate::Entered(self.state_names(scope, names)),
            raw::Predicate::Serving(v) => Predicate::Serving(*v),
            raw::Predicate::Data(v) => Predicate::Data(*v),
            raw::Predicate::Billing(v) => Predicate::Billing(*v),
            raw::Predicate::Operation { id, allowed } => {
                let scoped_at = At {
                    file: scope.doc.index(),
                    name: at.name,
                };
                match self.resolve_op(scoped_at, id, element) {
                    Some(op) => Predicate::Operation {
                        op,
                        allowed: *allowed,
                    },
                    None => Predicate::All(Vec::new()),
                }
            }
            raw::Predicate::Overdue(b) => Predicate::Overdue(*b),
            raw::Predicate::AccountOverdue(b) => Predicate::AccountOverdue(*b),
            raw::Predicate::Param { id, equals } => self
                .param_condition(at, id, equals, element)
                .map(|(param, equals)| Predicate::Param { param, equals })
                .unwrap_or(Predicate::All(Vec::new())),
            raw::Predicate::Elapsed {
                since,
                at_least,
                less_than,
            } => {
                if at_least.is_none() && less_than.is_none() {
                    self.error_at(at, p, element, "elapsed needs at_least, less_than or both");
                }
                if since.value == Anchor::AutoRelease || since.value == Anchor::ParentEntered {
                    self.error_at(at, since, element, "invariants cannot observe this anchor; use `parent` with `entered`, or `happened`");
                }
                Predicate::Elapsed {
                    since: since.value,
                    at_least: at_least
                        .as_ref()
                        .and_then(|d| self.duration_expr(at, d, element)),
                    less_than: less_than
                        .as_ref()
                        .and_then(|d| self.duration_expr(at, d, element)),
                }
            }
            raw::Predicate::Parent(inner) => {
                let Some(parent_scope) = self.parent_scope(scope, p) else {
                    return Predicate::All(Vec::new());
                };
                Predicate::Parent(Box::new(self.predicate(&parent_scope, inner)))
            }
            raw::Predicate::Happened(e) => {
                Predicate::Happened(Box::new(self.event_predicate(scope, e)))
            }
            raw::Predicate::Not(inner) => Predicate::Not(Box::new(self.predicate(scope, inner))),
            raw::Predicate::All(items) => {
                Predicate::All(items.iter().map(|i| self.predicate(scope, i)).collect())
            }
            raw::Predicate::Any(items) => {
                Predicate::Any(items.iter().map(|i| self.predicate(scope, i)).collect())
            }
        }
    }

    /// State names that at least one subject lifecycle has.
    fn state_names(&mut self, scope: &Scope<'a>, names: &[Id]) -> Vec<String> {
        for n in names {
            let known = scope
                .subjects
                .iter()
                .any(|l| self.lifecycles[l.index()].state_named(&n.value).is_some());
            if !known {
                self.error_at(
                    scope.at,
                    n,
                    &scope.element,
                    format!("no subject lifecycle has a state `{}`", n.value),
                );
            }
        }
        names.iter().map(|n| n.value.clone()).collect()
    }

    fn parent_scope<T>(
        &mut self,
        scope: &Scope<'a>,
        at_node: &yaml::Spanned<T>,
    ) -> Option<Scope<'a>> {
        let parents: Option<Vec<LifecycleId>> = scope
            .subjects
            .iter()
            .map(|l| self.lifecycles[l.index()].parent)
            .collect();
        match parents {
            Some(p) if !p.is_empty() => Some(Scope {
                subjects: p,
                ..scope.clone()
            }),
            _ => {
                self.error_at(
                    scope.at,
                    at_node,
                    &scope.element,
                    "`parent` needs every subject lifecycle to have a parent",
                );
                None
            }
        }
    }

    fn event_predicate(
        &mut self,
        scope: &Scope<'a>,
        e: &yaml::Spanned<raw::EventPredicate>,
    ) -> EventPredicate {
        let (at, element) = (scope.at, scope.element.as_str());
        match &e.value {
            raw::EventPredicate::Deduction(o) => EventPredicate::Deduction(o.value),
            raw::EventPredicate::Transition { from, to } => EventPredicate::Transition {
                from: self.state_names(scope, from),
                to: self.state_names(scope, to),
            },
            raw::EventPredicate::Notification(n) => match self.resolve_notification(at, n, element)
            {
                Some(n) => EventPredicate::Notification(n),
                None => EventPredicate::Refund { positive: None },
            },
            raw::EventPredicate::Denial(op) => match self.resolve_op(at, op, element) {
                Some(op) => EventPredicate::Denial(op),
                None => EventPredicate::Refund { positive: None },
            },
            raw::EventPredicate::Operation(op) => match self.resolve_op(at, op, element) {
                Some(op) => EventPredicate::Operation(op),
                None => EventPredicate::Refund { positive: None },
            },
            raw::EventPredicate::Refund { positive } => EventPredicate::Refund {
                positive: *positive,
            },
            raw::EventPredicate::Settled => EventPredicate::Settled,
            raw::EventPredicate::BecameOverdue => EventPredicate::BecameOverdue,
            raw::EventPredicate::Parent(inner) => {
                let Some(parent_scope) = self.parent_scope(scope, e) else {
                    return EventPredicate::Refund { positive: None };
                };
                EventPredicate::Parent(Box::new(self.event_predicate(&parent_scope, inner)))
            }
        }
    }

    // ----- whole-catalog checks ---------------------------------------------------

    /// Runs every value check again under each reading that overrides one
    /// of its parameters (one reading at a time, the others at their chosen
    /// values, as `Catalog::with_reading` applies them), reporting at the
    /// override a problem the parameters' own values do not have.
    fn check_readings(&mut self) {
        let own: Vec<ParamValue> = self.parameters.iter().map(|p| p.value.clone()).collect();
        let mut found = Vec::new();
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for i in &file.interpretations {
                for r in i.readings.iter().filter(|r| r.id.value != i.chosen.value) {
                    let mut values = own.clone();
                    let mut overridden: Vec<(ParamId, Position)> = Vec::new();
                    for o in &r.overrides {
                        let Some(Item::Parameter(p)) = self.ids.get(&o.param.value).copied() else {
                            continue;
                        };
                        let unit = self.param_units[p.index()];
                        let options = &self.param_options[p.index()];
                        if let Ok(v) = parse_value(unit, options, &o.value.value) {
                            values[p.index()] = v;
                            overridden.push((p, position_of(&o.value)));
                        }
                    }
                    for check in &self.value_checks {
                        let Some(position) = overridden
                            .iter()
                            .find(|(p, _)| check.params().contains(p))
                            .map(|(_, pos)| *pos)
                        else {
                            continue;
                        };
                        if check.problem(&own, &self.parameters).is_some() {
                            continue; // reported where the value is used
                        }
                        if let Some(problem) = check.problem(&values, &self.parameters) {
                            let used = check.used();
                            found.push((
                                at,
                                position,
                                format!("interpretation {}", i.id.value),
                                format!(
                                    "with reading `{}`, {problem} (for {} at {}:{})",
                                    r.id.value,
                                    used.element,
                                    self.files[used.file].0,
                                    used.position
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for (at, position, element, message) in found {
            self.error(at, position, &element, message);
        }
    }

    fn check_ledger(&mut self) {
        if self.ledger.is_none() {
            let at = At {
                file: 0,
                name: self.files[0].0,
            };
            self.error(
                at,
                Position { line: 1, column: 1 },
                "ledger",
                "no spec file defines the ledger; exactly one must",
            );
        }
    }

    fn check_usage(&mut self) {
        let mut counter = 0;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                if !self.param_used[counter] {
                    self.error_at(
                        at,
                        &p.id,
                        &format!("parameter {}", p.id.value),
                        format!("parameter `{}` is never used", p.id.value),
                    );
                }
                counter += 1;
            }
        }
        let mut counter = 0;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for n in &file.notifications {
                if !self.notification_used[counter] {
                    self.error_at(
                        at,
                        &n.id,
                        &format!("notification {}", n.id.value),
                        "no transition sends this notification",
                    );
                }
                counter += 1;
            }
        }
    }

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
            ids: self.ids,
            lookups: std::sync::OnceLock::new(),
        }
    }
}

#[derive(Clone)]
struct Scope<'a> {
    at: At<'a>,
    doc: DocId,
    subjects: Vec<LifecycleId>,
    element: String,
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

fn kind_name(kind: Enforcer) -> &'static str {
    match kind {
        Enforcer::Transition => "transition",
        Enforcer::Capability => "capability",
        Enforcer::Billing => "billing",
        Enforcer::Account => "account",
        Enforcer::Notification => "notification",
        Enforcer::Formula => "formula",
        Enforcer::Invariant => "invariant",
    }
}

fn with_article(kind: Enforcer) -> String {
    let name = kind_name(kind);
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

pub fn enforcer_name(kind: Enforcer) -> &'static str {
    kind_name(kind)
}

fn kinds(set: &BTreeSet<Enforcer>) -> String {
    set.iter()
        .map(|k| kind_name(*k))
        .collect::<Vec<_>>()
        .join(", ")
}
