//! `arrears verify`: generated histories through the reference model or an
//! implementation under test, every invariant checked; the report, its
//! files (JUnit, JSON, coverage, counterexamples, regressions) and the
//! summary line.

use std::path::{Path, PathBuf};

use arrears::exit;

use super::terminal::Terminal;
use super::{
    Done, Failure, Format, SutTimeouts, load_catalog, note, note_error, parse_shard, start_sut,
    to_json, unknown_product,
};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// How many histories to generate.
    #[arg(long, default_value_t = 512)]
    pub(crate) cases: u32,
    /// The seed of the generator: the same seed gives the same report.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Only these products (comma-separated spec document ids).
    #[arg(long, value_delimiter = ',')]
    pub(crate) products: Vec<String>,
    /// The most events a generated history holds.
    #[arg(long, default_value_t = 24)]
    pub(crate) max_events: usize,
    /// Print the report as text or as JSON (what --json writes).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// The implementation under test: a command speaking the adapter
    /// protocol (docs/protocol.md), run with `sh -c` in a process group of
    /// its own. Without it, the reference model itself is checked.
    #[arg(long, value_name = "CMD")]
    pub(crate) sut: Option<String>,
    #[command(flatten)]
    pub(crate) timeouts: SutTimeouts,
    /// Run only shard K of N (a deterministic split of the cases).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub(crate) shard: Option<(u32, u32)>,
    /// Also write the report as JUnit XML (one test case per invariant).
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Also write the report as Markdown, for a CI job's summary page
    /// (e.g. `--markdown "$GITHUB_STEP_SUMMARY"`); the file is replaced.
    #[arg(long, value_name = "FILE")]
    pub(crate) markdown: Option<PathBuf>,
    /// Where to write each counterexample's replay file and timelines
    /// (replacing those an earlier run wrote there).
    #[arg(long, value_name = "DIR", default_value = "arrears-out")]
    pub(crate) out: PathBuf,
    /// Histories that failed before: run them first, and add new
    /// counterexamples to the file (safe for runs sharing it).
    #[arg(long, value_name = "FILE")]
    pub(crate) regressions: Option<PathBuf>,
    /// The coverage gate: fail (exit 5) unless every invariant is
    /// exercised in at least K cases (and every enforced rule and every
    /// transition the readings in force allow at least once).
    #[arg(long, value_name = "K", default_value_t = arrears::verify::DEFAULT_MIN_EXERCISED)]
    pub(crate) min_exercised: usize,
    /// Report what the run left unexercised without failing on it (for
    /// quick exploratory runs of a few cases).
    #[arg(long)]
    pub(crate) no_coverage_gate: bool,
    /// Also write the per-rule, per-transition and per-invariant case
    /// counts and the gate's verdict as JSON, for CI dashboards.
    #[arg(long, value_name = "FILE")]
    pub(crate) coverage_report: Option<PathBuf>,
    /// Print the whole rule-coverage table (every enforced rule and the
    /// cases that exercised it), not only the rules left unexercised.
    /// The JSON report always holds it.
    #[arg(long)]
    pub(crate) coverage: bool,
    /// Judge the implementation by the invariants alone, without
    /// comparing its observations with the reference model's.
    #[arg(long)]
    pub(crate) no_compare: bool,
}

pub(crate) fn run(specs: Option<&Path>, args: Args, terminal: Terminal) -> Result<Done, Failure> {
    let catalog = &load_catalog(specs)?;
    let started = std::time::Instant::now();
    let progress = terminal.progress();
    let mut options = options(catalog, &args)?;
    options.watch = arrears::progress::Watch::new(progress.watcher());
    let model = arrears::verify::ReferenceModel { catalog };
    let sut = args
        .sut
        .as_deref()
        .map(|command| start_declared(catalog, command, &args, &mut options));
    // An implementation that fails its handshake still gets a report (and
    // the files asked for), saying so.
    let report = match &sut {
        None => arrears::verify::verify(catalog, &model, &options),
        Some(Ok(driven)) => arrears::verify::verify(catalog, driven, &options),
        Some(Err((name, error))) => {
            arrears::verify::VerifyReport::broken(catalog, &options, name.clone(), error.clone())
        }
    };
    let system: &dyn arrears::verify::System = match &sut {
        Some(Ok(driven)) => driven,
        _ => &model,
    };
    progress.finish();
    let elapsed = started.elapsed();

    let unwritten = write_files(catalog, system, &report, &options, &args)?;
    if let Some(e) = &report.protocol_error {
        note_error(&e.to_string());
    }
    for e in &unwritten {
        note_error(e);
    }
    let text = render(catalog, &report, &args, elapsed, &terminal)?;
    let mut code = report.exit_code();
    if code == exit::OK && !unwritten.is_empty() {
        code = exit::USAGE;
    }
    Ok(Done::new(code, text))
}

/// The run's options from the command line, the regressions file read.
fn options(
    catalog: &arrears::Catalog,
    args: &Args,
) -> Result<arrears::verify::VerifyOptions, Failure> {
    let mut options = arrears::verify::VerifyOptions::new(catalog);
    options.cases = args.cases;
    options.seed = args.seed;
    options.max_events = args.max_events;
    if !args.products.is_empty() {
        options.products = args
            .products
            .iter()
            .map(|p| {
                catalog
                    .document_named(p)
                    .ok_or_else(|| unknown_product(catalog, p))
            })
            .collect::<Result<_, _>>()?;
    }
    options.shard = args.shard;
    options.min_exercised = args.min_exercised;
    options.coverage_gate = !args.no_coverage_gate;
    // Read the regressions before starting anything: a bad file is a usage
    // error, found before a child process is spawned.
    let known = match &args.regressions {
        Some(path) => arrears::replay::RegressionsFile::read(path)
            .map_err(|e| usage!("failed to read the regressions: {e}"))?,
        None => arrears::replay::RegressionsFile::default(),
    };
    options.regressions = known.regressions();
    Ok(options)
}

