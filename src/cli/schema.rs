//! `arrears schema`: the JSON Schema of a file format arrears reads or
//! writes.

use arrears::exit;

use super::{Done, Failure, to_json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The file format.
    #[arg(value_enum)]
    pub(crate) what: SchemaKind,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum SchemaKind {
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

pub(crate) fn run(args: Args) -> Result<Done, Failure> {
    let schema = match args.what {
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
