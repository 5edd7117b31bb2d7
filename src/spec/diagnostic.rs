//! Located error messages about spec files.
//!
//! A diagnostic names the file, the line and column, the element it is
//! about (a rule, a lifecycle, a field) and what is wrong, so that a spec
//! author can go straight to the place. Rendering with a source snippet is
//! done here too, for `arrears lint`.

use std::fmt;

use crate::yaml::Position;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The element the problem is in, such as `rule ecs.payg.stop-at-t15`.
    pub element: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        file: &str,
        position: Option<Position>,
        element: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let position = position.unwrap_or_default();
        Diagnostic {
            file: file.to_string(),
            line: position.line,
            column: position.column,
            element: element.into(),
            message: message.into(),
        }
    }

    /// Renders the diagnostic with the offending line of `text` under it.
    pub fn render_with_source(&self, text: &str) -> String {
        use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
        let title = self.to_string();
        let Some(span) = char_span(text, self.line, self.column) else {
            return title;
        };
        let header = if self.element.is_empty() {
            self.message.clone()
        } else {
            format!("{} (in {})", self.message, self.element)
        };
        let report = [Level::ERROR.primary_title(&header).element(
            Snippet::source(text)
                .path(&self.file)
                .annotation(AnnotationKind::Primary.span(span)),
        )];
        Renderer::plain().render(&report).to_string()
    }
}

/// The byte range of the token starting at 1-based `line`:`column` (in
/// characters), for the snippet renderer.
fn char_span(text: &str, line: u32, column: u32) -> Option<std::ops::Range<usize>> {
    if line == 0 {
        return None;
    }
    let mut offset = 0;
    for (index, content) in text.split_inclusive('\n').enumerate() {
        if index + 1 == line as usize {
            let start = content
                .char_indices()
                .nth(column.saturating_sub(1) as usize)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let rest = &content[start..];
            let len = rest
                .find(|c: char| c.is_whitespace() || c == ',' || c == '}' || c == ']')
                .unwrap_or(rest.len())
                .max(1)
                .min(rest.len().max(1));
            let end = (offset + start + len).min(text.len());
            return Some(offset + start..end.max(offset + start));
        }
        offset += content.len();
    }
    None
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.element.is_empty() {
            write!(f, " (in {})", self.element)?;
        }
        Ok(())
    }
}

/// Every problem found in a set of spec files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_place_and_element() {
        let d = Diagnostic::new(
            "ecs.yaml",
            Some(Position { line: 3, column: 7 }),
            "rule ecs.x",
            "unknown rule `ecs.y`",
        );
        assert_eq!(
            d.to_string(),
            "ecs.yaml:3:7: unknown rule `ecs.y` (in rule ecs.x)"
        );
    }

    #[test]
    fn renders_a_snippet_without_panicking_on_odd_positions() {
        let text = "a: 1\nbb: ünïcode\n";
        for (line, column) in [(1, 1), (2, 5), (2, 99), (9, 1), (0, 0)] {
            let d = Diagnostic::new("f.yaml", Some(Position { line, column }), "", "bad");
            let out = d.render_with_source(text);
            assert!(out.contains("bad"), "{out}");
        }
    }
}
