//! The report as JSON (`verify --format json`, `--json FILE`,
//! `--coverage-report FILE`) and the JSON Schemas of those files.

use super::{CoverageReport, VerifyReport};

/// The JSON Schema of the report (`verify --format json`, `--json FILE`).
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_output::<VerifyReport>()
}

/// The JSON Schema of `--coverage-report` files.
pub fn coverage_json_schema() -> schemars::Schema {
    crate::schema::of_output::<CoverageReport<'static>>()
}
