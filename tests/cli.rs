//! The command line's conventions: examples and exit codes in `--help`,
//! `-` for stdout, data on stdout and status on stderr, JSON for scripts,
//! completions, and counts in good grammar.

use std::process::{Command, Output};

fn replisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every subcommand, as the top-level help lists them (so that a new one
/// is held to the same conventions without being added here).
fn commands() -> Vec<String> {
    let help = text(&replisim(&["--help"]).stdout);
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_default();
    let names: Vec<String> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&n| n != "help")
        .map(String::from)
        .collect();
    for known in ["run", "validate", "regions", "completions"] {
        assert!(names.iter().any(|n| n == known), "{known}: {help}");
    }
    names
}

#[test]
fn every_command_has_examples_in_its_help() {
    for command in commands() {
        let o = replisim(&[&command, "--help"]);
        assert!(o.status.success(), "{command}");
        let help = text(&o.stdout);
        assert!(help.contains("Examples:\n  replisim "), "{command}: {help}");
    }
}

#[test]
fn the_exit_codes_are_in_the_help() {
    let help = text(&replisim(&["--help"]).stdout);
    for code in ["0 ", "1 ", "2 ", "3 ", "130 "] {
        assert!(help.contains(&format!("\n  {code}")), "{code}: {help}");
    }
    let help = text(&replisim(&["check", "--help"]).stdout);
    assert!(
        help.contains("3    an expectation fails, or is not established"),
        "{help}"
    );
}

#[test]
fn json_to_dash_is_stdout_and_the_table_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = replisim(&[
        "run",
        "scenarios/exact.toml",
        "--trials",
        "20",
        "--threads",
        "1",
        "--quiet",
        "--json",
        "-",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let parsed: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is the JSON alone");
    assert_eq!(parsed["trials"], 20);
    assert_eq!(
        stdout,
        std::fs::read_to_string(out.join("summary.json")).unwrap()
    );
    assert!(!dir.path().join("-").exists() && !std::path::Path::new("-").exists());
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("scenario exact: 20 trials of 1 year"),
        "{stderr}"
    );
    assert!(
        stderr.contains("wrote ")
            && (stderr.contains("on 1 thread\n") || stderr.contains("on 1 thread, peak memory")),
        "{stderr}"
    );
}

#[test]
fn validate_takes_set_and_speaks_json() {
    let o = replisim(&[
        "validate",
        "scenarios/exact.toml",
        "--set",
        "topology.zones=2",
    ]);
    assert_eq!(o.status.code(), Some(1), "ZRS needs 3 zones");
    assert!(text(&o.stderr).contains("--set topology.zones=2"));
    let o = replisim(&["validate", "scenarios/exact.toml", "--format", "json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["valid"], true);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "seed = \"x\"\n[topology]\nzonez = 3\n").unwrap();
    let o = replisim(&["validate", bad.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["valid"], false);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{v}");
    assert_eq!(errors[1]["line"], 3);
    assert_eq!(errors[1]["field"], "topology.zonez");
    assert_eq!(errors[1]["help"], "did you mean `zones`?");
}

#[test]
fn validate_counts_in_good_grammar() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.toml");
    std::fs::write(
        &one,
        "options = [\"LRS\"]\n[data]\nsize = \"1GB\"\n[expect]\nLRS = [\"nines >= 1\"]\n",
    )
    .unwrap();
    let o = replisim(&["validate", one.to_str().unwrap()]);
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("valid (1 option, 25920 disks, 1 extent per option, 1 expectation)"),
        "{stdout}"
    );
}

#[test]
fn check_speaks_json() {
    let o = replisim(&[
        "check",
        "scenarios/exact.toml",
        "--trials",
        "50",
        "--quiet",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["trials"], 50);
    let verdicts = v["expectations"].as_array().unwrap();
    assert!(!verdicts.is_empty());
    assert!(verdicts.iter().all(|e| e["verdict"].is_string()));
    assert_eq!(
        o.status.code(),
        Some(if v["holds"] == true { 0 } else { 3 })
    );
}

#[test]
fn analyze_takes_set_and_lists_every_blocker_at_once() {
    let o = replisim(&["analyze", "scenarios/default.toml"]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = text(&o.stderr);
    for field in [
        "in `detection`",
        "in `repair.time`",
        "in `failures.region.replace`",
    ] {
        assert!(stderr.contains(field), "{field}: {stderr}");
    }
    assert!(stderr.contains("each of these"), "{stderr}");
    let base = replisim(&["analyze", "scenarios/exact.toml", "--format", "json"]);
    let set = replisim(&[
        "analyze",
        "scenarios/exact.toml",
        "--format",
        "json",
        "--set",
        "failures.disk.afr=3%",
    ]);
    assert!(base.status.success() && set.status.success());
    let p = |o: &Output| -> f64 {
        let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
        v[1]["loss_probability"].as_f64().unwrap()
    };
    assert!(p(&set) > p(&base), "a higher disk AFR loses more");
}

#[test]
fn analyze_says_on_stderr_that_a_customer_key_is_not_in_the_chain() {
    let args = ["analyze", "scenarios/exact.toml", "--format", "json"];
    let base = replisim(&args);
    let keyed = replisim(
        &[
            &args[..],
            &[
                "--set",
                "keys.manager=customer",
                "--set",
                "keys.loss_rate=2e-3",
            ],
        ]
        .concat(),
    );
    assert!(keyed.status.success(), "{}", text(&keyed.stderr));
    // The chain is of the copies: the same figures, and stdout still JSON.
    assert_eq!(text(&keyed.stdout), text(&base.stdout));
    assert!(!text(&base.stderr).contains("[keys]"));
    let note = text(&keyed.stderr);
    // 1 - e^-0.002 over the one-year horizon, as the run's table shows it.
    assert!(
        note.contains("note: [keys]") && note.contains("P = 2.00e-3,"),
        "{note}"
    );
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef replisim"),
        ("fish", "complete -c replisim"),
    ] {
        let o = replisim(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let script = text(&o.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("validate"), "{shell}");
    }
    assert_eq!(replisim(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn regions_speaks_json_with_what_the_table_shows() {
    let o = replisim(&["regions", "--format", "json"]);
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let catalog = replisim::scenario::catalog::catalog();
    assert_eq!(v["source"], catalog.source.as_str());
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), catalog.regions.len());
    let brazil = regions.iter().find(|r| r["name"] == "brazilsouth").unwrap();
    assert_eq!(brazil["pair"], "southcentralus");
    assert_eq!(
        brazil["remarks"],
        serde_json::json!(["one-way pair", "pair in another geography"])
    );
    let table = text(&replisim(&["regions"]).stdout);
    assert!(
        table.contains(&format!("{} regions. Source:", regions.len())),
        "{table}"
    );
}
