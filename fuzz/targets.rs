//! The fuzz targets: what a user can feed replisim, from bytes. Each must
//! end in a result or a clear error, never a panic, an abort or a hang.
//! Shared by cargo-fuzz (`fuzz/fuzz_targets/`) and the stable harness
//! (`tests/fuzz.rs`), so both exercise exactly the same code.

use replisim::estimate::{self, shard};
use replisim::scenario::overrides::{self, Override};

/// A scenario file. Lines `#set PATH=VALUE` at its top are applied as
/// `--set` overrides, so the target covers both ways in. An error must
/// display (its `Display` is what the command prints).
pub fn scenario(data: &[u8]) {
    // The command reads files as UTF-8 and says so when they are not.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sets: Vec<Override> = text
        .lines()
        .map_while(|l| l.strip_prefix("#set "))
        .filter_map(|arg| Override::parse(arg).ok())
        .collect();
    match overrides::apply("fuzz.toml", text, &sets) {
        // What a run checks next: its memory plan, refused at a field.
        Ok(s) => {
            let plan = estimate::memory::footprint(&s.system, 2);
            if let Err((field, message)) = plan.check(estimate::memory::DEFAULT_LIMIT_BYTES) {
                let _ = s.error_in(&field, &message).to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Part files for `merge`, one JSON part per line, as `run --shard` writes
/// them. Merged parts are summarized as `merge` does.
pub fn merge(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<(String, shard::Part)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| Some((format!("part{i}"), serde_json::from_str(line).ok()?)))
        .collect();
    if let Ok((s, config, sums)) = shard::merged(&parts) {
        let _ = estimate::summarize(&s, config, &sums);
    }
}
