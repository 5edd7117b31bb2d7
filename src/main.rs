//! The `arrears` command line.
//!
//! Exit codes mean the same thing for every command (`arrears::exit`):
//! 0 success / conformance; 1 a conformance failure; 2 bad usage, bad
//! input or an output that cannot be written; 3 the implementation under
//! test broke the protocol; 4 nothing was verified. Anything else (101) is
//! a bug in arrears itself.
//!
//! Output discipline, so that no verdict is lost: every command builds its
//! standard output as text and writes it last, after every file it was
//! asked for; files are written atomically; a closed standard output
//! (`arrears ... | head`) ends the output quietly and keeps the verdict's
//! exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use arrears::exit;
use arrears::explain;

mod cli;
use arrears::spec::{self, Catalog, SpecSource};
use cli::terminal::{ColorWhen, Terminal};

mod man;

/// What each exit code means (`arrears::exit`), printed at the end of
/// every command's `--help` and in the manual page.
const EXIT_CODES: [(u8, &str); 6] = [
    (exit::OK, "success"),
    (exit::FAILURE, "a conformance failure"),
    (
        exit::USAGE,
        "bad usage, bad input or an output that cannot be written",
    ),
    (
        exit::PROTOCOL,
        "the implementation under test broke the protocol",
    ),
    (exit::NOTHING_VERIFIED, "nothing was verified"),
    (exit::COVERAGE, "the coverage gate failed"),
];

/// The command line as clap sees it, with the exit codes after every
/// command's help (set here once, so a new subcommand gets them too).
fn cli_command() -> clap::Command {
    fn with_exit_codes(cmd: clap::Command, codes: &str) -> clap::Command {
        cmd.after_help(codes.to_string())
            .mut_subcommands(|sub| with_exit_codes(sub, codes))
    }
    let mut codes = String::from("Exit codes:");
    for (code, meaning) in EXIT_CODES {
        codes.push_str(&format!("\n  {code}  {meaning}"));
    }
    with_exit_codes(Cli::command(), &codes)
}

#[derive(Parser)]
#[command(
    name = "arrears",
    version,
    about = "Conformance suite for cloud overdue-payment lifecycles",
    long_about = "Encodes five cloud overdue-payment and refund policy documents as executable \
                  specs, runs them in a reference model, and checks implementations against them."
)]
struct Cli {
    /// Read the specs from the *.yaml files of DIR instead of the embedded copy.
    #[arg(long, global = true, value_name = "DIR")]
    specs: Option<PathBuf>,

    /// The largest input file (spec, history, example, replay, regressions)
    /// arrears reads, in MiB.
    #[arg(long, global = true, value_name = "MB", default_value_t = arrears::yaml::DEFAULT_INPUT_LIMIT_MB as u64,
          value_parser = clap::value_parser!(u64).range(1..=1 << 40))]
    input_limit_mb: u64,

    /// When to colour the output: auto (a terminal, unless NO_COLOR is
    /// set; CLICOLOR_FORCE forces it), always or never.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    color: ColorWhen,

    /// No progress bar (one is drawn only when standard error is a
    /// terminal anyway).
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Log each phase of a run and each failure found (and each
    /// counterexample shrunk) on standard error as it happens.
    #[arg(long, short, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    /// Spec files (specs/*.yaml).
    Spec,
    /// Billing histories.
    History,
    /// Worked examples.
    Example,
    /// Observations and trace events.
    Observation,
    /// Counterexample files written by verify (`*.replay.yaml`).
    Replay,
    /// Regressions files (`verify --regressions`).
    Regressions,
    /// verify's JSON report (`--format json`, `--json`).
    Report,
    /// verify's coverage report (`--coverage-report`).
    Coverage,
    /// The adapter protocol's requests and replies.
    Protocol,
    /// Fleet customer mixes (`arrears fleet --mix`).
    Mix,
}

/// How long an implementation under test may take.
#[derive(clap::Args, Clone, Copy)]
struct SutTimeouts {
    /// How long the implementation may take to answer one request (and to
    /// read one), in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,
    /// How long a newly started implementation may take to answer its first
    /// request (hello), in milliseconds: start-up of a JVM or an interpreter.
    #[arg(long, default_value_t = 10000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    startup_timeout_ms: u64,
}

impl SutTimeouts {
    fn protocol(&self) -> arrears::protocol::Timeouts {
        arrears::protocol::Timeouts::new(std::time::Duration::from_millis(self.timeout_ms))
            .startup(std::time::Duration::from_millis(self.startup_timeout_ms))
    }
}

