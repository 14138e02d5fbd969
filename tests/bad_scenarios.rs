//! Every kind of scenario mistake exits non-zero with a message naming the
//! file, line and field, and leaves no result file behind.

use std::path::Path;
use std::process::Command;

/// Runs `replisim run` on `text` saved as bad.toml; returns stderr.
fn run_bad(text: &str) -> (String, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["run", file.to_str().unwrap(), "--trials", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!result.status.success(), "a bad scenario must fail: {text}");
    assert!(!out.exists(), "no result may be written for a bad scenario");
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stderr, dir.keep())
}

/// Asserts the error starts `error:`, points at `bad.toml:LINE` on the
/// next line (as cargo's `-->`), and names the field under the line.
fn assert_error(text: &str, line: usize, field: &str, says: &str) {
    let (stderr, dir) = run_bad(text);
    let _ = std::fs::remove_dir_all(dir);
    let mut lines = stderr.lines();
    assert!(
        lines.next().unwrap_or_default().starts_with("error: "),
        "{stderr}"
    );
    let origin = lines.next().unwrap_or_default();
    assert!(
        origin.starts_with(" --> ") && origin.contains(&format!("bad.toml:{line}:")),
        "expected line {line}: {stderr}"
    );
    assert!(
        stderr.contains(&format!("in `{field}`")),
        "expected field {field}: {stderr}"
    );
    assert!(stderr.contains(says), "expected `{says}` in: {stderr}");
}

#[test]
fn unknown_field() {
    assert_error(
        "seed = 1\n[failures.disk]\nafr = 0.01\nmtbf = \"3y\"\n",
        4,
        "failures.disk.mtbf",
        "= help: allowed here: `afr`, `lifetime`, `replace`",
    );
}

#[test]
fn a_value_where_a_table_belongs_says_which_table() {
    assert_error(
        "seed = 1\ndata = 3\n",
        2,
        "data",
        "expected a [data] table (size, extent_size, primary, stamp)",
    );
}

#[test]
fn negative_rate() {
    assert_error(
        "[failures.disk]\nafr = -0.5\n",
        2,
        "failures.disk.afr",
        "non-negative",
    );
}

#[test]
fn zero_zones() {
    assert_error("[topology]\nzones = 0\n", 2, "topology.zones", "from 1");
}

#[test]
fn group_trials_out_of_range() {
    assert_error(
        "group_trials = 0\n",
        1,
        "group_trials",
        "must be a whole number from 1",
    );
    assert_error(
        "seed = 2\ngroup_trials = 5000\n",
        2,
        "group_trials",
        "must be from 1 to 4096 group trials per fleet trial, got 5000",
    );
}

#[test]
fn unknown_stamp_lists_the_allowed_ones() {
    assert_error(
        "[data]\nstamp = \"two\"\n",
        2,
        "data.stamp",
        "= help: allowed: \"per extent\" (each extent anchored on its own",
    );
}

#[test]
fn geo_option_without_a_pair() {
    let text = "options = [\"LRS\", \"GRS\"]\n\n[[region]]\nname = \"solo\"\n";
    assert_error(text, 1, "options[1]", "has no `pair`");
}

#[test]
fn pair_across_geographies() {
    let text = "[[region]]\nname = \"brazilsouth\"\ngeography = \"brazil\"\npair = \"southcentralus\"\n\n[[region]]\nname = \"southcentralus\"\ngeography = \"us\"\npair = \"brazilsouth\"\n";
    assert_error(text, 4, "region[0].pair", "may not leave its geography");
}

#[test]
fn malformed_duration() {
    assert_error(
        "horizon = \"1 year\"\n",
        1,
        "horizon",
        "expected a number and a unit",
    );
}

#[test]
fn unknown_option_lists_the_allowed_ones() {
    assert_error(
        "options = [\"LRS\", \"XRS\"]\n",
        1,
        "options[1]",
        "LRS, ZRS, GRS, GZRS",
    );
}

#[test]
fn too_few_zones_for_zrs() {
    assert_error(
        "options = [\"ZRS\"]\n[topology]\nzones = 2\n",
        2,
        "topology",
        "only 2",
    );
}

#[test]
fn toml_syntax_error() {
    let (stderr, dir) = run_bad("seed = \n");
    let _ = std::fs::remove_dir_all(dir);
    assert!(stderr.contains("bad.toml:1:"), "{stderr}");
}

