//! The rare-event estimator against exact Markov-chain answers.

use replisim::markov::{RepairDiscipline, replica_group};
use replisim::model::world::Plan;
use replisim::rare::{RareSums, group_trial};
use replisim::scenario;

fn text(
    copies: u32,
    needed: u32,
    afr: f64,
    repair: &str,
    discipline: &str,
    horizon: &str,
) -> String {
    format!(
        r#"name = "rare-check"
options = []
detection = "0s"
horizon = "{horizon}"
[[custom]]
name = "group"
copies = {copies}
needed = {needed}
within = "facility"
spread = "rack"
[[region]]
name = "r"
zones = 1
facilities_per_zone = 1
racks_per_facility = 8
nodes_per_rack = 1
disks_per_node = 1
[data]
size = "1GB"
extent_size = "1GB"
[failures.disk]
afr = {afr}
[repair]
time = {{ dist = "exponential", mean = "{repair}" }}
discipline = "{discipline}"
"#
    )
}

#[test]
fn scratch() {
    for (copies, afr, days, years) in [
        (3u32, 2.0, 7.0, 1.0),
        (3, 0.02, 1.0, 1.0),
        (3, 0.002, 1.0, 10.0),
        (2, 0.01, 1.0, 1.0),
    ] {
        let t = text(
            copies,
            1,
            afr,
            &format!("{days}d"),
            "parallel",
            &format!("{years}y"),
        );
        let s = scenario::parse("r.toml", &t, "r").unwrap();
        let plan = Plan::new(&s.system, 1).unwrap();
        let mut sums = RareSums::default();
        for trial in 0..20000 {
            sums.record(&group_trial(&plan, 0, trial));
        }
        let mu = 365.25 / days;
        let exact = replica_group(copies, 1, afr, mu, RepairDiscipline::Parallel)
            .unwrap()
            .loss_probability(years)
            .unwrap()
            .probability;
        let ci = sums.loss.ci95();
        println!(
            "{copies} afr {afr}: exact {exact:.4e} est {:.4e} [{:.4e}, {:.4e}] re {:.3} ess {:.0} share {:.3} episodes {} steps {}",
            sums.loss.mean(),
            ci.lo,
            ci.hi,
            sums.loss.relative_error(),
            sums.loss.effective_sample_size(),
            sums.loss.max_share(),
            sums.episodes,
            sums.steps
        );
    }
}
