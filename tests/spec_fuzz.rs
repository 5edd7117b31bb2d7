//! The spec loader never panics, whatever it is given.
//!
//! Two properties: (a) arbitrary bytes, read lossily as UTF-8, and (b) the
//! shipped specs with a few random edits (lines deleted, duplicated,
//! swapped or re-indented, characters replaced, YAML indicators inserted,
//! the text truncated, one scalar replaced by another of the same file).
//! `compile` must return, and an error must consist of diagnostics that
//! each name a file and say something (and render under their source line,
//! as `arrears lint` shows them, without panicking).

mod common;

use proptest::prelude::*;

use arrears::spec::sources::embedded;
use arrears::spec::{SpecSource, compile};

/// Compiles `sources` and checks the shape of the result.
fn check(sources: &[SpecSource]) -> Result<(), TestCaseError> {
    if let Err(diags) = compile(sources) {
        prop_assert!(!diags.0.is_empty(), "an error without any diagnostic");
        for d in &diags.0 {
            prop_assert!(!d.message.trim().is_empty(), "empty message: {:?}", d);
            prop_assert!(!d.file.is_empty(), "no file name: {:?}", d);
            let source = sources.iter().find(|s| s.name == d.file);
            prop_assert!(
                source.is_some(),
                "diagnostic names a file that was not given: {:?}",
                d
            );
            // `arrears lint` renders each diagnostic under its source line;
            // that must not panic on any position either.
            let _ = d.render_with_source(&source.unwrap().text);
        }
    }
    Ok(())
}

// ----- (a) arbitrary bytes ----------------------------------------------------

/// Bytes drawn from the characters that matter to YAML, so that some inputs
/// get past the scanner and into the deserializer.
fn yamlish_bytes() -> impl Strategy<Value = Vec<u8>> {
    const ALPHABET: &[u8] = b"  \n\n\t-:[]{},&*!|>'\"#%@`?abcdefgiloprstuy0123456789.";
    prop::collection::vec(prop::sample::select(ALPHABET), 0..1024)
}

proptest! {
    #![proptest_config(common::proptest_config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..2048),
            yamlish_bytes(),
        ]
    ) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        check(&[SpecSource { name: "fuzz.yaml".to_string(), text }])?;
    }
}

// ----- (b) mutated shipped specs --------------------------------------------------

/// One random edit. Indexes are taken modulo the size of whatever they
/// index, so every edit applies to every text.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    /// Adds (positive) or removes (negative) leading spaces.
    Reindent(usize, i8),
    ReplaceChar(usize, char),
    InsertYaml(usize, &'static str),
    Truncate(usize),
    /// Replaces the i-th scalar token of the text by the j-th.
    ReplaceScalar(usize, usize),
}

const YAML_TOKENS: &[&str] = &[
    ":", "-", "[", "{", "&a", "*a", "!!tag", "\"", ": ", "- ", "]", "}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let index = any::<usize>();
    prop_oneof![
        index.prop_map(Mutation::DeleteLine),
        index.prop_map(Mutation::DuplicateLine),
        (index, index).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (index, -6i8..=6).prop_map(|(a, d)| Mutation::Reindent(a, d)),
        (index, any::<char>()).prop_map(|(a, c)| Mutation::ReplaceChar(a, c)),
        (index, prop::sample::select(YAML_TOKENS)).prop_map(|(a, t)| Mutation::InsertYaml(a, t)),
        index.prop_map(Mutation::Truncate),
        (index, index).prop_map(|(a, b)| Mutation::ReplaceScalar(a, b)),
    ]
}

/// The byte ranges of the scalar-looking tokens of `text`: runs of
/// characters that are not whitespace nor a YAML flow or key indicator.
fn scalar_tokens(text: &str) -> Vec<std::ops::Range<usize>> {
    let is_delimiter = |c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}');
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (start, is_delimiter(c)) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                push_token(text, s..i, &mut out);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        push_token(text, s..text.len(), &mut out);
    }
    out
}