#[test]
fn missing_file() {
    let (stderr, dir) = run_bad_path("no/such/scenario.toml");
    let _ = std::fs::remove_dir_all(dir);
    assert!(stderr.contains("no/such/scenario.toml"), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
}

fn run_bad_path(path: &str) -> (String, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let result = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["validate", path])
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(!Path::new(path).exists());
    (String::from_utf8(result.stderr).unwrap(), dir.keep())
}

#[test]
fn a_fleet_too_large_for_memory_is_refused_up_front() {
    // 1.44e9 disks: their index alone is 11 GB.
    let text = "[topology]\nzones = 3\nracks_per_facility = 20000\nnodes_per_rack = 1000\n";
    assert_error(text, 1, "topology", "GiB limit");
}

#[test]
fn too_many_copies_for_memory_are_refused_up_front() {
    assert_error(
        "[data]\nsize = \"2PB\"\nextent_size = \"1MB\"\n",
        3,
        "data.extent_size",
        "GiB limit",
    );
}

/// A `[[fault]]` with the given fields (after `at`), at line 1.
fn fault(fields: &str) -> String {
    format!("[[fault]]\nat = \"1d\"\n{fields}")
}

#[test]
fn fault_in_an_unknown_region() {
    let text = fault("level = \"region\"\ntarget = \"mars\"\nkind = \"destroyed\"\n");
    assert_error(&text, 4, "fault[0].target", "no region named `mars`");
}

#[test]
fn a_region_name_one_slip_away_is_suggested() {
    let text = fault("level = \"region\"\ntarget = \"westeurpe\"\nkind = \"destroyed\"\n");
    assert_error(
        &text,
        4,
        "fault[0].target",
        "= help: did you mean `westeurope`?",
    );
    let pair = "options = [\"GRS\"]\n[[region]]\nname = \"a\"\ngeography = \"x\"\npair = \"bb\"\n\n[[region]]\nname = \"b\"\ngeography = \"x\"\npair = \"a\"\n";
    assert_error(pair, 5, "region[0].pair", "= help: did you mean `b`?");
}

#[test]
fn fault_in_a_zone_that_does_not_exist() {
    let text =
        fault("level = \"zone\"\ntarget = \"westeurope/4\"\nkind = \"down\"\nduration = \"1h\"\n");
    assert_error(&text, 4, "fault[0].target", "it has 3, numbered 1 to 3");
}

#[test]
fn fault_target_too_short_for_its_level() {
    let text = fault("level = \"facility\"\ntarget = \"westeurope/1\"\nkind = \"destroyed\"\n");
    assert_error(&text, 4, "fault[0].target", "region/zone/facility");
}

#[test]
fn fault_down_without_a_duration() {
    let text = fault("level = \"zone\"\ntarget = \"westeurope/1\"\nkind = \"down\"\n");
    assert_error(&text, 5, "fault[0].kind", "needs a `duration`");
}

#[test]
fn planned_failover_after_the_horizon() {
    let text = "horizon = \"1y\"\n[failover]\nplanned = [\"400d\"]\n";
    assert_error(
        text,
        3,
        "failover.planned[0]",
        "after the horizon (1y): the failover would never happen",
    );
}

#[test]
fn fault_after_the_horizon() {
    let text = "horizon = \"1y\"\n[[fault]]\nat = \"400d\"\nlevel = \"region\"\ntarget = \"westeurope\"\nkind = \"destroyed\"\n";
    assert_error(text, 3, "fault[0].at", "after the horizon");
}

#[test]
fn a_link_cannot_be_destroyed() {
    let text = fault("level = \"link\"\ntarget = \"westeurope\"\nkind = \"destroyed\"\n");
    assert_error(&text, 5, "fault[0].kind", "a link can only be `down`");
}

#[test]
fn outage_with_negative_rate() {
    assert_error(
        "[outages.zone]\nrate = -1\n",
        2,
        "outages.zone.rate",
        "non-negative",
    );
}

#[test]
fn outage_without_rate_or_between() {
    assert_error(
        "[outages.zone]\nduration = \"1h\"\n",
        1,
        "outages.zone",
        "give `rate`",
    );
}

#[test]
fn unknown_failover_policy() {
    assert_error(
        "[failover]\npolicy = \"auto\"\n",
        2,
        "failover.policy",
        "allowed: customer, provider, none",
    );
}

#[test]
fn diurnal_profile_of_the_wrong_length() {
    assert_error(
        "[geo_replication]\nprofile = [1.0, 2.0]\n",
        2,
        "geo_replication.profile",
        "24 hourly multipliers",
    );
}

