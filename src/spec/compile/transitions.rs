//! Transitions: their states, triggers, guards, effects and open windows
//! resolved, with the diagnostics each can raise (an anchor or a signal
//! that cannot apply to the lifecycle, a guard that is always false).

use super::*;

/// The lifecycle a transition belongs to: what its transitions are checked
/// against.
#[derive(Clone, Copy)]
struct Owner {
    lid: LifecycleId,
    billing: BillingMethod,
    /// Whether the lifecycle has bills of its own.
    billed: bool,
    /// Whether its resources have an expiry.
    has_expiry: bool,
    parent: Option<LifecycleId>,
}

impl<'a> Compiler<'a> {
    pub(super) fn compile_transitions(&mut self, at: At, file: &raw::SpecFile) {
        for l in &file.lifecycles {
            let Some(Item::Lifecycle(lid)) = self.ids.get(&l.id.value).copied() else {
                continue;
            };
            let owner = Owner {
                lid,
                billing: l.billing.value,
                billed: matches!(
                    l.billing.value,
                    BillingMethod::PayAsYouGo | BillingMethod::Hybrid
                ) && file.billing.is_some(),
                has_expiry: matches!(
                    l.billing.value,
                    BillingMethod::Subscription | BillingMethod::Hybrid
                ),
                parent: self.lifecycles[lid.index()].parent,
            };
            let mut ids = BTreeSet::new();
            let mut transitions = Vec::new();
            for (t_index, t) in l.transitions.iter().enumerate() {
                let element = format!("lifecycle {}, transition {}", l.id.value, t.id.value);
                let compiled = self.compile_transition(at, owner, (t_index, t), &element, &mut ids);
                transitions.extend(compiled);
            }
            self.lifecycles[lid.index()].transitions = transitions;
        }
    }

    /// Transition number `t_index` of a lifecycle; `None` where a part of
    /// it could not be resolved (and a diagnostic says so).
    fn compile_transition(
        &mut self,
        at: At,
        owner: Owner,
        (t_index, t): (usize, &raw::Transition),
        element: &str,
        ids: &mut BTreeSet<String>,
    ) -> Option<Transition> {
        let lid = owner.lid;
        if !is_local_id(&t.id.value) {
            self.error_at(
                at,
                &t.id,
                element,
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
                element,
                format!("transition `{}` is declared twice", t.id.value),
            );
        }
        let from: Vec<StateId> = t
            .from
            .iter()
            .filter_map(|s| self.resolve_state(at, lid, s, element))
            .collect();
        if t.from.is_empty() {
            self.error_at(at, &t.id, element, "`from` must list at least one state");
        }
        let to = self.resolve_state(at, lid, &t.to, element);
        if let Some(to) = to
            && from.contains(&to)
        {
            self.error_at(
                at,
                &t.to,
                element,
                "a transition must change the state; `to` is also in `from`",
            );
        }
        let trigger = self.compile_trigger(at, owner, t, element);
        let guards = t
            .when
            .iter()
            .filter_map(|g| self.compile_guard(at, owner, g, element))
            .collect();
        let effects = self.compile_effects(at, t, element);
        let open_from = self.compile_open_from(at, t, trigger.as_ref(), element);
        let rule = self.resolve_rule(
            at,
            &t.rule,
            element,
            Some(Enforcement::Transition {
                lifecycle: lid,
                transition: t_index,
            }),
        );
        let (trigger, to, rule) = (trigger?, to?, rule?);
        Some(Transition {
            id: t.id.value.clone(),
            from,
            to,
            trigger,
            guards,
            effects,
            open_from,
            rule,
        })
    }

    /// An anchor a timer or a window counts from must exist for the
    /// lifecycle's resources.
    fn check_timer_anchor(
        &mut self,
        at: At,
        owner: Owner,
        anchor: &yaml::Spanned<Anchor>,
        element: &str,
    ) {
        let problem = match anchor.value {
            Anchor::OverdueSince | Anchor::OldestOverdueBill if !owner.billed => {
                Some("this lifecycle has no bills of its own, so it is never overdue by itself")
            }
            Anchor::Expiry if !owner.has_expiry => {
                Some("only subscription and hybrid resources have an expiry")
            }
            Anchor::ParentEntered if owner.parent.is_none() => Some("this lifecycle has no parent"),
            _ => None,
        };
        if let Some(p) = problem {
            self.error_at(
                at,
                anchor,
                element,
                format!("anchor cannot be used here: {p}"),
            );
        }
    }

