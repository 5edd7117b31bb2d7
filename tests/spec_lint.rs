//! The shipped specs compile, and the compiler rejects each broken fixture
//! with the diagnostic its `expected.txt` quotes.
//!
//! Fixtures live in `tests/fixtures/specs/`: `valid/` holds the smallest
//! spec that compiles on its own, and every directory of `broken/` holds a
//! spec set with one defect plus `expected.txt`, the first diagnostic as
//! `arrears lint tests/fixtures/specs/broken/<name>` prints it from the crate
//! root. Paths are normalised before comparing, so the tests do not depend
//! on the working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrears::spec::sources::{embedded, read_dir, verify_anchors};
use arrears::spec::{Diagnostic, SpecSource, compile};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    manifest_dir().join("tests/fixtures/specs")
}

/// The directories of `broken/`, by name.
fn broken_fixtures() -> BTreeMap<String, PathBuf> {
    let dir = fixtures().join("broken");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("readable fixture entry").path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.insert(name, path);
        }
    }
    out
}

/// A diagnostic as `file:line:column: message (in element)`, with every
/// mention of the fixture directory dropped (in the file part and in
/// messages that name another file, such as "already declared at ...").
fn normalised(d: &Diagnostic, dir: &Path) -> String {
    let file = Path::new(&d.file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut d = d.clone();
    d.file = file;
    let rendered = d.to_string();
    let prefix = format!("{}{}", dir.display(), std::path::MAIN_SEPARATOR);
    rendered.replace(&prefix, "")
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

#[test]
fn shipped_specs_compile() {
    let catalog = compile(&embedded()).unwrap_or_else(|d| panic!("shipped specs fail:\n{d}"));
    assert!(!catalog.rules.is_empty());
}

#[test]
fn specs_directory_matches_the_embedded_copy() {
    let on_disk = read_dir(&manifest_dir().join("specs")).expect("specs/ is readable");
    let by_name = |sources: &[SpecSource]| -> BTreeMap<String, String> {
        sources
            .iter()
            .map(|s| {
                let name = Path::new(&s.name)
                    .file_name()
                    .expect("a spec source has a file name")
                    .to_string_lossy()
                    .into_owned();
                (name, s.text.clone())
            })
            .collect()
    };
    let disk = by_name(&on_disk);
    let embedded = by_name(&embedded());
    assert_eq!(
        disk.keys().collect::<Vec<_>>(),
        embedded.keys().collect::<Vec<_>>(),
        "specs/*.yaml and sources::EMBEDDED list different files"
    );
    for (name, text) in &disk {
        assert!(
            embedded[name] == *text,
            "the embedded copy of {name} differs from specs/{name}"
        );
    }
    // The embedded names are the ones diagnostics print.
    for source in arrears::spec::sources::embedded() {
        assert!(source.name.starts_with("specs/"), "{}", source.name);
    }
}

#[test]
fn catalog_covers_five_documents_and_every_rule_is_anchored_and_accounted_for() {
    let catalog = compile(&embedded()).unwrap_or_else(|d| panic!("shipped specs fail:\n{d}"));
    let mut ids: Vec<&str> = catalog.documents.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ecs", "emr", "flink", "maxcompute", "spark"]);
    assert!(
        catalog.rules.len() >= 60,
        "only {} rules in the catalog",
        catalog.rules.len()
    );
    for doc in &catalog.documents {
        let n = catalog
            .rules
            .iter()
            .filter(|r| catalog.document(r.doc).id == doc.id)
            .count();
        assert!(n > 0, "document {} has no rule", doc.id);
    }
    for rule in &catalog.rules {
        let words = word_count(&rule.anchor);
        assert!(words > 0, "rule {} has an empty anchor", rule.id);
        assert!(words <= 15, "rule {} quotes {words} words", rule.id);
        let enforced = !rule.enforcements.is_empty();
        let reason = rule
            .not_modelled
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty());
        assert!(
            enforced || reason,
            "rule {} is neither enforced nor marked not_modelled with a reason",
            rule.id
        );
        assert!(
            !(enforced && rule.not_modelled.is_some()),
            "rule {} is enforced and also marked not_modelled",
            rule.id
        );
        // What the author declared is exactly what cites the rule.
        let mut declared = rule.enforced_by.clone();
        declared.sort();
        declared.dedup();
        let mut actual: Vec<_> = rule.enforcements.iter().map(|e| e.kind()).collect();
        actual.sort();
        actual.dedup();
        assert_eq!(declared, actual, "rule {}", rule.id);
    }
}

#[test]
fn valid_fixture_compiles_on_its_own() {
    let sources = read_dir(&fixtures().join("valid")).expect("valid fixture is readable");
    assert_eq!(sources.len(), 1, "the valid fixture is a single file");
    let catalog = compile(&sources).unwrap_or_else(|d| panic!("valid fixture fails:\n{d}"));
    assert_eq!(catalog.documents.len(), 1);
    assert_eq!(catalog.lifecycles.len(), 1);
    assert!(catalog.lifecycles[0].states.len() <= 3);
    assert_eq!(catalog.invariants.len(), 1);
    assert!(catalog.documents[0].billing.is_some());
    assert_eq!(catalog.document(catalog.ledger.doc).id, "mini");
}

/// The fixtures the suite must keep: one per class of error the compiler
/// detects. More may exist.
const REQUIRED_FIXTURES: &[&str] = &[
    "billing-open-without-reading",
    "yaml-syntax-error",
    "unknown-field",
    "wrong-type",
    "yes-as-boolean",
    "duplicate-key",
    "duplicate-id-across-files",
    "id-without-document-prefix",
    "malformed-id",
    "unknown-rule-reference",
    "unknown-parameter-reference",
    "wrong-kind-reference",
    "unknown-state-in-from",
    "value-does-not-fit-unit",
    "negative-duration",
    "unused-parameter",
    "rule-neither-enforced-nor-not-modelled",
    "enforced-by-kind-never-cited",
    "cited-by-undeclared-kind",
    "not-modelled-but-cited",
    "unreachable-state",
    "transition-leaves-terminal-state",
    "deleted-data-in-non-terminal-state",
    "anchor-too-long",
    "section-not-listed",
    "formula-does-not-parse",
    "chosen-reading-missing",
    "override-unknown-parameter",
    "missing-ledger",
    "overdue-signal-not-billed",
    "parent-entered-without-parent",
    "invariant-two-patterns",
    "zero-duration-timer",
    "reading-overrides-timer-to-zero",
    "formula-divides-by-zero",
];

#[test]
fn every_required_fixture_exists() {
    let found = broken_fixtures();
    let missing: Vec<&&str> = REQUIRED_FIXTURES
        .iter()
        .filter(|n| !found.contains_key(**n))
        .collect();
    assert!(missing.is_empty(), "missing broken fixtures: {missing:?}");
    assert!(found.len() >= 24, "only {} broken fixtures", found.len());
}

#[test]
fn every_broken_fixture_fails_with_its_expected_first_diagnostic() {
    let fixtures = broken_fixtures();
    assert!(!fixtures.is_empty());
    let mut failures = Vec::new();
    for (name, dir) in &fixtures {
        let expected_path = dir.join("expected.txt");
        let expected_raw = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected_raw = expected_raw.trim_end_matches(['\n', '\r']);
        assert_eq!(
            expected_raw.lines().count(),
            1,
            "{name}/expected.txt must hold exactly one line"
        );
        let relative = format!("tests/fixtures/specs/broken/{name}/");
        assert!(
            expected_raw.starts_with(&relative),
            "{name}/expected.txt must start with `{relative}`"
        );
        let expected = expected_raw.replace(&relative, "");

        let sources = read_dir(dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let diags = match compile(&sources) {
            Ok(_) => {
                failures.push(format!("{name}: compiles, but should fail"));
                continue;
            }
            Err(d) => d.0,
        };
        for d in &diags {
            assert!(!d.message.is_empty(), "{name}: empty message in {d:?}");
            assert!(
                d.line > 0 && d.column > 0,
                "{name}: diagnostic without a position: {d}"
            );
        }
        let actual = normalised(&diags[0], dir);
        if actual != expected {
            failures.push(format!(
                "{name}:\n  expected: {expected}\n  actual:   {actual}\n  all:\n    {}",
                diags
                    .iter()
                    .map(|d| normalised(d, dir))
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken fixtures differ:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

#[test]
fn diagnostics_are_sorted_by_file_and_position() {
    // The first diagnostic is only meaningful if the order is stable.
    for (name, dir) in broken_fixtures() {
        let sources = read_dir(&dir).unwrap();
        let Err(diags) = compile(&sources) else {
            panic!("{name} compiles");
        };
        let keys: Vec<_> = diags
            .0
            .iter()
            .map(|d| (d.file.clone(), d.line, d.column))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{name}: diagnostics out of order");
    }
}

/// Where the shared source documents are, if anywhere: the directory in
/// `ARREARS_SOURCES` if it exists, else `<crate>/../shared/sources` if that
/// exists.
fn sources_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ARREARS_SOURCES") {
        let dir = PathBuf::from(dir);
        if dir.is_dir() {
            return Some(dir);
        }
        println!(
            "ARREARS_SOURCES={} is not a directory; trying ../shared/sources",
            dir.display()
        );
    }
    let dir = manifest_dir().join("../shared/sources");
    dir.is_dir().then_some(dir)
}

#[test]
fn anchors_are_found_verbatim_in_the_sources() {
    let Some(dir) = sources_dir() else {
        println!(
            "anchor check skipped: it needs the source documents \
             (set ARREARS_SOURCES or put them in <crate>/../shared/sources)"
        );
        return;
    };
    let diags = verify_anchors(&embedded(), &dir);
    assert!(
        diags.is_empty(),
        "{} anchors or sections not found in {}:\n{}",
        diags.len(),
        dir.display(),
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn anchor_check_reports_a_quote_missing_from_the_source() {
    // The anchor check must be able to fail: a source document that lacks
    // the quoted text yields a located diagnostic.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mini-overdue-payments.txt"),
        "(opening)\nOverdue resources\nthe bill is deducted on the settlement date\n",
    )
    .unwrap();
    let sources = read_dir(&fixtures().join("valid")).unwrap();
    let diags = verify_anchors(&sources, dir.path());
    assert!(
        diags
            .iter()
            .any(|d| d.element == "rule mini.contact-support"
                && d.message.contains("not found verbatim")
                && d.line > 0),
        "{diags:?}"
    );
    assert!(
        !diags.iter().any(|d| d.element == "rule mini.deduction"),
        "{diags:?}"
    );
}

#[test]
fn an_accepted_reading_gets_the_checks_of_the_chosen_values() {
    // A reading that reorders the deduction offsets is refused at the
    // override, as the same values written as the parameters' own are
    // refused where the offsets are listed.
    let mut sources = embedded();
    let ecs = sources
        .iter_mut()
        .find(|s| s.name.ends_with("ecs.yaml"))
        .unwrap();
    let line = "          - {param: ecs.stop-after-overdue, value: \"16\"}\n";
    assert!(
        ecs.text.contains(line),
        "the ECS day-boundary reading moved"
    );
    ecs.text = ecs.text.replacen(
        line,
        &format!("{line}          - {{param: ecs.deduction-at-t7, value: \"20\"}}\n"),
        1,
    );
    let diags = compile(&sources).expect_err("offsets 0d, 20d, 14d do not increase");
    let d = &diags.0[0];
    assert_eq!(d.element, "interpretation ecs.interp.day-boundary");
    assert!(
        d.message.starts_with(
            "with reading `calendar-day`, deduction offsets must increase, but \
             `ecs.deduction-at-t7` is 20d and the next, `ecs.deduction-at-t14`, 14d (for billing at specs/ecs.yaml:"
        ),
        "{d}"
    );
    assert!(d.line > 1000, "located at the override: {d}");
}
