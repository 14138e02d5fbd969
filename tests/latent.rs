//! Latent sector errors and scrubbing (`[latent]`) against closed forms.
//!
//! The scenario: 100 extents of 1 TB, 2 copies (1 needed) on 20 single-disk
//! racks; disks fail at λ = 0.5 a year (exponential), are replaced after an
//! hour, and a lost copy is re-created 10 minutes after the failure (no
//! detection delay). A disk failure leaves the other copy critical: it is
//! checked once, and holds an undetected error with probability p. The
//! double-failure path (the other disk failing within the 10 minutes, with
//! d = 1 − e^(−λ·10 min) ≈ 1e-5 a failure) matters only where p is as
//! small, and each copy sits on a disk in service, so the checks come at
//! rate 2λ per extent:
//!
//! - scrubbed every T, p = 1 − (1 − e^(−x))/x with x = rate·s·T, so
//!   P(loss in H) = 1 − exp(−2λ·H·(p + (1 − p)·d)) (up to the 10 minutes a
//!   failure leaves the extent without a first failure to come: 2λ·10 min
//!   ≈ 2e-5 relative);
//! - never scrubbed, p = 1 − e^(−ρ·age), ρ = rate·s, the age of the checked
//!   copy counting from the trial's start or its re-creation. With F(τ, a)
//!   the probability of no loss over the τ left when one copy was just
//!   written and the other is a old,
//!   F(τ, a) = e^(−2λτ) + ∫₀^τ λe^(−2λu) [e^(−ρ(a+u)) F(τ−u, a+u) + e^(−ρu) F(τ−u, u)] du
//!   (the old copy's disk fails first and the new one is checked at age u,
//!   or the new copy's and the old one is checked at a + u), and
//!   P(loss in H) = 1 − F(H, 0), solved on a grid by the trapezoid rule.
//!
//! Tolerances are the reported 95% intervals widened by Bonferroni over
//! every comparison of the file (`common::bonferroni_99`).

use replisim::estimate::{Method, OptionSummary, RunConfig, estimate};
use replisim::scenario;
use replisim::units::YEAR;

mod common;

const LAMBDA: f64 = 0.5;
const HORIZON: f64 = 1.0;
const SEEDS: [u64; 3] = [1, 2, 3];
/// Comparisons with a closed form in this file: by plain Monte Carlo, 2
/// scrubbed cases and the unscrubbed one; by the rare-event method, 3
/// scrubbed cases, the latent part of the rarest and the unscrubbed one;
/// each at every seed; and the rare-event method against `analyze` once.
const COMPARISONS: u32 = 8 * SEEDS.len() as u32 + 1;
/// The repair of the module's scenario, in years.
const REPAIR_YEARS: f64 = 600e6 / YEAR as f64;

fn scenario(latent: &str) -> String {
    format!(
        r#"name = "latent-check"
options = []
detection = "0s"
horizon = "1y"
start = "new"
[[custom]]
name = "two"
copies = 2
needed = 1
within = "facility"
spread = "rack"
[[region]]
name = "r"
zones = 1
facilities_per_zone = 1
racks_per_facility = 20
nodes_per_rack = 1
disks_per_node = 1
[data]
size = "100TB"
extent_size = "1TB"
[failures.disk]
afr = {LAMBDA}
replace = "1h"
[repair]
time = "10m"
{latent}"#
    )
}

fn run(text: &str, seed: u64, trials: u64) -> OptionSummary {
    run_by(text, seed, trials, Method::Plain)
}

fn run_by(text: &str, seed: u64, trials: u64, method: Method) -> OptionSummary {
    let s = scenario::parse("latent.toml", text, "latent").unwrap();
    let config = RunConfig {
        seed,
        trials,
        threads: 0,
        method,
    };
    estimate(&s, config).unwrap().options.swap_remove(0)
}

/// P(loss in H) scrubbed, with p the probability of an undetected error:
/// each first failure loses the extent by the check or by the other disk
/// failing within the repair.
fn scrubbed_loss(p: f64) -> f64 {
    let double = -(-LAMBDA * REPAIR_YEARS).exp_m1();
    -(-2.0 * LAMBDA * HORIZON * (p + (1.0 - p) * double)).exp_m1()
}

/// P(an undetected error) at a uniform point of the scrub cycle.
fn scrubbed_p(x: f64) -> f64 {
    1.0 - (1.0 - (-x).exp()) / x
}

