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

//!
//! This file parses the command line and dispatches; each command lives in
//! `src/cli/` (its arguments, its run function, its output).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use arrears::exit;

// mimalloc rather than the system's allocator: a fleet account or a
// verify case allocates a few thousand short-lived vectors and strings, and
// glibc's malloc, free and realloc took about a quarter of a fleet run's
// instructions (consolidating free chunks, copying on realloc); mimalloc's
// thread-local free lists do the same work in under a third of that. The
// benches set it too; the library sets none, so an embedder keeps its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod man;

use cli::terminal::{ColorWhen, Terminal};
use cli::{Done, Failure, note_error};

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

#[derive(Subcommand)]
enum Command {
    /// List every rule of the specs: id, product, level, source section, what enforces it.
    Rules(cli::rules::Args),
    /// Show one rule: its source anchor, interpretations, and the lifecycle
    /// elements and invariants that cover it.
    Explain(cli::explain::Args),
    /// Run a history (or a worked example's history) through the reference
    /// model and print its timeline.
    Timeline(cli::timeline::Args),
    /// Run the worked examples against the reference model and print a table.
    Examples(cli::examples::Args),
    /// Run generated billing histories through the reference model (or an
    /// implementation) and check every invariant of the specs; print each
    /// invariant's verdict and the rule coverage.
    Verify(cli::verify::Args),
    /// Re-run a saved counterexample, against the model or an
    /// implementation; or promote it to a worked example.
    Replay(cli::replay::Args),
    /// Simulate a fleet of accounts through the reference model: per-day
    /// tallies of resources by state, overdue accounts, stops, releases,
    /// fees and refunds, with every invariant checked on every account.
    Fleet(cli::fleet::Args),
    /// Speak the adapter protocol on standard input and output with the
    /// reference model (to try an adapter harness, or to see a transcript).
    Serve,
    /// Smoke-test an adapter: hello, then one tiny history per product it
    /// declares; report, one finding per line, what it does wrong (exit 3),
    /// or that it speaks the protocol (exit 0).
    CheckAdapter(cli::check_adapter::Args),
    /// Print the JSON Schema of a file format.
    Schema(cli::schema::Args),
    /// Print a shell completion script: `source <(arrears completions bash)`.
    Completions(cli::shell::CompletionsArgs),
    /// Print the manual page (roff) of arrears and every command:
    /// `arrears man | man -l -`.
    Man,
    /// Validate spec files; exit 2 with located diagnostics if any is wrong.
    Lint(cli::lint::Args),
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

/// Dispatches a parsed command line to its command (`src/cli/`).
fn run(cli: Cli, terminal: Terminal) -> Result<Done, Failure> {
    let specs = cli.specs.as_deref();
    match cli.command {
        Command::Rules(args) => cli::rules::run(specs, args),
        Command::Explain(args) => cli::explain::run(specs, args),
        Command::Lint(args) => cli::lint::run(cli.specs, args),
        Command::Timeline(args) => cli::timeline::run(specs, args),
        Command::Examples(args) => cli::examples::run(specs, args, terminal),
        Command::Verify(args) => cli::verify::run(specs, args, terminal),
        Command::Replay(args) => cli::replay::run(specs, args, terminal),
        Command::Fleet(args) => cli::fleet::run(specs, args, terminal),
        Command::Serve => cli::serve::run(specs),
        Command::CheckAdapter(args) => cli::check_adapter::run(specs, args),
        Command::Completions(args) => cli::shell::completions(args),
        Command::Man => cli::shell::manual_page(),
        Command::Schema(args) => cli::schema::run(args),
    }
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
