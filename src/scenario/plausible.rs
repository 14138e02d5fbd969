//! Plausibility: values that are valid but most likely not what was meant
//! (an `afr` of 1.57 is 157% a year, not 1.57%; a horizon of zero measures
//! nothing). Each is a warning naming its field: printed before the run,
//! kept in `summary.json`, and an error under `--deny-warnings`.

use super::schema::ScenarioFile;
use crate::model::{Scope, System};
use crate::units::{self, YEAR};

/// A doubtful value: its field path and why it is doubtful.
pub type Warning = (String, String);

/// Every warning about `system`, built from `file`, in field order.
pub fn warnings(file: &ScenarioFile, system: &System) -> Vec<Warning> {
    let mut out = Vec::new();
    horizon(system, &mut out);
    data(file, system, &mut out);
    failures(system, &mut out);
    outages(system, &mut out);
    logical(system, &mut out);
    latent(system, &mut out);
    out
}

/// A latent-error rate far above the measured ones (docs/defaults.md: 0.01
/// to 0.5 per TB-year), most likely a per-disk or percentage slip; a scrub
/// slower than the horizon, which is almost never.
fn latent(system: &System, out: &mut Vec<Warning>) {
    let Some(l) = &system.latent else {
        return;
    };
    if l.rate_per_tb_year > 10.0 {
        out.push((
            "latent.rate".into(),
            format!(
                "{} latent errors per TB-year is over 20 times the highest figure in docs/defaults.md (0.5)",
                l.rate_per_tb_year
            ),
        ));
    }
    if let Some(t) = l.scrub_interval.filter(|&t| t > system.end()) {
        out.push((
            "latent.scrub_interval".into(),
            format!(
                "{}: longer than the whole trial, so a scrub is as good as never; say \"never\" if that is meant",
                units::format_duration(t)
            ),
        ));
    }
}

/// A restore window past what Azure offers: point-in-time restore and blob
/// soft delete keep at most 365 days.
fn logical(system: &System, out: &mut Vec<Warning>) {
    let Some(l) = &system.logical else {
        return;
    };
    if l.restore > 365 * units::DAY {
        out.push((
            "logical.restore".into(),
            format!(
                "{}: Azure's point-in-time restore and soft delete keep at most 365 days",
                units::format_duration(l.restore)
            ),
        ));
    }
}

fn horizon(system: &System, out: &mut Vec<Warning>) {
    if system.horizon == 0 {
        out.push((
            "horizon".into(),
            "a horizon of 0 simulates nothing: every probability is 0 and every figure empty"
                .into(),
        ));
    }
}

fn data(file: &ScenarioFile, system: &System, out: &mut Vec<Warning>) {
    let (size, extent) = (file.data.size.0, file.data.extent_size.0);
    if extent > size {
        out.push((
            "data.extent_size".into(),
            format!(
                "{} is larger than the data ({}): the data is one extent of {}",
                units::format_bytes(extent as f64),
                units::format_bytes(size as f64),
                units::format_bytes(system.extent_bytes as f64)
            ),
        ));
    }
}

/// A component class failing more than once a year on average: real disks
/// fail at 0.5–3% a year, nodes and racks rarely more than 10%.
fn failures(system: &System, out: &mut Vec<Warning>) {
    for f in &system.failures {
        let level = f.level.name();
        let mean = f.lifetime.mean();
        // A mean of a year or more (NaN never comes from a validated lifetime).
        if mean >= YEAR as f64 {
            continue;
        }
        let per_year = YEAR as f64 / mean.max(1.0);
        let (field, how) = match f.lifetime.exponential_rate() {
            Some(_) => (
                format!("failures.{level}.afr"),
                format!(
                    "an afr of {per_year} means {:.0}% of the {level}s fail each year; if {per_year}% was meant, write \"{per_year}%\"",
                    per_year * 100.0
                ),
            ),
            None => (
                format!("failures.{level}.lifetime"),
                format!(
                    "a mean {level} lifetime of {} means each {level} fails {per_year:.1} times a year",
                    units::format_duration(mean.round() as u64)
                ),
            ),
        };
        out.push((field, how));
    }
}

/// An outage class whose components are down more than they are up.
fn outages(system: &System, out: &mut Vec<Warning>) {
    for o in &system.outages {
        let scope = match o.scope {
            Scope::Component(level) => level.name(),
            Scope::Link => "link",
        };
        let (between, duration) = (o.between.mean(), o.duration.mean());
        if between < duration {
            out.push((
                format!("outages.{scope}"),
                format!(
                    "outages last {} on average but come {} apart: each {scope} is down most of the time",
                    units::format_duration(duration.round() as u64),
                    units::format_duration(between.round() as u64)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    fn warned(text: &str) -> Vec<String> {
        let s = parse("t.toml", text, "t").unwrap();
        s.warnings
            .iter()
            .map(|(f, _)| f.clone())
            .collect::<Vec<_>>()
    }

    #[test]
    fn the_bundled_kind_of_scenario_warns_of_nothing() {
        assert!(warned("seed = 1\n").is_empty());
    }

    #[test]
    fn doubtful_values_are_named() {
        assert_eq!(
            warned("[failures.disk]\nafr = 1.57\n"),
            ["failures.disk.afr"]
        );
        assert_eq!(
            warned("[failures.disk]\nafr = \"150%\"\n"),
            ["failures.disk.afr"]
        );
        assert_eq!(warned("horizon = \"0y\"\n"), ["horizon"]);
        assert_eq!(
            warned("[data]\nsize = \"10GB\"\nextent_size = \"1TB\"\n"),
            ["data.extent_size"]
        );
        assert_eq!(
            warned("[outages.zone]\nbetween = \"1h\"\nduration = \"2h\"\n"),
            ["outages.zone"]
        );
    }
}
