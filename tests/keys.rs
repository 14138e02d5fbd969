//! Customer-managed keys (`[keys]`) against exact answers: a scripted vault
//! outage makes intact data unreadable for exactly the outage minus the
//! key cache; a vault kept only in the primary region makes a failed-over
//! account unreadable until that region returns, one replicated to the pair
//! does not; key loss at rate q over T caps durability at 1 − e^(−qT); the
//! crypto-shred time is the soft-delete retention under purge protection.
//! Without `[keys]` nothing changes (the bundled results, reference_results.rs).

use replisim::estimate::{Method, RunConfig, Summary, estimate};
use replisim::scenario;

/// A small fleet without disk failures: every extent readable unless
/// something scripted happens.
const BASE: &str = "start = \"new\"\noptions = [\"LRS\", \"GRS\"]\n\
[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n\
[data]\nsize = \"10GB\"\n[failures.disk]\nafr = 0\n";

fn run(text: &str, trials: u64) -> Summary {
    let s = scenario::from_source("keys.toml", text).unwrap();
    let config = RunConfig {
        seed: 7,
        trials,
        threads: 0,
        method: Method::RareEvent,
    };
    estimate(&s, config).unwrap()
}

/// Minutes a year each option could read but for the key.
fn unreadable_minutes(summary: &Summary) -> Vec<f64> {
    summary
        .options
        .iter()
        .map(|o| o.keys.as_ref().unwrap().unreadable_minutes_per_year.mean)
        .collect()
}

#[test]
fn a_vault_outage_costs_exactly_its_length_minus_the_cache() {
    for (cache_minutes, outage_hours) in [(60, 6), (0, 2), (90, 1)] {
        let text = format!(
            "{BASE}[keys]\nvault = \"primary\"\ncache = \"{cache_minutes}m\"\n\
             [[keys.fault]]\nat = \"30d\"\nduration = \"{outage_hours}h\"\n"
        );
        let expected = (outage_hours as f64 * 60.0 - cache_minutes as f64).max(0.0);
        let summary = run(&text, 4);
        for m in unreadable_minutes(&summary) {
            assert!((m - expected).abs() < 1e-9, "{m} vs {expected}");
        }
        // Read availability with the key counts those minutes too; the
        // copies themselves were always readable.
        for o in &summary.options {
            let k = o.keys.as_ref().unwrap();
            assert_eq!(o.availability.read.unavailable_minutes_per_year, 0.0);
            let with_key = k.read_with_key.unavailable_minutes_per_year;
            assert!(
                (with_key - expected).abs() < 1e-9,
                "{with_key} vs {expected}"
            );
        }
    }
}

/// The primary region down for 12 hours: both options are unreadable from
/// its copies at once (not for want of the key); GRS fails over after the
/// customer's hour and the hour of the switch, and then reads from the
/// secondary only if the vault is there too.
#[test]
fn a_failover_away_from_the_vault_leaves_data_unreadable_until_it_returns() {
    let fault = "[[fault]]\nat = \"30d\"\nlevel = \"region\"\ntarget = \"westeurope\"\nkind = \"down\"\nduration = \"12h\"\n";
    let primary = format!("{BASE}{fault}[keys]\nvault = \"primary\"\ncache = \"1h\"\n");
    let minutes = unreadable_minutes(&run(&primary, 4));
    assert_eq!(minutes[0], 0.0, "LRS is unreadable from its copies");
    assert!((minutes[1] - 10.0 * 60.0).abs() < 1e-9, "{}", minutes[1]);
    let both = format!("{BASE}{fault}[keys]\nvault = \"both\"\ncache = \"1h\"\n");
    assert_eq!(unreadable_minutes(&run(&both, 4)), [0.0, 0.0]);
}

#[test]
fn key_loss_caps_durability_at_its_own_probability() {
    let q = 0.01;
    let text = format!("{BASE}[keys]\nloss_rate = {q}\n");
    let summary = run(&text, 2000);
    let k = 1.0 - (-q * summary.horizon_years).exp();
    for o in &summary.options {
        let keys = o.keys.as_ref().unwrap();
        assert!((keys.key_loss_probability - k).abs() < 1e-15);
        // No copy is ever lost here: the key is all there is to lose.
        assert_eq!(o.durability.loss_probability, 0.0, "{:?}", o.durability);
        assert!((keys.loss_probability - k).abs() < 1e-15);
        let k = keys.key_loss_probability;
        assert!(keys.ci95[0] <= k && k <= keys.ci95[1], "{:?}", keys.ci95);
        // The nines reported lie within the interval's and below −log10(k).
        assert!(keys.nines <= -k.log10() + 1e-12, "{}", keys.nines);
        assert!(
            keys.nines >= -keys.ci95[1].log10() - 1e-12,
            "{}",
            keys.nines
        );
    }
}

