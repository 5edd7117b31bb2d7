//! Rules: their ids, source sections and verbatim anchors, and the check
//! that every rule is enforced by what it declares (and only that) or marked
//! not modelled with a reason.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn check_section(&mut self, at: At, section: &raw::Text, element: &str) {
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

    pub(super) fn check_anchor(&mut self, at: At, anchor: &raw::Text, element: &str) {
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

    pub(super) fn register_rules(&mut self) {
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

    pub(super) fn check_rules(&mut self) {
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
