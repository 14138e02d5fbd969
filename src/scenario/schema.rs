//! The scenario file format (TOML), as serde types. Every field has a
//! default, documented with its source in docs/scenario.md, so a minimal
//! scenario is a few lines. Value checks that need one field only (units,
//! counts ≥ 1, non-negative rates) happen while parsing, so their errors carry
//! the exact position; checks across fields live in `validate`.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer};

use crate::units::{self, Micros};

/// A duration written as "15m", "6.5d", "1y".
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Duration(pub Micros);

/// A size written as "16TB" or "1GiB".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size(pub u64);

/// A bandwidth written as "100MB/s".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bandwidth(pub f64);

/// A count that must be at least 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Count(pub u32);

/// A non-negative, finite rate or fraction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonNegative(pub f64);

/// A value written as text in quotes, parsed by `$parse`; `$what` says what
/// a value of another type should have been.
macro_rules! from_text {
    ($ty:ident, $parse:path, $what:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Text;
                impl de::Visitor<'_> for Text {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$ty, E> {
                        $parse(text).map($ty).map_err(E::custom)
                    }
                }
                d.deserialize_str(Text)
            }
        }
    };
}
from_text!(
    Duration,
    units::parse_duration,
    "a duration in quotes, such as \"15m\", \"6.5d\" or \"1y\""
);
from_text!(
    Size,
    units::parse_size,
    "a size in quotes, such as \"16TB\" or \"1GiB\""
);
from_text!(
    Bandwidth,
    units::parse_bandwidth,
    "a bandwidth in quotes, such as \"100MB/s\""
);

/// The JSON Schema of a value written as text with a unit: a string
/// matching the unit grammar of [`units`], described by `$what`.
macro_rules! text_schema {
    ($ty:ident, $pattern:path, $what:literal) => {
        impl JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern(),
                    "description": $what,
                })
            }
        }
    };
}
text_schema!(
    Duration,
    units::duration_pattern,
    "a duration in quotes, such as \"15m\", \"6.5d\" or \"1y\""
);
text_schema!(
    Size,
    units::size_pattern,
    "a size in quotes, such as \"16TB\" or \"1GiB\""
);
text_schema!(
    Bandwidth,
    units::bandwidth_pattern,
    "a bandwidth in quotes, such as \"100MB/s\""
);

impl JsonSchema for Count {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Count".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX,
        })
    }
}

impl JsonSchema for NonNegative {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NonNegative".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a non-negative number (0.02) or a percentage (\"2%\")",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": r"^\s*[0-9.+e-]+\s*%\s*$" },
            ],
        })
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u32::try_from(n) {
            Ok(n) if n >= 1 => Ok(Count(n)),
            _ => Err(de::Error::custom(format!(
                "must be a whole number from 1 to {}, got {n}",
                u32::MAX
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = d.deserialize_any(NumberOrPercent)?;
        if x.is_finite() && x >= 0.0 {
            Ok(NonNegative(x))
        } else {
            Err(de::Error::custom(format!(
                "must be a non-negative number, got {x}"
            )))
        }
    }
}

/// A number, or a percentage written as a string ("1.57%"), as rates and
/// fractions are often quoted.
struct NumberOrPercent;

impl de::Visitor<'_> for NumberOrPercent {
    type Value = f64;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a non-negative number (0.02) or a percentage (\"2%\")")
    }
    fn visit_f64<E: de::Error>(self, x: f64) -> Result<f64, E> {
        Ok(x)
    }
    fn visit_i64<E: de::Error>(self, x: i64) -> Result<f64, E> {
        Ok(x as f64)
    }
    fn visit_u64<E: de::Error>(self, x: u64) -> Result<f64, E> {
        Ok(x as f64)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<f64, E> {
        percent(s).ok_or_else(|| {
            E::custom(format!(
                "must be a non-negative number (0.02) or a percentage (\"2%\"), got \"{s}\""
            ))
        })
    }
}

/// "2%" → 0.02; None unless a number followed by `%`.
pub fn percent(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%')?.trim();
    number.parse::<f64>().ok().map(|x| x / 100.0)
}

/// A distribution of durations: a plain duration string means a fixed value,
/// a table names the distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum DistSpec {
    Fixed(Duration),
    Table(DistTable),
}

