//! What the specs say, for people and for scripts: the rule listing of
//! `arrears rules`, and the full account `arrears explain` gives of one
//! rule, one interpretation (its readings and what each sets) or one
//! lifecycle (per state, which observation fields the documents decide and
//! by which rule: what the comparison with the model judges).
//!
//! The JSON shapes here ([`RuleSummary`], [`RuleExplanation`],
//! [`InterpretationExplanation`], [`LifecycleExplanation`]) are part of
//! the stable machine-readable output; add fields, never rename them.
//!
//! This file explains rules; `interpretation.rs` and `lifecycle.rs` explain
//! the other two kinds of id.

use serde::Serialize;

mod interpretation;
mod lifecycle;

pub use interpretation::*;
pub use lifecycle::*;

use crate::spec::{
    Catalog, DurationExpr, Effect, Enforcement, Guard, InvariantDef, Pattern, Rule, RuleId,
    Trigger, compile::enforcer_name,
};

/// One rule as `arrears rules --format json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSummary {
    pub id: String,
    /// The document's id, which is also the product's short name.
    pub product: String,
    pub level: String,
    pub section: String,
    pub anchor: String,
    pub statement: String,
    /// Kinds of spec element that enforce it (empty when not modelled).
    pub enforced_by: Vec<String>,
    /// The elements themselves, as `kind id` strings.
    pub enforcements: Vec<String>,
    /// Why the rule is not modelled, when it is not.
    pub not_modelled: Option<String>,
    /// The document the rule comes from, as a file of the shared sources.
    pub source: String,
}

