//! `[replay]`: failures replayed from a CSV. The traced trial of a pure
//! replay holds exactly the CSV's failures (the trace equals the file);
//! the CSV's contents are part of the scenario's text, so a run is rebuilt
//! from its text alone and a changed file is a different run; a bad row is
//! refused naming the CSV's line and column.

use std::path::Path;
use std::process::Command;

use replisim::model::trace::What;
use replisim::model::{FaultKind, Level};
use replisim::report::trace::{self, TraceRequest};
use replisim::scenario;

/// A small fleet; disk failures on unless `random = false`.
const SCENARIO: &str = "start = \"new\"\noptions = [\"LRS\"]\n\
[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n\
[data]\nsize = \"10GB\"\n[failures.disk]\nafr = 0.5\n\
[replay]\nfile = \"failures.csv\"\nrandom = false\n";

const CSV: &str = "time,level,component,kind,duration\n\
1d,disk,3,destroyed,\n\
86400,node,5,down,6h\n\
30d,rack,2,destroyed,2d\n\
100.5d,disk,40,down,1h\n";

/// The scenario and its CSV in a fresh directory; returns the scenario path.
fn files(csv: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("failures.csv"), csv).unwrap();
    let file = dir.path().join("replay.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    (dir, file)
}

/// (time µs, level, component, destroyed) of each CSV row, as written.
fn rows(csv: &str) -> Vec<(u64, Level, u32, bool)> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            let at = match c[0].parse::<f64>() {
                Ok(s) => (s * 1e6) as u64,
                Err(_) => replisim::units::parse_duration(c[0]).unwrap(),
            };
            let level = Level::parse(c[1]).unwrap();
            (at, level, c[2].parse().unwrap(), c[3] == "destroyed")
        })
        .collect()
}

/// The trace of trial 0, every event of it.
fn first_trial(s: &scenario::Scenario) -> trace::Trace {
    let request = TraceRequest {
        seed: s.seed,
        trial: 0,
        option: None,
        all: true,
    };
    trace::trace(s, &request).unwrap()
}

#[test]
fn a_pure_replay_traces_exactly_the_failures_of_the_csv() {
    let (_dir, file) = files(CSV);
    let s = scenario::load(&file).unwrap();
    assert!(s.system.failures.is_empty(), "random = false");
    let t = first_trial(&s);
    let traced: Vec<(u64, Level, u32, bool)> = t
        .events
        .iter()
        .filter_map(|e| match &e.what {
            What::Destroyed {
                level, component, ..
            } => Some((e.at, *level, *component, true)),
            What::Down {
                level, component, ..
            } => Some((e.at, *level, *component, false)),
            _ => None,
        })
        .collect();
    assert_eq!(traced, rows(CSV));
    // The durations of the file: down for 6 h, replaced after 2 d or the
    // disk's default day.
    let kinds: Vec<FaultKind> = s.system.faults.iter().map(|f| f.kind).collect();
    let (h, d) = (3_600_000_000, 86_400_000_000);
    assert_eq!(
        kinds,
        [
            FaultKind::Destroyed { replace: d },
            FaultKind::Down { duration: 6 * h },
            FaultKind::Destroyed { replace: 2 * d },
            FaultKind::Down { duration: h },
        ]
    );
}

/// `replisim trace` of the pure replay: the destroyed and down events of
/// its trace.json are the CSV's rows, in order.
#[test]
fn the_trace_command_writes_the_csv_back() {
    let (dir, file) = files(CSV);
    let out = dir.path().join("trace");
    let result = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["trace", file.to_str().unwrap(), "--all", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(result.status.success(), "{result:?}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trace.json")).unwrap()).unwrap();
    let traced: Vec<String> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "destroyed" || e["kind"] == "down")
        .map(|e| {
            format!(
                "{},{},{},{}",
                e["at"],
                e["level"].as_str().unwrap(),
                e["component"],
                e["kind"].as_str().unwrap()
            )
        })
        .collect();
    let written: Vec<String> = rows(CSV)
        .iter()
        .map(|&(at, level, c, destroyed)| {
            let kind = if destroyed { "destroyed" } else { "down" };
            format!("{at},{},{c},{kind}", level.name())
        })
        .collect();
    assert_eq!(traced, written);
}

