//! `arrears-faithful`: an implementation under test written from the five
//! policy documents, independently of the reference model, as a careful
//! billing team would build it. It speaks the adapter protocol on standard
//! input and output.
//!
//! `--fault NAME` (or `ARREARS_FAULT=NAME`) breaks exactly one documented
//! rule, to show that the conformance suite notices; `--list-faults` prints
//! the faults with the rule each breaks.

mod engine;
mod faults;
mod ledger;
mod policy;
mod products;
mod vocab;

use std::process::ExitCode;

use faults::Faults;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut fault: Option<String> = std::env::var("ARREARS_FAULT")
        .ok()
        .filter(|f| !f.is_empty());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--list-faults" => {
                for (_, name, rules) in faults::ALL {
                    println!("{name:<40} {}", rules.join(", "));
                }
                return ExitCode::SUCCESS;
            }
            "--fault" => {
                let Some(name) = args.get(i + 1) else {
                    eprintln!("--fault needs a name (see --list-faults)");
                    return ExitCode::from(2);
                };
                fault = Some(name.clone());
                i += 1;
            }
            other => {
                if let Some(name) = other.strip_prefix("--fault=") {
                    fault = Some(name.to_string());
                } else {
                    eprintln!(
                        "unknown argument `{other}`; usage: arrears-faithful [--fault NAME | --list-faults]"
                    );
                    return ExitCode::from(2);
                }
            }
        }
        i += 1;
    }
    let faults = match fault {
        None => Faults::none(),
        Some(name) => match Faults::named(&name) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
    };
    let mut engine = engine::Engine::new(faults);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match arrears::protocol::serve(&mut engine, stdin.lock(), stdout.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arrears-faithful: {e}");
            ExitCode::FAILURE
        }
    }
}
