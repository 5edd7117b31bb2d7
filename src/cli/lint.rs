//! `arrears lint`: the specs validated, with located diagnostics (and,
//! with `--sources`, every anchor checked against its source document).

use std::path::PathBuf;

use arrears::exit;
use arrears::spec;

use super::{Done, Failure, Format, note, problems, read_sources, to_json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The directory of *.yaml specs to check (default: --specs, or the embedded specs).
    pub(crate) dir: Option<PathBuf>,
    /// Also check every anchor and section heading against the source
    /// documents in this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) sources: Option<PathBuf>,
    /// Print the diagnostics as text (on standard error) or as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

/// `specs` is the global `--specs`, checked when no directory is given.
pub(crate) fn run(specs: Option<PathBuf>, args: Args) -> Result<Done, Failure> {
    let Args {
        dir,
        sources,
        format,
    } = args;
    lint(dir.or(specs), sources, format)
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
                text.push_str(&format!(
                    "error: {} in the specs",
                    problems(diagnostics.len())
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
