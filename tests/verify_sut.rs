//! Verifying an implementation in process (the way a Rust team runs the
//! suite in its own `cargo test`), and the CI features around it: shards,
//! JUnit, replay files, regressions, promotion to a worked example.

use arrears::protocol::ModelImplementation;
use arrears::replay::{RegressionsFile, ReplayFile};
use arrears::spec::Catalog;
use arrears::sut::Driven;
use arrears::verify::{VerifyOptions, VerifyReport, verify};

fn shipped() -> Catalog {
    arrears::spec::compile(&arrears::spec::sources::embedded()).expect("shipped specs compile")
}

/// The model with ECS releases one day early: an implementation with a bug.
fn early_release() -> Catalog {
    let mut sources = arrears::spec::sources::embedded();
    let ecs = sources
        .iter_mut()
        .find(|s| s.name.ends_with("ecs.yaml"))
        .unwrap();
    ecs.text = ecs.text.replace(
        "  - id: ecs.release-after-stop\n    value: 15\n",
        "  - id: ecs.release-after-stop\n    value: 14\n",
    );
    arrears::spec::compile(&sources).unwrap()
}

fn options(judge: &Catalog) -> VerifyOptions {
    let mut o = VerifyOptions::new(judge);
    o.products = vec![judge.document_named("ecs").unwrap()];
    o.cases = 120;
    o.seed = 3;
    o.compare = true;
    o
}

fn run(judge: &Catalog, system_catalog: &Catalog, options: &VerifyOptions) -> VerifyReport {
    let system = Driven::new(judge, "in-process model", || {
        Ok(Box::new(ModelImplementation::new(system_catalog)))
    })
    .unwrap();
    verify(judge, &system, options)
}

#[test]
fn a_correct_implementation_in_process_passes() {
    let judge = shipped();
    let report = run(&judge, &judge, &options(&judge));
    assert!(
        report.passed(),
        "{}",
        arrears::verify::report_text(&judge, &report, Default::default())
    );
    assert_eq!(report.differential.as_ref().map(|d| d.divergences), Some(0));
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn shards_are_disjoint_and_together_make_the_whole_run() {
    let judge = shipped();
    let whole = run(&judge, &judge, &options(&judge));
    let shards: Vec<VerifyReport> = (1..=3)
        .map(|k| {
            let mut o = options(&judge);
            o.shard = Some((k, 3));
            run(&judge, &judge, &o)
        })
        .collect();
    assert_eq!(shards.iter().map(|s| s.cases).sum::<u32>(), whole.cases);
    assert_eq!(
        shards.iter().map(|s| s.coverage.cases).sum::<usize>(),
        whole.coverage.cases
    );
    for (i, inv) in whole.invariants.iter().enumerate() {
        let cases: usize = shards.iter().map(|s| s.invariants[i].cases).sum();
        let exercised: usize = shards.iter().map(|s| s.invariants[i].exercised).sum();
        assert_eq!(
            (cases, exercised),
            (inv.cases, inv.exercised),
            "{}",
            inv.invariant
        );
    }
    let mut rules = std::collections::BTreeMap::new();
    for s in &shards {
        for (rule, n) in &s.coverage.rules {
            *rules.entry(rule.clone()).or_insert(0) += n;
        }
    }
    assert_eq!(
        rules, whole.coverage.rules,
        "every case is in exactly one shard"
    );
}

#[test]
fn a_broken_implementation_is_caught_and_reported_as_junit() {
    let judge = shipped();
    let buggy = early_release();
    let report = run(&judge, &buggy, &options(&judge));
    assert_eq!(report.exit_code(), 1);
    let c = report
        .counterexamples
        .iter()
        .find(|c| c.check == arrears::verify::DIFFERENTIAL)
        .expect("the comparison with the model diverges");
    // The release 15 days after the stop: of an instance, or of a disk with
    // bills of its own, whichever the shrunk history kept.
    let release_rules = [
        "ecs.payg.release-after-stopped-15-days",
        "ecs.released.data-disks-regardless-of-attachment",
    ];
    assert!(
        c.rules
            .iter()
            .any(|r| release_rules.contains(&r.rule.as_str())),
        "{:?}",
        c.rules
    );
    assert!(c.events <= 6);
    let d = c.divergence.as_ref().unwrap();
    assert!(
        d.expected.contains("released") && d.actual.contains("released"),
        "{d}"
    );

    let xml = arrears::junit(&report);
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<roxmltree::Node> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        cases.len(),
        report.invariants.len() + 1,
        "one test case per invariant, plus the comparison"
    );
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .filter_map(|c| c.attribute("name"))
        .collect();
    assert!(failed.contains(&"differential"), "{failed:?}");
    assert!(
        failed.contains(&"ecs.inv.payg-data-kept-30-days"),
        "{failed:?}"
    );
    assert_eq!(
        root.attribute("failures")
            .and_then(|f| f.parse::<usize>().ok()),
        Some(failed.len())
    );
}

