//! The Python adapter (adapters/python/arrears_maxcompute.py, the example
//! of the adapter kit in adapters/python/arrears_kit) passes
//! `arrears verify`: it implements MaxCompute only, matches the reference
//! model on it, and the other products' invariants are reported as skipped.
//! Needs `python3`; without it the test says so and passes.

use std::path::Path;
use std::process::Command;

fn python3_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn python_maxcompute_adapter_passes_verify() {
    if !python3_available() {
        println!("the Python adapter test needs python3, which does not run here: skipped");
        return;
    }
    let adapter =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/python/arrears_maxcompute.py");
    assert!(adapter.is_file(), "missing {}", adapter.display());
    // Counterexamples (if any) are written to the working directory: keep
    // them out of the source tree, and gone after the test.
    let workdir = tempfile::tempdir().expect("a scratch directory");
    let sut = format!("python3 '{}'", adapter.display());
    let output = Command::new(env!("CARGO_BIN_EXE_arrears"))
        .args(["verify", "--sut", &sut, "--cases", "64"])
        .current_dir(workdir.path())
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
            .any(|l| l.starts_with("differential") && l.contains("matches the model")),
        "no `differential ... matches the model` line:\n{context}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("ecs.inv.") && l.contains("skipped")),
        "no ECS invariant reported as skipped:\n{context}"
    );
    assert!(
        !report
            .lines()
            .any(|l| l.starts_with("maxcompute.inv.") && l.contains("skipped")),
        "a MaxCompute invariant was skipped:\n{context}"
    );
}
