//! Inputs that once panicked, wrapped around or were silently accepted
//! (issue 17, from fuzzing and from trying replisim as a user would): each
//! now ends in a clear error, never a panic.

use std::path::Path;
use std::process::{Command, Output};

fn replisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts `o` failed with exit status 1 and no panic, saying `says`.
fn refused(o: &Output, says: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(says), "expected `{says}` in: {err}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn fan_outs_whose_product_wraps_are_refused_in_a_file_and_by_set() {
    // 65,536^4 = 2^64 wrapped to 0 disks, passed the memory check and
    // divided by zero in Topology::build.
    let dir = tempfile::tempdir().unwrap();
    let text = "seed = 1\n[topology]\nzones = 65536\nfacilities_per_zone = 65536\nracks_per_facility = 65536\nnodes_per_rack = 65536\n";
    let file = write(dir.path(), "wide.toml", text);
    refused(&replisim(&["validate", &file]), "wide.toml:2:2\n");
    refused(&replisim(&["validate", &file]), "more than 2^64 disks");
    let sets = [
        "topology.zones=65536",
        "topology.facilities_per_zone=65536",
        "topology.racks_per_facility=65536",
        "topology.nodes_per_rack=65536",
    ];
    let mut args = vec!["run", "--trials", "1"];
    for s in &sets {
        args.extend(["--set", s]);
    }
    refused(&replisim(&args), "more than 2^64 disks");
}

#[test]
fn a_copy_count_that_would_overflow_the_option_total_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = "seed = 1\noptions = []\n[[custom]]\nname = \"X\"\ncopies = 3\nwithin = \"region\"\nspread = \"zone\"\nsecondary = { copies = 4294967295, within = \"region\", spread = \"disk\" }\n";
    let file = write(dir.path(), "copies.toml", text);
    let o = replisim(&["validate", &file]);
    refused(&o, "custom[0].secondary.copies");
    refused(&o, "at most 16");
}

