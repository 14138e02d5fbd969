//! Sharded runs for clusters: shard K of N simulates a block-aligned range
//! of the trials and saves its sums as a part; `merge` checks that the parts
//! belong together and cover every trial once, and combines them into
//! exactly the summary a single run gives (the sums are exact, so the split
//! does not change a bit).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::trials::shard_range;
use crate::estimate::{Method, RunConfig, RunSums};
use crate::scenario::{self, Scenario};

/// Identifies the file format of a part.
pub const FORMAT: &str = "replisim-part/5";

/// One shard's result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Part {
    pub format: String,
    pub scenario_file: String,
    /// The scenario's full text: parts of different scenarios never merge.
    pub scenario_text: String,
    pub seed: u64,
    /// Trials of the whole run, over all shards.
    pub trials: u64,
    /// [K, N]: this is shard K (0-based) of N.
    pub shard: [u64; 2],
    /// The method asked for (`--method`), which an empty shard's sums
    /// cannot show, and which decides the summary's notes.
    pub method: Method,
    pub sums: RunSums,
}

/// Parses "K/N" (0 ≤ K < N).
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard takes K/N with 0 ≤ K < N (e.g. 0/4), got `{text}`");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// The file name of shard K of N.
pub fn part_file_name(k: u64, n: u64) -> String {
    format!("part-{k}-of-{n}.json")
}

/// Combines parts (each named by its file, for errors) into the sums of the
/// whole run; returns the first part as the run's identity.
pub fn merge(parts: &[(String, Part)]) -> Result<(&Part, RunSums), String> {
    let (first_file, first) = parts.first().ok_or("merge needs at least one part")?;
    let n = first.shard[1];
    if n == 0 {
        return Err(format!("{first_file}: a run of 0 shards"));
    }
    // By shard, in a map: N comes from the file, so nothing of size N is
    // allocated, however large it claims to be.
    let mut by_shard: BTreeMap<u64, &Part> = BTreeMap::new();
    for (file, part) in parts {
        check_same(file, part, first_file, first)?;
        let k = part.shard[0];
        if k >= n {
            return Err(format!("{file}: shard {k} is not below N = {n}"));
        }
        if by_shard.insert(k, part).is_some() {
            return Err(format!("{file}: shard {k}/{n} is given twice"));
        }
        let expected = shard_range(part.trials, k, n);
        let done = part.sums.trials();
        if done != expected.end - expected.start {
            return Err(format!(
                "{file}: shard {k}/{n} holds {done} trials, not {}: it was interrupted; run it again",
                expected.end - expected.start
            ));
        }
    }
    let missing = n - by_shard.len() as u64;
    if missing > 0 {
        return Err(missing_shards(&by_shard, n, missing));
    }
    let mut total = RunSums::default();
    for part in by_shard.into_values() {
        crate::engine::trials::Merge::merge(&mut total, part.sums.clone());
    }
    Ok((first, total))
}

/// Names the first few of the `missing` shards of `n` (found in at most
/// as many steps as parts are given, plus the few named).
fn missing_shards(given: &BTreeMap<u64, &Part>, n: u64, missing: u64) -> String {
    const NAMED: usize = 8;
    let names: Vec<String> = (0..n)
        .filter(|k| !given.contains_key(k))
        .take(NAMED)
        .map(|k| format!("{k}/{n}"))
        .collect();
    let more = missing - names.len() as u64;
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("missing shards: {}{tail}", names.join(", "))
}

/// Parts merged as `merge` reports them: the scenario they ran (from the
/// text they carry), the run's settings and the summed trials, checked to
/// fit that scenario (one set of sums per option, as many trials in each).
pub fn merged(parts: &[(String, Part)]) -> Result<(Scenario, RunConfig, RunSums), String> {
    let (first, sums) = merge(parts)?;
    let s = scenario::from_source(&first.scenario_file, &first.scenario_text)
        .map_err(|e| e.to_string())?;
    sums.check_fits(&s.system, first.trials)?;
    let config = RunConfig {
        seed: first.seed,
        trials: first.trials,
        threads: 0,
        method: first.method,
    };
    Ok((s, config, sums))
}

fn check_same(file: &str, part: &Part, first_file: &str, first: &Part) -> Result<(), String> {
    let differs = |what: &str| {
        Err(format!(
            "{file}: {what} differs from {first_file}'s; these parts are not from one run"
        ))
    };
    if part.format != FORMAT {
        return Err(format!(
            "{file}: not a replisim part (format `{}`, expected `{FORMAT}`)",
            part.format
        ));
    }
    if part.scenario_text != first.scenario_text || part.scenario_file != first.scenario_file {
        return differs("the scenario");
    }
    if part.seed != first.seed {
        return differs("the seed");
    }
    if part.method != first.method {
        return differs("the method (--method)");
    }
    if part.trials != first.trials {
        return differs("the number of trials");
    }
    if part.shard[1] != first.shard[1] {
        return differs("the number of shards N");
    }
    Ok(())
}
