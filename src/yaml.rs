//! The one place that touches the YAML library.
//!
//! Every YAML document arrears reads (spec files, histories, worked examples,
//! replay files) and every one it writes goes through this module, so the
//! choice of library (serde-saphyr: pure Rust, fuzzed, keeps line/column
//! spans) is a one-file decision.
//!
//! Reading is strict on purpose: YAML 1.2 booleans only (`yes` is a string,
//! not `true`), duplicate keys are errors, and a budget bounds the work any
//! input can cause, so that a hostile file gets an error instead of a hang.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A position in a YAML text, 1-based, counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// Whether the position is real (the library reports 0:0 when it lost it).
    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value read from YAML together with where it was written.
pub type Spanned<T> = serde_saphyr::Spanned<T>;

/// Where a spanned value was written.
pub fn position_of<T>(value: &Spanned<T>) -> Position {
    Position {
        line: value.referenced.line() as u32,
        column: value.referenced.column() as u32,
    }
}

/// A YAML text that could not be read into the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Where the problem is, when the parser could tell.
    pub position: Option<Position>,
    /// What is wrong, without the position (callers add file and position).
    pub message: String,
}

/// The largest input arrears reads by default, in MiB. Real inputs are far
/// smaller (a spec is ~50 KB; a regressions file of 100,000 entries is
/// ~300 MB); the limit only stops an accidental or hostile giant from taking
/// the machine down. `--input-limit-mb` raises it.
pub const DEFAULT_INPUT_LIMIT_MB: usize = 1024;

static INPUT_LIMIT_MB: AtomicUsize = AtomicUsize::new(DEFAULT_INPUT_LIMIT_MB);

/// Sets the input limit for every later read in this process (the command
/// line's `--input-limit-mb`).
pub fn set_input_limit_mb(mb: usize) {
    INPUT_LIMIT_MB.store(mb.max(1), Ordering::Relaxed);
}

/// The input limit in force, in MiB.
pub fn input_limit_mb() -> usize {
    INPUT_LIMIT_MB.load(Ordering::Relaxed)
}

fn input_limit_bytes() -> usize {
    input_limit_mb().saturating_mul(1024 * 1024)
}

/// The message for an input over the limit.
pub fn too_large(bytes: usize) -> String {
    format!(
        "the input is {} MiB, more than the input limit of {} MiB; raise it with --input-limit-mb",
        bytes.div_ceil(1024 * 1024),
        input_limit_mb()
    )
}

fn options() -> serde_saphyr::Options {
    let limit = input_limit_bytes();
    let mut budget = serde_saphyr::Budget::default();
    // The work any text can cause is bounded by its size: a node takes at
    // least two bytes (`a,`), an event at most one node's start or end.
    // Aliases keep the library's defaults, which bound their expansion.
    budget.max_nodes = limit / 2 + 16;
    budget.max_events = limit + 32;
    budget.max_total_scalar_bytes = limit;
    budget.max_reader_input_bytes = Some(limit);
    budget.max_depth = 64;
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        budget: Some(budget),
    }
}

/// Reads one YAML document into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    if text.len() > input_limit_bytes() {
        return Err(YamlError {
            position: None,
            message: too_large(text.len()),
        });
    }
    serde_saphyr::from_str_with_options(text, options()).map_err(|err| {
        let position = err.location().map(|loc| Position {
            line: loc.line() as u32,
            column: loc.column() as u32,
        });
        let message = match err.without_snippet() {
            serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
            other => plain_message(&other.to_string()),
        };
        YamlError {
            position: position.filter(|p| p.is_known()),
            message,
        }
    })
}

/// A budget breach in words, naming the limit and how to raise it where
/// one can.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let raise = format!(
        "raise the input limit ({} MiB) with --input-limit-mb",
        input_limit_mb()
    );
    match breach {
        B::Depth { depth } => {
            format!("the document is nested {depth} levels deep; arrears reads at most 64")
        }
        B::Nodes { nodes } => format!("the document has more than {nodes} values; {raise}"),
        B::Events { events } => {
            format!("the document has more than {events} YAML events; {raise}")
        }
        B::ScalarBytes { total_scalar_bytes } => {
            format!("the document's text values exceed {total_scalar_bytes} bytes; {raise}")
        }
        B::InputBytes { .. } => format!("the document is larger than the input limit; {raise}"),
        B::Aliases { aliases } => format!(
            "the document uses more than {aliases} aliases (`*name`); write the values out instead"
        ),
        B::Anchors { anchors } => format!(
            "the document defines more than {anchors} anchors (`&name`); write the values out instead"
        ),
        _ => format!("the document is too large or too complex to read safely; {raise}"),
    }
}
/// Writes `value` as a YAML document.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|err| YamlError {
        position: None,
        message: err.to_string(),
    })
}

/// The library's message in our words: without the " at line L, column C"
/// it appends (we report the position separately, after the file name) and
/// without advice about its own options.
fn plain_message(message: &str) -> String {
    let mut message = match message.find(" at line ") {
        Some(idx) if message[idx..].contains(", column ") => message[..idx].to_string(),
        _ => message.to_string(),
    };
    if let Some(idx) = message.find(", set DuplicateKeyPolicy") {
        message.truncate(idx);
    }
    // The library's advice to Rust programmers, in the words of a file's
    // author.
    for (library, ours) in [
        (
            "cannot deserialize null into string; use Option<String>",
            "a value is required here, but it is empty (null)",
        ),
        (
            "invalid char: cannot deserialize null; use Option<char>",
            "a character is required here, but it is empty (null)",
        ),
        (
            "invalid boolean (strict mode expects true/false)",
            "expected `true` or `false` (YAML 1.2: `yes`, `no`, `on` and `off` are strings)",
        ),
    ] {
        if message.contains(library) {
            message = message.replace(library, ours);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        flag: bool,
        name: String,
    }

    #[test]
    fn yes_is_not_a_boolean() {
        let err = from_str::<Small>("flag: yes\nname: a\n").unwrap_err();
        assert_eq!(err.position, Some(Position { line: 1, column: 7 }));
        assert!(err.message.contains("`true` or `false`"), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = from_str::<Small>("flag: true\nflag: false\nname: a\n").unwrap_err();
        assert_eq!(err.position.map(|p| p.line), Some(2));
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn unknown_fields_are_located() {
        let err = from_str::<Small>("flag: true\nname: a\nextra: 1\n").unwrap_err();
        assert_eq!(err.position, Some(Position { line: 3, column: 1 }));
        assert_eq!(
            err.message,
            "unknown field `extra`, expected one of flag, name"
        );
    }
}
