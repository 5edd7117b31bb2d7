//! `arrears-faithful`: an implementation under test written from the five
//! policy documents, independently of the reference model, as a careful
//! billing team would build it. It speaks the adapter protocol on standard
//! input and output.
//!
//! `--fault NAME` (or `ARREARS_FAULT=NAME`) breaks exactly one documented
//! rule, to show that the conformance suite notices; `--list-faults` prints
//! the faults with the rule each breaks. `--reading ID=READING` reads an
//! ambiguous sentence another accepted way and declares it in hello.

mod engine;
mod faults;
mod ledger;
mod policy;
mod products;
mod readings;
mod vocab;

use std::process::ExitCode;

use clap::Parser;

use faults::Faults;
use readings::Readings;

/// An implementation under test of the five overdue-payment documents,
/// written apart from the arrears model; it speaks the adapter protocol on
/// standard input and output.
#[derive(Parser)]
#[command(
    name = "arrears-faithful",
    version,
    after_help = "Exit codes:\n  0  the conversation ended (arrears closed its side)\n  \
                  1  a reply could not be written\n  2  bad arguments: an unknown option, \
                  fault or reading"
)]
struct Args {
    /// Break exactly one documented rule (see --list-faults). Also read from
    /// the ARREARS_FAULT environment variable.
    #[arg(long, value_name = "NAME")]
    fault: Option<String>,
    /// List the faults with the rules each breaks, and exit.
    #[arg(long)]
    list_faults: bool,
    /// Read an ambiguous sentence another accepted way, and declare it in
    /// hello: ID=READING (see --list-readings). Repeatable.
    #[arg(long, value_name = "ID=READING")]
    reading: Vec<String>,
    /// List the interpretations this implementation can read another way,
    /// and exit.
    #[arg(long)]
    list_readings: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_faults {
        let mut out = String::new();
        for (_, name, rules) in faults::ALL {
            out.push_str(&format!("{name:<40} {}\n", rules.join(", ")));
        }
        return print(&out);
    }
    if args.list_readings {
        let mut out = String::new();
        for (id, readings) in readings::KNOWN {
            out.push_str(&format!("{id:<40} {}\n", readings.join(", ")));
        }
        return print(&out);
    }
    let fault = args
        .fault
        .or_else(|| std::env::var("ARREARS_FAULT").ok())
        .filter(|f| !f.is_empty());
    let faults = match fault.as_deref() {
        None => Faults::none(),
        Some(name) => match Faults::named(name) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("arrears-faithful: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let readings = match Readings::parse(&args.reading) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("arrears-faithful: {e}");
            return ExitCode::from(2);
        }
    };
    let mut engine = engine::Engine::new(faults, readings);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match arrears::protocol::serve(&mut engine, stdin.lock(), stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        // arrears hung up: the conversation is over.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arrears-faithful: failed to write a reply: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints to standard output; a closed pipe is not an error.
fn print(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
