//! `analyze`, the exact solver: against closed forms and a hand-built
//! chain, against the rare-event simulator on a scenario with correlated
//! facility losses, and its refusals of non-Markovian scenarios.

use std::process::Command;

use replisim::estimate::{Method, RunConfig, estimate};
use replisim::exact::analyze::analyze;
use replisim::exact::markov::{RepairDiscipline, replica_group};
use replisim::scenario;

mod common;

fn group(copies: u32, needed: u32, discipline: &str) -> String {
    format!(
        r#"
detection = "0s"
start = "new"
options = []
[[custom]]
name = "g"
copies = {copies}
needed = {needed}
[failures.disk]
afr = 0.5
[repair]
time = {{ dist = "exponential", mean = "10d" }}
discipline = "{discipline}"
"#
    )
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

#[test]
fn matches_closed_forms_and_the_hand_built_chain() {
    let (lambda, mu) = (0.5, 365.25 / 10.0);
    for (copies, needed, discipline, d) in [
        (2, 1, "parallel", RepairDiscipline::Parallel),
        (3, 1, "parallel", RepairDiscipline::Parallel),
        (3, 1, "one-at-a-time", RepairDiscipline::OneAtATime),
        (5, 3, "parallel", RepairDiscipline::Parallel),
    ] {
        let s = scenario::parse("g.toml", &group(copies, needed, discipline), "g").unwrap();
        let exact = &analyze(&s.system).unwrap()[0];
        let hand = replica_group(copies, needed, lambda, mu, d).unwrap();
        let p = hand.loss_probability(1.0).unwrap().probability;
        assert!(rel(exact.loss_probability, p) < 1e-9, "{exact:?} vs {p}");
        assert!(rel(exact.mttdl_years, hand.mttdl().unwrap()) < 1e-9);
    }
    // Two copies, parallel repair: MTTDL = (3λ + μ) / (2λ²).
    let s = scenario::parse("g.toml", &group(2, 1, "parallel"), "g").unwrap();
    let mttdl = analyze(&s.system).unwrap()[0].mttdl_years;
    let closed = (3.0 * lambda + mu) / (2.0 * lambda * lambda);
    assert!(rel(mttdl, closed) < 1e-9, "{mttdl} vs {closed}");
}

#[test]
fn rare_event_intervals_cover_the_exact_values_of_all_options() {
    let s = scenario::parse("exact.toml", &common::correlated("1y"), "exact").unwrap();
    let exact = analyze(&s.system).unwrap();
    assert!(exact[3].loss_probability < 1e-15, "GZRS reaches 16 nines");
    let config = RunConfig {
        seed: 3,
        trials: 1500,
        threads: 0,
        method: Method::RareEvent,
    };
    let summary = estimate(&s, config).unwrap();
    // Four intervals at once: widened to a family-wise 99% (Bonferroni,
    // z = Φ⁻¹(1 − 0.01/8) = 3.023 instead of 1.960).
    let widen = common::bonferroni_99(4);
    for (e, o) in exact.iter().zip(&summary.options) {
        let d = &o.durability;
        let half = (d.ci95[1] - d.ci95[0]) / 2.0 * widen;
        println!(
            "{}: exact {:.4e}, estimate {:.4e} ± {half:.2e}",
            e.option, e.loss_probability, d.loss_probability
        );
        assert!(
            (d.loss_probability - e.loss_probability).abs() <= half,
            "{}: exact {:e} vs {:e} ± {half:e}",
            e.option,
            e.loss_probability,
            d.loss_probability
        );
    }
}

#[test]
fn refuses_non_markovian_scenarios_naming_the_field() {
    let cases = [
        ("detection = \"15m\"", "`detection`"),
        (
            "lifetime = { dist = \"weibull\", shape = 0.8, mean = \"60y\" }",
            "`failures.disk.lifetime`",
        ),
        ("bandwidth", "`repair.time`"),
    ];
    let correlated = common::correlated("1y");
    for (change, field) in cases {
        let text = match change {
            "bandwidth" => {
                correlated.replace("time = { dist = \"exponential\", mean = \"1d\" }", "")
            }
            c if c.starts_with("detection") => correlated.replace("detection = \"0s\"", c),
            c => correlated.replace("afr = 0.0157", c),
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_replisim"))
            .arg("analyze")
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{change}: accepted");
        assert!(
            stderr.contains("s.toml:") && stderr.contains(field),
            "{change}: {stderr}"
        );
    }
}
