//! The README's quick examples run as written and print what it shows: the
//! `validate` example's mistakes and the `sweep` example's table. (The
//! default scenario's `run` and `check` outputs are checked against its
//! committed run in tests/reference_results.rs.)

use std::path::Path;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string("README.md").unwrap()
}

/// The lines after `start` in the README, up to the first line for which
/// `end` holds (not included).
fn lines_after(readme: &str, start: &str, end: impl Fn(&str) -> bool) -> Vec<String> {
    readme
        .lines()
        .skip_while(|l| *l != start)
        .skip(1)
        .take_while(|l| !end(l))
        .map(String::from)
        .collect()
}

fn replisim_in(dir: &Path, args: &[&str]) -> (String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&o.stdout), text(&o.stderr))
}

#[test]
fn the_validate_example_prints_what_the_readme_shows() {
    let readme = readme();
    let file = lines_after(&readme, "$ cat my.toml", |l| l.starts_with("$ "));
    let shown = lines_after(&readme, "$ replisim validate my.toml", |l| l == "```");
    assert!(
        file.len() >= 3 && shown.len() >= 3,
        "the README has the example"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("my.toml"), file.join("\n") + "\n").unwrap();
    let (stdout, stderr) = replisim_in(dir.path(), &["validate", "my.toml"]);
    assert_eq!(stdout, "");
    assert_eq!(stderr.trim_end(), shown.join("\n"));
}

#[test]
fn the_sweep_example_prints_the_table_the_readme_shows() {
    let readme = readme();
    let command =
        "$ replisim sweep scenarios/zrs.toml --set failures.disk.afr=1%,2%,4% --trials 1000";
    let shown = lines_after(&readme, command, |l| l == "```");
    let table: Vec<&String> = shown
        .iter()
        .skip_while(|l| !l.starts_with("failures.disk.afr  option"))
        .take_while(|l| !l.is_empty() && !l.starts_with("wrote "))
        .collect();
    assert_eq!(table.len(), 7, "a header and six rows: {shown:?}");
    // Run where the scenario is `scenarios/zrs.toml`, as in the README, so
    // that its results go to a scratch folder.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("scenarios")).unwrap();
    std::fs::copy("scenarios/zrs.toml", dir.path().join("scenarios/zrs.toml")).unwrap();
    let args: Vec<&str> = command.split_whitespace().skip(2).collect();
    let (stdout, stderr) = replisim_in(dir.path(), &args);
    let printed: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    let table: Vec<&str> = table.iter().map(|l| l.as_str()).collect();
    assert_eq!(printed, table, "{stderr}");
    let wrote = shown.iter().find(|l| l.starts_with("wrote ")).unwrap();
    assert!(stderr.contains(wrote.as_str()), "{stderr}");
}
