//! `compare`: paired differences under common random numbers. An option
//! compared with an identical copy of itself differs by exactly zero, with a
//! zero-width interval, under both methods; the difference is exactly the
//! difference of the two estimates; recording pairs changes no estimate;
//! bad option names are clear errors.

use std::process::Command;

use replisim::engine::trials::Controls;
use replisim::estimate::compare::{self, Comparison};
use replisim::estimate::{Method, RunConfig, Summary, estimate, simulate_paired, summarize};
use replisim::report;
use replisim::scenario::{self, Scenario};

/// A and B store data alike (their random streams are shared); C has a
/// third copy. Disks fail often, so every option loses data in a few trials.
const TWINS: &str = r#"
name = "twins"
seed = 5
trials = 300
horizon = "1y"
options = []
detection = "0s"
[[custom]]
name = "A"
copies = 2
within = "facility"
spread = "rack"
[[custom]]
name = "B"
copies = 2
within = "facility"
spread = "rack"
[[custom]]
name = "C"
copies = 3
within = "facility"
spread = "rack"
[[region]]
name = "r"
zones = 1
facilities_per_zone = 1
racks_per_facility = 8
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "64GB"
extent_size = "1GB"
[failures.disk]
afr = 0.5
[repair]
time = { dist = "exponential", mean = "10d" }
"#;

fn twins() -> Scenario {
    scenario::parse("twins.toml", TWINS, "twins").unwrap()
}

fn config(method: Method) -> RunConfig {
    RunConfig {
        seed: 5,
        trials: 300,
        threads: 0,
        method,
    }
}

fn compared(s: &Scenario, method: Method, listed: &[usize]) -> (Summary, Comparison) {
    compared_on(s, method, listed, 0)
}

fn compared_on(
    s: &Scenario,
    method: Method,
    listed: &[usize],
    threads: usize,
) -> (Summary, Comparison) {
    let config = RunConfig {
        threads,
        ..config(method)
    };
    let run = simulate_paired(s, config, listed[0], &Controls::default()).unwrap();
    let summary = summarize(s, config, &run.acc);
    let c = compare::comparison(&s.system, &summary, &run.acc, listed).unwrap();
    (summary, c)
}

#[test]
fn an_option_against_itself_differs_by_exactly_zero() {
    let s = twins();
    for method in [Method::RareEvent, Method::Plain] {
        let (summary, c) = compared(&s, method, &[0, 1, 2]);
        assert_eq!(c.baseline, "A");
        let b = &c.options[1];
        assert_eq!(b.option, "B");
        for d in &b.differences {
            assert_eq!(d.difference, Some(0.0), "{method:?} {}", d.metric);
            assert_eq!(
                d.difference_ci95,
                Some([0.0, 0.0]),
                "{method:?} {}",
                d.metric
            );
            assert_eq!(Some(d.value), d.baseline);
        }
        // Not vacuous: the option did lose data, by the method asked for.
        let p = &b.differences[0];
        assert!(p.value > 0.0, "{method:?}: no loss seen");
        let by = if method == Method::Plain {
            "fleet trial"
        } else {
            "group trial"
        };
        assert_eq!(p.paired_by, by);
        assert_eq!(summary.options[1].durability.loss_probability, p.value);
    }
}

#[test]
fn the_difference_is_the_difference_of_the_estimates() {
    let s = twins();
    for method in [Method::RareEvent, Method::Plain] {
        let (summary, c) = compared(&s, method, &[2, 0]);
        assert_eq!(c.baseline, "C");
        let a = &c.options[1];
        for d in &a.differences {
            let difference = d.difference.unwrap();
            assert_eq!(difference, d.value - d.baseline.unwrap(), "{}", d.metric);
            let [lo, hi] = d.difference_ci95.unwrap();
            assert!(lo <= difference && difference <= hi, "{}", d.metric);
        }
        let p = &a.differences[0];
        assert_eq!(p.value, summary.options[0].durability.loss_probability);
        assert_eq!(
            p.baseline,
            Some(summary.options[2].durability.loss_probability)
        );
        // Two copies lose far more than three: the interval says so.
        assert!(p.difference_ci95.unwrap()[0] > 0.0, "{method:?}: {p:?}");
        let pairs = summary.options[0].durability.samples;
        assert_eq!(p.pairs, pairs);
    }
}

