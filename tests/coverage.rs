//! Coverage of the rare-event interval against exact answers, over many
//! seeds (issue 19's acceptance): Markovian scenarios that `analyze` solves
//! exactly, from `scenarios/exact.toml` (1-day repairs) to a hard variant
//! (6-hour repairs, a datacenter lost 1e-4 a year: rare site events, fast
//! repair). Per option, over the seeds, the 95% interval must cover the
//! exact value in 90–99% of them, no interval may miss by more than four
//! half-widths, and no interval reported reliable may miss by more than one
//! half-width (a 95% interval misses 5% of the time by design, nearly
//! always by less: beyond one half-width is ~3.9 standard errors, 1e-4 for
//! a normal estimate; a miss that far must come with the diagnostic firing).
//!
//! The hard variant runs again with 128 group trials per fleet trial and a
//! quarter of the fleet trials, the split of the default scenario.
//!
//! The full battery (100 seeds per case, about 10 minutes on 2 cores) is
//! ignored in the suite: `cargo test --release --test coverage -- --ignored
//! --nocapture`. The suite runs a short version with fixed seeds.

use replisim::estimate::{Method, RunConfig, estimate};
use replisim::exact::analyze::analyze;
use replisim::scenario::{self, Scenario};

/// `scenarios/exact.toml` without its `[expect]`, with `edits` applied.
fn exact_toml(edits: &[(&str, &str)]) -> Scenario {
    let text = include_str!("../scenarios/exact.toml");
    let cut = text.find("[expect]").expect("exact.toml has [expect]");
    let mut text = text[..cut].to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "exact.toml has {from}");
        text = text.replace(from, to);
    }
    scenario::parse("exact.toml", &text, "exact").expect("a valid scenario")
}

/// The hard variant: repairs in 6 hours, datacenters lost 1e-4 a year.
fn fast_rare() -> Scenario {
    fast_rare_with(&[])
}

/// The hard variant with `edits` besides.
fn fast_rare_with(edits: &[(&str, &str)]) -> Scenario {
    let mut all = vec![
        ("mean = \"1d\"", "mean = \"6h\""),
        ("afr = 0.001 ", "afr = 1e-4 "),
    ];
    all.extend_from_slice(edits);
    exact_toml(&all)
}

/// Per option: seeds whose interval covers the exact value, misses by more
/// than a half-width the diagnostic did not flag, and the largest miss in
/// half-widths.
#[derive(Debug, Default)]
struct Tally {
    covered: u32,
    confident_misses: u32,
    worst_miss_half_widths: f64,
}

fn battery(s: &Scenario, seeds: std::ops::RangeInclusive<u64>, trials: u64) -> Vec<Tally> {
    let exact = analyze(&s.system).expect("analyze solves the scenario");
    let mut tallies: Vec<Tally> = exact.iter().map(|_| Tally::default()).collect();
    for seed in seeds {
        let config = RunConfig {
            seed,
            trials,
            threads: 0,
            method: Method::RareEvent,
        };
        let summary = estimate(s, config).expect("runs");
        for ((e, o), t) in exact.iter().zip(&summary.options).zip(&mut tallies) {
            let d = &o.durability;
            let [lo, hi] = d.ci95;
            let half = (hi - lo) / 2.0;
            let p = e.loss_probability;
            if lo <= p && p <= hi {
                t.covered += 1;
                continue;
            }
            let miss = if p < lo { lo - p } else { p - hi };
            let widths = if half > 0.0 {
                miss / half
            } else {
                f64::INFINITY
            };
            if d.reliable && widths > 1.0 {
                t.confident_misses += 1;
            }
            t.worst_miss_half_widths = t.worst_miss_half_widths.max(widths);
            println!(
                "seed {seed} {}: exact {p:.4e} outside [{lo:.4e}, {hi:.4e}] by {widths:.2} half-widths, reliable {}",
                e.option, d.reliable
            );
        }
    }
    for (e, t) in exact.iter().zip(&tallies) {
        println!("{}: exact {:.4e}: {t:?}", e.option, e.loss_probability);
    }
    tallies
}

/// Holds a battery of `n` seeds to the acceptance: coverage 90–99% (for
/// n < 100, at least the 1%-quantile of Binomial(n, 0.95)), misses within
/// four half-widths, none beyond one half-width unflagged.
fn assert_honest(tallies: &[Tally], n: u32, at_least: u32) {
    for t in tallies {
        assert!(t.covered >= at_least, "{t:?} of {n}");
        if n >= 100 {
            assert!(t.covered * 100 <= 99 * n, "over-wide: {t:?} of {n}");
        }
        assert!(t.worst_miss_half_widths <= 4.0, "{t:?}");
        assert_eq!(t.confident_misses, 0, "{t:?}");
    }
}

#[test]
fn exact_toml_over_twelve_seeds() {
    // Binomial(12, 0.95): P(fewer than 10 covered) = 2%.
    assert_honest(&battery(&exact_toml(&[]), 1..=12, 500), 12, 10);
}

#[test]
fn fast_repair_and_rare_sites_over_twelve_seeds() {
    assert_honest(&battery(&fast_rare(), 1..=12, 500), 12, 10);
}

/// The hard variant with 128 group trials per fleet trial (the split the
/// default scenario uses) and a quarter of the fleet trials: the same
/// 16,000 group trials per seed, each fleet trial's sample a mean over four
/// times as many, and the interval just as honest.
#[test]
fn four_times_the_group_trials_per_fleet_trial_over_twelve_seeds() {
    let s = fast_rare_with(&[("seed = 1\n", "seed = 1\ngroup_trials = 128\n")]);
    assert_eq!(s.group_trials, 128);
    assert_honest(&battery(&s, 1..=12, 125), 12, 10);
}

#[test]
#[ignore = "the full battery: 100 seeds per case, about 10 minutes on 2 cores"]
fn exact_toml_over_a_hundred_seeds() {
    assert_honest(&battery(&exact_toml(&[]), 1..=100, 1000), 100, 90);
}

/// Run 2026-12-04: ZRS 98, GRS 95, GZRS 98 and LRS 100 of 100 covered,
/// no miss beyond 0.31 half-widths; LRS fails the 99% ceiling by a seed
/// (with 32 group trials and 1,000 fleet trials LRS covered 99, ZRS 97,
/// GRS 94, GZRS 95): its interval is conservative in both splits, for a
/// reason not yet found (issue 19).
#[test]
#[ignore = "the full battery: 100 seeds per case, about 10 minutes on 2 cores"]
fn four_times_the_group_trials_per_fleet_trial_over_a_hundred_seeds() {
    let s = fast_rare_with(&[("seed = 1\n", "seed = 1\ngroup_trials = 128\n")]);
    assert_honest(&battery(&s, 1..=100, 250), 100, 90);
}

#[test]
#[ignore = "the full battery: 100 seeds per case, about 10 minutes on 2 cores"]
fn fast_repair_and_rare_sites_over_a_hundred_seeds() {
    assert_honest(&battery(&fast_rare(), 1..=100, 1000), 100, 90);
}