#[derive(Subcommand)]
enum Command {
    /// List every rule of the specs: id, product, level, source section, what enforces it.
    Rules {
        /// Only the rules of this product (ecs, emr, maxcompute, flink, spark).
        #[arg(long)]
        product: Option<String>,
        /// Print the rules as a table (text) or as JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show one rule: its source anchor, interpretations, and the lifecycle
    /// elements and invariants that cover it.
    Explain {
        /// A rule id (ecs.payg.stop-at-t15), an interpretation id
        /// (ecs.interp.top-up-settles) or a lifecycle id (ecs.payg-instance).
        rule: String,
        /// Print the explanation as text or as JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run a history (or a worked example's history) through the reference
    /// model and print its timeline.
    Timeline {
        /// A history file (YAML or JSON), or a worked example.
        file: PathBuf,
        /// Print the timeline as text or as JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also draw the timeline as an SVG picture into FILE: one lane per
        /// resource coloured by state, markers for deductions, top-ups,
        /// notifications, denials and refunds.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Run the worked examples against the reference model and print a table.
    Examples {
        /// The directory of examples (default: specs/examples).
        dir: Option<PathBuf>,
        /// Print the results as a table (text) or as JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Run them against this implementation (a command speaking the
        /// adapter protocol) instead of the reference model.
        #[arg(long, value_name = "CMD")]
        sut: Option<String>,
        #[command(flatten)]
        timeouts: SutTimeouts,
    },
    /// Run generated billing histories through the reference model (or an
    /// implementation) and check every invariant of the specs; print each
    /// invariant's verdict and the rule coverage.
    Verify {
        /// How many histories to generate.
        #[arg(long, default_value_t = 512)]
        cases: u32,
        /// The seed of the generator: the same seed gives the same report.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only these products (comma-separated spec document ids).
        #[arg(long, value_delimiter = ',')]
        products: Vec<String>,
        /// The most events a generated history holds.
        #[arg(long, default_value_t = 24)]
        max_events: usize,
        /// Print the report as text or as JSON (what --json writes).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// The implementation under test: a command speaking the adapter
        /// protocol (docs/protocol.md), run with `sh -c` in a process group of
        /// its own. Without it, the reference model itself is checked.
        #[arg(long, value_name = "CMD")]
        sut: Option<String>,
        #[command(flatten)]
        timeouts: SutTimeouts,
        /// Run only shard K of N (a deterministic split of the cases).
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<(u32, u32)>,
        /// Also write the report as JUnit XML (one test case per invariant).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write the report as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Where to write each counterexample's replay file and timelines
        /// (replacing those an earlier run wrote there).
        #[arg(long, value_name = "DIR", default_value = "arrears-out")]
        out: PathBuf,
        /// Histories that failed before: run them first, and add new
        /// counterexamples to the file (safe for runs sharing it).
        #[arg(long, value_name = "FILE")]
        regressions: Option<PathBuf>,
        /// The coverage gate: fail (exit 5) unless every invariant is
        /// exercised in at least K cases (and every enforced rule and every
        /// transition the readings in force allow at least once).
        #[arg(long, value_name = "K", default_value_t = arrears::verify::DEFAULT_MIN_EXERCISED)]
        min_exercised: usize,
        /// Report what the run left unexercised without failing on it (for
        /// quick exploratory runs of a few cases).
        #[arg(long)]
        no_coverage_gate: bool,
        /// Also write the per-rule, per-transition and per-invariant case
        /// counts and the gate's verdict as JSON, for CI dashboards.
        #[arg(long, value_name = "FILE")]
        coverage_report: Option<PathBuf>,
        /// Print the whole rule-coverage table (every enforced rule and the
        /// cases that exercised it), not only the rules left unexercised.
        /// The JSON report always holds it.
        #[arg(long)]
        coverage: bool,
        /// Judge the implementation by the invariants alone, without
        /// comparing its observations with the reference model's.
        #[arg(long)]
        no_compare: bool,
    },
    /// Re-run a saved counterexample, against the model or an
    /// implementation; or promote it to a worked example.
    Replay {
        /// A replay file written by `verify` (`arrears-out/*.replay.yaml`).
        file: PathBuf,
        /// The implementation to re-run it against.
        #[arg(long, value_name = "CMD")]
        sut: Option<String>,
        #[command(flatten)]
        timeouts: SutTimeouts,
        /// Write it as a worked example (into --dir) instead of running it.
        #[arg(long)]
        promote: bool,
        /// The worked example's name (default: the replay file's name).
        #[arg(long, requires = "promote")]
        name: Option<String>,
        /// Where promoted examples go.
        #[arg(long, default_value = "specs/examples", requires = "promote")]
        dir: PathBuf,
    },
    /// Simulate a fleet of accounts through the reference model: per-day
    /// tallies of resources by state, overdue accounts, stops, releases,
    /// fees and refunds, with every invariant checked on every account.
    Fleet(FleetArgs),
    /// Speak the adapter protocol on standard input and output with the
    /// reference model (to try an adapter harness, or to see a transcript).
    Serve,
    /// Smoke-test an adapter: hello, then one tiny history per product it
    /// declares; report, one finding per line, what it does wrong (exit 3),
    /// or that it speaks the protocol (exit 0).
    CheckAdapter {
        /// The adapter: a command speaking the adapter protocol, run with
        /// `sh -c` in a process group of its own.
        #[arg(long, value_name = "CMD")]
        sut: String,
        #[command(flatten)]
        timeouts: SutTimeouts,
        /// Print the findings as text, or as JSON (the command, the
        /// adapter's name and declaration, each product's tiny run, and
        /// every finding).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print the JSON Schema of a file format.
    Schema {
        /// The file format.
        #[arg(value_enum)]
        what: SchemaKind,
    },
    /// Print a shell completion script: `source <(arrears completions bash)`.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of arrears and every command:
    /// `arrears man | man -l -`.
    Man,
    /// Validate spec files; exit 2 with located diagnostics if any is wrong.
    Lint {
        /// The directory of *.yaml specs to check (default: --specs, or the embedded specs).
        dir: Option<PathBuf>,
        /// Also check every anchor and section heading against the source
        /// documents in this directory.
        #[arg(long, value_name = "DIR")]
        sources: Option<PathBuf>,
        /// Print the diagnostics as text (on standard error) or as JSON.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct FleetArgs {
    #[command(subcommand)]
    action: Option<FleetAction>,
    /// Accounts in the whole fleet.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    accounts: u64,
    /// Simulated days.
    #[arg(long, default_value_t = 90, value_name = "D",
          value_parser = clap::value_parser!(u32).range(1..=arrears::fleet::MAX_DAYS as i64))]
    days: u32,
    /// The seed: account I of seed S is the same in every run, shard and thread count.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Worker threads, and with --sut implementation processes (default:
    /// one per core).
    #[arg(long, visible_alias = "jobs", value_name = "T",
          value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Only these products of the mix (comma-separated spec document ids),
    /// in the mix's proportions among themselves.
    #[arg(long, value_delimiter = ',')]
    products: Vec<String>,
    /// The customer mix (YAML; `arrears schema mix`), instead of the
    /// default one (docs/fleet.md).
    #[arg(long, value_name = "FILE")]
    mix: Option<PathBuf>,
    /// Also write the result as JSON (what `arrears fleet merge` reads).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run only shard K of N (the accounts whose index is K-1 modulo N).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    /// Also draw the resources by product and state over the days as a
    /// stacked SVG chart.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Also write one row per account as Parquet (for DuckDB, Polars, Spark).
    #[arg(long, value_name = "FILE.parquet")]
    accounts_out: Option<PathBuf>,
    /// Also run every account through this implementation (a command
    /// speaking the adapter protocol; one process per thread) and compare
    /// it with the model at every simulated day's end.
    #[arg(long, value_name = "CMD")]
    sut: Option<String>,
    #[command(flatten)]
    timeouts: SutTimeouts,
    /// Instead of running the fleet, print account I's history (YAML, for
    /// `arrears timeline`), as drawn with the same --seed, --days and --mix.
    #[arg(long, value_name = "I")]
    replay_account: Option<u64>,
    /// Print the result as text or as the JSON that --json writes.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Subcommand)]
enum FleetAction {
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

/// What a command produced: its exit code and its standard output, which
/// is written after everything else.
struct Done {
    code: u8,
    stdout: String,
}

impl Done {
    fn new(code: u8, stdout: impl Into<String>) -> Done {
        Done {
            code,
            stdout: stdout.into(),
        }
    }
}

/// A failure with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn usage(error: anyhow::Error) -> Failure {
        Failure {
            code: exit::USAGE,
            error,
        }
    }

    fn protocol(error: impl std::fmt::Display) -> Failure {
        Failure {
            code: exit::PROTOCOL,
            error: anyhow::anyhow!("{error}"),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::usage(error)
    }
}

macro_rules! usage {
    ($($arg:tt)*) => { Failure::usage(anyhow::anyhow!($($arg)*)) };
}

/// Writes a line to standard error; a closed or failing standard error is
/// not worth a panic, and the exit code still tells the verdict.
/// A line on standard error (through anstream, which strips the styles
/// where colour is off).
fn note(text: &str) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// An error line, its `error:` styled as one.
fn note_error(text: &str) {
    let style = anstyle::AnsiColor::Red.on_default() | anstyle::Effects::BOLD;
    note(&format!("{style}error:{style:#} {text}"));
}

fn main() -> ExitCode {
    // Before anything can start an implementation under test: an
    // interrupted run takes its process groups down with it.
    arrears::protocol::install_signal_cleanup();
    let cli = Cli::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
    arrears::yaml::set_input_limit_mb(usize::try_from(cli.input_limit_mb).unwrap_or(usize::MAX));
    let terminal = Terminal::new(cli.color, cli.quiet, cli.verbose);
    let done = match run(cli, terminal) {
        Ok(done) => done,
        Err(failure) => {
            note_error(&format!("{:#}", failure.error));
            return ExitCode::from(failure.code);
        }
    };
    let mut stdout = anstream::stdout().lock();
    let written = stdout
        .write_all(done.stdout.as_bytes())
        .and_then(|()| stdout.flush());
    let code = match written {
        Ok(()) => done.code,
        // The reader went away (`| head`): what it wanted, it has; the
        // verdict stands.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => done.code,
        Err(e) => {
            note_error(&format!(
                "failed to write the report to standard output: {}",
                arrears::files::plain_io(&e)
            ));
            // A conforming run whose report was lost must not look green.
            if done.code == exit::OK {
                exit::USAGE
            } else {
                done.code
            }
        }
    };
    ExitCode::from(code)
}

fn run(cli: Cli, terminal: Terminal) -> Result<Done, Failure> {
    let specs = cli.specs.as_deref();
    match cli.command {
        Command::Rules { product, format } => rules(specs, product, format),
        Command::Explain { rule, format } => explain_rule(specs, &rule, format),
        Command::Lint {
            dir,
            sources,
            format,
        } => lint(dir.or(cli.specs), sources, format),
        Command::Timeline { file, format, svg } => timeline(specs, &file, format, svg.as_deref()),
        Command::Examples {
            dir,
            format,
            sut,
            timeouts,
        } => examples(specs, dir, format, sut.as_deref(), timeouts, terminal),
        Command::Verify {
            cases,
            seed,
            products,
            max_events,
            format,
            sut,
            timeouts,
            shard,
            junit,
            json,
            out,
            regressions,
            min_exercised,
            no_coverage_gate,
            coverage_report,
            coverage,
            no_compare,
        } => {
            let catalog = load_catalog(specs)?;
            let run = VerifyRun {
                min_exercised,
                coverage_gate: !no_coverage_gate,
                coverage_report,
                coverage_table: coverage,
                compare: !no_compare,
                cases,
                seed,
                products,
                max_events,
                format,
                shard,
                junit,
                json,
                out,
                regressions,
            };
            verify(&catalog, run, sut.as_deref(), timeouts, terminal)
        }
        Command::Replay {
            file,
            sut,
            timeouts,
            promote,
            name,
            dir,
        } => {
            if promote {
                promote_replay(specs, &file, name, &dir)
            } else {
                replay(specs, &file, sut.as_deref(), timeouts, terminal)
            }
        }
        Command::Fleet(args) => match args.action {
            Some(FleetAction::Merge {
                files,
                json,
                svg,
                format,
            }) => fleet_merge(specs, &files, json.as_deref(), svg.as_deref(), format),
            None => fleet(specs, args, terminal),
        },
        Command::Serve => serve(specs),
        Command::CheckAdapter {
            sut,
            timeouts,
            format,
        } => check_adapter(specs, &sut, timeouts, format),
        Command::Completions { shell } => completions(shell),
        Command::Man => manual_page(),
        Command::Schema { what } => {
            let schema = match what {
                SchemaKind::Spec => arrears::spec::json_schema(),
                SchemaKind::History => arrears::history::json_schema(),
                SchemaKind::Example => arrears::examples::json_schema(),
                SchemaKind::Observation => arrears::observation::json_schema(),
                SchemaKind::Replay => arrears::replay::json_schema(),
                SchemaKind::Regressions => arrears::replay::regressions_json_schema(),
                SchemaKind::Report => arrears::verify::json_schema(),
                SchemaKind::Coverage => arrears::verify::coverage_json_schema(),
                SchemaKind::Protocol => arrears::protocol::json_schema(),
                SchemaKind::Mix => arrears::fleet::mix::json_schema(),
            };
            Ok(Done::new(exit::OK, to_json(&schema)? + "\n"))
        }
    }
}

fn completions(shell: clap_complete::Shell) -> Result<Done, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli_command(), "arrears", &mut script);
    let script = String::from_utf8(script)
        .map_err(|e| usage!("failed to write the {shell} completions: {e}"))?;
    Ok(Done::new(exit::OK, script))
}

fn manual_page() -> Result<Done, Failure> {
    let page = man::render(cli_command(), &EXIT_CODES)
        .map_err(|e| usage!("failed to write the manual page: {e}"))?;
    Ok(Done::new(exit::OK, page))
}

fn unknown_product(catalog: &Catalog, product: &str) -> Failure {
    let known: Vec<&str> = catalog.documents.iter().map(|d| d.id.as_str()).collect();
    usage!(
        "failed to select product `{product}`: the specs cover {}",
        known.join(", ")
    )
}

fn rules(specs: Option<&Path>, product: Option<String>, format: Format) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    if let Some(p) = &product
        && catalog.document_named(p).is_none()
    {
        return Err(unknown_product(&catalog, p));
    }
    let rules = explain::summaries(&catalog, product.as_deref());
    let text = match format {
        Format::Text => explain::rules_table(&rules),
        Format::Json => to_json(&rules)? + "\n",
    };
    Ok(Done::new(exit::OK, text))
}

fn explain_rule(specs: Option<&Path>, rule: &str, format: Format) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    if let Some(x) = explain::interpretation(&catalog, rule) {
        let text = match format {
            Format::Text => explain::interpretation_text(&x),
            Format::Json => to_json(&x)? + "\n",
        };
        return Ok(Done::new(exit::OK, text));
    }
    if let Some(x) = explain::lifecycle(&catalog, rule) {
        let text = match format {
            Format::Text => explain::lifecycle_text(&x),
            Format::Json => to_json(&x)? + "\n",
        };
        return Ok(Done::new(exit::OK, text));
    }
    let Some(id) = catalog.rule_named(rule) else {
        let hint = catalog
            .rules
            .iter()
            .filter(|r| r.id.contains(rule) || rule.contains(r.id.as_str()))
            .map(|r| r.id.as_str())
            .take(5)
            .collect::<Vec<_>>();
        let hint = if hint.is_empty() {
            "run `arrears rules` to list them".to_string()
        } else {
            format!("did you mean {}?", hint.join(", "))
        };
        return Err(usage!(
            "failed to explain `{rule}`: no rule, interpretation or lifecycle has that id; {hint}"
        ));
    };
    let text = match format {
        Format::Text => explain::explanation_text(&catalog, id),
        Format::Json => to_json(&explain::explanation(&catalog, id))? + "\n",
    };
    Ok(Done::new(exit::OK, text))
}

