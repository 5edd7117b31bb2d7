//! The faithful implementation as a library: the same engine the
//! `arrears-faithful` binary serves on standard input and output, for
//! driving in-process (`arrears::Driven::new`), as arrears' own doctest
//! does.
//!
//! The binary declares these modules itself (it is built by the arrears
//! package, which cannot depend on this one: this one depends on arrears).

// The command-line parts of the modules (listing faults and readings) are
// used only by the binary.
#![allow(dead_code)]

mod engine;
mod faults;
mod ledger;
mod policy;
mod products;
mod readings;
mod vocab;

pub use engine::Engine;
pub use faults::Faults;
pub use readings::Readings;

/// The faithful implementation with no fault and the specs' chosen
/// readings: what `arrears-faithful` runs with no arguments.
pub fn faithful() -> Engine {
    Engine::new(Faults::none(), Readings::default())
}
