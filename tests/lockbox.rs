//! Support-assisted recovery under Customer Lockbox (`[access]`) against
//! exact answers: with a fixed approval delay A, no request delay and no
//! denial, a scripted failover's RTO grows by exactly A, and `trace` lists
//! one audit line for one grant of length G; the summary's share of the
//! RTO waiting is A / (A + the rest), its granted hours a year G × failovers
//! / years, and its denials per failover Σ_{i=1..m} p^i (within the
//! estimate's Bonferroni-widened interval). Without `[access]` nothing
//! changes (the bundled results, reference_results.rs).

mod common;

use std::process::Command;

use replisim::estimate::{AccessSummary, Method, RunConfig, Summary, estimate};
use replisim::scenario;
use replisim::stats::Z95;

/// A small fleet without disk failures; the primary region down 12 hours at
/// day 30, so GRS fails over once (after the customer's hour and the hour
/// of the switch: an RTO of 2 h without `[access]`).
const BASE: &str = "start = \"new\"\noptions = [\"LRS\", \"GRS\"]\n\
[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n\
[data]\nsize = \"10GB\"\n[failures.disk]\nafr = 0\n\
[[fault]]\nat = \"30d\"\nlevel = \"region\"\ntarget = \"westeurope\"\nkind = \"down\"\nduration = \"12h\"\n";

fn run(text: &str) -> Summary {
    let s = scenario::from_source("lockbox.toml", text).unwrap();
    let config = RunConfig {
        seed: 7,
        trials: 4,
        threads: 0,
        method: Method::RareEvent,
    };
    estimate(&s, config).unwrap()
}

/// GRS's failovers a year and Lockbox figures from `trials` fleet trials
/// (plain Monte Carlo: the figures come from the fleet trials alone).
fn grs_access(text: &str, seed: u64, trials: u64) -> (f64, [f64; 2], AccessSummary, f64) {
    let s = scenario::from_source("lockbox.toml", text).unwrap();
    let config = RunConfig {
        seed,
        trials,
        threads: 0,
        method: Method::Plain,
    };
    let mut summary = estimate(&s, config).unwrap();
    assert!(summary.options[0].access.is_none(), "LRS has no failover");
    let grs = summary.options.swap_remove(1);
    let f = grs.failover.unwrap();
    let access = grs.access.expect("GRS with [access]");
    (
        f.count_per_year,
        f.count_per_year_ci95,
        access,
        summary.horizon_years,
    )
}

/// GRS's mean RTO, seconds.
fn grs_rto_seconds(summary: &Summary) -> f64 {
    let grs = &summary.options[1];
    let rto = grs.failover.as_ref().unwrap().rto_seconds.as_ref();
    rto.expect("GRS failed over").mean
}

#[test]
fn a_fixed_approval_delay_adds_exactly_itself_to_the_rto() {
    let without = grs_rto_seconds(&run(BASE));
    assert_eq!(without, 2.0 * 3600.0);
    for (approval_hours, grant_hours) in [(3, 8), (1, 2), (10, 24)] {
        let text = format!(
            "{BASE}[access]\nrequest = \"0s\"\napproval = \"{approval_hours}h\"\ngrant = \"{grant_hours}h\"\n"
        );
        let with = grs_rto_seconds(&run(&text));
        assert_eq!(with - without, approval_hours as f64 * 3600.0);
    }
}

