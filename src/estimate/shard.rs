//! Sharded runs for clusters: shard K of N simulates a block-aligned range
//! of the trials and saves its sums as a part; `merge` checks that the parts
//! belong together and cover every trial once, and combines them into
//! exactly the summary a single run gives (the sums are exact, so the split
//! does not change a bit).

use serde::{Deserialize, Serialize};

use crate::engine::trials::shard_range;
use crate::estimate::RunSums;

/// Identifies the file format of a part.
pub const FORMAT: &str = "replisim-part/3";

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
    let mut by_shard: Vec<Option<&Part>> = vec![None; n as usize];
    for (file, part) in parts {
        check_same(file, part, first_file, first)?;
        let k = part.shard[0];
        let slot = by_shard
            .get_mut(k as usize)
            .ok_or_else(|| format!("{file}: shard {k} is not below N = {n}"))?;
        if slot.replace(part).is_some() {
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
    let missing: Vec<String> = (0..n)
        .filter(|&k| by_shard[k as usize].is_none())
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing shards: {}", missing.join(", ")));
    }
    let mut total = RunSums::default();
    for part in by_shard.into_iter().flatten() {
        crate::engine::trials::Merge::merge(&mut total, part.sums.clone());
    }
    Ok((first, total))
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
    if part.sums.method() != first.sums.method() {
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
