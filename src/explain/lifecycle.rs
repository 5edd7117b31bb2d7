//! `arrears explain LIFECYCLE`: per state, which observation fields the
//! documents decide and by which rules — what the comparison with the
//! model judges.

use serde::Serialize;

use crate::spec::{
    Catalog, Document, Lifecycle, OpId, OperationDecl, RuleId, State, StateId, Trigger,
};

use super::kebab;

/// What the specs decide about one field of a resource in one state, and
/// by which rules; `value` is `unspecified` and `rules` empty where nothing
/// decides, and then the comparison with the model leaves the field alone.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDecision {
    pub field: String,
    pub value: String,
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateDecisions {
    pub state: String,
    pub meaning: String,
    pub terminal: bool,
    /// Nothing of the resource is compared from its entry into this state.
    pub undecided: bool,
    pub fields: Vec<FieldDecision>,
}

/// `arrears explain LIFECYCLE`: per state, which observation fields the
/// documents decide and by which rule.
#[derive(Debug, Clone, Serialize)]
pub struct LifecycleExplanation {
    pub id: String,
    pub product: String,
    pub meaning: String,
    pub billing: String,
    pub states: Vec<StateDecisions>,
}

/// The lifecycle named `id`, with what each of its states decides.
pub fn lifecycle(catalog: &Catalog, id: &str) -> Option<LifecycleExplanation> {
    let lid = catalog.lifecycle_named(id)?;
    let lc = catalog.lifecycle(lid);
    let doc = catalog.document(lc.doc);
    let mut ops: Vec<_> = doc.operations.iter().collect();
    ops.sort_by_key(|(op, _)| catalog.op_name(**op));
    let states = lc
        .states
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let sid = StateId(i as u32);
            let mut fields = capability_decisions(catalog, st);
            let place = Place { lc, doc, st, sid };
            for (op, decl) in &ops {
                fields.push(place.operation_decision(catalog, **op, decl));
            }
            StateDecisions {
                state: st.id.clone(),
                meaning: st.meaning.clone(),
                terminal: st.terminal,
                undecided: st.undecided,
                fields,
            }
        })
        .collect();
    Some(LifecycleExplanation {
        id: lc.id.clone(),
        product: doc.id.clone(),
        meaning: lc.meaning.clone(),
        billing: kebab(&lc.billing),
        states,
    })
}

/// The ids of `rules`, without repeats in a row.
fn ids(catalog: &Catalog, rules: &[RuleId]) -> Vec<String> {
    let mut out: Vec<String> = rules.iter().map(|r| catalog.rule(*r).id.clone()).collect();
    out.dedup();
    out
}

/// What a state decides of `serving`, `data` and `billing`, by the state's
/// rules (none where it leaves the field unspecified).
fn capability_decisions(catalog: &Catalog, st: &State) -> Vec<FieldDecision> {
    [
        ("serving", kebab(&st.serving)),
        ("data", kebab(&st.data)),
        ("billing", kebab(&st.billing)),
    ]
    .into_iter()
    .map(|(field, value)| {
        let rules = if value == "unspecified" {
            Vec::new()
        } else {
            ids(catalog, &st.rules)
        };
        FieldDecision {
            field: field.to_string(),
            value,
            rules,
        }
    })
    .collect()
}

/// A state of a lifecycle of a document.
struct Place<'a> {
    lc: &'a Lifecycle,
    doc: &'a Document,
    st: &'a State,
    sid: StateId,
}

impl Place<'_> {
    /// What the state decides of operation `op`: its verdict and the rules
    /// behind it, then what an overdue account changes of it.
    fn operation_decision(
        &self,
        catalog: &Catalog,
        op: OpId,
        decl: &OperationDecl,
    ) -> FieldDecision {
        let Place { lc, doc, st, sid } = *self;
        let name = format!("operation {}", catalog.op_name(op));
        let triggered: Vec<RuleId> = lc
            .transitions
            .iter()
            .filter(|t| {
                t.from.contains(&sid) && matches!(t.trigger, Trigger::Operation(o) if o == op)
            })
            .map(|t| t.rule)
            .collect();
        let (value, rules) = if st.undecided {
            ("unspecified".to_string(), Vec::new())
        } else if st.terminal {
            ("refused".to_string(), ids(catalog, &st.rules))
        } else if let Some(cap) = st.operations.iter().find(|c| c.op == op) {
            let verdict = if cap.allowed { "allowed" } else { "refused" };
            (verdict.to_string(), ids(catalog, &[cap.rule]))
        } else if !triggered.is_empty() {
            (
                "allowed when a transition's conditions hold".to_string(),
                ids(catalog, &triggered),
            )
        } else {
            ("unspecified".to_string(), Vec::new())
        };
        let (value, rules) = if decl.fee_incurring
            && !st.terminal
            && catalog.refuses_fee_operations_while_overdue(lc.doc)
        {
            let mut all = rules;
            all.extend(ids(catalog, &catalog.fee_refusal_rules(lc.doc)));
            (
                format!("{value}; refused while the account is overdue"),
                all,
            )
        } else if let Some(flag) = doc
            .refuse_fee_operations_flag
            .filter(|_| decl.fee_incurring && !st.terminal)
        {
            let by = catalog
                .parameter(flag)
                .interpretation
                .clone()
                .unwrap_or_else(|| catalog.parameter(flag).id.clone());
            (
                format!("{value}; while the account is overdue, as {by} is read"),
                rules,
            )
        } else {
            (value, rules)
        };
        FieldDecision {
            field: name,
            value,
            rules,
        }
    }
}

pub fn lifecycle_text(x: &LifecycleExplanation) -> String {
    let mut out = format!(
        "{} (lifecycle, {}, {})\n  {}\n",
        x.id, x.product, x.billing, x.meaning
    );
    let width = x
        .states
        .iter()
        .flat_map(|s| s.fields.iter().map(|f| f.field.len()))
        .max()
        .unwrap_or(0);
    for s in &x.states {
        let terminal = if s.terminal { ", terminal" } else { "" };
        out.push_str(&format!("\n  state {}{terminal}: {}\n", s.state, s.meaning));
        if s.undecided {
            out.push_str("    undecided: nothing of the resource is compared from its entry\n");
        }
        for f in &s.fields {
            let by = if f.rules.is_empty() {
                "not decided: not compared".to_string()
            } else {
                format!("by {}", f.rules.join(", "))
            };
            out.push_str(&format!("    {:width$}  {}  ({by})\n", f.field, f.value));
        }
    }
    out
}
