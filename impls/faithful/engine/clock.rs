//! The stepped clock: what falls due next, carrying out a timed action,
//! and moving time forward in steps of at most [`STEP`].

use chrono::{DateTime, Utc};

use super::{Due, Engine, STEP};
use crate::vocab::Timed;

impl Engine {
    /// The next action due by `bound` (before it, if `strict`), with the
    /// instant it runs at: the earliest, and among equals the one planned
    /// first.
    pub(super) fn next_due(
        &self,
        bound: DateTime<Utc>,
        strict: bool,
    ) -> Option<(DateTime<Utc>, Due)> {
        let within = |t: DateTime<Utc>| if strict { t < bound } else { t <= bound };
        let mut best: Option<(DateTime<Utc>, u64, Due)> = None;
        let mut consider = |t: DateTime<Utc>, s: u64, d: Due| {
            if within(t) && best.is_none_or(|(bt, bs, _)| (t, s) < (bt, bs)) {
                best = Some((t, s, d));
            }
        };
        for (b, bill) in self.bills.iter().enumerate() {
            if let Some((due, s)) = bill.next {
                consider(due.max(self.now), s, Due::Deduction(b));
            }
        }
        for r in 0..self.resources.len() {
            if let Some((t, _)) = self.earliest_timer(r) {
                consider(t, self.resources[r].planned, Due::Timer(r));
            }
        }
        best.map(|(t, _, d)| (t, d))
    }

    /// Carries out the resource's earliest timed action, due now.
    pub(super) fn fire(&mut self, r: usize) {
        let Some((_, timed)) = self.earliest_timer(r) else {
            return;
        };
        match timed {
            Timed::Transition(t) => self.transition(r, t),
            Timed::ExpiryReminder => {
                // "The system sends you reminder notifications by email or
                // text message."
                let account = self.resources[r].account;
                self.notify(
                    account,
                    Some(r),
                    ("flink.notify.expiry-reminder", "flink.expiry.reminders"),
                );
                self.resources[r].reminded_for = self.resources[r].expires_at;
            }
        }
    }

    /// Moves the clock to `limit` in steps of at most [`STEP`], carrying out
    /// at its own instant everything that falls due on the way: up to and
    /// including `limit`, or only before it (`strict`, before an event).
    pub(super) fn run_until(&mut self, limit: DateTime<Utc>, strict: bool) {
        if limit < self.now {
            return;
        }
        loop {
            let step_end = (self.now + STEP).min(limit);
            let last = step_end == limit;
            while let Some((at, due)) = self.next_due(step_end, last && strict) {
                self.now = self.now.max(at);
                match due {
                    Due::Deduction(b) => self.deduct(b),
                    Due::Timer(r) => {
                        self.fire(r);
                        self.resource_changed(r);
                    }
                }
                self.replan_changed();
            }
            self.now = step_end;
            if last {
                return;
            }
        }
    }
}
