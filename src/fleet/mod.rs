//! `arrears fleet`: many simulated accounts run through the reference model,
//! each checked against every invariant, folded into per-day tallies.
//!
//! A fleet is a benchmark and a very large property test at once. Account
//! `i` of a run seeded `s` is drawn from its own random stream
//! ([`account::Menu::account`]), run alone through the model (observed at
//! the end of each simulated day and at every instant the model acts, as
//! `verify` observes), judged by every invariant, and folded into a
//! [`tally::Tally`]. Tallies are sums, so the result is the same for any
//! thread count, and shards (`K/N`: the accounts whose index is K-1 modulo
//! N) merge into exactly the result of one run ([`FleetResult::merge`]).
//!
//! The result ([`FleetResult`]) carries what it was computed from — seed,
//! days, fleet size, mix, a fingerprint of the specs, the arrears version —
//! so a merge of results that do not belong together is refused rather
//! than summed into a wrong total.

pub mod account;
pub mod chart;
mod fold;
mod merge;
pub mod mix;
pub mod report;
pub mod rows;
pub mod tally;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::history::{History, Offset};
use crate::model::ModelError;
use crate::observation::{Observation, Trace};
use crate::spec::{Catalog, LifecycleId, SpecSource};
use account::Menu;
use mix::Mix;
use tally::{AccountRow, AccountRun, Classifier, FleetError, FleetViolation, Tally};

/// The version of the JSON result format; a merge refuses other versions.
pub const FORMAT_VERSION: u32 = 1;

/// The most days a fleet may simulate (ten years).
pub const MAX_DAYS: u32 = 3_660;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Accounts in the whole fleet (all shards).
    pub accounts: u64,
    pub days: u32,
    pub seed: u64,
    /// Run only shard K of N (1-based K).
    pub shard: Option<(u32, u32)>,
    pub mix: Mix,
    /// Where the mix came from (`default` or the file), for the result.
    pub mix_name: String,
    /// [`specs_fingerprint`] of the specs the catalog was compiled from.
    pub specs: String,
    /// The directory the specs were read from (`--specs`), if not the
    /// embedded copy: replay commands name it.
    pub specs_dir: Option<String>,
}

/// A fleet run's result: what it was computed from, and its tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetResult {
    pub format_version: u32,
    /// The arrears version that computed it.
    pub arrears_version: String,
    /// A fingerprint of the specs' text.
    pub specs: String,
    /// Where the specs were read from (`--specs`), if not the embedded
    /// copy (not compared by a merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specs_dir: Option<String>,
    pub seed: u64,
    pub days: u32,
    /// Accounts in the whole fleet.
    pub fleet_accounts: u64,
    /// How many shards the fleet was split into (1: not split).
    pub shard_count: u32,
    /// The shards (1-based) this result holds.
    pub shards: Vec<u32>,
    pub mix: Mix,
    /// Where the mix came from: `default`, or the file as it was named
    /// (not compared by a merge: shards may name one file differently).
    pub mix_name: String,
    pub start: DateTime<Utc>,
    pub tally: Tally,
}

/// Why results cannot be merged, or a fleet cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FleetUsageError {
    #[error("failed to merge fleet results: {0}")]
    Merge(String),
    #[error("{0}")]
    Options(String),
}

