//! What `POST /api/run` asks for, and the checks that keep one request from
//! hurting the machine. A request is a scenario (the server's, or TOML text)
//! with `--set` overrides, plus the flags `run` takes (`--seed`, `--trials`,
//! `--method`); it becomes exactly what `replisim run` would simulate.

use serde::Deserialize;

use crate::estimate::{Method, RunConfig, cost};
use crate::scenario::Scenario;
use crate::scenario::overrides::{self, Override};

/// The scenario a server opened on: the name it has in messages, its text.
#[derive(Clone, Debug)]
pub struct Base {
    pub file: String,
    pub text: String,
}

/// What one request may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Trials per request (`--max-trials`).
    pub max_trials: u64,
    /// Wall time of one run, seconds (`--max-seconds`).
    pub max_seconds: u64,
    /// Bytes of a request body.
    pub max_body: usize,
    /// Disks of the simulated fleet: its memory grows with them.
    pub max_disks: u64,
    /// Placed copies, summed over the options (extents × copies).
    pub max_copies: u64,
    /// Events the run is expected to handle ([`cost::run_events`]).
    pub max_events: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Four times the default scenario's own 1000 trials (of 128
            // group trials each, about 5 s on 2 cores: benches/README.md);
            // three minutes leave room for a loaded machine.
            max_trials: 4000,
            max_seconds: 180,
            max_body: 256 * 1024,
            // 40x the default fleet and 100x its placed copies (both ~50 MB).
            max_disks: 1_000_000,
            max_copies: 4_000_000,
            // About 70 times the default run's 15 M: past the time budget
            // anyway, so refused before it starts.
            max_events: 1e9,
        }
    }
}

/// `--set` arguments one request may carry.
const MAX_SETS: usize = 64;

/// The body of `POST /api/run` as JSON. Every field is optional: `{}` runs
/// the server's scenario as it stands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Who asks: a newer request of the same client cancels this one.
    pub client: Option<String>,
    /// Scenario TOML text instead of the server's scenario.
    pub scenario: Option<String>,
    /// The name of that text in messages (and its stem, the scenario's name
    /// when it has none), as a file name is for `run`.
    pub file: Option<String>,
    /// `PATH=VALUE` overrides, as `--set` takes them.
    #[serde(default)]
    pub set: Vec<String>,
    pub seed: Option<u64>,
    pub trials: Option<u64>,
    /// `rare` (the default, as for `run`) or `plain`.
    pub method: Option<String>,
}

/// The name of posted TOML text that comes without one.
const POSTED_FILE: &str = "request.toml";

impl RunRequest {
    /// A request from a body: JSON when `json`, else the body is scenario text.
    pub fn from_body(json: bool, body: &[u8]) -> Result<Self, String> {
        if json {
            return serde_json::from_slice(body)
                .map_err(|e| format!("the request is not a valid /api/run body: {e}"));
        }
        let text = std::str::from_utf8(body).map_err(|_| "the scenario is not UTF-8 text")?;
        Ok(Self {
            scenario: Some(text.to_string()),
            ..Self::default()
        })
    }

