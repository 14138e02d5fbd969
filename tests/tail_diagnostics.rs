//! The tail diagnostics (Pareto k̂ of the largest contributions, batch
//! means) on the hard cases of issue 19, where the episode method alone (no
//! strata on site events) printed tight intervals that miss: each miss must
//! come with the interval reported unreliable, `--rel-error` must not stop
//! on it, and `check` must not count it.

use std::process::Command;

use replisim::estimate::{Method, RunConfig, estimate};
use replisim::exact::analyze::analyze;
use replisim::scenario;

mod common;

/// The fast-repair variant of the default scenario (issue 19: 100 GB/s
/// rebuilds, a datacenter lost 1e-4 a year), GZRS only, without its
/// `[expect]` section; `expect` is put in its place.
fn fast_gzrs(expect: &str) -> String {
    let text = include_str!("../scenarios/default.toml");
    let cut = text.find("[expect]").expect("default.toml has [expect]");
    let edits = [
        (
            "options = [\"LRS\", \"ZRS\", \"GRS\", \"GZRS\"]",
            "options = [\"GZRS\"]",
        ),
        (
            "facility_bandwidth = \"50GB/s\"",
            "facility_bandwidth = \"100GB/s\"",
        ),
        (
            "[failures.facility]\nafr = 0.001",
            "[failures.facility]\nafr = 1e-4",
        ),
    ];
    let mut text = text[..cut].to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "default.toml has {from}");
        text = text.replace(from, to);
    }
    format!("{text}\n{expect}")
}

fn config(seed: u64, trials: u64) -> RunConfig {
    RunConfig {
        seed,
        trials,
        threads: 0,
        method: Method::Unstratified,
    }
}

#[test]
fn exact_toml_misses_only_where_flagged_and_with_strata_covers_and_vouches() {
    let s = scenario::load(std::path::Path::new("scenarios/exact.toml")).unwrap();
    let exact = analyze(&s.system).unwrap();
    let summary = estimate(&s, config(s.seed, s.trials)).unwrap();
    for (e, o) in exact.iter().zip(&summary.options) {
        let d = &o.durability;
        let covers = d.ci95[0] <= e.loss_probability && e.loss_probability <= d.ci95[1];
        println!(
            "{}: exact {:.4e}, {:.4e} {:?}, k̂ {:?}, reliable {}",
            e.option,
            e.loss_probability,
            d.loss_probability,
            d.ci95,
            d.diagnostics.pareto_k,
            d.reliable
        );
        assert!(
            covers || !d.reliable,
            "{}: a confident miss: {d:?}",
            e.option
        );
    }
    // The case of the issue (GZRS missed the exact value at this seed, with
    // no warning, under the old estimator): with strata on site events every
    // option's interval covers the exact value and vouches for it.
    let stratified = RunConfig {
        method: Method::RareEvent,
        ..config(s.seed, s.trials)
    };
    let summary = estimate(&s, stratified).unwrap();
    for (e, o) in exact.iter().zip(&summary.options) {
        let d = &o.durability;
        assert!(d.reliable, "{}: {d:?}", e.option);
        assert!(
            d.ci95[0] <= e.loss_probability && e.loss_probability <= d.ci95[1],
            "{}: exact {:.4e} outside {:?}",
            e.option,
            e.loss_probability,
            d.ci95
        );
    }
}

#[test]
fn fast_repair_gzrs_is_flagged_without_strata_and_reliable_with_them() {
    // Without strata the episode method's largest contributions are
    // heavy-tailed here (issue 19: seeds spread over 225x with no warning);
    // the diagnostic must say so. With strata on site events, the same
    // seed's interval passes it and is narrow.
    let s = scenario::parse("fast.toml", &fast_gzrs(""), "fast").unwrap();
    let summary = estimate(&s, config(7, 2000)).unwrap();
    let d = &summary.options[0].durability;
    assert!(!d.reliable, "{d:?}");
    assert!(d.diagnostics.pareto_k.unwrap() > d.diagnostics.pareto_k_threshold);
    let strata = RunConfig {
        method: Method::RareEvent,
        ..config(7, 2000)
    };
    let d = &estimate(&s, strata).unwrap().options[0].durability;
    assert!(d.reliable, "{d:?}");
    assert!(d.relative_error.unwrap() < 0.2, "{d:?}");
}

/// Runs the binary on `text` with `args`; returns (exit code, stdout, summary.json).
fn run_binary(text: &str, args: &[&str]) -> (i32, String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fast.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .args(["--method", "unstratified"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap_or_default();
    let json = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
    (result.status.code().unwrap_or(-1), stdout, json)
}

#[test]
fn rel_error_does_not_stop_on_an_unreliable_interval_and_check_does_not_count_it() {
    let text = fast_gzrs("");
    let (code, stdout, json) = run_binary(
        &text,
        &[
            "run",
            "--seed",
            "7",
            "--trials",
            "1000",
            "--rel-error",
            "0.3",
            "--max-trials",
            "2000",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    // Under the old rule it stopped at once, "met", at ±27%.
    assert_eq!(json["stopping"]["met"], false, "{stdout}");
    assert_eq!(json["trials"], 2000);
    assert_eq!(json["options"][0]["durability"]["reliable"], false);
    assert!(stdout.contains("unreliable ["), "{stdout}");
    assert!(stdout.contains("[unreliable]"), "{stdout}");

    let text = fast_gzrs("[expect]\nGZRS = [\"nines >= 12\", \"read_availability >= 99%\"]\n");
    let (code, stdout, _) = run_binary(&text, &["check", "--seed", "7", "--trials", "2000"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("NOT ESTABLISHED"), "{stdout}");
    assert!(
        stdout.contains("1 of 2 expectations not established"),
        "{stdout}"
    );
}
