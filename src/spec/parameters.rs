//! Compiled parameters: the numbers and choices of the documents, their
//! values, and sums of duration parameters.

use chrono::TimeDelta;
use serde::Serialize;

use super::{DocId, ParamId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Duration(#[serde(serialize_with = "crate::duration::serialize_text")] TimeDelta),
    Count(i64),
    Flag(bool),
    Choice(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Duration(d) => f.write_str(&crate::duration::format(*d)),
            ParamValue::Count(n) => write!(f, "{n}"),
            ParamValue::Flag(b) => write!(f, "{b}"),
            ParamValue::Choice(c) => f.write_str(c),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    pub id: String,
    #[serde(skip)]
    pub doc: DocId,
    pub value: ParamValue,
    pub unit: String,
    pub meaning: String,
    pub section: Option<String>,
    pub anchor: Option<String>,
    pub interpretation: Option<String>,
}

/// A sum of parameter durations and a literal part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationExpr {
    pub params: Vec<ParamId>,
    pub literal: TimeDelta,
}
