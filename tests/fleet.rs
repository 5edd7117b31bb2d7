//! `arrears fleet` as a user runs it: the result does not depend on thread
//! count or shard layout, a mutated spec shows up as violations that the
//! printed replay reproduces, and bad input (a mix that does not add up, an
//! impossible shard, a merge of different runs) is refused with exit 2;
//! and the checks judge the observations a model hands on unchanged as
//! they judge copies of them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use arrears::fleet::FleetResult;
use arrears::history::History;
use arrears::spec::{Catalog, SpecSource};

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn arrears(args: &[&str]) -> Run {
    let out = Command::new(ARREARS)
        .args(args)
        .output()
        .expect("arrears runs");
    Run {
        code: out.status.code().expect("arrears exits, not killed"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("the file was written")
}

#[test]
fn the_result_is_the_same_for_any_thread_count_and_shard_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name);
    let base = ["fleet", "--accounts", "1500", "--days", "45", "--seed", "3"];
    let one = out("one.json");
    let run = |extra: &[&str], json: &PathBuf| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--json", path(json), "--quiet"]);
        let r = arrears(&args);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        r
    };
    run(&["--threads", "1"], &one);
    let two = out("two.json");
    run(&["--threads", "2"], &two);
    assert_eq!(read(&one), read(&two), "thread count changed the result");
    let mut shards = Vec::new();
    for k in 1..=4 {
        let file = out(&format!("shard-{k}.json"));
        run(&["--shard", &format!("{k}/4"), "--threads", "2"], &file);
        shards.push(file);
    }
    // Out of order, as a batch engine may hand them back.
    let merged = out("merged.json");
    let order = [&shards[2], &shards[0], &shards[3], &shards[1]];
    let mut args = vec!["fleet", "merge"];
    args.extend(order.iter().map(|p| path(p)));
    args.extend_from_slice(&["--json", path(&merged)]);
    let r = arrears(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        read(&one),
        read(&merged),
        "4 shards merged differ from one run"
    );
    // The merged summary is the one run's, but for the timing line.
    let result: FleetResult = serde_json::from_str(&read(&one)).unwrap();
    assert_eq!(result.tally.accounts, 1500);
    assert!(
        r.stdout.contains("1,500 accounts over 45 days"),
        "{}",
        r.stdout
    );
    assert!(result.tally.history_events / result.tally.accounts >= 50);
}