fn push_token(text: &str, range: std::ops::Range<usize>, out: &mut Vec<std::ops::Range<usize>>) {
    // Keys (`id:`) and list markers (`-`) are structure, not scalars.
    let token = &text[range.clone()];
    let token_end = range.end - token.len() + token.trim_end_matches(':').len();
    if token_end > range.start && token != "-" {
        out.push(range.start..token_end);
    }
}

/// The byte offset of the `n`-th character boundary (modulo the number of
/// boundaries, the end of the text included).
fn char_boundary(text: &str, n: usize) -> usize {
    let count = text.chars().count() + 1;
    let k = n % count;
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .nth(k)
        .unwrap_or(text.len())
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let line_edit = |lines: &mut Vec<String>| -> String {
        let mut out = lines.join("\n");
        out.push('\n');
        out
    };
    match *mutation {
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            let i = i % lines.len();
            lines.remove(i);
            line_edit(&mut lines)
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let i = i % lines.len();
            let line = lines[i].clone();
            lines.insert(i, line);
            line_edit(&mut lines)
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a % lines.len(), b % lines.len());
            lines.swap(a, b);
            line_edit(&mut lines)
        }
        Mutation::Reindent(i, delta) if !lines.is_empty() => {
            let i = i % lines.len();
            let line = &lines[i];
            let indent = line.len() - line.trim_start_matches(' ').len();
            let new_indent = (indent as i64 + i64::from(delta)).max(0) as usize;
            lines[i] = format!("{}{}", " ".repeat(new_indent), &line[indent..]);
            line_edit(&mut lines)
        }
        Mutation::ReplaceChar(n, c) => {
            if text.is_empty() {
                return text.to_string();
            }
            let at = char_boundary(text, n % text.chars().count());
            let old_len = text[at..].chars().next().map_or(0, char::len_utf8);
            format!("{}{}{}", &text[..at], c, &text[at + old_len..])
        }
        Mutation::InsertYaml(n, token) => {
            let at = char_boundary(text, n);
            format!("{}{}{}", &text[..at], token, &text[at..])
        }
        Mutation::Truncate(n) => text[..char_boundary(text, n)].to_string(),
        Mutation::ReplaceScalar(i, j) => {
            let tokens = scalar_tokens(text);
            if tokens.is_empty() {
                return text.to_string();
            }
            let target = tokens[i % tokens.len()].clone();
            let source = tokens[j % tokens.len()].clone();
            format!(
                "{}{}{}",
                &text[..target.start],
                &text[source],
                &text[target.end..]
            )
        }
        // A line edit of an empty text.
        _ => text.to_string(),
    }
}

proptest! {
    #![proptest_config(common::proptest_config(512))]

    #[test]
    fn mutated_shipped_specs_never_panic(
        file in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let mut sources = embedded();
        let index = file % sources.len();
        let mut text = sources[index].text.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        sources[index].text = text;
        check(&sources)?;
    }
}

// ----- the mutations themselves -----------------------------------------------------

#[test]
fn mutations_change_the_text_as_described() {
    let text = "a: x\n  b: [y, z]\nc: w\n";
    assert_eq!(apply(text, &Mutation::DeleteLine(1)), "a: x\nc: w\n");
    assert_eq!(
        apply(text, &Mutation::DuplicateLine(2)),
        "a: x\n  b: [y, z]\nc: w\nc: w\n"
    );
    assert_eq!(
        apply(text, &Mutation::SwapLines(0, 2)),
        "c: w\n  b: [y, z]\na: x\n"
    );
    assert_eq!(
        apply(text, &Mutation::Reindent(1, -2)),
        "a: x\nb: [y, z]\nc: w\n"
    );
    assert_eq!(
        apply(text, &Mutation::Reindent(0, 1)),
        " a: x\n  b: [y, z]\nc: w\n"
    );
    assert_eq!(
        apply(text, &Mutation::ReplaceChar(0, 'é')),
        "é: x\n  b: [y, z]\nc: w\n"
    );
    assert_eq!(
        apply(text, &Mutation::InsertYaml(3, "&a")),
        "a: &ax\n  b: [y, z]\nc: w\n"
    );
    assert_eq!(apply(text, &Mutation::Truncate(4)), "a: x");
    // Tokens: a x b y z c w.
    assert_eq!(
        apply(text, &Mutation::ReplaceScalar(1, 6)),
        "a: w\n  b: [y, z]\nc: w\n"
    );
    assert_eq!(
        apply(text, &Mutation::ReplaceScalar(4, 0)),
        "a: x\n  b: [y, a]\nc: w\n"
    );
    // Indexes wrap around instead of going out of range.
    assert_eq!(
        apply(text, &Mutation::DeleteLine(usize::MAX)),
        apply(text, &Mutation::DeleteLine(usize::MAX % 3))
    );
    assert_eq!(apply("", &Mutation::ReplaceScalar(3, 4)), "");
    assert_eq!(apply("é", &Mutation::Truncate(1)), "é");
}

