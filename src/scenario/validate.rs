//! Checks across fields and the translation of a parsed scenario file into
//! the validated model. Errors name the field path; `Source` locates it.

use super::diagnostic::{help_for, with_help};
use super::schema::{
    CopyGroupSpec, DistSpec, DistTable, FailureSpec, FaultSpec, OutageSpec, RegionSpec,
    RegionsSpec, ScenarioFile, ShapeSpec,
};
use crate::dist::Dist;
use crate::model::logical::LogicalErrors;
use crate::model::{AccessPolicy, Deletion, Latent};
use crate::model::{
    CopyGroup, FailoverPolicy, FailureProcess, Fault, FaultKind, GeoReplication, Initiator,
    KeyPolicy, Layout, Level, OutageProcess, Region, Repair, RepairDiscipline, ReplicationOption,
    Scope, Shape, System, Topology,
};
use crate::units::{self, DAY, HOUR, MINUTE, Micros, YEAR};

/// A mistake in one field: its path and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

type Result<T> = std::result::Result<T, FieldError>;

mod burst;
mod code;

fn err<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T> {
    Err(FieldError {
        path: path.into(),
        message: message.into(),
    })
}

/// Names of the standard options, in the order the docs present them.
pub const STANDARD_OPTIONS: [&str; 6] = ["LRS", "ZRS", "GRS", "GZRS", "RA-GRS", "RA-GZRS"];

/// Options are numbered in 16 bits and each needs its own random stream.
const MAX_OPTIONS: usize = 1024;

/// Group trials per fleet trial: each option's fleet trial holds one
/// estimate per group trial for the tail diagnostics (32 KiB at most).
pub const MAX_GROUP_TRIALS: u32 = 4096;

pub fn system(file: &ScenarioFile) -> Result<System> {
    if file.group_trials.0 > MAX_GROUP_TRIALS {
        return err(
            "group_trials",
            format!(
                "must be from 1 to {MAX_GROUP_TRIALS} group trials per fleet trial, got {}",
                file.group_trials.0
            ),
        );
    }
    let regions = regions(file)?;
    let disk_bytes = (file.topology.disk_capacity.0 as f64 * file.topology.fill.0).round() as u64;
    if file.topology.fill.0 > 1.0 {
        return err(
            "topology.fill",
            "must be a fraction from 0 to 1 (e.g. 0.75)",
        );
    }
    let primary = primary_region(file, &regions)?;
    let topology = Topology::build(regions, disk_bytes).or_else(|m| err("topology", m))?;
    let mut options = Vec::new();
    for (i, name) in file.options.iter().enumerate() {
        options.push(standard_option(
            name,
            primary,
            &topology,
            &format!("options[{i}]"),
        )?);
    }
    for (i, custom) in file.custom.iter().enumerate() {
        options.push(custom_option(
            custom,
            primary,
            &topology,
            &format!("custom[{i}]"),
        )?);
    }
    if options.is_empty() {
        return err("options", "list at least one replication option");
    }
    if options.len() > MAX_OPTIONS {
        return err(
            "custom",
            format!("{} options; at most {MAX_OPTIONS}", options.len()),
        );
    }
    check_unique_names(&options)?;
    check_residency(file, &options, &topology)?;
    check_fits(&options, &topology).map_err(|e| zoneless_hint(file, e))?;
    let (extent_bytes, extents) = extents(file)?;
    let mut faults = faults(file, &topology)?;
    let random = super::replay::faults(file, &topology, &mut faults)?;
    let keys = keys(file, &topology, primary)?;
    let deletion = deletion(file)?;
    let logical = logical(file)?;
    let latent = file.latent.as_ref().map(|l| Latent {
        rate_per_tb_year: l.rate.0,
        scrub_interval: l.scrub_interval.0.map(|t| t.0),
    });
    let bursts = burst::bursts(file, &topology)?;
    let access = access(file, &options)?;
    Ok(System {
        topology,
        extent_bytes,
        extents,
        one_stamp: one_stamp(file)?,
        options,
        failures: failures(file)?,
        detection: dist(&file.detection, "detection")?,
        repair: repair(file)?,
        discipline: discipline(file)?,
        horizon: file.horizon.0,
        warmup: warmup(file)?,
        outages: outages(file)?,
        faults,
        bursts,
        geo: geo(file)?,
        failover: failover(file)?,
        keys,
        access,
        deletion,
        logical,
        latent,
    })
    .map(|system| without_random(system, random))
}

/// `[data] stamp`: whether each option's data is one account in one stamp.
fn one_stamp(file: &ScenarioFile) -> Result<bool> {
    match file.data.stamp.as_str() {
        "per extent" => Ok(false),
        "one" => Ok(true),
        other => err(
            "data.stamp",
            format!(
                "unknown stamp `{other}`; allowed: \"per extent\" (each extent anchored on its own, as data spread over many accounts), \"one\" (one account in one stamp, as Azure places one)"
            ),
        ),
    }
}

