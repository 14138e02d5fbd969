//! `replisim check` and `replisim sweep` as a user runs them: exit codes,
//! what they print and write, and that a sweep point is exactly the run of
//! the scenario with that point's `--set`.

use std::path::Path;
use std::process::{Command, Output};

fn replisim(args: &[&str], out: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_replisim"));
    command.args(args);
    if let Some(out) = out {
        command.arg("--out").arg(out);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// `check scenarios/lrs.toml` with its `[expect]` replaced by `expect`, at
/// 100 trials: the tail check needs at least 25 fleet trials to judge an
/// interval (five of the largest 20%), and below it `check` says not
/// established.
fn check_lrs(expect: &str) -> Output {
    let set = format!("expect={{ LRS = [{expect}] }}");
    let args = ["check", "scenarios/lrs.toml", "--trials", "100", "--quiet"];
    replisim(&[&args[..], &["--set", &set]].concat(), None)
}

#[test]
fn check_exits_0_when_expectations_hold_and_3_when_one_fails() {
    let holds = check_lrs(r#""nines >= 0", "loss <= 100%""#);
    let stdout = text(&holds.stdout);
    assert_eq!(
        holds.status.code(),
        Some(0),
        "{stdout}{}",
        text(&holds.stderr)
    );
    assert!(
        stdout.contains("nines >= 0") && stdout.contains("holds"),
        "{stdout}"
    );
    assert!(stdout.contains("all 2 expectations hold"), "{stdout}");

    let fails = check_lrs(r#""nines >= 0", "nines >= 100""#);
    let stdout = text(&fails.stdout);
    assert_eq!(
        fails.status.code(),
        Some(3),
        "{stdout}{}",
        text(&fails.stderr)
    );
    let line = stdout.lines().find(|l| l.contains("nines >= 100")).unwrap();
    assert!(line.ends_with("FAILS"), "{stdout}");
    assert!(stdout.contains("1 of 2 expectations FAILS"), "{stdout}");
}

#[test]
fn check_without_expectations_is_an_error_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.toml");
    std::fs::write(&file, "options = [\"LRS\"]\n").unwrap();
    let out = replisim(&["check", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no [expect] section"));
}

/// `command scenarios/lrs.toml` at 20 trials, seed 7, with `--set set`,
/// writing to `out`.
fn lrs(command: &str, set: &str, out: &Path) -> Output {
    let args = [
        "scenarios/lrs.toml",
        "--trials",
        "20",
        "--seed",
        "7",
        "--quiet",
    ];
    replisim(
        &[&[command][..], &args, &["--set", set]].concat(),
        Some(out),
    )
}

#[test]
fn a_sweep_point_is_the_run_with_its_set() {
    let dir = tempfile::tempdir().unwrap();
    let swept = dir.path().join("sweep");
    let out = lrs("sweep", "failures.disk.afr=1%,3%", &swept);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(swept.join("sweep.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(swept.join("sweep.csv")).unwrap();
    for (i, afr) in ["1%", "3%"].iter().enumerate() {
        let run = dir.path().join(format!("run{i}"));
        let out = lrs("run", &format!("failures.disk.afr={afr}"), &run);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(json["points"][i]["values"][0], *afr);
        assert_eq!(json["points"][i]["summary"], summary, "point {afr}");
        assert_same_rows(
            &csv,
            afr,
            &std::fs::read_to_string(run.join("summary.csv")).unwrap(),
        );
    }
    let svg = std::fs::read_to_string(swept.join("sweep.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("failures.disk.afr (%)"));
    let png = std::fs::read(swept.join("sweep.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// The sweep.csv rows at `value` are the run's summary.csv rows, preceded by
/// the value and with the nines' interval inserted after `nines`.
fn assert_same_rows(sweep_csv: &str, value: &str, run_csv: &str) {
    let rows = |t: &str| -> Vec<Vec<String>> {
        t.lines()
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let sweep = rows(sweep_csv);
    let at = sweep[0].iter().position(|h| h == "nines_ci95_lo").unwrap();
    let strip = |r: &Vec<String>| -> Vec<String> {
        r.iter()
            .enumerate()
            .filter(|&(k, _)| k != 0 && k != at && k != at + 1)
            .map(|(_, c)| c.clone())
            .collect()
    };
    let run = rows(run_csv);
    assert_eq!(strip(&sweep[0]), run[0], "the header");
    let mine: Vec<_> = sweep[1..]
        .iter()
        .filter(|r| r[0] == value)
        .map(strip)
        .collect();
    assert_eq!(mine, run[1..], "rows at {value}");
}

#[test]
fn a_sweep_over_a_field_that_does_not_exist_says_what_does() {
    let dir = tempfile::tempdir().unwrap();
    let swept = dir.path().join("sweep");
    let out = lrs("sweep", "failures.disk.afrr=1%,2%", &swept);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--set failures.disk.afrr=1%"), "{stderr}");
    assert!(stderr.contains("help: did you mean `afr`?"), "{stderr}");
    assert!(!swept.exists(), "nothing is written for a bad sweep");
}
