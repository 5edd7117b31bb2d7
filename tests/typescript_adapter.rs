//! The TypeScript adapter (adapters/typescript/, compiled to
//! `adapters/typescript/dist/main.js` by `npm test` or `npm run build`)
//! passes `arrears verify`: the protocol does not care about the language.
//! Needs `node` and the compiled adapter; without either the test says so
//! and passes (.ci/run builds the adapter before the Rust tests when node is
//! present).

use std::path::Path;
use std::process::Command;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn typescript_maxcompute_adapter_passes_verify() {
    if !node_available() {
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
    let workdir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("typescript-adapter");
    std::fs::create_dir_all(&workdir).expect("a scratch directory");
    let sut = format!("node '{}'", adapter.display());
    let output = Command::new(env!("CARGO_BIN_EXE_arrears"))
        .args(["verify", "--sut", &sut, "--cases", "64"])
        .current_dir(&workdir)
        .output()
        .expect("arrears runs");
    let report = String::from_utf8_lossy(&output.stdout);
    let context = format!(
        "status {:?}\n--- stdout\n{report}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{context}");
    assert!(
        report
            .lines()
            .next()
            .is_some_and(|l| l.contains("typescript adapter")),
        "the report does not name the TypeScript adapter:\n{context}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("differential") && l.contains("matches the model")),
        "no `differential ... matches the model` line:\n{context}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("maxcompute.inv.") && l.contains("holds")),
        "no MaxCompute invariant holds:\n{context}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ecs.inv.") && l.contains("skipped")),
        "no ECS invariant reported as skipped:\n{context}"
    );
}
