//! The progress bar of `replisim run`: trials done, trials/s, ETA and the
//! running estimate of the first option, on stderr, only on a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;

use crate::engine::trials::Merge;
use crate::estimate::RunSums;
use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    option: String,
    /// Blocks finished so far, merged in completion order (display only).
    seen: Mutex<RunSums>,
}

impl Progress {
    pub fn new(trials: u64, quiet: bool, option: &str) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        let style = ProgressStyle::with_template(
            "{bar:30} {pos}/{len} trials  {per_sec}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        Self {
            bar: show.then(|| ProgressBar::new(trials).with_style(style)),
            option: option.to_string(),
            seen: Mutex::new(RunSums::default()),
        }
    }

    /// Records a finished block of trials.
    pub fn block_done(&self, block: &RunSums) {
        let Some(bar) = &self.bar else { return };
        bar.inc(block.trials());
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        seen.merge(block.clone());
        if let Some((n, p)) = seen.object_loss(0) {
            bar.set_message(format!(
                "{}: P(object lost) ≈ {p:.2e} after {n}",
                self.option
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
