//! The figures the page offers to change, as `--set` paths, with their
//! values in the server's scenario. The page sends a `--set` only for a
//! field the user changed, so an untouched field keeps the file's value or
//! its documented default (docs/scenario.md).

use serde::Serialize;

/// One control of the page.
#[derive(Serialize)]
pub struct Control {
    pub path: &'static str,
    pub label: &'static str,
    /// The documented default and an example of the notation.
    pub hint: &'static str,
    /// The value written in the scenario, as TOML shows it; None if absent.
    pub value: Option<String>,
}

/// (path, label, hint) of every control, in the page's order.
const FIELDS: &[(&str, &str, &str)] = &[
    (
        "failures.disk.afr",
        "Disk AFR",
        "failures per disk-year: 1.57% or 0.0157",
    ),
    (
        "detection",
        "Detection delay",
        "failure to start of repair; default 15m",
    ),
    (
        "repair.disk_bandwidth",
        "Rebuild bandwidth per disk",
        "default 50MB/s",
    ),
    (
        "repair.facility_bandwidth",
        "Rebuild cap per datacenter",
        "default 50GB/s",
    ),
    (
        "geo_replication.bandwidth",
        "Geo link (re-copy after a failover)",
        "default 100MB/s",
    ),
    (
        "failures.facility.afr",
        "Datacenter losses per year",
        "e.g. 0.1%; default none",
    ),
    (
        "failures.zone.afr",
        "Zone losses per year",
        "e.g. 0.01%; default none",
    ),
    (
        "failures.region.afr",
        "Region losses per year",
        "e.g. 1e-6; default none",
    ),
    (
        "geo_replication.latency",
        "Replication lag",
        "write to shipping; default 30s",
    ),
    (
        "failover.after",
        "Failover after",
        "unwritable this long; default 1h",
    ),
    ("failover.duration", "Failover takes", "default 1h"),
    ("horizon", "Horizon", "simulated time per trial; default 1y"),
    ("trials", "Trials", "more: tighter intervals, slower"),
    ("seed", "Seed", "same seed, same numbers"),
];

/// The standard options the page lists as boxes to tick.
pub const STANDARD_OPTIONS: [&str; 6] = ["LRS", "ZRS", "GRS", "GZRS", "RA-GRS", "RA-GZRS"];

/// The controls with their values in scenario `text` (already validated).
pub fn controls(text: &str) -> Vec<Control> {
    let doc: Option<toml::Table> = toml::from_str(text).ok();
    FIELDS
        .iter()
        .map(|&(path, label, hint)| Control {
            path,
            label,
            hint,
            value: doc.as_ref().and_then(|d| lookup(d, path)).map(shown),
        })
        .collect()
}

/// The value at dotted `path` (no indices: the controls need none).
fn lookup<'d>(doc: &'d toml::Table, path: &str) -> Option<&'d toml::Value> {
    let (parents, key) = match path.rsplit_once('.') {
        Some((p, k)) => (Some(p), k),
        None => (None, path),
    };
    let mut table = doc;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        table = table.get(part)?.as_table()?;
    }
    table.get(key)
}

/// A value as typed into a control: strings bare, anything else as TOML.
fn shown(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_from_the_scenario_and_absent_ones_are_none() {
        let text = "trials = 10\ndetection = \"15m\"\n[failures.disk]\nafr = 0.0157\n";
        let c = controls(text);
        let value = |p: &str| c.iter().find(|c| c.path == p).unwrap().value.clone();
        assert_eq!(value("failures.disk.afr").as_deref(), Some("0.0157"));
        assert_eq!(value("detection").as_deref(), Some("15m"));
        assert_eq!(value("trials").as_deref(), Some("10"));
        assert_eq!(value("failures.region.afr"), None);
        assert_eq!(value("seed"), None);
    }
}
