//! Runs in progress and their clients. A client (the page, one tab) has at
//! most one run: a newer request cancels the older one through the stop
//! flag of `engine::trials::Controls`, so the trials not yet started are
//! skipped. Runs take turns on one machine-wide slot (each uses every core
//! through rayon), on tokio's blocking threads, never on the async workers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::engine::trials::Controls;
use crate::estimate::{self, RunConfig, RunSums, Summary};
use crate::scenario::Scenario;

/// Clients remembered at once; the least recently seen idle one goes first.
const MAX_CLIENTS: usize = 64;
/// Requests waiting for the run slot; more are refused as busy.
const MAX_WAITING: usize = 16;
/// A client id: up to 64 of `[A-Za-z0-9_-]`.
const MAX_ID: usize = 64;

/// How far the current run of a client is, for the page's progress bar,
/// and the summary of its first pass once that is done.
#[derive(Debug, Default)]
pub struct Progress {
    running: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    preliminary: Mutex<Option<Summary>>,
}

/// [`Progress`] as `GET /api/progress` sends it.
#[derive(Serialize)]
pub struct ProgressView {
    pub running: bool,
    pub done: u64,
    pub total: u64,
    /// The run's first trials summarized (exactly `run --trials N` of
    /// them), while the rest run: numbers in a few seconds, refined later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preliminary: Option<Summary>,
}

impl Progress {
    pub fn view(&self) -> ProgressView {
        ProgressView {
            running: self.running.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            preliminary: self.preliminary().clone(),
        }
    }

    fn preliminary(&self) -> std::sync::MutexGuard<'_, Option<Summary>> {
        // A panic while holding it leaves a summary or none: both usable.
        self.preliminary.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Trials of a run's first pass: a tenth, at least 100 (enough fleet
/// trials for the tail diagnostics to judge), so that the default
/// scenario's first numbers come in seconds rather than a minute.
pub fn first_pass(trials: u64) -> u64 {
    (trials / 10).max(100).min(trials)
}

/// A finished run: what the page's figures are drawn from.
pub struct Finished {
    pub scenario: Arc<Scenario>,
    pub summary: Summary,
    /// The figures' SVGs, drawn once when first asked for.
    pub figures: OnceLock<Result<Vec<(String, String)>, String>>,
}

#[derive(Default)]
struct Client {
    /// Counts the client's requests: only the newest may record results.
    generation: u64,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
    /// The scenario of its latest valid request (what it downloads).
    scenario: Option<Arc<Scenario>>,
    finished: Option<Arc<Finished>>,
    seen: Option<Instant>,
}

/// Why a run gave no summary.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// Stopped by a newer request of the client, `/api/cancel` or shutdown.
    Cancelled,
    /// Over the time budget, seconds.
    TooLong(u64),
    /// Too many requests already wait.
    Busy,
    /// The run itself failed.
    Failed(String),
    /// The run's thread panicked: a bug, not the request's fault.
    Crashed(String),
}

/// One request's hold on its client: its stop flag and progress.
pub struct Ticket {
    client: Option<String>,
    generation: u64,
    pub stop: Arc<AtomicBool>,
    pub progress: Arc<Progress>,
}

/// A place in the queue for the run slot, given up when dropped (also when
/// the request is, its connection closed).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn join(queue: &'a AtomicUsize) -> Result<Self, Refusal> {
        if queue.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            queue.fetch_sub(1, Ordering::SeqCst);
            return Err(Refusal::Busy);
        }
        Ok(Self(queue))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Stops the run when the request is dropped (its connection closed)
/// before it ended.
struct StopOnDrop(Arc<AtomicBool>, bool);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

pub struct Runs {
    clients: Mutex<HashMap<String, Client>>,
    slot: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// Set at shutdown: every run stops and no new one starts.
    closing: AtomicBool,
}

impl Default for Runs {
    fn default() -> Self {
        Self {
            clients: Mutex::new(HashMap::new()),
            slot: Arc::new(Semaphore::new(1)),
            waiting: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
        }
    }
}

