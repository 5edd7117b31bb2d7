//! The SVG timeline is a well-formed, self-contained SVG document that draws
//! what the trace says.
//!
//! The documents are read back with a real XML parser (roxmltree) rather
//! than searched as text, so that a missing escape or an unbalanced tag
//! fails here and not in a browser. Example histories check the drawing
//! itself (lanes, state segments in order, markers and their tooltips);
//! a property renders random small histories, ids full of XML special
//! characters included, and checks that every one parses.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use roxmltree::{Document, Node};
use serde_json::{Value, json};

use arrears::history::History;
use arrears::spec::{Catalog, compile, sources::embedded};

const SVG_NS: &str = "http://www.w3.org/2000/svg";

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| compile(&embedded()).expect("the shipped specs compile"))
}

/// Runs a history through the model and draws it.
fn render(history: &History) -> String {
    let trace = arrears::model::run(catalog(), history, &[]).expect("the history runs");
    arrears::svg::render(catalog(), history, &trace)
}

fn history(text: &str) -> History {
    History::from_text(text).expect("the history reads")
}

/// The example of the brief: an overdue ECS instance with a disk, stopped
/// at day 16 and released at day 31.
const OVERDUE_INSTANCE: &str = r#"
start: 2025-01-01T00:00:00Z
until: +32d
accounts:
  - {id: a-1, cash: 1000}
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}
  - {id: d-1, account: a-1, product: ecs, kind: disk, billing: not-billed, parent: i-1}
events:
  - charge: {at: +1d, resource: i-1, amount: 2400}
"#;

// ----- reading the document back ------------------------------------------------

fn has_class(node: Node, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|c| c == class))
}

fn children_with_class<'a, 'i>(node: Node<'a, 'i>, class: &str) -> Vec<Node<'a, 'i>> {
    node.children()
        .filter(|n| n.is_element() && has_class(*n, class))
        .collect()
}

fn descendants_with_class<'a, 'i>(node: Node<'a, 'i>, class: &str) -> Vec<Node<'a, 'i>> {
    node.descendants()
        .filter(|n| n.is_element() && has_class(*n, class))
        .collect()
}

/// The text of an element's `<title>` child.
fn title(node: Node) -> String {
    node.children()
        .find(|n| n.has_tag_name((SVG_NS, "title")))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string()
}

/// The text an element shows, without its tooltip.
fn shown_text(node: Node) -> String {
    node.children()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn number(node: Node, attribute: &str) -> f64 {
    node.attribute(attribute)
        .unwrap_or_else(|| panic!("no {attribute} on {node:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{attribute} of {node:?}: {e}"))
}

/// The root after checking it is an SVG element in the SVG namespace.
fn svg_root<'a, 'i>(doc: &'a Document<'i>) -> Node<'a, 'i> {
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
    assert_eq!(root.attribute("version"), Some("1.1"));
    root
}

/// Resource lanes by their label.
fn resource_lanes<'a, 'i>(root: Node<'a, 'i>) -> Vec<(String, Node<'a, 'i>)> {
    descendants_with_class(root, "lane")
        .into_iter()
        .filter(|l| has_class(*l, "resource"))
        .map(|lane| {
            let labels = children_with_class(lane, "lane-label");
            assert_eq!(labels.len(), 1, "one label per lane");
            (shown_text(labels[0]), lane)
        })
        .collect()
}

fn lane<'a, 'i>(root: Node<'a, 'i>, label: &str) -> Node<'a, 'i> {
    resource_lanes(root)
        .into_iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no lane labelled {label:?}"))
        .1
}

/// A segment: its state (the tooltip's first line), colour class, x and
/// width, and the whole tooltip.
#[derive(Debug)]
struct Segment {
    state: String,
    class: String,
    x: f64,
    width: f64,
    title: String,
}

fn segments(lane: Node) -> Vec<Segment> {
    children_with_class(lane, "segment")
        .into_iter()
        .map(|g| {
            let rect = g
                .children()
                .find(|n| n.has_tag_name((SVG_NS, "rect")))
                .expect("a segment has a rect");
            let title = title(g);
            Segment {
                state: title.lines().next().unwrap_or_default().to_string(),
                class: g.attribute("class").unwrap_or_default().to_string(),
                x: number(rect, "x"),
                width: number(rect, "width"),
                title,
            }
        })
        .collect()
}

fn states(segments: &[Segment]) -> Vec<&str> {
    segments.iter().map(|s| s.state.as_str()).collect()
}

// ----- the example --------------------------------------------------------------

#[test]
fn the_example_is_a_well_formed_svg_document() {
    let svg = render(&history(OVERDUE_INSTANCE));
    let doc = Document::parse(&svg).expect("well-formed XML");
    let root = svg_root(&doc);
    assert!(number(root, "width") > 0.0 && number(root, "height") > 0.0);
    // Self-contained: nothing loaded from elsewhere, nothing run.
    for forbidden in ["<script", "<image", "href", "url(", "@import", "@font-face"] {
        assert!(!svg.contains(forbidden), "the SVG contains {forbidden}");
    }
    assert!(
        root.descendants()
            .all(|n| !n.is_element() || n.tag_name().namespace() == Some(SVG_NS)),
        "every element is in the SVG namespace"
    );
}

#[test]
fn the_example_has_one_labelled_lane_per_resource() {
    let svg = render(&history(OVERDUE_INSTANCE));
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let labels: Vec<String> = resource_lanes(root).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["instance i-1", "disk d-1"]);
    let accounts: Vec<String> = descendants_with_class(root, "account-label")
        .into_iter()
        .map(shown_text)
        .collect();
    assert_eq!(accounts, ["account a-1"]);
}