/// Simulated time before the measured horizon: `warmup` for a fleet in
/// operation (`start = "steady"`), none for a new one. Whole days, so the
/// hours of the write profile line up with the measured year's.
fn warmup(file: &ScenarioFile) -> Result<Micros> {
    match file.start.as_str() {
        "new" => Ok(0),
        "steady" if file.warmup.0 % units::DAY != 0 => err(
            "warmup",
            "give a whole number of days (e.g. \"365d\"), so the hours of the write profile line up",
        ),
        "steady" => Ok(file.warmup.0),
        other => err(
            "start",
            format!(
                "unknown start `{other}`; allowed: steady (a fleet in operation), new (a new fleet)"
            ),
        ),
    }
}

fn shape(base: &ShapeSpec, r: &RegionSpec) -> Shape {
    Shape {
        zones: r.zones.unwrap_or(base.zones).0,
        facilities_per_zone: r.facilities_per_zone.unwrap_or(base.facilities_per_zone).0,
        racks_per_facility: r.racks_per_facility.unwrap_or(base.racks_per_facility).0,
        nodes_per_rack: r.nodes_per_rack.unwrap_or(base.nodes_per_rack).0,
        disks_per_node: r.disks_per_node.unwrap_or(base.disks_per_node).0,
    }
}

/// The region tables: as written, or those a catalog name stands for.
fn region_specs(file: &ScenarioFile) -> Result<std::borrow::Cow<'_, [RegionSpec]>> {
    match &file.regions {
        RegionsSpec::Listed(specs) => Ok(specs.into()),
        RegionsSpec::Catalog(name) => super::catalog::catalog()
            .scenario_regions(name)
            .map(Into::into)
            .or_else(|m| err("region", m)),
    }
}

fn regions(file: &ScenarioFile) -> Result<Vec<Region>> {
    let specs = region_specs(file)?;
    if specs.is_empty() {
        return err("region", "define at least one [[region]]");
    }
    let index_of = |name: &str| specs.iter().position(|r| r.name == name);
    let mut regions = Vec::new();
    for (i, r) in specs.iter().enumerate() {
        if index_of(&r.name) != Some(i) {
            return err(
                format!("region[{i}].name"),
                format!("region `{}` is defined twice", r.name),
            );
        }
        let pair = match &r.pair {
            None => None,
            Some(p) => Some(pair_index(&specs, i, p, index_of(p))?),
        };
        regions.push(Region {
            name: r.name.clone(),
            geography: r.geography.clone(),
            pair,
            shape: shape(&file.topology, r),
        });
    }
    Ok(regions)
}

/// The paired region must exist and differ. Whether copies may cross to
/// another geography is the options' question (`check_residency`).
fn pair_index(specs: &[RegionSpec], i: usize, pair: &str, found: Option<usize>) -> Result<u32> {
    let path = format!("region[{i}].pair");
    let names: Vec<&str> = specs.iter().map(|r| r.name.as_str()).collect();
    let Some(j) = found else {
        return err(path, no_region_named(pair, &names));
    };
    if j == i {
        return err(path, "a region cannot be paired with itself");
    }
    Ok(j as u32)
}

/// A region name the scenario does not define: the nearest defined one as
/// the help (a slip), or the list of them.
fn no_region_named(name: &str, names: &[&str]) -> String {
    let defined = format!("defined regions: {}", names.join(", "));
    with_help(
        format!("no region named `{name}`"),
        help_for(name, names, &defined),
    )
}

/// Data never leaves its geography (the seeds; Azure region pairs): an
/// option keeping copies in a pair across a geography boundary is refused
/// unless the scenario accepts it (`residency.allow_cross_geography`).
fn check_residency(
    file: &ScenarioFile,
    options: &[ReplicationOption],
    topo: &Topology,
) -> Result<()> {
    if file.residency.allow_cross_geography {
        return Ok(());
    }
    for o in options {
        let Some(first) = o.groups.first() else {
            continue;
        };
        let home = &topo.regions[first.region as usize];
        let away = o.groups.iter().map(|g| &topo.regions[g.region as usize]);
        if let Some(far) = away.into_iter().find(|r| r.geography != home.geography) {
            let path = match &file.regions {
                RegionsSpec::Catalog(_) => "region".to_string(),
                RegionsSpec::Listed(_) => format!("region[{}].pair", first.region),
            };
            let refusal = format!(
                "{} keeps copies in `{}` (geography `{}`), the pair of `{}` (geography `{}`): \
                     data may not leave its geography",
                o.name, far.name, far.geography, home.name, home.geography
            );
            return err(
                path,
                with_help(
                    refusal,
                    "to accept it, set residency.allow_cross_geography = true",
                ),
            );
        }
    }
    Ok(())
}

fn primary_region(file: &ScenarioFile, regions: &[Region]) -> Result<u32> {
    match &file.data.primary {
        None => Ok(0),
        Some(name) => regions
            .iter()
            .position(|r| &r.name == name)
            .map(|i| i as u32)
            .ok_or_else(|| FieldError {
                path: "data.primary".into(),
                message: no_region_named(
                    name,
                    &regions.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
                ),
            }),
    }
}

fn group(copies: u32, region: u32, within: Level, spread: Level) -> CopyGroup {
    CopyGroup {
        copies,
        region,
        within,
        spread,
    }
}

