//! Whole trials, one simulated year each, on one thread: trial-years per
//! second of the embedded default scenario (25,920 disks, four options) and
//! of the same scenario on a 100k-disk region pair (78 racks per facility:
//! 101,088 disks; same data, failure rates and repair).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use replisim::model::world::Plan;
use replisim::scenario::{self, DEFAULT_FILE, DEFAULT_TEXT, Scenario};

/// The default scenario on 78 racks per facility instead of 20.
fn large_region_pair() -> Scenario {
    let text = DEFAULT_TEXT.replace("racks_per_facility = 20", "racks_per_facility = 78");
    assert_ne!(
        text, DEFAULT_TEXT,
        "the default scenario's racks line moved"
    );
    scenario::parse(DEFAULT_FILE, &text, "large").expect("the large scenario is valid")
}

fn bench(c: &mut Criterion, name: &str, s: &Scenario) {
    let plan = Plan::new(&s.system, s.seed).expect("placement succeeds");
    let mut group = c.benchmark_group(name);
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

fn trials(c: &mut Criterion) {
    let default = scenario::default_scenario().expect("the embedded scenario is valid");
    bench(c, "default scenario", &default);
    bench(c, "100k-disk region pair", &large_region_pair());
}

criterion_group!(benches, trials);
criterion_main!(benches);
