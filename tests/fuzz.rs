//! The fuzz targets of `fuzz/targets.rs` on the stable toolchain: every
//! corpus input as it is, then seeded mutations of them, each of which must
//! end without a panic. The same seed gives the same inputs, so a failure
//! reproduces; the input that panicked is saved under
//! `target/fuzz-crashes/` and belongs in `fuzz/corpus/<target>/` once fixed.
//!
//! CI runs a fixed budget; a longer run sets the count, e.g.
//! `FUZZ_INPUTS=1000000 cargo test --release --test fuzz -- --nocapture`
//! (about a minute per million inputs on 2 busy cores), and `FUZZ_SEED`
//! chooses another sequence. libFuzzer runs the same targets with
//! `cargo fuzz run scenario` from `fuzz/` (docs/fuzzing.md).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::panic;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Inputs per target in the suite: a few seconds each.
const SUITE_INPUTS: u64 = 20_000;

/// Values that broke or nearly broke the loader: limits of the integer
/// types, zero and negative amounts, tiny and huge times and rates.
const TOKENS: &[&str] = &[
    "0",
    "1",
    "-1",
    "65536",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "9223372036854775807",
    "1e308",
    "-1e308",
    "1e-308",
    "nan",
    "inf",
    "0.5",
    "1.57",
    "\"0s\"",
    "\"1us\"",
    "\"0y\"",
    "\"100000y\"",
    "\"150%\"",
    "\"1e-9%\"",
    "\"0 B\"",
    "\"1 B\"",
    "\"18446744073709551615 B\"",
    "\"99999999 PB\"",
    "\"0 B/s\"",
    "\"1 B/s\"",
    "\"\"",
    "[]",
    "{}",
    "true",
    "\"weibull\"",
    "\"exponential\"",
    "\"zone\"",
    "\"region\"",
    "\"disk\"",
    "\"GZRS\"",
    "\"RA-GZRS\"",
    "\"\u{fffd}\u{301}\"",
];

/// Lines that add whole tables, so mutations reach cross-field checks.
const SNIPPETS: &[&str] = &[
    "\n[[custom]]\nname = \"X\"\ncopies = 4294967295\nwithin = \"region\"\nspread = \"disk\"\n",
    "\n[[custom]]\nname = \"Y\"\ncopies = 3\nwithin = \"zone\"\nspread = \"rack\"\nsecondary = { copies = 4294967295, within = \"region\", spread = \"disk\" }\n",
    "\n[[fault]]\nat = \"1d\"\ndestroy = \"facility\"\nregion = 0\nindex = 0\n",
    "\n[[region]]\nname = \"z\"\ngeography = \"g\"\nzones = 65536\n",
    "\n[topology]\nzones = 65536\nfacilities_per_zone = 65536\nracks_per_facility = 65536\nnodes_per_rack = 65536\n",
    "\n[expect]\nLRS = [\"nines >= 1e308\"]\n",
];

