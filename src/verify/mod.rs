//! `arrears verify`: generated histories run through a system, every
//! invariant checked on what it reports and, for an implementation under
//! test, every observation compared with the reference model's; failures
//! shrunk to a minimal history.
//!
//! A run is deterministic: the seed fixes the generated histories, the
//! cases are evaluated in parallel but reported in order, and the report
//! holds no timing, so the same seed gives a byte-identical report. A shard
//! (`K/N`) evaluates the cases whose index is K-1 modulo N of the same
//! sequence, so shards are disjoint and together make the whole run.
//!
//! The system is anything that runs a history and reports a trace
//! ([`System`]): the reference model itself, or an implementation under test
//! ([`crate::sut::Driven`]). Observations are taken at the generated
//! instants and at every instant the reference model has an event, so a
//! system that skips a state because the clock jumped is seen doing so.
//!
//! One file per step: `options` (how a run is asked for), `plan` (which
//! cases, drawn how), `case` (one case through the system and the checks),
//! `run` (the loop over them), `shrink`, `counterexample`, `gate` (the
//! coverage gate and "nothing verified"), and `report/` (the report types,
//! the stable surface, and their renderers).

mod case;
mod counterexample;
mod gate;
mod options;
mod plan;
mod report;
mod run;
mod shrink;

pub use case::observation_instants;
pub use gate::live_under_readings;
pub use options::{DEFAULT_MIN_EXERCISED, Regression, VerifyOptions};
pub use plan::{case_rng, implemented_lifecycles, reference_catalogs};
pub use report::{
    Counterexample, CoverageGate, CoverageReport, DIFFERENTIAL, DifferentialSummary,
    FORMAT_VERSION, InvariantSummary, RegressionOutcome, RegressionVerdict, RuleCitation,
    TextOptions, VerifyReport, coverage_json_schema, json_schema, junit, markdown, report_text,
    summary_line,
};
pub use run::verify;
pub use shrink::minimize;

use serde::Serialize;

use crate::history::{History, Offset};
use crate::observation::Trace;
use crate::spec::Catalog;

/// A system that runs histories: the reference model or an implementation
/// under test.
pub trait System: Sync {
    /// How the report names it.
    fn describe(&self) -> String;
    /// Runs a history, observing at `observe` (sorted, from the start).
    fn run(&self, history: &History, observe: &[Offset]) -> Result<Trace, SystemError>;
    /// The catalog, when the system is the reference model itself: a run
    /// can then find the instants it acts at while it runs, instead of
    /// first running the model to learn them.
    fn reference_catalog(&self) -> Option<&Catalog> {
        None
    }
    /// What the system declared in the adapter protocol's **hello**, when
    /// it speaks the protocol: [`verify`] then generates histories only of
    /// the lifecycles it implements and judges it under the readings it
    /// declared, as the command line does.
    fn declaration(&self) -> Option<&crate::protocol::Declaration> {
        None
    }
}

/// A system that could not run a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
#[non_exhaustive]
pub struct SystemError {
    pub kind: SystemErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SystemErrorKind {
    /// It broke the adapter protocol (crash, hang, garbage, wrong version).
    Protocol,
    /// It answered that it could not run a valid history.
    Refused,
    /// It does not support something the history needs.
    Unsupported,
}

/// The reference model as a [`System`].
pub struct ReferenceModel<'c> {
    pub catalog: &'c Catalog,
}

impl System for ReferenceModel<'_> {
    fn describe(&self) -> String {
        "the reference model".to_string()
    }

    fn run(&self, history: &History, observe: &[Offset]) -> Result<Trace, SystemError> {
        crate::model::run(self.catalog, history, observe).map_err(|e| SystemError {
            kind: SystemErrorKind::Refused,
            message: e.to_string(),
        })
    }

    fn reference_catalog(&self) -> Option<&Catalog> {
        Some(self.catalog)
    }
}
