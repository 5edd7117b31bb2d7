//! Located error messages about spec files.
//!
//! A diagnostic names the file, the line and column, the element it is
//! about (a rule, a lifecycle, a field) and what is wrong, so that a spec
//! author can go straight to the place. Rendering with a source snippet is
//! done here too, for `arrears lint`.

use std::fmt;

use crate::yaml::Position;

/// One problem in a spec file: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The spec file, as its source was named (`specs/ecs.yaml`).
    pub file: String,
    /// 1-based line; 0 when the position is not known.
    pub line: u32,
    /// 1-based column, in characters; 0 when not known.
    pub column: u32,
    /// The element the problem is in, such as `rule ecs.payg.stop-at-t15`.
    pub element: String,
    /// What is wrong.
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
    ///
    /// Never panics, whatever the text and the position: the underlined
    /// range always lies on character boundaries inside the text, and a
    /// position past the end of a line or of the text points at that end.
    pub fn render_with_source(&self, text: &str) -> String {
        self.render(text, annotate_snippets::Renderer::plain())
    }

    /// As [`Diagnostic::render_with_source`], with ANSI styles (for a
    /// terminal; the command line strips them where colour is off).
    pub fn render_styled(&self, text: &str) -> String {
        self.render(text, annotate_snippets::Renderer::styled())
    }

    fn render(&self, text: &str, renderer: annotate_snippets::Renderer) -> String {
        use annotate_snippets::{AnnotationKind, Level, Snippet};
        let title = self.to_string();
        let text = snippet_text(text);
        let Some(span) = char_span(&text, self.line, self.column) else {
            return title;
        };
        let header = if self.element.is_empty() {
            self.message.clone()
        } else {
            format!("{} (in {})", self.message, self.element)
        };
        let report = [Level::ERROR.primary_title(&header).element(
            Snippet::source(&text)
                .path(&self.file)
                .annotation(AnnotationKind::Primary.span(span)),
        )];
        renderer.render(&report).to_string()
    }
}

/// The text as the snippet renderer should see it: lines broken where the
/// YAML parser breaks them. The parser ends a line at LF, CRLF or a lone
/// CR (never at NEL, LS or PS, which YAML 1.2 treats as ordinary
/// characters); the renderer only at LF and CRLF, so a lone CR becomes an
/// LF (the same single byte, so offsets do not move). A byte order mark at
/// the start is dropped: the parser does not count it as a column.
fn snippet_text(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find('\r') {
        out.push_str(&rest[..i]);
        let lone = bytes.get(offset + i + 1) != Some(&b'\n');
        out.push(if lone { '\n' } else { '\r' });
        rest = &rest[i + 1..];
        offset += i + 1;
    }
    out.push_str(rest);
    out
}

/// The lines of `text` as (start, end) byte offsets of their content, line
/// breaks (LF or CRLF) excluded. An empty text has one empty line.
fn line_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices('\n') {
        let end = if i > start && text.as_bytes()[i - 1] == b'\r' {
            i - 1
        } else {
            i
        };
        out.push((start, end));
        start = i + 1;
    }
    if start < text.len() || out.is_empty() {
        out.push((start, text.len()));
    }
    out
}