/// P(no loss over `horizon`) without scrubbing: F(H, 0) of the module's
/// integral equation on a grid of `n` steps (trapezoid rule, the u = 0
/// terms solved for).
fn unscrubbed_survival(lambda: f64, rho: f64, horizon: f64, n: usize) -> f64 {
    let h = horizon / n as f64;
    // f[i][j] = F(i·h, j·h), needed for i + j ≤ n.
    let mut f = vec![vec![1.0; n + 1]; n + 1];
    let g = |m: usize| lambda * (-2.0 * lambda * m as f64 * h).exp();
    for i in 1..=n {
        let tau = i as f64 * h;
        let mut row = vec![0.0; n + 1 - i];
        // Sums over u = m·h, m = 1..i (weight h, h/2 at m = i).
        let rest = |j: usize| -> f64 {
            let a = j as f64 * h;
            (1..=i)
                .map(|m| {
                    let w = if m == i { h / 2.0 } else { h };
                    let u = m as f64 * h;
                    let old = (-rho * (a + u)).exp() * f[i - m][j + m];
                    let new = (-rho * u).exp() * f[i - m][m];
                    w * g(m) * (old + new)
                })
                .sum()
        };
        let start = (-2.0 * lambda * tau).exp();
        // j = 0: both terms at u = 0 are F(τ, 0) itself.
        row[0] = (start + rest(0)) / (1.0 - h * lambda);
        let now = row[0];
        for (j, cell) in row.iter_mut().enumerate().skip(1) {
            let a = j as f64 * h;
            let known = start + rest(j) + h / 2.0 * lambda * now;
            *cell = known / (1.0 - h / 2.0 * lambda * (-rho * a).exp());
        }
        f[i][..row.len()].copy_from_slice(&row);
    }
    f[n][0]
}

/// |estimate − exact| within the reported 95% half-width, widened.
fn assert_covers(what: &str, o: &OptionSummary, exact: f64) {
    let d = &o.durability;
    let widen = common::bonferroni_99(COMPARISONS);
    let half = (d.ci95[1] - d.ci95[0]) / 2.0 * widen;
    println!(
        "{what}: exact {exact:.5e}, estimate {:.5e} (95% [{:.5e}, {:.5e}]), widened ±{half:.2e}",
        d.loss_probability, d.ci95[0], d.ci95[1]
    );
    assert!(
        (d.loss_probability - exact).abs() <= half,
        "{what}: exact {exact} vs {} ± {half}",
        d.loss_probability
    );
}

#[test]
fn the_grid_solution_has_converged_and_is_one_without_errors() {
    assert!((unscrubbed_survival(LAMBDA, 0.0, HORIZON, 400) - 1.0).abs() < 1e-5);
    let coarse = unscrubbed_survival(LAMBDA, 1.0, HORIZON, 200);
    let fine = unscrubbed_survival(LAMBDA, 1.0, HORIZON, 400);
    assert!((coarse - fine).abs() < 1e-4, "{coarse} vs {fine}");
    // Below the bound that takes every checked copy as old as the trial:
    // 1 − exp(−2λ∫(1 − e^(−ρt))dt).
    let bound = -(-2.0 * LAMBDA * (HORIZON - (1.0 - (-HORIZON).exp()))).exp_m1();
    assert!(1.0 - fine < bound, "{} vs {bound}", 1.0 - fine);
}

#[test]
fn scrubbed_loss_matches_the_closed_form() {
    // (rate per TB-year, scrub interval, its years): x = 1 exactly, and a
    // fortnight at 1 per TB-year.
    for (rate, interval, years) in [(10.0, "36.525d", 0.1), (1.0, "14d", 14.0 / 365.25)] {
        let p = scrubbed_p(rate * years);
        let exact = scrubbed_loss(p);
        let text = scenario(&format!(
            "[latent]\nrate = {rate}\nscrub_interval = \"{interval}\"\n"
        ));
        for seed in SEEDS {
            let o = run(&text, seed, 4000);
            let l = o.latent.as_ref().unwrap();
            assert!((l.undetected_probability.unwrap() - p).abs() < 1e-12);
            // Nearly every loss is through a latent error.
            assert!(l.share_of_loss > 0.99, "{l:?}");
            assert_covers(&format!("scrub {interval}, seed {seed}"), &o, exact);
        }
    }
}

#[test]
fn without_scrubbing_loss_is_far_higher_and_matches_its_closed_form() {
    let rho = 1.0;
    let exact = 1.0 - unscrubbed_survival(LAMBDA, rho, HORIZON, 400);
    let scrubbed = -(-2.0 * LAMBDA * HORIZON * scrubbed_p(rho * 14.0 / 365.25)).exp_m1();
    assert!(exact > 10.0 * scrubbed, "{exact} vs {scrubbed}");
    let text = scenario("[latent]\nrate = 1\nscrub_interval = \"never\"\n");
    for seed in SEEDS {
        let o = run(&text, seed, 4000);
        assert!(o.latent.as_ref().unwrap().undetected_probability.is_none());
        assert_covers(&format!("never scrubbed, seed {seed}"), &o, exact);
    }
}

