//! `arrears fleet`: a fleet of accounts simulated through the reference
//! model (and optionally an implementation), its tallies, files and
//! verdict; `arrears fleet merge` combines shards' results.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arrears::exit;
use arrears::spec::Catalog;

use super::terminal::Terminal;
use super::{
    Done, Failure, Format, SutTimeouts, compile_catalog, load_catalog, note, parse_shard,
    read_sources, start_sut, to_json, unknown_product,
};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) action: Option<FleetAction>,
    /// Accounts in the whole fleet.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub(crate) accounts: u64,
    /// Simulated days.
    #[arg(long, default_value_t = 90, value_name = "D",
          value_parser = clap::value_parser!(u32).range(1..=arrears::fleet::MAX_DAYS as i64))]
    pub(crate) days: u32,
    /// The seed: account I of seed S is the same in every run, shard and thread count.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub(crate) seed: u64,
    /// Worker threads, and with --sut implementation processes (default:
    /// one per core).
    #[arg(long, visible_alias = "jobs", value_name = "T",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,
    /// Only these products of the mix (comma-separated spec document ids),
    /// in the mix's proportions among themselves.
    #[arg(long, value_delimiter = ',')]
    pub(crate) products: Vec<String>,
    /// The customer mix (YAML; `arrears schema mix`), instead of the
    /// default one (docs/fleet.md).
    #[arg(long, value_name = "FILE")]
    pub(crate) mix: Option<PathBuf>,
    /// Also write the result as JSON (what `arrears fleet merge` reads).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Run only shard K of N (the accounts whose index is K-1 modulo N).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub(crate) shard: Option<(u32, u32)>,
    /// Also draw the resources by product and state over the days as a
    /// stacked SVG chart.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<PathBuf>,
    /// Also write one row per account as Parquet (for DuckDB, Polars, Spark).
    #[arg(long, value_name = "FILE.parquet")]
    pub(crate) accounts_out: Option<PathBuf>,
    /// Also run every account through this implementation (a command
    /// speaking the adapter protocol; one process per thread) and compare
    /// it with the model at every simulated day's end.
    #[arg(long, value_name = "CMD")]
    pub(crate) sut: Option<String>,
    #[command(flatten)]
    pub(crate) timeouts: SutTimeouts,
    /// Instead of running the fleet, print account I's history (YAML, for
    /// `arrears timeline`), as drawn with the same --seed, --days and --mix.
    #[arg(long, value_name = "I")]
    pub(crate) replay_account: Option<u64>,
    /// Print the result as text or as the JSON that --json writes.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

#[derive(clap::Subcommand)]
pub(crate) enum FleetAction {
    /// Combine the --json results of a fleet's shards into the result of
    /// one run (refusing results of different fleets, specs or versions).
    Merge {
        /// The shards' results.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Also write the merged result as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Also draw the merged resources by state as an SVG chart.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Print the merged result as text or as JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

pub(crate) fn run(specs: Option<&Path>, args: Args, terminal: Terminal) -> Result<Done, Failure> {
    match args.action {
        Some(FleetAction::Merge {
            files,
            json,
            svg,
            format,
        }) => merge(specs, &files, json.as_deref(), svg.as_deref(), format),
        None => simulate(specs, args, terminal),
    }
}

/// The mix a fleet follows and the name it is reported under.
fn fleet_mix(
    catalog: &Catalog,
    args: &Args,
) -> Result<(arrears::fleet::mix::Mix, String), Failure> {
    use arrears::fleet::mix::Mix;
    let (mix, name) = match &args.mix {
        Some(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                usage!(
                    "failed to read the mix {name}: {}",
                    arrears::files::plain_io(&e)
                )
            })?;
            (
                Mix::from_text(&name, &text).map_err(|e| usage!("{e}"))?,
                name,
            )
        }
        None => (Mix::default_mix(), "default".to_string()),
    };
    mix.check(&name, catalog).map_err(|e| usage!("{e}"))?;
    let mix = if args.products.is_empty() {
        mix
    } else {
        for p in &args.products {
            if catalog.document_named(p).is_none() {
                return Err(unknown_product(catalog, p));
            }
        }
        mix.only(&name, &args.products).map_err(|e| usage!("{e}"))?
    };
    Ok((mix, name))
}