#[test]
fn the_text_carries_the_csv_so_it_alone_rebuilds_the_run() {
    let (dir, file) = files(CSV);
    let s = scenario::load(&file).unwrap();
    assert!(s.text.starts_with(SCENARIO));
    assert!(s.text.contains("[replay.recorded]"));
    // Without the file (a part merged elsewhere), the text is enough.
    std::fs::remove_file(dir.path().join("failures.csv")).unwrap();
    let again = scenario::from_source(&s.file, &s.text).unwrap();
    assert_eq!(again.text, s.text);
    assert_eq!(again.system.faults, s.system.faults);
    // Another file, another text: parts of the two never merge.
    let changed = CSV.replace("6h", "7h");
    std::fs::write(dir.path().join("failures.csv"), &changed).unwrap();
    assert_ne!(scenario::load(&file).unwrap().text, s.text);
    // On top of the random processes when `random` is left on.
    let on = SCENARIO.replace("random = false\n", "");
    std::fs::write(&file, on).unwrap();
    let s = scenario::load(&file).unwrap();
    assert_eq!(s.system.failures.len(), 1);
    assert_eq!(s.system.faults.len(), 4);
}

/// `replisim run` of the scenario: its stderr.
fn refused(csv: Option<&str>) -> String {
    let (dir, file) = files(csv.unwrap_or(""));
    if csv.is_none() {
        std::fs::remove_file(dir.path().join("failures.csv")).unwrap();
    }
    let out = dir.path().join("out");
    let result = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["run", file.to_str().unwrap(), "--trials", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!result.status.success());
    assert!(!Path::new(&out).exists());
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("replay.toml:"), "{stderr}");
    stderr
}

#[test]
fn a_bad_row_or_a_missing_file_is_refused_naming_the_csv_line() {
    let bad = [
        (
            CSV.replace("86400,node,5", "86400,node,999"),
            "failures.csv:3:12:",
            "not a component",
        ),
        (
            CSV.replace("30d,rack", "30x,rack"),
            "failures.csv:4:1:",
            "30x",
        ),
        (
            CSV.replace("down,1h", "sideways,1h"),
            "failures.csv:5:16:",
            "unknown kind",
        ),
        (
            CSV.replace("down,6h", "down,"),
            "failures.csv:3:14:",
            "needs a `duration`",
        ),
        (
            CSV.replace("1d,disk,3,destroyed,", "1d,disk,3"),
            "failures.csv:2:1:",
            "3 cells",
        ),
        (CSV.replace("time,", "when,"), "failures.csv:1:1:", "header"),
        (
            CSV.replace("100.5d", "2y"),
            "failures.csv:5:1:",
            "after the horizon",
        ),
    ];
    for (csv, at, says) in bad {
        let stderr = refused(Some(&csv));
        assert!(
            stderr.contains(at) && stderr.contains(says),
            "{at} {says}: {stderr}"
        );
        assert!(stderr.contains("replay.file"), "{stderr}");
    }
    let stderr = refused(None);
    assert!(stderr.contains("cannot read the failure trace"), "{stderr}");
}

/// A link is replayed as a `[[fault]]` on it: named by one of its regions,
/// only ever down; the trace shows it down at the row's time.
#[test]
fn a_link_row_takes_the_link_down_and_only_down() {
    let csv = "time,level,component,kind,duration\n2d,link,1,down,30m\n";
    let (_dir, file) = files(csv);
    let s = scenario::load(&file).unwrap();
    let t = first_trial(&s);
    let downs: Vec<u64> = t
        .events
        .iter()
        .filter(|e| matches!(e.what, What::LinkDown { .. }))
        .map(|e| e.at)
        .collect();
    assert_eq!(downs, [2 * 86_400_000_000]);
    let destroyed = refused(Some(&csv.replace("down,30m", "destroyed,")));
    assert!(destroyed.contains("failures.csv:2:"), "{destroyed}");
    assert!(
        destroyed.contains("a link can only be `down`"),
        "{destroyed}"
    );
    let no_region = refused(Some(&csv.replace("link,1", "link,2")));
    assert!(no_region.contains("failures.csv:2:9:"), "{no_region}");
}
