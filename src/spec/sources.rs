//! Where spec texts come from: the copy embedded in the binary, or a
//! directory given with `--specs`; and the check of anchors and section
//! headings against the source documents they quote.
//!
//! The embedded copy means the binary works on its own, with no files
//! beside it. Reading a directory takes its `*.yaml` files (not
//! subdirectories, so `specs/examples/` is not read as specs) in name order,
//! so that diagnostics come out in a stable order.

use std::path::{Path, PathBuf};

use super::{Diagnostic, SpecSource, raw};
use crate::yaml::{self, position_of};

/// The spec files under `specs/`, in a fixed order.
pub const EMBEDDED: [(&str, &str); 5] = [
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

/// The shipped specs.
pub fn embedded() -> Vec<SpecSource> {
    EMBEDDED
        .iter()
        .map(|(name, text)| SpecSource {
            name: format!("specs/{name}"),
            text: text.to_string(),
        })
        .collect()
}

/// A spec directory that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("failed to read spec directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read spec file {file}: {source}")]
    File {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("no *.yaml spec files in {0}")]
    Empty(PathBuf),
}

/// The `*.yaml` files of `dir`, in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<SpecSource>, SourceError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SourceError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SourceError::Dir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(SourceError::Empty(dir.to_path_buf()));
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| SourceError::File {
                file: path.clone(),
                source,
            })?;
            Ok(SpecSource {
                name: path.display().to_string(),
                text,
            })
        })
        .collect()
}

/// Checks that every anchor of `specs` is found verbatim in the source
/// document its file names, and every listed section is a line of it.
/// Source documents are looked up by file name in `sources_dir`.
pub fn verify_anchors(specs: &[SpecSource], sources_dir: &Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for spec in specs {
        let Ok(file) = yaml::from_str::<raw::SpecFile>(&spec.text) else {
            continue; // parse errors are reported by compile
        };
        let path = sources_dir.join(&file.document.source.value);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(err) => {
                out.push(Diagnostic::new(
                    &spec.name,
                    Some(position_of(&file.document.source)),
                    format!("document {}", file.document.id.value),
                    format!("failed to read source document {}: {err}", path.display()),
                ));
                continue;
            }
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for section in &file.document.sections {
            if section.value != "(opening)" && !lines.contains(&section.value.as_str()) {
                out.push(Diagnostic::new(
                    &spec.name,
                    Some(position_of(section)),
                    format!("document {}", file.document.id.value),
                    format!(
                        "section `{}` is not a line of {}",
                        section.value,
                        path.display()
                    ),
                ));
            }
        }
        let mut anchors = Vec::new();
        for r in &file.rules {
            anchors.push((format!("rule {}", r.id.value), &r.anchor));
        }
        for p in &file.parameters {
            if let Some(a) = &p.anchor {
                anchors.push((format!("parameter {}", p.id.value), a));
            }
        }
        for i in &file.interpretations {
            anchors.push((format!("interpretation {}", i.id.value), &i.anchor));
        }
        for (element, anchor) in anchors {
            if !text.contains(anchor.value.as_str()) {
                out.push(Diagnostic::new(
                    &spec.name,
                    Some(position_of(anchor)),
                    element,
                    format!("anchor is not found verbatim in {}", path.display()),
                ));
            }
        }
    }
    out
}