fn timeline(
    specs: Option<&Path>,
    file: &Path,
    format: Format,
    svg: Option<&Path>,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let history = read_history(file)?;
    history
        .validate(&catalog)
        .map_err(|e| usage!("failed to run {}: {e}", file.display()))?;
    let trace = arrears::model::run(&catalog, &history, &[])
        .map_err(|e| usage!("failed to run {}: {e}", file.display()))?;
    if let Some(out) = svg {
        arrears::files::write_atomic(
            out,
            arrears::svg::render(&catalog, &history, &trace).as_bytes(),
        )
        .map_err(|e| usage!("{e}"))?;
    }
    let text = match format {
        Format::Text => arrears::timeline::text(&catalog, history.start, &trace),
        Format::Json => {
            to_json(&arrears::timeline::entries(&catalog, history.start, &trace))? + "\n"
        }
    };
    Ok(Done::new(exit::OK, text))
}

fn examples(
    specs: Option<&Path>,
    dir: Option<PathBuf>,
    format: Format,
    sut: Option<&str>,
    timeouts: SutTimeouts,
    terminal: Terminal,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let dir = dir.unwrap_or_else(|| PathBuf::from("specs/examples"));
    let examples = arrears::examples::read_dir(&dir)
        .map_err(|e| usage!("failed to read the worked examples: {e}"))?;
    if examples.is_empty() {
        return Err(usage!(
            "failed to run the worked examples: no *.yaml examples in {}",
            dir.display()
        ));
    }
    // A malformed example is the example's fault, found before anything runs.
    let malformed: Vec<String> = examples
        .iter()
        .filter_map(|(name, ex)| {
            arrears::examples::validate(&catalog, ex)
                .err()
                .map(|p| format!("{}: {p}", dir.join(format!("{name}.yaml")).display()))
        })
        .collect();
    if !malformed.is_empty() {
        return Err(usage!(
            "failed to run the worked examples: {} malformed:\n  {}",
            malformed.len(),
            malformed.join("\n  ")
        ));
    }
    let driven = match sut {
        None => None,
        Some(command) => Some(start_sut(&catalog, command, timeouts)?),
    };
    let progress = terminal.progress();
    let watch = arrears::progress::Watch::new(progress.watcher());
    watch.phase("worked examples", examples.len() as u64, "examples");
    let mut outcomes = Vec::new();
    for (name, ex) in &examples {
        let outcome = example_outcome(&catalog, driven.as_ref(), name, ex)?;
        watch.advance(1);
        if outcome.failed() {
            watch.event(|| format!("worked example {name} fails"));
        }
        outcomes.push(outcome);
    }
    progress.finish();
    let text = match format {
        Format::Json => to_json(&outcomes)? + "\n",
        Format::Text => examples_table(&outcomes),
    };
    let code = if outcomes.iter().any(|o| o.failed()) {
        exit::FAILURE
    } else if outcomes.iter().all(|o| o.skipped.is_some()) {
        note("arrears: nothing was verified: every example was skipped");
        exit::NOTHING_VERIFIED
    } else {
        exit::OK
    };
    Ok(Done::new(code, text))
}