#[test]
fn expectation_with_an_unknown_metric() {
    assert_error(
        "[expect]\nLRS = [\n  \"nines >= 2\",\n  \"ninez >= 11\",\n]\n",
        4,
        "expect.LRS[1]",
        "help: did you mean `nines`?",
    );
}

#[test]
fn expectation_about_an_option_not_in_the_scenario() {
    assert_error(
        "options = [\"LRS\"]\n[expect]\nXRS = [\"nines >= 2\"]\n",
        3,
        "expect.XRS",
        "its options are LRS",
    );
}

#[test]
fn expectation_without_a_unit_or_for_the_wrong_option() {
    assert_error(
        "[expect]\nGRS = [\"rpo_p99 <= 900\"]\n",
        2,
        "expect.GRS[0]",
        "duration unit",
    );
    assert_error(
        "[expect]\nLRS = [\"failovers_per_year <= 1\"]\n",
        2,
        "expect.LRS[0]",
        "LRS has none",
    );
}

#[test]
fn a_bad_set_names_the_set_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["run", "scenarios/lrs.toml", "--trials", "3", "--quiet"])
        .args(["--set", "failures.disk.afrr=2%", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(!out.exists(), "no result may be written for a bad --set");
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: unknown field `afrr` (in `failures.disk.afrr`)\n --> scenarios/lrs.toml with --set failures.disk.afrr=2%\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("= help: did you mean `afr`?"), "{stderr}");
}

#[test]
fn the_removed_geo_bandwidth_names_its_replacement() {
    assert_error(
        "name = \"x\"\n[repair]\ngeo_bandwidth = \"1GB/s\"\n",
        3,
        "repair.geo_bandwidth",
        "geo_replication.bandwidth",
    );
}

/// The stderr of `run` on the bad scenario `text`.
fn stderr_for(text: &str) -> String {
    let (stderr, dir) = run_bad(text);
    let _ = std::fs::remove_dir_all(dir);
    stderr
}

#[test]
fn the_mistake_is_underlined_under_its_line() {
    let stderr = stderr_for("[failures.disk]\nafr = -0.5\n");
    assert!(
        stderr.contains("2 | afr = -0.5\n  |       ^^^^ in `failures.disk.afr`"),
        "{stderr}"
    );
}

#[test]
fn a_near_miss_gets_a_did_you_mean_from_its_own_table_only() {
    let stderr = stderr_for("[failure.disk]\nafr = 0.01\n");
    assert!(stderr.contains("unknown field `failure`"), "{stderr}");
    assert!(
        stderr.contains("= help: did you mean `failures`?"),
        "{stderr}"
    );
    // Not the 18 top-level fields.
    assert!(!stderr.contains("`geo_replication`"), "{stderr}");
    let stderr = stderr_for("[failures.disk]\naffr = 0.01\n");
    assert!(stderr.contains("did you mean `afr`?"), "{stderr}");
    let stderr = stderr_for("options = [\"GZR\"]\n");
    assert!(stderr.contains("did you mean `GZRS`?"), "{stderr}");
}

#[test]
fn the_data_protection_sections_get_a_did_you_mean_too() {
    // [keys], [deletion], [decommission] and [residency]: every slip of the
    // file at once, each with the nearest name of its own table.
    let stderr = stderr_for(
        "[keys]\nmanager = \"customer\"\nvaul = \"both\"\n[keys.outages]\nrat = 0.5\n\
         [deletion]\nsoft_delet = \"7d\"\n[decommission]\ndestroy_aftr = \"30d\"\n\
         [residency]\nallow_cross_geograpy = true\n",
    );
    for near in [
        "vault",
        "rate",
        "soft_delete",
        "destroy_after",
        "allow_cross_geography",
    ] {
        assert!(
            stderr.contains(&format!("= help: did you mean `{near}`?")),
            "{near}: {stderr}"
        );
    }
    assert!(stderr.contains("due to 5 mistakes"), "{stderr}");
    // Their values and metrics, checked past the fields.
    assert_error(
        "[keys]\nmanager = \"custmer\"\n",
        2,
        "keys.manager",
        "= help: did you mean `customer`?",
    );
    assert_error(
        "[keys]\nmanager = \"customer\"\nvault = \"bth\"\n",
        3,
        "keys.vault",
        "= help: did you mean `both`?",
    );
    assert_error(
        "[keys]\nmanager = \"customer\"\n[expect]\nLRS = [\"nines_with_ky >= 3\"]\n",
        4,
        "expect.LRS[0]",
        "= help: did you mean `nines_with_key`?",
    );
    assert_error(
        "[deletion]\nrate = \"1KB/s\"\n[expect]\nLRS = [\"erasure_p9 <= 30d\"]\n",
        4,
        "expect.LRS[0]",
        "= help: did you mean `erasure_p99`?",
    );
}

