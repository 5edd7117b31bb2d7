//! Whole histories run through the model: loaded, their events applied
//! in time order, the clock advanced between them, and the model observed
//! at the instants asked for (and, for [`run_observing_events`], at every
//! instant it acts), into a [`Trace`].

use super::*;

/// Runs a whole history through the model, observing at `observe_at` (and
/// at the history's own `observe` instants).
pub fn run(
    catalog: &Catalog,
    history: &History,
    observe_at: &[Offset],
) -> Result<Trace, ModelError> {
    history.validate(catalog)?;
    let mut model = Model::new(catalog, history)?;
    let mut instants: Vec<Offset> = observe_at.iter().chain(&history.observe).copied().collect();
    instants.sort();
    instants.dedup();
    let mut observations = Vec::new();
    let mut pending = instants.into_iter().peekable();
    for event in &history.events {
        while let Some(o) = pending.next_if(|o| *o < event.at()) {
            model.advance_to(o.at(history.start))?;
            observations.push(model.observe());
        }
        model.apply(event)?;
    }
    for o in pending {
        model.advance_to(o.at(history.start))?;
        observations.push(model.observe());
    }
    model.advance_to(history.end().at(history.start))?;
    Ok(Trace {
        events: model.take_events(),
        observations,
    })
}

/// Runs a whole history through the model until `until` (the history's
/// end when `None`), observing at `observe_at`, at the history's own
/// `observe` instants, and at every instant the model logs an event.
///
/// This is what [`run`] observes when it is given the instants of a first
/// run's events, done in one run: the model's events do not depend on when
/// it is observed, and the clock stops at every instant something is due,
/// so each state the log announces is observed before the next one
/// replaces it. Instants to observe after `until` are not observed (a
/// caller that needs them runs [`run`]).
pub fn run_observing_events(
    catalog: &Catalog,
    history: &History,
    observe_at: &[Offset],
    until: Option<Offset>,
) -> Result<Trace, ModelError> {
    history.validate(catalog)?;
    run_observing_validated(catalog, history, observe_at, until)
}

/// [`run_observing_events`] on a history the caller has already validated
/// against `catalog` (the fleet validates each account once, and gives the
/// checks the lifecycles validation resolved).
pub(crate) fn run_observing_validated(
    catalog: &Catalog,
    history: &History,
    observe_at: &[Offset],
    until: Option<Offset>,
) -> Result<Trace, ModelError> {
    run_observing_with(catalog, history, observe_at, until, Model::observe)
}

/// [`run_observing_validated`], observing through `observe` (a test
/// compares what the model hands on with what it would build afresh).
fn run_observing_with<'c>(
    catalog: &'c Catalog,
    history: &History,
    observe_at: &[Offset],
    until: Option<Offset>,
    mut observe: impl FnMut(&Model<'c>) -> Observation,
) -> Result<Trace, ModelError> {
    let mut model = Model::new(catalog, history)?;
    let start = history.start;
    let end = until.unwrap_or_else(|| history.end()).at(start);
    let mut instants: Vec<DateTime<Utc>> = observe_at
        .iter()
        .chain(&history.observe)
        .map(|o| o.at(start))
        .collect();
    instants.sort();
    instants.dedup();
    let mut instants = instants.into_iter().peekable();
    // Each event's instant, worked out once rather than at every step.
    let mut events = history
        .events
        .iter()
        .map(|e| (e.at().at(start), e))
        .peekable();
    let mut observations = Vec::new();
    // Loading the history may already log events (at its start).
    let mut logged = 0;
    loop {
        let next_event = events.peek().map(|(at, _)| *at);
        let unobserved = (model.log_len() > logged).then_some(model.now);
        let candidates = [
            unobserved,
            instants.peek().copied(),
            next_event,
            model.next_due(),
        ];
        let Some(t) = candidates.into_iter().flatten().min().filter(|t| *t <= end) else {
            break;
        };
        while let Some((_, e)) = events.next_if(|(at, _)| *at == t) {
            model.apply(e)?;
        }
        model.advance_to(t)?;
        let asked = instants.next_if_eq(&t).is_some();
        if asked || model.log_len() > logged {
            logged = model.log_len();
            observations.push(observe(&model));
        }
    }
    model.advance_to(end)?;
    Ok(Trace {
        events: model.take_events(),
        observations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An observation handed on is the one the model would build afresh:
    /// at every instant of many generated accounts' runs, the model's
    /// observation equals a copy's with nothing remembered.
    #[test]
    fn observations_handed_on_equal_observations_built_afresh() {
        let catalog = crate::spec::compile(&crate::spec::sources::embedded()).unwrap();
        let menu =
            crate::fleet::account::Menu::new(&catalog, &crate::fleet::mix::Mix::default_mix());
        let day_ends: Vec<Offset> = (1..=60).map(|d| Offset(TimeDelta::days(d))).collect();
        let (mut observed, mut handed_on) = (0, 0);
        for index in 0..150 {
            let history = menu.account(11, index, 60).history;
            history.validate(&catalog).unwrap();
            let mut previous: Option<Observation> = None;
            run_observing_with(&catalog, &history, &day_ends, None, |model| {
                let fresh = model.clone();
                fresh.observed.borrow_mut().clear();
                fresh.listed_bills.borrow_mut().clear();
                fresh.fixed_verdicts.borrow_mut().clear();
                let expected = fresh.observe();
                let seen = model.observe();
                assert_eq!(seen, expected, "account {index} at {}", seen.at);
                for (r, o) in seen.resources.iter().enumerate() {
                    observed += 1;
                    let last = previous.as_ref().and_then(|p| p.resources.get(r));
                    handed_on += usize::from(last.is_some_and(|l| Arc::ptr_eq(l, o)));
                }
                previous = Some(seen.clone());
                seen
            })
            .unwrap();
        }
        // Not vacuous: most resources are at rest most of the time.
        assert!(
            handed_on * 2 > observed,
            "{handed_on} of {observed} handed on"
        );
    }
}