#[test]
fn an_error_with_stderr_closed_still_exits_1() {
    // eprintln! panicked on a closed stderr: exit 101.
    let o = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" run /nonexistent/scenario.toml 2>&-")
        .arg(env!("CARGO_BIN_EXE_replisim"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}

/// A small run split into `n` shards (the first ones empty, 6 trials being
/// less than a block); returns the part files.
fn parts(dir: &Path, n: u64) -> Vec<String> {
    (0..n)
        .map(|k| {
            let shard = format!("{k}/{n}");
            let out = dir.to_str().unwrap();
            let o = replisim(&[
                "run",
                "--set",
                "data.size=\"50GB\"",
                "--trials",
                "6",
                "--quiet",
                "--shard",
                &shard,
                "--out",
                out,
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            dir.join(format!("part-{k}-of-{n}.json"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn empty_shards_merge_to_the_bytes_of_one_run() {
    // Empty shards had no sums per option, so their method read as plain
    // and merge refused them ("method differs").
    let dir = tempfile::tempdir().unwrap();
    let files = parts(dir.path(), 3);
    let merged = dir.path().join("merged");
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    let o = replisim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let whole = dir.path().join("whole");
    let o = replisim(&[
        "run",
        "--set",
        "data.size=\"50GB\"",
        "--trials",
        "6",
        "--quiet",
        "--out",
        whole.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = |d: &Path| std::fs::read(d.join("summary.json")).unwrap();
    assert_eq!(read(&merged), read(&whole));
}

/// The part `file` with `edit` applied to its JSON, saved beside it.
fn crafted(file: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut part: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    edit(&mut part);
    let path = format!("{file}.crafted.json");
    std::fs::write(&path, part.to_string()).unwrap();
    path
}

#[test]
fn crafted_parts_are_refused_before_anything_is_allocated_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let files = parts(dir.path(), 1);
    let merge = |file: &str| {
        let out = dir.path().join("m");
        replisim(&["merge", "--out", out.to_str().unwrap(), file])
    };
    // N of 10^18 or 2^64 − 1 shards: an 8 EB table, or a capacity panic.
    for n in [1_000_000_000_000_000_000u64, u64::MAX] {
        // The last shard of N holds the run's only block, as this part does.
        let file = crafted(&files[0], |p| p["shard"] = serde_json::json!([n - 1, n]));
        let named = format!(
            "missing shards: 0/{n}, 1/{n}, 2/{n}, 3/{n}, 4/{n}, 5/{n}, 6/{n}, 7/{n} and {} more",
            n - 9
        );
        refused(&merge(&file), &named);
    }
    // Sums for fewer options than the scenario has: 3 of 4 options were
    // silently dropped.
    let file = crafted(&files[0], |p| {
        p["sums"]["options"].as_array_mut().unwrap().truncate(1);
    });
    refused(
        &merge(&file),
        "fleet figures for 1 option(s), the scenario has 4",
    );
    // Curve sums of unequal lengths indexed out of bounds.
    let file = crafted(&files[0], |p| {
        let curve = &mut p["sums"]["options"][0]["by_checkpoint"]["sum"];
        curve.as_array_mut().unwrap().pop();
    });
    refused(&merge(&file), "they must be of one length");
}

#[test]
fn a_runaway_trial_ends_within_its_wall_time_naming_the_field() {
    // Outages 0 s apart ran one trial for over 420 s, and Ctrl-C was read
    // only between blocks of 256 trials.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let o = replisim(&[
        "run",
        "--set",
        "outages.zone.between=\"0s\"",
        "--trials",
        "2",
        "--quiet",
        "--max-trial-time",
        "1s",
        "--out",
        out.to_str().unwrap(),
    ]);
    refused(&o, "ran out of its 1 s of wall time");
    refused(
        &o,
        "set them off came from `outages.zone`; is `between` (or `rate`) far too short?",
    );
    assert!(
        started.elapsed().as_secs_f64() < 20.0,
        "{:?}",
        started.elapsed()
    );
    assert!(!out.exists(), "a run that failed wrote results");
}

#[test]
fn a_trace_that_would_not_fit_its_budget_is_refused_naming_the_field() {
    // A 1 µs disk lifetime grew `trace` to 7.75 GB in 30 s.
    let dir = tempfile::tempdir().unwrap();
    let text = "seed = 1\noptions = [\"LRS\"]\n[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\n[data]\nsize = \"10GB\"\n[failures.disk]\nafr = 1e7\n";
    let file = write(dir.path(), "fast.toml", text);
    let out = dir.path().join("out");
    let o = replisim(&["trace", &file, "--out", out.to_str().unwrap()]);
    refused(&o, "ran out of its budget of 4194304 events");
    refused(
        &o,
        "set them off came from `failures.disk`; is its rate or time mistyped?",
    );
}

/// Starts `replisim args`, sends `signal` (e.g. "INT") once it has run for
/// `after`, and returns its output.
fn signalled(args: &[&str], signal: &str, after: std::time::Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    child.wait_with_output().unwrap()
}

/// Asserts every file of the result set in `out` says it is partial, with
/// the same count of trials everywhere.
fn marked_partial(out: &Path) -> u64 {
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["partial"], true);
    let trials = summary["trials"].as_u64().unwrap();
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[col("partial")], "true", "{line}");
        assert_eq!(cells[col("trials")], trials.to_string(), "{line}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(&format!("PARTIAL: interrupted after {trials} trials")));
    trials
}

#[test]
fn ctrl_c_and_sigterm_stop_the_run_and_mark_every_file_partial() {
    let dir = tempfile::tempdir().unwrap();
    for (signal, status) in [("INT", 130), ("TERM", 143)] {
        let out = dir.path().join(signal);
        let args = [
            "run", "--trials", "1000000", "--method", "plain", "--quiet", "--out",
        ];
        let mut args = args.to_vec();
        args.push(out.to_str().unwrap());
        let started = std::time::Instant::now();
        let o = signalled(&args, signal, std::time::Duration::from_secs(3));
        assert_eq!(o.status.code(), Some(status), "{}", stderr(&o));
        assert!(started.elapsed().as_secs_f64() < 30.0);
        let trials = marked_partial(&out);
        assert!(trials % 256 == 0 && trials < 1_000_000, "{trials}");
        let said = format!("interrupted: trials up to {trials} of 1000000 finished");
        assert!(stderr(&o).contains(&said), "{}", stderr(&o));
    }
}

#[test]
fn a_signal_ends_a_trial_stuck_in_a_long_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = [
        "run",
        "--set",
        "outages.zone.between=\"0s\"",
        "--trials",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let started = std::time::Instant::now();
    let o = signalled(&args, "TERM", std::time::Duration::from_millis(1500));
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(marked_partial(&out), 0);
}

#[test]
fn a_stopped_sweep_writes_the_points_it_ran_marked_partial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    // A light scenario: the first point's first blocks finish within the
    // 3 s (a default trial, with its outages and warm-up, takes ~20 ms).
    let args = [
        "sweep",
        "scenarios/zrs.toml",
        "--set",
        "failures.disk.afr=1%,2%,3%,4%,5%,6%,7%,8%",
        "--trials",
        "200000",
        "--method",
        "plain",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = signalled(&args, "INT", std::time::Duration::from_secs(3));
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted: 1 of 8 points run, the last cut short"));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().contains(",true,"), "{csv}");
}

#[test]
fn an_unwritable_out_is_found_before_the_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = write(dir.path(), "blocker", "a file, not a folder");
    let out = format!("{blocker}/results");
    let started = std::time::Instant::now();
    let o = replisim(&["run", "--trials", "100000", "--quiet", "--out", &out]);
    refused(&o, "cannot write results into");
    assert!(started.elapsed().as_secs_f64() < 5.0, "it simulated first");
}

/// The seed a result set says it ran with, if its files agree on it.
fn seed_of_set(out: &Path) -> u64 {
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let seed = summary["seed"].as_u64().unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(&format!("seed {seed},")),
        "report.html of another run"
    );
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + summary["options"].as_array().unwrap().len()
    );
    for chart in [
        "nines.svg",
        "nines.png",
        "loss_by_horizon.svg",
        "availability.png",
    ] {
        assert!(out.join(chart).is_file(), "{chart} missing");
    }
    seed
}

#[test]
fn a_kill_at_any_moment_leaves_the_old_set_or_the_new_one() {
    // kill -9 during the write phase left new summary.json beside the
    // previous run's report.html, and 0-byte .tmp*.png files.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = |seed: u64| {
        Command::new(env!("CARGO_BIN_EXE_replisim"))
            .args(["run", "scenarios/lrs.toml", "--trials", "256", "--quiet"])
            // Datacenter fires often enough (5%/year) that every run has
            // an availability chart to write (a run where nothing was ever
            // unavailable draws none).
            .args(["--set", "failures.facility.afr=0.05"])
            .args(["--seed", &seed.to_string(), "--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // A whole run's wall time sets the range of the kill moments.
    let started = std::time::Instant::now();
    assert!(run(1).wait().unwrap().success());
    let whole = started.elapsed();
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..24u32 {
        let seed = 2 + u64::from(i % 2);
        let before = seed_of_set(&out);
        let mut child = run(seed);
        // Up to twice the first run's time: a run slowed by the machine's
        // other load still sees kills after its end.
        std::thread::sleep(whole * (i + 1) / 12);
        let _ = child.kill();
        let _ = child.wait();
        let after = seed_of_set(&out);
        assert!(
            after == before || after == seed,
            "seed {after}: neither set"
        );
        seen.insert(after == seed);
        let temp = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with('.'));
        assert!(temp.is_none(), "a temporary file in the set: {temp:?}");
    }
    // The next run into the same place removes what the kills left beside.
    assert!(run(9).wait().unwrap().success());
    assert_eq!(seed_of_set(&out), 9);
    let beside: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["out"]);
    assert!(
        seen.contains(&true) && seen.contains(&false),
        "kills all too early or too late: {seen:?}"
    );
}

#[test]
fn doubtful_values_are_warned_of_kept_in_the_summary_and_denied_on_request() {
    // `afr = 1.57` (meant 1.57%) ran 1,600x slower, silently; `horizon =
    // "0y"` printed nines; an extent larger than the data became one extent.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "run",
            "scenarios/lrs.toml",
            "--set",
            "failures.disk.afr=1.57",
            "--set",
            "data.extent_size=\"100TB\"",
            "--trials",
            "1",
            "--quiet",
            "--out",
        ];
        a.push(out.to_str().unwrap());
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        replisim(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run(&["--deny-warnings"]);
    refused(
        &o,
        "warning: an afr of 1.57 means 157% of the disks fail each year",
    );
    refused(&o, "in `failures.disk.afr`");
    refused(&o, "in `data.extent_size`");
    // Each is placed at the `--set` that made it, as errors are.
    refused(
        &o,
        " --> scenarios/lrs.toml with --set failures.disk.afr=1.57",
    );
    refused(&o, "2 warnings and --deny-warnings: not run");
    assert!(!out.exists());
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: ") && stderr(&o).contains("in `failures.disk.afr`"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let warnings = summary["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2);
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("data.extent_size: ")
    );
}

#[test]
fn a_warning_in_the_file_keeps_its_line_under_other_sets() {
    // The edited text carries a note per `--set` at its top: a warning
    // placed in it was off by those lines.
    let dir = tempfile::tempdir().unwrap();
    let text = "seed = 1\ntrials = 10\n[failures.disk]\nafr = 1.57\n";
    let file = write(dir.path(), "w.toml", text);
    let sets = ["--set", "trials=20", "--set", "horizon=\"2y\""];
    let mut args = vec!["validate", file.as_str()];
    args.extend(sets);
    let o = replisim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("w.toml:4:7\n"), "{}", stderr(&o));
}