#[test]
fn a_saved_counterexample_replays_and_promotes_to_a_worked_example() {
    let judge = shipped();
    let buggy = early_release();
    let report = run(&judge, &buggy, &options(&judge));
    let temp = tempfile::tempdir().unwrap();
    // A directory that does not exist yet: writing the counterexamples
    // creates it.
    let dir = temp.path().join("out");
    let system = Driven::new(&judge, "in-process buggy model", || {
        Ok(Box::new(ModelImplementation::new(&buggy)))
    })
    .unwrap();
    let written =
        arrears::replay::write_counterexamples(&judge, &system, &report.counterexamples, &dir)
            .unwrap();
    let path = dir.join("differential.replay.yaml");
    assert!(
        written
            .iter()
            .any(|w| w.ends_with("differential.replay.yaml")),
        "{written:?}"
    );
    assert!(
        written
            .iter()
            .any(|w| w.ends_with("differential.system.svg")),
        "{written:?}"
    );
    let replay = ReplayFile::read(&path).unwrap();
    assert_eq!(replay.replay.check, "differential");

    // Re-run first: it still fails on the buggy system, not on the model.
    let mut o = options(&judge);
    o.cases = 0;
    o.regressions = RegressionsFile {
        regressions: vec![replay.clone()],
    }
    .regressions();
    let again = run(&judge, &buggy, &o);
    assert_eq!(again.regressions.len(), 1);
    assert!(
        again.regressions[0].fails(),
        "the replay reproduces on the buggy system"
    );
    let fixed = run(&judge, &judge, &o);
    assert!(
        !fixed.regressions[0].fails() && fixed.passed(),
        "and passes on the model"
    );

    // The regressions file keeps one entry per history.
    let mut file = RegressionsFile::default();
    assert_eq!(file.append(vec![replay.clone(), replay.clone()]), 1);
    let regressions_path = dir.join("regressions.yaml");
    file.write(&regressions_path).unwrap();
    assert_eq!(
        RegressionsFile::read(&regressions_path)
            .unwrap()
            .regressions
            .len(),
        1
    );

    // Promoted, it is a worked example the model passes.
    let example = replay.to_example();
    let outcome = arrears::examples::check(&judge, "promoted", &example);
    assert!(outcome.passed(), "{:?}", outcome.failures);
    let reread = arrears::examples::WorkedExample::from_text(&example.to_yaml()).unwrap();
    assert_eq!(reread, example);
}

