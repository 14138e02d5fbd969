//! The `replisim` command line: parses arguments, loads the scenario, runs
//! the estimator and writes the report. Argument parsing, dispatch and
//! display only: the work is done by the stages below. [`sweep`] runs a
//! grid of settings; the progress bar and Ctrl-C live in `progress`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod help;
mod progress;
pub mod serve;
mod signals;
pub mod sweep;

use crate::engine::trials::{Completed, Controls, shard_range};
use crate::estimate::{self, Method, RunConfig, RunSums, StoppingRule, Summary};
use crate::estimate::{compare, shard};
use crate::exact::analyze;
use crate::report::result_set::{self, ResultSet};
use crate::report::{self, expect, figures, trace};
use crate::scenario::overrides::{self, Override};
use crate::scenario::{self, Scenario, ScenarioError};
use crate::units::count;
use clap::{CommandFactory, Parser, Subcommand};
use progress::Progress;

#[derive(Parser)]
#[command(
    name = "replisim",
    version,
    about = "How durable is data under LRS, ZRS, GRS and GZRS?",
    after_help = help::MAIN
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and report durability per replication option.
    #[command(after_help = help::RUN)]
    Run {
        #[command(flatten)]
        args: RunArgs,
        /// Change a scenario field, e.g. `--set failures.disk.afr=2%`
        /// (repeatable; paths as in docs/scenario.md). Results go to
        /// results/<name>/set/<the settings> unless --out is given.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Run only shard K of N (0-based, e.g. 2/8) and write a part for `merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Directory for the results [default: results/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the JSON summary to this file (`-`: stdout, and the
        /// table to stderr).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Keep doubling the trials until every option's 95% interval is
        /// within this fraction of its estimate (e.g. 0.1), or --max-trials.
        #[arg(long, value_name = "FRACTION")]
        rel_error: Option<f64>,
        /// Budget for --rel-error.
        #[arg(long, default_value_t = 1 << 20)]
        max_trials: u64,
    },
    /// Run a scenario and judge the expectations of its [expect] section.
    /// Exits 0 when all hold, 3 when any fails or is not established, 1 on
    /// any other error.
    #[command(after_help = help::CHECK)]
    Check {
        #[command(flatten)]
        args: RunArgs,
        /// Change a scenario field, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// `json`: the verdicts as JSON on stdout, for scripts.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also write the results (as `run` does) to this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a scenario at every combination of the values given to --set;
    /// writes sweep.csv, sweep.json and a chart of the nines.
    #[command(after_help = help::SWEEP)]
    Sweep {
        #[command(flatten)]
        args: RunArgs,
        /// A field and its values, e.g. `--set failures.disk.afr=1%,2%,4%`
        /// (repeatable: the full grid is run; the first field with several
        /// values is the chart's x axis).
        #[arg(long = "set", value_name = "PATH=V1,V2,...", required = true)]
        set: Vec<String>,
        /// Directory for the results [default: results/<scenario name>/sweep].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare options under the same failures in every trial (common random
    /// numbers): each option's difference from the first, with a 95% interval
    /// from paired samples.
    #[command(after_help = help::COMPARE)]
    Compare {
        #[command(flatten)]
        args: RunArgs,
        /// Options to compare, comma-separated, the baseline first [default:
        /// all, in the scenario's order].
        #[arg(long, value_name = "A,B,...")]
        options: Option<String>,
        /// Change a scenario field, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// `json`: the comparison (compare.json) on stdout instead of the table.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Directory for the results [default: results/<scenario name>/compare,
        /// beside, not over, the run's own results].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Combine the parts of a sharded run into the summary one run gives.
    #[command(after_help = help::MERGE)]
    Merge {
        /// Part files written by `run --shard K/N`, all N of them.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Directory for the results [default: results/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the JSON summary to this file (`-`: stdout, and the
        /// table to stderr).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Solve the Markovian version of a scenario exactly (exponential
    /// lifetimes and repairs, no detection delay): P(loss) and MTTDL per option.
    #[command(after_help = help::ANALYZE)]
    Analyze {
        /// Scenario file (TOML); the embedded default scenario when omitted.
        scenario: Option<PathBuf>,
        /// Change a scenario field, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Also write the figures as JSON to this file (`-`: stdout).
        #[arg(long)]
        json: Option<PathBuf>,
        /// `json`: the figures as JSON on stdout instead of the table.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// The event timeline of one trial (failures, repairs, outages,
    /// failovers, losses) as text, plus trace.json, trace.svg and trace.png.
    #[command(after_help = help::TRACE)]
    Trace {
        /// Scenario file (TOML); the embedded default scenario when omitted.
        scenario: Option<PathBuf>,
        /// Which trial (0-based), the same trial `run` simulates.
        #[arg(long, default_value_t = 0)]
        trial: u64,
        /// Master seed (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Only this option's copies, losses and failovers.
        #[arg(long, value_name = "NAME")]
        option: Option<String>,
        /// Every event, each repair and disk failure included.
        #[arg(long)]
        all: bool,
        /// Directory for the files [default: results/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A local web page to explore a scenario live: change a figure, watch
    /// the nines move; and the JSON API behind it (docs/serve.md).
    #[command(after_help = help::SERVE)]
    Serve {
        /// Scenario file (TOML); the embedded default scenario when omitted.
        scenario: Option<PathBuf>,
        /// Port to listen on; 0 picks a free one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to listen on. Anything but loopback lets other machines
        /// run simulations here, without authentication.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Trials one request may ask for.
        #[arg(long, default_value_t = serve::Limits::default().max_trials,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_trials: u64,
        /// Seconds one run may take before it is stopped (one trial, half);
        /// at most a day.
        #[arg(long, default_value_t = serve::Limits::default().max_seconds,
              value_parser = clap::value_parser!(u64).range(1..=86_400))]
        max_seconds: u64,
    },
    /// Write a starter scenario: every field at its default, commented,
    /// the optional sections shown as examples.
    #[command(after_help = help::INIT)]
    Init {
        /// Where to write it (its name is the file's); standard output when
        /// omitted or `-`.
        file: Option<PathBuf>,
        /// An option to evaluate (repeat for several): LRS, ZRS, GRS, GZRS,
        /// RA-GRS, RA-GZRS; the four first when none is given.
        #[arg(long = "option", value_name = "NAME")]
        options: Vec<String>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// The JSON Schema of the scenario format, for editors that complete
    /// and check TOML against one (taplo, VS Code's Even Better TOML).
    #[command(after_help = help::SCHEMA)]
    Schema {
        /// Where to write it; standard output when omitted or `-`.
        file: Option<PathBuf>,
    },
    /// The built-in catalog of Azure regions (geography, zones, pair) that
    /// `region = "name"` in a scenario draws on, with its source and date.
    #[command(after_help = help::REGIONS)]
    Regions {
        /// `json`: the catalog, its source and each region's remarks as JSON
        /// on stdout instead of the table.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check a scenario file without running it.
    #[command(after_help = help::VALIDATE)]
    Validate {
        /// Scenario file (TOML); the embedded default scenario when omitted.
        scenario: Option<PathBuf>,
        /// Change a scenario field, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// `json`: the verdict, and every mistake or warning with its place,
        /// as JSON on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print a shell's completion script for replisim.
    #[command(after_help = help::COMPLETIONS)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How a command prints its result.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Tables for people.
    Text,
    /// JSON for scripts.
    Json,
}

impl Command {
    /// The run flags of a command that simulates.
    fn run_args(&self) -> Option<&RunArgs> {
        match self {
            Command::Run { args, .. }
            | Command::Check { args, .. }
            | Command::Sweep { args, .. }
            | Command::Compare { args, .. } => Some(args),
            _ => None,
        }
    }
}

/// The flags shared by `run`, `check` and `sweep`.
#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (TOML); the embedded default scenario when omitted.
    scenario: Option<PathBuf>,
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Number of trials (overrides the scenario's `trials`).
    #[arg(long)]
    trials: Option<u64>,
    /// Worker threads; 0 uses every core. The result never depends on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress display.
    #[arg(long)]
    quiet: bool,
    /// How to estimate P(object lost): `rare` (rare-event method, for
    /// 11+ nines), `plain` (plain Monte Carlo, the cross-check),
    /// `unstratified` (the rare-event method without strata on site events)
    /// or `simulated` (strata, the fast process never solved exactly).
    #[arg(long, value_enum, default_value_t = MethodArg::Rare)]
    method: MethodArg,
    /// Wall time one trial may take before the run fails, naming the
    /// scenario field its events came from (a runaway: a rate mistyped by
    /// orders of magnitude).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_trial_time)]
    max_trial_time: std::time::Duration,
    /// Refuse to run a scenario with doubtful values (warnings printed
    /// before the run, e.g. an `afr` of 1.57, which is 157% a year), as CI
    /// should.
    #[arg(long)]
    deny_warnings: bool,
    /// Run even when the run is expected to handle more than 2e10 events
    /// (hours or more), which otherwise stops before starting.
    #[arg(long)]
    yes: bool,
    /// Memory the run may plan for (e.g. `32GiB`): a run planned past it
    /// (placement, each thread's tables, results) is refused before it
    /// starts, naming the field that makes it large.
    #[arg(long, value_name = "SIZE", default_value = "8GiB", value_parser = parse_memory)]
    max_memory: u64,
}

fn parse_memory(text: &str) -> Result<u64, String> {
    let bytes = crate::units::parse_size(text)?;
    if bytes == 0 {
        return Err("must be more than 0B".into());
    }
    Ok(bytes)
}

fn parse_trial_time(text: &str) -> Result<std::time::Duration, String> {
    let micros = crate::units::parse_duration(text)?;
    if micros == 0 {
        return Err("must be longer than 0s".into());
    }
    Ok(std::time::Duration::from_micros(micros))
}

impl RunArgs {
    /// The scenario file with `sets` applied.
    fn load(&self, sets: &[String]) -> Result<Scenario, String> {
        let overrides = parse_overrides(sets)?;
        let (file, text) = self.source()?;
        let s = overrides::apply(&file, &text, &overrides).map_err(shown)?;
        warn(std::slice::from_ref(&s), self.deny_warnings)?;
        Ok(s)
    }

    /// The scenario's file name and text.
    fn source(&self) -> Result<(String, String), String> {
        source(self.scenario.as_deref())
    }

    fn config(&self, s: &Scenario) -> Result<RunConfig, String> {
        if self.trials == Some(0) {
            return Err("--trials must be at least 1".into());
        }
        let trials = self.trials.unwrap_or(s.trials);
        let (events, long) = estimate::cost::run_events(&s.system, trials);
        if long && !self.yes {
            return Err(format!(
                "{}: {trials} trials would handle about {events:.1e} events, hours to days of work \
                 (a trial handles 1-10 M events a second); pass --yes to run it, or use fewer \
                 --trials, a shorter horizon or fewer options",
                s.file
            ));
        }
        check_memory(s, self.threads, self.max_memory)?;
        Ok(RunConfig {
            seed: self.seed.unwrap_or(s.seed),
            trials: self.trials.unwrap_or(s.trials),
            threads: self.threads,
            method: self.method.into(),
        })
    }
}

/// Refuses, located at the field that makes it large, a run of `s` on
/// `threads` threads planned past `limit_bytes` of memory.
fn check_memory(s: &Scenario, threads: usize, limit_bytes: u64) -> Result<(), String> {
    estimate::memory::footprint(&s.system, threads)
        .check(limit_bytes)
        .map_err(|(field, message)| shown(s.error_in(&field, &message)))
}

/// The process's peak resident memory so far (Linux: `VmHWM`).
fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The status line after a run: its wall time, threads, and its peak
/// memory beside what it was planned at.
fn run_status(s: &Scenario, config: RunConfig, started: std::time::Instant) -> String {
    let threads = crate::engine::trials::threads_used(config.threads);
    let planned = estimate::memory::footprint(&s.system, threads).total_bytes();
    let memory = match peak_memory_bytes() {
        Some(peak) => format!(
            ", peak memory {} MiB (planned at most {} MiB)",
            peak >> 20,
            planned.div_ceil(1 << 20)
        ),
        None => String::new(),
    };
    format!(
        "wall time {:.1} s on {}{memory}",
        started.elapsed().as_secs_f64(),
        count(threads as f64, "thread")
    )
}

/// The name and text of the scenario file `path`, or of the default.
fn source(path: Option<&Path>) -> Result<(String, String), String> {
    match path {
        Some(p) => scenario::read(p).map_err(shown),
        None => Ok((scenario::DEFAULT_FILE.into(), scenario::DEFAULT_TEXT.into())),
    }
}

fn parse_overrides(sets: &[String]) -> Result<Vec<Override>, String> {
    sets.iter().map(|a| Override::parse(a)).collect()
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MethodArg {
    Rare,
    Plain,
    /// The rare-event method without strata on site events (a cross-check).
    Unstratified,
    /// Strata on site events, the fast process always simulated (a cross-check).
    Simulated,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Rare => Method::RareEvent,
            MethodArg::Plain => Method::Plain,
            MethodArg::Unstratified => Method::Unstratified,
            MethodArg::Simulated => Method::Simulated,
        }
    }
}

/// `--max-trial-time` of the command, set once when the arguments are read:
/// like STOP, a control of the whole process rather than of one call.
static TRIAL_TIME: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// `check`'s exit status when an expectation fails (1 is any other error,
/// 2 a usage error).
const EXPECTATION_FAILED: u8 = 3;

/// The `replisim` command: parses the arguments and runs the command.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            print_err(&message);
            ExitCode::from(signals::exit_status().unwrap_or(1))
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    if let Some(args) = cli.command.run_args() {
        let _ = TRIAL_TIME.set(args.max_trial_time);
        signals::install();
    }
    let done = match cli.command {
        Command::Init {
            file,
            options,
            force,
        } => init(file.as_deref(), &options, force),
        Command::Schema { file } => schema(file.as_deref()),
        Command::Regions { format } => print_out(&match format {
            Format::Text => regions_table(),
            Format::Json => regions_json()?,
        }),
        Command::Validate {
            scenario,
            set,
            format,
        } => return validate(scenario.as_deref(), &set, format),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "replisim", &mut out);
            print_out(&String::from_utf8_lossy(&out))
        }
        Command::Run {
            args,
            set,
            shard,
            out,
            json,
            rel_error,
            max_trials,
        } => {
            let s = args.load(&set)?;
            let config = args.config(&s)?;
            let stop = rel_error
                .map(|f| stopping_rule(f, max_trials))
                .transpose()?;
            let out = out.unwrap_or_else(|| default_out(&s, &set));
            match shard.as_deref().map(shard::parse_shard).transpose()? {
                Some(_) if stop.is_some() => {
                    Err("--rel-error decides the trials as it goes; it cannot be sharded".into())
                }
                Some((k, n)) => run_shard(&s, config, (k, n), &out, args.quiet),
                None => run_whole(&s, config, stop, &out, json.as_deref(), args.quiet),
            }
        }
        Command::Check {
            args,
            set,
            format,
            out,
        } => return check(&args, &set, format, out.as_deref()),
        Command::Sweep { args, set, out } => run_sweep(&args, &set, out),
        Command::Compare {
            args,
            options,
            set,
            format,
            out,
        } => {
            let s = args.load(&set)?;
            let config = args.config(&s)?;
            let out = out.unwrap_or_else(|| default_out(&s, &set).join("compare"));
            run_compare(&s, config, options.as_deref(), &out, args.quiet, format)
        }
        Command::Analyze {
            scenario,
            set,
            json,
            format,
        } => run_analyze(
            &load_with(scenario.as_deref(), &set)?,
            json.as_deref(),
            format,
        ),
        Command::Trace {
            scenario,
            trial,
            seed,
            option,
            all,
            out,
        } => {
            let s = load(scenario.as_deref())?;
            check_memory(&s, 1, estimate::memory::DEFAULT_LIMIT_BYTES)?;
            let option = option
                .map(|name| trace::option_index(&s.system, &name))
                .transpose()?;
            let request = trace::TraceRequest {
                seed: seed.unwrap_or(s.seed),
                trial,
                option,
                all,
            };
            let traced = trace::trace(&s, &request)?;
            print_out(&trace::text(&s.system, &traced, &request))?;
            let out = out.unwrap_or_else(|| Path::new("results").join(&s.name));
            let set = ResultSet::begin_kind(&out, result_set::Kind::Trace)?;
            let written = trace::write(&s.system, &traced, option, set.dir())?;
            let out = set.commit()?;
            let names: Vec<String> = written
                .iter()
                .filter_map(|p| p.file_name())
                .map(|name| out.join(name).display().to_string())
                .collect();
            print_err(&format!("wrote {}", names.join(", ")));
            Ok(())
        }
        Command::Serve {
            scenario,
            port,
            bind,
            max_trials,
            max_seconds,
        } => {
            let (file, text) = source(scenario.as_deref())?;
            serve::serve(serve::Config {
                base: serve::Base { file, text },
                bind,
                port,
                limits: serve::Limits {
                    max_trials,
                    max_seconds,
                    ..Default::default()
                },
            })
        }
        Command::Merge { parts, out, json } => {
            let parts = parts
                .iter()
                .map(|p| read_part(p).map(|part| (p.display().to_string(), part)))
                .collect::<Result<Vec<_>, _>>()?;
            let (s, config, sums) = shard::merged(&parts)?;
            let summary = estimate::summarize(&s, config, &sums);
            let out = out.unwrap_or_else(|| Path::new("results").join(&s.name));
            print_table(&report::table(&summary), json.as_deref())?;
            write_summary(&s, &summary, &out, json.as_deref(), None)
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// `replisim validate`: loads the scenario and says so, or shows every
/// mistake; `--format json` puts either on stdout, with places.
/// `replisim init`: the starter scenario, checked as `validate` would
/// check it before it is written (an unknown option is refused with the
/// loader's message), never over an existing file without `--force`.
fn init(file: Option<&Path>, options: &[String], force: bool) -> Result<(), String> {
    let to_stdout = file.is_none() || is_stdout(file);
    let name = match file {
        Some(path) if !to_stdout => path.file_stem().map_or_else(
            || "my-scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
        _ => "my-scenario".to_string(),
    };
    let default_options: Vec<String> = ["LRS", "ZRS", "GRS", "GZRS"].map(String::from).to_vec();
    let options = if options.is_empty() {
        &default_options
    } else {
        options
    };
    let text = scenario::starter(&name, options);
    let shown_as = match file {
        Some(p) if !to_stdout => p.display().to_string(),
        _ => "<init>".to_string(),
    };
    scenario::from_source(&shown_as, &text).map_err(shown)?;
    let Some(path) = file.filter(|_| !to_stdout) else {
        return print_out(&text);
    };
    if path.exists() && !force {
        return Err(format!(
            "{} exists; pass --force to replace it, or name another file",
            path.display()
        ));
    }
    std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    print_err(&format!(
        "wrote {}: every field at its default; `replisim validate {0}` checks it after your changes",
        path.display()
    ));
    Ok(())
}

fn schema(file: Option<&Path>) -> Result<(), String> {
    let text = scenario::json_schema::text();
    let Some(path) = file else {
        return print_out(&text);
    };
    write_json(path, &text)?;
    if !is_stdout(file) {
        print_err(&format!(
            "wrote {}: put `#:schema {0}` (a path relative to the scenario, or a URL) on a scenario's first line, or map it in .taplo.toml",
            path.display()
        ));
    }
    Ok(())
}

fn validate(path: Option<&Path>, sets: &[String], format: Format) -> Result<ExitCode, String> {
    let overrides = parse_overrides(sets)?;
    let (file, text) = source(path)?;
    // A scenario that a default run would refuse for its memory is not
    // valid as it stands (`run --max-memory` may still run it).
    let loaded = overrides::apply(&file, &text, &overrides).and_then(|s| {
        let plan = estimate::memory::footprint(&s.system, 0);
        match plan.check(estimate::memory::DEFAULT_LIMIT_BYTES) {
            Ok(()) => Ok(s),
            Err((field, message)) => Err(s.error_in(&field, &message)),
        }
    });
    if format == Format::Text {
        let s = loaded.map_err(shown)?;
        warn(std::slice::from_ref(&s), false)?;
        print_out(&format!(
            "{file}: valid ({}, {}, {} per option, {})\n",
            count(s.system.options.len() as f64, "option"),
            count(s.system.topology.disks() as f64, "disk"),
            count(s.system.extents as f64, "extent"),
            count(s.expectations.len() as f64, "expectation")
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let value = match &loaded {
        Ok(s) => serde_json::json!({
            "file": file,
            "valid": true,
            "options": s.system.options.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
            "disks": s.system.topology.disks(),
            "extents_per_option": s.system.extents,
            "expectations": s.expectations.len(),
            "warnings": s.warnings.iter().map(|(f, w)| mistake_json(&s.error_in(f, w))).collect::<Vec<_>>(),
        }),
        Err(e) => serde_json::json!({
            "file": file,
            "valid": false,
            "errors": e.all().map(mistake_json).collect::<Vec<_>>(),
        }),
    };
    print_out(&report::pretty_json(&value, "the verdict")?)?;
    Ok(ExitCode::from(if loaded.is_ok() { 0 } else { 1 }))
}

/// A mistake or warning as JSON: where it is, what it says, what helps.
fn mistake_json(e: &ScenarioError) -> serde_json::Value {
    serde_json::json!({
        "file": e.file,
        "line": e.position.map(|p| p.0),
        "column": e.position.map(|p| p.1),
        "field": e.field,
        "message": e.message,
        "help": e.detail.help,
    })
}

/// `replisim analyze`: the exact figures, or every reason there are none.
fn run_analyze(s: &Scenario, json: Option<&Path>, format: Format) -> Result<(), String> {
    let blockers = analyze::blockers(&s.system);
    if !blockers.is_empty() {
        let each: Vec<String> = blockers
            .iter()
            .map(|b| shown(s.error_in(&b.field, &format!("no exact chain: {}", b.reason))))
            .collect();
        return Err(format!(
            "{}\n\nerror: {} keeps this scenario from an exact chain (analyze solves only the Markovian cases)",
            each.join("\n\n"),
            if each.len() == 1 {
                "this".to_string()
            } else {
                format!("each of these {}", each.len())
            },
        ));
    }
    let exact = analyze::analyze(&s.system).map_err(|e| {
        let message = format!("no exact chain for this scenario: {}", e.reason);
        shown(s.error_in(&e.field, &message))
    })?;
    if let Some(keys) = &s.system.keys {
        // The chain is of the copies; a customer-managed key lost is every
        // copy unreadable at once, which `run` folds into nines_with_key.
        // Said here, so the exact figures are not read as that.
        print_err(&format!(
            "note: [keys]: these are the copies alone; the key is lost within the horizon with \
             P = {}, which `run` counts in nines_with_key",
            report::sci(keys.loss_probability(s.system.horizon))
        ));
    }
    let text = report::pretty_json(&exact, "the exact result")?;
    if let Some(path) = json {
        write_json(path, &text)?;
    }
    match format {
        Format::Json if !is_stdout(json) => print_out(&text),
        Format::Json => Ok(()),
        Format::Text => print_table(&report::exact_table(s, &exact), json),
    }
}

/// results/<name>, or results/<name>/set/<the settings> for a run with
/// `--set`, so that it never overwrites the scenario's own results.
fn default_out(s: &Scenario, sets: &[String]) -> PathBuf {
    let base = Path::new("results").join(&s.name);
    match parse_overrides(sets) {
        Ok(o) if !o.is_empty() => base.join("set").join(overrides::slug(&o)),
        _ => base,
    }
}

/// `replisim check`: runs the scenario and judges its expectations.
fn check(
    args: &RunArgs,
    sets: &[String],
    format: Format,
    out: Option<&Path>,
) -> Result<ExitCode, String> {
    let s = args.load(sets)?;
    if s.expectations.is_empty() {
        return Err(format!(
            "{}: no [expect] section, so nothing to check (see docs/scenario.md)",
            s.file
        ));
    }
    let config = args.config(&s)?;
    if let Some(out) = out {
        check_writable(out)?;
    }
    let done = simulate(&s, config, 0..config.trials, args.quiet, None)?;
    let summary = estimate::summarize(&s, config, &done.acc);
    if let Some(out) = out {
        write_summary(&s, &summary, out, None, None)?;
    }
    let outcomes = expect::evaluate(&s.expectations, &summary);
    print_out(&match format {
        Format::Json => expect::json(&s.name, &summary, &outcomes)?,
        Format::Text => format!(
            "check {}: {}, seed {}\n{}",
            s.name,
            count(summary.trials as f64, "trial"),
            summary.seed,
            expect::table(&outcomes)
        ),
    })?;
    interrupted(done.completed_to, config.trials)?;
    Ok(if expect::any_fails(&outcomes) {
        ExitCode::from(EXPECTATION_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `replisim sweep`: every point validated first, then run in turn.
fn run_sweep(args: &RunArgs, sets: &[String], out: Option<PathBuf>) -> Result<(), String> {
    let axes = sweep::axes(sets)?;
    let (file, text) = args.source()?;
    let points = sweep::scenarios(&file, &text, &axes).map_err(shown)?;
    warn(&points, args.deny_warnings)?;
    let configs = points
        .iter()
        .map(|p| args.config(p))
        .collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<String> = sweep::grid(&axes)
        .iter()
        .map(|p| {
            p.iter()
                .map(|o| o.arg.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let started = Instant::now();
    let on_point = |i: usize, n: usize| {
        if !args.quiet {
            let so_far = started.elapsed().as_secs_f64();
            print_err(&format!(
                "[{}/{n}] {} ({so_far:.0} s so far)",
                i + 1,
                labels[i]
            ));
        }
    };
    let controls = Controls {
        stop: Some(&signals::STOP),
        trial_time: TRIAL_TIME.get().copied(),
        ..Controls::default()
    };
    let out = out.unwrap_or_else(|| Path::new("results").join(&points[0].name).join("sweep"));
    check_writable(&out)?;
    let results = sweep::run(&points, &configs, &axes, &on_point, &controls)?;
    print_out(&sweep::table(&axes, &results))?;
    let files = sweep::write(&axes, &results, &out)?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    print_err(&format!(
        "wrote {}\nwall time {:.1} s",
        names.join(", "),
        started.elapsed().as_secs_f64()
    ));
    let complete = results.len() == points.len() && results.iter().all(|p| !p.summary.partial);
    if signals::stopped() && !complete {
        return Err(format!(
            "interrupted: {} of {} points run, the last {}; what ran is written, marked partial",
            results.len(),
            points.len(),
            if results.last().is_some_and(|p| p.summary.partial) {
                "cut short"
            } else {
                "whole"
            }
        ));
    }
    Ok(())
}

/// Runs trials `range`, with the progress bar and Ctrl-C wired in; with a
/// baseline, also records paired differences from it (whole runs only).
fn simulate(
    s: &Scenario,
    config: RunConfig,
    range: std::ops::Range<u64>,
    quiet: bool,
    baseline: Option<usize>,
) -> Result<Completed<RunSums>, String> {
    let first = s.system.options.first().map_or("", |o| o.name.as_str());
    let progress = Progress::new(range.end - range.start, quiet, first);
    let on_block = |block: &RunSums| progress.block_done(block);
    let controls = Controls {
        stop: Some(&signals::STOP),
        on_block: Some(&on_block),
        trial_time: TRIAL_TIME.get().copied(),
    };
    let done = match baseline {
        Some(b) => estimate::simulate_paired(s, config, b, &controls),
        None => estimate::simulate(s, config, range, &controls),
    };
    progress.finish();
    done
}

fn stopping_rule(target: f64, max_trials: u64) -> Result<StoppingRule, String> {
    if !(target > 0.0 && target < 1.0) {
        return Err(format!(
            "--rel-error takes a fraction between 0 and 1 (e.g. 0.1), got {target}"
        ));
    }
    Ok(StoppingRule {
        rel_error: target,
        max_trials,
        met: false,
    })
}

fn run_whole(
    s: &Scenario,
    mut config: RunConfig,
    stop: Option<StoppingRule>,
    out: &Path,
    json: Option<&Path>,
    quiet: bool,
) -> Result<(), String> {
    check_writable(out)?;
    let started = Instant::now();
    let mut done = simulate(s, config, 0..config.trials, quiet, None)?;
    let mut summary = estimate::summarize(s, config, &done.acc);
    if let Some(mut rule) = stop {
        // Doubling rounds over consecutive trial ranges: the sums are exact,
        // so the result equals one run of the final number of trials.
        while !rule.holds(&summary) && done.completed_to == config.trials {
            let next = (config.trials * 2).min(rule.max_trials);
            if next <= config.trials {
                break;
            }
            done.extend(simulate(s, config, config.trials..next, quiet, None)?);
            config.trials = next;
            summary = estimate::summarize(s, config, &done.acc);
        }
        rule.met = rule.holds(&summary);
        summary.stopping = Some(rule);
    }
    // The numbers first, so that a failure to write never loses them.
    print_table(&report::table(&summary), json)?;
    write_summary(s, &summary, out, json, None)?;
    print_err(&run_status(s, config, started));
    interrupted(done.completed_to, config.trials)
}

fn run_shard(
    s: &Scenario,
    config: RunConfig,
    (k, n): (u64, u64),
    out: &Path,
    quiet: bool,
) -> Result<(), String> {
    check_writable(out)?;
    let range = shard_range(config.trials, k, n);
    let (start, end) = (range.start, range.end);
    let done = simulate(s, config, range, quiet, None)?;
    let part = shard::Part {
        format: shard::FORMAT.to_string(),
        scenario_file: s.file.clone(),
        scenario_text: s.text.clone(),
        seed: config.seed,
        trials: config.trials,
        shard: [k, n],
        method: config.method,
        sums: done.acc,
    };
    let text = serde_json::to_string(&part).map_err(|e| format!("cannot encode the part: {e}"))?;
    let path = out.join(shard::part_file_name(k, n));
    report::write_atomic(&path, &(text + "\n"))?;
    print_err(&format!(
        "shard {k}/{n}: trials {start}..{end} written to {}",
        path.display()
    ));
    interrupted(done.completed_to, end)
}

/// Runs every option with paired differences from the first listed, writes
/// the run's files and compare.json/compare.csv, and prints the comparison.
fn run_compare(
    s: &Scenario,
    config: RunConfig,
    options: Option<&str>,
    out: &Path,
    quiet: bool,
    format: Format,
) -> Result<(), String> {
    let listed = compare::select(&s.system, options)?;
    check_writable(out)?;
    let done = simulate(s, config, 0..config.trials, quiet, Some(listed[0]))?;
    let summary = estimate::summarize(s, config, &done.acc);
    let comparison = compare::comparison(&s.system, &summary, &done.acc, &listed)?;
    print_out(&match format {
        Format::Json => report::compare::json(&comparison)?,
        Format::Text => format!("{}\n", report::compare::table(&comparison)),
    })?;
    write_summary(s, &summary, out, None, Some(&comparison))?;
    interrupted(done.completed_to, config.trials)
}

/// Writes summary.json and summary.csv (and `json`), the figures and
/// report.html (with the comparison, if any), then prints the table.
fn write_summary(
    s: &Scenario,
    summary: &Summary,
    out: &Path,
    json: Option<&Path>,
    comparison: Option<&compare::Comparison>,
) -> Result<(), String> {
    // Everything rendered before anything is written.
    let json_text = report::json(summary)?;
    let csv_text = report::csv(summary)?;
    let compared = match comparison {
        Some(c) => vec![
            ("compare.json", report::compare::json(c)?),
            ("compare.csv", report::compare::csv(c)?),
        ],
        None => Vec::new(),
    };
    let set = ResultSet::begin(out)?;
    report::write_atomic(&set.dir().join("summary.json"), &json_text)?;
    report::write_atomic(&set.dir().join("summary.csv"), &csv_text)?;
    for (name, text) in &compared {
        report::write_atomic(&set.dir().join(name), text)?;
    }
    let files = figures::write(summary, s, set.dir(), comparison)?;
    let out = set.commit()?;
    if let Some(path) = json {
        write_json(path, &json_text)?;
    }
    let mut names = vec!["summary.json".to_string(), "summary.csv".to_string()];
    names.extend(compared.iter().map(|(n, _)| n.to_string()));
    names.extend(
        files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    print_err(&format!("wrote {}/{}", out.display(), names.join(", ")));
    Ok(())
}

/// Prints the doubtful values of `scenarios` on stderr (each once, located
/// in its file); with `deny`, any of them is an error.
fn warn(scenarios: &[Scenario], deny: bool) -> Result<(), String> {
    let mut said = std::collections::BTreeSet::new();
    for s in scenarios {
        for (field, why) in &s.warnings {
            let line = s.error_in(field, why).warning(styled());
            if said.insert(line.clone()) {
                print_err(&line);
            }
        }
    }
    if deny && !said.is_empty() {
        return Err(format!(
            "{} and --deny-warnings: not run",
            count(said.len() as f64, "warning")
        ));
    }
    Ok(())
}

/// Fails early when nothing could be written at `out` (or where it would
/// be created), before a long simulation whose result would be lost.
fn check_writable(out: &Path) -> Result<(), String> {
    let mut dir = out;
    while !dir.exists() {
        dir = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
    }
    tempfile::tempfile_in(dir)
        .map(drop)
        .map_err(|e| format!("cannot write results into {}: {e}", out.display()))
}

/// An interrupted run has written what it finished; it still exits non-zero.
fn interrupted(completed_to: u64, end: u64) -> Result<(), String> {
    if signals::stopped() && completed_to < end {
        return Err(format!(
            "interrupted: trials up to {completed_to} of {end} finished; the result written is marked partial"
        ));
    }
    Ok(())
}

fn read_part(path: &Path) -> Result<shard::Part, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a replisim part: {e}", path.display()))
}

/// The catalog as a table: one line a region, then its source.
fn regions_table() -> String {
    use std::fmt::Write;
    let catalog = scenario::catalog::catalog();
    let mut out = format!(
        "{:<20} {:<15} {:>5}  {:<20} remarks\n",
        "region", "geography", "zones", "pair"
    );
    for r in &catalog.regions {
        let zones = if r.zones == 0 {
            "-".to_string()
        } else {
            r.zones.to_string()
        };
        let line = format!(
            "{:<20} {:<15} {:>5}  {:<20} {}",
            r.name,
            r.geography,
            zones,
            r.pair.as_deref().unwrap_or("-"),
            catalog.remarks(r).join(", ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "\n{}. Source: {}.\nZones: 3 where the region has availability zones (the source says only yes or no), - where it has none.\n",
        count(catalog.regions.len() as f64, "region"),
        catalog.source
    );
    out
}

/// The catalog as JSON: what the table shows, the remarks as a list and
/// the fields the table leaves out (display name, location, access, note),
/// so a script need not parse columns.
fn regions_json() -> Result<String, String> {
    let catalog = scenario::catalog::catalog();
    let regions: Vec<serde_json::Value> = catalog
        .regions
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "display": r.display,
                "geography": r.geography,
                "zones": r.zones,
                "pair": r.pair,
                "location": r.location,
                "access": r.access,
                "note": r.note,
                "remarks": catalog.remarks(r),
            })
        })
        .collect();
    let value = serde_json::json!({
        "source": catalog.source,
        "date": catalog.date,
        "regions": regions,
    });
    report::pretty_json(&value, "the catalog")
}

/// Prints to stdout; a closed pipe (e.g. `| head`) is not an error.
fn print_out(text: &str) -> Result<(), String> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}

/// Prints a line to stderr. Status and errors must never fail the run: a
/// closed or full stderr loses the line, and the exit status still tells.
fn print_err(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

fn load(path: Option<&Path>) -> Result<Scenario, String> {
    match path {
        Some(p) => scenario::load(p),
        None => scenario::default_scenario(),
    }
    .map_err(shown)
}

/// The scenario `path` (or the default) with `sets` applied.
fn load_with(path: Option<&Path>, sets: &[String]) -> Result<Scenario, String> {
    let overrides = parse_overrides(sets)?;
    let (file, text) = source(path)?;
    overrides::apply(&file, &text, &overrides).map_err(shown)
}

/// Whether stderr takes colour: a terminal, not `TERM=dumb`, and no
/// `NO_COLOR` (no-color.org). Files and pipes get plain text.
fn styled() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color && !dumb && std::io::stderr().is_terminal()
}

/// A scenario mistake as stderr shows it.
fn shown(e: ScenarioError) -> String {
    e.shown(styled())
}

/// Whether `path` is `-`, standard output.
fn is_stdout(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p == Path::new("-"))
}

/// Writes `text` to the file `path`, or to stdout for `-`.
fn write_json(path: &Path, text: &str) -> Result<(), String> {
    if is_stdout(Some(path)) {
        print_out(text)
    } else {
        report::write_atomic(path, text)
    }
}

/// Prints a table: on stdout, unless stdout carries JSON (`--json -`).
fn print_table(text: &str, json: Option<&Path>) -> Result<(), String> {
    if is_stdout(json) {
        print_err(text.trim_end());
        Ok(())
    } else {
        print_out(text)
    }
}