fn standard_option(
    name: &str,
    primary: u32,
    topo: &Topology,
    path: &str,
) -> Result<ReplicationOption> {
    let upper = name.to_ascii_uppercase();
    if !STANDARD_OPTIONS.contains(&upper.as_str()) {
        return err(
            path,
            format!(
                "unknown option `{name}`; allowed: {} (or define one under [[custom]])",
                STANDARD_OPTIONS.join(", ")
            ),
        );
    }
    let lrs = |region| group(3, region, Level::Facility, Level::Rack);
    let zrs = |region| group(3, region, Level::Region, Level::Zone);
    let mut groups = vec![if upper.contains("GZRS") || upper == "ZRS" {
        zrs(primary)
    } else {
        lrs(primary)
    }];
    if upper.contains("GRS") || upper.contains("GZRS") {
        groups.push(lrs(secondary_region(&upper, primary, topo, path)?));
    }
    Ok(ReplicationOption {
        name: upper.clone(),
        groups,
        read_access_secondary: upper.starts_with("RA-"),
        code: crate::model::Code::Copies { needed: 1 },
        layout: Layout::Random,
    })
}

fn secondary_region(name: &str, primary: u32, topo: &Topology, path: &str) -> Result<u32> {
    let region = &topo.regions[primary as usize];
    region.pair.ok_or_else(|| FieldError {
        path: path.into(),
        message: format!(
            "{name} keeps a copy in the paired region, but region `{}` has no `pair`; add pair = \"...\" to its [[region]]",
            region.name
        ),
    })
}

fn level(text: &str, path: &str) -> Result<Level> {
    Level::parse(text).ok_or_else(|| FieldError {
        path: path.into(),
        message: format!(
            "`{text}` is not a level; allowed: region, zone, facility, rack, node, disk"
        ),
    })
}

fn copy_group(spec: &CopyGroupSpec, region: u32, path: &str) -> Result<CopyGroup> {
    let within = level(&spec.within, &format!("{path}.within"))?;
    let spread = level(&spec.spread, &format!("{path}.spread"))?;
    if spread <= within {
        return err(
            format!("{path}.spread"),
            format!(
                "copies spread over {}s must lie below `within` ({})",
                spread.name(),
                within.name()
            ),
        );
    }
    // Bounded here, so that no sum of groups' copies can overflow.
    let max = crate::model::world::MAX_COPIES;
    if spec.copies.0 as usize > max {
        return err(
            format!("{path}.copies"),
            format!("{} copies; an option keeps at most {max}", spec.copies.0),
        );
    }
    Ok(group(spec.copies.0, region, within, spread))
}

fn custom_option(
    c: &super::schema::CustomOption,
    primary: u32,
    topo: &Topology,
    path: &str,
) -> Result<ReplicationOption> {
    let (slots, code) = code::slots_and_code(c, path)?;
    let spec = CopyGroupSpec {
        copies: super::schema::Count(slots),
        within: c.within.clone(),
        spread: c.spread.clone(),
    };
    let mut groups = vec![copy_group(&spec, primary, path)?];
    if let Some(s) = &c.secondary {
        let region = secondary_region(&c.name, primary, topo, &format!("{path}.secondary"))?;
        groups.push(copy_group(s, region, &format!("{path}.secondary"))?);
    }
    if c.read_access && groups.len() < 2 {
        return err(
            format!("{path}.read_access"),
            "read access needs a `secondary` copy group",
        );
    }
    let copies: u32 = groups.iter().map(|g| g.copies).sum();
    if let crate::model::Code::Copies { needed } = code
        && needed > copies
    {
        return err(
            format!("{path}.needed"),
            format!("{needed} copies needed but the option keeps only {copies}"),
        );
    }
    let g = &groups[0];
    code::check_room(
        code,
        (g.region, g.within, g.spread),
        topo,
        &format!("{path}.code"),
    )?;
    Ok(ReplicationOption {
        name: c.name.clone(),
        groups,
        read_access_secondary: c.read_access,
        code,
        layout: layout(c, path)?,
    })
}

/// Scatter widths beyond this are refused: building the copysets costs
/// ⌈S/(R−1)⌉ shuffles of every component's nodes.
const MAX_SCATTER_WIDTH: u32 = 1024;

/// The layout of a custom option's copies, from `placement` and
/// `scatter_width`.
fn layout(c: &super::schema::CustomOption, path: &str) -> Result<Layout> {
    let width = c.scatter_width.map(|w| w.0);
    match (c.placement.as_deref().unwrap_or("random"), width) {
        ("random", None) => Ok(Layout::Random),
        ("random", Some(_)) => err(
            format!("{path}.scatter_width"),
            "only copyset placement has a scatter width; add placement = \"copyset\"",
        ),
        ("copyset", w) => match w.unwrap_or(2) {
            s @ 1..=MAX_SCATTER_WIDTH => Ok(Layout::Copyset { scatter_width: s }),
            s => err(
                format!("{path}.scatter_width"),
                format!("{s}: a scatter width runs from 1 to {MAX_SCATTER_WIDTH}"),
            ),
        },
        (other, _) => err(
            format!("{path}.placement"),
            format!("unknown placement `{other}`; allowed: random, copyset"),
        ),
    }
}

