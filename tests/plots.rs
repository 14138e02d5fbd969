//! Every chart writes a real SVG and a real PNG, survives empty and
//! non-finite input, and the HTML report escapes text and inlines the SVG.

mod common;

use replisim::report::html::{self, Block, Section};
use replisim::report::plot::{self, Bar, Cdf, Lane, Series};
use std::path::{Path, PathBuf};

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Both files exist, in the right format; returns the SVG text.
fn check(files: Result<Vec<PathBuf>, String>, stem: &Path) -> String {
    let files = files.unwrap_or_else(|e| panic!("{}: {e}", stem.display()));
    assert_eq!(files.len(), 2);
    let svg_path = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "svg"))
        .expect("an svg");
    let png_path = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("a png");
    let png = std::fs::read(png_path).unwrap();
    assert!(
        png.len() > 1000 && png.starts_with(PNG_MAGIC),
        "{} is not a PNG",
        png_path.display()
    );
    let svg = std::fs::read_to_string(svg_path).unwrap();
    assert!(svg.trim_start().starts_with("<svg") || svg.trim_start().starts_with("<?xml"));
    assert!(
        svg.contains("</svg>"),
        "{} is cut short",
        svg_path.display()
    );
    svg
}

fn bars() -> Vec<Bar> {
    vec![
        Bar {
            label: "LRS".into(),
            value: 4.2,
            ci95: [3.9, 4.6],
            at_least: false,
            colour: 0,
        },
        Bar {
            label: "ZRS".into(),
            value: 7.8,
            ci95: [7.1, 8.9],
            at_least: false,
            colour: 1,
        },
        Bar {
            label: "GRS".into(),
            value: 9.5,
            ci95: [9.5, f64::INFINITY],
            at_least: true,
            colour: 2,
        },
    ]
}

fn series() -> Vec<Series> {
    let curve = |label: &str, rate: f64| Series {
        label: label.into(),
        points: (1..=10)
            .map(|y| {
                let p = 1.0 - (-rate * f64::from(y)).exp();
                (f64::from(y), p, [p * 0.7, p * 1.4])
            })
            .collect(),
    };
    vec![curve("LRS", 1e-3), curve("ZRS", 1e-5), curve("GZRS", 1e-8)]
}

#[test]
fn every_chart_writes_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let stem = |name: &str| dir.path().join(name);

    let svg = check(
        plot::bars_with_ci(&stem("nines"), "Durability", "nines", &bars()),
        &stem("nines"),
    );
    assert!(svg.contains("≥ 9.5"), "the lower-bound bar is labelled ≥");
    check(
        plot::lines_with_bands(
            &stem("loss"),
            "P(loss)",
            "horizon (years)",
            "P(loss)",
            &series(),
            true,
        ),
        &stem("loss"),
    );
    let buckets: Vec<(f64, u64)> = (1..=20)
        .map(|i| (f64::from(i) * 5.0, (20 - i) as u64 * 3))
        .collect();
    check(
        plot::histogram(&stem("rpo"), "RPO", "RPO (s)", &buckets),
        &stem("rpo"),
    );
    let quantiles = vec![
        (0.0, 1.0),
        (0.5, 30.0),
        (0.9, 300.0),
        (0.99, 3000.0),
        (1.0, 9000.0),
    ];
    let cdfs = [Cdf {
        label: "GRS".into(),
        quantiles,
    }];
    check(
        plot::cdf(&stem("rto"), "RTO", "RTO (s)", &cdfs, true),
        &stem("rto"),
    );
    let lanes = vec![
        Lane {
            label: "disk 0".into(),
            intervals: vec![[10.0, 12.5], [200.0, 201.0]],
            events: vec![],
        },
        Lane {
            label: "zone 1".into(),
            intervals: vec![[150.0, 150.2]],
            events: vec![365.0],
        },
    ];
    check(
        plot::timeline(&stem("trace"), "Trial 7", &lanes),
        &stem("trace"),
    );
}

