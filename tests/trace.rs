//! `replisim trace`: the traced trial is the trial `run` simulates, its
//! events add up to the trial's outcome, tracing is repeatable to the byte,
//! and bad requests are refused with a clear message.

use std::path::Path;
use std::process::Command;

use replisim::model::trace::What;
use replisim::model::world::Plan;
use replisim::report::trace::{self, Trace, TraceRequest};
use replisim::scenario::{self, Scenario};

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A facility burns on day 100: losses, failovers and many repairs.
fn fire() -> Scenario {
    scenario::load(Path::new("scenarios/facility-fire.toml")).expect("a valid scenario")
}

fn request(s: &Scenario, trial: u64) -> TraceRequest {
    TraceRequest {
        seed: s.seed,
        trial,
        option: None,
        all: false,
    }
}

/// Per option, (extents lost, copies destroyed, copies re-created) as the
/// events tell them.
fn counted(t: &Trace) -> Vec<(u32, u64, u64)> {
    let mut per = vec![(0, 0, 0); t.options.len()];
    for e in &t.events {
        match &e.what {
            What::Lost { option, .. } => per[*option as usize].0 += 1,
            What::Destroyed { copies, .. } => {
                for (k, &n) in copies.iter().enumerate() {
                    per[k].1 += u64::from(n);
                }
            }
            What::Recreated { option, .. } => per[*option as usize].2 += 1,
            _ => {}
        }
    }
    per
}

#[test]
fn the_trace_adds_up_to_the_trial_run_simulates() {
    let s = fire();
    for trial in [0, 5] {
        let t = trace::trace(&s, &request(&s, trial)).unwrap();
        let plan = Plan::new(&s.system, s.seed).unwrap();
        let run = plan.run_trial(trial);
        let told: Vec<(u32, u64, u64)> = run
            .options
            .iter()
            .map(|o| (o.lost_extents, o.copies_destroyed, o.copies_repaired))
            .collect();
        assert_eq!(counted(&t), told, "trial {trial}");
        let tallied: Vec<(u32, u64, u64)> = t
            .outcome
            .iter()
            .map(|o| (o.lost_extents, o.copies_destroyed, o.copies_repaired))
            .collect();
        assert_eq!(tallied, told);
        assert!(
            t.events.windows(2).all(|w| w[0].at <= w[1].at),
            "in time order"
        );
    }
    let t = trace::trace(&s, &request(&s, 0)).unwrap();
    assert!(counted(&t)[0].0 > 0, "the fire loses LRS data in trial 0");
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e.what, What::Failover { .. })),
        "and fails GRS over"
    );
}

#[test]
fn tracing_twice_gives_the_same_bytes() {
    let s = fire();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut texts = Vec::new();
    for dir in &dirs {
        let req = request(&s, 0);
        let t = trace::trace(&s, &req).unwrap();
        texts.push(trace::text(&s.system, &t, &req));
        let written = trace::write(&s.system, &t, None, dir.path()).unwrap();
        assert_eq!(written.len(), 3);
    }
    assert_eq!(texts[0], texts[1]);
    for name in ["trace.json", "trace.svg", "trace.png"] {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join(name)).unwrap();
        assert_eq!(read(&dirs[0]), read(&dirs[1]), "{name}");
    }
    let png = std::fs::read(dirs[0].path().join("trace.png")).unwrap();
    assert!(png.starts_with(PNG_MAGIC));
    let svg = std::fs::read_to_string(dirs[0].path().join("trace.svg")).unwrap();
    assert!(svg.trim_start().starts_with("<svg") && svg.contains("</svg>"));
    let json = std::fs::read_to_string(dirs[0].path().join("trace.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format"], "replisim-trace/1");
}

#[test]
fn the_text_tells_the_story_and_filters_by_option() {
    let s = fire();
    let mut req = request(&s, 0);
    let t = trace::trace(&s, &req).unwrap();
    let text = trace::text(&s.system, &t, &req);
    assert!(text.contains("day 101 00:00:00  facility westeurope/1/1 destroyed"));
    assert!(text.contains("LRS 3271 extents LOST"), "{text}");
    req.option = Some(trace::option_index(&s.system, "grs").unwrap());
    let grs = trace::text(&s.system, &t, &req);
    assert!(grs.contains("GRS account:") && !grs.contains("RA-GRS account:"));
    assert!(!grs.contains("LRS 3271"));
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let s = fire();
    let beyond = trace::trace(&s, &request(&s, s.trials)).unwrap_err();
    assert!(beyond.contains("beyond"), "{beyond}");
    let unknown = trace::option_index(&s.system, "XRS").unwrap_err();
    assert!(unknown.contains("LRS, ZRS"), "{unknown}");

    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_replisim"))
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &[
            "trace",
            "scenarios/facility-fire.toml",
            "--trial",
            "99999999",
        ][..],
        &["trace", "scenarios/facility-fire.toml", "--option", "XRS"][..],
    ] {
        let out = cli(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