#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DistTable {
    Fixed {
        value: Duration,
    },
    Exponential {
        mean: Duration,
    },
    Weibull {
        shape: NonNegative,
        mean: Duration,
    },
    Lognormal {
        median: Duration,
        sigma: NonNegative,
    },
}

impl JsonSchema for DistSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DistSpec".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a duration (\"15m\") or a table such as { dist = \"exponential\", mean = \"12h\" }",
            "anyOf": [
                generator.subschema_for::<Duration>(),
                generator.subschema_for::<DistTable>(),
            ],
        })
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = DistSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a duration (\"15m\") or a table such as { dist = \"exponential\", mean = \"12h\" }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DistSpec, E> {
                Duration::deserialize(s.into_deserializer()).map(DistSpec::Fixed)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
                DistTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DistSpec::Table)
            }
        }
        d.deserialize_any(V)
    }
}

fn text(s: &str) -> Duration {
    Duration(units::parse_duration(s).expect("valid default"))
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    #[serde(default = "defaults::trials")]
    pub trials: Count,
    /// Group trials of the rare-event method per fleet trial and option.
    #[serde(default = "defaults::group_trials")]
    pub group_trials: Count,
    #[serde(default = "defaults::horizon")]
    pub horizon: Duration,
    /// "steady" (a fleet in operation: `warmup` simulated before the
    /// measured horizon) or "new" (a new fleet, measured from its start).
    #[serde(default = "defaults::start")]
    pub start: String,
    #[serde(default = "defaults::warmup")]
    pub warmup: Duration,
    #[serde(default = "defaults::options")]
    pub options: Vec<String>,
    #[serde(default)]
    pub custom: Vec<CustomOption>,
    /// `[[region]]` tables, or `region = "westeurope"`: a region of the
    /// built-in catalog and its pair.
    #[serde(default = "defaults::regions", rename = "region")]
    pub regions: RegionsSpec,
    #[serde(default)]
    pub residency: ResidencySpec,
    #[serde(default)]
    pub topology: ShapeSpec,
    #[serde(default)]
    pub data: DataSpec,
    #[serde(default)]
    pub failures: FailuresSpec,
    #[serde(default = "defaults::detection")]
    pub detection: DistSpec,
    #[serde(default)]
    pub repair: RepairSpec,
    #[serde(default)]
    pub outages: OutagesSpec,
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultSpec>,
    /// Correlated bursts; none by default.
    #[serde(default, rename = "burst")]
    pub bursts: Vec<BurstSpec>,
    #[serde(default)]
    pub geo_replication: GeoSpec,
    #[serde(default)]
    pub failover: FailoverSpec,
    /// Customer-managed keys; absent: Microsoft-managed keys.
    pub keys: Option<KeysSpec>,
    /// Support-assisted recovery under Customer Lockbox; absent: none.
    pub access: Option<AccessSpec>,
    /// A deletion workload, and the erasure of what it deletes.
    pub deletion: Option<DeletionSpec>,
    /// What happens to failed hardware's data.
    pub decommission: Option<DecommissionSpec>,
    /// Logical errors (bugs, operator error, bad deletes); absent: none.
    pub logical: Option<LogicalSpec>,
    /// Latent sector errors and scrubbing; absent: none.
    pub latent: Option<LatentSpec>,
    /// Component failures replayed from a CSV file; absent: none.
    pub replay: Option<ReplaySpec>,
    /// Expectations per option, checked by `replisim check`.
    #[serde(default)]
    pub expect: std::collections::BTreeMap<String, Vec<String>>,
}

/// The scenario's regions: described in `[[region]]` tables, or named from
/// the catalog (`scenario::catalog`).
#[derive(Clone, Debug)]
pub enum RegionsSpec {
    Catalog(String),
    Listed(Vec<RegionSpec>),
}

impl JsonSchema for RegionsSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RegionsSpec".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a region of the catalog (region = \"westeurope\") or [[region]] tables",
            "anyOf": [
                { "type": "string" },
                generator.subschema_for::<Vec<RegionSpec>>(),
            ],
        })
    }
}