#[test]
fn the_instance_lane_runs_through_its_states_in_order() {
    let svg = render(&history(OVERDUE_INSTANCE));
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let segs = segments(lane(root, "instance i-1"));
    assert_eq!(
        states(&segs),
        ["running", "overdue", "stopped", "released"],
        "{segs:#?}"
    );
    for pair in segs.windows(2) {
        assert!(pair[0].x < pair[1].x, "x increases: {segs:#?}");
        // Segments tile the lane: each ends where the next begins.
        assert!((pair[0].x + pair[0].width - pair[1].x).abs() < 0.02);
    }
    assert!(segs.iter().all(|s| s.width > 0.0));
    // Coloured by what the state means.
    let class = |state: &str| &segs.iter().find(|s| s.state == state).unwrap().class;
    assert!(class("running").contains("state-serving"));
    assert!(class("overdue").contains("state-serving"));
    assert!(class("stopped").contains("state-retained"));
    assert!(class("released").contains("state-gone"));
    // Tooltips give the interval.
    let stopped = segs.iter().find(|s| s.state == "stopped").unwrap();
    assert!(
        stopped.title.contains("day 16 00:00 to day 31 00:00"),
        "{}",
        stopped.title
    );
    assert!(segs[0].title.contains("day 0 00:00 to day 1 00:00"));
    // The stopped state spans 15 of the axis's 32 days.
    let total: f64 = segs.iter().map(|s| s.width).sum();
    assert!((stopped.width / total - 15.0 / 32.0).abs() < 0.001);
}

#[test]
fn the_disk_lane_follows_its_instance() {
    let svg = render(&history(OVERDUE_INSTANCE));
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let disk = segments(lane(root, "disk d-1"));
    let instance = segments(lane(root, "instance i-1"));
    assert_eq!(states(&disk), ["in-service", "out-of-service", "released"]);
    assert!(disk.windows(2).all(|p| p[0].x < p[1].x));
    // Out of service when the instance stops, released with it.
    let x_of = |segs: &[Segment], state: &str| segs.iter().find(|s| s.state == state).unwrap().x;
    assert_eq!(x_of(&disk, "out-of-service"), x_of(&instance, "stopped"));
    assert_eq!(x_of(&disk, "released"), x_of(&instance, "released"));
    assert!(disk[1].class.contains("state-retained"));
}