#[test]
fn empty_and_non_finite_input_still_draws() {
    let dir = tempfile::tempdir().unwrap();
    let stem = |name: &str| dir.path().join(name);
    let nan = f64::NAN;

    let svg = check(
        plot::bars_with_ci(&stem("b0"), "Nothing", "nines", &[]),
        &stem("b0"),
    );
    assert!(svg.contains("no data"));
    let odd = vec![
        Bar {
            label: "x".into(),
            value: nan,
            ci95: [nan, nan],
            at_least: false,
            colour: 0,
        },
        Bar {
            label: "y".into(),
            value: 3.0,
            ci95: [nan, f64::INFINITY],
            at_least: false,
            colour: 1,
        },
    ];
    let svg = check(
        plot::bars_with_ci(&stem("b1"), "Odd", "nines", &odd),
        &stem("b1"),
    );
    assert!(svg.contains("1 left out"));

    check(
        plot::lines_with_bands(&stem("l0"), "Nothing", "x", "y", &[], false),
        &stem("l0"),
    );
    let odd = vec![Series {
        label: "odd".into(),
        points: vec![
            (nan, 1.0, [0.0, 2.0]),
            (1.0, 0.0, [0.0, 1e-3]),
            (2.0, 1e-4, [nan, nan]),
            (f64::INFINITY, 1.0, [1.0, 1.0]),
        ],
    }];
    let svg = check(
        plot::lines_with_bands(&stem("l1"), "Odd", "x", "y", &odd, true),
        &stem("l1"),
    );
    assert!(svg.contains("3 left out"));
    check(
        plot::lines_with_bands(&stem("l2"), "Odd", "x", "y", &odd, false),
        &stem("l2"),
    );

    check(
        plot::histogram(&stem("h0"), "Nothing", "s", &[]),
        &stem("h0"),
    );
    check(
        plot::histogram(&stem("h1"), "Odd", "s", &[(nan, 3), (5.0, 0)]),
        &stem("h1"),
    );
    check(
        plot::cdf(&stem("c0"), "Nothing", "s", &[], true),
        &stem("c0"),
    );
    let odd = [Cdf {
        label: "odd".into(),
        quantiles: vec![(0.5, nan), (0.9, 0.0), (1.0, 5.0)],
    }];
    check(plot::cdf(&stem("c1"), "Odd", "s", &odd, true), &stem("c1"));

    check(plot::timeline(&stem("t0"), "Nothing", &[]), &stem("t0"));
    let odd = vec![Lane {
        label: "x".into(),
        intervals: vec![[nan, 1.0], [3.0, 2.0]],
        events: vec![f64::NEG_INFINITY],
    }];
    check(plot::timeline(&stem("t1"), "Odd", &odd), &stem("t1"));
}

#[test]
fn an_unwritable_target_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let err = plot::histogram(&blocker.join("h"), "t", "x", &[(1.0, 1)]).unwrap_err();
    assert!(err.contains("h.svg"), "{err}");
}

#[test]
fn html_report_escapes_text_and_inlines_svg() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("nines");
    let files = plot::bars_with_ci(&stem, "Durability <per option>", "nines", &bars()).unwrap();
    let figure = Block::figure_from_file(&files[0], "Nines & CI").unwrap();
    let sections = [
        Section {
            heading: "Results".into(),
            blocks: vec![
                Block::Table {
                    header: vec!["option".into(), "nines".into()],
                    rows: vec![
                        vec!["LRS".into(), "4.2".into()],
                        vec!["GRS".into(), "≥ 9.5".into()],
                    ],
                },
                figure,
            ],
        },
        Section {
            heading: "Scenario".into(),
            blocks: vec![Block::Pre(
                "name = \"x\"\n# <script>alert(1)</script>\n".into(),
            )],
        },
    ];
    let page = html::report("replisim <report>", &sections);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "the scenario text is escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("<title>replisim &lt;report&gt;</title>"));
    assert!(
        page.contains("<svg") && page.contains("</svg>"),
        "the figure is inline"
    );
    assert!(!page.contains("<?xml"), "no XML prolog inside HTML");
    assert!(
        page.contains("Durability &lt;per option&gt;"),
        "text inside the SVG stays escaped"
    );
    assert!(page.contains("<td class=\"num\">≥ 9.5</td>"));
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "nothing loaded from outside"
    );

    let out = dir.path().join("report").join("index.html");
    html::write(&out, &page).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), page);
}

/// Every bundled scenario, briefly run, draws its charts (SVG and PNG, each
/// valid) and a report.html that inlines every SVG; across the scenarios
/// every kind of chart is drawn from real data at least once.
#[test]
fn every_bundled_scenario_draws_its_charts() {
    use replisim::estimate::{Method, RunConfig, estimate};
    use std::collections::BTreeSet;
    let mut drawn = BTreeSet::new();
    for path in common::bundled_scenarios() {
        let s = replisim::scenario::load(&path).unwrap();
        let config = RunConfig {
            seed: s.seed,
            trials: s.trials.min(40),
            threads: 0,
            method: Method::RareEvent,
        };
        let summary = estimate(&s, config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let files = replisim::report::figures::write(&summary, &s, dir.path(), None).unwrap();
        let stems: BTreeSet<String> = files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e != "html"))
            .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(stems.contains("nines"), "{}", path.display());
        let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
        for stem in &stems {
            let pair = ["svg", "png"].map(|e| dir.path().join(format!("{stem}.{e}")));
            check(Ok(pair.to_vec()), &dir.path().join(stem));
        }
        assert_eq!(
            page.matches("<svg").count(),
            stems.len(),
            "{}: report.html inlines every chart",
            path.display()
        );
        // A chart left out is said so on the page.
        assert_eq!(page.matches("<p>No ").count(), 5 - stems.len());
        drawn.extend(stems);
    }
    let all = ["availability", "loss_by_horizon", "nines", "rpo", "rto"];
    assert_eq!(drawn, all.map(String::from).into_iter().collect());
}
