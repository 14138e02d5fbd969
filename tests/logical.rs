//! Logical errors (`[logical]`) against closed forms. Errors at rate q a
//! year, noticed after an exponential delay of mean 1/μ, are beyond
//! recovery when noticed after both the restore window R and the lag L of
//! the secondary: P(logical loss over T) = 1 − exp(−q·T·e^(−μ·max(R, L)))
//! with L the link's latency for a geo option whose link keeps up, and
//! L = 0 without a secondary. A link slower than the writes lets the lag
//! grow (t/2 at half the write rate): the secondary holds good data longer.
//! Without `[logical]` nothing changes (reference_results.rs).

use replisim::estimate::{Method, RunConfig, Summary, estimate};
use replisim::scenario;

const YEAR_S: f64 = 365.25 * 86_400.0;

/// A fleet without failures: nothing but logical errors can lose data.
const BASE: &str = "start = \"new\"\noptions = [\"LRS\", \"ZRS\", \"GRS\", \"GZRS\"]\n\
[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n\
[data]\nsize = \"10GB\"\n[failures.disk]\nafr = 0\n";

fn run(text: &str, trials: u64) -> Summary {
    let s = scenario::from_source("logical.toml", text).unwrap();
    let config = RunConfig {
        seed: 3,
        trials,
        threads: 0,
        method: Method::RareEvent,
    };
    estimate(&s, config).unwrap()
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn an_idle_link_gives_the_closed_form_and_geo_lifts_only_past_the_restore_window() {
    let (q, mean_s, latency_s) = (2.0, 60.0, 30.0);
    for restore_s in [0.0, 10.0, 120.0] {
        let restore = if restore_s > 0.0 {
            format!("restore = \"{restore_s}s\"\n")
        } else {
            String::new()
        };
        let text = format!(
            "{BASE}[geo_replication]\nlatency = \"{latency_s}s\"\n\
             [logical]\nrate = {q}\ndetection = {{ dist = \"exponential\", mean = \"{mean_s}s\" }}\n{restore}"
        );
        let summary = run(&text, 8);
        let horizon_years = summary.horizon_years;
        for o in &summary.options {
            let l = o.logical.as_ref().unwrap();
            let lag_s = if o.option.starts_with('G') {
                latency_s
            } else {
                0.0
            };
            let window_s = f64::max(restore_s, lag_s);
            let want = -(-q * horizon_years * (-window_s / mean_s).exp()).exp_m1();
            assert!(
                relative(l.loss_probability, want) < 1e-9,
                "{} R={restore_s}: {} vs {want}",
                o.option,
                l.loss_probability
            );
            // Every trial alike: the interval is the point.
            assert!(relative(l.ci95[0], want) < 1e-9 && relative(l.ci95[1], want) < 1e-9);
            // No copy is lost: durability with logical errors is theirs alone.
            assert_eq!(o.durability.loss_probability, 0.0);
            assert!(relative(l.loss_probability_with_logical, want) < 1e-12);
        }
    }
}

#[test]
fn a_link_slower_than_the_writes_lets_the_lag_grow_and_protect_longer() {
    // Writes at twice the link's bandwidth, no latency: lag(t) = t/2, so
    // the exposure is ∫₀ᵀ e^(−μt/2) dt = (2/μ)(1 − e^(−μT/2)).
    let (q, mean_days) = (5.0, 30.0);
    let text = format!(
        "{BASE}[geo_replication]\nwrite_rate = \"2MB/s\"\nbandwidth = \"1MB/s\"\nlatency = \"0s\"\n\
         [logical]\nrate = {q}\ndetection = {{ dist = \"exponential\", mean = \"{mean_days}d\" }}\n"
    );
    let summary = run(&text, 4);
    let t = summary.horizon_years * YEAR_S;
    let mu = 1.0 / (mean_days * 86_400.0);
    let exposure = 2.0 / mu * -(-mu * t / 2.0).exp_m1();
    // The queue samples a changing lag at the midpoints of 256 equal parts
    // of each stretch: the midpoint rule's error is at most
    // T·h²/24·max|f''| with h ≤ T/256 and f'' ≤ (μ/2)².
    let h = t / 256.0;
    let bound = t * h * h / 24.0 * (mu / 2.0).powi(2);
    let p = |x: f64| -(-q * x / YEAR_S).exp_m1();
    let (lo, hi) = (p(exposure - bound), p(exposure + bound));
    let local = p(t);
    for o in &summary.options {
        let l = o.logical.as_ref().unwrap().loss_probability;
        if o.option.starts_with('G') {
            assert!(lo <= l && l <= hi, "{}: {l} not in [{lo}, {hi}]", o.option);
            assert!(l < local);
        } else {
            assert!(relative(l, local) < 1e-12, "{}: {l} vs {local}", o.option);
        }
    }
}

#[test]
fn without_the_section_there_is_nothing_logical() {
    let summary = run(BASE, 2);
    assert!(summary.options.iter().all(|o| o.logical.is_none()));
}

#[test]
fn a_restore_window_past_a_year_is_warned_about() {
    let text = format!("{BASE}[logical]\nrate = 0.1\ndetection = \"1d\"\nrestore = \"400d\"\n");
    let s = scenario::from_source("logical.toml", &text).unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|(field, why)| field == "logical.restore" && why.contains("365 days")),
        "{:?}",
        s.warnings
    );
}