fn budget() -> u64 {
    std::env::var("FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SUITE_INPUTS)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One mutation of `input`, chosen by `rng`, splicing from `corpus`.
fn mutate(input: &[u8], corpus: &[Vec<u8>], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let at = |rng: &mut ChaCha8Rng, len: usize| rng.random_range(0..=len);
    match rng.random_range(0..7u32) {
        0 if !out.is_empty() => {
            let i = rng.random_range(0..out.len());
            out[i] = rng.random();
        }
        1 if !out.is_empty() => {
            let start = rng.random_range(0..out.len());
            let end = (start + rng.random_range(1..64usize)).min(out.len());
            out.drain(start..end);
        }
        2 => {
            // A number, string or bracket replaced by a token.
            let token = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
            let starts: Vec<usize> = (0..out.len())
                .filter(|&i| out[i].is_ascii_digit() || out[i] == b'"')
                .collect();
            if let Some(&start) = starts.get(rng.random_range(0..starts.len().max(1))) {
                let end = (start + 1..out.len())
                    .find(|&j| matches!(out[j], b'\n' | b',' | b' ' | b']' | b'}'))
                    .unwrap_or(out.len());
                out.splice(start..end, token.iter().copied());
            }
        }
        3 => {
            let snippet = SNIPPETS[rng.random_range(0..SNIPPETS.len())].as_bytes();
            let i = at(rng, out.len());
            out.splice(i..i, snippet.iter().copied());
        }
        4 => {
            // A `--set` of a key from the input with a token.
            let text = String::from_utf8_lossy(&out).into_owned();
            let keys: Vec<&str> = text
                .lines()
                .filter_map(|l| Some(l.split_once('=')?.0.trim()))
                .filter(|k| !k.is_empty() && !k.starts_with('#'))
                .collect();
            if let Some(&key) = keys.get(rng.random_range(0..keys.len().max(1))) {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                let set = format!("#set failures.disk.{key}={token}\n#set {key}={token}\n");
                out.splice(0..0, set.into_bytes());
            }
        }
        5 if !corpus.is_empty() => {
            // Lines of another input spliced in.
            let other = &corpus[rng.random_range(0..corpus.len())];
            let start = at(rng, other.len());
            let end = (start + rng.random_range(0..512usize)).min(other.len());
            let i = at(rng, out.len());
            out.splice(i..i, other[start..end].iter().copied());
        }
        _ if !out.is_empty() => {
            let start = rng.random_range(0..out.len());
            let end = (start + rng.random_range(1..256usize)).min(out.len());
            let copy = out[start..end].to_vec();
            let i = at(rng, out.len());
            out.splice(i..i, copy);
        }
        _ => out.extend_from_slice(b"\n"),
    }
    out
}

/// Runs `target` on every corpus input, then on `budget` mutations (one to
/// four stacked); returns the inputs that panicked, saved for reproduction.
fn fuzz(name: &str, target: fn(&[u8]), corpus: Vec<Vec<u8>>, budget: u64) -> Vec<String> {
    assert!(!corpus.is_empty(), "the {name} corpus is empty");
    static QUIET: Mutex<()> = Mutex::new(());
    let _guard = QUIET.lock().unwrap_or_else(|e| e.into_inner());
    let hook = panic::take_hook();
    // Silent, but keeping where the panic happened for the report.
    static WHERE: Mutex<String> = Mutex::new(String::new());
    panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        *WHERE.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }));
    let mut crashes = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed());
    let run = |input: &[u8], crashes: &mut Vec<String>| {
        if let Err(payload) = panic::catch_unwind(|| target(input)) {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let at = WHERE.lock().unwrap_or_else(|e| e.into_inner()).clone();
            crashes.push(format!("{}: {message} (at {at})", save(name, input)));
        }
    };
    for input in &corpus {
        run(input, &mut crashes);
    }
    for _ in 0..budget {
        let mut input = corpus[rng.random_range(0..corpus.len())].clone();
        for _ in 0..rng.random_range(1..=4u32) {
            input = mutate(&input, &corpus, &mut rng);
        }
        run(&input, &mut crashes);
    }
    panic::set_hook(hook);
    crashes
}

fn save(name: &str, input: &[u8]) -> String {
    let dir = root().join("target").join("fuzz-crashes");
    let _ = std::fs::create_dir_all(&dir);
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{name}-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    path.display().to_string()
}

fn read_all(paths: Vec<PathBuf>) -> Vec<Vec<u8>> {
    paths
        .into_iter()
        .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

#[test]
fn the_scenario_loader_never_panics() {
    let mut paths = files(&root().join("scenarios"), "toml");
    paths.extend(files(&root().join("fuzz/corpus/scenario"), "toml"));
    let crashes = fuzz("scenario", targets::scenario, read_all(paths), budget());
    assert!(crashes.is_empty(), "inputs that panicked: {crashes:#?}");
}

#[test]
fn merge_never_panics_on_crafted_parts() {
    let paths = files(&root().join("fuzz/corpus/merge"), "jsonl");
    let crashes = fuzz("merge", targets::merge, read_all(paths), budget() / 10);
    assert!(crashes.is_empty(), "inputs that panicked: {crashes:#?}");
}

#[test]
fn the_harness_catches_a_panic_and_saves_its_input() {
    fn boom(data: &[u8]) {
        assert!(!data.starts_with(b"boom"), "a planted panic");
    }
    let crashes = fuzz("planted", boom, vec![b"boom".to_vec(), b"fine".to_vec()], 0);
    assert_eq!(crashes.len(), 1);
    let (path, message) = crashes[0].split_once(": ").unwrap();
    assert_eq!(std::fs::read(path).unwrap(), b"boom");
    assert!(
        message.starts_with("a planted panic (at tests/fuzz.rs:"),
        "{message}"
    );
}