#[test]
fn failed_deductions_are_marked_with_their_rule() {
    let svg = render(&history(OVERDUE_INSTANCE));
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let failed = descendants_with_class(lane(root, "instance i-1"), "deduction-failed");
    // T, T+7, T+14.
    assert_eq!(failed.len(), 3);
    let titles: Vec<String> = failed.iter().map(|m| title(*m)).collect();
    for (title, day) in titles
        .iter()
        .zip(["day 1 00:00", "day 8 00:00", "day 15 00:00"])
    {
        assert!(
            title.contains("ecs.payg.three-deduction-dates"),
            "the title names the rule: {title}"
        );
        assert!(title.contains(day), "the title names the instant: {title}");
        assert!(title.contains("failed"), "{title}");
    }
    // The overdue and release notifications, with their rules.
    let notes = descendants_with_class(root, "notification");
    let notes: Vec<String> = notes
        .into_iter()
        .filter(|n| has_class(*n, "marker"))
        .map(title)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("ecs.notify.overdue") && notes[0].contains("rule "));
    // No marker without a tooltip.
    for m in descendants_with_class(root, "marker") {
        assert!(!title(m).is_empty(), "{m:?}");
    }
}

#[test]
fn the_axis_has_day_ticks_and_a_legend() {
    let svg = render(&history(OVERDUE_INSTANCE));
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let ticks: Vec<String> = descendants_with_class(root, "tick")
        .into_iter()
        .map(shown_text)
        .collect();
    assert_eq!(ticks, ["day 0", "day 7", "day 14", "day 21", "day 28"]);
    let legend = descendants_with_class(root, "legend");
    assert_eq!(legend.len(), 1);
    let words: String = legend[0]
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("|");
    for entry in [
        "serving",
        "not serving, data retained",
        "data deleted or terminal",
        "unspecified",
        "deduction failed",
        "top-up",
        "notification",
        "operation denied",
        "refund",
    ] {
        assert!(words.contains(entry), "legend lacks {entry}: {words}");
    }
}

#[test]
fn long_histories_get_a_coarser_tick_step() {
    let svg = render(&history(
        r#"
start: 2025-01-01T00:00:00Z
until: +400d
accounts: [{id: a-1, cash: 1000}]
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}
"#,
    ));
    let doc = Document::parse(&svg).unwrap();
    let ticks: Vec<String> = descendants_with_class(svg_root(&doc), "tick")
        .into_iter()
        .map(shown_text)
        .collect();
    assert!(ticks.len() >= 3 && ticks.len() <= 13, "{ticks:?}");
    assert_eq!(ticks[0], "day 0");
    assert_eq!(ticks[1], "day 56");
}

#[test]
fn rendering_is_deterministic() {
    let h = history(OVERDUE_INSTANCE);
    let trace = arrears::model::run(catalog(), &h, &[]).unwrap();
    let first = arrears::svg::render(catalog(), &h, &trace);
    let second = arrears::svg::render(catalog(), &h, &trace);
    assert_eq!(first.as_bytes(), second.as_bytes());
    assert_eq!(
        first,
        render(&h),
        "a second run of the model draws the same"
    );
}

// ----- purchases, accounts, escaping ----------------------------------------------------