/// The byte range of the token at 1-based `line`:`column` (the column in
/// characters, as the YAML parser counts them), for the snippet renderer.
///
/// The range lies on character boundaries within the line's content, so
/// it is always a valid slice of `text`. A line past the last one means the
/// end of the text; a column past the end of its line means that end (an
/// empty range). A byte order mark opening a line is not a column, as for
/// the parser. `None` only for line 0, which means "no position".
fn char_span(text: &str, line: u32, column: u32) -> Option<std::ops::Range<usize>> {
    if line == 0 {
        return None;
    }
    let lines = line_ranges(text);
    let Some(&(line_start, line_end)) = lines.get(line as usize - 1) else {
        return Some(text.len()..text.len());
    };
    let content = &text[line_start..line_end];
    let skipped = content.len() - content.trim_start_matches('\u{feff}').len();
    let start = content[skipped..]
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(content.len(), |(i, _)| skipped + i);
    let rest = &content[start..];
    let token = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']'))
        .unwrap_or(rest.len());
    // At least one character when there is one, so the caret shows.
    let len = if token == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        token
    };
    Some(line_start + start..line_start + start + len)
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

    fn render(text: &str, line: u32, column: u32) -> String {
        Diagnostic::new("f.yaml", Some(Position { line, column }), "", "bad")
            .render_with_source(text)
    }

    /// The underlined part of `text` at `line`:`column`.
    fn underlined(text: &str, line: u32, column: u32) -> String {
        let text = snippet_text(text);
        let span = char_span(&text, line, column).unwrap();
        text[span].to_string()
    }

    #[test]
    fn a_nel_then_a_bad_byte_renders() {
        // Found by tests/spec_fuzz.rs: the span ended inside U+0085.
        let text = String::from_utf8_lossy(b"\xc2\x85\x01").into_owned();
        for (line, column) in [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1)] {
            assert!(render(&text, line, column).contains("bad"));
        }
        assert_eq!(underlined(&text, 1, 1), "\u{85}");
        assert_eq!(underlined(&text, 1, 2), "\u{1}");
    }

    #[test]
    fn spans_follow_the_yaml_parsers_lines_and_columns() {
        // LF, CRLF and a lone CR end lines; NEL, LS and PS do not.
        let text = "a: x\r\nb: y\rc: z\u{85}w\u{2028}v\nd: \tq";
        assert_eq!(underlined(text, 1, 4), "x");
        assert_eq!(underlined(text, 2, 4), "y");
        assert_eq!(underlined(text, 3, 4), "z");
        assert_eq!(underlined(text, 3, 5), "\u{85}");
        assert_eq!(underlined(text, 3, 6), "w");
        assert_eq!(underlined(text, 3, 8), "v");
        assert_eq!(underlined(text, 4, 4), "\t");
        assert_eq!(underlined(text, 4, 5), "q");
        // A combining mark is a character of its own.
        assert_eq!(underlined("k: e\u{301}x", 1, 5), "\u{301}x");
        // A byte order mark is not a column.
        assert_eq!(underlined("\u{feff}key: v", 1, 1), "key:");
        // Past the end of a line, of the text, and an empty text.
        assert_eq!(underlined("ab\ncd", 1, 9), "");
        assert_eq!(underlined("ab\ncd", 7, 1), "");
        assert_eq!(underlined("", 1, 1), "");
        assert_eq!(underlined("", 3, 3), "");
        for (text, line, column) in [("ab\ncd", 1, 9), ("ab\ncd", 7, 1), ("", 1, 1), ("\r", 2, 1)] {
            assert!(render(text, line, column).contains("bad"));
        }
    }

    #[test]
    fn the_snippet_shows_the_line_the_parser_counts() {
        let out = render("a: 1\rb: 2\rc: oops\r", 3, 4);
        assert!(out.contains("f.yaml:3:4"), "{out}");
        assert!(out.contains("c: oops"), "{out}");
        assert!(!out.contains('\r'), "{out}");
    }

    /// Where each character is, as the YAML parser counts: 1-based lines
    /// broken at LF, CRLF or a lone CR; 1-based columns in characters, a
    /// byte order mark opening a line not counted. Offsets are into the
    /// text without its leading byte order mark, as rendered.
    fn parser_positions(text: &str) -> Vec<((u32, u32), usize)> {
        let shift = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut out = Vec::new();
        let (mut line, mut column) = (1, 1);
        let mut chars = text.char_indices().peekable();
        let mut line_start = true;
        while let Some((i, c)) = chars.next() {
            match c {
                '\n' => (line, column, line_start) = (line + 1, 1, true),
                '\r' => {
                    if chars.peek().map(|(_, c)| *c) != Some('\n') {
                        (line, column, line_start) = (line + 1, 1, true);
                    }
                }
                '\u{feff}' if line_start => {}
                _ => {
                    if i >= shift {
                        out.push(((line, column), i - shift));
                    }
                    column += 1;
                    line_start = false;
                }
            }
        }
        out
    }

    const PIECES: &[&str] = &[
        "a", "key", ":", " ", "\t", ",", "}", "]", "\n", "\r\n", "\r", "\u{85}", "\u{2028}",
        "\u{2029}", "\u{feff}", "e\u{301}", "\u{301}", "é", "日本", "😀", "\u{0}", "\u{1}",
        "\u{7f}",
    ];

    proptest::proptest! {
        #![proptest_config(crate::testing::proptest_config(512))]

        #[test]
        fn any_position_in_any_text_renders(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..40),
            line in proptest::prop_oneof![0u32..12, proptest::prelude::Just(u32::MAX)],
            column in proptest::prop_oneof![0u32..30, proptest::prelude::Just(u32::MAX)],
        ) {
            let text: String = pieces.concat();
            let out = render(&text, line, column);
            proptest::prop_assert!(out.contains("bad"), "{}", out);
            let shown = snippet_text(&text);
            match char_span(&shown, line, column) {
                None => proptest::prop_assert_eq!(line, 0),
                Some(span) => {
                    proptest::prop_assert!(span.start <= span.end && span.end <= shown.len());
                    proptest::prop_assert!(shown.is_char_boundary(span.start));
                    proptest::prop_assert!(shown.is_char_boundary(span.end));
                    proptest::prop_assert!(!shown[span.clone()].contains(['\n', '\r']));
                    // A position where the parser sees a character points at it.
                    let column = column.max(1);
                    if let Some((_, offset)) = parser_positions(&text)
                        .into_iter()
                        .find(|(p, _)| *p == (line, column))
                    {
                        proptest::prop_assert_eq!(span.start, offset);
                    }
                }
            }
        }
    }
}