/// Whether `id` is acceptable as a client id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Runs {
    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, Client>> {
        // A panic elsewhere while holding the lock leaves plain data behind.
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a request of `client`: cancels its run in progress, if any.
    pub fn begin(&self, client: Option<&str>) -> Ticket {
        let stop = Arc::new(AtomicBool::new(self.closing.load(Ordering::Relaxed)));
        let progress = Arc::new(Progress::default());
        let Some(id) = client else {
            return Ticket {
                client: None,
                generation: 0,
                stop,
                progress,
            };
        };
        let mut clients = self.clients();
        if !clients.contains_key(id) {
            evict_one(&mut clients);
        }
        let c = clients.entry(id.to_string()).or_default();
        c.stop.store(true, Ordering::Relaxed);
        c.generation += 1;
        c.stop = stop.clone();
        c.progress = progress.clone();
        c.seen = Some(Instant::now());
        Ticket {
            client: Some(id.to_string()),
            generation: c.generation,
            stop,
            progress,
        }
    }

    /// Runs `scenario` for `ticket` once the slot is free; a summary only if
    /// it ran to the end, uncancelled, within `max_seconds`.
    pub async fn run(
        &self,
        ticket: &Ticket,
        scenario: Arc<Scenario>,
        config: RunConfig,
        max_seconds: u64,
    ) -> Result<Summary, Refusal> {
        self.with_client(ticket, |c| c.scenario = Some(scenario.clone()));
        let mut guard = StopOnDrop(ticket.stop.clone(), true);
        let permit = self.take_turn(ticket).await?;
        // Half the run's budget: a runaway trial is reported, naming the
        // field behind it, before the run's own time is up.
        let trial_time = Duration::from_millis(max_seconds * 500);
        let (stop, progress, s) = (
            ticket.stop.clone(),
            ticket.progress.clone(),
            scenario.clone(),
        );
        let job = tokio::task::spawn_blocking(move || {
            // The slot is held until the trials really end, even when the
            // request has stopped waiting for them.
            let _permit = permit;
            execute(&s, config, &stop, &progress, trial_time)
        });
        let budget = tokio::time::timeout(Duration::from_secs(max_seconds), job);
        // At shutdown every run stops (the guard sets its flag), with a
        // client or without.
        let ran = tokio::select! {
            ran = budget => ran,
            () = stopped(&self.closing) => return Err(Refusal::Cancelled),
        };
        guard.1 = false;
        let summary = match ran {
            Err(_) => {
                ticket.stop.store(true, Ordering::Relaxed);
                return Err(Refusal::TooLong(max_seconds));
            }
            Ok(Err(e)) => return Err(Refusal::Crashed(format!("the run crashed: {e}"))),
            Ok(Ok(Err(e))) => return Err(Refusal::Failed(e)),
            Ok(Ok(Ok(None))) => return Err(Refusal::Cancelled),
            Ok(Ok(Ok(Some(summary)))) => summary,
        };
        let finished = Arc::new(Finished {
            scenario,
            summary: summary.clone(),
            figures: OnceLock::new(),
        });
        self.with_client(ticket, |c| c.finished = Some(finished));
        Ok(summary)
    }

    /// Waits for the run slot, in a queue of at most [`MAX_WAITING`]; a
    /// request cancelled while it waits leaves the queue at once.
    async fn take_turn(&self, ticket: &Ticket) -> Result<OwnedSemaphorePermit, Refusal> {
        let _in_queue = Waiting::join(&self.waiting)?;
        let permit = tokio::select! {
            p = self.slot.clone().acquire_owned() => p.ok(),
            () = stopped(&ticket.stop) => None,
        };
        match permit {
            Some(p) if !ticket.stop.load(Ordering::Relaxed) => Ok(p),
            _ => Err(Refusal::Cancelled),
        }
    }

    /// Applies `f` to the ticket's client if the ticket is still its newest.
    fn with_client(&self, ticket: &Ticket, f: impl FnOnce(&mut Client)) {
        let Some(id) = &ticket.client else { return };
        if let Some(c) = self.clients().get_mut(id) {
            if c.generation == ticket.generation {
                f(c);
            }
        }
    }

    /// Cancels `client`'s run; whether one was under way.
    pub fn cancel(&self, client: &str) -> bool {
        let clients = self.clients();
        let Some(c) = clients.get(client) else {
            return false;
        };
        let running = c.progress.running.load(Ordering::Relaxed);
        c.stop.store(true, Ordering::Relaxed);
        running
    }

    /// Stops every run (each watches `closing`) and refuses new ones.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.slot.close();
    }

    pub fn progress(&self, client: &str) -> Option<ProgressView> {
        self.clients().get(client).map(|c| c.progress.view())
    }

    pub fn scenario(&self, client: &str) -> Option<Arc<Scenario>> {
        self.clients().get(client).and_then(|c| c.scenario.clone())
    }

    pub fn finished(&self, client: &str) -> Option<Arc<Finished>> {
        self.clients().get(client).and_then(|c| c.finished.clone())
    }
}