#[test]
fn merging_results_of_different_runs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let run = |args: &[&str], json: &Path| {
        let mut all = vec!["fleet", "--accounts", "40", "--quiet"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--json", path(json)]);
        let r = arrears(&all);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    };
    run(
        &["--seed", "1", "--shard", "1/2", "--days", "10"],
        &file("a.json"),
    );
    run(
        &["--seed", "2", "--shard", "2/2", "--days", "10"],
        &file("b.json"),
    );
    run(
        &["--seed", "1", "--shard", "2/2", "--days", "11"],
        &file("c.json"),
    );
    let r = arrears(&[
        "fleet",
        "merge",
        path(&file("a.json")),
        path(&file("b.json")),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("seed"), "{}", r.stderr);
    let r = arrears(&[
        "fleet",
        "merge",
        path(&file("a.json")),
        path(&file("c.json")),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = arrears(&[
        "fleet",
        "merge",
        path(&file("a.json")),
        path(&file("a.json")),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("twice"), "{}", r.stderr);
    std::fs::write(file("junk.json"), "{\"format_version\": 99}").unwrap();
    let r = arrears(&[
        "fleet",
        "merge",
        path(&file("a.json")),
        path(&file("junk.json")),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("junk.json"), "{}", r.stderr);
    // One shard alone merges, with a warning that it is part of the fleet.
    let r = arrears(&["fleet", "merge", path(&file("a.json"))]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("lacks shards 2/2"), "{}", r.stderr);
}

#[test]
fn bad_mixes_shards_and_accounts_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mix = dir.path().join("mix.yaml");
    let default = arrears::fleet::mix::DEFAULT_MIX;
    std::fs::write(&mix, default.replace("never: 10", "never: 15")).unwrap();
    let r = arrears(&["fleet", "--accounts", "10", "--mix", path(&mix)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("mix.yaml: payers") && r.stderr.contains("add up to 105"),
        "{}",
        r.stderr
    );
    std::fs::write(&mix, default.replace("payers:", "payer:")).unwrap();
    let r = arrears(&["fleet", "--accounts", "10", "--mix", path(&mix)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("mix.yaml: line"), "{}", r.stderr);
    for shard in ["5/4", "0/4", "x/4"] {
        let r = arrears(&["fleet", "--accounts", "10", "--shard", shard]);
        assert_eq!(r.code, 2, "{shard}: {}", r.stderr);
    }
    let r = arrears(&["fleet", "--accounts", "3", "--shard", "2/4"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = arrears(&["fleet", "--accounts", "10", "--replay-account", "10"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = arrears(&["fleet", "--accounts", "10", "--products", "gcp"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = arrears(&[
        "fleet",
        "--accounts",
        "10",
        "--accounts-out",
        path(dir.path()),
    ]);
    assert_eq!(r.code, 2, "a directory is no Parquet file: {}", r.stderr);
    assert!(r.stderr.contains("directory"), "{}", r.stderr);
    let r = arrears(&["fleet", "--accounts", "0"]);
    assert_eq!(r.code, 4, "an empty fleet checked nothing: {}", r.stdout);
}

fn compile(dir: &Path) -> Catalog {
    let sources: Vec<SpecSource> = arrears::spec::sources::read_dir(dir).unwrap();
    arrears::spec::compile(&sources).unwrap()
}

#[test]
fn a_mutated_spec_shows_as_violations_that_the_replay_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    common::mutated_specs(&specs);
    let json = dir.path().join("fleet.json");
    let r = arrears(&[
        "--specs",
        path(&specs),
        "fleet",
        "--accounts",
        "600",
        "--seed",
        "5",
        "--quiet",
        "--json",
        path(&json),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let result: FleetResult = serde_json::from_str(&read(&json)).unwrap();
    let v = result
        .tally
        .violations
        .iter()
        .find(|v| v.invariant == "ecs.inv.payg-data-kept-30-days")
        .unwrap_or_else(|| panic!("expected the data-kept invariant broken:\n{}", r.stdout));
    assert!(
        r.stdout.contains(&format!(
            "fleet --replay-account {} --seed 5 --days 90",
            v.account
        )),
        "{}",
        r.stdout
    );
    // The printed replay writes the account's history...
    let replay = arrears(&[
        "--specs",
        path(&specs),
        "fleet",
        "--replay-account",
        &v.account.to_string(),
        "--seed",
        "5",
        "--days",
        "90",
    ]);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    let history_file = dir.path().join("account.yaml");
    std::fs::write(&history_file, &replay.stdout).unwrap();
    // ...which, run and checked alone, breaks the same invariant at the
    // same instant...
    let catalog = compile(&specs);
    let history = History::from_text(&replay.stdout).unwrap();
    let (trace, _) = arrears::fleet::observed_run(&catalog, &history, 90).unwrap();
    let evaluations = arrears::check::check_trace(
        &catalog,
        &catalog.reading_variants(),
        &history,
        &trace,
        None,
    );
    let again = evaluations
        .iter()
        .filter_map(|e| e.violation.as_ref())
        .find(|x| x.invariant == v.invariant)
        .expect("the replayed account breaks the invariant");
    assert_eq!((again.at, &again.resource), (v.at, &v.resource));
    // ...and whose timeline shows the early release.
    let timeline = arrears(&["--specs", path(&specs), "timeline", path(&history_file)]);
    assert_eq!(timeline.code, 0, "{}", timeline.stderr);
    let resource = v.resource.as_deref().unwrap();
    assert!(
        timeline
            .stdout
            .lines()
            .any(|l| l.contains(resource) && l.contains("released")),
        "{}",
        timeline.stdout
    );
    // The shipped specs, on the same fleet, break nothing.
    let clean = arrears(&["fleet", "--accounts", "600", "--seed", "5", "--quiet"]);
    assert_eq!(clean.code, 0, "{}", clean.stdout);
}

/// The trace with every resource observation copied into one of its own,
/// as an implementation's parsed reply would be: nothing shared.
fn unshared(trace: &arrears::observation::Trace) -> arrears::observation::Trace {
    let mut copy = trace.clone();
    for o in &mut copy.observations {
        for r in &mut o.resources {
            *r = std::sync::Arc::new((**r).clone());
        }
    }
    copy
}

/// The trace with the first resource's observation frozen from the middle
/// on: the one of that instant handed on, unchanged, whatever the log says
/// happened to the resource after it (a stale report).
fn corrupted(trace: &arrears::observation::Trace) -> arrears::observation::Trace {
    let mut copy = trace.clone();
    let half = copy.observations.len() / 2;
    let Some(wrong) = copy.observations[half].resources.first().cloned() else {
        return copy;
    };
    for o in &mut copy.observations[half..] {
        if let Some(r) = o.resources.first_mut() {
            *r = wrong.clone();
        }
    }
    copy
}

#[test]
fn the_checks_judge_observations_handed_on_as_they_judge_copies() {
    let dir = tempfile::tempdir().unwrap();
    common::mutated_specs(dir.path());
    let shipped = arrears::spec::compile(&arrears::spec::sources::embedded()).unwrap();
    let mutated = compile(dir.path());
    let variants = shipped.reading_variants();
    let (mut judged, mut violations, mut handed_on, mut wrong_reports) = (0, 0, 0, 0);
    // Runs under the shipped specs pass; runs under the mutated ones,
    // judged by the shipped specs, break the data-kept invariant; a stale
    // observation handed on after a transition breaks the lifecycle's.
    for runner in [&shipped, &mutated] {
        let menu =
            arrears::fleet::account::Menu::new(runner, &arrears::fleet::mix::Mix::default_mix());
        for index in 0..300 {
            let history = menu.account(5, index, 90).history;
            let (trace, _) = arrears::fleet::observed_run(runner, &history, 90).unwrap();
            handed_on += trace
                .observations
                .windows(2)
                .flat_map(|w| w[0].resources.iter().zip(&w[1].resources))
                .filter(|(a, b)| std::sync::Arc::ptr_eq(a, b))
                .count();
            let check = |t: &arrears::observation::Trace| {
                arrears::check::check_trace(&shipped, &variants, &history, t, None)
            };
            let on_shared = check(&trace);
            assert_eq!(on_shared, check(&unshared(&trace)), "account {index}");
            judged += on_shared.len();
            violations += on_shared.iter().filter(|e| e.violation.is_some()).count();
            if index % 10 == 0 {
                let wrong = corrupted(&trace);
                let on_wrong = check(&wrong);
                assert_eq!(
                    on_wrong,
                    check(&unshared(&wrong)),
                    "account {index}, corrupted"
                );
                wrong_reports += usize::from(on_wrong.iter().any(|e| e.violation.is_some()));
            }
        }
    }
    assert!(
        judged > 0 && handed_on > 0,
        "{judged} judged, {handed_on} handed on"
    );
    assert!(violations > 0, "the mutated runs break something");
    assert!(
        wrong_reports >= 10,
        "{wrong_reports} of 60 stale traces failed"
    );
}

#[test]
fn the_parquet_rows_add_up_to_the_json_totals() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    let dir = tempfile::tempdir().unwrap();
    let parquet_file = dir.path().join("accounts.parquet");
    let json = dir.path().join("fleet.json");
    let r = arrears(&[
        "fleet",
        "--accounts",
        "700",
        "--days",
        "60",
        "--seed",
        "9",
        "--quiet",
        "--json",
        path(&json),
        "--accounts-out",
        path(&parquet_file),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let result: FleetResult = serde_json::from_str(&read(&json)).unwrap();
    let t = &result.tally;
    let reader = SerializedFileReader::new(std::fs::File::open(&parquet_file).unwrap()).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 700);
    let columns = arrears::fleet::rows::COLUMNS;
    let col = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let (mut accounts, mut fees, mut unbilled, mut events) = (Vec::new(), 0i64, 0i64, 0i64);
    let (mut stops, mut releases, mut refunded, mut overdue_days) = (0i64, 0i64, 0i64, 0i64);
    let mut violations = 0i64;
    let mut payers = std::collections::BTreeMap::<String, u64>::new();
    for row in reader.into_iter() {
        let row = row.unwrap();
        accounts.push(row.get_long(col("account")).unwrap());
        assert_eq!(row.get_long(col("seed")).unwrap(), 9);
        *payers
            .entry(row.get_string(col("payer")).unwrap().clone())
            .or_default() += 1;
        fees += row.get_long(col("fees_charged")).unwrap();
        unbilled += row.get_long(col("fees_not_charged")).unwrap();
        events += row.get_long(col("history_events")).unwrap();
        stops += row.get_long(col("stops")).unwrap();
        releases += row.get_long(col("releases")).unwrap();
        refunded += row.get_long(col("refunded")).unwrap();
        overdue_days += row.get_long(col("days_overdue")).unwrap();
        violations += row.get_long(col("violations")).unwrap();
    }
    assert_eq!(
        accounts,
        (0..700).collect::<Vec<i64>>(),
        "one row per account, in order"
    );
    let d = &t.daily;
    assert_eq!(fees, d.fees_charged.iter().sum::<i64>());
    assert_eq!(unbilled, d.fees_not_charged.iter().sum::<i64>());
    assert_eq!(events as u64, t.history_events);
    assert_eq!(stops as u64, d.stops.iter().sum::<u64>());
    assert_eq!(releases as u64, d.releases.iter().sum::<u64>());
    assert_eq!(refunded, d.refunded.iter().sum::<i64>());
    assert_eq!(
        overdue_days as u64,
        d.accounts_overdue_at_day_end.iter().sum::<u64>()
    );
    assert_eq!(violations, 0);
    assert_eq!(payers, t.payers);
    assert!(
        fees > 0 && stops > 0 && releases > 0,
        "the fleet did something"
    );
}

#[test]
fn the_svg_chart_stacks_every_state_of_every_product() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("fleet.svg");
    let json = dir.path().join("fleet.json");
    let r = arrears(&[
        "fleet",
        "--accounts",
        "300",
        "--days",
        "20",
        "--seed",
        "4",
        "--quiet",
        "--json",
        path(&json),
        "--svg",
        path(&svg),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let result: FleetResult = serde_json::from_str(&read(&json)).unwrap();
    let text = read(&svg);
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let panels: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("product"))
        .collect();
    let products: Vec<&str> = panels
        .iter()
        .filter_map(|n| n.attribute("data-product"))
        .collect();
    let expected: Vec<&str> = result
        .tally
        .resources_by_state
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(products, expected);
    for (panel, (product, states)) in panels.iter().zip(&result.tally.resources_by_state) {
        let mut bands: Vec<&str> = panel
            .descendants()
            .filter(|n| n.attribute("class") == Some("band"))
            .filter_map(|n| n.attribute("data-state"))
            .collect();
        bands.sort();
        let mut names: Vec<&str> = states.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(bands, names, "{product}");
    }
    assert!(text.contains("300 accounts over 20 days"));
    // The same result draws the same picture.
    let again = dir.path().join("again.svg");
    let r = arrears(&["fleet", "merge", path(&json), "--svg", path(&again)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read(&again), text);
}

#[test]
fn a_fleet_through_an_implementation_is_compared_with_the_model() {
    let faithful = env!("CARGO_BIN_EXE_arrears-faithful");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("fleet.json");
    let base = [
        "fleet",
        "--accounts",
        "60",
        "--days",
        "30",
        "--seed",
        "1",
        "--quiet",
    ];
    let mut args = base.to_vec();
    args.extend_from_slice(&["--sut", faithful, "--json", path(&json)]);
    let r = arrears(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let result: FleetResult = serde_json::from_str(&read(&json)).unwrap();
    let sut = result
        .tally
        .sut
        .as_ref()
        .expect("the implementation's record");
    assert_eq!((sut.accounts, sut.diverging, sut.refused), (60, 0, 0));
    assert!(r.stdout.contains("agrees with the model"), "{}", r.stdout);
    // One broken rule: MaxCompute locks on day 10 instead of 15.
    let broken = format!("{faithful} --fault maxcompute-locked-day-10");
    let mut args = base.to_vec();
    args.extend_from_slice(&[
        "--products",
        "maxcompute",
        "--sut",
        &broken,
        "--json",
        path(&json),
    ]);
    let r = arrears(&args);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let result: FleetResult = serde_json::from_str(&read(&json)).unwrap();
    let sut = result.tally.sut.as_ref().unwrap();
    assert!(sut.diverging > 0, "{}", r.stdout);
    let first = &sut.disagreements[0];
    assert!(
        first
            .rules
            .iter()
            .any(|rule| rule.starts_with("maxcompute.")),
        "{first:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("--replay-account {} --seed 1", first.account)),
        "{}",
        r.stdout
    );
    // An implementation that dies at once is a protocol failure, exit 3.
    let r = arrears(&["fleet", "--accounts", "5", "--sut", "exit 3"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}
