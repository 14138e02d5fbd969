//! The built-in catalog of real Azure regions (`assets/azure-regions.toml`,
//! its source and date at its top): name, geography, zones and pair. A
//! scenario writing `region = "westeurope"` gets its regions from here, and
//! `replisim regions` lists it.

use serde::Deserialize;

use super::schema::RegionSpec;

/// The data file, compiled in so the catalog needs no file at run time.
pub const TEXT: &str = include_str!("../../assets/azure-regions.toml");

/// The catalog: where its facts come from, and one entry per region.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub source: String,
    /// The date of the source page.
    pub date: String,
    #[serde(rename = "region")]
    pub regions: Vec<CatalogRegion>,
}

/// One region as the source lists it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogRegion {
    pub name: String,
    pub display: String,
    pub geography: String,
    /// 3 with availability zones, 0 without.
    pub zones: u32,
    /// None for a nonpaired region.
    pub pair: Option<String>,
    pub location: Option<String>,
    /// "restricted" or "coming-soon".
    pub access: Option<String>,
    /// What does not come from the source.
    pub note: Option<String>,
}

/// The parsed catalog. The file is part of the program and tested
/// (`tests/regions.rs`), so a parse failure is a bug, not a user's mistake.
pub fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| toml::from_str(TEXT).expect("assets/azure-regions.toml is valid"))
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&CatalogRegion> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The region's pair, when it has one.
    pub fn pair_of(&self, r: &CatalogRegion) -> Option<&CatalogRegion> {
        r.pair.as_deref().and_then(|p| self.get(p))
    }

    /// A pair that pairs elsewhere (Brazil South → South Central US →
    /// North Central US). A far end whose own pair the source does not give
    /// (Sweden South) is not counted.
    pub fn is_one_way(&self, r: &CatalogRegion) -> bool {
        let back = self.pair_of(r).and_then(|p| p.pair.as_deref());
        back.is_some_and(|b| b != r.name)
    }

    /// A pair in another geography: geo-redundant copies would leave it.
    pub fn is_cross_geography(&self, r: &CatalogRegion) -> bool {
        self.pair_of(r).is_some_and(|p| p.geography != r.geography)
    }

    /// What a reader should know about a region beyond its columns.
    pub fn remarks(&self, r: &CatalogRegion) -> Vec<&'static str> {
        let mut out = Vec::new();
        if r.pair.is_none() {
            out.push("nonpaired");
        }
        if self.is_one_way(r) {
            out.push("one-way pair");
        }
        if self.is_cross_geography(r) {
            out.push("pair in another geography");
        }
        match r.access.as_deref() {
            Some("restricted") => out.push("restricted access"),
            Some("coming-soon") => out.push("coming soon"),
            _ => {}
        }
        if r.note.is_some() {
            out.push("partly unsourced (see the data file)");
        }
        out
    }

    /// The `[[region]]` tables `region = "name"` stands for: the region and
    /// its pair, each with its geography and zones; the pair keeps its own
    /// pair only when that is the region (a one-way pair's far end pairs
    /// elsewhere, outside the scenario).
    pub fn scenario_regions(&self, name: &str) -> Result<Vec<RegionSpec>, String> {
        let Some(primary) = self.get(name) else {
            return Err(self.unknown(name));
        };
        let mut out = vec![spec(primary, primary.pair.clone())];
        if let Some(pair) = self.pair_of(primary) {
            let back = (pair.pair.as_deref() == Some(name)).then(|| name.to_string());
            out.push(spec(pair, back));
        }
        Ok(out)
    }

    fn unknown(&self, name: &str) -> String {
        let lower = name.to_ascii_lowercase().replace([' ', '-', '_'], "");
        let hint = match self.get(&lower) {
            Some(r) => format!(" (did you mean `{}`?)", r.name),
            None => String::new(),
        };
        format!(
            "no region `{name}` in the catalog{hint}; `replisim regions` lists the {} it holds, \
             or describe your own with [[region]] tables",
            self.regions.len()
        )
    }
}

/// A catalog region as a scenario's region table; its shape below the
/// zones comes from `[topology]`.
fn spec(r: &CatalogRegion, pair: Option<String>) -> RegionSpec {
    RegionSpec {
        name: r.name.clone(),
        geography: r.geography.clone(),
        pair,
        // A region without availability zones is one zone: ZRS cannot be
        // placed there, as Azure offers it only in regions with zones.
        zones: Some(super::schema::Count(r.zones.max(1))),
        facilities_per_zone: None,
        racks_per_facility: None,
        nodes_per_rack: None,
        disks_per_node: None,
    }
}