/// A fingerprint of spec sources: FNV-1a over their names and texts, in
/// order. It tells results of different specs apart; it is no defence
/// against a forger.
pub fn specs_fingerprint(sources: &[SpecSource]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for s in sources {
        for byte in s.name.bytes().chain([0]).chain(s.text.bytes()).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("fnv1a64:{hash:016x}")
}

impl FleetOptions {
    /// Checks the sizes and the shard before anything runs.
    pub fn check(&self) -> Result<(), FleetUsageError> {
        if self.days == 0 || self.days > MAX_DAYS {
            return Err(FleetUsageError::Options(format!(
                "failed to simulate {} days: a fleet runs 1 to {MAX_DAYS} days",
                self.days
            )));
        }
        if let Some((k, n)) = self.shard {
            if k == 0 || n == 0 || k > n {
                return Err(FleetUsageError::Options(format!(
                    "failed to run shard {k}/{n}: K must be between 1 and N"
                )));
            }
            if u64::from(n) > self.accounts.max(1) {
                return Err(FleetUsageError::Options(format!(
                    "failed to run shard {k}/{n}: {} accounts cannot be split into {n} shards",
                    self.accounts
                )));
            }
        }
        Ok(())
    }

    /// How many accounts this run (this shard) simulates.
    pub fn shard_accounts(&self) -> u64 {
        let (k, n) = self.shard.unwrap_or((1, 1));
        self.accounts
            .saturating_sub(u64::from(k - 1))
            .div_ceil(u64::from(n))
    }
}

/// Accounts run between two hand-overs of rows to a sink: bounds the
/// memory rows take (about 200 bytes each) whatever the fleet's size.
const BLOCK: u64 = 1 << 16;

/// An implementation under test a fleet also runs every account through,
/// comparing its observations with the model's at every day's end.
pub struct FleetSut<'s> {
    pub system: &'s dyn crate::verify::System,
    /// How the implementation names itself.
    pub name: String,
    /// The model's catalogs for the comparison: its declared readings, or
    /// the chosen reading and every accepted one.
    pub references: Vec<Catalog>,
    /// Nanoseconds spent in the implementation and in the model, summed
    /// over threads: for the throughput line, never for the result.
    pub sut_nanos: AtomicU64,
    pub model_nanos: AtomicU64,
    /// The lifecycles it implements: the only ones its accounts hold.
    pub lifecycles: BTreeSet<crate::spec::LifecycleId>,
}

/// Runs the fleet on the current rayon pool; `progress` counts accounts as
/// they finish.
pub fn run(catalog: &Catalog, options: &FleetOptions, progress: &AtomicU64) -> FleetResult {
    let outcome: Result<FleetResult, std::convert::Infallible> =
        run_with_rows(catalog, options, progress, None, None);
    match outcome {
        Ok(result) => result,
    }
}

/// What receives the accounts' rows, in account order, a block at a time.
pub type RowSink<'s, E> = &'s mut dyn FnMut(Vec<AccountRow>) -> Result<(), E>;

/// Runs the fleet, handing each account's row to `rows` (in account
/// order) if given; stops at the sink's first error.
pub fn run_with_rows<E>(
    catalog: &Catalog,
    options: &FleetOptions,
    progress: &AtomicU64,
    mut rows: Option<RowSink<'_, E>>,
    sut: Option<&FleetSut<'_>>,
) -> Result<FleetResult, E> {
    let menu = match sut {
        Some(s) => Menu::restricted(catalog, &options.mix, Some(s.lifecycles.clone())),
        None => Menu::new(catalog, &options.mix),
    };
    let references = catalog.reading_variants();
    let classifier = Classifier::new(catalog);
    let days = options.days;
    let (k, n) = options.shard.unwrap_or((1, 1));
    let (first, step) = (u64::from(k - 1), u64::from(n));
    let count = options.shard_accounts();
    let want_rows = rows.is_some();
    let mut total = Tally::new(days);
    let mut lo = 0;
    while lo < count {
        let hi = (lo + BLOCK).min(count);
        let empty = || (Tally::new(days), Vec::new());
        let (tally, mut block_rows) = (lo..hi)
            .into_par_iter()
            .map(|j| first + j * step)
            .fold(empty, |(mut tally, mut block_rows), index| {
                let context = AccountContext {
                    catalog,
                    references: &references,
                    classifier: &classifier,
                    menu: &menu,
                    options,
                    sut,
                };
                let row = add_account(&mut tally, &context, index);
                if want_rows {
                    block_rows.push(row);
                }
                progress.fetch_add(1, Ordering::Relaxed);
                (tally, block_rows)
            })
            .reduce(empty, |(mut a, mut a_rows), (b, b_rows)| {
                a.merge(&b);
                a_rows.extend(b_rows);
                (a, a_rows)
            });
        total.merge(&tally);
        if let Some(sink) = rows.as_mut() {
            block_rows.sort_by_key(|r| r.account);
            sink(block_rows)?;
        }
        lo = hi;
    }
    Ok(FleetResult {
        format_version: FORMAT_VERSION,
        arrears_version: env!("CARGO_PKG_VERSION").to_string(),
        specs: options.specs.clone(),
        specs_dir: options.specs_dir.clone(),
        seed: options.seed,
        days,
        fleet_accounts: options.accounts,
        shard_count: n,
        shards: vec![k],
        mix: options.mix.clone(),
        mix_name: options.mix_name.clone(),
        start: menu.account(options.seed, 0, 1).history.start,
        tally: total,
    })
}