/// A catalog region without availability zones is built as one zone: say
/// so when that is why an option does not fit.
fn zoneless_hint(file: &ScenarioFile, e: FieldError) -> FieldError {
    let RegionsSpec::Catalog(name) = &file.regions else {
        return e;
    };
    let zoneless = super::catalog::catalog()
        .get(name)
        .is_some_and(|r| r.zones == 0);
    if !zoneless || !e.message.contains("zones") {
        return e;
    }
    FieldError {
        message: format!(
            "{}: `{name}` has no availability zones (the catalog), so it is one zone; list options without ZRS or GZRS, e.g. options = [\"LRS\", \"GRS\"]",
            e.message
        ),
        ..e
    }
}

fn check_unique_names(options: &[ReplicationOption]) -> Result<()> {
    for (i, o) in options.iter().enumerate() {
        if options[..i].iter().any(|p| p.name == o.name) {
            return err("options", format!("option `{}` is listed twice", o.name));
        }
    }
    Ok(())
}

/// Each option's copies must fit: at most `MAX_COPIES` in all, and a group's scope
/// must hold at least as many disks as the group has copies.
fn check_fits(options: &[ReplicationOption], topo: &Topology) -> Result<()> {
    for o in options {
        if o.copies() as usize > crate::model::world::MAX_COPIES {
            return err(
                "custom",
                format!(
                    "option `{}` keeps {} copies; at most {}",
                    o.name,
                    o.copies(),
                    crate::model::world::MAX_COPIES
                ),
            );
        }
        for g in &o.groups {
            let scope = topo
                .components_within(Level::Region, g.region, g.within)
                .start;
            let disks = topo.disk_range(g.within, scope).len() as u32;
            let spread_units = topo.components_within(g.within, scope, g.spread).len() as u32;
            if disks < g.copies {
                return err(
                    "topology",
                    format!(
                        "option `{}` keeps {} copies in one {}, which holds only {disks} disks",
                        o.name,
                        g.copies,
                        g.within.name()
                    ),
                );
            }
            if spread_units < g.copies {
                return err(
                    "topology",
                    format!(
                        "option `{}` spreads {} copies over distinct {}s of a {}, which has only {spread_units}",
                        o.name,
                        g.copies,
                        g.spread.name(),
                        g.within.name()
                    ),
                );
            }
        }
    }
    Ok(())
}

fn extents(file: &ScenarioFile) -> Result<(u64, u32)> {
    let (size, extent) = (file.data.size.0, file.data.extent_size.0);
    if extent == 0 {
        return err("data.extent_size", "must be larger than 0");
    }
    let n = size.div_ceil(extent);
    if n == 0 {
        return err("data.size", "must be larger than 0");
    }
    u32::try_from(n).map(|n| (extent, n)).or_else(|_| {
        err(
            "data.extent_size",
            format!("{n} extents is too many (at most 2^32); use larger extents"),
        )
    })
}

fn failures(file: &ScenarioFile) -> Result<Vec<FailureProcess>> {
    let f = &file.failures;
    let classes = [
        (Level::Disk, &f.disk, DAY),
        (Level::Node, &f.node, 2 * DAY),
        (Level::Rack, &f.rack, 7 * DAY),
        (Level::Facility, &f.facility, YEAR / 2),
        (Level::Zone, &f.zone, YEAR / 2),
        (Level::Region, &f.region, YEAR),
    ];
    let mut processes = Vec::new();
    for (lvl, spec, replace) in classes {
        if let Some(spec) = spec {
            let path = format!("failures.{}", lvl.name());
            if let Some(lifetime) = lifetime(spec, &path)? {
                processes.push(FailureProcess {
                    level: lvl,
                    lifetime,
                    replace: spec.replace.map_or(replace, |d| d.0),
                });
            }
        }
    }
    Ok(processes)
}

/// The lifetime distribution, or None when the failure rate is zero.
fn lifetime(spec: &FailureSpec, path: &str) -> Result<Option<Dist>> {
    match (&spec.afr, &spec.lifetime) {
        (Some(_), Some(_)) => err(
            format!("{path}.lifetime"),
            "give either `afr` or `lifetime`, not both",
        ),
        (None, None) => err(
            path,
            "give `afr` (failures per component-year) or a `lifetime` distribution",
        ),
        (Some(afr), None) if afr.0 == 0.0 => Ok(None),
        (Some(afr), None) => Dist::exponential(YEAR as f64 / afr.0)
            .map(Some)
            .or_else(|m| err(format!("{path}.afr"), m)),
        (None, Some(d)) => dist(d, &format!("{path}.lifetime")).map(Some),
    }
}