#[test]
fn purchases_top_ups_and_denials_are_drawn() {
    let svg = render(&history(
        r#"
start: 2025-01-01T00:00:00Z
until: +20d
accounts:
  - {id: a-1, cash: 1000}
resources:
  - {id: i-1, account: a-1, product: ecs, kind: instance, billing: pay-as-you-go}
events:
  - charge: {at: +1d, resource: i-1, amount: 2400}
  - purchase: {at: +2d, account: a-1, price: 0, resource: {id: i-2, product: ecs, kind: instance, billing: pay-as-you-go}}
  - grant_voucher: {at: +3d, account: a-1, amount: 100}
  - top_up: {at: +4d, account: a-1, amount: 5000}
  - purchase: {at: +5d, account: a-1, price: 0, resource: {id: i-3, product: ecs, kind: instance, billing: pay-as-you-go}}
"#,
    ));
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let labels: Vec<String> = resource_lanes(root).into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["instance i-1", "instance i-2", "instance i-3"]);
    // Bought while overdue: denied, so never created.
    let denied = descendants_with_class(lane(root, "instance i-2"), "operation-denied");
    assert_eq!(denied.len(), 1);
    assert!(title(denied[0]).contains("purchase denied"));
    assert!(title(denied[0]).contains("day 2 00:00"));
    assert!(segments(lane(root, "instance i-2")).is_empty());
    // Bought after the top-up settled the bill: exists from day 5.
    let bought = segments(lane(root, "instance i-3"));
    assert_eq!(states(&bought), ["running"]);
    assert!(bought[0].title.contains("day 5 00:00 to day 20 00:00"));
    let listed = segments(lane(root, "instance i-1"));
    assert!(bought[0].x > listed[0].x);
    // The account lane carries the top-up and the voucher.
    let account = descendants_with_class(root, "account")
        .into_iter()
        .find(|n| has_class(*n, "lane"))
        .unwrap();
    assert_eq!(descendants_with_class(account, "top-up").len(), 1);
    assert_eq!(descendants_with_class(account, "voucher").len(), 1);
    assert!(title(descendants_with_class(account, "top-up")[0]).contains("top-up of 50.00"));
    // The settlement on top-up is a paid deduction.
    assert_eq!(
        descendants_with_class(lane(root, "instance i-1"), "deduction-paid").len(),
        1
    );
}

#[test]
fn ids_with_xml_special_characters_are_escaped() {
    let nasty = r#"i-<&>"'"#;
    let account = r#"a-&amp;<x>"#;
    let h = History::from_text(
        &json!({
            "start": "2025-01-01T00:00:00Z",
            "until": "+32d",
            "accounts": [{"id": account, "cash": 1000}],
            "resources": [
                {"id": nasty, "account": account, "product": "ecs", "kind": "instance",
                 "billing": "pay-as-you-go"},
                {"id": "d-]]>", "account": account, "product": "ecs", "kind": "disk",
                 "billing": "not-billed", "parent": nasty},
            ],
            "events": [{"charge": {"at": "+1d", "resource": nasty, "amount": 2400}}],
        })
        .to_string(),
    )
    .unwrap();
    let svg = render(&h);
    assert!(!svg.contains(nasty), "the raw id is in the document");
    assert!(!svg.contains("<x>"));
    assert!(svg.contains("i-&lt;&amp;&gt;&quot;&apos;"));
    let doc = Document::parse(&svg).expect("still well-formed");
    let root = svg_root(&doc);
    let labels: Vec<String> = resource_lanes(root).into_iter().map(|(l, _)| l).collect();
    assert_eq!(
        labels,
        [format!("instance {nasty}"), "disk d-]]>".to_string()]
    );
    let accounts: Vec<String> = descendants_with_class(root, "account-label")
        .into_iter()
        .map(shown_text)
        .collect();
    assert_eq!(accounts, [format!("account {account}")]);
    let segs = segments(lane(root, &format!("instance {nasty}")));
    assert_eq!(states(&segs), ["running", "overdue", "stopped", "released"]);
    // Tooltips carry the ids back intact.
    let failed = descendants_with_class(root, "deduction-failed");
    assert!(title(failed[0]).contains(&format!("bill {nasty}/1")));
    let note = descendants_with_class(root, "notification")
        .into_iter()
        .find(|n| has_class(*n, "marker"))
        .unwrap();
    assert!(title(note).contains(&format!("sent to {account}")));
}

#[test]
fn long_ids_are_cut_in_the_label_and_whole_in_its_tooltip() {
    let id = format!("i-{}", "x".repeat(100));
    let h = History::from_text(
        &json!({
            "start": "2025-01-01T00:00:00Z",
            "until": "+3d",
            "accounts": [{"id": "a-1", "cash": 1000}],
            "resources": [{"id": id, "account": "a-1", "product": "ecs",
                           "kind": "instance", "billing": "pay-as-you-go"}],
        })
        .to_string(),
    )
    .unwrap();
    let svg = render(&h);
    let doc = Document::parse(&svg).unwrap();
    let root = svg_root(&doc);
    let label = descendants_with_class(root, "lane-label")[0];
    assert!(shown_text(label).chars().count() < 40);
    assert!(shown_text(label).ends_with('\u{2026}'));
    assert_eq!(title(label), format!("instance {id}"));
}

