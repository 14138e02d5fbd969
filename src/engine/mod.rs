//! A deterministic discrete-event simulation kernel. It knows nothing of
//! storage: a [`Model`] reacts to its own events and schedules more of them.
//!
//! Determinism rests on three rules kept here: integer time, the (time,
//! sequence) order of [`queue::EventQueue`], and one ChaCha stream per trial
//! (see [`trials`]).

pub mod queue;
pub mod trials;

use crate::units::Micros;
pub use queue::{EventKey, EventQueue, entry_bytes};

/// What a model tells the kernel after handling an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The trial's outcome is settled: stop before the horizon.
    Stop,
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// The next event lies beyond the horizon.
    Horizon,
    /// The model returned [`Flow::Stop`].
    Stopped,
    /// No events were left.
    Exhausted,
    /// The event budget ran out: the trial's result is incomplete.
    Budget,
    /// [`Limits::halt`] said to stop (a stop signal, a wall-time budget):
    /// the trial's result is incomplete.
    Halted,
}

/// The clock and pending events a model schedules into.
#[derive(Debug)]
pub struct Scheduler<E> {
    now: Micros,
    queue: EventQueue<E>,
    handled: u64,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self {
            now: 0,
            queue: EventQueue::default(),
            handled: 0,
        }
    }
}

impl<E> Scheduler<E> {
    pub fn now(&self) -> Micros {
        self.now
    }

    /// The next event due (possibly a cancelled one), without removing it.
    #[inline(always)]
    pub fn peek(&self) -> Option<&E> {
        self.queue.peek()
    }

    /// Number of events handled so far in this run.
    pub fn handled(&self) -> u64 {
        self.handled
    }

    /// Schedules `event` after `delay` (saturating at the end of time).
    pub fn schedule(&mut self, delay: Micros, event: E) -> EventKey {
        self.queue.push(self.now.saturating_add(delay), event)
    }

    /// Schedules `event` at absolute time `at`, never in the past.
    pub fn schedule_at(&mut self, at: Micros, event: E) -> EventKey {
        self.queue.push(at.max(self.now), event)
    }

    pub fn cancel(&mut self, key: EventKey) -> bool {
        self.queue.cancel(key)
    }

    /// Resets the clock and drops pending events, keeping allocations.
    pub fn reset(&mut self) {
        self.now = 0;
        self.handled = 0;
        self.queue.clear();
    }
}

/// A simulated system: it handles its events, scheduling new ones.
pub trait Model {
    type Event;
    fn handle(&mut self, event: Self::Event, sim: &mut Scheduler<Self::Event>) -> Flow;

    /// A hint, given before each event is handled: the event due after it
    /// ([`Scheduler::peek`]) is known, unless handling schedules an earlier
    /// one. A model may start loading the memory that event will read
    /// ([`crate::cache`]), so that its cache misses overlap the work in
    /// between. It must change nothing: results never depend on hints. By
    /// default it does nothing and costs nothing.
    #[inline(always)]
    fn prepare(&self, _sim: &Scheduler<Self::Event>) {}
}

/// Limits of one run.
#[derive(Clone, Copy)]
pub struct Limits<'a> {
    /// Events after this instant are not handled.
    pub horizon: Micros,
    /// At most this many events are handled.
    pub max_events: u64,
    /// Asked every [`HALT_CHECK_EVENTS`] events whether to stop now (a stop
    /// signal, a deadline): a run that explodes in time still ends.
    pub halt: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl Limits<'_> {
    /// Limits of time and events only.
    pub fn new(horizon: Micros, max_events: u64) -> Self {
        Self {
            horizon,
            max_events,
            halt: None,
        }
    }
}

/// Events between two looks at [`Limits::halt`]: often enough to stop
/// promptly even when events are slow (a zone outage re-homing millions of
/// copies), rarely enough to cost nothing (a clock read, ~25 ns, per 256
/// events of ~100 ns or more).
pub const HALT_CHECK_EVENTS: u64 = 1 << 8;

/// Runs `model` until the horizon, a stop, an empty queue, the event budget
/// or a halt. On return the clock stands at the horizon unless the model
/// stopped earlier.
pub fn run<M: Model>(model: &mut M, sim: &mut Scheduler<M::Event>, limits: Limits) -> RunEnd {
    loop {
        if sim.handled >= limits.max_events {
            return RunEnd::Budget;
        }
        if sim.handled % HALT_CHECK_EVENTS == HALT_CHECK_EVENTS - 1
            && limits.halt.is_some_and(|halt| halt())
        {
            return RunEnd::Halted;
        }
        let Some((at, event)) = sim.queue.pop_until(limits.horizon) else {
            sim.now = limits.horizon;
            return if sim.queue.is_empty() {
                RunEnd::Exhausted
            } else {
                RunEnd::Horizon
            };
        };
        sim.now = at;
        sim.handled += 1;
        model.prepare(sim);
        if model.handle(event, sim) == Flow::Stop {
            return RunEnd::Stopped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts ticks every 10 time units; stops at a chosen tick.
    struct Ticker {
        ticks: Vec<Micros>,
        stop_at: usize,
    }

    impl Model for Ticker {
        type Event = ();
        fn handle(&mut self, _: (), sim: &mut Scheduler<()>) -> Flow {
            self.ticks.push(sim.now());
            if self.ticks.len() == self.stop_at {
                return Flow::Stop;
            }
            sim.schedule(10, ());
            Flow::Continue
        }
    }

    fn run_ticker(stop_at: usize, limits: Limits) -> (Ticker, RunEnd, Micros) {
        let mut model = Ticker {
            ticks: vec![],
            stop_at,
        };
        let mut sim = Scheduler::default();
        sim.schedule(0, ());
        let end = run(&mut model, &mut sim, limits);
        (model, end, sim.now())
    }

    #[test]
    fn horizon_is_inclusive_and_clock_ends_there() {
        let limits = Limits::new(35, u64::MAX);
        let (model, end, now) = run_ticker(usize::MAX, limits);
        assert_eq!(model.ticks, vec![0, 10, 20, 30]);
        assert_eq!((end, now), (RunEnd::Horizon, 35));
    }

    #[test]
    fn stop_and_budget_end_the_run() {
        let limits = Limits::new(1000, u64::MAX);
        assert_eq!(run_ticker(3, limits).1, RunEnd::Stopped);
        let tight = Limits::new(1000, 5);
        let (model, end, _) = run_ticker(usize::MAX, tight);
        assert_eq!((model.ticks.len(), end), (5, RunEnd::Budget));
    }

    #[test]
    fn a_halt_ends_the_run_within_its_check_interval() {
        let asked = std::sync::atomic::AtomicU64::new(0);
        let halt = || asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 2;
        let limits = Limits {
            halt: Some(&halt),
            ..Limits::new(u64::MAX, u64::MAX)
        };
        let (model, end, _) = run_ticker(usize::MAX, limits);
        assert_eq!(end, RunEnd::Halted);
        assert_eq!(model.ticks.len() as u64, 3 * HALT_CHECK_EVENTS - 1);
    }
}
