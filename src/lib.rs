//! arrears: a property-based conformance suite for cloud overdue-payment
//! lifecycles.
//!
//! Data flows one way: [`spec`] (the policy documents as executable YAML)
//! feeds the reference model, whose trace the checks judge and the reports
//! present. See ARCHITECTURE.md for the map.

pub mod adapter_check;
pub mod check;
pub mod compare;
pub mod coverage;
pub mod directed;
pub mod duration;
pub mod examples;
pub mod exit;
pub mod explain;
pub mod files;
pub mod fleet;
pub mod generate;
pub mod history;
pub mod model;
pub mod observation;
pub mod progress;
pub mod protocol;
pub mod replay;
pub mod report;
mod schema;
pub mod spec;
pub mod sut;
pub mod svg;
pub mod timeline;
pub mod verify;
pub mod yaml;

#[cfg(test)]
mod testing;