/// One worked example's outcome: on the model, or on the implementation
/// (skipped where it does not apply to it).
fn example_outcome(
    catalog: &Catalog,
    driven: Option<&arrears::sut::Driven<'_>>,
    name: &str,
    ex: &arrears::examples::WorkedExample,
) -> Result<arrears::examples::Outcome, Failure> {
    let Some(driven) = driven else {
        // The model reads each example as it is written.
        return Ok(arrears::examples::check(catalog, name, ex));
    };
    arrears::examples::check_declared(catalog, driven, name, ex).map_err(Failure::protocol)
}

/// The options of one `verify` run, as given on the command line.
struct VerifyRun {
    min_exercised: usize,
    coverage_gate: bool,
    coverage_report: Option<PathBuf>,
    coverage_table: bool,
    compare: bool,
    cases: u32,
    seed: u64,
    products: Vec<String>,
    max_events: usize,
    format: Format,
    shard: Option<(u32, u32)>,
    junit: Option<PathBuf>,
    json: Option<PathBuf>,
    out: PathBuf,
    regressions: Option<PathBuf>,
}

fn verify(
    catalog: &Catalog,
    run: VerifyRun,
    sut: Option<&str>,
    timeouts: SutTimeouts,
    terminal: Terminal,
) -> Result<Done, Failure> {
    let started = std::time::Instant::now();
    let progress = terminal.progress();
    let mut options = arrears::verify::VerifyOptions::new(catalog);
    options.watch = arrears::progress::Watch::new(progress.watcher());
    options.cases = run.cases;
    options.seed = run.seed;
    options.max_events = run.max_events;
    if !run.products.is_empty() {
        options.products = run
            .products
            .iter()
            .map(|p| {
                catalog
                    .document_named(p)
                    .ok_or_else(|| unknown_product(catalog, p))
            })
            .collect::<Result<_, _>>()?;
    }
    options.shard = run.shard;
    options.min_exercised = run.min_exercised;
    options.coverage_gate = run.coverage_gate;
    // Read the regressions before starting anything: a bad file is a usage
    // error, found before a child process is spawned.
    let known = match &run.regressions {
        Some(path) => arrears::replay::RegressionsFile::read(path)
            .map_err(|e| usage!("failed to read the regressions: {e}"))?,
        None => arrears::replay::RegressionsFile::default(),
    };
    options.regressions = known.regressions();
    let model = arrears::verify::ReferenceModel { catalog };
    let driven;
    // An implementation that fails its handshake still gets a report (and
    // the files asked for), saying so.
    let mut broken = None;
    let system: &dyn arrears::verify::System = match sut {
        None => &model,
        Some(command) => match start_sut(catalog, command, timeouts).and_then(|d| {
            arrears::verify::reference_catalogs(catalog, &d.declaration().readings)
                .map_err(|e| Failure::protocol(format!("the implementation declared {e}")))?;
            Ok(d)
        }) {
            Ok(d) => {
                driven = d;
                let declaration = driven.declaration();
                options.implemented = Some(arrears::verify::implemented_lifecycles(
                    catalog,
                    declaration,
                ));
                options.readings = declaration.readings.clone();
                options.compare = run.compare;
                &driven
            }
            Err(failure) => {
                broken = Some((format!("`{command}`"), format!("{:#}", failure.error)));
                &model
            }
        },
    };
    let report = match broken {
        Some((name, error)) => {
            arrears::verify::VerifyReport::broken(catalog, &options, name, error)
        }
        None => arrears::verify::verify(catalog, system, &options),
    };
    progress.finish();
    let elapsed = started.elapsed();

    // Files first, each on its own: one that cannot be written is reported
    // and does not stop the others, nor hide the verdict.
    let mut unwritten = Vec::new();
    let mut wrote = |result: Result<(), String>| {
        if let Err(e) = result {
            unwritten.push(e);
        }
    };
    if let Some(path) = &run.junit {
        wrote(
            arrears::files::write_atomic(path, arrears::report::junit(&report).as_bytes())
                .map_err(|e| e.to_string()),
        );
    }
    if let Some(path) = &run.json {
        wrote(
            to_json(&report)
                .map_err(|e| format!("{e:#}"))
                .and_then(|text| {
                    arrears::files::write_atomic(path, (text + "\n").as_bytes())
                        .map_err(|e| e.to_string())
                }),
        );
    }
    if let Some(path) = &run.coverage_report {
        wrote(
            to_json(&arrears::verify::CoverageReport::of(&report))
                .map_err(|e| format!("{e:#}"))
                .and_then(|text| {
                    arrears::files::write_atomic(path, (text + "\n").as_bytes())
                        .map_err(|e| e.to_string())
                }),
        );
    }
    let references = arrears::verify::reference_catalogs(catalog, &options.readings)
        .map_err(|e| usage!("failed to verify: {e}"))?;
    match arrears::replay::write_counterexamples(
        &references[0],
        system,
        &report.counterexamples,
        &run.out,
    ) {
        Ok(written) if !written.is_empty() => {
            let mut text = format!("counterexamples written to {}:", run.out.display());
            for f in &written {
                text.push_str(&format!("\n  {f}"));
            }
            note(&text);
        }
        Ok(_) => {}
        Err(e) => wrote(Err(format!("failed to write the counterexamples: {e}"))),
    }
    if let Some(path) = &run.regressions {
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
    if let Some(e) = &report.protocol_error {
        note_error(&e.to_string());
    }
    for e in &unwritten {
        note_error(e);
    }
    let written_to = Some(run.out.as_path());
    // The time only for a person watching: a piped report stays the same,
    // byte for byte, for the same seed. The JSON's summary goes to stderr.
    let watched = match run.format {
        Format::Text => std::io::IsTerminal::is_terminal(&std::io::stdout()),
        Format::Json => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let elapsed = watched.then_some(elapsed);
    let summary = arrears::verify::summary_line(catalog, &report, elapsed, written_to, true);
    let text = match run.format {
        Format::Text => {
            let options = arrears::verify::TextOptions::default()
                .coverage_table(run.coverage_table)
                .styled(true);
            let mut text = arrears::verify::report_text(catalog, &report, options);
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
            to_json(&report)? + "\n"
        }
    };
    let mut code = report.exit_code();
    if code == exit::OK && !unwritten.is_empty() {
        code = exit::USAGE;
    }
    Ok(Done::new(code, text))
}

fn read_replay(catalog: &Catalog, file: &Path) -> Result<arrears::replay::ReplayFile, Failure> {
    let replay = arrears::replay::ReplayFile::read(file)
        .map_err(|e| usage!("failed to read the replay file: {e}"))?;
    replay.history.validate(catalog).map_err(|e| {
        usage!(
            "failed to replay {}: the history does not fit the specs: {e}",
            file.display()
        )
    })?;
    Ok(replay)
}

fn promote_replay(
    specs: Option<&Path>,
    file: &Path,
    name: Option<String>,
    dir: &Path,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let replay = read_replay(&catalog, file)?;
    let name = name.unwrap_or_else(|| {
        let stem = file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        stem.trim_end_matches(".yaml")
            .trim_end_matches(".replay")
            .to_string()
    });
    let target = dir.join(format!("{}.yaml", arrears::replay::file_stem(&name)));
    if target.exists() {
        return Err(usage!(
            "failed to promote {}: {} already exists; choose another --name",
            file.display(),
            target.display()
        ));
    }
    let example = replay.to_example();
    let outcome = arrears::examples::check(&catalog, &name, &example);
    if !outcome.passed() {
        return Err(Failure {
            code: exit::FAILURE,
            error: anyhow::anyhow!(
                "failed to promote {}: the model no longer shows what the replay expects, so it would not pass as a worked example:\n  {}",
                file.display(),
                outcome.failures.join("\n  ")
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        usage!(
            "failed to create {}: {}",
            dir.display(),
            arrears::files::plain_io(&e)
        )
    })?;
    arrears::files::write_atomic(&target, example.to_yaml().as_bytes())
        .map_err(|e| usage!("{e}"))?;
    Ok(Done::new(
        exit::OK,
        format!("promoted to worked example {}\n", target.display()),
    ))
}

fn replay(
    specs: Option<&Path>,
    file: &Path,
    sut: Option<&str>,
    timeouts: SutTimeouts,
    terminal: Terminal,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let replay = read_replay(&catalog, file)?;
    let model = arrears::verify::ReferenceModel { catalog: &catalog };
    let driven;
    let progress = terminal.progress();
    let mut options = arrears::verify::VerifyOptions::new(&catalog);
    options.watch = arrears::progress::Watch::new(progress.watcher());
    let system: &dyn arrears::verify::System = match sut {
        None => &model,
        Some(command) => {
            driven = start_sut(&catalog, command, timeouts)?;
            options.readings = driven.declaration().readings.clone();
            options.compare = true;
            &driven
        }
    };
    options.cases = 0;
    options.regressions = vec![arrears::verify::Regression {
        name: file.display().to_string(),
        scenario: replay.scenario(),
    }];
    let report = arrears::verify::verify(&catalog, system, &options);
    progress.finish();
    if let Some(e) = &report.protocol_error {
        return Err(Failure::protocol(e));
    }
    let mut out = format!(
        "replay of {} ({}) on {}\n",
        file.display(),
        replay.replay.check,
        report.system
    );
    if let Some(reason) = report.skipped_cases.first() {
        out.push_str(&format!(
            "not verified: the system did not run the history ({reason})\n"
        ));
        return Ok(Done::new(exit::NOTHING_VERIFIED, out));
    }
    let example = replay.to_example();
    let expectations =
        arrears::examples::check_on(&catalog, system, &file.display().to_string(), &example)
            .map_err(Failure::protocol)?;
    for c in &report.counterexamples {
        out.push_str(&format!(
            "  {} {}: {}\n",
            if c.check == arrears::verify::DIFFERENTIAL {
                "DIVERGES"
            } else {
                "VIOLATED"
            },
            c.check,
            c.message()
        ));
        for r in &c.rules {
            out.push_str(&format!(
                "    rule {} [{}]: \"{}\"\n",
                r.rule, r.section, r.anchor
            ));
        }
    }
    for f in &expectations.failures {
        out.push_str(&format!("  expectation not met: {f}\n"));
    }
    for r in &report.refused {
        out.push_str(&format!("  REFUSED {r}\n"));
    }
    if report.passed() && expectations.passed() {
        out.push_str("passes: the failure no longer reproduces\n");
        Ok(Done::new(exit::OK, out))
    } else {
        out.push_str("reproduced\n");
        Ok(Done::new(exit::FAILURE, out))
    }
}

fn serve(specs: Option<&Path>) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let mut model = arrears::protocol::ModelImplementation::new(&catalog);
    let stdin = std::io::stdin();
    match arrears::protocol::serve(&mut model, stdin.lock(), std::io::stdout().lock()) {
        Ok(()) => Ok(Done::new(exit::OK, "")),
        // The client hung up: the conversation is over.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Done::new(exit::OK, "")),
        Err(e) => Err(usage!(
            "failed to serve the adapter protocol: {}",
            arrears::files::plain_io(&e)
        )),
    }
}

/// `check-adapter`: the smoke test's findings, exit 3 if there are any.
fn check_adapter(
    specs: Option<&Path>,
    command: &str,
    timeouts: SutTimeouts,
    format: Format,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let timeouts = timeouts.protocol();
    let check = arrears::adapter_check::check_adapter(&catalog, command, timeouts);
    let code = if check.passed() {
        exit::OK
    } else {
        exit::PROTOCOL
    };
    let text = match format {
        Format::Text => check.text(),
        Format::Json => to_json(&check)? + "\n",
    };
    Ok(Done::new(code, text))
}

fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or("a shard is written K/N, like 2/4")?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a shard number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number of shards"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: K must be between 1 and N"));
    }
    Ok((k, n))
}