#[test]
fn recording_pairs_changes_no_estimate() {
    let s = twins();
    for method in [Method::RareEvent, Method::Plain] {
        let plain = estimate(&s, config(method)).unwrap();
        let (paired, _) = compared(&s, method, &[1, 2]);
        assert_eq!(plain, paired, "{method:?}");
    }
}

#[test]
fn the_comparison_does_not_depend_on_the_thread_count() {
    let s = twins();
    let one = report::compare::json(&compared_on(&s, Method::RareEvent, &[2, 0], 1).1).unwrap();
    let two = report::compare::json(&compared_on(&s, Method::RareEvent, &[2, 0], 2).1).unwrap();
    assert_eq!(one, two);
}

#[test]
fn the_command_writes_the_comparison_and_refuses_unknown_options() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("twins.toml");
    std::fs::write(&file, TWINS).unwrap();
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_replisim"))
            .args([
                "compare",
                file.to_str().unwrap(),
                "--quiet",
                "--trials",
                "20",
            ])
            .args(["--out", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let ok = run(&["--options", "c,A"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let table = String::from_utf8_lossy(&ok.stdout);
    assert!(table.contains("baseline C"), "{table}");
    for name in ["compare.json", "compare.csv", "summary.json", "report.html"] {
        assert!(out.join(name).exists(), "{name} missing");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Comparison with C"));
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 6);

    for (bad, says) in [("A,Z", "no option `Z`"), ("A,a", "listed twice")] {
        let fail = run(&["--options", bad]);
        assert!(!fail.status.success());
        let err = String::from_utf8_lossy(&fail.stderr);
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// exact.toml with region loss at `per_year` (regions back at once, as its
/// facilities are).
fn exact_with_region(per_year: f64) -> Scenario {
    let text = std::fs::read_to_string("scenarios/exact.toml").unwrap();
    // Its [expect] pins the scenario without region loss: left out.
    let text = text.split("[expect]").next().unwrap().to_string()
        + &format!("[failures.region]\nafr = {per_year:e}\nreplace = \"0s\"\n");
    scenario::from_source("exact-region.toml", &text).unwrap()
}

/// P(object lost) of ZRS minus GRS, exactly (analyze), at a region-loss rate.
fn exact_gap(per_year: f64) -> f64 {
    let exact = replisim::exact::analyze::analyze(&exact_with_region(per_year).system).unwrap();
    let p = |name: &str| {
        exact
            .iter()
            .find(|e| e.option == name)
            .unwrap()
            .loss_probability
    };
    p("ZRS") - p("GRS")
}

#[test]
fn the_break_even_regional_risk_covers_the_exact_crossing() {
    // Where ZRS and GRS swap order, by bisection on the exact chain: ZRS is
    // safer without region loss, GRS once regions are lost often enough.
    let (mut lo, mut hi) = (0.0, 1e-6);
    assert!(exact_gap(lo) < 0.0 && exact_gap(hi) > 0.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if exact_gap(mid) < 0.0 {
            lo = mid
        } else {
            hi = mid
        }
    }
    let crossing = 0.5 * (lo + hi);
    // compare's first-order estimate from the loss by cause at 1e-6 a year,
    // over several seeds: its range is built from the causes' intervals.
    let s = exact_with_region(1e-6);
    let listed = compare::select(&s.system, Some("ZRS,GRS")).unwrap();
    for seed in 1..=4 {
        let config = RunConfig {
            seed,
            ..config(Method::RareEvent)
        };
        let run = simulate_paired(&s, config, listed[0], &Controls::default()).unwrap();
        let summary = summarize(&s, config, &run.acc);
        let c = compare::comparison(&s.system, &summary, &run.acc, &listed).unwrap();
        let b = c.options[1]
            .break_even
            .as_ref()
            .expect("ZRS and GRS swap order");
        assert_eq!(b.better_below, "ZRS");
        assert_eq!(b.measured_at_per_year, 1e-6);
        let [r_lo, r_hi] = b.range.expect("the intervals settle the crossing");
        assert!(
            r_lo <= crossing && crossing <= r_hi,
            "seed {seed}: exact crossing {crossing:e} outside [{r_lo:e}, {r_hi:e}] (estimate {:e})",
            b.region_loss_per_year
        );
        // The baseline has none.
        assert!(c.options[0].break_even.is_none());
    }
}

/// With `[logical]` the comparison has a P(logical loss) row, paired by
/// fleet trial, whose figures are the summary's; without it, none.
#[test]
fn logical_loss_is_compared_when_the_scenario_has_it() {
    let (_, c) = compared(&twins(), Method::Plain, &[2, 0]);
    assert!(
        !c.options[0]
            .differences
            .iter()
            .any(|d| d.metric == "P(logical loss)")
    );
    let text = format!(
        "{TWINS}[logical]\nrate = 2\ndetection = {{ dist = \"exponential\", mean = \"1d\" }}\nrestore = \"12h\"\n"
    );
    let s = scenario::parse("twins.toml", &text, "twins").unwrap();
    let (summary, c) = compared(&s, Method::Plain, &[2, 0]);
    for (o, k) in c.options.iter().zip([2, 0]) {
        let d = o.differences.last().unwrap();
        assert_eq!(d.metric, "P(logical loss)");
        assert_eq!(d.paired_by, "fleet trial");
        let own = summary.options[k]
            .logical
            .as_ref()
            .unwrap()
            .loss_probability;
        assert_eq!(d.value, own);
        assert!(d.value > 0.0);
        assert_eq!(d.difference, Some(d.value - d.baseline.unwrap()));
    }
}

/// With `[access]` the comparison has the Lockbox rows of the options with
/// a secondary, their figures the summary's: granted hours and denials a
/// year paired by fleet trial (GRS and RA-GRS draw the same answers, so
/// they differ by exactly zero), the share of the RTO waiting unpaired (a
/// ratio over the run's failovers), and nothing paired against a baseline
/// without a secondary. Without it, no such row.
#[test]
fn lockbox_figures_are_compared_where_a_pairing_means_something() {
    let lockbox = |d: &compare::Difference| {
        ["RTO waiting for approval", "granted hours", "denials"].contains(&d.metric)
    };
    let (_, c) = compared(&twins(), Method::Plain, &[2, 0]);
    assert!(!c.options.iter().flat_map(|o| &o.differences).any(lockbox));
    let text = "start = \"new\"\noptions = [\"LRS\", \"GRS\", \"RA-GRS\"]\n\
        [topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n\
        [data]\nsize = \"10GB\"\n[failures.disk]\nafr = 0\n\
        [[fault]]\nat = \"30d\"\nlevel = \"region\"\ntarget = \"westeurope\"\nkind = \"down\"\nduration = \"12h\"\n\
        [access]\napproval = { dist = \"exponential\", mean = \"3h\" }\ndenial = 0.5\n";
    let s = scenario::parse("lockbox.toml", text, "lockbox").unwrap();
    let (summary, c) = compared(&s, Method::Plain, &[1, 2, 0]);
    let rows = |k: usize| -> Vec<&compare::Difference> {
        c.options[k]
            .differences
            .iter()
            .filter(|d| lockbox(d))
            .collect()
    };
    assert!(rows(2).is_empty(), "LRS has no secondary");
    for (k, o) in [(0, 1), (1, 2)] {
        let access = summary.options[o].access.as_ref().unwrap();
        let [share, granted, denials] = rows(k)[..] else {
            panic!("{:?}", rows(k))
        };
        assert_eq!(Some(share.value), access.approval_wait_share);
        assert_eq!((share.difference, share.pairs), (None, 0));
        assert!(share.paired_by.contains("ratio of sums"));
        assert_eq!(granted.value, access.granted_hours_per_year.mean);
        assert_eq!(denials.value, access.denials_per_year.mean);
        for d in [granted, denials] {
            assert_eq!(d.difference, Some(0.0), "RA-GRS draws GRS's answers");
            assert_eq!(d.difference_ci95, Some([0.0, 0.0]));
            assert_eq!((d.pairs, d.paired_by.as_str()), (300, "fleet trial"));
        }
    }
    assert!(
        summary.options[1]
            .access
            .as_ref()
            .unwrap()
            .denials_per_year
            .mean
            > 0.0
    );
    // Against LRS: shown, not paired.
    let (_, c) = compared(&s, Method::Plain, &[0, 1]);
    let granted = c.options[1]
        .differences
        .iter()
        .find(|d| d.metric == "granted hours");
    let granted = granted.unwrap();
    assert_eq!((granted.baseline, granted.difference), (None, None));
    assert_eq!(granted.paired_by, "not paired: LRS has no secondary");
    let table = report::compare::table(&c);
    assert!(
        table.contains("not paired: LRS has no secondary"),
        "{table}"
    );
}
