//! Support-assisted recovery under Customer Lockbox (`[access]`) against
//! exact answers: with a fixed approval delay A, no request delay and no
//! denial, a scripted failover's RTO grows by exactly A, and `trace` lists
//! one audit line for one grant of length G. Without `[access]` nothing
//! changes (the bundled results, reference_results.rs).

use std::process::Command;

use replisim::estimate::{Method, RunConfig, Summary, estimate};
use replisim::scenario;

/// A small fleet without disk failures; the primary region down 12 hours at
/// day 30, so GRS fails over once (after the customer's hour and the hour
/// of the switch: an RTO of 2 h without `[access]`).
const BASE: &str = "start = \"new\"\noptions = [\"LRS\", \"GRS\"]\n\
[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n\
[data]\nsize = \"10GB\"\n[failures.disk]\nafr = 0\n\
[[fault]]\nat = \"30d\"\nlevel = \"region\"\ntarget = \"westeurope\"\nkind = \"down\"\nduration = \"12h\"\n";

fn run(text: &str) -> Summary {
    let s = scenario::from_source("lockbox.toml", text).unwrap();
    let config = RunConfig {
        seed: 7,
        trials: 4,
        threads: 0,
        method: Method::RareEvent,
    };
    estimate(&s, config).unwrap()
}

/// GRS's mean RTO, seconds.
fn grs_rto_seconds(summary: &Summary) -> f64 {
    let grs = &summary.options[1];
    let rto = grs.failover.as_ref().unwrap().rto_seconds.as_ref();
    rto.expect("GRS failed over").mean
}

#[test]
fn a_fixed_approval_delay_adds_exactly_itself_to_the_rto() {
    let without = grs_rto_seconds(&run(BASE));
    assert_eq!(without, 2.0 * 3600.0);
    for (approval_hours, grant_hours) in [(3, 8), (1, 2), (10, 24)] {
        let text = format!(
            "{BASE}[access]\nrequest = \"0s\"\napproval = \"{approval_hours}h\"\ngrant = \"{grant_hours}h\"\n"
        );
        let with = grs_rto_seconds(&run(&text));
        assert_eq!(with - without, approval_hours as f64 * 3600.0);
    }
}

#[test]
fn trace_lists_one_grant_of_its_length() {
    let dir = std::env::temp_dir().join(format!("replisim-lockbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lockbox.toml");
    let text = format!("{BASE}[access]\nrequest = \"0s\"\napproval = \"3h\"\ngrant = \"8h\"\n");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["trace", file.to_str().unwrap(), "--option", "GRS", "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit: Vec<&str> = stdout.lines().filter(|l| l.contains("AUDIT")).collect();
    assert_eq!(audit.len(), 1, "{stdout}");
    assert!(
        audit[0].contains("granted to Microsoft operators for 8h"),
        "{}",
        audit[0]
    );
    assert!(audit[0].contains("approved after 3h"), "{}", audit[0]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_access_fields_are_named() {
    for (field, bad) in [
        ("denial", "denial = 1.5"),
        ("recoveries", "recoveries = [\"restore\"]"),
        ("max_denials", "max_denials = 1000"),
    ] {
        let text = format!("{BASE}[access]\n{bad}\n");
        let e = scenario::from_source("lockbox.toml", &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("access.{field}")), "{e}");
    }
}
