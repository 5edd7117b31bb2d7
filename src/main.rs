//! The `arrears` command line.
//!
//! Exit codes mean the same thing for every command:
//! 0 success / conformance; 1 a conformance failure; 2 bad usage, bad specs
//! or a bad history; 3 the implementation under test broke the protocol.
//! Anything else (101) is a bug in arrears itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use arrears::explain;
use arrears::spec::{self, Catalog, SpecSource};

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
    /// Billing histories.
    History,
    /// Observations and trace events.
    Observation,
    /// Worked examples.
    Example,
}

#[derive(Subcommand)]
enum Command {
    /// List every rule of the specs: id, product, level, source section, what enforces it.
    Rules {
        /// Only the rules of this product (ecs, emr, maxcompute, flink, spark).
        #[arg(long)]
        product: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show one rule: its source anchor, interpretations, and the lifecycle
    /// elements and invariants that cover it.
    Explain {
        /// The rule id, such as ecs.payg.stop-at-t15.
        rule: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run a history (or a worked example's history) through the reference
    /// model and print its timeline.
    Timeline {
        /// A history file (YAML or JSON), or a worked example.
        file: PathBuf,
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
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Run them against this implementation (a command speaking the
        /// adapter protocol) instead of the reference model.
        #[arg(long, value_name = "CMD")]
        sut: Option<String>,
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout_ms: u64,
    },
    /// Run generated billing histories through the reference model and check
    /// every invariant of the specs; print each invariant's verdict and the
    /// rule coverage.
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
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// The implementation under test: a command speaking the adapter
        /// protocol (docs/protocol.md), run with `sh -c`. Without it, the
        /// reference model itself is checked.
        #[arg(long, value_name = "CMD")]
        sut: Option<String>,
        /// How long the implementation may take to answer one request.
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout_ms: u64,
        /// Run only shard K of N (a deterministic split of the cases).
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<(u32, u32)>,
        /// Also write the report as JUnit XML (one test case per invariant).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write the report as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Where to write each counterexample's replay file and timelines.
        #[arg(long, value_name = "DIR", default_value = "arrears-out")]
        out: PathBuf,
        /// Histories that failed before: run them first, and add new
        /// counterexamples to the file.
        #[arg(long, value_name = "FILE")]
        regressions: Option<PathBuf>,
    },
    /// Re-run a saved counterexample, against the model or an
    /// implementation; or promote it to a worked example.
    Replay {
        /// A replay file written by `verify` (`arrears-out/*.replay.yaml`).
        file: PathBuf,
        /// The implementation to re-run it against.
        #[arg(long, value_name = "CMD")]
        sut: Option<String>,
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        timeout_ms: u64,
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
    /// Speak the adapter protocol on standard input and output with the
    /// reference model (to try an adapter harness, or to see a transcript).
    Serve,
    /// Print the JSON Schema of a file format.
    Schema {
        #[arg(value_enum)]
        what: SchemaKind,
    },
    /// Validate spec files; exit 2 with located diagnostics if any is wrong.
    Lint {
        /// The directory of *.yaml specs to check (default: --specs, or the embedded specs).
        dir: Option<PathBuf>,
        /// Also check every anchor and section heading against the source
        /// documents in this directory.
        #[arg(long, value_name = "DIR")]
        sources: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// A failure with the exit code it maps to.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn usage(error: anyhow::Error) -> Failure {
        Failure { code: 2, error }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::usage(error)
    }
}

fn main() -> ExitCode {
    arrears::protocol::install_signal_cleanup();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Rules { product, format } => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            if let Some(p) = &product {
                if catalog.document_named(p).is_none() {
                    let known: Vec<&str> =
                        catalog.documents.iter().map(|d| d.id.as_str()).collect();
                    return Err(Failure::usage(anyhow::anyhow!(
                        "unknown product `{p}`; the specs cover: {}",
                        known.join(", ")
                    )));
                }
            }
            let rules = explain::summaries(&catalog, product.as_deref());
            match format {
                Format::Text => print!("{}", explain::rules_table(&rules)),
                Format::Json => println!("{}", to_json(&rules)?),
            }
            Ok(0)
        }
        Command::Explain { rule, format } => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            let Some(id) = catalog.rule_named(&rule) else {
                let hint = catalog
                    .rules
                    .iter()
                    .filter(|r| r.id.contains(rule.as_str()) || rule.contains(r.id.as_str()))
                    .map(|r| r.id.as_str())
                    .take(5)
                    .collect::<Vec<_>>();
                let hint = if hint.is_empty() {
                    "run `arrears rules` to list them".to_string()
                } else {
                    format!("did you mean {}?", hint.join(", "))
                };
                return Err(Failure::usage(anyhow::anyhow!(
                    "unknown rule `{rule}`; {hint}"
                )));
            };
            match format {
                Format::Text => print!("{}", explain::explanation_text(&catalog, id)),
                Format::Json => println!("{}", to_json(&explain::explanation(&catalog, id))?),
            }
            Ok(0)
        }
        Command::Lint {
            dir,
            sources,
            format,
        } => lint(dir.or(cli.specs), sources, format),
        Command::Timeline { file, format, svg } => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            let history = read_history(&file)?;
            let trace = arrears::model::run(&catalog, &history, &[])
                .map_err(|e| anyhow::anyhow!("failed to run {}: {e}", file.display()))?;
            if let Some(out) = &svg {
                std::fs::write(out, arrears::svg::render(&catalog, &history, &trace))
                    .with_context(|| format!("failed to write {}", out.display()))?;
            }
            match format {
                Format::Text => print!(
                    "{}",
                    arrears::timeline::text(&catalog, history.start, &trace)
                ),
                Format::Json => println!(
                    "{}",
                    to_json(&arrears::timeline::entries(&catalog, history.start, &trace))?
                ),
            }
            Ok(0)
        }
        Command::Examples {
            dir,
            format,
            sut,
            timeout_ms,
        } => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            let dir = dir.unwrap_or_else(|| PathBuf::from("specs/examples"));
            let examples = arrears::examples::read_dir(&dir).map_err(anyhow::Error::from)?;
            if examples.is_empty() {
                return Err(Failure::usage(anyhow::anyhow!(
                    "no *.yaml examples in {}",
                    dir.display()
                )));
            }
            let model = arrears::verify::ReferenceModel { catalog: &catalog };
            let driven;
            let mut implemented = None;
            let system: &dyn arrears::verify::System = match &sut {
                None => &model,
                Some(command) => {
                    driven = start_sut(&catalog, command, timeout_ms)?;
                    implemented = Some(implemented_lifecycles(&catalog, driven.declaration()));
                    &driven
                }
            };
            let mut outcomes = Vec::new();
            for (name, ex) in &examples {
                // An example about something the implementation does not
                // implement is skipped, not failed.
                let resolved = ex.history.validate(&catalog).unwrap_or_default();
                let missing = implemented.as_ref().and_then(|imp| {
                    resolved
                        .values()
                        .find(|r| !imp.contains(&r.lifecycle))
                        .map(|r| catalog.lifecycle(r.lifecycle).id.clone())
                });
                if let Some(lifecycle) = missing {
                    println!("{name}: skipped (not implemented: {lifecycle})");
                    continue;
                }
                let outcome =
                    arrears::examples::check_on(&catalog, system, name, ex).map_err(|e| {
                        Failure {
                            code: 3,
                            error: anyhow::anyhow!("{e}"),
                        }
                    })?;
                outcomes.push(outcome);
            }
            match format {
                Format::Json => println!("{}", to_json(&outcomes)?),
                Format::Text => print!("{}", examples_table(&outcomes)),
            }
            Ok(if outcomes.iter().all(|o| o.passed()) {
                0
            } else {
                1
            })
        }
        Command::Verify {
            cases,
            seed,
            products,
            max_events,
            format,
            sut,
            timeout_ms,
            shard,
            junit,
            json,
            out,
            regressions,
        } => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            let mut options = arrears::verify::VerifyOptions::new(&catalog);
            options.cases = cases;
            options.seed = seed;
            options.max_events = max_events;
            if !products.is_empty() {
                options.products = products
                    .iter()
                    .map(|p| {
                        catalog.document_named(p).ok_or_else(|| {
                            let known: Vec<&str> =
                                catalog.documents.iter().map(|d| d.id.as_str()).collect();
                            anyhow::anyhow!(
                                "unknown product `{p}`; the specs cover: {}",
                                known.join(", ")
                            )
                        })
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            options.shard = shard;
            let model = arrears::verify::ReferenceModel { catalog: &catalog };
            let driven;
            let system: &dyn arrears::verify::System = match &sut {
                None => &model,
                Some(command) => {
                    driven = start_sut(&catalog, command, timeout_ms)?;
                    let declaration = driven.declaration();
                    options.implemented = Some(implemented_lifecycles(&catalog, declaration));
                    options.readings = declaration.readings.clone();
                    arrears::verify::reference_catalogs(&catalog, &options.readings).map_err(
                        |e| Failure {
                            code: 3,
                            error: anyhow::anyhow!("the implementation declared {e}"),
                        },
                    )?;
                    options.compare = true;
                    &driven
                }
            };
            let mut known = match &regressions {
                Some(path) => {
                    arrears::replay::RegressionsFile::read(path).map_err(anyhow::Error::from)?
                }
                None => arrears::replay::RegressionsFile::default(),
            };
            options.regressions = known.regressions();
            let report = arrears::verify::verify(&catalog, system, &options);
            match format {
                Format::Text => print!("{}", arrears::verify::report_text(&catalog, &report)),
                Format::Json => println!("{}", to_json(&report)?),
            }
            if let Some(path) = &junit {
                std::fs::write(path, arrears::report::junit(&report))
                    .with_context(|| format!("failed to write {}", path.display()))?;
            }
            if let Some(path) = &json {
                std::fs::write(path, to_json(&report)?)
                    .with_context(|| format!("failed to write {}", path.display()))?;
            }
            if !report.counterexamples.is_empty() {
                let references = arrears::verify::reference_catalogs(&catalog, &options.readings)
                    .map_err(|e| anyhow::anyhow!(e))?;
                let written = arrears::replay::write_counterexamples(
                    &references[0],
                    system,
                    &report.counterexamples,
                    &out,
                )
                .map_err(anyhow::Error::from)?;
                eprintln!("counterexamples written to {}:", out.display());
                for f in &written {
                    eprintln!("  {f}");
                }
                if let Some(path) = &regressions {
                    let new = report
                        .counterexamples
                        .iter()
                        .filter(|c| c.regression.is_none())
                        .map(|c| {
                            arrears::replay::from_counterexample(&references[0], &report.system, c)
                        });
                    let added = known.append(new);
                    known.write(path).map_err(anyhow::Error::from)?;
                    eprintln!("{added} new regressions added to {}", path.display());
                }
            }
            Ok(report.exit_code())
        }
        Command::Replay {
            file,
            sut,
            timeout_ms,
            promote,
            name,
            dir,
        } => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            let replay = arrears::replay::ReplayFile::read(&file).map_err(anyhow::Error::from)?;
            replay.history.validate(&catalog).map_err(|e| {
                anyhow::anyhow!(
                    "{}: the history does not fit the specs: {e}",
                    file.display()
                )
            })?;
            if promote {
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
                    return Err(Failure::usage(anyhow::anyhow!(
                        "{} already exists; choose another --name",
                        target.display()
                    )));
                }
                let example = replay.to_example();
                let outcome = arrears::examples::check(&catalog, &name, &example);
                if !outcome.passed() {
                    return Err(Failure {
                        code: 1,
                        error: anyhow::anyhow!(
                            "the model no longer shows what the replay expects, so it would not pass as a worked example:\n  {}",
                            outcome.failures.join("\n  ")
                        ),
                    });
                }
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("failed to create {}", dir.display()))?;
                std::fs::write(&target, example.to_yaml())
                    .with_context(|| format!("failed to write {}", target.display()))?;
                println!("promoted to worked example {}", target.display());
                return Ok(0);
            }
            let model = arrears::verify::ReferenceModel { catalog: &catalog };
            let driven;
            let mut options = arrears::verify::VerifyOptions::new(&catalog);
            let system: &dyn arrears::verify::System = match &sut {
                None => &model,
                Some(command) => {
                    driven = start_sut(&catalog, command, timeout_ms)?;
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
            if let Some(e) = &report.protocol_error {
                return Err(Failure {
                    code: 3,
                    error: anyhow::anyhow!("{e}"),
                });
            }
            let example = replay.to_example();
            let expectations = arrears::examples::check_on(
                &catalog,
                system,
                &file.display().to_string(),
                &example,
            )
            .map_err(|e| Failure {
                code: 3,
                error: anyhow::anyhow!("{e}"),
            })?;
            println!(
                "replay of {} ({}) on {}",
                file.display(),
                replay.replay.check,
                report.system
            );
            for c in &report.counterexamples {
                println!(
                    "  {} {}: {}",
                    if c.check == arrears::verify::DIFFERENTIAL {
                        "DIVERGES"
                    } else {
                        "VIOLATED"
                    },
                    c.check,
                    c.message()
                );
                for r in &c.rules {
                    println!("    rule {} [{}]: \"{}\"", r.rule, r.section, r.anchor);
                }
            }
            for f in &expectations.failures {
                println!("  expectation not met: {f}");
            }
            for r in &report.refused {
                println!("  REFUSED {r}");
            }
            if report.passed() && expectations.passed() {
                println!("passes: the failure no longer reproduces");
                Ok(0)
            } else {
                println!("reproduced");
                Ok(1)
            }
        }
        Command::Serve => {
            let catalog = load_catalog(cli.specs.as_deref())?;
            let mut model = arrears::protocol::ModelImplementation::new(&catalog);
            let stdin = std::io::stdin();
            arrears::protocol::serve(&mut model, stdin.lock(), std::io::stdout().lock())
                .context("failed to write to standard output")?;
            Ok(0)
        }
        Command::Schema { what } => {
            let schema = match what {
                SchemaKind::History => arrears::history::json_schema(),
                SchemaKind::Observation => arrears::observation::json_schema(),
                SchemaKind::Example => arrears::examples::json_schema(),
            };
            println!("{}", to_json(&schema)?);
            Ok(0)
        }
    }
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
    timeout_ms: u64,
) -> Result<arrears::sut::Driven<'static>, Failure> {
    arrears::sut::Driven::child(
        catalog,
        command,
        std::time::Duration::from_millis(timeout_ms),
    )
    .map_err(|e| Failure {
        code: 3,
        error: anyhow::anyhow!("{e}"),
    })
}