#[test]
fn a_catalog_region_gets_a_did_you_mean_and_a_refusal_its_way_out() {
    // A slip, and the name as the portal writes it.
    for name in ["westeurop", "West Europe"] {
        assert_error(
            &format!("region = \"{name}\"\n"),
            1,
            "region",
            "= help: did you mean `westeurope`?",
        );
    }
    assert_error(
        "region = \"brazilsouth\"\noptions = [\"GRS\"]\n",
        1,
        "region",
        "= help: to accept it, set residency.allow_cross_geography = true",
    );
}

#[test]
fn a_catalog_region_beside_region_tables_says_they_are_one_key() {
    let stderr =
        stderr_for("region = \"westeurope\"\n[[region]]\nname = \"a\"\ngeography = \"x\"\n");
    assert!(
        stderr.starts_with("error: duplicate key `region`\n"),
        "{stderr}"
    );
    assert!(stderr.contains("bad.toml:2:3\n"), "{stderr}");
    assert!(
        stderr.contains(
            "= help: `region = \"name\"` (a region of the catalog) and `[[region]]` tables"
        ),
        "{stderr}"
    );
    let stderr = stderr_for("seed = 1\nseed = 2\n");
    assert!(
        stderr.starts_with("error: duplicate key `seed`\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("= help: a key is given once in its table"),
        "{stderr}"
    );
}

#[test]
fn a_far_miss_lists_what_its_table_allows() {
    let stderr = stderr_for("[topology]\nsize = 3\n");
    assert!(
        stderr.contains("= help: allowed here: `zones`, `facilities_per_zone`"),
        "{stderr}"
    );
    assert!(!stderr.contains("`horizon`"), "{stderr}");
}

#[test]
fn every_mistake_of_a_file_is_shown_at_once() {
    let text = "seed = \"x\"\n[topology]\nzones = 0\ndiks_per_node = 3\n[[region]]\nname = \"a\"\nzones = \"3\"\n";
    let stderr = stderr_for(text);
    for line in [1, 3, 4, 7] {
        assert!(
            stderr.contains(&format!("bad.toml:{line}:")),
            "line {line}: {stderr}"
        );
    }
    assert!(stderr.contains("in `region[0].zones`"), "{stderr}");
    assert!(
        stderr.trim_end().ends_with("bad.toml` due to 4 mistakes"),
        "{stderr}"
    );
}

#[test]
fn no_rust_type_name_is_shown() {
    let stderr = stderr_for("trials = \"many\"\nseed = -1\n[data]\nsize = 3\n");
    for rust in ["i64", "u64", "u32", "f64", "sequence"] {
        assert!(!stderr.contains(rust), "{rust}: {stderr}");
    }
    assert!(
        stderr.contains("expected a whole number, found string \"many\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("expected a size in quotes, such as \"16TB\""),
        "{stderr}"
    );
}

#[test]
fn a_mistake_set_on_the_embedded_default_names_no_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["validate", "--set", "horizon=soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("--> <embedded default> with --set horizon=soon"),
        "{stderr}"
    );
    assert!(!stderr.contains("scenarios/default.toml"), "{stderr}");
}

/// A `[[custom]]` option with the given fields after its name, at line 1.
fn coded(fields: &str) -> String {
    format!("[[custom]]\nname = \"c\"\n{fields}")
}

#[test]
fn code_of_no_data_fragments() {
    let text = coded("code = \"rs(0,3)\"\n");
    assert_error(&text, 3, "custom[0].code", "at least one data fragment");
}

#[test]
fn lrc_groups_of_unequal_size() {
    let text = coded("code = \"lrc(12,5,2)\"\n");
    assert_error(
        &text,
        3,
        "custom[0].code",
        "do not split into 5 local groups",
    );
}

#[test]
fn code_is_not_a_code() {
    let text = coded("code = \"reed-solomon\"\n");
    assert_error(&text, 3, "custom[0].code", "write rs(k,m)");
}