/// What every account of a run shares.
struct AccountContext<'a> {
    catalog: &'a Catalog,
    references: &'a [Catalog],
    classifier: &'a Classifier,
    menu: &'a Menu,
    options: &'a FleetOptions,
    sut: Option<&'a FleetSut<'a>>,
}

/// Draws, runs, checks and tallies account `index`; returns its row.
fn add_account(tally: &mut Tally, context: &AccountContext<'_>, index: u64) -> AccountRow {
    let AccountContext {
        catalog,
        references,
        classifier,
        menu,
        options,
        sut,
    } = *context;
    let started = std::time::Instant::now();
    let account = menu.account(options.seed, index, options.days);
    let history = &account.history;
    let payer = payer_name(account.payer);
    *tally.payers.entry(payer.to_string()).or_default() += 1;
    tally.resources += history.resources.len() as u64;
    tally.history_events += history.events.len() as u64;
    let mut row = AccountRow {
        account: index,
        payer,
        resources: history.resources.len() as u64,
        history_events: history.events.len() as u64,
        ..AccountRow::default()
    };
    // Validated once: the model runs it, and the checks read the
    // lifecycles validation resolved.
    let run = history
        .validate(catalog)
        .map_err(ModelError::from)
        .and_then(|resolved| {
            let lifecycles: HashMap<String, LifecycleId> = resolved
                .into_iter()
                .map(|(id, r)| (id, r.lifecycle))
                .collect();
            observed_validated_run(catalog, history, options.days).map(|run| (run, lifecycles))
        });
    let ((trace, day_ends), lifecycles) = match run {
        Ok(run) => run,
        Err(e) => {
            tally.accounts += 1;
            tally.model_errors.push(FleetError {
                account: index,
                seed: options.seed,
                message: e.to_string(),
            });
            row.model_error = true;
            return row;
        }
    };
    let day_end_observations: Vec<&Observation> =
        day_ends.iter().map(|i| &trace.observations[*i]).collect();
    tally.add_account(
        classifier,
        &AccountRun {
            start: history.start,
            days: options.days,
            trace: &trace,
            day_ends: &day_end_observations,
        },
        &mut row,
    );
    let indexed = crate::check::TraceIndex::with_lifecycles(history, &trace, &lifecycles);
    let evaluations = crate::check::check_index(catalog, references, &indexed, None);
    record_evaluations(tally, catalog, &evaluations, index, options.seed, &mut row);
    tally.accounts_violating += u64::from(row.violations > 0);
    if tally.violations.len() > 4 * tally::VIOLATION_SAMPLE {
        tally
            .violations
            .sort_by(|x, y| (x.account, &x.invariant).cmp(&(y.account, &y.invariant)));
        tally.violations.truncate(tally::VIOLATION_SAMPLE);
    }
    if let Some(sut) = sut {
        let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        sut.model_nanos
            .fetch_add(nanos(started.elapsed()), Ordering::Relaxed);
        compare_with_sut(tally, catalog, sut, options, history, index);
    }
    row
}

/// Counts each invariant's verdict on one account, and keeps its
/// violations with the account's index and seed.
fn record_evaluations(
    tally: &mut Tally,
    catalog: &Catalog,
    evaluations: &[crate::check::Evaluation],
    index: u64,
    seed: u64,
    row: &mut AccountRow,
) {
    for e in evaluations {
        let inv = tally::counter(
            &mut tally.invariants,
            &catalog.invariants[e.invariant.index()].id,
        );
        inv.applicable += u64::from(e.applicable);
        inv.exercised += u64::from(e.exercised);
        if let Some(v) = &e.violation {
            inv.violated += 1;
            row.violations += 1;
            tally.violations.push(FleetViolation {
                account: index,
                seed,
                invariant: v.invariant.clone(),
                rules: v.rules.clone(),
                resource: v.resource.clone(),
                at: v.at,
                message: v.message.clone(),
            });
        }
    }
}

