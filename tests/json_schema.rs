//! The JSON Schema editors check scenarios against (`replisim schema`,
//! shipped as docs/scenario.schema.json) accepts every scenario replisim
//! ships and refuses the mistakes it can see: an unknown field, a value of
//! the wrong type, a duration without its unit.

use std::process::Command;

use serde_json::Value;

mod common;

fn schema() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let shipped = std::fs::read_to_string("docs/scenario.schema.json").unwrap();
    assert!(
        text == shipped,
        "docs/scenario.schema.json is stale: regenerate it with `replisim schema docs/scenario.schema.json`"
    );
    serde_json::from_str(&text).unwrap()
}

/// The scenario text as the JSON document a TOML editor checks.
fn document(text: &str) -> Value {
    toml::from_str(text).unwrap()
}

/// The schema's verdict on `text`: the first error, if any.
fn verdict(validator: &jsonschema::Validator, text: &str) -> Option<String> {
    let doc = document(text);
    validator.iter_errors(&doc).next().map(|e| e.to_string())
}

#[test]
fn every_bundled_scenario_and_the_starter_pass_the_shipped_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for file in common::bundled_scenarios() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(verdict(&validator, &text), None, "{}", file.display());
    }
    let starter = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .args(["init", "-"])
        .output()
        .unwrap();
    let starter = String::from_utf8(starter.stdout).unwrap();
    assert_eq!(verdict(&validator, &starter), None, "{starter}");
}

#[test]
fn the_schema_refuses_what_the_loader_refuses_field_by_field() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let bad = [
        "horizon = \"1 year\"\n",
        "horizon = 365\n",
        "trials = 0\n",
        "seeds = 1\n",
        "[repair]\ndisk_bandwidth = \"50MB\"\n",
        "[failures.disk]\nafr = -0.01\n",
        "[failures.disk]\nafr = \"two percent\"\n",
        "[[custom]]\nname = \"x\"\ncopies = 3\nplacment = \"copyset\"\n",
        "[topology]\nzones = 2.5\n",
        "detection = { dist = \"gamma\", mean = \"1h\" }\n",
    ];
    for text in bad {
        assert!(verdict(&validator, text).is_some(), "accepted: {text}");
        let loaded = replisim::scenario::from_source("bad.toml", text);
        assert!(
            loaded.is_err(),
            "the loader accepts what the schema refuses: {text}"
        );
    }
    let good = [
        "horizon = \"10y\"\n[failures.disk]\nafr = \"1.57%\"\n",
        "detection = { dist = \"lognormal\", median = \"1h\", sigma = 1 }\n",
        "region = \"westeurope\"\n",
        "[repair]\ndisk_bandwidth = \"100 MB /s\"\n",
        "[[burst]]\nrate = 0.1\nscope = \"rack\"\nkind = \"down\"\nduration = \"1h\"\nfraction = \"50%\"\n",
    ];
    for text in good {
        assert_eq!(verdict(&validator, text), None, "{text}");
        replisim::scenario::from_source("good.toml", text).unwrap();
    }
}