/// Starts the implementation under test and shakes hands; a failure there
/// is a protocol violation (exit 3).
fn start_sut(
    catalog: &Catalog,
    command: &str,
    timeouts: SutTimeouts,
) -> Result<arrears::sut::Driven<'static>, Failure> {
    arrears::sut::Driven::child_with(catalog, command, timeouts.protocol())
        .map_err(Failure::protocol)
}

/// Reads a history file, or the history of a worked example.
fn read_history(path: &Path) -> Result<arrears::history::History, Failure> {
    let is_example = path.extension().is_some_and(|e| e == "yaml" || e == "yml")
        && std::fs::read_to_string(path)
            .ok()
            .and_then(|text| arrears::yaml::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|v| v.get("history").is_some());
    if is_example {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage!(
                "failed to read {}: {}",
                path.display(),
                arrears::files::plain_io(&e)
            )
        })?;
        let example = arrears::examples::WorkedExample::from_text(&text)
            .map_err(|e| usage!("failed to read worked example {}: {e}", path.display()))?;
        Ok(example.history)
    } else {
        arrears::history::History::read_file(path).map_err(|e| usage!("{e}"))
    }
}

fn examples_table(outcomes: &[arrears::examples::Outcome]) -> String {
    let width = outcomes
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!("{:width$}  result  checks  rules\n", "example");
    for o in outcomes {
        let result = if o.skipped.is_some() {
            "skip"
        } else if o.passed() {
            "pass"
        } else {
            "FAIL"
        };
        out.push_str(&format!(
            "{:width$}  {:6}  {:6}  {}\n",
            o.name,
            result,
            o.checks,
            o.rules.join(", ")
        ));
        if let Some(reason) = &o.skipped {
            out.push_str(&format!("{:width$}    - skipped: {reason}\n", ""));
        }
        for f in &o.failures {
            out.push_str(&format!("{:width$}    - {f}\n", ""));
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let skipped = outcomes.iter().filter(|o| o.skipped.is_some()).count();
    out.push_str(&format!(
        "{passed} of {} examples pass{}\n",
        outcomes.len() - skipped,
        if skipped > 0 {
            format!(" ({skipped} skipped, not run)")
        } else {
            String::new()
        }
    ));
    out
}

fn to_json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| anyhow::anyhow!("failed to write JSON: {e}"))
}

