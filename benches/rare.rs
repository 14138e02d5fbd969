//! Wall time to reach ±10% on the GRS scenario: `replisim run
//! scenarios/grs.toml --rel-error 0.1 --trials 256` stops at 2,048 trials
//! (interval within ±8.4% for GRS); this times a run of those 2,048 trials on
//! every core, fleet trials and rare-event group trials together.

use criterion::{Criterion, criterion_group, criterion_main};
use replisim::estimate::{Method, RunConfig, estimate};
use replisim::scenario;

fn grs_to_ten_percent(c: &mut Criterion) {
    let s = scenario::load(std::path::Path::new("scenarios/grs.toml")).expect("bundled scenario");
    let config = RunConfig {
        seed: s.seed,
        trials: 2048,
        threads: 0,
        method: Method::RareEvent,
    };
    let mut group = c.benchmark_group("rare-event");
    group.sample_size(10);
    group.bench_function("grs to ±10%", |b| {
        b.iter(|| estimate(&s, config).expect("runs"))
    });
    group.finish();
}

criterion_group!(benches, grs_to_ten_percent);
criterion_main!(benches);