/// Starts the implementation `command` and takes what it declared in hello
/// (the lifecycles it implements, its readings) into `options`; on a
/// failed handshake, its name and what went wrong.
fn start_declared(
    catalog: &arrears::Catalog,
    command: &str,
    args: &Args,
    options: &mut arrears::verify::VerifyOptions,
) -> Result<arrears::Driven<'static>, (String, String)> {
    let started = start_sut(catalog, command, args.timeouts).and_then(|d| {
        arrears::verify::reference_catalogs(catalog, &d.declaration().readings)
            .map_err(|e| Failure::protocol(format!("the implementation declared {e}")))?;
        Ok(d)
    });
    match started {
        Ok(driven) => {
            let declaration = driven.declaration();
            options.implemented = Some(arrears::verify::implemented_lifecycles(
                catalog,
                declaration,
            ));
            options.readings = declaration.readings.clone();
            options.compare = !args.no_compare;
            Ok(driven)
        }
        Err(failure) => Err((format!("`{command}`"), format!("{:#}", failure.error))),
    }
}

/// Writes the files asked for, each on its own: one that cannot be written
/// is reported (returned) and does not stop the others, nor hide the
/// verdict.
fn write_files(
    catalog: &arrears::Catalog,
    system: &dyn arrears::verify::System,
    report: &arrears::verify::VerifyReport,
    options: &arrears::verify::VerifyOptions,
    args: &Args,
) -> Result<Vec<String>, Failure> {
    let mut unwritten = Vec::new();
    let mut wrote = |result: Result<(), String>| {
        if let Err(e) = result {
            unwritten.push(e);
        }
    };
    let write = |path: &Path, text: &str| {
        arrears::files::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
    };
    if let Some(path) = &args.junit {
        wrote(write(path, &arrears::verify::junit(report)));
    }
    if let Some(path) = &args.json {
        wrote(
            to_json(report)
                .map_err(|e| format!("{e:#}"))
                .and_then(|text| write(path, &(text + "\n"))),
        );
    }
    if let Some(path) = &args.markdown {
        wrote(write(path, &arrears::verify::markdown(catalog, report)));
    }
    if let Some(path) = &args.coverage_report {
        wrote(
            to_json(&arrears::verify::CoverageReport::of(report))
                .map_err(|e| format!("{e:#}"))
                .and_then(|text| write(path, &(text + "\n"))),
        );
    }
    let references = arrears::verify::reference_catalogs(catalog, &options.readings)
        .map_err(|e| usage!("failed to verify: {e}"))?;
    match arrears::replay::write_counterexamples(
        &references[0],
        system,
        &report.counterexamples,
        &args.out,
    ) {
        Ok(written) if !written.is_empty() => {
            let mut text = format!("counterexamples written to {}:", args.out.display());
            for f in &written {
                text.push_str(&format!("\n  {f}"));
            }
            note(&text);
        }
        Ok(_) => {}
        Err(e) => wrote(Err(format!("failed to write the counterexamples: {e}"))),
    }
    if let Some(path) = &args.regressions {
        let new: Vec<_> = report
            .counterexamples
            .iter()
            .filter(|c| c.regression.is_none())
            .map(|c| arrears::replay::from_counterexample(&references[0], &report.system, c))
            .collect();
        if !new.is_empty() {
            match arrears::replay::RegressionsFile::append_to_file(path, &new) {
                Ok(added) => note(&format!(
                    "{added} new regressions added to {}",
                    path.display()
                )),
                Err(e) => wrote(Err(format!("failed to add the regressions: {e}"))),
            }
        }
    }
    Ok(unwritten)
}

/// What goes to standard output: the text report and the summary line, or
/// the JSON report (the summary line then goes to standard error).
fn render(
    catalog: &arrears::Catalog,
    report: &arrears::verify::VerifyReport,
    args: &Args,
    elapsed: std::time::Duration,
    terminal: &Terminal,
) -> Result<String, Failure> {
    let written_to = Some(args.out.as_path());
    // The time only for a person watching: a piped report stays the same,
    // byte for byte, for the same seed. The JSON's summary goes to stderr.
    let watched = match args.format {
        Format::Text => std::io::IsTerminal::is_terminal(&std::io::stdout()),
        Format::Json => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let elapsed = watched.then_some(elapsed);
    let summary = arrears::verify::summary_line(catalog, report, elapsed, written_to, true);
    Ok(match args.format {
        Format::Text => {
            let options = arrears::verify::TextOptions::default()
                .coverage_table(args.coverage)
                .styled(true);
            let mut text = arrears::verify::report_text(catalog, report, options);
            text.push('\n');
            text.push_str(&summary);
            text.push('\n');
            text
        }
        Format::Json => {
            // The JSON is for machines; a person watching still gets the
            // verdict in one line.
            if !terminal.quiet() {
                note(&summary);
            }
            to_json(report)? + "\n"
        }
    })
}
