//! Erasure of deleted data (`[deletion]`, `[decommission]`) against exact
//! answers: with a constant lag L and reclaim delay R, every delete is
//! erased after exactly R on LRS and L + R on GRS (soft-delete retention S
//! on top); a copy on failed hardware held for D keeps a remnant for D; the
//! bytes an unplanned failover brings back are the delete rate times its
//! unshipped window. Without the sections nothing changes (the bundled
//! results, reference_results.rs).

use replisim::estimate::{Method, RunConfig, Summary, estimate};
use replisim::scenario;

/// One region pair of one facility each (3 racks of one disk), no random
/// failures: every remnant comes from what the test scripts.
const BASE: &str = "start = \"new\"\noptions = [\"LRS\", \"GRS\"]\n\
[topology]\nzones = 1\nracks_per_facility = 3\nnodes_per_rack = 1\ndisks_per_node = 1\n\
[data]\nsize = \"1GB\"\n[failures.disk]\nafr = 0\n[geo_replication]\nlatency = \"45s\"\n";

fn run(text: &str) -> Summary {
    let s = scenario::from_source("deletion.toml", text).unwrap();
    let config = RunConfig {
        seed: 3,
        trials: 2,
        threads: 0,
        method: Method::RareEvent,
    };
    estimate(&s, config).unwrap()
}

/// (mean, max) erasure seconds per option.
fn erasure(summary: &Summary) -> Vec<(f64, f64)> {
    let of = |o: &replisim::estimate::OptionSummary| {
        let e = o
            .deletion
            .as_ref()
            .unwrap()
            .erasure_seconds
            .clone()
            .unwrap();
        (e.mean, e.max)
    };
    summary.options.iter().map(of).collect()
}

#[test]
fn erasure_takes_the_reclaim_delay_and_the_lag_exactly() {
    for (reclaim_s, soft_days) in [(7200.0, 0.0), (600.0, 0.0), (3600.0, 7.0)] {
        let text = format!(
            "{BASE}[deletion]\nreclaim = \"{reclaim_s}s\"\nsoft_delete = \"{soft_days}d\"\n"
        );
        let s = soft_days * 86_400.0;
        let e = erasure(&run(&text));
        assert_eq!(e[0], (s + reclaim_s, s + reclaim_s), "LRS");
        // GRS: max(R, L + R) = L + R with L the constant 45 s lag.
        assert_eq!(e[1], (s + 45.0 + reclaim_s, s + 45.0 + reclaim_s), "GRS");
    }
}

/// A rack (one disk here) holding an LRS copy fails at 10 days and is
/// shredded D later: the delete that becomes final at that hour keeps a
/// remnant for D, every later one for what is left of D.
#[test]
fn a_failed_disk_held_for_d_extends_erasure_to_d() {
    let fault = "[[fault]]\nat = \"10d\"\nlevel = \"rack\"\ntarget = \"westeurope/1/1/1\"\nkind = \"destroyed\"\n";
    for d_hours in [30.0, 100.0] {
        let text = format!(
            "{BASE}{fault}[deletion]\nreclaim = \"1h\"\n[decommission]\ndestroy_after = \"{d_hours}h\"\n"
        );
        let summary = run(&text);
        let (_, max) = erasure(&summary)[0];
        assert_eq!(max, d_hours * 3600.0, "LRS, D = {d_hours} h");
        // Without [decommission] the failed disk keeps nothing.
        let text = format!("{BASE}{fault}[deletion]\nreclaim = \"1h\"\n");
        assert_eq!(erasure(&run(&text))[0].1, 3600.0);
    }
}

/// The primary region down 6 hours: the customer fails over after an hour,
/// losing the 45 s not yet shipped, and with them the deletes of those 45 s.
#[test]
fn resurrected_bytes_are_the_delete_rate_times_the_unshipped_window() {
    let fault = "[[fault]]\nat = \"30d\"\nlevel = \"region\"\ntarget = \"westeurope\"\nkind = \"down\"\nduration = \"6h\"\n";
    let text = format!("{BASE}{fault}[deletion]\nrate = \"2MB/s\"\n");
    let summary = run(&text);
    let grs = &summary.options[1];
    let rpo = grs.failover.as_ref().unwrap().rpo_seconds.as_ref().unwrap();
    assert_eq!(rpo.max, 45.0);
    let back = &grs.deletion.as_ref().unwrap().resurrected_bytes_per_year;
    assert!((back.mean - 2e6 * 45.0).abs() < 1e-6, "{}", back.mean);
    let lrs = &summary.options[0]
        .deletion
        .as_ref()
        .unwrap()
        .resurrected_bytes_per_year;
    assert_eq!(lrs.mean, 0.0);
}

#[test]
fn bad_deletion_settings_name_their_field() {
    let cases = [
        (
            "[deletion]\nsoft_delete = \"2y\"\n",
            "deletion.soft_delete",
            "1 to 365 days",
        ),
        (
            "[decommission]\ndestroy_after = \"30d\"\n",
            "decommission",
            "add a [deletion]",
        ),
        (
            "[deletion]\nreclaim = \"soon\"\n",
            "deletion.reclaim",
            "expected a number",
        ),
    ];
    for (text, field, says) in cases {
        let e = scenario::from_source("deletion.toml", text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("`{field}`")), "{field}: {e}");
        assert!(e.contains(says), "{says}: {e}");
        assert!(e.contains("deletion.toml:"), "{e}");
    }
}