impl<'de> Deserialize<'de> for RegionsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RegionsSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a region of the catalog (region = \"westeurope\") or [[region]] tables",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RegionsSpec, E> {
                Ok(RegionsSpec::Catalog(s.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<RegionsSpec, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(RegionsSpec::Listed)
            }
        }
        d.deserialize_any(V)
    }
}

/// Where data may go: `[residency]`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [residency] table")]
pub struct ResidencySpec {
    /// Accept a geo-redundant option whose pair lies in another geography
    /// (Brazil South → South Central US); refused by default.
    pub allow_cross_geography: bool,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a region table ([[region]] with name, zones, ...)"
)]
pub struct RegionSpec {
    pub name: String,
    #[serde(default = "defaults::geography")]
    pub geography: String,
    pub pair: Option<String>,
    pub zones: Option<Count>,
    pub facilities_per_zone: Option<Count>,
    pub racks_per_facility: Option<Count>,
    pub nodes_per_rack: Option<Count>,
    pub disks_per_node: Option<Count>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a [topology] table (zones, facilities_per_zone, racks_per_facility, ...)"
)]
pub struct ShapeSpec {
    pub zones: Count,
    pub facilities_per_zone: Count,
    pub racks_per_facility: Count,
    pub nodes_per_rack: Count,
    pub disks_per_node: Count,
    pub disk_capacity: Size,
    pub fill: NonNegative,
}

impl Default for ShapeSpec {
    fn default() -> Self {
        Self {
            zones: Count(3),
            facilities_per_zone: Count(1),
            racks_per_facility: Count(20),
            nodes_per_rack: Count(18),
            disks_per_node: Count(12),
            disk_capacity: Size(16_000_000_000_000),
            fill: NonNegative(0.75),
        }
    }
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a [data] table (size, extent_size, primary, stamp)"
)]
pub struct DataSpec {
    pub size: Size,
    pub extent_size: Size,
    /// Region holding the primary copies; default: the first region.
    pub primary: Option<String>,
    /// "per extent" (each extent's copy group anchored on its own) or
    /// "one" (the data is one account in one stamp, as Azure places one).
    pub stamp: String,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            size: Size(10_000_000_000_000),
            extent_size: Size(1_000_000_000),
            primary: None,
            stamp: "per extent".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomOption {
    pub name: String,
    /// Whole copies of the primary group; or give `code`.
    pub copies: Option<Count>,
    /// An erasure code instead of whole copies: "rs(k,m)" or "lrc(k,l,r)".
    pub code: Option<String>,
    #[serde(default = "defaults::within")]
    pub within: String,
    #[serde(default = "defaults::spread")]
    pub spread: String,
    pub secondary: Option<CopyGroupSpec>,
    #[serde(default)]
    pub read_access: bool,
    /// Copies that must survive (k of a k-of-n code); default 1.
    pub needed: Option<Count>,
    /// How the copies are laid out: "random" (default) or "copyset".
    pub placement: Option<String>,
    /// Copyset placement: the scatter width S (nodes a node shares data
    /// with); default 2.
    pub scatter_width: Option<Count>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a copy group table (copies, within, spread)"
)]
pub struct CopyGroupSpec {
    pub copies: Count,
    #[serde(default = "defaults::within")]
    pub within: String,
    #[serde(default = "defaults::spread")]
    pub spread: String,
}

/// Permanent-failure processes per class of component.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a [failures] table of failure classes ([failures.disk], [failures.facility], ...)"
)]
pub struct FailuresSpec {
    pub disk: Option<FailureSpec>,
    pub node: Option<FailureSpec>,
    pub rack: Option<FailureSpec>,
    pub facility: Option<FailureSpec>,
    pub zone: Option<FailureSpec>,
    pub region: Option<FailureSpec>,
}

