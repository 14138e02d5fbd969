//! The JSON Schema of the scenario format: the types of [`super::schema`]
//! (derived with schemars, so it accepts what the loader reads), each field
//! described by its row of docs/scenario.md, the one place fields are
//! documented. A test checks that every field of a documented table has a
//! row there, so the schema and the reference cannot drift apart.

use std::collections::BTreeMap;

use serde_json::Value;

/// The scenario reference, whose tables describe the fields.
const REFERENCE: &str = include_str!("../../docs/scenario.md");

/// The table of docs/scenario.md each schema type's fields are rows of: the
/// table's name as its heading writes it (`[repair]`, `[[custom]]`; "" for
/// the top level).
pub const DOCUMENTED: &[(&str, &str)] = &[
    ("ScenarioFile", ""),
    ("RegionSpec", "region"),
    ("ResidencySpec", "residency"),
    ("ShapeSpec", "topology"),
    ("DataSpec", "data"),
    ("CustomOption", "custom"),
    ("FailureSpec", "failures.<class>"),
    ("RepairSpec", "repair"),
    ("OutageSpec", "outages.<class>"),
    ("FaultSpec", "fault"),
    ("BurstSpec", "burst"),
    ("ReplaySpec", "replay"),
    ("GeoSpec", "geo_replication"),
    ("FailoverSpec", "failover"),
    ("KeysSpec", "keys"),
    ("AccessSpec", "access"),
    ("DeletionSpec", "deletion"),
    ("DecommissionSpec", "decommission"),
    ("LogicalSpec", "logical"),
    ("LatentSpec", "latent"),
];

/// Fields with no row on purpose: (table, field, why). Their doc comments
/// describe them.
const UNLISTED: &[(&str, &str, &str)] = &[
    (
        "repair",
        "geo_bandwidth",
        "removed; accepted only to say what replaced it",
    ),
    (
        "replay",
        "recorded",
        "written by replisim when it loads a replay, not by hand",
    ),
];

/// The schema as pretty JSON, ending in a newline.
pub fn text() -> String {
    let mut schema = derived();
    let root = schema.as_object_mut().expect("a schema is an object");
    root.insert("title".into(), "replisim scenario".into());
    root.insert(
        "description".into(),
        "A replisim scenario file (TOML): fields, units and defaults in docs/scenario.md".into(),
    );
    drop_null(&mut schema);
    describe(&mut schema, &field_rows(REFERENCE));
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
    text.push('\n');
    text
}

/// The fields of documented types that have no row in docs/scenario.md, as
/// `table.field`: empty when the reference documents every field.
pub fn undocumented() -> Vec<String> {
    let mut schema = derived();
    let rows = field_rows(REFERENCE);
    let mut missing = Vec::new();
    for (ty, table) in DOCUMENTED {
        let Some(properties) = properties(&mut schema, ty) else {
            missing.push(format!("{ty} (no such type in the schema)"));
            continue;
        };
        for field in properties.keys() {
            let unlisted = UNLISTED.iter().any(|(t, f, _)| t == table && f == field);
            if !unlisted && !rows.contains_key(&(table.to_string(), field.clone())) {
                missing.push(format!("{table}.{field}"));
            }
        }
    }
    missing
}

