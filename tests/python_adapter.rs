//! The Python adapter (adapters/python/arrears_maxcompute.py, the example
//! of the adapter kit in adapters/python/arrears_kit) passes
//! `arrears verify`: it implements MaxCompute only, matches the reference
//! model on it, and the other products' invariants are reported as skipped.
//! Needs `python3`; without it the test says so and passes.

mod common;

use std::path::Path;

#[test]
fn python_maxcompute_adapter_passes_verify() {
    if !common::runs_here("python3") {
        println!("the Python adapter test needs python3, which does not run here: skipped");
        return;
    }
    let adapter =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/python/arrears_maxcompute.py");
    assert!(adapter.is_file(), "missing {}", adapter.display());
    common::verify_maxcompute_adapter(&format!("python3 '{}'", adapter.display()));
}
