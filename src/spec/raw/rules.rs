//! A spec file's rules (the checkable sentences, and what enforces them)
//! and interpretations (ambiguous passages and their readings) as written.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Id, Scalar, Spanned, Text};

/// A checkable sentence of the document.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// The heading of the section of the source the rule comes from.
    #[schemars(with = "String")]
    pub section: Text,
    /// A short phrase found verbatim in the source.
    #[schemars(with = "String")]
    pub anchor: Text,
    /// The rule in our own words.
    #[schemars(with = "String")]
    pub statement: Text,
    /// How binding the sentence is.
    #[schemars(with = "Level")]
    pub level: Spanned<Level>,
    /// What kind of spec element enforces the rule.
    #[serde(default)]
    #[schemars(with = "Vec<Enforcer>")]
    pub enforced_by: Vec<Spanned<Enforcer>>,
    /// Why the rule is not modelled, when it is not.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub not_modelled: Option<Text>,
}

/// How binding a rule is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    serde::Serialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Must,
    Should,
    Informational,
}

/// A kind of spec element that enforces a rule.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    serde::Serialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcer {
    /// A lifecycle transition.
    Transition,
    /// A state's `rules` or an operation capability.
    Capability,
    /// A billing or ledger section.
    Billing,
    /// The account section.
    Account,
    Notification,
    Formula,
    Invariant,
}

/// An ambiguous passage of the document and its readings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interpretation {
    /// The interpretation's id (`<document>.interp.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// The section of the source the passage is in.
    #[schemars(with = "String")]
    pub section: Text,
    /// The ambiguous words, verbatim.
    #[schemars(with = "String")]
    pub anchor: Text,
    /// What the passage leaves open.
    #[schemars(with = "String")]
    pub question: Text,
    /// Which reading the reference model takes.
    #[schemars(with = "String")]
    pub chosen: Id,
    /// Why that reading.
    #[schemars(with = "String")]
    pub rationale: Text,
    /// The readings a correct implementation may take, in words.
    #[schemars(with = "String")]
    pub window: Text,
    /// The readings, the chosen one among them.
    pub readings: Vec<Reading>,
    /// The rules whose meaning this settles.
    #[schemars(with = "Vec<String>")]
    pub rules: Vec<Id>,
}

/// One reading of an ambiguous passage.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// The reading's id, local to the interpretation.
    #[schemars(with = "String")]
    pub id: Id,
    /// The reading, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Parameter values that make the model take this reading (empty for
    /// the chosen reading, whose values are the parameters' own).
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// A parameter value a reading sets.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The parameter.
    #[schemars(with = "String")]
    pub param: Id,
    /// Its value under the reading, written as the parameter's own.
    #[schemars(with = "Scalar")]
    pub value: Text,
}