/// The lifecycles whose product and billing method an implementation declared.
fn implemented_lifecycles(
    catalog: &Catalog,
    declaration: &arrears::protocol::Declaration,
) -> std::collections::BTreeSet<arrears::spec::LifecycleId> {
    catalog
        .lifecycles
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let product = &catalog.document(l.doc).id;
            declaration
                .implements
                .iter()
                .any(|i| i.product == *product && i.billing.contains(&l.billing))
        })
        .map(|(i, _)| arrears::spec::LifecycleId(i as u32))
        .collect()
}

/// Reads a history file, or the history of a worked example.
fn read_history(path: &std::path::Path) -> anyhow::Result<arrears::history::History> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let is_example = arrears::yaml::from_str::<serde_json::Value>(&text)
        .ok()
        .is_some_and(|v| v.get("history").is_some());
    if is_example {
        let example = arrears::examples::WorkedExample::from_text(&text).map_err(|e| {
            anyhow::anyhow!("failed to read worked example {}: {e}", path.display())
        })?;
        Ok(example.history)
    } else {
        arrears::history::History::from_text(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
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
        out.push_str(&format!(
            "{:width$}  {:6}  {:6}  {}\n",
            o.name,
            if o.passed() { "pass" } else { "FAIL" },
            o.checks,
            o.rules.join(", ")
        ));
        for f in &o.failures {
            out.push_str(&format!("{:width$}    - {f}\n", ""));
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    out.push_str(&format!("{passed} of {} examples pass\n", outcomes.len()));
    out
}

fn to_json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    serde_json::to_string_pretty(value).context("failed to write JSON")
}

fn read_sources(dir: Option<&std::path::Path>) -> anyhow::Result<Vec<SpecSource>> {
    match dir {
        Some(dir) => Ok(spec::sources::read_dir(dir)?),
        None => Ok(spec::sources::embedded()),
    }
}

fn load_catalog(dir: Option<&std::path::Path>) -> anyhow::Result<Catalog> {
    let sources = read_sources(dir)?;
    spec::compile(&sources).map_err(|diags| {
        anyhow::anyhow!(
            "failed to load specs ({} problems; run `arrears lint` for details):\n{diags}",
            diags.0.len()
        )
    })
}

fn lint(dir: Option<PathBuf>, source_docs: Option<PathBuf>, format: Format) -> Result<u8, Failure> {
    let sources = read_sources(dir.as_deref())?;
    let mut diagnostics = match spec::compile(&sources) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.0,
    };
    if let Some(docs) = &source_docs {
        diagnostics.extend(spec::sources::verify_anchors(&sources, docs));
    }
    match format {
        Format::Json => println!("{}", to_json(&diagnostics)?),
        Format::Text => {
            for d in &diagnostics {
                let text = sources
                    .iter()
                    .find(|s| s.name == d.file)
                    .map(|s| d.render_with_source(&s.text))
                    .unwrap_or_else(|| d.to_string());
                eprintln!("{text}\n");
            }
        }
    }
    if diagnostics.is_empty() {
        if matches!(format, Format::Text) {
            let catalog =
                spec::compile(&sources).map_err(|d| Failure::usage(anyhow::anyhow!("{d}")))?;
            println!(
                "ok: {} spec files, {} rules, {} lifecycles, {} invariants, {} interpretations{}",
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
        Ok(0)
    } else {
        if matches!(format, Format::Text) {
            eprintln!("error: {} problems in the specs", diagnostics.len());
        }
        Ok(2)
    }
}