fn read_sources(dir: Option<&Path>) -> Result<Vec<SpecSource>, Failure> {
    match dir {
        Some(dir) => spec::sources::read_dir(dir).map_err(|e| usage!("{e}")),
        None => Ok(spec::sources::embedded()),
    }
}

fn load_catalog(dir: Option<&Path>) -> Result<Catalog, Failure> {
    Catalog::load(dir).map_err(|e| match e {
        spec::LoadError::Invalid(diags) => usage!(
            "failed to load the specs ({}; run `arrears lint` for details):\n{diags}",
            problems(diags.0.len())
        ),
        other => usage!("{other}"),
    })
}

/// "1 problem", "2 problems".
fn problems(n: usize) -> String {
    if n == 1 {
        "1 problem".to_string()
    } else {
        format!("{n} problems")
    }
}

fn lint(
    dir: Option<PathBuf>,
    source_docs: Option<PathBuf>,
    format: Format,
) -> Result<Done, Failure> {
    let sources = read_sources(dir.as_deref())?;
    let compiled = spec::compile(&sources);
    let mut diagnostics = match &compiled {
        Ok(_) => Vec::new(),
        Err(diags) => diags.0.clone(),
    };
    if let Some(docs) = &source_docs {
        diagnostics.extend(spec::sources::verify_anchors(&sources, docs));
    }
    let mut stdout = String::new();
    match format {
        Format::Json => stdout = to_json(&diagnostics)? + "\n",
        Format::Text => {
            let mut text = String::new();
            for d in &diagnostics {
                let rendered = sources
                    .iter()
                    .find(|s| s.name == d.file)
                    .map(|s| d.render_styled(&s.text))
                    .unwrap_or_else(|| d.to_string());
                text.push_str(&format!("{rendered}\n\n"));
            }
            if !diagnostics.is_empty() {
                let n = diagnostics.len();
                text.push_str(&format!(
                    "error: {n} {} in the specs",
                    if n == 1 { "problem" } else { "problems" }
                ));
                note(&text);
            }
        }
    }
    match (&compiled, diagnostics.is_empty()) {
        (Ok(catalog), true) => {
            if matches!(format, Format::Text) {
                stdout = format!(
                    "ok: {} spec files, {} rules, {} lifecycles, {} invariants, {} interpretations{}\n",
                    sources.len(),
                    catalog.rules.len(),
                    catalog.lifecycles.len(),
                    catalog.invariants.len(),
                    catalog.interpretations.len(),
                    if source_docs.is_some() {
                        "; every anchor found in its source"
                    } else {
                        ""
                    }
                );
            }
            Ok(Done::new(exit::OK, stdout))
        }
        _ => Ok(Done::new(exit::USAGE, stdout)),
    }
}

