//! How the JSON Schemas of arrears' files are generated.
//!
//! Every schema `arrears schema` prints comes from the Rust types that read
//! or write the file (schemars), so a schema cannot drift from the format;
//! each module that owns a format has a `json_schema()` built with these
//! settings. The doc comments of the types and fields become the schema's
//! descriptions, which editors show on hover.
//!
//! The schemas are JSON Schema draft-07, not the newer 2020-12: most of
//! these files are YAML written by hand, and yaml-language-server (the
//! editor support that reads a `# yaml-language-server: $schema=...`
//! modeline) validates draft-07 only.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

/// The schema of a file arrears reads: what it accepts (a field with a
/// default may be left out).
pub(crate) fn of_input<T: JsonSchema>() -> Schema {
    settings()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// The schema of a file arrears only writes: what it writes (a field it
/// always writes is required, even when it may be `null`).
pub(crate) fn of_output<T: JsonSchema>() -> Schema {
    settings()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

fn settings() -> SchemaSettings {
    SchemaSettings::draft07().with_transform(unwrap_descriptions as fn(&mut Schema))
}

/// Joins the lines of every description into paragraphs. A doc comment is
/// wrapped at 80 columns; an editor shows each line break of a description
/// as a paragraph break, which chops a hover text into pieces.
fn unwrap_descriptions(schema: &mut Schema) {
    if let Some(serde_json::Value::String(text)) = schema.get_mut("description") {
        *text = unwrap(text);
    }
    schemars::transform::transform_subschemas(&mut unwrap_descriptions, schema);
}

/// `text` with single line breaks made spaces; blank lines (paragraphs)
/// and lines that open a list item stay.
fn unwrap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        out.push_str(line);
        if let Some(next) = lines.peek() {
            let list_item = ["- ", "* "]
                .iter()
                .any(|m| next.trim_start().starts_with(m));
            if line.is_empty() || next.is_empty() || list_item {
                out.push('\n');
            } else {
                out.push(' ');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_paragraphs_and_lists_but_not_line_wraps() {
        assert_eq!(unwrap("one\ntwo"), "one two");
        assert_eq!(unwrap("one\n\ntwo\nthree"), "one\n\ntwo three");
        assert_eq!(unwrap("items:\n- a\n- b"), "items:\n- a\n- b");
        assert_eq!(unwrap("plain"), "plain");
    }

    #[test]
    fn every_description_of_a_schema_is_unwrapped() {
        let schema = serde_json::to_string(&crate::history::json_schema()).unwrap();
        // "...worked\nexamples" in the doc comment of a field.
        assert!(
            schema.contains("for timelines and worked examples"),
            "{schema}"
        );
        assert!(!schema.contains("\\n"), "{schema}");
    }
}