/// `replisim trace` of GRS in the scenario `text`: its standard output.
fn trace_grs(text: &str, name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("replisim-lockbox-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lockbox.toml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["trace", file.to_str().unwrap(), "--option", "GRS", "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn trace_lists_one_grant_of_its_length() {
    let text = format!("{BASE}[access]\nrequest = \"0s\"\napproval = \"3h\"\ngrant = \"8h\"\n");
    let stdout = trace_grs(&text, "grant");
    let audit: Vec<&str> = stdout.lines().filter(|l| l.contains("AUDIT")).collect();
    assert_eq!(audit.len(), 1, "{stdout}");
    assert!(
        audit[0].contains("granted to Microsoft operators for 8h"),
        "{}",
        audit[0]
    );
    assert!(audit[0].contains("approved after 3h"), "{}", audit[0]);
}

/// The region is back after 12 h, before the approval at 1 h + Q + A: the
/// request is withdrawn. GRS never fails over, so its RTO is the outage's
/// (12 h, as LRS's writes are down), 12 h − 1 h of it waiting; nothing is
/// granted, nothing lost, and `trace` has no audit line.
#[test]
fn a_failover_waiting_for_approval_is_called_off_when_the_region_returns() {
    let outage = 12.0 * 3600.0;
    for (request, approval) in [("0s", "20h"), ("30m", "11h"), ("2h", "4d")] {
        let text = format!(
            "{BASE}[access]\nrequest = \"{request}\"\napproval = \"{approval}\"\n\
             denial = 0.5\nretry_after = \"1h\"\n"
        );
        let summary = run(&text);
        let (lrs, grs) = (&summary.options[0], &summary.options[1]);
        let f = grs.failover.as_ref().unwrap();
        assert_eq!(f.count_per_year, 0.0, "no failover");
        assert!(f.rpo_seconds.is_none());
        assert_eq!(f.hours_without_geo_redundancy_per_year.mean, 0.0);
        let rto = f.rto_seconds.as_ref().expect("the outage's recovery");
        assert_eq!((rto.mean, rto.max, rto.count), (outage, outage, Some(4)));
        assert_eq!(grs.availability.write, lrs.availability.write);
        let access = grs.access.as_ref().unwrap();
        assert_eq!(access.granted_hours_per_year.mean, 0.0);
        assert_eq!(access.granted_hours_per_year.ci95, [0.0; 2]);
        let waited = outage - 3600.0;
        assert_eq!(access.approval_wait_share, Some(waited / outage));
        let w = access.approval_wait_seconds.as_ref().unwrap();
        assert_eq!((w.mean, w.max), (waited, waited));
        let stdout = trace_grs(&text, request);
        assert!(!stdout.contains("AUDIT"), "{stdout}");
        assert!(stdout.contains("the request is withdrawn"), "{stdout}");
    }
}

#[test]
fn bad_access_fields_are_named() {
    for (field, bad) in [
        ("denial", "denial = 1.5"),
        ("recoveries", "recoveries = [\"restore\"]"),
        ("max_denials", "max_denials = 1000"),
    ] {
        let text = format!("{BASE}[access]\n{bad}\n");
        let e = scenario::from_source("lockbox.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("access.{field}")), "{e}");
    }
}

/// Every trial fails GRS over once (the scripted region outage), so each
/// trial's denials are those of one failover: a request is denied with
/// probability p while fewer than m were denied, and the request after the
/// m-th denial is approved (failover.rs, `request_access`). So D =
/// min(G, m) with G geometric (P(G ≥ i) = p^i), and E[D] = Σ_{i=1..m}
/// P(D ≥ i) = Σ_{i=1..m} p^i. The exact value must lie in the estimate's
/// 95% interval widened for all the checks together (Bonferroni, 99%),
/// its standard error read from the interval's upper half-width (the
/// lower end may be clamped at 0).
#[test]
fn denials_per_failover_are_the_sum_of_the_powers_of_p() {
    let cases = [(0.5f64, 3u32), (0.9, 2), (0.3, 1), (0.8, 0)];
    let seeds = [1u64, 2, 3];
    let widen = common::bonferroni_99((cases.len() * seeds.len()) as u32);
    for (p, m) in cases {
        let exact: f64 = (1..=m).map(|i| p.powi(i as i32)).sum();
        let text = format!(
            "{BASE}[access]\nrequest = \"0s\"\napproval = \"10m\"\nretry_after = \"10m\"\n\
             denial = {p}\nmax_denials = {m}\n"
        );
        for seed in seeds {
            let (failovers, failovers_ci, access, years) = grs_access(&text, seed, 2000);
            // Exactly one failover in every trial.
            assert_eq!(failovers * years, 1.0);
            assert_eq!(failovers_ci, [failovers; 2]);
            let d = &access.denials_per_year;
            let (mean, se) = (d.mean * years, (d.ci95[1] - d.mean) * years / Z95);
            let half = widen * Z95 * se;
            assert!(
                (mean - exact).abs() <= half,
                "p = {p}, m = {m}, seed {seed}: {mean} ± {half} misses {exact}"
            );
            if m == 0 {
                assert_eq!(d.mean, 0.0);
            }
        }
    }
}

/// With a fixed approval A and no denial, every trial's one failover waits
/// A (and the request delay Q): the share of its RTO spent waiting is
/// (Q + A) / (Q + A + the 2 h of the customer's wait and the switch), and
/// the hours granted a year are G × failovers / years, both exactly.
#[test]
fn the_share_waiting_and_the_hours_granted_are_exact_for_fixed_delays() {
    let rest = 2.0 * 3600.0;
    for (request_min, approval_h, grant_h) in [(0u32, 3u32, 8u32), (0, 1, 3), (30, 10, 24)] {
        let text = format!(
            "{BASE}[access]\nrequest = \"{request_min}m\"\napproval = \"{approval_h}h\"\n\
             grant = \"{grant_h}h\"\n"
        );
        let (failovers, _, access, years) = grs_access(&text, 11, 16);
        let wait = f64::from(request_min) * 60.0 + f64::from(approval_h) * 3600.0;
        assert_eq!(access.approval_wait_share, Some(wait / (wait + rest)));
        let w = access.approval_wait_seconds.as_ref().unwrap();
        assert_eq!((w.mean, w.max, w.count), (wait, wait, Some(16)));
        let granted = &access.granted_hours_per_year;
        let expected = f64::from(grant_h) * (failovers * years).round() / years;
        assert_eq!(granted.mean, expected);
        assert_eq!(granted.ci95, [expected; 2]);
        assert_eq!(access.denials_per_year.mean, 0.0);
    }
}

#[test]
fn the_lockbox_metrics_are_in_the_table_csv_and_expect() {
    let text = format!(
        "{BASE}[access]\nrequest = \"0s\"\napproval = \"3h\"\ngrant = \"8h\"\n\
         [expect]\nGRS = [\"approval_wait_share >= 59%\", \"granted_hours_per_year <= 8.1\", \
         \"denials_per_year <= 0\"]\n"
    );
    let s = scenario::from_source("lockbox.toml", &text).unwrap();
    let summary = run(&text);
    let table = replisim::report::table(&summary);
    assert!(table.contains("RTO waiting for approval"), "{table}");
    assert!(table.contains("60.0%"), "{table}");
    let csv = replisim::report::csv(&summary).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("denials_ci95_lo,denials_ci95_hi"),
        "{header}"
    );
    for o in replisim::report::expect::evaluate(&s.expectations, &summary) {
        assert_eq!(
            o.verdict,
            replisim::report::expect::Verdict::Holds,
            "{}: {:?}",
            o.expectation.text,
            o.measured
        );
    }
    // Without `[access]` the figures are neither shown nor expected.
    let summary = run(BASE);
    assert!(summary.options.iter().all(|o| o.access.is_none()));
    assert!(!replisim::report::table(&summary).contains("approval"));
    assert!(!replisim::report::csv(&summary).unwrap().contains("denials"));
}

#[test]
fn lockbox_expectations_are_checked_where_they_are_written() {
    let err = |text: &str| {
        scenario::from_source("lockbox.toml", text)
            .unwrap_err()
            .to_string()
    };
    let access = format!("{BASE}[access]\n");
    for (expect, says) in [
        (
            "GRS = [\"denials_per_yer <= 1\"]",
            "did you mean `denials_per_year`?",
        ),
        ("GRS = [\"approval_wait_share <= 2\"]", "between 0 and 1"),
        ("GRS = [\"granted_hours_per_year <= 8h\"]", "plain number"),
        ("LRS = [\"denials_per_year <= 1\"]", "LRS has none"),
    ] {
        let e = err(&format!("{access}[expect]\n{expect}\n"));
        assert!(e.contains("expect."), "{e}");
        assert!(e.contains(says), "{e}");
    }
    let e = err(&format!(
        "{BASE}[expect]\nGRS = [\"granted_hours_per_year <= 8\"]\n"
    ));
    assert!(e.contains("add an [access] section"), "{e}");
}

/// `access.options` puts only the options it names under Lockbox: GRS
/// waits A for approval, RA-GRS (not named) fails over as without
/// `[access]`, with no Lockbox figures, and expecting one of it is an error.
#[test]
fn access_options_put_only_the_named_options_under_lockbox() {
    let three = BASE.replace(
        "options = [\"LRS\", \"GRS\"]",
        "options = [\"LRS\", \"GRS\", \"RA-GRS\"]",
    );
    let rto = |s: &Summary, k: usize| {
        let f = s.options[k].failover.as_ref().unwrap();
        f.rto_seconds.as_ref().unwrap().mean
    };
    let text =
        format!("{three}[access]\noptions = [\"GRS\"]\nrequest = \"0s\"\napproval = \"3h\"\n");
    let summary = run(&text);
    assert_eq!(rto(&summary, 1), 5.0 * 3600.0, "GRS waits 3 h");
    assert_eq!(rto(&summary, 2), 2.0 * 3600.0, "RA-GRS does not");
    assert!(summary.options[1].access.is_some());
    assert!(summary.options[2].access.is_none());
    // RA-GRS is what it is without [access], to the figure.
    let without = run(&three);
    assert_eq!(summary.options[2], without.options[2]);
    // By default every option with a secondary.
    let all = run(&format!(
        "{three}[access]\nrequest = \"0s\"\napproval = \"3h\"\n"
    ));
    assert_eq!(rto(&all, 2), 5.0 * 3600.0);

    let err = |text: &str| {
        scenario::from_source("lockbox.toml", text)
            .unwrap_err()
            .to_string()
    };
    let line = three.lines().count() + 2;
    for (list, says) in [
        ("[\"GRS\", \"GRSS\"]", "no option `GRSS` in this scenario"),
        ("[\"LRS\"]", "LRS has no secondary"),
    ] {
        let e = err(&format!("{three}[access]\noptions = {list}\n"));
        assert!(e.contains("access.options["), "{e}");
        assert!(e.contains(says), "{e}");
        assert!(e.contains(&format!("lockbox.toml:{line}:")), "{e}");
    }
    let e = err(&format!(
        "{text}[expect]\nRA-GRS = [\"granted_hours_per_year <= 8\"]\n"
    ));
    assert!(e.contains("expect.RA-GRS[0]"), "{e}");
    assert!(e.contains("list it in access.options"), "{e}");
}
