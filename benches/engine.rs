//! The event loop alone: the classic hold model. N entities each reschedule
//! themselves at an exponential delay; we measure events per second at
//! N = 16, 1k and 100k pending events.
//!
//! `hold` draws each delay as a model would (a ChaCha8 word and a logarithm);
//! `hold-table` reads the same distribution from a precomputed table, to show
//! how much of `hold` is the drawing rather than the event loop.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use replisim::engine::trials::trial_rng;
use replisim::engine::{Flow, Limits, Model, RunEnd, Scheduler, run};

const EVENTS: u64 = 200_000;
const PENDING: [u32; 3] = [16, 1_000, 100_000];
/// Delays in the table, a power of two so that the index is a mask.
const TABLE: usize = 1 << 16;

/// Exponential delay with mean 1e6 µs, by inversion.
fn exponential(rng: &mut ChaCha8Rng) -> u64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-(1.0 - u).ln() * 1e6) as u64
}

struct Hold {
    rng: ChaCha8Rng,
}

impl Model for Hold {
    type Event = u32;
    fn handle(&mut self, entity: u32, sim: &mut Scheduler<u32>) -> Flow {
        sim.schedule(exponential(&mut self.rng), entity);
        Flow::Continue
    }
}

/// `Hold` with its delays read in turn from a table.
struct HoldTable<'a> {
    delays: &'a [u64],
    next: usize,
}

impl Model for HoldTable<'_> {
    type Event = u32;
    fn handle(&mut self, entity: u32, sim: &mut Scheduler<u32>) -> Flow {
        let delay = self.delays[self.next & (TABLE - 1)];
        self.next += 1;
        sim.schedule(delay, entity);
        Flow::Continue
    }
}

/// Fills a queue with `n` entities (included in the measured time) and runs
/// `EVENTS` events.
fn run_hold<M: Model<Event = u32>>(model: &mut M, n: u32) -> RunEnd {
    let mut sim = Scheduler::default();
    for e in 0..n {
        sim.schedule(u64::from(e), e);
    }
    let limits = Limits::new(u64::MAX, EVENTS);
    run(model, &mut sim, limits)
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(EVENTS));
    for n in PENDING {
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let mut model = Hold {
                    rng: trial_rng(1, 0, 0),
                };
                run_hold(&mut model, n)
            })
        });
    }
    group.finish();
}

fn hold_table(c: &mut Criterion) {
    let mut rng = trial_rng(1, 0, 0);
    let delays: Vec<u64> = (0..TABLE).map(|_| exponential(&mut rng)).collect();
    let mut group = c.benchmark_group("hold-table");
    group.throughput(Throughput::Elements(EVENTS));
    for n in PENDING {
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let mut model = HoldTable {
                    delays: &delays,
                    next: 0,
                };
                run_hold(&mut model, n)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hold, hold_table);
criterion_main!(benches);
