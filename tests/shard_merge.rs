//! A run split into shards and merged gives exactly the bytes of one run;
//! parts that do not belong together are refused with a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SCENARIO: &str = r#"
name = "sharded"
seed = 3
options = ["LRS", "ZRS", "GZRS"]
[topology]
racks_per_facility = 4
nodes_per_rack = 2
disks_per_node = 2
[data]
size = "100GB"
[failures.disk]
afr = 2.0
[failures.facility]
afr = 0.3
[outages.zone]
rate = 3.0
duration = { dist = "lognormal", median = "2h", sigma = 1.0 }
[outages.link]
rate = 12
duration = "20m"
[[fault]]
at = "100d"
level = "region"
target = "westeurope"
kind = "down"
duration = "5h"
"#;

fn replisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: Output) -> Output {
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{err}");
    output
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes the scenario and returns (dir, scenario path).
fn setup(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sharded.toml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

fn shard(file: &Path, k_of_n: &str, out: &Path, seed: &str) -> PathBuf {
    ok(replisim(&[
        "run",
        s(file),
        "--trials",
        "1000",
        "--seed",
        seed,
        "--shard",
        k_of_n,
        "--out",
        s(out),
    ]));
    let (k, n) = k_of_n.split_once('/').unwrap();
    out.join(format!("part-{k}-of-{n}.json"))
}

#[test]
fn three_shards_merged_equal_one_run() {
    let (dir, file) = setup(SCENARIO);
    let whole = dir.path().join("whole");
    ok(replisim(&[
        "run",
        s(&file),
        "--trials",
        "1000",
        "--out",
        s(&whole),
    ]));
    let parts = dir.path().join("parts");
    let files: Vec<PathBuf> = ["2/3", "0/3", "1/3"]
        .iter()
        .map(|k| shard(&file, k, &parts, "3"))
        .collect();
    let merged = dir.path().join("merged");
    let mut args = vec!["merge", "--out", s(&merged)];
    args.extend(files.iter().map(|f| s(f)));
    ok(replisim(&args));
    let read = |d: &Path| std::fs::read(d.join("summary.json")).unwrap();
    assert_eq!(
        read(&whole),
        read(&merged),
        "merged shards differ from one run"
    );
    let text = String::from_utf8(read(&whole)).unwrap();
    assert!(
        text.contains("\"upper_bound_only\": false"),
        "the run should see losses: {text}"
    );
    assert!(
        text.contains("\"rto_seconds\": {") && text.contains("\"p99.9\""),
        "the run should see failovers: {text}"
    );
}

fn merge_error(files: &[PathBuf], out: &Path) -> String {
    let mut args = vec!["merge", "--out", s(out)];
    args.extend(files.iter().map(|f| s(f)));
    let output = replisim(&args);
    assert!(!output.status.success());
    assert!(
        !out.join("summary.json").exists(),
        "no result from a refused merge"
    );
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn merge_refuses_parts_that_do_not_belong_together() {
    let (dir, file) = setup(SCENARIO);
    let a = dir.path().join("a");
    let p0 = shard(&file, "0/2", &a, "3");
    let p1 = shard(&file, "1/2", &a, "3");
    let other_seed = shard(&file, "1/2", &dir.path().join("b"), "4");
    let out = dir.path().join("out");
    let err = merge_error(&[p0.clone(), other_seed], &out);
    assert!(err.contains("the seed differs"), "{err}");

    let (_keep, changed) = setup(&SCENARIO.replace("afr = 2.0", "afr = 2.5"));
    let other_scenario = shard(&changed, "1/2", &dir.path().join("c"), "3");
    let err = merge_error(&[p0.clone(), other_scenario], &out);
    assert!(err.contains("the scenario differs"), "{err}");

    let plain = dir.path().join("d");
    ok(replisim(&[
        "run",
        s(&file),
        "--trials",
        "1000",
        "--seed",
        "3",
        "--shard",
        "1/2",
        "--method",
        "plain",
        "--out",
        s(&plain),
    ]));
    let err = merge_error(&[p0.clone(), plain.join("part-1-of-2.json")], &out);
    assert!(err.contains("the method (--method) differs"), "{err}");

    let err = merge_error(std::slice::from_ref(&p0), &out);
    assert!(err.contains("missing shards: 1/2"), "{err}");
    let err = merge_error(&[p0.clone(), p0.clone(), p1], &out);
    assert!(err.contains("given twice"), "{err}");
}

#[test]
fn bad_shard_arguments_are_errors() {
    let (_dir, file) = setup(SCENARIO);
    for bad in ["3/3", "1", "a/b", "0/0"] {
        let output = replisim(&["run", s(&file), "--shard", bad, "--trials", "10"]);
        assert!(!output.status.success());
        let err = String::from_utf8(output.stderr).unwrap();
        assert!(err.contains("--shard takes K/N"), "{err}");
    }
}

#[test]
fn ctrl_c_stops_cleanly_and_writes_a_partial_result() {
    let (dir, file) = setup(SCENARIO);
    let out = dir.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args([
            "run",
            s(&file),
            "--trials",
            "100000000",
            "--threads",
            "1",
            "--yes",
            "--out",
            s(&out),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "an interrupted run exits non-zero"
    );
    assert!(err.contains("interrupted"), "{err}");
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(json.contains("\"partial\": true"), "{json}");
    assert!(!json.contains("\"trials\": 100000000"), "{json}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("PARTIAL"));
}