/// Removes the `null` schemars allows for an `Option` field: TOML has no
/// null, an optional field is one left out. `"type": ["string", "null"]`
/// becomes `"string"`, `anyOf: [X, {"type": "null"}]` becomes X, and a
/// `"default": null` goes.
fn drop_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    map.insert("type".into(), only);
                }
            }
            let is_null = |v: &Value| v.get("type").is_some_and(|t| t == "null");
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|v| !is_null(v));
                if let [only] = alternatives.as_slice() {
                    let Value::Object(only) = only.clone() else {
                        unreachable!("a schema is an object")
                    };
                    map.remove("anyOf");
                    for (k, v) in only {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// Sets each documented field's `description` to its row: the meaning, then
/// the default as the reference gives it.
fn describe(schema: &mut Value, rows: &BTreeMap<(String, String), String>) {
    for (ty, table) in DOCUMENTED {
        let Some(properties) = properties(schema, ty) else {
            continue;
        };
        for (field, property) in properties.iter_mut() {
            let (Some(row), Some(property)) = (
                rows.get(&(table.to_string(), field.clone())),
                property.as_object_mut(),
            ) else {
                continue;
            };
            property.insert("description".into(), row.clone().into());
        }
    }
}

/// The schema of the scenario file as schemars derives it from the
/// loader's types.
fn derived() -> Value {
    schemars::schema_for!(super::schema::ScenarioFile).to_value()
}

/// The properties of type `ty`: the root's for the scenario file, else its
/// definition's.
fn properties<'a>(
    schema: &'a mut Value,
    ty: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let def = if ty == "ScenarioFile" {
        schema
    } else {
        schema.get_mut("$defs")?.get_mut(ty)?
    };
    def.get_mut("properties")?.as_object_mut()
}

/// The field rows of the reference's tables: (table, field) → "meaning
/// (default: …)". A table is named by the first `[...]` of its `## `
/// heading, "" under "Top level"; a row's first cell lists its fields in
/// backticks, and a field written `deletion.rate` belongs to `deletion`.
fn field_rows(reference: &str) -> BTreeMap<(String, String), String> {
    let mut rows = BTreeMap::new();
    let mut table: Option<String> = None;
    let mut lines = reference.lines();
    while let Some(line) = lines.next() {
        if let Some(heading) = line.strip_prefix("## ") {
            table = table_of(heading);
            // Each table a heading names is a field of the top level (of
            // `failures` for `failures.<class>`), described by the
            // section's first line of prose.
            let prose = first_sentence(lines.clone());
            for name in backticked(heading).filter(|n| n.starts_with('[')) {
                let name = name.trim_start_matches('[').trim_end_matches(']');
                let top = name.split('.').next().unwrap_or(name).to_string();
                let text = format!("{prose} (docs/scenario.md: {})", heading.trim());
                rows.entry((String::new(), top)).or_insert(text);
            }
            continue;
        }
        let (Some(table), Some(cells)) = (&table, row_cells(line)) else {
            continue;
        };
        let [fields, default, meaning] = cells;
        let text = match default {
            "" | "—" | "required" => meaning.to_string(),
            d => format!("{meaning} (default: {d})"),
        };
        for field in backticked(fields) {
            // `[[keys.fault]]`: a table inside `keys`.
            let field = field.trim_start_matches('[').trim_end_matches(']');
            let (t, f) = match field.split_once('.') {
                Some((t, f)) if !t.starts_with('[') => (t.to_string(), f.to_string()),
                _ => (table.clone(), field.to_string()),
            };
            rows.insert((t, f), text.clone());
        }
    }
    rows
}

/// The first sentence of the first paragraph of prose in `lines` (tables
/// and headings passed over), its lines joined.
fn first_sentence<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let mut lines = lines
        .map(str::trim)
        .skip_while(|l| l.is_empty() || l.starts_with('|') || l.starts_with('#'));
    let paragraph: Vec<&str> = lines.by_ref().take_while(|l| !l.is_empty()).collect();
    let text = paragraph.join(" ");
    match text.find(". ") {
        Some(end) => text[..=end].to_string(),
        None => text,
    }
}

/// "`[[custom]]` (repeatable)" → "custom"; "Top level" → ""; None for a
/// heading that names no table.
fn table_of(heading: &str) -> Option<String> {
    if heading.trim() == "Top level" {
        return Some(String::new());
    }
    let name = backticked(heading).next()?;
    let inner = name.trim_start_matches('[').trim_end_matches(']');
    (name.starts_with('[') && !inner.is_empty()).then(|| inner.to_string())
}

/// The three cells of a `| field | default | meaning |` row, trimmed; None
/// for other lines (the header and its rule among them).
fn row_cells(line: &str) -> Option<[&str; 3]> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    let mut cells = inner.splitn(3, " | ").map(str::trim);
    let first = cells.next()?;
    if !first.starts_with('`') {
        return None;
    }
    Some([first, cells.next()?, cells.next()?])
}

/// The words of `text` in backticks, in order.
fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_per_table_with_their_defaults() {
        let doc = "## Top level\n| field | default | meaning |\n|---|---|---|\n| `seed` | `1` | master seed |\n\n## `[[burst]]` (repeatable)\nBursts.\n| `count`, `count_max` | — | a number |\n## `[deletion]` and `[decommission]`\n| `decommission.destroy_after` | `0` | held |\n";
        let rows = field_rows(doc);
        let get = |t: &str, f: &str| rows.get(&(t.into(), f.into())).cloned();
        assert_eq!(
            get("", "seed").as_deref(),
            Some("master seed (default: `1`)")
        );
        assert_eq!(get("burst", "count_max").as_deref(), Some("a number"));
        assert_eq!(
            get("decommission", "destroy_after").as_deref(),
            Some("held (default: `0`)")
        );
        assert_eq!(
            get("", "burst").as_deref(),
            Some("Bursts. (docs/scenario.md: `[[burst]]` (repeatable))")
        );
        assert!(get("", "decommission").is_some());
        assert_eq!(rows.len(), 7);
    }

    #[test]
    fn every_field_of_a_documented_table_has_its_row() {
        assert_eq!(undocumented(), Vec::<String>::new());
    }
}