    /// The scenario and run settings, validated as `run` validates them,
    /// then held to `limits`.
    pub fn load(&self, base: &Base, limits: &Limits) -> Result<(Scenario, RunConfig), String> {
        if self.set.len() > MAX_SETS {
            return Err(format!(
                "{} settings in `set`: at most {MAX_SETS} per request",
                self.set.len()
            ));
        }
        let sets = self
            .set
            .iter()
            .map(|a| Override::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let (file, text) = match &self.scenario {
            Some(text) => (self.file.as_deref().unwrap_or(POSTED_FILE), text.as_str()),
            None => (base.file.as_str(), base.text.as_str()),
        };
        refuse_reading_files(self.scenario.as_deref(), &sets)?;
        let s = overrides::apply(file, text, &sets).map_err(|e| e.to_string())?;
        let config = self.config(&s)?;
        within(limits, &s, &config)?;
        Ok((s, config))
    }

    fn config(&self, s: &Scenario) -> Result<RunConfig, String> {
        let method = match self.method.as_deref() {
            None | Some("rare") => Method::RareEvent,
            Some("plain") => Method::Plain,
            Some(other) => return Err(format!("`method` is `rare` or `plain`, not `{other}`")),
        };
        if self.trials == Some(0) {
            return Err("`trials` must be at least 1".into());
        }
        Ok(RunConfig {
            seed: self.seed.unwrap_or(s.seed),
            trials: self.trials.unwrap_or(s.trials),
            threads: 0,
            method,
        })
    }
}

/// A request may not make the server read a file: a posted `[replay]`
/// must carry its CSV (`[replay.recorded]`, as a loaded scenario's text
/// does), and no setting may name another one. The served scenario's own
/// CSV, chosen by whoever started the server, is read as `run` reads it.
fn refuse_reading_files(posted: Option<&str>, sets: &[Override]) -> Result<(), String> {
    let posted = posted.is_some_and(crate::scenario::replay::reads_file);
    if posted || sets.iter().any(|o| o.path.starts_with("replay")) {
        return Err(
            "the server reads no file for a request: [replay] is refused here unless its CSV is recorded in the text ([replay.recorded], as a scenario loaded by `replisim run` holds it)"
                .into(),
        );
    }
    Ok(())
}

/// Refuses a run that `limits` do not allow, naming the limit and its flag.
fn within(limits: &Limits, s: &Scenario, config: &RunConfig) -> Result<(), String> {
    if config.trials > limits.max_trials {
        return Err(format!(
            "{} trials asked for: this server runs at most {} per request (replisim serve --max-trials); send `trials` or `--set trials=N` with N <= {}",
            config.trials, limits.max_trials, limits.max_trials
        ));
    }
    let disks = u64::from(s.system.topology.disks());
    if disks > limits.max_disks {
        return Err(format!(
            "{disks} disks: this server simulates at most {} (a fleet's memory grows with its disks)",
            limits.max_disks
        ));
    }
    let copies: u64 = s.system.options.iter().map(|o| u64::from(o.copies())).sum();
    let placed = copies * u64::from(s.system.extents);
    if placed > limits.max_copies {
        return Err(format!(
            "{placed} placed copies (extents x copies, over the options): this server places at most {}; use larger `data.extent_size` or fewer options",
            limits.max_copies
        ));
    }
    let (events, _) = cost::run_events(&s.system, config.trials);
    if events > limits.max_events {
        return Err(format!(
            "this run would handle about {events:.1e} events (from the scenario's rates): this server takes at most {:.0e} per request; ask for fewer trials, or check the rates",
            limits.max_events
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn base() -> Base {
        Base {
            file: scenario::DEFAULT_FILE.into(),
            text: scenario::DEFAULT_TEXT.into(),
        }
    }

    fn request(json: &str) -> Result<(Scenario, RunConfig), String> {
        RunRequest::from_body(true, json.as_bytes())?.load(&base(), &Limits::default())
    }

    #[test]
    fn a_request_is_what_run_would_simulate() {
        let (s, c) = request(r#"{"set": ["failures.disk.afr=2%"], "seed": 7}"#).unwrap();
        assert!(s.text.starts_with("# --set failures.disk.afr=2%\n"));
        assert_eq!((c.seed, c.trials, c.method), (7, 1000, Method::RareEvent));
        let text = RunRequest::from_body(false, b"name = \"t\"\ntrials = 10\n").unwrap();
        let (s, c) = text.load(&base(), &Limits::default()).unwrap();
        assert_eq!(
            (s.name.as_str(), s.file.as_str(), c.trials),
            ("t", POSTED_FILE, 10)
        );
    }

    #[test]
    fn bad_input_gets_the_cli_message() {
        let e = request(r#"{"set": ["failures.disk.afrr=2%"]}"#).unwrap_err();
        assert!(
            e.starts_with("error: unknown field `afrr` (in `failures.disk.afrr`)\n --> <embedded default> with --set failures.disk.afrr=2%"),
            "{e}"
        );
        let e = request(r#"{"scenario": "trials = [", "file": "x.toml"}"#).unwrap_err();
        assert!(e.contains(" --> x.toml:1:"), "{e}");
        assert!(
            request(r#"{"sett": []}"#)
                .unwrap_err()
                .contains("unknown field `sett`")
        );
        assert!(
            request(r#"{"method": "fast"}"#)
                .unwrap_err()
                .contains("`method`")
        );
        assert!(
            request(r#"{"trials": 0}"#)
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(RunRequest::from_body(false, &[0xff]).is_err());
    }

    #[test]
    fn a_request_cannot_make_the_server_read_a_file() {
        let posted = r#"{"scenario": "[replay]\nfile = \"/etc/passwd\"\n"}"#;
        for body in [posted, r#"{"set": ["replay.file=/etc/passwd"]}"#] {
            let e = request(body).unwrap_err();
            assert!(e.contains("reads no file"), "{e}");
        }
    }

    #[test]
    fn limits_name_the_flag_to_change() {
        let e = request(r#"{"trials": 4001}"#).unwrap_err();
        assert!(
            e.contains("at most 4000") && e.contains("--max-trials"),
            "{e}"
        );
        let e = request(r#"{"set": ["topology.racks_per_facility=2000"]}"#).unwrap_err();
        assert!(e.contains("disks: this server simulates at most"), "{e}");
        let e = request(r#"{"set": ["data.extent_size=1MB"]}"#).unwrap_err();
        assert!(e.contains("placed copies"), "{e}");
        let e = request(r#"{"set": ["failures.disk.afr=100"]}"#).unwrap_err();
        assert!(e.contains("events (from the scenario's rates)"), "{e}");
        let many = format!(r#"{{"set": [{}]}}"#, vec!["\"seed=1\""; 65].join(","));
        assert!(request(&many).unwrap_err().contains("at most 64"));
    }
}
