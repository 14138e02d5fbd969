//! The built-in catalog of Azure regions (assets/azure-regions.toml): it
//! round-trips (every pair resolves, every paired region builds a scenario),
//! the one-way and cross-geography pairs are as the source lists them, and
//! residency refuses a pair across geographies unless the scenario accepts it.

use replisim::scenario::{self, catalog::catalog};

/// A small scenario on catalog region `name` with `options`, and `extra`.
fn text(name: &str, options: &str, extra: &str) -> String {
    format!(
        "region = \"{name}\"\noptions = {options}\ntrials = 1\n[topology]\nracks_per_facility = 3\nnodes_per_rack = 2\ndisks_per_node = 2\n{extra}"
    )
}

fn parse(text: &str) -> Result<scenario::Scenario, scenario::ScenarioError> {
    scenario::from_source("catalog.toml", text)
}

const ACCEPT: &str = "[residency]\nallow_cross_geography = true\n";

#[test]
fn every_pair_resolves_and_names_are_unique() {
    let c = catalog();
    assert!(c.regions.len() >= 50, "{}", c.regions.len());
    for (i, r) in c.regions.iter().enumerate() {
        assert!(
            c.regions[..i].iter().all(|o| o.name != r.name),
            "{} twice",
            r.name
        );
        if let Some(p) = &r.pair {
            assert!(
                c.get(p).is_some(),
                "{}'s pair {p} is not in the catalog",
                r.name
            );
            assert_ne!(p, &r.name);
        }
        assert!(r.zones == 0 || r.zones == 3, "{}: {}", r.name, r.zones);
    }
    assert!(!c.source.is_empty() && c.date.len() == 10);
}

/// Every region builds a scenario; a paired one's GRS secondary is its pair;
/// a pair across geographies is refused by default and accepted with the
/// flag; a zone-redundant option fits exactly where the region has zones.
#[test]
fn every_region_round_trips() {
    let c = catalog();
    for r in &c.regions {
        let lrs = parse(&text(&r.name, "[\"LRS\"]", "")).unwrap();
        let topo = &lrs.system.topology;
        assert_eq!(topo.regions[0].name, r.name);
        assert_eq!(topo.regions[0].geography, r.geography);
        let zrs = parse(&text(&r.name, "[\"ZRS\"]", ""));
        assert_eq!(zrs.is_ok(), r.zones == 3, "{}: {:?}", r.name, zrs.err());
        let Some(pair) = &r.pair else {
            let grs = parse(&text(&r.name, "[\"GRS\"]", "")).unwrap_err();
            assert!(grs.to_string().contains("has no `pair`"), "{grs}");
            continue;
        };
        let cross = c.is_cross_geography(r);
        let grs = parse(&text(&r.name, "[\"GRS\"]", ""));
        assert_eq!(grs.is_err(), cross, "{}: {:?}", r.name, grs.as_ref().err());
        let grs = parse(&text(&r.name, "[\"GRS\"]", ACCEPT)).unwrap();
        let option = &grs.system.options[0];
        let secondary = &grs.system.topology.regions[option.groups[1].region as usize];
        assert_eq!(&secondary.name, pair);
    }
}

#[test]
fn the_one_way_pairs_pair_elsewhere() {
    let c = catalog();
    for (from, to, onward) in [
        ("brazilsouth", "southcentralus", "northcentralus"),
        ("westindia", "southindia", "centralindia"),
        ("westus3", "eastus", "westus"),
    ] {
        let r = c.get(from).unwrap();
        assert_eq!(r.pair.as_deref(), Some(to));
        assert_eq!(c.get(to).unwrap().pair.as_deref(), Some(onward));
        assert!(c.is_one_way(r), "{from}");
        // The scenario holds the region and its pair; the pair's own pair is
        // outside it, so the link is one way too.
        let s = parse(&text(from, "[\"LRS\"]", ACCEPT)).unwrap();
        let regions = &s.system.topology.regions;
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[1].name, to);
        assert_eq!(regions[0].pair, Some(1));
        assert_eq!(regions[1].pair, None);
    }
    // A two-way pair keeps both directions.
    let s = parse(&text("westeurope", "[\"GRS\"]", "")).unwrap();
    assert_eq!(s.system.topology.regions[1].pair, Some(0));
}

/// Brazil South is the one public region whose pair leaves its geography
/// (Azure region pairs and nonpaired regions, 2025).
#[test]
fn brazil_south_is_the_only_cross_geography_pair() {
    let c = catalog();
    let cross: Vec<&str> = c
        .regions
        .iter()
        .filter(|r| c.is_cross_geography(r))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(cross, ["brazilsouth"]);
}

#[test]
fn a_cross_geography_refusal_names_the_pair_and_the_way_out() {
    let e = parse(&text("brazilsouth", "[\"LRS\", \"GZRS\"]", "")).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("catalog.toml:1:"), "{message}");
    assert!(message.contains("`region`"), "{message}");
    for says in [
        "GZRS",
        "`southcentralus`",
        "`brazilsouth`",
        "United States",
        "Brazil",
        "residency.allow_cross_geography = true",
    ] {
        assert!(message.contains(says), "no `{says}` in {message}");
    }
    // LRS alone keeps every copy at home: nothing to refuse.
    assert!(parse(&text("brazilsouth", "[\"LRS\"]", "")).is_ok());
}

#[test]
fn listed_regions_follow_the_same_residency_rule() {
    let regions = "[[region]]\nname = \"a\"\ngeography = \"x\"\npair = \"b\"\n\n[[region]]\nname = \"b\"\ngeography = \"y\"\n";
    let e = parse(&format!("options = [\"GRS\"]\n{regions}")).unwrap_err();
    assert!(e.to_string().contains("`region[0].pair`"), "{e}");
    assert!(e.to_string().contains("catalog.toml:5:"), "{e}");
    assert!(parse(&format!("options = [\"GRS\"]\n{ACCEPT}{regions}")).is_ok());
}

#[test]
fn an_unknown_name_is_an_error_with_a_hint() {
    let e = parse("region = \"West Europe\"\n").unwrap_err().to_string();
    assert!(
        e.contains("catalog.toml:1:") && e.contains("`region`"),
        "{e}"
    );
    assert!(e.contains("did you mean `westeurope`"), "{e}");
    let e = parse("region = 3\n").unwrap_err().to_string();
    assert!(e.contains("a region of the catalog"), "{e}");
}

#[test]
fn replisim_regions_lists_the_catalog_with_its_source() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_replisim"))
        .arg("regions")
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8(out.stdout).unwrap();
    for r in &catalog().regions {
        assert!(listing.contains(&r.name), "{} missing", r.name);
    }
    assert!(listing.contains(&catalog().source), "{listing}");
    let brazil = listing
        .lines()
        .find(|l| l.starts_with("brazilsouth "))
        .unwrap();
    assert!(
        brazil.contains("one-way pair, pair in another geography"),
        "{brazil}"
    );
}