/// Runs account `index` through the implementation under test, observing
/// at every day's end, and compares it with the model there.
fn compare_with_sut(
    tally: &mut Tally,
    judge: &Catalog,
    sut: &FleetSut<'_>,
    options: &FleetOptions,
    history: &History,
    index: u64,
) {
    let record = tally.sut.get_or_insert_with(|| tally::SutTally {
        implementation: sut.name.clone(),
        ..tally::SutTally::default()
    });
    let instants: Vec<crate::history::Offset> = (1..=i64::from(options.days))
        .map(|d| crate::history::Offset(TimeDelta::days(d)))
        .collect();
    let started = std::time::Instant::now();
    let outcome = sut.system.run(history, &instants);
    sut.sut_nanos.fetch_add(
        u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    let disagreement = |at, message: String, rules: Vec<String>| tally::SutDisagreement {
        account: index,
        seed: options.seed,
        at,
        message,
        rules,
    };
    let trace = match outcome {
        Ok(trace) => trace,
        Err(e) if e.kind == crate::verify::SystemErrorKind::Protocol => {
            let error = FleetError {
                account: index,
                seed: options.seed,
                message: e.message,
            };
            if record
                .protocol_error
                .as_ref()
                .is_none_or(|mine| index < mine.account)
            {
                record.protocol_error = Some(error);
            }
            return;
        }
        Err(e) => {
            record.refused += 1;
            record.disagreements.push(disagreement(
                None,
                format!("refused the account: {e}"),
                Vec::new(),
            ));
            return;
        }
    };
    record.accounts += 1;
    if let Some(d) = unexplained_divergence(judge, sut, history, &instants, &trace) {
        record.diverging += 1;
        record
            .disagreements
            .push(disagreement(Some(d.at), d.to_string(), d.rules.clone()));
    }
    if record.disagreements.len() > 4 * tally::VIOLATION_SAMPLE {
        record.disagreements.sort_by_key(|d| d.account);
        record.disagreements.truncate(tally::VIOLATION_SAMPLE);
    }
}

/// How the implementation's trace departs from the model's, unless the
/// model under some accepted reading explains it. The model under another
/// reading runs only when the ones before it do not explain the trace, as
/// verify does; the first reading's divergence is the one reported.
fn unexplained_divergence(
    judge: &Catalog,
    sut: &FleetSut<'_>,
    history: &History,
    instants: &[crate::history::Offset],
    trace: &Trace,
) -> Option<crate::compare::Divergence> {
    let mut first = None;
    for reference in &sut.references {
        let Ok(expected) = crate::model::run(reference, history, instants) else {
            continue;
        };
        let expected = crate::compare::Reference::new(reference, expected);
        match crate::compare::compare(judge, std::slice::from_ref(&expected), trace) {
            None => return None,
            Some(d) => {
                first.get_or_insert(d);
            }
        }
    }
    first
}

/// How a payment behaviour is named in results.
pub fn payer_name(payer: crate::generate::Payer) -> &'static str {
    match payer {
        crate::generate::Payer::OnTime => "on-time",
        crate::generate::Payer::Late => "late",
        crate::generate::Payer::Never => "never",
    }
}

/// Runs one account's history through the model, observing at the end of
/// every simulated day and at every instant the model logs an event (what
/// `verify` observes). Returns the trace and the indexes of the day-end
/// observations.
pub fn observed_run(
    catalog: &Catalog,
    history: &History,
    days: u32,
) -> Result<(Trace, Vec<usize>), ModelError> {
    history.validate(catalog)?;
    observed_validated_run(catalog, history, days)
}

/// [`observed_run`] of a history already validated against `catalog`.
fn observed_validated_run(
    catalog: &Catalog,
    history: &History,
    days: u32,
) -> Result<(Trace, Vec<usize>), ModelError> {
    let day_ends: Vec<Offset> = (1..=i64::from(days))
        .map(|d| Offset(TimeDelta::days(d)))
        .collect();
    let until = Offset(TimeDelta::days(i64::from(days)));
    let trace = crate::model::run_observing_validated(catalog, history, &day_ends, Some(until))?;
    let mut pending = day_ends.iter().map(|o| o.at(history.start)).peekable();
    let indexes = trace
        .observations
        .iter()
        .enumerate()
        .filter_map(|(i, o)| pending.next_if_eq(&o.at).map(|_| i))
        .collect();
    Ok((trace, indexes))
}