/// Resolves once `stop` is set (checked every 50 ms: a flag, not a channel,
/// because the trials read the same flag).
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Forgets the least recently seen client with no run under way, when full.
fn evict_one(clients: &mut HashMap<String, Client>) {
    if clients.len() < MAX_CLIENTS {
        return;
    }
    let idle = clients
        .iter()
        .filter(|(_, c)| !c.progress.running.load(Ordering::Relaxed))
        .min_by_key(|(_, c)| c.seen)
        .map(|(id, _)| id.clone());
    // With every client busy, the oldest goes anyway: its run still ends.
    let victim = idle.or_else(|| {
        clients
            .iter()
            .min_by_key(|(_, c)| c.seen)
            .map(|(id, _)| id.clone())
    });
    if let Some(id) = victim {
        clients.remove(&id);
    }
}

/// The trials and the summary, as `run` makes them (same seed, same bytes);
/// None when stopped: a cancelled run's partial sums are never shown. The
/// first [`first_pass`] trials are summarized on their own on the way (the
/// summary of `run --trials` that many), then the rest are added to them,
/// as `run --rel-error` extends a run.
fn execute(
    s: &Scenario,
    config: RunConfig,
    stop: &AtomicBool,
    progress: &Progress,
    trial_time: Duration,
) -> Result<Option<Summary>, String> {
    progress.total.store(config.trials, Ordering::Relaxed);
    *progress.preliminary() = None;
    progress.running.store(true, Ordering::Relaxed);
    let ran = execute_passes(s, config, stop, progress, trial_time);
    // A first pass is news only while the rest runs.
    *progress.preliminary() = None;
    progress.running.store(false, Ordering::Relaxed);
    ran
}

fn execute_passes(
    s: &Scenario,
    config: RunConfig,
    stop: &AtomicBool,
    progress: &Progress,
    trial_time: Duration,
) -> Result<Option<Summary>, String> {
    let on_block = |block: &RunSums| {
        progress.done.fetch_add(block.trials(), Ordering::Relaxed);
    };
    let controls = Controls {
        stop: Some(stop),
        on_block: Some(&on_block),
        trial_time: Some(trial_time),
    };
    let stopped = || stop.load(Ordering::Relaxed);
    let first = first_pass(config.trials);
    let mut done = estimate::simulate(s, config, 0..first, &controls)?;
    if stopped() || done.completed_to < first {
        return Ok(None);
    }
    if first < config.trials {
        let quick = RunConfig {
            trials: first,
            ..config
        };
        *progress.preliminary() = Some(estimate::summarize(s, quick, &done.acc));
        done.extend(estimate::simulate(
            s,
            config,
            first..config.trials,
            &controls,
        )?);
    }
    if stopped() || done.completed_to < config.trials {
        return Ok(None);
    }
    Ok(Some(estimate::summarize(s, config, &done.acc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_short_and_plain() {
        assert!(valid_id("tab-1_a"));
        assert!(!valid_id(""));
        assert!(!valid_id("a b"));
        assert!(!valid_id(&"x".repeat(65)));
    }

    #[test]
    fn a_newer_request_cancels_the_older_of_the_same_client() {
        let runs = Runs::default();
        let first = runs.begin(Some("a"));
        let other = runs.begin(Some("b"));
        let anonymous = runs.begin(None);
        let second = runs.begin(Some("a"));
        assert!(first.stop.load(Ordering::Relaxed));
        assert!(!second.stop.load(Ordering::Relaxed));
        assert!(!other.stop.load(Ordering::Relaxed));
        assert!(!anonymous.stop.load(Ordering::Relaxed));
        runs.cancel("a");
        assert!(second.stop.load(Ordering::Relaxed));
    }

    #[test]
    fn the_queue_is_bounded_and_a_place_is_given_up_when_dropped() {
        let queue = AtomicUsize::new(0);
        let places: Vec<_> = (0..MAX_WAITING)
            .map(|_| Waiting::join(&queue).unwrap())
            .collect();
        assert_eq!(Waiting::join(&queue).err(), Some(Refusal::Busy));
        drop(places);
        assert_eq!(queue.load(Ordering::SeqCst), 0);
        assert!(Waiting::join(&queue).is_ok());
    }

    #[test]
    fn clients_are_bounded() {
        let runs = Runs::default();
        for i in 0..(MAX_CLIENTS + 10) {
            runs.begin(Some(&format!("c{i}")));
        }
        assert_eq!(runs.clients().len(), MAX_CLIENTS);
        assert!(runs.progress(&format!("c{}", MAX_CLIENTS + 9)).is_some());
        assert!(runs.progress("c0").is_none());
    }
}