fn dist(spec: &DistSpec, path: &str) -> Result<Dist> {
    let built = match spec {
        DistSpec::Fixed(d) => Ok(Dist::fixed(d.0)),
        DistSpec::Table(DistTable::Fixed { value }) => Ok(Dist::fixed(value.0)),
        DistSpec::Table(DistTable::Exponential { mean }) => Dist::exponential(mean.0 as f64),
        DistSpec::Table(DistTable::Weibull { shape, mean }) => {
            Dist::weibull(shape.0, mean.0 as f64)
        }
        DistSpec::Table(DistTable::Lognormal { median, sigma }) => {
            Dist::lognormal(median.0 as f64, sigma.0)
        }
    };
    built.or_else(|m| err(path, m))
}

fn discipline(file: &ScenarioFile) -> Result<RepairDiscipline> {
    let r = &file.repair;
    match r.discipline.as_str() {
        "parallel" => Ok(RepairDiscipline::Parallel),
        "one-at-a-time" if r.time.is_some() => Ok(RepairDiscipline::OneAtATime),
        "one-at-a-time" => err(
            "repair.discipline",
            "one-at-a-time repair needs a repair-time distribution `repair.time`",
        ),
        other => err(
            "repair.discipline",
            format!("unknown discipline `{other}`; allowed: parallel, one-at-a-time"),
        ),
    }
}

fn repair(file: &ScenarioFile) -> Result<Repair> {
    let r = &file.repair;
    if r.geo_bandwidth.is_some() {
        return err(
            "repair.geo_bandwidth",
            "no longer a field: a copy group re-seeded from the other region is re-copied over the account's link, `geo_replication.bandwidth` (docs/failover.md)",
        );
    }
    if let Some(time) = &r.time {
        return Ok(Repair::Time(dist(time, "repair.time")?));
    }
    for (name, bw) in [
        ("disk_bandwidth", r.disk_bandwidth),
        ("facility_bandwidth", r.facility_bandwidth),
    ] {
        if bw.0 <= 0.0 {
            return err(format!("repair.{name}"), "must be larger than 0");
        }
    }
    Ok(Repair::Bandwidth {
        disk_bytes_per_s: r.disk_bandwidth.0,
        facility_bytes_per_s: r.facility_bandwidth.0,
    })
}

fn outages(file: &ScenarioFile) -> Result<Vec<OutageProcess>> {
    let o = &file.outages;
    let classes = [
        (Scope::Component(Level::Node), "node", &o.node, 10 * MINUTE),
        (Scope::Component(Level::Rack), "rack", &o.rack, HOUR),
        (
            Scope::Component(Level::Facility),
            "facility",
            &o.facility,
            6 * HOUR,
        ),
        (Scope::Component(Level::Zone), "zone", &o.zone, 6 * HOUR),
        (
            Scope::Component(Level::Region),
            "region",
            &o.region,
            12 * HOUR,
        ),
        (Scope::Link, "link", &o.link, 30 * MINUTE),
    ];
    let mut processes = Vec::new();
    for (scope, name, spec, duration) in classes {
        let Some(spec) = spec else { continue };
        let path = format!("outages.{name}");
        let duration = match &spec.duration {
            Some(d) => dist(d, &format!("{path}.duration"))?,
            None => Dist::fixed(duration),
        };
        if let Some(between) = between(spec, &path)? {
            processes.push(OutageProcess {
                scope,
                between,
                duration,
            });
        }
    }
    Ok(processes)
}

/// The time between outages, or None when the rate is zero.
fn between(spec: &OutageSpec, path: &str) -> Result<Option<Dist>> {
    match (&spec.rate, &spec.between) {
        (Some(_), Some(_)) => err(
            format!("{path}.between"),
            "give either `rate` or `between`, not both",
        ),
        (None, None) => err(
            path,
            "give `rate` (outages per component-year) or a `between` distribution",
        ),
        (Some(rate), None) if rate.0 == 0.0 => Ok(None),
        (Some(rate), None) => Dist::exponential(YEAR as f64 / rate.0)
            .map(Some)
            .or_else(|m| err(format!("{path}.rate"), m)),
        (None, Some(d)) => dist(d, &format!("{path}.between")).map(Some),
    }
}

fn faults(file: &ScenarioFile, topo: &Topology) -> Result<Vec<Fault>> {
    if file.faults.len() > usize::from(u16::MAX) {
        return err("fault", "at most 65535 faults");
    }
    let mut out = Vec::new();
    for (i, f) in file.faults.iter().enumerate() {
        out.push(fault(f, topo, file.horizon.0, &format!("fault[{i}]"))?);
    }
    Ok(out)
}

/// A scripted time `at` (counted from the start of the measured horizon)
/// that falls inside it; else an error at `path`: `what` would never happen.
fn within_horizon(at: Micros, horizon: Micros, path: String, what: &str) -> Result<()> {
    if at <= horizon {
        return Ok(());
    }
    err(
        path,
        format!(
            "{} is after the horizon ({}): {what} would never happen",
            units::format_duration(at),
            units::format_duration(horizon)
        ),
    )
}

