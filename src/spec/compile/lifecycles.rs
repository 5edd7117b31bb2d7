//! Lifecycles and their transitions: states, triggers, guards and effects
//! resolved, and the checks on the whole graph (reachable states, terminal
//! states without exits, deleted data only where nothing follows).

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn register_lifecycles(&mut self) {
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

    pub(super) fn compile_transitions(&mut self, at: At, file: &raw::SpecFile) {
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

    pub(super) fn resolve_state(
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
}
