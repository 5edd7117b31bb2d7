//! A document's policies: billing and the deduction schedule, the ledger,
//! notifications and refund formulas.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn compile_policies(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        if let Some(l) = &file.ledger {
            self.compile_ledger(at, doc, l);
        }
        if let Some(b) = &file.billing {
            self.compile_billing(at, doc, b);
        }
        if let Some(a) = &file.account {
            self.compile_account(at, doc, a);
        }
    }

    /// The account-wide ledger: its flags, its settlement choice, its rules
    /// (in exactly one file of a set).
    fn compile_ledger(&mut self, at: At, doc: DocId, l: &raw::Ledger) {
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

    /// How a document's pay-as-you-go bills are deducted: the schedule, the
    /// billing cycle, what a state with unspecified billing does.
    fn compile_billing(&mut self, at: At, doc: DocId, b: &raw::Billing) {
        let element = "billing";
        let offsets = self.deduction_offsets(at, b, element);
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
        let cycle = b
            .cycle
            .as_ref()
            .and_then(|c| self.billing_cycle(at, c, element));
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

    /// The deduction offsets: durations, each later than the one before.
    fn deduction_offsets(&mut self, at: At, b: &raw::Billing, element: &str) -> Vec<ParamId> {
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
        offsets
    }

    /// The billing cycle: a positive duration parameter.
    fn billing_cycle(&mut self, at: At, c: &Id, element: &str) -> Option<ParamId> {
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
    }

    /// What an overdue account does to the document's fee-incurring
    /// operations: refused by a rule, or as a reading decides.
    fn compile_account(&mut self, at: At, doc: DocId, a: &raw::AccountPolicy) {
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

    pub(super) fn compile_notifications(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        for n in &file.notifications {
            let element = format!("notification {}", n.id.value);
            let id = NotificationId(self.notifications.len() as u32);
            let trigger = self.notification_trigger(at, n, &element);
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
            let per = n
                .per
                .as_ref()
                .and_then(|id| self.notification_per(at, id, trigger, &element));
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

    /// When a notification is sent; a lead before expiry must be a duration.
    fn notification_trigger(
        &mut self,
        at: At,
        n: &raw::Notification,
        element: &str,
    ) -> NotificationTrigger {
        match &n.on.value {
            raw::NotificationTrigger::BillOverdue => NotificationTrigger::BillOverdue,
            raw::NotificationTrigger::BalanceNegative => NotificationTrigger::BalanceNegative,
            raw::NotificationTrigger::CreditBelowThreshold => {
                NotificationTrigger::CreditBelowThreshold
            }
            raw::NotificationTrigger::Transition => NotificationTrigger::Transition,
            raw::NotificationTrigger::BeforeExpiry { lead } => {
                let p = self.resolve_param(at, lead, element);
                match p {
                    Some(p) if self.param_units[p.index()].is_duration() => {
                        NotificationTrigger::BeforeExpiry(p)
                    }
                    _ => {
                        self.error_at(
                            at,
                            lead,
                            element,
                            "before_expiry needs a duration parameter as its lead",
                        );
                        NotificationTrigger::Transition
                    }
                }
            }
        }
    }

    /// The choice parameter saying whether a bill-overdue notification is
    /// sent per resource or per account.
    fn notification_per(
        &mut self,
        at: At,
        id: &Id,
        trigger: NotificationTrigger,
        element: &str,
    ) -> Option<ParamId> {
        let p = self.resolve_param(at, id, element)?;
        let options = &self.param_options[p.index()];
        let choices_fit = self.param_units[p.index()] == raw::Unit::Choice
            && options.iter().all(|o| o == "resource" || o == "account");
        if !choices_fit {
            self.error_at(
                at,
                id,
                element,
                "per needs a choice parameter among `resource` and `account`",
            );
            return None;
        }
        if trigger != NotificationTrigger::BillOverdue {
            self.error_at(
                at,
                id,
                element,
                "per applies only to bill_overdue notifications",
            );
            return None;
        }
        Some(p)
    }

    pub(super) fn compile_formulas(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
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
}
