//! `arrears timeline`: a history run through the reference model, as text,
//! JSON or an SVG picture.

use std::path::{Path, PathBuf};

use arrears::exit;

use super::{Done, Failure, Format, load_catalog, read_history, to_json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A history file (YAML or JSON), or a worked example.
    pub(crate) file: PathBuf,
    /// Print the timeline as text or as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// Also draw the timeline as an SVG picture into FILE: one lane per
    /// resource coloured by state, markers for deductions, top-ups,
    /// notifications, denials and refunds.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<PathBuf>,
}

pub(crate) fn run(specs: Option<&Path>, args: Args) -> Result<Done, Failure> {
    let Args { file, format, svg } = args;
    let file = file.as_path();
    let svg = svg.as_deref();
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