fn simulate(specs: Option<&Path>, args: Args, terminal: Terminal) -> Result<Done, Failure> {
    let sources = read_sources(specs)?;
    let catalog = compile_catalog(&sources)?;
    let (mix, mix_name) = fleet_mix(&catalog, &args)?;
    let options = arrears::fleet::FleetOptions {
        accounts: args.accounts,
        days: args.days,
        seed: args.seed,
        shard: args.shard,
        mix,
        mix_name,
        specs: arrears::fleet::specs_fingerprint(&sources),
        specs_dir: specs.map(|d| d.display().to_string()),
    };
    options.check().map_err(|e| usage!("{e}"))?;
    if let Some(index) = args.replay_account {
        return replay_account(&catalog, &options, index);
    }
    let pool = worker_pool(args.threads)?;
    let started = std::time::Instant::now();
    let driven = match &args.sut {
        Some(command) => Some(start_sut(&catalog, command, args.timeouts)?),
        None => None,
    };
    let fleet_sut = match &driven {
        Some(d) => Some(fleet_sut(&catalog, &options, d)?),
        None => None,
    };
    let result = run_fleet(
        &catalog,
        &options,
        &args,
        &terminal,
        &pool,
        fleet_sut.as_ref(),
    )?;
    let timing = arrears::fleet::report::Timing {
        elapsed: started.elapsed().as_secs_f64(),
        model_and_sut: fleet_sut.as_ref().map(|s| {
            let seconds = |n: &AtomicU64| n.load(Ordering::Relaxed) as f64 / 1e9;
            (seconds(&s.model_nanos), seconds(&s.sut_nanos))
        }),
    };
    let outputs = FleetOutputs {
        json: args.json.as_deref(),
        svg: args.svg.as_deref(),
        format: args.format,
    };
    fleet_output(&catalog, &result, Some(timing), outputs)
}

/// `--replay-account I`: that account's history, for `arrears timeline`.
fn replay_account(
    catalog: &arrears::Catalog,
    options: &arrears::fleet::FleetOptions,
    index: u64,
) -> Result<Done, Failure> {
    if index >= options.accounts {
        return Err(usage!(
            "failed to replay account {index}: the fleet has accounts 0 to {}",
            options.accounts.saturating_sub(1)
        ));
    }
    let menu = arrears::fleet::account::Menu::new(catalog, &options.mix);
    let account = menu.account(options.seed, index, options.days);
    let header = format!(
        "# account {index} of `arrears fleet --seed {} --days {}` (mix {}), {} payer\n",
        options.seed,
        options.days,
        options.mix_name,
        arrears::fleet::payer_name(account.payer)
    );
    Ok(Done::new(exit::OK, header + &account.history.to_yaml()))
}

/// The worker threads: `--threads`, or one per core.
fn worker_pool(threads: Option<u16>) -> Result<rayon::ThreadPool, Failure> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(usize::from(t));
    }
    builder
        .build()
        .map_err(|e| usage!("failed to start the worker threads: {e}"))
}

/// An implementation under test as the fleet drives it: the readings it
/// declared and the lifecycles it implements, which the mix must draw from.
fn fleet_sut<'d>(
    catalog: &arrears::Catalog,
    options: &arrears::fleet::FleetOptions,
    driven: &'d arrears::Driven<'static>,
) -> Result<arrears::fleet::FleetSut<'d>, Failure> {
    let declaration = driven.declaration();
    let references = arrears::verify::reference_catalogs(catalog, &declaration.readings)
        .map_err(|e| usage!("failed to run the fleet: {e}"))?;
    let lifecycles = arrears::verify::implemented_lifecycles(catalog, declaration);
    let menu =
        arrears::fleet::account::Menu::restricted(catalog, &options.mix, Some(lifecycles.clone()));
    if !menu.draws_anything() {
        return Err(usage!(
            "failed to run the fleet: `{}` implements none of the mix's products and billing methods",
            declaration.implementation
        ));
    }
    Ok(arrears::fleet::FleetSut {
        system: driven,
        name: declaration.implementation.clone(),
        references,
        sut_nanos: AtomicU64::new(0),
        model_nanos: AtomicU64::new(0),
        lifecycles,
    })
}