#[test]
fn a_zero_rate_changes_nothing_but_adds_the_latent_figures() {
    let without = scenario("");
    let with = scenario("[latent]\nrate = 0\n");
    let s = |text: &str| {
        let s = scenario::parse("latent.toml", text, "latent").unwrap();
        let config = RunConfig {
            seed: 5,
            trials: 300,
            threads: 0,
            method: Method::RareEvent,
        };
        estimate(&s, config).unwrap()
    };
    let (a, mut b) = (s(&without), s(&with));
    let latent = b.options[0].latent.take().unwrap();
    assert_eq!(latent.loss_probability, 0.0);
    // At rate 0 the rare-event method's checks find nothing: its estimate
    // is the bits of the run without `[latent]`, as are the fleet trials.
    assert_eq!(a.options[0].durability, b.options[0].durability);
    assert_eq!(a.events, b.events);
    assert_eq!(
        a.options[0].repair_bytes, b.options[0].repair_bytes,
        "the same failures and repairs"
    );
    assert_eq!(
        a.options[0].durability.any_loss_probability,
        b.options[0].durability.any_loss_probability
    );
}

/// `analyze` under scrubbing: each failure that leaves the last copy
/// loses the extent with p (one probability wherever it falls), so the
/// chain of live copies splits that transition. Checked against the chain
/// built here by hand from the model's rules: 2 copies →(2λ(1 − p)) 1 copy
/// →(μ) 2 copies, 2 →(2λp) lost, 1 →(λ) lost. Without scrubbing p grows
/// with a copy's age, which the chain does not track: refused, naming the
/// field.
#[test]
fn analyze_splits_the_last_copys_transition_by_its_latent_check() {
    use replisim::exact::markov::Ctmc;
    // Markovian: exponential repairs of mean 10 minutes.
    let markovian = |latent: &str| {
        let text = scenario(latent).replace(
            "time = \"10m\"",
            "time = { dist = \"exponential\", mean = \"10m\" }",
        );
        scenario::parse("latent.toml", &text, "latent").unwrap()
    };
    let (rate, years) = (1.0, 14.0 / 365.25);
    let s = markovian(&format!(
        "[latent]\nrate = {rate}\nscrub_interval = \"14d\"\n"
    ));
    let got = replisim::exact::analyze::analyze(&s.system).unwrap()[0].loss_probability;
    let p = scrubbed_p(rate * years);
    let mu = 1.0 / REPAIR_YEARS;
    let mut chain = Ctmc::new(3);
    chain.add_rate(0, 1, 2.0 * LAMBDA * (1.0 - p)).unwrap();
    chain.add_rate(0, 2, 2.0 * LAMBDA * p).unwrap();
    chain.add_rate(1, 0, mu).unwrap();
    chain.add_rate(1, 2, LAMBDA).unwrap();
    let want = chain
        .absorption_probability(0, &[2], HORIZON)
        .unwrap()
        .probability;
    println!("analyze {got:.10e}, hand-built chain {want:.10e}");
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
    // The rare-event method's simulated group trials agree with it.
    let text = scenario(&format!(
        "[latent]\nrate = {rate}\nscrub_interval = \"14d\"\n"
    ))
    .replace(
        "time = \"10m\"",
        "time = { dist = \"exponential\", mean = \"10m\" }",
    );
    let o = run_by(&text, 1, 400, Method::RareEvent);
    assert_covers("rare-event against analyze", &o, got);
    // Without [latent] the double failure alone, far less.
    let plain =
        replisim::exact::analyze::analyze(&markovian("").system).unwrap()[0].loss_probability;
    assert!(plain < got / 10.0, "{plain} vs {got}");
    let e = replisim::exact::analyze::analyze(
        &markovian("[latent]\nscrub_interval = \"never\"\n").system,
    )
    .unwrap_err();
    assert_eq!(e.field, "latent.scrub_interval");
    assert!(e.reason.contains("grows with its age"), "{}", e.reason);
}

#[test]
fn doubtful_values_are_warned_about_by_field() {
    let warned = |latent: &str| {
        let s = scenario::parse("latent.toml", &scenario(latent), "latent").unwrap();
        s.warnings
            .into_iter()
            .map(|(field, _)| field)
            .collect::<Vec<_>>()
    };
    assert!(warned("[latent]\nrate = 0.08\n").is_empty());
    assert_eq!(warned("[latent]\nrate = 80\n"), ["latent.rate"]);
    assert_eq!(
        warned("[latent]\nscrub_interval = \"2y\"\n"),
        ["latent.scrub_interval"]
    );
}

