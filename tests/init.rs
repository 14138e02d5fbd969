//! `replisim init`: the starter scenario writes every field at its default,
//! so it is the same system as an empty file, and the command refuses what
//! it should (an unknown option, an existing file) with nothing written.

use std::process::{Command, Output};

use replisim::scenario;

fn replisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(args)
        .output()
        .unwrap()
}

fn four() -> Vec<String> {
    ["LRS", "ZRS", "GRS", "GZRS"].map(String::from).to_vec()
}

#[test]
fn the_starter_is_the_system_of_an_empty_file() {
    let starter = scenario::from_source("init.toml", &scenario::starter("mine", &four())).unwrap();
    let empty = scenario::from_source("empty.toml", "").unwrap();
    // Every figure the starter writes is the default it claims to be.
    assert_eq!(
        format!("{:?}", starter.system),
        format!("{:?}", empty.system)
    );
    assert_eq!((starter.seed, starter.trials), (empty.seed, empty.trials));
    assert_eq!(starter.name, "mine");
    assert!(starter.warnings.is_empty() && starter.expectations.is_empty());
}

#[test]
fn init_writes_a_valid_file_and_keeps_an_existing_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cluster.toml");
    let path = file.to_str().unwrap();
    let o = replisim(&["init", path, "--option", "LRS", "--option", "GRS"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("name = \"cluster\"") && text.contains("options = [\"LRS\", \"GRS\"]"));
    let s = scenario::load(&file).unwrap();
    let names: Vec<&str> = s.system.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["LRS", "GRS"]);
    // Not over an existing file, unless asked.
    std::fs::write(&file, "seed = 7\n").unwrap();
    let o = replisim(&["init", path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "seed = 7\n");
    assert!(replisim(&["init", path, "--force"]).status.success());
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("[failover]")
    );
}

#[test]
fn an_unknown_option_is_refused_with_the_loaders_message_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.toml");
    let o = replisim(&[
        "init",
        file.to_str().unwrap(),
        "--option",
        "ZRS",
        "--option",
        "GZR",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unknown option `GZR`"), "{stderr}");
    assert!(stderr.contains("did you mean `GZRS`?"), "{stderr}");
    assert!(!file.exists());
    // On stdout, the same text as the file.
    let o = replisim(&["init", "-"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        scenario::starter("my-scenario", &four())
    );
}
