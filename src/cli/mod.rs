//! The command line's commands, one file each (its clap arguments, its run
//! function, its output), and what they share: the output formats, the
//! implementation-under-test timeouts, how a command's result and failure
//! are carried to `main` (which maps them to exit codes and writes standard
//! output last), and the loaders every command uses.
//!
//! **Architecture invariant:** a command builds its standard output as text
//! and returns it in [`Done`]; only `main` writes it, after every file the
//! command was asked for, so a closed pipe cannot cost a verdict.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;

use arrears::exit;
use arrears::spec::{self, Catalog, SpecSource};

/// Maps a message to a usage failure (exit 2), formatted as `format!`.
macro_rules! usage {
    ($($arg:tt)*) => { $crate::cli::Failure::usage(anyhow::anyhow!($($arg)*)) };
}

pub mod check_adapter;
pub mod examples;
pub mod explain;
pub mod fleet;
pub mod lint;
pub mod replay;
pub mod rules;
pub mod schema;
pub mod serve;
pub mod shell;
pub mod terminal;
pub mod timeline;
pub mod verify;

/// How a command prints its result.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// How long an implementation under test may take.
#[derive(clap::Args, Clone, Copy)]
pub(crate) struct SutTimeouts {
    /// How long the implementation may take to answer one request (and to
    /// read one), in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout_ms: u64,
    /// How long a newly started implementation may take to answer its first
    /// request (hello), in milliseconds: start-up of a JVM or an interpreter.
    #[arg(long, default_value_t = 10000, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) startup_timeout_ms: u64,
}

impl SutTimeouts {
    pub(crate) fn protocol(&self) -> arrears::protocol::Timeouts {
        arrears::protocol::Timeouts::new(std::time::Duration::from_millis(self.timeout_ms))
            .startup(std::time::Duration::from_millis(self.startup_timeout_ms))
    }
}

/// What a command produced: its exit code and its standard output, which
/// is written after everything else.
pub(crate) struct Done {
    pub(crate) code: u8,
    pub(crate) stdout: String,
}

impl Done {
    pub(crate) fn new(code: u8, stdout: impl Into<String>) -> Done {
        Done {
            code,
            stdout: stdout.into(),
        }
    }
}

/// A failure with the exit code it maps to.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
}

impl Failure {
    pub(crate) fn usage(error: anyhow::Error) -> Failure {
        Failure {
            code: exit::USAGE,
            error,
        }
    }

    pub(crate) fn protocol(error: impl std::fmt::Display) -> Failure {
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

/// Writes a line to standard error (through anstream, which strips the
/// styles where colour is off); a closed or failing standard error is not
/// worth a panic, and the exit code still tells the verdict.
pub(crate) fn note(text: &str) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// An error line, its `error:` styled as one.
pub(crate) fn note_error(text: &str) {
    let style = anstyle::AnsiColor::Red.on_default() | anstyle::Effects::BOLD;
    note(&format!("{style}error:{style:#} {text}"));
}

pub(crate) fn unknown_product(catalog: &Catalog, product: &str) -> Failure {
    let known: Vec<&str> = catalog.documents.iter().map(|d| d.id.as_str()).collect();
    usage!(
        "failed to select product `{product}`: the specs cover {}",
        known.join(", ")
    )
}

pub(crate) fn parse_shard(text: &str) -> Result<(u32, u32), String> {
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
pub(crate) fn start_sut(
    catalog: &Catalog,
    command: &str,
    timeouts: SutTimeouts,
) -> Result<arrears::sut::Driven<'static>, Failure> {
    arrears::sut::Driven::child_with(catalog, command, timeouts.protocol())
        .map_err(Failure::protocol)
}

/// Reads a history file, or the history of a worked example.
pub(crate) fn read_history(path: &Path) -> Result<arrears::history::History, Failure> {
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

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| anyhow::anyhow!("failed to write JSON: {e}"))
}

pub(crate) fn read_sources(dir: Option<&Path>) -> Result<Vec<SpecSource>, Failure> {
    match dir {
        Some(dir) => spec::sources::read_dir(dir).map_err(|e| usage!("{e}")),
        None => Ok(spec::sources::embedded()),
    }
}

pub(crate) fn load_catalog(dir: Option<&Path>) -> Result<Catalog, Failure> {
    Catalog::load(dir).map_err(|e| match e {
        spec::LoadError::Invalid(diags) => invalid_specs(&diags),
        other => usage!("{other}"),
    })
}

/// Compiles specs already read (for a command that needs their texts too).
pub(crate) fn compile_catalog(sources: &[SpecSource]) -> Result<Catalog, Failure> {
    spec::compile(sources).map_err(|diags| invalid_specs(&diags))
}

/// Specs that do not compile: how many problems, and each.
fn invalid_specs(diags: &spec::Diagnostics) -> Failure {
    usage!(
        "failed to load the specs ({}; run `arrears lint` for details):\n{diags}",
        problems(diags.0.len())
    )
}

/// "1 problem", "2 problems".
pub(crate) fn problems(n: usize) -> String {
    if n == 1 {
        "1 problem".to_string()
    } else {
        format!("{n} problems")
    }
}