fn fault(f: &FaultSpec, topo: &Topology, horizon: Micros, path: &str) -> Result<Fault> {
    within_horizon(f.at.0, horizon, format!("{path}.at"), "the fault")?;
    let subset = f.fraction.is_some() || f.count.is_some();
    if subset && f.level == "link" {
        return err(
            format!("{path}.level"),
            "a `fraction` or `count` strikes components below the target: a link has none",
        );
    }
    let mut drawn = None;
    let (scope, component) = if f.level == "link" {
        (Scope::Link, link_target(&f.target, topo, path)?)
    } else if subset {
        let lvl = level(&f.level, &format!("{path}.level"))?;
        let (component, s) = burst::subset_target(f, lvl, topo, path)?;
        drawn = Some(s);
        (Scope::Component(lvl), component)
    } else {
        let lvl = level(&f.level, &format!("{path}.level")).map_err(|e| FieldError {
            message: e.message.replace("disk", "disk, link"),
            ..e
        })?;
        (
            Scope::Component(lvl),
            component_target(&f.target, lvl, topo, path)?,
        )
    };
    let durations = (f.duration.map(|d| d.0), f.replace.map(|r| r.0));
    let kind = fault_kind(&f.kind, durations, scope, path)?;
    Ok(Fault {
        at: f.at.0,
        scope,
        component,
        kind,
        subset: drawn,
    })
}

/// What a scripted fault does, from its `kind` and its (duration,
/// replace): errors at `path.kind`, `path.duration` or `path.replace`.
pub(super) fn fault_kind(
    kind: &str,
    (duration, replace): (Option<Micros>, Option<Micros>),
    scope: Scope,
    path: &str,
) -> Result<FaultKind> {
    let field = |name: &str| format!("{path}.{name}");
    let kind = match (kind, duration, replace) {
        ("down", Some(d), None) => FaultKind::Down { duration: d },
        ("down", None, _) => {
            return err(
                field("kind"),
                "a `down` fault needs a `duration`, e.g. duration = \"6h\"",
            );
        }
        ("down", Some(_), Some(_)) => {
            return err(
                field("replace"),
                "only a `destroyed` component is replaced; a `down` one comes back after `duration`",
            );
        }
        ("destroyed", _, _) if scope == Scope::Link => {
            return err(field("kind"), "a link can only be `down`");
        }
        ("destroyed", None, replace) => FaultKind::Destroyed {
            replace: replace.unwrap_or(default_replace(scope)),
        },
        ("destroyed", Some(_), _) => {
            return err(
                field("duration"),
                "a destroyed component comes back after `replace`, not `duration`",
            );
        }
        (other, _, _) => {
            return err(
                field("kind"),
                format!("unknown kind `{other}`; allowed: destroyed, down"),
            );
        }
    };
    Ok(kind)
}

/// The replacement delay of a destroyed component, as for failures.
fn default_replace(scope: Scope) -> Micros {
    match scope {
        Scope::Component(Level::Disk) => DAY,
        Scope::Component(Level::Node) => 2 * DAY,
        Scope::Component(Level::Rack) => 7 * DAY,
        Scope::Component(Level::Region) => YEAR,
        _ => YEAR / 2,
    }
}

fn region_index(name: &str, topo: &Topology, path: &str) -> Result<u32> {
    let names: Vec<&str> = topo.regions.iter().map(|r| r.name.as_str()).collect();
    match names.iter().position(|&n| n == name) {
        Some(r) => Ok(r as u32),
        None => err(format!("{path}.target"), no_region_named(name, &names)),
    }
}

/// The link of a region and its pair.
fn link_target(target: &str, topo: &Topology, path: &str) -> Result<u32> {
    let r = region_index(target, topo, path)?;
    match topo.regions[r as usize].pair {
        Some(p) => Ok(crate::model::fleet::link_of(r, p)),
        None => err(
            format!("{path}.target"),
            format!("region `{target}` has no `pair`, so no link to take down"),
        ),
    }
}

/// "westeurope/2/1" names facility 1 of zone 2 of westeurope (1-based,
/// within the parent): one index per level below the region.
fn component_target(target: &str, lvl: Level, topo: &Topology, path: &str) -> Result<u32> {
    let mut parts = target.split('/');
    let region = parts.next().unwrap_or_default();
    let r = region_index(region, topo, path)?;
    let indices: Vec<&str> = parts.collect();
    let example: Vec<&str> = Level::ALL[1..=lvl as usize]
        .iter()
        .map(|l| l.name())
        .collect();
    if indices.len() != lvl as usize {
        return err(
            format!("{path}.target"),
            format!(
                "a {} is named region/{} (1-based indices), e.g. \"{region}{}\"",
                lvl.name(),
                example.join("/"),
                "/1".repeat(lvl as usize)
            ),
        );
    }
    let (mut at, mut c, mut named) = (Level::Region, r, region.to_string());
    for (text, below) in indices.iter().zip(&Level::ALL[1..]) {
        let range = topo.components_within(at, c, *below);
        let count = range.len();
        match text.trim().parse::<usize>() {
            Ok(i) if (1..=count).contains(&i) => c = range.start + i as u32 - 1,
            _ => {
                return err(
                    format!("{path}.target"),
                    format!(
                        "`{text}` is not a {} of {} `{named}`: it has {count}, numbered 1 to {count}",
                        below.name(),
                        at.name(),
                    ),
                );
            }
        }
        named = format!("{named}/{}", text.trim());
        at = *below;
    }
    Ok(c)
}

