//! The `replisim` command line: parses arguments, loads the scenario, runs
//! the estimator and writes the report. All logic lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use replisim::estimate::{self, RunConfig};
use replisim::report;
use replisim::scenario::{self, Scenario};

#[derive(Parser)]
#[command(
    name = "replisim",
    version,
    about = "How durable is data under LRS, ZRS, GRS and GZRS?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and report durability per replication option.
    Run {
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
        /// Directory for summary.json and summary.csv [default: results/<scenario name>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the JSON summary to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Check a scenario file without running it.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Validate { scenario } => {
            let s = load(Some(&scenario))?;
            print_out(&format!(
                "{}: valid ({} options, {} disks, {} extents per option)\n",
                scenario.display(),
                s.system.options.len(),
                s.system.topology.disks(),
                s.system.extents
            ))
        }
        Command::Run {
            scenario,
            seed,
            trials,
            threads,
            out,
            json,
        } => {
            let s = load(scenario.as_deref())?;
            let config = RunConfig {
                seed: seed.unwrap_or(s.seed),
                trials: trials.unwrap_or(s.trials),
                threads,
            };
            if config.trials == 0 {
                return Err("--trials must be at least 1".into());
            }
            let summary = estimate::estimate(&s, config)?;
            // Render everything before writing anything.
            let json_text = report::json(&summary)?;
            let csv_text = report::csv(&summary)?;
            let out = out.unwrap_or_else(|| Path::new("results").join(&s.name));
            report::write_atomic(&out.join("summary.json"), &json_text)?;
            report::write_atomic(&out.join("summary.csv"), &csv_text)?;
            if let Some(path) = json {
                report::write_atomic(&path, &json_text)?;
            }
            let written = format!("\nwrote {}/summary.json and summary.csv\n", out.display());
            print_out(&(report::table(&summary) + &written))
        }
    }
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

fn load(path: Option<&Path>) -> Result<Scenario, String> {
    match path {
        Some(p) => scenario::load(p),
        None => scenario::default_scenario(),
    }
    .map_err(|e| e.to_string())
}