// ----- random histories ---------------------------------------------------------------

/// Characters ids are drawn from: the XML specials among ordinary ones.
const ID_CHARS: &[char] = &['a', 'b', '-', '1', '<', '>', '&', '"', '\'', ';', ']'];

fn id_suffix() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ID_CHARS), 0..6)
        .prop_map(|c| c.into_iter().collect())
}

/// Products with a pay-as-you-go lifecycle that takes charges.
const PRODUCTS: &[(&str, &str)] = &[
    ("ecs", "instance"),
    ("emr", "cluster"),
    ("maxcompute", "instance"),
    ("flink", "workspace"),
];

#[derive(Debug, Clone)]
enum Step {
    Charge { resource: usize, amount: i64 },
    TopUp { account: usize, amount: i64 },
    Voucher { account: usize, amount: i64 },
    PayNow { account: usize },
    Purchase { account: usize, price: i64 },
    Release { resource: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<usize>(), 0i64..6000).prop_map(|(resource, amount)| Step::Charge { resource, amount }),
        2 => (any::<usize>(), 0i64..6000).prop_map(|(account, amount)| Step::TopUp { account, amount }),
        1 => (any::<usize>(), 0i64..3000).prop_map(|(account, amount)| Step::Voucher { account, amount }),
        1 => any::<usize>().prop_map(|account| Step::PayNow { account }),
        1 => (any::<usize>(), 0i64..2000).prop_map(|(account, price)| Step::Purchase { account, price }),
        1 => any::<usize>().prop_map(|resource| Step::Release { resource }),
    ]
}

#[derive(Debug, Clone)]
struct Random {
    accounts: Vec<(String, i64, i64)>,
    /// (suffix, product index, account index, with a disk)
    resources: Vec<(String, usize, usize, bool)>,
    /// (minutes after the start, step)
    steps: Vec<(i64, Step)>,
    until_minutes: i64,
}

fn random_history() -> impl Strategy<Value = Random> {
    (
        prop::collection::vec((id_suffix(), 0i64..5000, 0i64..500), 1..3),
        prop::collection::vec(
            (
                id_suffix(),
                0..PRODUCTS.len(),
                any::<usize>(),
                any::<bool>(),
            ),
            1..4,
        ),
        prop::collection::vec((0i64..60 * 24 * 60, step()), 0..12),
        0i64..90 * 24 * 60,
    )
        .prop_map(|(accounts, resources, steps, until_minutes)| Random {
            accounts,
            resources,
            steps,
            until_minutes,
        })
}

