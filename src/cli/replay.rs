//! `arrears replay`: a saved counterexample re-run against the model or an
//! implementation, or promoted to a worked example.

use std::path::{Path, PathBuf};

use arrears::exit;
use arrears::spec::Catalog;

use super::terminal::Terminal;
use super::{Done, Failure, SutTimeouts, load_catalog, start_sut};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A replay file written by `verify` (`arrears-out/*.replay.yaml`).
    pub(crate) file: PathBuf,
    /// The implementation to re-run it against.
    #[arg(long, value_name = "CMD")]
    pub(crate) sut: Option<String>,
    #[command(flatten)]
    pub(crate) timeouts: SutTimeouts,
    /// Write it as a worked example (into --dir) instead of running it.
    #[arg(long)]
    pub(crate) promote: bool,
    /// The worked example's name (default: the replay file's name).
    #[arg(long, requires = "promote")]
    pub(crate) name: Option<String>,
    /// Where promoted examples go.
    #[arg(long, default_value = "specs/examples", requires = "promote")]
    pub(crate) dir: PathBuf,
}

pub(crate) fn run(specs: Option<&Path>, args: Args, terminal: Terminal) -> Result<Done, Failure> {
    let Args {
        file,
        sut,
        timeouts,
        promote,
        name,
        dir,
    } = args;
    if promote {
        promote_replay(specs, &file, name, &dir)
    } else {
        replay(specs, &file, sut.as_deref(), timeouts, terminal)
    }
}

fn read_replay(catalog: &Catalog, file: &Path) -> Result<arrears::replay::ReplayFile, Failure> {
    let replay = arrears::replay::ReplayFile::read(file)
        .map_err(|e| usage!("failed to read the replay file: {e}"))?;
    replay.history.validate(catalog).map_err(|e| {
        usage!(
            "failed to replay {}: the history does not fit the specs: {e}",
            file.display()
        )
    })?;
    Ok(replay)
}

fn promote_replay(
    specs: Option<&Path>,
    file: &Path,
    name: Option<String>,
    dir: &Path,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let replay = read_replay(&catalog, file)?;
    let name = name.unwrap_or_else(|| {
        let stem = file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        stem.trim_end_matches(".yaml")
            .trim_end_matches(".replay")
            .to_string()
    });
    let target = dir.join(format!("{}.yaml", arrears::replay::file_stem(&name)));
    if target.exists() {
        return Err(usage!(
            "failed to promote {}: {} already exists; choose another --name",
            file.display(),
            target.display()
        ));
    }
    let example = replay.to_example();
    let outcome = arrears::examples::check(&catalog, &name, &example);
    if !outcome.passed() {
        return Err(Failure {
            code: exit::FAILURE,
            error: anyhow::anyhow!(
                "failed to promote {}: the model no longer shows what the replay expects, so it would not pass as a worked example:\n  {}",
                file.display(),
                outcome.failures.join("\n  ")
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        usage!(
            "failed to create {}: {}",
            dir.display(),
            arrears::files::plain_io(&e)
        )
    })?;
    arrears::files::write_atomic(&target, example.to_yaml().as_bytes())
        .map_err(|e| usage!("{e}"))?;
    Ok(Done::new(
        exit::OK,
        format!("promoted to worked example {}\n", target.display()),
    ))
}

fn replay(
    specs: Option<&Path>,
    file: &Path,
    sut: Option<&str>,
    timeouts: SutTimeouts,
    terminal: Terminal,
) -> Result<Done, Failure> {
    let catalog = load_catalog(specs)?;
    let replay = read_replay(&catalog, file)?;
    let model = arrears::verify::ReferenceModel { catalog: &catalog };
    let driven;
    let progress = terminal.progress();
    let mut options = arrears::verify::VerifyOptions::new(&catalog);
    options.watch = arrears::progress::Watch::new(progress.watcher());
    let system: &dyn arrears::verify::System = match sut {
        None => &model,
        Some(command) => {
            driven = start_sut(&catalog, command, timeouts)?;
            options.readings = driven.declaration().readings.clone();
            options.compare = true;
            &driven
        }
    };
    options.cases = 0;
    options.regressions = vec![arrears::verify::Regression {
        name: file.display().to_string(),
        scenario: replay.scenario(),
    }];
    let report = arrears::verify::verify(&catalog, system, &options);
    progress.finish();
    if let Some(e) = &report.protocol_error {
        return Err(Failure::protocol(e));
    }
    let mut out = format!(
        "replay of {} ({}) on {}\n",
        file.display(),
        replay.replay.check,
        report.system
    );
    if let Some(reason) = report.skipped_cases.first() {
        out.push_str(&format!(
            "not verified: the system did not run the history ({reason})\n"
        ));
        return Ok(Done::new(exit::NOTHING_VERIFIED, out));
    }
    let example = replay.to_example();
    let expectations =
        arrears::examples::check_on(&catalog, system, &file.display().to_string(), &example)
            .map_err(Failure::protocol)?;
    out.push_str(&findings(&report, &expectations));
    if report.passed() && expectations.passed() {
        out.push_str("passes: the failure no longer reproduces\n");
        Ok(Done::new(exit::OK, out))
    } else {
        out.push_str("reproduced\n");
        Ok(Done::new(exit::FAILURE, out))
    }
}

/// What the replay found: each counterexample (a violation, or a divergence
/// from the model) with its rules, each worked-example expectation not met,
/// and each history the system refused.
fn findings(
    report: &arrears::verify::VerifyReport,
    expectations: &arrears::examples::Outcome,
) -> String {
    let mut out = String::new();
    for c in &report.counterexamples {
        out.push_str(&format!(
            "  {} {}: {}\n",
            if c.check == arrears::verify::DIFFERENTIAL {
                "DIVERGES"
            } else {
                "VIOLATED"
            },
            c.check,
            c.message()
        ));
        for r in &c.rules {
            out.push_str(&format!(
                "    rule {} [{}]: \"{}\"\n",
                r.rule, r.section, r.anchor
            ));
        }
    }
    for f in &expectations.failures {
        out.push_str(&format!("  expectation not met: {f}\n"));
    }
    for r in &report.refused {
        out.push_str(&format!("  REFUSED {r}\n"));
    }
    out
}
