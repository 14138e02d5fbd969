//! Whole trials of the embedded default scenario (25,920 disks, four options,
//! one simulated year each), on one thread: trial-years per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use replisim::model::world::Plan;
use replisim::scenario;

fn default_trials(c: &mut Criterion) {
    let s = scenario::default_scenario().expect("the embedded scenario is valid");
    let plan = Plan::new(&s.system, s.seed).expect("placement succeeds");
    let mut group = c.benchmark_group("default scenario");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    let mut trial = 0;
    group.bench_function("one trial-year", |b| {
        b.iter(|| {
            trial += 1;
            plan.run_trial(trial)
        })
    });
    group.finish();
}

criterion_group!(benches, default_trials);
criterion_main!(benches);