#[test]
fn the_command_line_finds_replays_and_promotes_a_counterexample() {
    let bin = env!("CARGO_BIN_EXE_arrears");
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    for source in arrears::spec::sources::embedded() {
        let name = source.name.trim_start_matches("specs/");
        let text = source.text.replace(
            "  - id: ecs.release-after-stop\n    value: 15\n",
            "  - id: ecs.release-after-stop\n    value: 14\n",
        );
        std::fs::write(specs.join(name), text).unwrap();
    }
    let sut = format!("{bin} --specs {} serve", specs.display());
    let out = dir.join("out");
    let junit = dir.join("junit.xml");
    let verify = std::process::Command::new(bin)
        .args([
            "verify",
            "--products",
            "ecs",
            "--cases",
            "64",
            "--sut",
            &sut,
        ])
        .arg("--out")
        .arg(&out)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(junit.exists());
    let replay = out.join("differential.replay.yaml");
    let again = std::process::Command::new(bin)
        .arg("replay")
        .arg(&replay)
        .args(["--sut", &sut])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(1),
        "the replay reproduces: {}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("reproduced"));
    let examples = dir.join("examples");
    let promote = std::process::Command::new(bin)
        .arg("replay")
        .arg(&replay)
        .args(["--promote", "--name", "early-release"])
        .arg("--dir")
        .arg(&examples)
        .output()
        .unwrap();
    assert_eq!(
        promote.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&promote.stderr)
    );
    assert!(examples.join("early-release.yaml").exists());
    let run = std::process::Command::new(bin)
        .arg("examples")
        .arg(&examples)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let on_sut = std::process::Command::new(bin)
        .arg("examples")
        .arg(&examples)
        .args(["--sut", &sut])
        .output()
        .unwrap();
    assert_eq!(
        on_sut.status.code(),
        Some(1),
        "the promoted example fails the buggy implementation"
    );
}

/// The model speaking the protocol, but declaring only MaxCompute: a team
/// that has built one product so far.
struct MaxComputeOnly<'c>(ModelImplementation<'c>);

impl arrears::Implementation for MaxComputeOnly<'_> {
    fn hello(
        &mut self,
        offer: &[arrears::ProductOffer],
    ) -> Result<arrears::Declaration, arrears::ProtocolError> {
        let mut declaration = self.0.hello(offer)?;
        declaration.implements.retain(|i| i.product == "maxcompute");
        Ok(declaration)
    }
    fn load(
        &mut self,
        header: &arrears::HistoryHeader,
    ) -> Result<arrears::Answer<()>, arrears::ProtocolError> {
        self.0.load(header)
    }
    fn apply(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        event: &arrears::history::Event,
    ) -> Result<arrears::Answer<()>, arrears::ProtocolError> {
        self.0.apply(at, event)
    }
    fn advance(
        &mut self,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<arrears::Answer<()>, arrears::ProtocolError> {
        self.0.advance(to)
    }
    fn observe(
        &mut self,
    ) -> Result<
        arrears::Answer<(
            arrears::observation::Observation,
            Vec<arrears::observation::TraceEvent>,
        )>,
        arrears::ProtocolError,
    > {
        self.0.observe()
    }
}

/// In-process, as on the command line, what an implementation does not
/// declare is skipped, not failed: `verify` reads the hello itself.
#[test]
fn an_in_process_implementation_is_judged_only_on_what_it_declares() {
    use arrears::prelude::*;
    let catalog = Catalog::load(None).unwrap();
    let sut = Driven::new(&catalog, "maxcompute only", || {
        Ok(Box::new(MaxComputeOnly(ModelImplementation::new(&catalog))))
    })
    .unwrap();
    let options = VerifyOptions::new(&catalog).cases(300).seed(5);
    let report = verify(&catalog, &sut, &options);
    assert!(
        report.passed(),
        "{}",
        report_text(&catalog, &report, TextOptions::default())
    );
    let (maxcompute, others): (Vec<_>, Vec<_>) = report
        .invariants
        .iter()
        .partition(|i| i.product == "maxcompute");
    assert!(!maxcompute.is_empty() && !others.is_empty());
    assert!(
        maxcompute
            .iter()
            .all(|i| i.skipped.is_none() && i.cases > 0),
        "every MaxCompute invariant is checked"
    );
    assert!(
        others.iter().all(|i| i.skipped.is_some() && i.cases == 0),
        "no other product's invariant is checked"
    );
    assert!(report.implemented.is_some());
}