#[test]
fn crypto_shred_waits_for_the_soft_delete_retention_under_purge_protection() {
    let shred = |extra: &str| {
        let text = format!("{BASE}[keys]\ncache = \"2h\"\nsoft_delete = \"30d\"\n{extra}");
        run(&text, 1).options[0]
            .keys
            .as_ref()
            .unwrap()
            .crypto_shred_days
    };
    assert_eq!(shred(""), 30.0);
    assert_eq!(shred("purge_protection = false\n"), 2.0 / 24.0);
}

#[test]
fn microsoft_managed_keys_report_nothing() {
    let summary = run(&format!("{BASE}[keys]\nmanager = \"microsoft\"\n"), 2);
    assert!(summary.options.iter().all(|o| o.keys.is_none()));
    let json = replisim::report::json(&summary).unwrap();
    assert!(!json.contains("key_loss_probability"));
}

#[test]
fn bad_key_settings_name_their_field() {
    let cases = [
        (
            "[keys]\nmanager = \"nobody\"\n",
            "keys.manager",
            "customer, microsoft",
        ),
        ("[keys]\nvault = \"moon\"\n", "keys.vault", "primary, both"),
        (
            "[keys]\nsoft_delete = \"1d\"\n",
            "keys.soft_delete",
            "7 to 90 days",
        ),
        (
            "[keys]\n[[keys.fault]]\nat = \"2y\"\nduration = \"1h\"\n",
            "keys.fault[0].at",
            "after the horizon",
        ),
        (
            "[keys]\n[keys.outages]\nrate = 1\n",
            "keys.outages",
            "duration",
        ),
        ("[keys]\nloss_rate = -1\n", "keys.loss_rate", "non-negative"),
    ];
    for (text, field, says) in cases {
        let e = scenario::from_source("keys.toml", text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
        assert!(e.contains(says), "{says}: {e}");
        assert!(e.contains("keys.toml:"), "{e}");
    }
    let solo = "options = [\"LRS\"]\n[[region]]\nname = \"solo\"\n[keys]\nvault = \"both\"\n";
    let e = scenario::from_source("keys.toml", solo)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`keys.vault`") && e.contains("no pair"), "{e}");
}

/// Random vault outages draw from their own stream: every other figure of
/// the trial is the same with and without them.
#[test]
fn vault_outages_leave_every_other_figure_as_it_was() {
    let base = format!(
        "{BASE}[failures.facility]\nafr = 0.5\n[outages.facility]\nrate = 2\nduration = \"6h\"\n"
    );
    let base = base.replace(
        "[failures.disk]\nafr = 0\n",
        "[failures.disk]\nafr = 0.05\n",
    );
    let plain = run(&base, 40);
    let keyed = run(
        &format!("{base}[keys]\n[keys.outages]\nrate = 4\nduration = \"3h\"\n"),
        40,
    );
    for (a, b) in plain.options.iter().zip(&keyed.options) {
        assert_eq!(a.durability, b.durability);
        assert_eq!(a.availability, b.availability);
        assert_eq!(a.failover, b.failover);
        assert!(b.keys.as_ref().unwrap().unreadable_minutes_per_year.mean > 0.0);
    }
}

#[test]
fn key_metrics_in_the_table_the_csv_and_expect() {
    let text = format!(
        "{BASE}[keys]\nvault = \"primary\"\ncache = \"1h\"\nloss_rate = 1e-4\n\
         [[keys.fault]]\nat = \"30d\"\nduration = \"3h\"\n\
         [expect]\nLRS = [\"key_unreadable_minutes <= 120\", \"nines_with_key <= 4.01\"]\n"
    );
    let s = scenario::from_source("keys.toml", &text).unwrap();
    let summary = run(&text, 4);
    let table = replisim::report::table(&summary);
    assert!(table.contains("key-unreadable min/y"), "{table}");
    assert!(table.contains("120.0"), "{table}");
    let csv = replisim::report::csv(&summary).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("nines_with_key,crypto_shred_days"),
        "{header}"
    );
    let outcomes = replisim::report::expect::evaluate(&s.expectations, &summary);
    assert!(
        outcomes
            .iter()
            .all(|o| o.verdict == replisim::report::expect::Verdict::Holds),
        "{}",
        replisim::report::expect::table(&outcomes)
    );
    let without = scenario::from_source("keys.toml", "[expect]\nLRS = [\"nines_with_key >= 3\"]\n");
    assert!(
        without
            .unwrap_err()
            .to_string()
            .contains("add a [keys] section")
    );
}
