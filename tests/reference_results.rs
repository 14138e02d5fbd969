//! Every bundled scenario, run at its own seed and trial count, reproduces
//! its committed results/<name>/summary.json byte for byte. When the model
//! changes on purpose, regenerate them (see README) and review the diff.
//! The expectations of each scenario's `[expect]` section hold for them.

use std::path::Path;

use replisim::estimate::{Method, RunConfig, Summary, estimate};
use replisim::report::{self, expect};
use replisim::scenario;

mod common;
use common::bundled_scenarios as bundled;

/// The scenario's own seed and trials, as `replisim run FILE` uses them.
fn config(s: &scenario::Scenario) -> RunConfig {
    RunConfig {
        seed: s.seed,
        trials: s.trials,
        threads: 0,
        method: Method::RareEvent,
    }
}

#[test]
fn bundled_scenarios_meet_their_expectations_and_reproduce_their_committed_results() {
    for file in bundled() {
        let s = scenario::load(&file).unwrap();
        let summary = estimate(&s, config(&s)).unwrap();
        assert_expectations_hold(&file, &s, &summary);
        assert_readme_shows(&s, &summary);
        let produced = report::json(&summary).unwrap();
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

/// The expectations shipped in a bundled scenario hold for the results it
/// produces: each file pins what a regression should catch.
fn assert_expectations_hold(file: &Path, s: &scenario::Scenario, summary: &Summary) {
    assert!(
        !s.expectations.is_empty(),
        "{} has no [expect] section",
        file.display()
    );
    for o in expect::evaluate(&s.expectations, summary) {
        assert_ne!(
            o.verdict,
            expect::Verdict::Fails,
            "{}: {} `{}` fails: measured {:?}",
            file.display(),
            o.expectation.option,
            o.expectation.text,
            o.measured
        );
    }
}

/// The README's example outputs of a bundled scenario are what the code
/// prints for it: `run`'s table and `check`'s verdicts of the default, and
/// the rows it quotes of region-disaster's service table.
fn assert_readme_shows(s: &scenario::Scenario, summary: &Summary) {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let table = report::table(summary);
    match s.name.as_str() {
        "default" => {
            assert!(
                readme.contains(&table),
                "README's `replisim run` example is not what run prints now:\n{table}"
            );
            let verdicts = expect::table(&expect::evaluate(&s.expectations, summary));
            assert!(
                readme.contains(&verdicts),
                "README's `replisim check` example is not what check prints now:\n{verdicts}"
            );
        }
        "region-disaster" => {
            let quoted = fenced_block_from(&readme, "option   read avail");
            assert!(quoted.len() >= 3, "README quotes region-disaster's rows");
            for line in quoted {
                assert!(
                    table.lines().any(|l| l == line),
                    "README's region-disaster row is not in the table now: {line}\n{table}"
                );
            }
        }
        _ => {}
    }
}

/// The lines of the README's fenced block whose first line starts with
/// `first`, up to its closing fence.
fn fenced_block_from<'a>(readme: &'a str, first: &str) -> Vec<&'a str> {
    readme
        .lines()
        .skip_while(|l| !l.starts_with(first))
        .take_while(|l| !l.starts_with("```"))
        .collect()
}
