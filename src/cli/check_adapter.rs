//! `arrears check-adapter`: the smoke test of an adapter, one finding per
//! line (exit 3 if there are any).

use std::path::Path;

use arrears::exit;

use super::{Done, Failure, Format, SutTimeouts, load_catalog, to_json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The adapter: a command speaking the adapter protocol, run with
    /// `sh -c` in a process group of its own.
    #[arg(long, value_name = "CMD")]
    pub(crate) sut: String,
    #[command(flatten)]
    pub(crate) timeouts: SutTimeouts,
    /// Print the findings as text, or as JSON (the command, the
    /// adapter's name and declaration, each product's tiny run, and
    /// every finding).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

pub(crate) fn run(specs: Option<&Path>, args: Args) -> Result<Done, Failure> {
    let Args {
        sut,
        timeouts,
        format,
    } = args;
    let command = sut.as_str();
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
