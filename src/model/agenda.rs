//! The agenda: the model's own scheduled actions (deduction attempts,
//! timed transitions, reminders) kept in time order with the history's
//! events, run up to an instant, and settled there; a timer re-planned when
//! what it waits for changes.

use super::*;

impl<'c> Model<'c> {
    pub(super) fn events_first(&self) -> bool {
        self.catalog
            .flag(self.catalog.ledger.events_before_system_actions)
    }

    pub(super) fn schedule(&mut self, due: DateTime<Utc>, what: Agendum) {
        self.sequence += 1;
        self.agenda.push(Reverse((due, self.sequence, what)));
    }

    /// Runs the system's scheduled actions due up to `until` (inclusive or
    /// not), in time order.
    pub(super) fn run_agenda(
        &mut self,
        until: DateTime<Utc>,
        inclusive: bool,
    ) -> Result<(), ModelError> {
        while let Some(Reverse((due, _, _))) = self.agenda.peek() {
            let due = *due;
            if due > until || (!inclusive && due == until) {
                break;
            }
            let Some(Reverse((_, _, what))) = self.agenda.pop() else {
                break;
            };
            self.spend()?;
            if due > self.now {
                self.now = due;
                self.steps_this_instant = 0;
            }
            match what {
                Agendum::Deduction { bill, attempt } => self.scheduled_deduction(bill, attempt)?,
                Agendum::Timer {
                    resource,
                    generation,
                } => self.timer(resource, generation)?,
                Agendum::Reminder {
                    resource,
                    generation,
                    notification,
                } => self.reminder(resource, generation, NotificationId(notification)),
            }
            self.settle_instant()?;
        }
        Ok(())
    }

    /// Processes everything the last step set off at this instant: signals,
    /// cascades to children, and the re-planning of timers.
    pub(super) fn settle_instant(&mut self) -> Result<(), ModelError> {
        loop {
            while let Some((r, stimulus)) = self.stimuli.pop_front() {
                self.steps_this_instant += 1;
                if self.steps_this_instant > MAX_STEPS_PER_INSTANT {
                    return Err(ModelError::Runaway {
                        at: self.now,
                        limit: MAX_STEPS_PER_INSTANT,
                    });
                }
                self.deliver(r, stimulus)?;
            }
            // In resource order, each once, as the timers have always been
            // planned (the agenda's tie-break is the order of planning).
            // Planning marks nothing dirty, so the list's buffer is reused.
            let mut dirty = std::mem::take(&mut self.dirty);
            dirty.sort_unstable();
            dirty.dedup();
            for &r in &dirty {
                self.plan_timer(r);
                self.plan_reminder(r);
            }
            dirty.clear();
            if self.dirty.is_empty() {
                self.dirty = dirty;
            }
            if self.stimuli.is_empty() {
                return Ok(());
            }
        }
    }

    /// Schedules the next timed transition of `r`, if any.
    ///
    /// A resource is re-planned whenever anything about it may have
    /// changed, and most of the time its next timer has not moved: then the
    /// entry already on the agenda stands, rather than being replaced by an
    /// identical one that leaves a stale entry behind to be popped.
    pub(super) fn plan_timer(&mut self, r: usize) {
        let due = if self.is_terminal(r) {
            None
        } else {
            self.next_timer(r).map(|d| d.max(self.now))
        };
        if due.is_some() && due == self.resources[r].timer_due {
            return;
        }
        let res = &mut self.resources[r];
        res.timer_generation += 1;
        res.timer_due = due;
        if let Some(due) = due {
            let generation = res.timer_generation;
            self.schedule(
                due,
                Agendum::Timer {
                    resource: r,
                    generation,
                },
            );
        }
    }

    /// The earliest instant a timed transition of `r` can fire: due in the
    /// future, or due now with its guards holding.
    pub(super) fn next_timer(&self, r: usize) -> Option<DateTime<Utc>> {
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        self.catalog.lookups().timed_from[res.lifecycle.index()][res.state.index()]
            .iter()
            .map(|i| &lc.transitions[*i])
            .filter(|t| self.static_guards_hold(&t.guards))
            .filter_map(|t| match &t.trigger {
                Trigger::After { duration, since } => {
                    let due = self.anchor(r, *since)? + self.catalog.duration(duration);
                    (due > self.now || self.guards_hold(r, &t.guards)).then_some(due)
                }
                _ => None,
            })
            .min()
    }

    pub(super) fn timer(&mut self, r: usize, generation: u64) -> Result<(), ModelError> {
        if self.resources[r].timer_generation != generation {
            return Ok(());
        }
        self.resources[r].timer_due = None;
        if self.is_terminal(r) {
            return Ok(());
        }
        let res = &self.resources[r];
        let lc = self.catalog.lifecycle(res.lifecycle);
        let mut best: Option<(DateTime<Utc>, usize)> = None;
        for &i in &self.catalog.lookups().timed_from[res.lifecycle.index()][res.state.index()] {
            let t = &lc.transitions[i];
            if let Trigger::After { duration, since } = &t.trigger {
                let Some(anchor) = self.anchor(r, *since) else {
                    continue;
                };
                let due = anchor + self.catalog.duration(duration);
                if due <= self.now
                    && self.guards_hold(r, &t.guards)
                    && best.is_none_or(|(d, _)| due < d)
                {
                    best = Some((due, i));
                }
            }
        }
        match best {
            Some((_, t)) => self.fire(r, t)?,
            None => {
                self.dirty.push(r);
            }
        }
        Ok(())
    }

    // ----- notifications -----------------------------------------------------------

    pub(super) fn plan_reminder(&mut self, r: usize) {
        let res = &self.resources[r];
        let Some(expiry) = res.expires_at else { return };
        if res.reminded_for == Some(expiry) || self.is_terminal(r) || self.now >= expiry {
            return;
        }
        let doc = res.doc.index();
        if self.reminders()[doc].is_empty() {
            return;
        }
        self.resources[r].reminder_generation += 1;
        let generation = self.resources[r].reminder_generation;
        for i in 0..self.reminders()[doc].len() {
            let (notification, lead) = self.reminders()[doc][i];
            let due = (expiry - lead).max(self.now);
            self.schedule(
                due,
                Agendum::Reminder {
                    resource: r,
                    generation,
                    notification,
                },
            );
        }
    }

    /// Per document, its reminders before an expiry: each notification's
    /// index and lead time. Worked out once per run rather than from the
    /// catalog's whole list every time a subscription is re-planned.
    fn reminders(&self) -> &[Vec<(u32, TimeDelta)>] {
        self.reminders.get_or_init(|| {
            let catalog = self.catalog;
            let mut by_doc = vec![Vec::new(); catalog.documents.len()];
            for (i, n) in catalog.notifications.iter().enumerate() {
                if let NotificationTrigger::BeforeExpiry(lead) = n.trigger {
                    by_doc[n.doc.index()].push((i as u32, catalog.duration_param(lead)));
                }
            }
            by_doc
        })
    }

    pub(super) fn reminder(&mut self, r: usize, generation: u64, n: NotificationId) {
        let res = &self.resources[r];
        if res.reminder_generation != generation || self.is_terminal(r) {
            return;
        }
        if let Some(expiry) = res.expires_at
            && self.now < expiry
        {
            self.resources[r].reminded_for = Some(expiry);
            self.notify(n, self.resources[r].account, Some(r));
        }
    }

    // ----- operations --------------------------------------------------------------
}