/// Runs the fleet on `pool`, with a progress bar on a terminal and the
/// rows of `--accounts-out` written as the accounts finish.
fn run_fleet(
    catalog: &arrears::Catalog,
    options: &arrears::fleet::FleetOptions,
    args: &Args,
    terminal: &Terminal,
    pool: &rayon::ThreadPool,
    fleet_sut: Option<&arrears::fleet::FleetSut<'_>>,
) -> Result<arrears::fleet::FleetResult, Failure> {
    let progress = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let total = {
        let (k, n) = options.shard.unwrap_or((1, 1));
        options
            .accounts
            .saturating_sub(u64::from(k - 1))
            .div_ceil(u64::from(n))
    };
    let result = std::thread::scope(|scope| {
        if terminal.shows_progress() {
            scope.spawn(|| {
                let display = terminal.progress();
                let bar = display.counted("simulating", total, "accounts");
                while !finished.load(Ordering::Relaxed) {
                    bar.set_position(progress.load(Ordering::Relaxed));
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                display.finish();
            });
        }
        let result = pool.install(|| {
            let mut writer = match &args.accounts_out {
                Some(path) => Some(arrears::fleet::rows::AccountsWriter::create(
                    path,
                    options.seed,
                )?),
                None => None,
            };
            let wants_rows = writer.is_some();
            let result = {
                let mut sink = |rows| match writer.as_mut() {
                    Some(w) => w.write(rows),
                    None => Ok(()),
                };
                arrears::fleet::run_with_rows(
                    catalog,
                    options,
                    &progress,
                    wants_rows.then_some(&mut sink as arrears::fleet::RowSink<'_, _>),
                    fleet_sut,
                )?
            };
            if let Some(w) = writer {
                w.finish()?;
            }
            Ok(result)
        });
        finished.store(true, Ordering::Relaxed);
        result
    });
    result.map_err(|e: arrears::fleet::rows::RowsError| usage!("{e}"))
}

/// Where a fleet result goes.
struct FleetOutputs<'a> {
    json: Option<&'a Path>,
    svg: Option<&'a Path>,
    format: Format,
}

/// Writes a fleet result (the files first) and its verdict.
fn fleet_output(
    catalog: &Catalog,
    result: &arrears::fleet::FleetResult,
    timing: Option<arrears::fleet::report::Timing>,
    outputs: FleetOutputs<'_>,
) -> Result<Done, Failure> {
    let text = to_json(result)? + "\n";
    if let Some(path) = outputs.json {
        arrears::files::write_atomic(path, text.as_bytes()).map_err(|e| usage!("{e}"))?;
    }
    if let Some(path) = outputs.svg {
        let picture = arrears::fleet::chart::render(catalog, result);
        arrears::files::write_atomic(path, picture.as_bytes()).map_err(|e| usage!("{e}"))?;
    }
    let format = outputs.format;
    let t = &result.tally;
    let sut_failed = t
        .sut
        .as_ref()
        .is_some_and(|s| s.diverging > 0 || s.refused > 0);
    let code = if t.sut.as_ref().is_some_and(|s| s.protocol_error.is_some()) {
        exit::PROTOCOL
    } else if t.accounts == 0 {
        exit::NOTHING_VERIFIED
    } else if t.accounts_violating > 0 || !t.model_errors.is_empty() || sut_failed {
        exit::FAILURE
    } else {
        exit::OK
    };
    let stdout = match format {
        Format::Json => text,
        Format::Text => arrears::fleet::report::summary(result, timing),
    };
    Ok(Done::new(code, stdout))
}

fn merge(
    specs: Option<&Path>,
    files: &[PathBuf],
    json: Option<&Path>,
    svg: Option<&Path>,
    format: Format,
) -> Result<Done, Failure> {
    let mut results = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage!(
                "failed to read the fleet result {name}: {}",
                arrears::files::plain_io(&e)
            )
        })?;
        results
            .push(arrears::fleet::FleetResult::from_json(&name, &text).map_err(|e| usage!("{e}"))?);
    }
    let merged = arrears::fleet::FleetResult::merge(&results).map_err(|e| usage!("{e}"))?;
    if !merged.complete() {
        let missing: Vec<String> = (1..=merged.shard_count)
            .filter(|k| !merged.shards.contains(k))
            .map(|k| format!("{k}/{}", merged.shard_count))
            .collect();
        note(&format!(
            "warning: the merged result lacks shards {}; its totals are of part of the fleet",
            missing.join(", ")
        ));
    }
    let catalog = load_catalog(specs)?;
    fleet_output(&catalog, &merged, None, FleetOutputs { json, svg, format })
}