/// The mix a fleet follows and the name it is reported under.
fn fleet_mix(
    catalog: &Catalog,
    args: &FleetArgs,
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

fn fleet(specs: Option<&Path>, args: FleetArgs, terminal: Terminal) -> Result<Done, Failure> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let sources = read_sources(specs)?;
    let catalog = spec::compile(&sources).map_err(|diags| {
        usage!(
            "failed to load the specs ({}; run `arrears lint` for details):\n{diags}",
            problems(diags.0.len())
        )
    })?;
    let (mix, mix_name) = fleet_mix(&catalog, &args)?;
    let options = arrears::fleet::FleetOptions {
        accounts: args.accounts,
        days: args.days,
        seed: args.seed,
        shard: args.shard,
        mix,
        mix_name: mix_name.clone(),
        specs: arrears::fleet::specs_fingerprint(&sources),
        specs_dir: specs.map(|d| d.display().to_string()),
    };
    options.check().map_err(|e| usage!("{e}"))?;
    if let Some(index) = args.replay_account {
        if index >= args.accounts {
            return Err(usage!(
                "failed to replay account {index}: the fleet has accounts 0 to {}",
                args.accounts.saturating_sub(1)
            ));
        }
        let menu = arrears::fleet::account::Menu::new(&catalog, &options.mix);
        let account = menu.account(args.seed, index, args.days);
        let header = format!(
            "# account {index} of `arrears fleet --seed {} --days {}` (mix {mix_name}), {} payer\n",
            args.seed,
            args.days,
            arrears::fleet::payer_name(account.payer)
        );
        return Ok(Done::new(exit::OK, header + &account.history.to_yaml()));
    }
    let pool = {
        let mut builder = rayon::ThreadPoolBuilder::new();
        if let Some(t) = args.threads {
            builder = builder.num_threads(usize::from(t));
        }
        builder
            .build()
            .map_err(|e| usage!("failed to start the worker threads: {e}"))?
    };
    let progress = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    let total = {
        let (k, n) = options.shard.unwrap_or((1, 1));
        options
            .accounts
            .saturating_sub(u64::from(k - 1))
            .div_ceil(u64::from(n))
    };
    let show = terminal.shows_progress();
    let started = std::time::Instant::now();
    let driven = match &args.sut {
        Some(command) => Some(start_sut(&catalog, command, args.timeouts)?),
        None => None,
    };
    let fleet_sut = match &driven {
        Some(d) => {
            let references =
                arrears::verify::reference_catalogs(&catalog, &d.declaration().readings)
                    .map_err(|e| usage!("failed to run the fleet: {e}"))?;
            let lifecycles = arrears::verify::implemented_lifecycles(&catalog, d.declaration());
            let menu = arrears::fleet::account::Menu::restricted(
                &catalog,
                &options.mix,
                Some(lifecycles.clone()),
            );
            if !menu.draws_anything() {
                return Err(usage!(
                    "failed to run the fleet: `{}` implements none of the mix's products and billing methods",
                    d.declaration().implementation
                ));
            }
            Some(arrears::fleet::FleetSut {
                system: d,
                name: d.declaration().implementation.clone(),
                references,
                sut_nanos: AtomicU64::new(0),
                model_nanos: AtomicU64::new(0),
                lifecycles,
            })
        }
        None => None,
    };
    let result = std::thread::scope(|scope| {
        if show {
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
                    &catalog,
                    &options,
                    &progress,
                    wants_rows.then_some(&mut sink as arrears::fleet::RowSink<'_, _>),
                    fleet_sut.as_ref(),
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
    let result = result.map_err(|e: arrears::fleet::rows::RowsError| usage!("{e}"))?;
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

fn fleet_merge(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks `cmd` and its subcommands at any depth: every argument and
    /// subcommand without help text, and every command whose help does not
    /// end with the exit codes.
    fn without_help(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let exit_codes = cmd
            .get_after_help()
            .is_some_and(|h| h.to_string().starts_with("Exit codes:"));
        if !exit_codes {
            missing.push(format!("`{path}`: no exit codes at the end of its help"));
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("`{path}`: argument `{}`", arg.get_id()));
            }
        }
        // clap's own `help` subcommand prints the other commands' help.
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                missing.push(format!("`{name}`: subcommand without help"));
            }
            without_help(sub, &name, missing);
        }
    }

    #[test]
    fn every_argument_and_subcommand_has_help_and_every_help_the_exit_codes() {
        let mut cmd = cli_command();
        // Built, as when parsing: global options copied into every
        // subcommand, help and version flags added.
        cmd.build();
        let mut missing = Vec::new();
        without_help(&cmd, "arrears", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn the_help_walk_names_what_lacks_help() {
        let mut cmd = clap::Command::new("demo")
            .after_help("Exit codes: none")
            .arg(clap::Arg::new("bare").long("bare"))
            .subcommand(clap::Command::new("quiet"));
        cmd.build();
        let mut missing = Vec::new();
        without_help(&cmd, "demo", &mut missing);
        assert_eq!(
            missing,
            [
                "`demo`: argument `bare`",
                "`demo quiet`: subcommand without help",
                "`demo quiet`: no exit codes at the end of its help",
            ]
        );
    }
}
