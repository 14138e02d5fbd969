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

/// Asserts the error names `bad.toml:LINE` and the field.
fn assert_error(text: &str, line: usize, field: &str, says: &str) {
    let (stderr, dir) = run_bad(text);
    let _ = std::fs::remove_dir_all(dir);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("bad.toml:{line}:")),
        "expected line {line}: {stderr}"
    );
    assert!(
        first.contains(&format!("`{field}`")),
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
        "unknown field `mtbf`, expected one of",
    );
}

#[test]
fn a_value_where_a_table_belongs_says_which_table() {
    assert_error(
        "seed = 1\ndata = 3\n",
        2,
        "data",
        "expected a [data] table (size, extent_size, primary)",
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
    let text = "[topology]\nzones = 3\nracks_per_facility = 100000\nnodes_per_rack = 1000\n";
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
        "metrics are nines, loss",
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
            "scenarios/lrs.toml with --set failures.disk.afrr=2%: error in `failures.disk.afrr`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("expected one of `afr`, `lifetime`, `replace`"),
        "{stderr}"
    );
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