#[test]
fn one_mutation_can_break_a_shipped_spec() {
    // The property above is only worth something if the mutations reach the
    // compiler's checks: replacing a rule reference by another scalar of the
    // file must produce a located diagnostic, not a panic and not success.
    let mut sources = embedded();
    let text = sources[0].text.clone();
    let tokens = scalar_tokens(&text);
    let target = tokens
        .iter()
        .position(|r| &text[r.clone()] == "ecs.overdue.reminders")
        .expect("ecs.yaml cites ecs.overdue.reminders");
    let source = tokens
        .iter()
        .position(|r| &text[r.clone()] == "ecs.deduction-at-t")
        .expect("ecs.yaml declares ecs.deduction-at-t");
    sources[0].text = apply(&text, &Mutation::ReplaceScalar(target, source));
    let diags = compile(&sources).expect_err("a parameter cited as a rule is an error");
    assert!(
        diags
            .0
            .iter()
            .any(|d| d.message.contains("is not a rule") && d.line > 0),
        "{diags}"
    );
}

// ----- line breaks and odd characters ---------------------------------------------

#[test]
fn a_nel_then_a_bad_byte_gets_a_diagnostic_not_a_panic() {
    // Once found by `arbitrary_bytes_never_panic`: the snippet's span ended
    // inside the two bytes of U+0085.
    let text = String::from_utf8_lossy(b"\xc2\x85\x01").into_owned();
    check(&[SpecSource {
        name: "nel.yaml".to_string(),
        text,
    }])
    .unwrap();
}

#[test]
fn the_snippet_underlines_the_token_whatever_the_line_breaks() {
    // The YAML parser ends lines at LF, CRLF and a lone CR, and does not
    // count a byte order mark as a column; the snippet must agree with it.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/valid");
    let valid = arrears::spec::sources::read_dir(&dir)
        .unwrap()
        .remove(0)
        .text;
    let broken = valid.replacen("  id: mini\n", "  id: mini\n  bogus: 1\n", 1);
    assert_ne!(broken, valid, "the valid fixture's document id moved");
    for newline in ["\n", "\r\n", "\r"] {
        for bom in ["", "\u{feff}"] {
            let text = format!("{bom}{}", broken.replace('\n', newline));
            let sources = [SpecSource {
                name: "spec.yaml".to_string(),
                text: text.clone(),
            }];
            let diags = compile(&sources).expect_err("an unknown field");
            let d = &diags.0[0];
            assert!(d.message.contains("unknown field `bogus`"), "{d}");
            let rendered = d.render_with_source(&text);
            let lines: Vec<&str> = rendered.lines().collect();
            let at = lines
                .iter()
                .position(|l| l.ends_with("|   bogus: 1"))
                .unwrap_or_else(|| panic!("{newline:?} {bom:?}:\n{rendered}"));
            let caret = lines[at + 1];
            assert_eq!(
                caret.find('^'),
                lines[at].find("bogus"),
                "{newline:?} {bom:?}:\n{rendered}"
            );
            assert!(caret.contains("^^^^^^"), "{rendered}");
            assert!(
                rendered.contains(&format!("spec.yaml:{}:3", d.line)),
                "{rendered}"
            );
        }
    }
}