/// The rare-event method follows the fleet's checks (conditional Monte
/// Carlo: each check's probability is a loss, the path goes on with the
/// rest): it meets the closed forms where plain Monte Carlo does, and down
/// to a P(loss) of 4e-5, which 400 trials of 100 extents would see about
/// twice. In the rarest case the checks and the double failures weigh
/// about alike (p ≈ 1.9e-5, d ≈ 9.5e-6): both paths are counted.
#[test]
fn the_rare_event_method_matches_the_closed_forms_down_to_rare_losses() {
    for (rate, interval, years) in [
        (10.0, "36.525d", 0.1),
        (1.0, "14d", 14.0 / 365.25),
        (1e-3, "14d", 14.0 / 365.25),
    ] {
        let p = scrubbed_p(rate * years);
        let exact = scrubbed_loss(p);
        let text = scenario(&format!(
            "[latent]\nrate = {rate}\nscrub_interval = \"{interval}\"\n"
        ));
        for seed in SEEDS {
            let o = run_by(&text, seed, 400, Method::RareEvent);
            assert!(
                o.warnings.iter().all(|w| !w.contains("plain Monte Carlo")),
                "{:?}",
                o.warnings
            );
            assert!(o.durability.reliable, "{:?}", o.durability);
            assert_covers(
                &format!("rare-event, scrub {interval} at {rate}/TB-year, seed {seed}"),
                &o,
                exact,
            );
            if rate < 0.01 {
                // The latent part: the checks' share of each first
                // failure's loss.
                let double = -(-LAMBDA * REPAIR_YEARS).exp_m1();
                let part = exact * p / (p + (1.0 - p) * double);
                let l = o.latent.as_ref().unwrap();
                let half = (l.ci95[1] - l.ci95[0]) / 2.0 * common::bonferroni_99(COMPARISONS);
                println!(
                    "  latent part: exact {part:.5e}, estimate {:.5e} ± {half:.2e}",
                    l.loss_probability
                );
                assert!((l.loss_probability - part).abs() <= half);
            }
        }
    }
    let exact = 1.0 - unscrubbed_survival(LAMBDA, 1.0, HORIZON, 400);
    let text = scenario("[latent]\nrate = 1\nscrub_interval = \"never\"\n");
    for seed in SEEDS {
        let o = run_by(&text, seed, 400, Method::RareEvent);
        assert_covers(
            &format!("rare-event, never scrubbed, seed {seed}"),
            &o,
            exact,
        );
    }
}

/// With site events the rare-event method scripts them (strata): a
/// datacenter fire leaves the copy in the other datacenter critical, and
/// that check falls in the failure-free future the method follows before
/// its forced failure. It must agree with plain Monte Carlo of the fleet
/// within their combined interval.
#[test]
fn with_site_events_the_rare_event_method_agrees_with_the_fleet() {
    let text = scenario("[latent]\nrate = 10\nscrub_interval = \"36.525d\"\n")
        .replace(
            "within = \"facility\"\nspread = \"rack\"",
            "within = \"region\"\nspread = \"facility\"",
        )
        .replace(
            "facilities_per_zone = 1\nracks_per_facility = 20",
            "facilities_per_zone = 3\nracks_per_facility = 8",
        )
        + "[failures.facility]\nafr = 0.2\nreplace = \"30d\"\n";
    let plain = run_by(&text, 4, 4000, Method::Plain);
    let rare = run_by(&text, 4, 1000, Method::RareEvent);
    let (p, r) = (&plain.durability, &rare.durability);
    let half = |d: &replisim::estimate::Durability| (d.ci95[1] - d.ci95[0]) / 2.0;
    let combined = (half(p).powi(2) + half(r).powi(2)).sqrt() * common::bonferroni_99(1);
    println!(
        "plain {:.5} [{:.5}, {:.5}], rare-event {:.5} [{:.5}, {:.5}], combined ±{combined:.5}",
        p.loss_probability, p.ci95[0], p.ci95[1], r.loss_probability, r.ci95[0], r.ci95[1]
    );
    assert!(
        rare.warnings
            .iter()
            .all(|w| !w.contains("plain Monte Carlo"))
    );
    assert!(r.strata.is_some(), "the facility fires are stratified");
    assert!((p.loss_probability - r.loss_probability).abs() <= combined);
}
