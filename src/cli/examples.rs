//! `arrears examples`: the worked examples against the reference model or
//! an implementation under test, as a table or JSON.

use std::path::{Path, PathBuf};

use arrears::exit;
use arrears::spec::Catalog;

use super::terminal::Terminal;
use super::{Done, Failure, Format, SutTimeouts, load_catalog, note, start_sut, to_json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The directory of examples (default: specs/examples).
    pub(crate) dir: Option<PathBuf>,
    /// Print the results as a table (text) or as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// Run them against this implementation (a command speaking the
    /// adapter protocol) instead of the reference model.
    #[arg(long, value_name = "CMD")]
    pub(crate) sut: Option<String>,
    #[command(flatten)]
    pub(crate) timeouts: SutTimeouts,
}

pub(crate) fn run(specs: Option<&Path>, args: Args, terminal: Terminal) -> Result<Done, Failure> {
    let Args {
        dir,
        format,
        sut,
        timeouts,
    } = args;
    let sut = sut.as_deref();
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