impl Default for FailuresSpec {
    fn default() -> Self {
        Self {
            disk: Some(FailureSpec {
                afr: Some(NonNegative(0.0157)),
                lifetime: None,
                replace: None,
            }),
            node: None,
            rack: None,
            facility: None,
            zone: None,
            region: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a failure class table (afr or lifetime, replace)"
)]
pub struct FailureSpec {
    /// Failures per component-year (exponential lifetimes).
    pub afr: Option<NonNegative>,
    /// A general lifetime distribution, instead of `afr`.
    pub lifetime: Option<DistSpec>,
    /// Time until the component is back in service, empty.
    pub replace: Option<Duration>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [repair] table")]
pub struct RepairSpec {
    pub disk_bandwidth: Bandwidth,
    pub facility_bandwidth: Bandwidth,
    /// Removed: re-seeding from the other region uses the account's link
    /// (`geo_replication.bandwidth`); kept to say so instead of "unknown field".
    pub geo_bandwidth: Option<Bandwidth>,
    /// A repair-time distribution per lost copy, instead of bandwidths.
    pub time: Option<DistSpec>,
    /// "parallel" or "one-at-a-time" (per extent; needs `time`).
    pub discipline: String,
}

impl Default for RepairSpec {
    fn default() -> Self {
        Self {
            disk_bandwidth: Bandwidth(50e6),
            facility_bandwidth: Bandwidth(50e9),
            geo_bandwidth: None,
            time: None,
            discipline: "parallel".into(),
        }
    }
}

/// Transient-outage processes per class of component, and of the links
/// between paired regions. None by default.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "an [outages] table of outage classes ([outages.zone], ...)"
)]
pub struct OutagesSpec {
    pub node: Option<OutageSpec>,
    pub rack: Option<OutageSpec>,
    pub facility: Option<OutageSpec>,
    pub zone: Option<OutageSpec>,
    pub region: Option<OutageSpec>,
    pub link: Option<OutageSpec>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "an outage class table")]
pub struct OutageSpec {
    /// Outages per component-year (exponential time between outages).
    pub rate: Option<NonNegative>,
    /// A distribution of the time between outages, instead of `rate`.
    pub between: Option<DistSpec>,
    /// How long one outage lasts; default per class.
    pub duration: Option<DistSpec>,
}

/// A fault at a fixed time: `[[fault]]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[fault]] table (at, level, target, kind, ...)"
)]
pub struct FaultSpec {
    pub at: Duration,
    pub level: String,
    /// "region", "region/zone", "region/zone/facility", ... (1-based
    /// indices), or for a link the name of one of its regions.
    pub target: String,
    /// "destroyed" or "down".
    pub kind: String,
    pub duration: Option<Duration>,
    pub replace: Option<Duration>,
    /// Strike this share of the `level` components below `target`, drawn
    /// at random per trial, instead of `target` itself.
    pub fraction: Option<NonNegative>,
    /// As `fraction`, a number of components.
    pub count: Option<Count>,
}

/// A correlated-burst process: `[[burst]]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[burst]] table (rate, scope, fraction or count, kind, ...)"
)]
pub struct BurstSpec {
    /// Bursts per `scope` component per year.
    pub rate: NonNegative,
    /// The level whose one component a burst strikes inside.
    pub scope: String,
    /// The level of what is struck; default "node".
    pub level: Option<String>,
    /// Share of the `level` components below the scope struck (uniform up
    /// to `fraction_max` when given).
    pub fraction: Option<NonNegative>,
    pub fraction_max: Option<NonNegative>,
    /// As `fraction`, a number (uniform up to `count_max` when given).
    pub count: Option<Count>,
    pub count_max: Option<Count>,
    /// "destroyed" or "down".
    pub kind: String,
    pub duration: Option<Duration>,
    pub replace: Option<Duration>,
}

/// Asynchronous geo-replication of options with a secondary.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [geo_replication] table")]
pub struct GeoSpec {
    pub write_rate: Bandwidth,
    /// 24 hourly multipliers of `write_rate` (hour 0 first).
    pub profile: Option<Vec<NonNegative>>,
    pub bandwidth: Bandwidth,
    pub latency: Duration,
}

impl Default for GeoSpec {
    fn default() -> Self {
        Self {
            write_rate: Bandwidth(1e6),
            profile: None,
            bandwidth: Bandwidth(100e6),
            latency: text("30s"),
        }
    }
}

