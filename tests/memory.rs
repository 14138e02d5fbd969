//! The memory plan against real runs: a run's peak resident memory
//! (Linux's `VmHWM`, printed on its status line) never exceeds what it was
//! planned at, in runs where each part of the plan is the large one; and a
//! run planned past `--max-memory` is refused before it starts.

use std::process::{Command, Output};

fn replisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .output()
        .unwrap()
}

/// (peak, planned) in MiB from a run's status line, or None where the
/// platform does not report its peak.
fn peak_and_plan(o: &Output) -> Option<(u64, u64)> {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("wall time"))?;
    let number_after = |key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split_whitespace().next()?.parse().ok()
    };
    Some((
        number_after("peak memory ")?,
        number_after("planned at most ")?,
    ))
}

fn run(label: &str, scenario: &str, extra: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let mut args = vec![
        "run",
        scenario,
        "--quiet",
        "--threads",
        "2",
        "--out",
        out_dir,
    ];
    args.extend_from_slice(extra);
    let o = replisim(&args);
    let Some((peak, plan)) = peak_and_plan(&o) else {
        println!("skipped {label}: this platform does not report a process's peak memory");
        return;
    };
    println!("{label}: peak {peak} MiB, planned at most {plan} MiB");
    assert!(
        peak <= plan,
        "{label}: peak {peak} MiB over the plan {plan} MiB"
    );
}

fn empty_scenario(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("empty.toml");
    std::fs::write(&path, "seed = 1\n").unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_placement_of_much_data_stays_within_its_plan() {
    let dir = tempfile::tempdir().unwrap();
    let file = empty_scenario(&dir);
    // 2M extents of four options (36M copies), two blocks on two threads.
    let sets = [
        "--set",
        "data.size=2PB",
        "--set",
        "failures.disk.afr=0.0001",
    ];
    let mut args = sets.to_vec();
    args.extend(["--trials", "512", "--method", "plain"]);
    run("2 PB", &file, &args);
}

#[test]
fn the_repairs_of_a_destroyed_facility_stay_within_their_plan() {
    let root = env!("CARGO_MANIFEST_DIR");
    let file = format!("{root}/scenarios/facility-fire.toml");
    let args = ["--set", "data.size=200TB", "--trials", "16"];
    run("facility fire, 200 TB", &file, &args);
}

#[test]
fn a_destroyed_facility_holding_a_whole_account_stays_within_its_plan() {
    // One stamp: every LRS and GRS copy of the region in the one facility
    // the fire destroys.
    let root = env!("CARGO_MANIFEST_DIR");
    let file = format!("{root}/scenarios/facility-fire.toml");
    let args = [
        "--set",
        "data.size=200TB",
        "--set",
        "data.stamp=one",
        "--trials",
        "16",
    ];
    run("facility fire, 200 TB in one stamp", &file, &args);
}

#[test]
fn many_trials_keep_one_wave_of_results() {
    let dir = tempfile::tempdir().unwrap();
    let file = empty_scenario(&dir);
    let args = [
        "--set",
        "failures.disk.afr=0.0001",
        "--trials",
        "65536",
        "--method",
        "plain",
    ];
    run("65,536 trials", &file, &args);
}

#[test]
fn the_default_scenario_stays_within_its_plan() {
    let out = tempfile::tempdir().unwrap();
    let args = ["run", "--quiet", "--trials", "100", "--out"];
    let mut args = args.to_vec();
    args.push(out.path().to_str().unwrap());
    let o = replisim(&args);
    if let Some((peak, plan)) = peak_and_plan(&o) {
        assert!(peak <= plan, "default: peak {peak} MiB over {plan} MiB");
    }
}

#[test]
fn a_run_planned_past_max_memory_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let file = empty_scenario(&dir);
    let out = dir.path().join("out");
    let args = [
        "run",
        &file,
        "--set",
        "data.size=2PB",
        "--max-memory",
        "512MiB",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = replisim(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("over the 0.50 GiB limit"), "{stderr}");
    assert!(stderr.contains("in `data.extent_size`"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
    // The same run is planned under the default limit: `validate` says so.
    let o = replisim(&["validate", &file, "--set", "data.size=2PB"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