/// Everything `arrears explain` says about one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleExplanation {
    #[serde(flatten)]
    pub summary: RuleSummary,
    pub document_title: String,
    pub interpretations: Vec<InterpretationSummary>,
    /// The parameters the enforcing elements read, with their values.
    pub parameters: Vec<ParameterSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterpretationSummary {
    pub id: String,
    pub question: String,
    pub chosen: String,
    pub rationale: String,
    pub window: String,
    pub readings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParameterSummary {
    pub id: String,
    pub value: String,
    pub unit: String,
    pub meaning: String,
}

fn kebab<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Every rule of the catalog, optionally of one product only, in spec order.
pub fn summaries(catalog: &Catalog, product: Option<&str>) -> Vec<RuleSummary> {
    catalog
        .rules
        .iter()
        .filter(|r| product.is_none_or(|p| catalog.document(r.doc).id == p))
        .map(|r| summary(catalog, r))
        .collect()
}

pub fn summary(catalog: &Catalog, rule: &Rule) -> RuleSummary {
    let doc = catalog.document(rule.doc);
    RuleSummary {
        id: rule.id.clone(),
        product: doc.id.clone(),
        level: kebab(&rule.level),
        section: rule.section.clone(),
        anchor: rule.anchor.clone(),
        statement: rule.statement.clone(),
        enforced_by: rule
            .enforced_by
            .iter()
            .map(|k| enforcer_name(*k).to_string())
            .collect(),
        enforcements: rule
            .enforcements
            .iter()
            .map(|e| enforcement_label(catalog, e))
            .collect(),
        not_modelled: rule.not_modelled.clone(),
        source: doc.source.clone(),
    }
}

/// `kind id` of the element enforcing a rule.
pub fn enforcement_label(catalog: &Catalog, e: &Enforcement) -> String {
    match e {
        Enforcement::Transition {
            lifecycle,
            transition,
        } => {
            let lc = catalog.lifecycle(*lifecycle);
            format!("transition {}/{}", lc.id, lc.transitions[*transition].id)
        }
        Enforcement::Capability { lifecycle, state } => {
            let lc = catalog.lifecycle(*lifecycle);
            format!("capability {}/{}", lc.id, lc.state(*state).id)
        }
        Enforcement::Billing(doc) => format!("billing {}", catalog.document(*doc).id),
        Enforcement::Ledger => "billing ledger".to_string(),
        Enforcement::Account(doc) => format!("account {}", catalog.document(*doc).id),
        Enforcement::Notification(n) => {
            format!("notification {}", catalog.notifications[n.index()].id)
        }
        Enforcement::Formula(f) => format!("formula {}", catalog.formulas[f.index()].id),
        Enforcement::Invariant(i) => format!("invariant {}", catalog.invariants[i.index()].id),
    }
}

fn duration_text(catalog: &Catalog, d: &DurationExpr) -> String {
    let mut parts: Vec<String> = d
        .params
        .iter()
        .map(|p| {
            format!(
                "{} ({})",
                catalog.parameter(*p).id,
                catalog.parameter(*p).value
            )
        })
        .collect();
    if !d.literal.is_zero() || parts.is_empty() {
        parts.push(crate::duration::format(d.literal));
    }
    parts.join(" + ")
}

/// A transition in one line: `from -> to, trigger, guards, effects`.
pub fn describe_transition(catalog: &Catalog, lifecycle: usize, transition: usize) -> String {
    let lc = &catalog.lifecycles[lifecycle];
    let t = &lc.transitions[transition];
    let names = |states: &[crate::spec::StateId], lc: &crate::spec::Lifecycle| {
        states
            .iter()
            .map(|s| lc.state(*s).id.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let parent = lc.parent.map(|p| catalog.lifecycle(p));
    let trigger = match &t.trigger {
        Trigger::Signal(s) => format!("on signal {}", kebab(s)),
        Trigger::Operation(op) => format!("on operation {}", catalog.op_name(*op)),
        Trigger::After { duration, since }
            if duration.params.is_empty() && duration.literal.is_zero() =>
        {
            format!("at {}", kebab(since))
        }
        Trigger::After { duration, since } => format!(
            "after {} since {}",
            duration_text(catalog, duration),
            kebab(since)
        ),
        Trigger::ParentEntered(states) => format!(
            "when the parent enters {}",
            parent.map(|p| names(states, p)).unwrap_or_default()
        ),
    };
    let mut out = format!("{} -> {}, {trigger}", names(&t.from, lc), lc.state(t.to).id);
    for g in &t.guards {
        let text = match g {
            Guard::AccountOverdue(b) => format!("account overdue is {b}"),
            Guard::Overdue(b) => format!("overdue is {b}"),
            Guard::Expired(b) => format!("expired is {b}"),
            Guard::Within { duration, since } => format!(
                "within {} since {}",
                duration_text(catalog, duration),
                kebab(since)
            ),
            Guard::ParentState(states) => format!(
                "parent in {}",
                parent.map(|p| names(states, p)).unwrap_or_default()
            ),
            Guard::ParentEnteredUnder(rules) => format!(
                "parent entered it under {}",
                rules
                    .iter()
                    .map(|r| catalog.rule(*r).id.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Guard::Param { param, equals } => {
                format!("{} = {equals}", catalog.parameter(*param).id)
            }
        };
        out.push_str(&format!(", when {text}"));
    }
    for e in &t.effects {
        match e {
            Effect::Refund(f) => {
                out.push_str(&format!(", refund {}", catalog.formulas[f.index()].id))
            }
            Effect::Notify(n) => {
                out.push_str(&format!(", notify {}", catalog.notifications[n.index()].id))
            }
        }
    }
    out
}

fn describe_invariant(inv: &InvariantDef) -> String {
    format!("{} pattern; {}", inv.pattern.name(), inv.statement)
}

/// The parameters an enforcement reads.
fn parameters_of(catalog: &Catalog, e: &Enforcement, out: &mut Vec<crate::spec::ParamId>) {
    let push_duration = |d: &DurationExpr, out: &mut Vec<_>| out.extend(d.params.iter().copied());
    match e {
        Enforcement::Transition {
            lifecycle,
            transition,
        } => {
            let t = &catalog.lifecycle(*lifecycle).transitions[*transition];
            if let Trigger::After { duration, .. } = &t.trigger {
                push_duration(duration, out);
            }
            for g in &t.guards {
                match g {
                    Guard::Within { duration, .. } => push_duration(duration, out),
                    Guard::Param { param, .. } => out.push(*param),
                    _ => {}
                }
            }
        }
        Enforcement::Billing(doc) => {
            if let Some(b) = &catalog.document(*doc).billing {
                out.extend(b.deduction_offsets.iter().copied());
                out.extend(b.cycle);
            }
        }
        Enforcement::Ledger => out.extend([
            catalog.ledger.vouchers_first,
            catalog.ledger.top_up_settles,
            catalog.ledger.events_before_system_actions,
        ]),
        Enforcement::Formula(f) => out.push(catalog.formulas[f.index()].rounding),
        Enforcement::Invariant(i) => {
            if let Pattern::Response {
                within: Some(d), ..
            } = &catalog.invariants[i.index()].pattern
            {
                push_duration(d, out);
            }
        }
        _ => {}
    }
}

pub fn explanation(catalog: &Catalog, id: RuleId) -> RuleExplanation {
    let rule = catalog.rule(id);
    let mut params = Vec::new();
    for e in &rule.enforcements {
        parameters_of(catalog, e, &mut params);
    }
    params.sort();
    params.dedup();
    RuleExplanation {
        summary: summary(catalog, rule),
        document_title: catalog.document(rule.doc).title.clone(),
        interpretations: rule
            .interpretations
            .iter()
            .map(|i| interpretation_summary(catalog, i.index()))
            .collect(),
        parameters: params
            .into_iter()
            .map(|p| {
                let p = catalog.parameter(p);
                ParameterSummary {
                    id: p.id.clone(),
                    value: p.value.to_string(),
                    unit: p.unit.clone(),
                    meaning: p.meaning.clone(),
                }
            })
            .collect(),
    }
}

/// The explanation as text for a terminal.
pub fn explanation_text(catalog: &Catalog, id: RuleId) -> String {
    let rule = catalog.rule(id);
    let x = explanation(catalog, id);
    let s = &x.summary;
    let mut out = String::new();
    out.push_str(&format!("{} ({})\n", s.id, s.level));
    out.push_str(&format!(
        "  document:  {} [{}]\n",
        x.document_title, s.source
    ));
    out.push_str(&format!("  section:   {}\n", s.section));
    out.push_str(&format!("  anchor:    \"{}\"\n", s.anchor));
    out.push_str(&format!("  rule:      {}\n", s.statement));
    if let Some(reason) = &s.not_modelled {
        out.push_str(&format!("  not modelled: {reason}\n"));
    }
    if !rule.enforcements.is_empty() {
        out.push_str("  enforced by:\n");
        for e in &rule.enforcements {
            let detail = match e {
                Enforcement::Transition {
                    lifecycle,
                    transition,
                } => describe_transition(catalog, lifecycle.index(), *transition),
                Enforcement::Capability { lifecycle, state } => {
                    let st = catalog.lifecycle(*lifecycle).state(*state);
                    let ops: Vec<String> = st
                        .operations
                        .iter()
                        .filter(|o| o.rule == id)
                        .map(|o| {
                            format!(
                                "{} {}",
                                catalog.op_name(o.op),
                                if o.allowed { "allowed" } else { "denied" }
                            )
                        })
                        .collect();
                    let mut text = format!(
                        "serving {}, data {}, billing {}",
                        kebab(&st.serving),
                        kebab(&st.data),
                        kebab(&st.billing)
                    );
                    if !ops.is_empty() {
                        text.push_str(&format!("; {}", ops.join(", ")));
                    }
                    text
                }
                Enforcement::Invariant(i) => describe_invariant(&catalog.invariants[i.index()]),
                Enforcement::Notification(n) => catalog.notifications[n.index()].meaning.clone(),
                Enforcement::Formula(f) => catalog.formulas[f.index()].text.clone(),
                Enforcement::Billing(_) | Enforcement::Ledger | Enforcement::Account(_) => {
                    String::new()
                }
            };
            let label = enforcement_label(catalog, e);
            if detail.is_empty() {
                out.push_str(&format!("    {label}\n"));
            } else {
                out.push_str(&format!("    {label}: {detail}\n"));
            }
        }
    }
    if !x.parameters.is_empty() {
        out.push_str("  parameters:\n");
        for p in &x.parameters {
            out.push_str(&format!("    {} = {} ({})\n", p.id, p.value, p.meaning));
        }
    }
    for i in &x.interpretations {
        out.push_str(&format!("  interpretation {}:\n", i.id));
        out.push_str(&format!("    question:  {}\n", i.question));
        out.push_str(&format!("    chosen:    {} ({})\n", i.chosen, i.rationale));
        out.push_str(&format!("    accepted:  {}\n", i.window));
        out.push_str(&format!("    readings:  {}\n", i.readings.join("; ")));
    }
    out
}

/// The rule listing as an aligned text table.
pub fn rules_table(rules: &[RuleSummary]) -> String {
    let width = |f: &dyn Fn(&RuleSummary) -> usize| rules.iter().map(f).max().unwrap_or(0);
    let w_id = width(&|r| r.id.len()).max(4);
    let w_product = width(&|r| r.product.len()).max(7);
    let w_level = 13;
    let mut out = format!(
        "{:w_id$}  {:w_product$}  {:w_level$}  {:40}  enforced by\n",
        "rule", "product", "level", "section"
    );
    for r in rules {
        let enforced = if r.enforced_by.is_empty() {
            "not modelled".to_string()
        } else {
            r.enforced_by.join(", ")
        };
        let section: String = if r.section.chars().count() > 40 {
            let cut: String = r.section.chars().take(39).collect();
            format!("{cut}…")
        } else {
            r.section.clone()
        };
        out.push_str(&format!(
            "{:w_id$}  {:w_product$}  {:w_level$}  {:40}  {enforced}\n",
            r.id, r.product, r.level, section
        ));
    }
    out
}

fn interpretation_summary(catalog: &Catalog, i: usize) -> InterpretationSummary {
    let interp = &catalog.interpretations[i];
    InterpretationSummary {
        id: interp.id.clone(),
        question: interp.question.clone(),
        chosen: interp.chosen.clone(),
        rationale: interp.rationale.clone(),
        window: interp.window.clone(),
        readings: interp
            .readings
            .iter()
            .map(|r| format!("{}: {}", r.id, r.meaning))
            .collect(),
    }
}