/// The history a random draw describes (always valid: ids are made unique
/// by their index, and events only name listed resources).
fn build(r: &Random) -> (History, usize) {
    let offset = |minutes: i64| {
        format!(
            "+{}d{}h{}m",
            minutes / 1440,
            minutes / 60 % 24,
            minutes % 60
        )
    };
    let accounts: Vec<String> = r
        .accounts
        .iter()
        .enumerate()
        .map(|(i, (s, _, _))| format!("a{i}{s}"))
        .collect();
    let mut resources: Vec<Value> = Vec::new();
    // Ids of the billed resources, with whether they are ECS instances.
    let mut billed: Vec<(String, bool)> = Vec::new();
    for (i, (suffix, product, account, disk)) in r.resources.iter().enumerate() {
        let (product, kind) = PRODUCTS[*product];
        let id = format!("r{i}{suffix}");
        let account = &accounts[account % accounts.len()];
        resources.push(json!({"id": id, "account": account, "product": product,
                              "kind": kind, "billing": "pay-as-you-go"}));
        if product == "ecs" && *disk {
            resources.push(json!({"id": format!("d{i}{suffix}"), "account": account,
                                  "product": "ecs", "kind": "disk",
                                  "billing": "not-billed", "parent": id}));
        }
        billed.push((id, product == "ecs"));
    }
    let mut steps = r.steps.clone();
    steps.sort_by_key(|(at, _)| *at);
    let mut events = Vec::new();
    let mut purchases = 0;
    for (n, (at, step)) in steps.iter().enumerate() {
        let at = offset(*at);
        let account = |i: &usize| accounts[i % accounts.len()].clone();
        let event = match step {
            Step::Charge { resource, amount } => {
                json!({"charge": {"at": at, "resource": billed[resource % billed.len()].0, "amount": amount}})
            }
            Step::TopUp { account: a, amount } => {
                json!({"top_up": {"at": at, "account": account(a), "amount": amount}})
            }
            Step::Voucher { account: a, amount } => {
                json!({"grant_voucher": {"at": at, "account": account(a), "amount": amount}})
            }
            Step::PayNow { account: a } => json!({"pay_now": {"at": at, "account": account(a)}}),
            Step::Purchase { account: a, price } => {
                purchases += 1;
                json!({"purchase": {"at": at, "account": account(a), "price": price,
                       "resource": {"id": format!("p{n}<&>"), "product": "ecs",
                                    "kind": "instance", "billing": "pay-as-you-go"}}})
            }
            Step::Release { resource } => {
                let (id, ecs) = &billed[resource % billed.len()];
                if !*ecs {
                    continue;
                }
                json!({"operate": {"at": at, "resource": id, "operation": "release"}})
            }
        };
        events.push(event);
    }
    let text = json!({
        "start": "2025-03-01T12:00:00Z",
        "until": offset(r.until_minutes),
        "accounts": r.accounts.iter().zip(&accounts)
            .map(|((_, cash, vouchers), id)| json!({"id": id, "cash": cash, "vouchers": vouchers}))
            .collect::<Vec<_>>(),
        "resources": resources,
        "events": events,
    })
    .to_string();
    let history = History::from_text(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let lanes = history.resources.len() + purchases;
    (history, lanes)
}

proptest! {
    #![proptest_config(common::proptest_config(300))]

    #[test]
    fn random_histories_render_to_well_formed_svg(r in random_history()) {
        let (history, lanes) = build(&r);
        let trace = arrears::model::run(catalog(), &history, &[])
            .map_err(|e| TestCaseError::fail(format!("the model failed: {e}")))?;
        let svg = arrears::svg::render(catalog(), &history, &trace);
        let doc = Document::parse(&svg)
            .map_err(|e| TestCaseError::fail(format!("not well-formed: {e}\n{svg}")))?;
        let root = doc.root_element();
        prop_assert_eq!(root.tag_name().name(), "svg");
        prop_assert_eq!(root.tag_name().namespace(), Some(SVG_NS));
        let found = resource_lanes(root);
        prop_assert_eq!(found.len(), lanes);
        for (label, lane) in &found {
            let segs = segments(*lane);
            for pair in segs.windows(2) {
                prop_assert!(pair[0].x <= pair[1].x, "{}: {:?}", label, segs);
            }
            for s in &segs {
                prop_assert!(s.width >= 0.0 && s.x.is_finite(), "{}: {:?}", label, s);
            }
        }
        // Every top-up, voucher and deduction of the trace has its marker.
        let drawn = |class: &str| descendants_with_class(root, class).len();
        let count = |f: fn(&arrears::observation::TraceEvent) -> bool| {
            trace.events.iter().filter(|e| f(e)).count()
        };
        use arrears::observation::TraceEvent as E;
        prop_assert_eq!(drawn("top-up"), count(|e| matches!(e, E::TopUp { .. })));
        prop_assert_eq!(drawn("voucher"), count(|e| matches!(e, E::VoucherGranted { .. })));
        prop_assert_eq!(
            descendants_with_class(root, "marker").iter()
                .filter(|m| m.attribute("class").is_some_and(|c| c.contains("deduction-")))
                .count(),
            count(|e| matches!(e, E::Deduction { .. }))
        );
        prop_assert_eq!(&svg, &arrears::svg::render(catalog(), &history, &trace));
    }
}