fn geo(file: &ScenarioFile) -> Result<GeoReplication> {
    let g = &file.geo_replication;
    let write = g.write_rate.0.round() as u64;
    let link = g.bandwidth.0.round() as u64;
    if link == 0 {
        return err("geo_replication.bandwidth", "must be at least 1B/s");
    }
    let mut write_rate = [write; 24];
    if let Some(profile) = &g.profile {
        if profile.len() != 24 {
            return err(
                "geo_replication.profile",
                format!(
                    "give 24 hourly multipliers (hour 0 first), got {}",
                    profile.len()
                ),
            );
        }
        for (rate, m) in write_rate.iter_mut().zip(profile) {
            *rate = (g.write_rate.0 * m.0).round() as u64;
        }
    }
    // Far above any account's ingress (Azure's largest accounts take tens of
    // GB/s); beyond it the replication queue's arithmetic runs away.
    const MAX_WRITE_BYTES_PER_S: u64 = 1_000_000_000_000_000;
    if let Some(&rate) = write_rate.iter().find(|&&r| r > MAX_WRITE_BYTES_PER_S) {
        let field = if g.profile.is_some() {
            "geo_replication.profile"
        } else {
            "geo_replication.write_rate"
        };
        return err(
            field,
            format!("a write rate of {rate} B/s; at most 1 PB/s (a multiplier too large?)"),
        );
    }
    Ok(GeoReplication {
        write_rate,
        link_bytes_per_s: link,
        latency: g.latency.0,
    })
}

fn failover(file: &ScenarioFile) -> Result<FailoverPolicy> {
    let f = &file.failover;
    let initiator = match f.policy.as_str() {
        "customer" => Initiator::Customer,
        "provider" => Initiator::Provider,
        "none" => Initiator::Never,
        other => {
            return err(
                "failover.policy",
                format!("unknown policy `{other}`; allowed: customer, provider, none"),
            );
        }
    };
    if f.unavailable_fraction.0 > 1.0 {
        return err(
            "failover.unavailable_fraction",
            "must be a fraction from 0 to 1 (e.g. 0.1)",
        );
    }
    for (i, at) in f.planned.iter().enumerate() {
        let path = format!("failover.planned[{i}]");
        within_horizon(at.0, file.horizon.0, path, "the failover")?;
    }
    Ok(FailoverPolicy {
        initiator,
        after: f.after.0,
        unavailable_fraction: f.unavailable_fraction.0,
        duration: dist(&f.duration, "failover.duration")?,
        provider_after: f.provider_after.0,
        reenable_after: f.reenable_after.0,
        failback_after: f.failback.then_some(f.failback_after.0),
        planned_at: f.planned.iter().map(|d| d.0).collect(),
        planned_duration: dist(&f.planned_duration, "failover.planned_duration")?,
    })
}

/// `[keys]`: None for Microsoft-managed keys (or no section), which never
/// keep data from being read.
fn keys(file: &ScenarioFile, topo: &Topology, primary: u32) -> Result<Option<KeyPolicy>> {
    let Some(k) = &file.keys else {
        return Ok(None);
    };
    match k.manager.as_str() {
        "microsoft" => return Ok(None),
        "customer" => {}
        other => {
            return err(
                "keys.manager",
                format!("unknown manager `{other}`; allowed: customer, microsoft"),
            );
        }
    }
    let region = &topo.regions[primary as usize];
    let vault_regions = match (k.vault.as_str(), region.pair) {
        ("primary", _) => vec![primary],
        ("both", Some(pair)) => vec![primary, pair],
        ("both", None) => {
            return err(
                "keys.vault",
                format!(
                    "`both` keeps the vault in the primary region and its pair, but `{}` has no pair; use vault = \"primary\"",
                    region.name
                ),
            );
        }
        (other, _) => {
            return err(
                "keys.vault",
                format!(
                    "unknown vault location `{other}`; allowed: primary, both (the primary region and its pair)"
                ),
            );
        }
    };
    Ok(Some(KeyPolicy {
        vault_regions,
        cache: k.cache.0,
        outages: vault_outages(k.outages.as_ref())?,
        faults: vault_faults(&k.faults, file.horizon.0)?,
        loss_rate_per_year: k.loss_rate.0,
        purge_protection: k.purge_protection,
        soft_delete: soft_delete(k.soft_delete.0)?,
    }))
}

