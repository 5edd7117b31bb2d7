//! The TypeScript adapter (adapters/typescript/, compiled to
//! `adapters/typescript/dist/main.js` by `npm test` or `npm run build`)
//! passes `arrears verify`: the protocol does not care about the language.
//! Needs `node` and the compiled adapter; without either the test says so
//! and passes (.ci/run builds the adapter before the Rust tests when node is
//! present).

mod common;

use std::path::Path;

#[test]
fn typescript_maxcompute_adapter_passes_verify() {
    if !common::runs_here("node") {
        println!("the TypeScript adapter test needs node, which does not run here: skipped");
        return;
    }
    let adapter = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/typescript/dist/main.js");
    if !adapter.is_file() {
        println!(
            "the TypeScript adapter is not compiled ({} is missing; run `npm ci && npm run build` in adapters/typescript): skipped",
            adapter.display()
        );
        return;
    }
    let (report, context) =
        common::verify_maxcompute_adapter(&format!("node '{}'", adapter.display()));
    assert!(
        report
            .lines()
            .next()
            .is_some_and(|l| l.contains("typescript adapter")),
        "the report does not name the TypeScript adapter:\n{context}"
    );
}