/// Failover of options with a secondary.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [failover] table")]
pub struct FailoverSpec {
    /// "customer", "provider" or "none".
    pub policy: String,
    pub after: Duration,
    pub unavailable_fraction: NonNegative,
    pub duration: DistSpec,
    pub provider_after: Duration,
    pub reenable_after: Duration,
    pub failback: bool,
    pub failback_after: Duration,
    pub planned: Vec<Duration>,
    pub planned_duration: DistSpec,
}

impl Default for FailoverSpec {
    fn default() -> Self {
        Self {
            policy: "customer".into(),
            after: text("1h"),
            unavailable_fraction: NonNegative(0.1),
            duration: DistSpec::Fixed(text("1h")),
            provider_after: text("24h"),
            reenable_after: text("1d"),
            failback: true,
            failback_after: text("7d"),
            planned: Vec::new(),
            planned_duration: DistSpec::Fixed(text("1h")),
        }
    }
}

/// Encryption keys: `[keys]`. Defaults in docs/scenario.md, sources in
/// docs/data-protection.md.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [keys] table")]
pub struct KeysSpec {
    /// "customer" (a key in the customer's vault) or "microsoft".
    pub manager: String,
    /// Where the vault lives: "primary" (the primary region only) or
    /// "both" (replicated to the primary's pair).
    pub vault: String,
    /// How long storage keeps serving with its cached key.
    pub cache: Duration,
    /// Keys deleted or disabled and not recovered, per year.
    pub loss_rate: NonNegative,
    pub purge_protection: bool,
    /// Retention of a deleted key (7 to 90 days).
    pub soft_delete: Duration,
    /// Random vault outages.
    pub outages: Option<OutageSpec>,
    /// Scripted vault outages.
    #[serde(rename = "fault")]
    pub faults: Vec<VaultFaultSpec>,
}

impl Default for KeysSpec {
    fn default() -> Self {
        Self {
            manager: "customer".into(),
            vault: "both".into(),
            cache: text("1h"),
            loss_rate: NonNegative(0.0),
            purge_protection: true,
            soft_delete: text("90d"),
            outages: None,
            faults: Vec::new(),
        }
    }
}

/// Deletes and their erasure: `[deletion]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [deletion] table")]
pub struct DeletionSpec {
    /// Bytes deleted per second.
    pub rate: Bandwidth,
    /// Blob soft-delete retention (0: off).
    pub soft_delete: Duration,
    /// From a delete becoming final to a copy's space being overwritten.
    pub reclaim: Duration,
}

impl Default for DeletionSpec {
    fn default() -> Self {
        Self {
            rate: Bandwidth(100e3),
            soft_delete: Duration(0),
            reclaim: text("1d"),
        }
    }
}

/// Failed hardware: `[decommission]`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "a [decommission] table")]
pub struct DecommissionSpec {
    /// From a disk, node or rack failure to its media being wiped or shredded.
    pub destroy_after: Duration,
}

/// Logical errors: `[logical]`. No defaults: a rate and a detection
/// delay are the customer's own (docs/defaults.md gives ranges).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [logical] table (rate, detection, restore)"
)]
pub struct LogicalSpec {
    /// Logical errors per account-year: a number or a percentage.
    pub rate: NonNegative,
    /// From an error to the customer noticing it.
    pub detection: DistSpec,
    /// Point-in-time restore / soft-delete retention; absent: none.
    pub restore: Option<Duration>,
}

/// Latent sector errors and scrubbing: `[latent]`. Defaults (labelled
/// assumptions, docs/defaults.md) for an omitted field.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    default,
    expecting = "a [latent] table (rate, scrub_interval)"
)]
pub struct LatentSpec {
    /// Latent errors per TB of a copy's bytes per year.
    pub rate: NonNegative,
    /// Every byte re-verified once per interval, or "never".
    pub scrub_interval: ScrubSpec,
}

impl Default for LatentSpec {
    fn default() -> Self {
        Self {
            rate: NonNegative(0.08),
            scrub_interval: ScrubSpec(Some(text("7d"))),
        }
    }
}

/// A scrub interval: a duration in quotes, or "never" (None).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScrubSpec(pub Option<Duration>);

impl JsonSchema for ScrubSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScrubSpec".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "a duration (\"14d\") or \"never\" (no scrubbing)",
            "anyOf": [
                generator.subschema_for::<Duration>(),
                { "const": "never" },
            ],
        })
    }
}

