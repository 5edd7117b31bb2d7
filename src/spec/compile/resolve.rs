//! Resolving references: an id to the catalog item it names, of the kind
//! the element expects, and duration expressions to their parameters, each
//! problem a diagnostic where the reference is written.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn lookup(&mut self, at: At, id: &Id, element: &str, what: &str) -> Option<Item> {
        match self.ids.get(&id.value) {
            Some(item) => Some(*item),
            None => {
                self.error_at(at, id, element, format!("unknown {what} `{}`", id.value));
                None
            }
        }
    }

    pub(super) fn resolve_rule(
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

    pub(super) fn resolve_param(&mut self, at: At, id: &Id, element: &str) -> Option<ParamId> {
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
    pub(super) fn param_condition(
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
    pub(super) fn resolve_flag(&mut self, at: At, id: &Id, element: &str) -> Option<ParamId> {
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

    pub(super) fn resolve_lifecycle(
        &mut self,
        at: At,
        id: &Id,
        element: &str,
    ) -> Option<LifecycleId> {
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

    pub(super) fn resolve_notification(
        &mut self,
        at: At,
        id: &Id,
        element: &str,
    ) -> Option<NotificationId> {
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
    pub(super) fn resolve_op(&mut self, at: At, id: &Id, element: &str) -> Option<OpId> {
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
    pub(super) fn duration_expr(
        &mut self,
        at: At,
        text: &raw::Text,
        element: &str,
    ) -> Option<DurationExpr> {
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

    pub(super) fn positive_duration(
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
}
