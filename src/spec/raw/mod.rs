//! The shape of one spec file exactly as written in YAML.
//!
//! These types only describe syntax: every identifier is still a string
//! carrying the line and column where it was written, so that
//! [`super::compile()`] can report a dangling reference at its place. Nothing
//! outside the spec loader sees these types; the engine works on the
//! compiled [`super::Catalog`].
//!
//! The format is documented for spec authors in `docs/spec-format.md`;
//! keep the two in step. The same types give the spec's JSON Schema
//! (`arrears schema spec`, for editors): a spanned field is described by
//! the type it holds (`#[schemars(with = ...)]`), and the doc comments
//! become the descriptions an editor shows.
//!
//! This file holds the file itself, its document, parameters and
//! operations; each further section has a file of its own, re-exported
//! here so that every type is `spec::raw::X`.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::yaml::Spanned;

mod invariants;
mod lifecycles;
mod policies;
mod rules;

pub use invariants::*;
pub use lifecycles::*;
pub use policies::*;
pub use rules::*;

/// An identifier or reference, with its position.
pub type Id = Spanned<String>;

/// A text field, with its position.
pub type Text = Spanned<String>;

/// The schema of a text field where a value is written (a parameter's
/// value, a formula): the YAML reader takes any plain scalar as text, so
/// `value: 15` and `value: true` are as good as `value: "15"`, and an
/// editor must not flag them.
struct Scalar;

impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "number", "boolean"]})
    }
}

/// One spec file: a policy document encoded as data (docs/spec-format.md).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "arrears spec file")]
pub struct SpecFile {
    /// Which source document the file encodes.
    pub document: Document,
    /// Every number and choice the document gives (or an interpretation
    /// chose), with its unit and where it is said.
    pub parameters: Vec<Parameter>,
    /// The operations of the product a history may ask for.
    #[serde(default)]
    pub operations: Vec<Operation>,
    /// Account-wide settlement choices: in exactly one file of a set.
    #[serde(default)]
    pub ledger: Option<Ledger>,
    /// How the product's pay-as-you-go bills are deducted.
    #[serde(default)]
    pub billing: Option<Billing>,
    /// What an overdue account does to the product's operations.
    #[serde(default)]
    pub account: Option<AccountPolicy>,
    /// The notifications the product sends.
    #[serde(default)]
    pub notifications: Vec<Notification>,
    /// Refund formulas.
    #[serde(default)]
    pub formulas: Vec<Formula>,
    /// The lifecycles of the product's resources: what the model executes.
    #[serde(default)]
    pub lifecycles: Vec<Lifecycle>,
    /// Every checkable sentence of the document.
    pub rules: Vec<Rule>,
    /// Where the text is ambiguous: the readings, and which one the model
    /// takes.
    #[serde(default)]
    pub interpretations: Vec<Interpretation>,
    /// Documented consequences, checked on any trace.
    #[serde(default)]
    pub invariants: Vec<Invariant>,
}

/// The source document a spec file encodes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Short id; every id in the file starts with `<id>.`.
    #[schemars(with = "String")]
    pub id: Id,
    /// The document's title.
    #[schemars(with = "String")]
    pub title: Text,
    /// The product's full name as the document writes it.
    #[schemars(with = "String")]
    pub product: Text,
    /// The document's "Last Updated" date (YYYY-MM-DD), where it gives one.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub last_updated: Option<Text>,
    /// File name of the source document in the shared sources.
    #[schemars(with = "String")]
    pub source: Text,
    /// The section headings of the source that rules may cite, as written
    /// there; `(opening)` names the text before the first heading.
    #[schemars(with = "Vec<String>")]
    pub sections: Vec<Text>,
}

/// A number or choice of the document, with its unit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The parameter's id (`<document>.<name>`).
    #[schemars(with = "String")]
    pub id: Id,
    /// The value as written; its meaning depends on `unit`.
    #[schemars(with = "Scalar")]
    pub value: Text,
    /// What the value counts: a duration unit, `count`, `flag` (true or
    /// false) or `choice` (one of `options`).
    #[schemars(with = "Unit")]
    pub unit: Spanned<Unit>,
    /// The allowed values, for `unit: choice`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub options: Vec<Id>,
    /// What the value means, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Where the document gives the number (absent for values an
    /// interpretation chose).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub section: Option<Text>,
    /// The words of the document that give the number, verbatim.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub anchor: Option<Text>,
    /// The interpretation that chose this value, when the document gives none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub interpretation: Option<Id>,
}

/// The unit of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// A duration in whole days.
    Days,
    /// A duration in whole hours.
    Hours,
    /// A duration in whole minutes.
    Minutes,
    /// A duration in whole seconds.
    Seconds,
    /// A whole number.
    Count,
    /// `true` or `false`.
    Flag,
    /// One of the parameter's `options`.
    Choice,
}

/// An operation of the product a history may ask for.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The operation's id, local to the file (`renew`, `create-snapshot`).
    #[schemars(with = "String")]
    pub id: Id,
    /// What the operation does, in our own words.
    #[schemars(with = "String")]
    pub meaning: Text,
    /// Whether performing it costs money (purchase, renew, upgrade...).
    #[serde(default)]
    pub fee_incurring: bool,
}