/// `[access]`: None without the section.
fn access(file: &ScenarioFile, options: &[ReplicationOption]) -> Result<Option<AccessPolicy>> {
    let Some(a) = &file.access else {
        return Ok(None);
    };
    if a.recoveries.iter().any(|r| r != "failover") || a.recoveries.len() != 1 {
        return err(
            "access.recoveries",
            "allowed: [\"failover\"] (an unplanned failover stuck until Microsoft's operators get access)",
        );
    }
    let max = crate::model::world::MAX_ACCESS_OPTIONS;
    if file.options.len() > max {
        return err("access", format!("at most {max} options with [access]"));
    }
    if a.denial.0 > 1.0 {
        return err(
            "access.denial",
            format!("{}: a probability, from 0 to 1", a.denial.0),
        );
    }
    if a.max_denials > 100 {
        return err(
            "access.max_denials",
            format!("{}: at most 100", a.max_denials),
        );
    }
    Ok(Some(AccessPolicy {
        request: a.request.0,
        approval: dist(&a.approval, "access.approval")?,
        denial_probability: a.denial.0,
        retry_after: a.retry_after.0,
        max_denials: a.max_denials,
        grant: a.grant.0,
        options: access_options(a.options.as_deref(), options)?,
    }))
}

/// `access.options`: per option, whether its failovers need access; absent,
/// every option with a secondary. A name must be an option of the scenario
/// with a secondary (the others never fail over).
fn access_options(listed: Option<&[String]>, options: &[ReplicationOption]) -> Result<Vec<bool>> {
    let geo = |o: &ReplicationOption| o.groups.len() > 1;
    let Some(listed) = listed else {
        return Ok(options.iter().map(geo).collect());
    };
    let mut covered = vec![false; options.len()];
    for (i, name) in listed.iter().enumerate() {
        let path = format!("access.options[{i}]");
        let Some(k) = options.iter().position(|o| &o.name == name) else {
            let known: Vec<&str> = options.iter().map(|o| o.name.as_str()).collect();
            let message = format!(
                "no option `{name}` in this scenario; its options are {}",
                known.join(", ")
            );
            return err(path, message);
        };
        if !geo(&options[k]) {
            return err(
                path,
                format!(
                    "{name} has no secondary: it never fails over, so no recovery of it waits for access"
                ),
            );
        }
        covered[k] = true;
    }
    Ok(covered)
}

/// Key Vault keeps a deleted key 7 to 90 days (its soft-delete retention).
fn soft_delete(retention: Micros) -> Result<Micros> {
    if (7 * DAY..=90 * DAY).contains(&retention) {
        return Ok(retention);
    }
    err(
        "keys.soft_delete",
        format!(
            "{}: Key Vault keeps a deleted key from 7 to 90 days",
            units::format_duration(retention)
        ),
    )
}

fn vault_outages(spec: Option<&OutageSpec>) -> Result<Option<(Dist, Dist)>> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    let path = "keys.outages";
    let duration = match &spec.duration {
        Some(d) => dist(d, &format!("{path}.duration"))?,
        None => {
            return err(
                path,
                "give the `duration` of a vault outage, e.g. duration = \"2h\"",
            );
        }
    };
    Ok(between(spec, path)?.map(|b| (b, duration)))
}

fn vault_faults(
    faults: &[super::schema::VaultFaultSpec],
    horizon: Micros,
) -> Result<Vec<(Micros, Micros)>> {
    if faults.len() > usize::from(u16::MAX) {
        return err("keys.fault", "at most 65535 vault outages");
    }
    let mut out = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        within_horizon(f.at.0, horizon, format!("keys.fault[{i}].at"), "the outage")?;
        out.push((f.at.0, f.duration.0));
    }
    Ok(out)
}

/// `[deletion]` and `[decommission]`: None without a deletion workload (a
/// `[decommission]` alone has nothing to erase, and is refused as such).
fn deletion(file: &ScenarioFile) -> Result<Option<Deletion>> {
    let destroy_after = file.decommission.as_ref().map_or(0, |d| d.destroy_after.0);
    let Some(d) = &file.deletion else {
        if file.decommission.is_some() {
            return err(
                "decommission",
                "only measured with a deletion workload: add a [deletion] section",
            );
        }
        return Ok(None);
    };
    // Blob soft delete keeps deleted data 1 to 365 days when it is on.
    let retention = d.soft_delete.0;
    if retention != 0 && !(DAY..=365 * DAY).contains(&retention) {
        return err(
            "deletion.soft_delete",
            "blob soft delete keeps deleted data from 1 to 365 days (0: off)",
        );
    }
    if !(d.rate.0.is_finite() && d.rate.0 >= 0.0) {
        return err(
            "deletion.rate",
            "must be a non-negative rate, e.g. \"100KB/s\"",
        );
    }
    Ok(Some(Deletion {
        bytes_per_s: d.rate.0,
        soft_delete: retention,
        reclaim: d.reclaim.0,
        destroy_after,
        probe_every: HOUR,
    }))
}

/// `[logical]`: None without the section (no logical errors, nothing of
/// the run changes).
fn logical(file: &ScenarioFile) -> Result<Option<LogicalErrors>> {
    let Some(l) = &file.logical else {
        return Ok(None);
    };
    Ok(Some(LogicalErrors {
        rate_per_year: l.rate.0,
        detection: dist(&l.detection, "logical.detection")?,
        restore: l.restore.map_or(0, |r| r.0),
    }))
}

/// A pure replay (`[replay] random = false`): the random failure and
/// outage processes off, after they were checked.
fn without_random(mut system: System, random: bool) -> System {
    if !random {
        system.failures.clear();
        system.outages.clear();
        system.bursts.clear();
    }
    system
}
