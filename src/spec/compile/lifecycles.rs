//! Lifecycles and their states: capabilities and rules resolved, parents
//! and lineages checked, and the checks on the whole graph once the
//! transitions are in (reachable states, terminal states without exits,
//! billing decided wherever charges reach). The transitions themselves are
//! `transitions.rs`.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn register_lifecycles(&mut self) {
        let files = self.files;
        for (index, (name, file)) in files.iter().enumerate() {
            let at = At { file: index, name };
            for l in &file.lifecycles {
                self.register_lifecycle(at, l);
            }
        }
        self.resolve_parents();
        self.check_lineages();
    }

    /// A lifecycle and its states, without parent or transitions yet.
    fn register_lifecycle(&mut self, at: At, l: &raw::Lifecycle) {
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
            let state_id = StateId(states.len() as u32);
            let state = self.compile_state(at, l, (lifecycle_id, state_id), s, &mut names);
            states.push(state);
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
            doc: DocId(at.file as u32),
            meaning: l.meaning.value.clone(),
            kind: l.kind.value.clone(),
            billing: l.billing.value,
            parent: None,
            initial,
            states,
            transitions: Vec::new(),
        });
    }

    /// A state of lifecycle `l`: its capabilities, its rules, and the checks
    /// on what it says (deleted data only in a terminal state, an
    /// undecided state only where nothing is billed).
    fn compile_state(
        &mut self,
        at: At,
        l: &raw::Lifecycle,
        (lifecycle_id, state_id): (LifecycleId, StateId),
        s: &raw::State,
        names: &mut BTreeSet<String>,
    ) -> State {
        let selement = format!("lifecycle {}, state {}", l.id.value, s.id.value);
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
        let enforcement = Enforcement::Capability {
            lifecycle: lifecycle_id,
            state: state_id,
        };
        let operations = self.compile_capabilities(at, s, &enforcement, &selement);
        let rules = s
            .rules
            .iter()
            .filter_map(|r| self.resolve_rule(at, r, &selement, Some(enforcement.clone())))
            .collect::<Vec<_>>();
        self.check_state(at, l, s, &selement);
        State {
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
        }
    }

    /// The operations a state allows or refuses, each by a rule, with the
    /// error a refusal answers where the rule's anchor quotes one.
    fn compile_capabilities(
        &mut self,
        at: At,
        s: &raw::State,
        enforcement: &Enforcement,
        selement: &str,
    ) -> Vec<OperationCapability> {
        let mut operations = Vec::new();
        let mut seen_ops = BTreeSet::new();
        for cap in &s.operations {
            let op = self.resolve_op(at, &cap.id, selement);
            let rule = self.resolve_rule(at, &cap.rule, selement, Some(enforcement.clone()));
            let (Some(op), Some(rule)) = (op, rule) else {
                continue;
            };
            if !seen_ops.insert(op) {
                self.error_at(
                    at,
                    &cap.id,
                    selement,
                    format!("operation `{}` is listed twice", cap.id.value),
                );
            }
            let error_code = cap.error_code.as_ref().and_then(|code| {
                let anchor = &self.rules[rule.index()].anchor;
                if cap.allowed {
                    self.error_at(at, code, selement, "an allowed operation answers no error; give error_code only where it is refused");
                    None
                } else if code.value.trim().is_empty() || !anchor.contains(code.value.as_str()) {
                    self.error_at(at, code, selement, format!("error code `{}` must be quoted in the anchor of rule `{}` (\"{anchor}\"), so that it is traced to the source", code.value, cap.rule.value));
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
        operations
    }

    /// What a state says must hang together: it cites its rules, deleted
    /// data never comes back, an undecided state decides nothing and is not
    /// billed, a billing method is given only where it changes.
    fn check_state(&mut self, at: At, l: &raw::Lifecycle, s: &raw::State, selement: &str) {
        if s.rules.is_empty() {
            self.error_at(
                at,
                &s.id,
                selement,
                "a state must cite the rules that give it its capabilities",
            );
        }
        if s.data.value == Data::Deleted && !s.terminal {
            self.error_at(
                at,
                &s.data,
                selement,
                "a state whose data is deleted must be terminal: deleted data never comes back",
            );
        }
        if s.undecided {
            let open = s.serving.value == Serving::Unspecified
                && s.data.value == Data::Unspecified
                && s.billing.value == BillingStatus::Unspecified;
            if !open || !s.terminal {
                self.error_at(at, &s.id, selement, "an undecided state must be terminal with serving, data and billing unspecified: the documents decide nothing of the resource from its entry");
            }
            if l.billing.value != BillingMethod::NotBilled {
                self.error_at(at, &s.id, selement, "an undecided state needs a lifecycle that is not billed: charges reaching it would change the account by the implementation's choice");
            }
        }
        if let Some(m) = &s.billing_method
            && m.value == l.billing.value
        {
            self.error_at(at, m, selement, "billing_method repeats the lifecycle's own billing method; give it only where the state changes it");
        }
    }

    /// Parents, once every lifecycle is known.
    fn resolve_parents(&mut self) {
        let files = self.files;
        let mut counter = 0;
        for (index, (name, file)) in files.iter().enumerate() {
            let at = At { file: index, name };
            for l in &file.lifecycles {
                let element = format!("lifecycle {}", l.id.value);
                if let Some(p) = &l.parent {
                    self.lifecycles[counter].parent = self.resolve_lifecycle(at, p, &element);
                }
                counter += 1;
            }
        }
    }

    /// Parent chains must end, and one (document, kind, billing, parent)
    /// must name one lifecycle, or a resource could not find its own.
    fn check_lineages(&mut self) {
        let files = self.files;
        let mut keys: HashMap<(DocId, String, BillingMethod, Option<LifecycleId>), String> =
            HashMap::new();
        let mut counter = 0;
        for (index, (name, file)) in files.iter().enumerate() {
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

    pub(super) fn check_lifecycles(&mut self) {
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
                let reached = reachable(lc);
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
                problems.extend(self.unbilled_charges(index, lc, l, &element));
                for (pos, el, msg) in problems {
                    self.error(at, pos, &el, msg);
                }
            }
        }
    }

    /// Where charges reach a state whose billing the document leaves open
    /// and no reading decides it: a problem per such state.
    fn unbilled_charges(
        &self,
        doc: usize,
        lc: &Lifecycle,
        l: &raw::Lifecycle,
        element: &str,
    ) -> Vec<(Position, String, String)> {
        // A charge can reach a pay-as-you-go or hybrid resource in
        // any state; where the document leaves its billing open, a
        // reading must decide whether the charge bills, or the
        // comparison would judge what no sentence decides.
        let billed = matches!(
            lc.billing,
            BillingMethod::PayAsYouGo | BillingMethod::Hybrid
        );
        let decided = self.documents[doc]
            .billing
            .as_ref()
            .is_none_or(|b| b.bill_where_unspecified.is_some());
        let mut problems = Vec::new();
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
        problems
    }
}

/// Which states of a lifecycle its transitions reach from the initial one.
fn reachable(lc: &Lifecycle) -> Vec<bool> {
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
    reached
}
