//! Invariants and their checks: patterns over predicates on observations
//! and events, resolved for the lifecycles they speak of.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn compile_invariants(&mut self, at: At<'a>, doc: DocId, file: &raw::SpecFile) {
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
            self.check_one_pattern(at, inv, &element);
            let scope = Scope {
                at,
                doc,
                subjects: subjects.clone(),
                element: element.clone(),
            };
            let pattern = self.pattern(&scope, inv);
            self.check_structural(at, inv, file, &element);
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

    /// An invariant gives exactly one pattern.
    fn check_one_pattern(&mut self, at: At, inv: &raw::Invariant, element: &str) {
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
            self.error_at(at, &inv.id, element, format!("an invariant has exactly one pattern (absence, universality, existence, response, precedence or structural); this one has {given}"));
        }
    }

    /// The invariant's pattern, its predicates resolved in `scope`.
    fn pattern(&mut self, scope: &Scope<'a>, inv: &raw::Invariant) -> Option<Pattern> {
        if let Some(p) = &inv.absence {
            Some(Pattern::Absence {
                never: self.predicate(scope, &p.value.never),
                scope: p.value.scope.as_ref().map(|s| self.predicate(scope, s)),
            })
        } else if let Some(p) = &inv.universality {
            Some(Pattern::Universality {
                always: self.predicate(scope, &p.value.always),
                scope: p.value.scope.as_ref().map(|s| self.predicate(scope, s)),
            })
        } else if let Some(p) = &inv.existence {
            Some(Pattern::Existence {
                after: self.event_predicate(scope, &p.value.after),
                eventually: self.predicate(scope, &p.value.eventually),
                within: self.within(scope, p.value.within.as_ref()),
                unless: self.unless(scope, &p.value.unless),
            })
        } else if let Some(p) = &inv.response {
            Some(Pattern::Response {
                trigger: self.event_predicate(scope, &p.value.trigger),
                given: p.value.given.as_ref().map(|g| self.predicate(scope, g)),
                expect: self.predicate(scope, &p.value.expect),
                within: self.within(scope, p.value.within.as_ref()),
                unless: self.unless(scope, &p.value.unless),
            })
        } else if let Some(p) = &inv.precedence {
            Some(Pattern::Precedence {
                effect: self.event_predicate(scope, &p.value.effect),
                cause: self.event_predicate(scope, &p.value.cause),
            })
        } else {
            inv.structural
                .as_ref()
                .map(|s| Pattern::Structural(s.value))
        }
    }

    /// A structural check needs what it checks in the document: a billing
    /// section, a formula.
    fn check_structural(
        &mut self,
        at: At,
        inv: &raw::Invariant,
        file: &raw::SpecFile,
        element: &str,
    ) {
        if let Some(s) = &inv.structural {
            let needs_billing = s.value == Structural::DeductionSchedule;
            if needs_billing && file.billing.is_none() {
                self.error_at(
                    at,
                    s,
                    element,
                    "deduction-schedule needs a billing section in this document",
                );
            }
            let needs_formula = s.value == Structural::RefundFormula;
            if needs_formula && file.formulas.is_empty() {
                self.error_at(
                    at,
                    s,
                    element,
                    "refund-formula needs a formula in this document",
                );
            }
        }
    }

    /// A response's or existence's deadline, if it names one.
    fn within(&mut self, scope: &Scope<'a>, within: Option<&raw::Text>) -> Option<DurationExpr> {
        within.and_then(|w| self.duration_expr(scope.at, w, &scope.element))
    }

    /// The events that excuse a response or existence.
    fn unless(
        &mut self,
        scope: &Scope<'a>,
        unless: &[yaml::Spanned<raw::EventPredicate>],
    ) -> Vec<EventPredicate> {
        unless
            .iter()
            .map(|u| self.event_predicate(scope, u))
            .collect()
    }

    pub(super) fn predicate(
        &mut self,
        scope: &Scope<'a>,
        p: &yaml::Spanned<raw::Predicate>,
    ) -> Predicate {
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
    pub(super) fn state_names(&mut self, scope: &Scope<'a>, names: &[Id]) -> Vec<String> {
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

    pub(super) fn parent_scope<T>(
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

    pub(super) fn event_predicate(
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
}

#[derive(Clone)]
pub(super) struct Scope<'a> {
    at: At<'a>,
    doc: DocId,
    subjects: Vec<LifecycleId>,
    element: String,
}