#[test]
fn an_endless_file_and_an_endless_run_are_refused_up_front() {
    // `run /dev/zero` read forever; `--trials 1000000000000` aborted on a
    // 62 GB allocation.
    let started = std::time::Instant::now();
    refused(
        &replisim(&["validate", "/dev/zero"]),
        "the scenario is over 4 MiB",
    );
    let o = replisim(&["run", "--trials", "1000000000000", "--quiet"]);
    refused(&o, "1000000000000 trials would handle about ");
    refused(&o, "pass --yes to run it");
    assert!(started.elapsed().as_secs_f64() < 10.0);
}

#[test]
fn a_write_profile_far_beyond_any_account_is_refused() {
    // A multiplier of 1e11 grew memory by 250 MB/s inside one event.
    let profile = format!("geo_replication.profile=[1e11{}]", ",1".repeat(23));
    let o = replisim(&[
        "run",
        "scenarios/grs.toml",
        "--trials",
        "1",
        "--set",
        &profile,
    ]);
    refused(
        &o,
        "error: a write rate of 100000000000000000 B/s; at most 1 PB/s (a multiplier too large?) (in `geo_replication.profile`)",
    );
}

#[test]
fn analyze_refuses_a_chain_past_its_work_budget() {
    // A 1 µs repair took 3.7 GB and no end in time.
    let text = std::fs::read_to_string("scenarios/exact.toml").unwrap();
    let fast = text.replace("mean = \"1d\" }", "mean = \"1us\" }");
    assert_ne!(fast, text);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "fast.toml", &fast);
    let started = std::time::Instant::now();
    let o = replisim(&["analyze", &file]);
    refused(&o, "over the budget of 1e10 state updates");
    assert!(started.elapsed().as_secs_f64() < 5.0);
}