impl<'de> Deserialize<'de> for ScrubSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = ScrubSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration in quotes, such as \"14d\", or \"never\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ScrubSpec, E> {
                if text.trim() == "never" {
                    return Ok(ScrubSpec(None));
                }
                let t = units::parse_duration(text)
                    .map_err(|e| E::custom(format!("{e}, or \"never\"")))?;
                if t == 0 {
                    return Err(E::custom(
                        "a scrub interval must be longer than 0 (\"never\": no scrubbing)",
                    ));
                }
                Ok(ScrubSpec(Some(Duration(t))))
            }
        }
        d.deserialize_str(Text)
    }
}

/// Failures replayed from a CSV: `[replay]` (`scenario::replay`).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, expecting = "a [replay] table (file, random)")]
pub struct ReplaySpec {
    /// The CSV, relative to the scenario file.
    pub file: String,
    /// Whether the random failure and outage processes run too.
    #[serde(default = "defaults::random")]
    pub random: bool,
    /// The CSV's contents, appended by replisim when it loads the scenario.
    pub recorded: Option<RecordedSpec>,
}

/// `[replay.recorded]`: the replayed file as the scenario's text holds it.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [replay.recorded] table (file, text)"
)]
pub struct RecordedSpec {
    pub file: String,
    pub text: String,
}

/// Support-assisted recovery: `[access]`. Defaults in docs/scenario.md.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default, expecting = "an [access] table")]
pub struct AccessSpec {
    /// Recoveries that need insider access: only "failover" (an unplanned
    /// failover stuck until Microsoft's operators step in).
    pub recoveries: Vec<String>,
    /// The options whose recoveries need insider access, by name; absent:
    /// every option with a secondary.
    pub options: Option<Vec<String>>,
    /// From the recovery getting stuck to the request reaching the customer.
    pub request: Duration,
    /// The customer's time to answer a Lockbox request.
    pub approval: DistSpec,
    /// P(a request is denied).
    pub denial: NonNegative,
    pub retry_after: Duration,
    pub max_denials: u32,
    /// Length of the just-in-time grant.
    pub grant: Duration,
}

impl Default for AccessSpec {
    fn default() -> Self {
        Self {
            recoveries: vec!["failover".into()],
            options: None,
            request: text("15m"),
            approval: DistSpec::Fixed(text("4h")),
            denial: NonNegative(0.0),
            retry_after: text("1h"),
            max_denials: 3,
            grant: text("8h"),
        }
    }
}

/// A scripted vault outage: `[[keys.fault]]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[keys.fault]] table (at, duration)"
)]
pub struct VaultFaultSpec {
    pub at: Duration,
    pub duration: Duration,
}

/// Defaults, with their sources in docs/scenario.md.
mod defaults {
    use super::*;

    pub fn seed() -> u64 {
        1
    }
    pub fn random() -> bool {
        true
    }
    pub fn trials() -> Count {
        Count(10_000)
    }
    pub fn group_trials() -> Count {
        Count(32)
    }
    pub fn horizon() -> Duration {
        text("1y")
    }
    pub fn start() -> String {
        "steady".into()
    }
    pub fn warmup() -> Duration {
        text("365d")
    }
    pub fn options() -> Vec<String> {
        ["LRS", "ZRS", "GRS", "GZRS"].map(String::from).to_vec()
    }
    pub fn geography() -> String {
        "default".into()
    }
    pub fn detection() -> DistSpec {
        DistSpec::Fixed(text("15m"))
    }
    pub fn within() -> String {
        "facility".into()
    }
    pub fn spread() -> String {
        "rack".into()
    }
    pub fn regions() -> RegionsSpec {
        let region = |name: &str, pair: &str| RegionSpec {
            name: name.into(),
            geography: "europe".into(),
            pair: Some(pair.into()),
            zones: None,
            facilities_per_zone: None,
            racks_per_facility: None,
            nodes_per_rack: None,
            disks_per_node: None,
        };
        RegionsSpec::Listed(vec![
            region("westeurope", "northeurope"),
            region("northeurope", "westeurope"),
        ])
    }
}
