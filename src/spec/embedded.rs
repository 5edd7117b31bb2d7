//! The shipped specs, compiled into the binary as the default.
//!
//! `--specs DIR` replaces them with the `*.yaml` files of a directory; the
//! embedded copy means the binary works on its own, with no files beside it.

use super::SpecSource;

/// The spec files under `specs/`, in a fixed order.
pub const FILES: [(&str, &str); 5] = [
    ("ecs.yaml", include_str!("../../specs/ecs.yaml")),
    ("emr.yaml", include_str!("../../specs/emr.yaml")),
    (
        "maxcompute.yaml",
        include_str!("../../specs/maxcompute.yaml"),
    ),
    ("flink.yaml", include_str!("../../specs/flink.yaml")),
    (
        "emr-serverless-spark.yaml",
        include_str!("../../specs/emr-serverless-spark.yaml"),
    ),
];

/// The shipped specs as sources.
pub fn sources() -> Vec<SpecSource> {
    FILES
        .iter()
        .map(|(name, text)| SpecSource {
            name: format!("specs/{name}"),
            text: text.to_string(),
        })
        .collect()
}