    /// What makes a transition fire.
    fn compile_trigger(
        &mut self,
        at: At,
        owner: Owner,
        t: &raw::Transition,
        element: &str,
    ) -> Option<Trigger> {
        match &t.on.value {
            raw::Trigger::Signal(s) => {
                let problem = match s.value {
                    Signal::Overdue | Signal::Settled if !owner.billed => Some(
                        "this lifecycle has no bills of its own (needs pay-as-you-go or hybrid billing and a billing section)",
                    ),
                    Signal::Charged if owner.billing == BillingMethod::NotBilled => {
                        Some("a not-billed resource is never charged")
                    }
                    _ => None,
                };
                if let Some(p) = problem {
                    self.error_at(at, s, element, format!("signal can never fire here: {p}"));
                }
                Some(Trigger::Signal(s.value))
            }
            raw::Trigger::Operation(op) => self.resolve_op(at, op, element).map(Trigger::Operation),
            raw::Trigger::After { duration, since } => {
                self.check_timer_anchor(at, owner, since, element);
                self.positive_duration(at, duration, element)
                    .map(|duration| Trigger::After {
                        duration,
                        since: since.value,
                    })
            }
            raw::Trigger::At(anchor) => {
                self.check_timer_anchor(at, owner, anchor, element);
                Some(Trigger::After {
                    duration: DurationExpr {
                        params: Vec::new(),
                        literal: TimeDelta::zero(),
                    },
                    since: anchor.value,
                })
            }
            raw::Trigger::ParentEntered(states) => match owner.parent {
                None => {
                    self.error_at(
                        at,
                        &t.on,
                        element,
                        "parent_entered needs a lifecycle with a parent",
                    );
                    None
                }
                Some(p) => Some(Trigger::ParentEntered(
                    states
                        .iter()
                        .filter_map(|s| self.resolve_state(at, p, s, element))
                        .collect(),
                )),
            },
        }
    }

    /// A condition a transition needs to fire.
    fn compile_guard(
        &mut self,
        at: At,
        owner: Owner,
        g: &yaml::Spanned<raw::Guard>,
        element: &str,
    ) -> Option<Guard> {
        match &g.value {
            raw::Guard::AccountOverdue(b) => Some(Guard::AccountOverdue(*b)),
            raw::Guard::Overdue(b) => {
                if !owner.billed {
                    self.error_at(
                        at,
                        g,
                        element,
                        "`overdue` is always false here: this lifecycle has no bills of its own",
                    );
                }
                Some(Guard::Overdue(*b))
            }
            raw::Guard::Expired(b) => {
                if !owner.has_expiry {
                    self.error_at(
                        at,
                        g,
                        element,
                        "only subscription and hybrid resources have an expiry",
                    );
                }
                Some(Guard::Expired(*b))
            }
            raw::Guard::Within { duration, since } => {
                self.check_timer_anchor(at, owner, since, element);
                self.positive_duration(at, duration, element)
                    .map(|duration| Guard::Within {
                        duration,
                        since: since.value,
                    })
            }
            raw::Guard::ParentState(states) => match owner.parent {
                None => {
                    self.error_at(
                        at,
                        g,
                        element,
                        "parent_state needs a lifecycle with a parent",
                    );
                    None
                }
                Some(p) => Some(Guard::ParentState(
                    states
                        .iter()
                        .filter_map(|s| self.resolve_state(at, p, s, element))
                        .collect(),
                )),
            },
            raw::Guard::ParentEnteredUnder(rules) => {
                if owner.parent.is_none() {
                    self.error_at(
                        at,
                        g,
                        element,
                        "parent_entered_under needs a lifecycle with a parent",
                    );
                }
                let rules: Vec<RuleId> = rules
                    .iter()
                    .filter_map(|r| self.resolve_rule(at, r, element, None))
                    .collect();
                owner.parent.map(|_| Guard::ParentEnteredUnder(rules))
            }
            raw::Guard::Param { id, equals } => self
                .param_condition(at, id, equals, element)
                .map(|(param, equals)| Guard::Param { param, equals }),
        }
    }

    /// What a transition does besides changing the state: notifications it
    /// sends (only those sent on a transition) and refunds it makes.
    fn compile_effects(&mut self, at: At, t: &raw::Transition, element: &str) -> Vec<Effect> {
        let mut effects = Vec::new();
        for e in &t.effects {
            match &e.value {
                raw::Effect::Notify(n) => {
                    if let Some(n) = self.resolve_notification(at, n, element) {
                        if self.notifications[n.index()].trigger != NotificationTrigger::Transition
                        {
                            self.error_at(at, e, element, "only a notification with `on: transition` can be sent by a transition");
                        }
                        self.notification_used[n.index()] = true;
                        effects.push(Effect::Notify(n));
                    }
                }
                raw::Effect::Refund(f) => match self.lookup(at, f, element, "formula") {
                    Some(Item::Formula(f)) => effects.push(Effect::Refund(f)),
                    Some(_) => {
                        self.error_at(at, f, element, format!("`{}` is not a formula", f.value))
                    }
                    None => {}
                },
            }
        }
        effects
    }

    /// Where the reading leaves a timed transition's instant to the system:
    /// the earliest it may come, before the trigger's own duration.
    fn compile_open_from(
        &mut self,
        at: At,
        t: &raw::Transition,
        trigger: Option<&Trigger>,
        element: &str,
    ) -> Option<DurationExpr> {
        let text = t.open_from.as_ref()?;
        let earliest = self.duration_expr(at, text, element)?;
        let latest = match trigger {
            Some(Trigger::After { duration, .. }) => duration,
            Some(_) => {
                self.error_at(
                    at,
                    text,
                    element,
                    "open_from needs an `after` trigger: it opens the instant that trigger closes",
                );
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
                element,
                format!(
                    "open_from `{}` must come before the trigger's duration",
                    text.value
                ),
            );
        }
        Some(earliest)
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
}