#[test]
fn code_and_copies_both() {
    let text = coded("copies = 3\ncode = \"rs(6,3)\"\n");
    assert_error(&text, 4, "custom[0].code", "not both");
}

#[test]
fn code_with_more_fragments_than_spread_components() {
    // 20 racks per facility by default: LRC(16,2,4) has 22 fragments.
    let text = coded("code = \"lrc(16,2,4)\"\n");
    assert_error(&text, 3, "custom[0].code", "which has only 20");
}

#[test]
fn code_over_the_limit() {
    let text = coded("code = \"rs(30,4)\"\nwithin = \"region\"\nspread = \"disk\"\n");
    assert_error(&text, 3, "custom[0].code", "at most 32");
}

#[test]
fn code_with_a_secondary() {
    let text = coded("code = \"rs(6,3)\"\nsecondary = { copies = 3 }\n");
    assert_error(&text, 3, "custom[0].code", "drop `secondary`");
}
#[test]
fn logical_errors_refuse_a_negative_rate_a_restore_not_a_duration_and_a_missing_delay() {
    let detection = "detection = { dist = \"exponential\", mean = \"2d\" }\n";
    assert_error(
        &format!("[logical]\nrate = -1\n{detection}"),
        2,
        "logical.rate",
        "non-negative",
    );
    assert_error(
        &format!("[logical]\nrate = \"5%\"\n{detection}restore = 7\n"),
        4,
        "logical.restore",
        "a duration in quotes",
    );
    assert_error(
        "[logical]\nrate = 0.1\nrestore = \"7d\"\n",
        1,
        "logical",
        "detection",
    );
    assert_error(
        &format!("[logical]\nrate = 0.1\n{detection}[expect]\nLRS = [\"logical_los <= 1e-3\"]\n"),
        5,
        "expect.LRS[0]",
        "= help: did you mean `logical_loss`?",
    );
    assert_error(
        "[expect]\nLRS = [\"nines_with_logical >= 3\"]\n",
        2,
        "expect.LRS[0]",
        "add a [logical] section",
    );
}

/// A `[[burst]]` destroying nodes at `rate` 1 per year, with `fields`; the
/// table starts at line 1, its fields from line 4.
fn burst(fields: &str) -> String {
    format!("[[burst]]\nrate = 1\nkind = \"destroyed\"\n{fields}")
}

#[test]
fn a_burst_scope_narrower_than_its_default_level_names_the_scope() {
    let text = burst("scope = \"disk\"\nfraction = 0.1\n");
    assert_error(&text, 4, "burst[0].scope", "must be narrower than `scope`");
}

#[test]
fn a_burst_share_above_one_says_the_value_given() {
    let text = burst("scope = \"rack\"\nfraction = 2\n");
    assert_error(
        &text,
        5,
        "burst[0].fraction",
        "2: a share from above 0 to 1",
    );
}

#[test]
fn a_burst_larger_than_its_scope_names_the_field_too_large() {
    let count = burst("scope = \"rack\"\ncount = 20\n");
    assert_error(&count, 5, "burst[0].count", "at most the 18 there are");
    let top = burst("scope = \"rack\"\ncount = 2\ncount_max = 30\n");
    assert_error(&top, 6, "burst[0].count_max", "2 to 30 components");
}

#[test]
fn a_burst_with_no_size_says_how_to_give_one() {
    let text = burst("scope = \"rack\"\n");
    assert_error(&text, 1, "burst[0].fraction", "`fraction` (e.g. 0.01");
}

#[test]
fn latent_errors_refuse_a_negative_rate_a_zero_interval_and_a_word_not_a_duration() {
    assert_error("[latent]\nrate = -0.1\n", 2, "latent.rate", "non-negative");
    assert_error(
        "[latent]\nrate = 0.1\nscrub_interval = \"0d\"\n",
        3,
        "latent.scrub_interval",
        "longer than 0",
    );
    assert_error(
        "[latent]\nscrub_interval = \"weekly\"\n",
        2,
        "latent.scrub_interval",
        "or \"never\"",
    );
    assert_error(
        "[latent]\nscrub_interval = 14\n",
        2,
        "latent.scrub_interval",
        "a duration in quotes, such as \"14d\", or \"never\"",
    );
    assert_error(
        "[latent]\nrate = 0.1\nscrub = \"7d\"\n",
        3,
        "latent.scrub",
        "= help: allowed here: `rate`, `scrub_interval`",
    );
}
