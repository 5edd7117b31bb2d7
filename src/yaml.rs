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

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // Spec and history files are small; these bounds keep a hostile or
    // accidental giant input from taking the process down.
    budget.max_events = 2_000_000;
    budget.max_depth = 64;
    serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        budget: Some(budget),
    }
}

/// Reads one YAML document into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|err| {
        let position = err.location().map(|loc| Position {
            line: loc.line() as u32,
            column: loc.column() as u32,
        });
        YamlError {
            position: position.filter(|p| p.is_known()),
            message: plain_message(&err.without_snippet().to_string()),
        }
    })
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
    if message.starts_with("budget breached") {
        message = format!(
            "the document is too large or too deeply nested to read ({})",
            message.trim_start_matches("budget breached: ")
        );
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
        assert!(err.message.contains("boolean"), "{}", err.message);
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
