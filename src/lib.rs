//! arrears: a property-based conformance suite for cloud overdue-payment
//! lifecycles.
//!
//! Five published policy documents say what happens when a cloud bill goes
//! unpaid. arrears encodes them as executable YAML specs, runs them in a
//! reference model, and checks the invariants they imply on random billing
//! histories — on the model, and on any implementation that speaks its
//! adapter protocol. Data flows one way: specs → model → trace → checks →
//! report. See ARCHITECTURE.md for the map.
//!
//! # Running the suite inside `cargo test`
//!
//! A Rust team verifies its own implementation in-process: implement
//! [`Implementation`] (the adapter protocol's five requests as methods), wrap
//! it in a [`Driven`] system, and [`verify()`] it against the catalog. Here
//! the implementation is the independent one that ships with arrears
//! (`impls/faithful`, the `faithful` crate of this repository):
//!
//! ```
//! use arrears::prelude::*;
//!
//! // The shipped specs (`Catalog::load(Some(dir))` reads edited ones).
//! let catalog = Catalog::load(None)?;
//! // Each case takes an instance from a pool; the factory makes new ones.
//! let sut = Driven::new(&catalog, "faithful", || Ok(Box::new(faithful::faithful())))?;
//! let options = VerifyOptions::new(&catalog).cases(256).seed(7);
//! let report = verify(&catalog, &sut, &options);
//! assert!(
//!     report.passed(),
//!     "{}",
//!     report_text(&catalog, &report, TextOptions::default())
//! );
//! assert_eq!(report.exit_code(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An implementation that declares only some products in its hello is run
//! only on those, as on the command line. [`Driven::child`] runs an
//! implementation in another language as a child process instead.
//!
//! # The stable surface
//!
//! What is re-exported here, [`prelude`], and the data contract modules
//! [`history`] (billing histories) and [`observation`] (what a system
//! reports) are the library's API. Structs of options and reports, and
//! their enums, are `#[non_exhaustive]`: new fields and variants are not
//! breaking changes, and options are built with chained setters from their
//! `new`/`default`. The adapter protocol's messages ([`Declaration`],
//! [`ProductOffer`], [`HistoryHeader`]) and the observation vocabulary stay
//! exhaustive on purpose: they are a wire format, and changing them is a new
//! protocol version.
//!
//! Every other module is the engine behind the `arrears` command: private,
//! or public only so that the command and the repository's tests can reach
//! it, hidden from these docs, and free to change in any release.

// The stable surface.
pub use coverage::Coverage;
pub use protocol::{
    Answer, Declaration, HistoryHeader, Implementation, ModelImplementation, ProductOffer,
    ProtocolError, Timeouts, serve,
};
pub use spec::compile::compile;
pub use spec::{Catalog, Diagnostic, Diagnostics, LoadError, SpecSource};
pub use sut::Driven;
pub use verify::{
    Counterexample, CoverageGate, CoverageReport, DifferentialSummary, FORMAT_VERSION,
    InvariantSummary, ReferenceModel, RegressionOutcome, RegressionVerdict, RuleCitation, System,
    SystemError, SystemErrorKind, TextOptions, VerifyOptions, VerifyReport, junit, markdown,
    report_text, summary_line, verify,
};

/// What running the suite from Rust needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Catalog, Driven, Implementation, ReferenceModel, System, TextOptions, VerifyOptions,
        VerifyReport, report_text, verify,
    };
}

pub mod history;
pub mod observation;

// The engine: private where only the library uses it; elsewhere reachable
// for the `arrears` binary and the tests, but hidden and not an API.
#[doc(hidden)]
pub mod adapter_check;
#[doc(hidden)]
pub mod check;
#[doc(hidden)]
pub mod compare;
mod coverage;
#[doc(hidden)]
pub mod directed;
mod duration;
#[doc(hidden)]
pub mod examples;
#[doc(hidden)]
pub mod exit;
#[doc(hidden)]
pub mod explain;
#[doc(hidden)]
pub mod files;
#[doc(hidden)]
pub mod fleet;
#[doc(hidden)]
pub mod generate;
mod idmap;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod progress;
#[doc(hidden)]
pub mod protocol;
#[doc(hidden)]
pub mod replay;
mod schema;
#[doc(hidden)]
pub mod spec;
#[doc(hidden)]
pub mod sut;
#[doc(hidden)]
pub mod svg;
#[doc(hidden)]
pub mod timeline;
#[doc(hidden)]
pub mod verify;
#[doc(hidden)]
pub mod yaml;

#[cfg(test)]
mod testing;
