//! Every bundled scenario, run at its own seed and trial count, reproduces
//! its committed results/<name>/summary.json byte for byte. When the model
//! changes on purpose, regenerate them (see README) and review the diff.

use std::path::Path;

use replisim::estimate::{Method, RunConfig, estimate};
use replisim::{report, scenario};

#[test]
fn bundled_scenarios_reproduce_their_committed_results() {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the bundled scenarios, found {files:?}"
    );
    for file in files {
        let s = scenario::load(&file).unwrap();
        let config = RunConfig {
            seed: s.seed,
            trials: s.trials,
            threads: 0,
            method: Method::RareEvent,
        };
        let produced = report::json(&estimate(&s, config).unwrap()).unwrap();
        let committed = Path::new("results").join(&s.name).join("summary.json");
        let expected = std::fs::read_to_string(&committed)
            .unwrap_or_else(|e| panic!("{}: {e}", committed.display()));
        assert!(
            produced == expected,
            "{} no longer reproduces {}; regenerate with the README's command and review the diff",
            file.display(),
            committed.display()
        );
    }
}