/// Probes draw nothing: every other figure is the same with deletion on.
#[test]
fn deletion_leaves_every_other_figure_as_it_was() {
    let busy = "[failures.facility]\nafr = 0.5\n[outages.facility]\nrate = 2\nduration = \"6h\"\n";
    let base = BASE.replace("afr = 0\n", "afr = 0.05\n") + busy;
    let plain = run(&base);
    let deleting = run(&format!(
        "{base}[deletion]\nreclaim = \"1h\"\n[decommission]\ndestroy_after = \"7d\"\n"
    ));
    for (a, b) in plain.options.iter().zip(&deleting.options) {
        assert_eq!(a.durability, b.durability);
        assert_eq!(a.availability, b.availability);
        assert_eq!(a.failover, b.failover);
        assert!(b.deletion.is_some() && a.deletion.is_none());
    }
}

#[test]
fn erasure_in_the_table_the_csv_and_expect() {
    let text = format!(
        "{BASE}[deletion]\nreclaim = \"2h\"\n[expect]\nGRS = [\"erasure_max <= 7260 s\", \"erasure_p50 >= 2h\"]\n"
    );
    let s = scenario::from_source("deletion.toml", &text).unwrap();
    let summary = run(&text);
    let table = replisim::report::table(&summary);
    assert!(table.contains("erasure p50/p99/max"), "{table}");
    let csv = replisim::report::csv(&summary).unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with("resurrected_bytes_per_year")
    );
    let outcomes = replisim::report::expect::evaluate(&s.expectations, &summary);
    assert!(
        !replisim::report::expect::any_fails(&outcomes),
        "{}",
        replisim::report::expect::table(&outcomes)
    );
    let e = scenario::from_source("deletion.toml", "[expect]\nLRS = [\"erasure_p99 <= 1d\"]\n");
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("add a [deletion] section")
    );
}

/// `trace` lists each probe's delete with its milestones, and tracing
/// changes nothing: the traced trial is the trial `run` simulates. With a
/// constant lag L = 45 s and no failure, GRS's primary copies go after R,
/// the secondary's after L + R, and the delete is erased after L + R; with
/// a rack destroyed at 10 days and shredded D later, the delete of that
/// hour on the rack's extent keeps a remnant for exactly D.
#[test]
fn trace_lists_each_delete_with_its_milestones_and_changes_nothing() {
    use replisim::model::trace::What;
    use replisim::model::world::Plan;
    let (r, s, lag) = (3_600_000_000u64, 86_400_000_000u64, 45_000_000u64);
    let text = format!("{BASE}[deletion]\nreclaim = \"1h\"\nsoft_delete = \"1d\"\n");
    let sc = scenario::from_source("deletion.toml", &text).unwrap();
    let plan = Plan::new(&sc.system, 3).unwrap();
    let (traced, events) = plan.trace_trial(0);
    assert_eq!(traced, plan.run_trial(0), "tracing decides nothing");
    let mut per_option = [0u64; 2];
    for e in &events {
        let What::Deleted {
            option,
            requested,
            copies,
            shredded,
            erased,
            ..
        } = &e.what
        else {
            continue;
        };
        per_option[*option as usize] += 1;
        assert_eq!((*requested, *shredded), (s, None));
        let after: Vec<(u8, u64, bool)> =
            copies.iter().map(|c| (c.slot, c.after, c.held)).collect();
        if *option == 0 {
            assert_eq!(after, [(0, r, false), (1, r, false), (2, r, false)]);
            assert_eq!(*erased, r);
        } else {
            let expected: Vec<(u8, u64, bool)> = (0..6)
                .map(|k| (k, if k < 3 { r } else { lag + r }, false))
                .collect();
            assert_eq!(after, expected);
            assert_eq!(*erased, lag + r);
        }
    }
    // One delete a probe, as many as the run's erasure times.
    for (k, o) in traced.options.iter().enumerate() {
        let probes: u64 = o.erasure.iter().map(|&(_, n)| n).sum();
        assert_eq!(per_option[k], probes);
        assert!(probes > 8000, "hourly over a year: {probes}");
    }

    let fault = "[[fault]]\nat = \"10d\"\nlevel = \"rack\"\ntarget = \"westeurope/1/1/1\"\nkind = \"destroyed\"\n";
    let text = format!(
        "{BASE}{fault}[deletion]\nreclaim = \"1h\"\n[decommission]\ndestroy_after = \"30h\"\n"
    );
    let sc = scenario::from_source("deletion.toml", &text).unwrap();
    let plan = Plan::new(&sc.system, 3).unwrap();
    let (traced, events) = plan.trace_trial(0);
    assert_eq!(traced, plan.run_trial(0));
    let held = events.iter().filter_map(|e| match &e.what {
        What::Deleted {
            option: 0,
            shredded: Some(t),
            erased,
            ..
        } => Some((*t, *erased)),
        _ => None,
    });
    let d = 30 * 3_600_000_000u64;
    assert_eq!(held.max(), Some((d, d)));
    let req = replisim::report::trace::TraceRequest {
        seed: 3,
        trial: 0,
        option: None,
        all: false,
    };
    let t = replisim::report::trace::trace(&sc, &req).unwrap();
    let story = replisim::report::trace::text(&sc.system, &t, &req);
    assert!(
        story.contains(
            "day  11 00:00:00  LRS extent 0 delete final (no soft delete): copies 0, 1 reclaimed in 1h, \
             failed hardware shredded in 1.250d; fully erased in 1.250d, 1.250d after the request"
        ),
        "{story}"
    );
    assert!(story.contains("deletes erased as routine (LRS "), "{story}");
}
