//! The event loop alone: the classic hold model. N entities each reschedule
//! themselves at an exponential delay; we measure events per second at
//! N = 16, 1k and 100k pending events.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use replisim::engine::trials::trial_rng;
use replisim::engine::{Flow, Limits, Model, Scheduler, run};

const EVENTS: u64 = 200_000;

struct Hold {
    rng: ChaCha8Rng,
}

impl Model for Hold {
    type Event = u32;
    fn handle(&mut self, entity: u32, sim: &mut Scheduler<u32>) -> Flow {
        // Exponential delay with mean 1e6 µs, by inversion.
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        sim.schedule((-(1.0 - u).ln() * 1e6) as u64, entity);
        Flow::Continue
    }
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(EVENTS));
    for n in [16u32, 1_000, 100_000] {
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| {
                let mut model = Hold {
                    rng: trial_rng(1, 0, 0),
                };
                let mut sim = Scheduler::default();
                for e in 0..n {
                    sim.schedule(u64::from(e), e);
                }
                let limits = Limits {
                    horizon: u64::MAX,
                    max_events: EVENTS,
                };
                run(&mut model, &mut sim, limits)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
