//! `--set PATH=VALUE`: changes to a scenario made on the command line. They
//! edit the TOML document before validation, so an overridden value is
//! checked exactly as if it had been written in the file; the edited text
//! (comments kept, the overrides noted at its top) becomes the scenario's
//! text, so shards, `merge` and `report.html` see what was simulated.

use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use super::source::{ScenarioError, split_index};
use super::{Scenario, parse, stem_of};

/// One `PATH=VALUE` of the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The argument as given, for messages and the results directory.
    pub arg: String,
    /// A field path in the notation of error messages: `failures.disk.afr`,
    /// `region[1].racks_per_facility`.
    pub path: String,
    pub value: String,
}

impl Override {
    /// Splits `PATH=VALUE` at the first `=`.
    pub fn parse(arg: &str) -> Result<Self, String> {
        let Some((path, value)) = arg.split_once('=') else {
            return Err(format!(
                "--set {arg}: expected PATH=VALUE, e.g. --set failures.disk.afr=2%"
            ));
        };
        let path = path.trim();
        let bad = |s: &str| s.is_empty() || s.starts_with('[') || s.contains(char::is_whitespace);
        if path.split('.').any(bad) {
            return Err(format!(
                "--set {arg}: `{path}` is not a field path; write it as in the scenario file, e.g. failures.disk.afr or region[1].pair"
            ));
        }
        Ok(Self {
            arg: arg.to_string(),
            path: path.to_string(),
            value: value.trim().to_string(),
        })
    }
}

/// VALUE as a TOML value (numbers, booleans, quoted strings, arrays,
/// inline tables), or else as a bare string, so `2%` and `16 TB` need no
/// quotes.
pub fn toml_value(raw: &str) -> Value {
    raw.parse::<Value>().unwrap_or_else(|_| Value::from(raw))
}

/// Splits a sweep's `V1,V2,...` at the commas outside quotes, brackets and
/// braces, so `[1, 2]` or `"a,b"` stay one value.
pub fn split_values(raw: &str) -> Vec<String> {
    let (mut values, mut current) = (Vec::new(), String::new());
    let (mut depth, mut quote) = (0i32, None);
    for c in raw.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                values.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    values.push(current.trim().to_string());
    values
}

/// Validates scenario `text` from `file` with `overrides` applied. An error
/// about an overridden field names the `--set`; any other error keeps its
/// place in the file.
pub fn apply(file: &str, text: &str, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    if overrides.is_empty() {
        return super::from_source(file, text);
    }
    // A file that is not TOML at all is reported as it is.
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return Err(super::from_source(file, text)
            .err()
            .unwrap_or_else(|| not_toml(file)));
    };
    for o in overrides {
        set(doc.as_table_mut(), &o.path, toml_value(&o.value))
            .map_err(|message| at_override(file, o, &o.path, &message))?;
    }
    let notes: String = overrides
        .iter()
        .map(|o| format!("# --set {}\n", o.arg))
        .collect();
    let edited = notes + &doc.to_string();
    let mut s =
        parse(file, &edited, &stem_of(file)).map_err(|e| relocate(file, text, overrides, e))?;
    s.origin = Some((text.to_string(), overrides.to_vec()));
    Ok(s)
}

fn not_toml(file: &str) -> ScenarioError {
    ScenarioError::unplaced(file, "not a TOML document")
}

/// Errors found in the edited text: one on an overridden field is the
/// `--set`'s; any other is placed in the original file.
fn relocate(file: &str, text: &str, overrides: &[Override], e: ScenarioError) -> ScenarioError {
    let mut all: Vec<ScenarioError> = e
        .all()
        .map(|one| relocate_one(file, text, overrides, one))
        .collect();
    let mut first = all.remove(0);
    first.detail.more = all;
    first
}

fn relocate_one(
    file: &str,
    text: &str,
    overrides: &[Override],
    e: &ScenarioError,
) -> ScenarioError {
    let mut placed = match &e.field {
        None => ScenarioError::unplaced(&e.file, e.message.clone()),
        Some(field) => locate(file, text, overrides, field, &e.message),
    };
    placed.detail.help = e.detail.help.clone();
    placed
}

/// A message about `field` of `text` with `overrides` applied: at the last
/// `--set` concerning it, else at its place in the file's own text.
pub fn locate(
    file: &str,
    text: &str,
    overrides: &[Override],
    field: &str,
    message: &str,
) -> ScenarioError {
    match overrides.iter().rev().find(|o| related(field, &o.path)) {
        Some(o) => at_override(file, o, field, message),
        None => super::source::Source::new(file, text).error_in(field, message),
    }
}

fn at_override(file: &str, o: &Override, field: &str, message: &str) -> ScenarioError {
    ScenarioError {
        field: Some(field.to_string()),
        ..ScenarioError::unplaced(&format!("{file} with --set {}", o.arg), message)
    }
}

/// Whether an error in `field` concerns the override of `path`: the same
/// field, a part of it, or a table the override created or changed.
fn related(field: &str, path: &str) -> bool {
    let under = |a: &str, b: &str| {
        a == b
            || a.strip_prefix(b)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    under(field, path) || under(path, field)
}

/// Sets `path` in `root` to `value`, creating the tables on the way.
fn set(root: &mut Table, path: &str, value: Value) -> Result<(), String> {
    let segments: Vec<_> = path.split('.').map(split_index).collect();
    let Some(((key, index), parents)) = segments.split_last() else {
        return Err("empty path".into());
    };
    let mut table: &mut dyn TableLike = root;
    let mut here = String::new();
    for &(k, i) in parents {
        here = join(&here, k);
        table = child_table(table, k, i, &here)?;
        if let Some(i) = i {
            here = format!("{here}[{i}]");
        }
    }
    let here = join(&here, key);
    match (index, table.get_mut(key)) {
        (None, Some(Item::Value(old))) => *old = with_decor_of(old, value),
        (None, _) => {
            table.insert(key, Item::Value(value));
        }
        (Some(i), Some(item)) => {
            let array = item
                .as_array_mut()
                .ok_or_else(|| format!("`{here}` is not an array of values"))?;
            let len = array.len();
            let slot = array
                .get_mut(*i)
                .ok_or_else(|| out_of_range(&here, *i, len))?;
            *slot = with_decor_of(slot, value);
        }
        (Some(_), None) => return Err(absent_array(&here)),
    }
    Ok(())
}

/// The table at `key` (element `index` of an array of tables), created
/// empty when absent and not indexed.
fn child_table<'t>(
    table: &'t mut dyn TableLike,
    key: &str,
    index: Option<usize>,
    here: &str,
) -> Result<&'t mut dyn TableLike, String> {
    if !table.contains_key(key) {
        if index.is_some() {
            return Err(absent_array(here));
        }
        let mut t = Table::new();
        t.set_implicit(true);
        table.insert(key, Item::Table(t));
    }
    let item = table.get_mut(key).ok_or_else(|| absent_array(here))?;
    let kind = item.type_name();
    let not_table =
        || format!("`{here}` is a {kind} in the scenario, not a table: set `{here}` itself");
    match index {
        None => item.as_table_like_mut().ok_or_else(not_table),
        Some(i) => element(item, i, here),
    }
}

/// Element `i` of an array of tables (`[[region]]`) or of an inline array.
fn element<'t>(item: &'t mut Item, i: usize, here: &str) -> Result<&'t mut dyn TableLike, String> {
    let not_tables = || format!("`{here}` is not an array of tables");
    if item.is_array_of_tables() {
        let tables = item.as_array_of_tables_mut().ok_or_else(not_tables)?;
        let len = tables.len();
        return match tables.get_mut(i) {
            Some(t) => Ok(t as &mut dyn TableLike),
            None => Err(out_of_range(here, i, len)),
        };
    }
    let array = item.as_array_mut().ok_or_else(not_tables)?;
    let len = array.len();
    let value = array.get_mut(i).ok_or_else(|| out_of_range(here, i, len))?;
    match value.as_inline_table_mut() {
        Some(t) => Ok(t as &mut dyn TableLike),
        None => Err(not_tables()),
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn out_of_range(here: &str, i: usize, len: usize) -> String {
    format!("`{here}` has {len} entries, numbered from 0; there is no [{i}]")
}

fn absent_array(here: &str) -> String {
    format!(
        "`{here}` is not written in the scenario, so its entries cannot be set one by one: write them in the file"
    )
}

/// `value`, keeping the spacing and comment around `old`.
fn with_decor_of(old: &Value, mut value: Value) -> Value {
    *value.decor_mut() = old.decor().clone();
    value
}

/// A directory name for the results of a run with `overrides`: the
/// arguments, with anything but letters, digits and `.=%,-+` made `_`.
pub fn slug(overrides: &[Override]) -> String {
    let joined = overrides
        .iter()
        .map(|o| o.arg.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let safe = |c: char| c.is_ascii_alphanumeric() || ".=%,-+".contains(c);
    joined
        .chars()
        .map(|c| if safe(c) { c } else { '_' })
        .take(120)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"t\"\noptions = [\"LRS\"]\n[[region]]\nname = \"r\"\nzones = 1\n\n[failures.disk]\nafr = 0.01   # note\n";

    fn with(args: &[&str]) -> Result<Scenario, ScenarioError> {
        let o: Vec<_> = args.iter().map(|a| Override::parse(a).unwrap()).collect();
        apply("t.toml", TEXT, &o)
    }

    #[test]
    fn values_are_toml_or_bare_strings() {
        assert_eq!(toml_value("30").as_integer(), Some(30));
        assert_eq!(toml_value("true").as_bool(), Some(true));
        assert_eq!(toml_value("\"16TB\"").as_str(), Some("16TB"));
        assert_eq!(toml_value("2%").as_str(), Some("2%"));
        assert_eq!(toml_value("16 TB").as_str(), Some("16 TB"));
        assert_eq!(
            split_values("1%, 2%,[1, 2],\"a,b\""),
            ["1%", "2%", "[1, 2]", "\"a,b\""]
        );
    }

    #[test]
    fn overrides_change_fields_and_keep_comments() {
        let s = with(&[
            "failures.disk.afr=2%",
            "region[0].zones=3",
            "data.size=20 TB",
        ])
        .unwrap();
        assert!(s.text.contains("afr = \"2%\"   # note"), "{}", s.text);
        assert!(s.text.starts_with("# --set failures.disk.afr=2%\n"));
        assert_eq!(s.system.topology.disks() % 3, 0);
        assert_eq!(s.name, "t");
        let plain = with(&[]).unwrap();
        assert_eq!(plain.text, TEXT);
    }

    #[test]
    fn errors_name_the_set_and_what_is_allowed() {
        let e = with(&["failures.disk.afrr=1"]).unwrap_err().to_string();
        assert!(
            e.starts_with("error: unknown field `afrr` (in `failures.disk.afrr`)\n --> t.toml with --set failures.disk.afrr=1\n"),
            "{e}"
        );
        assert!(e.contains("help: did you mean `afr`?"), "{e}");
        let e = with(&["failures.disk.afr=-1"]).unwrap_err().to_string();
        assert!(
            e.contains("--set failures.disk.afr=-1") && e.contains("non-negative"),
            "{e}"
        );
        let e = with(&["region[3].zones=1"]).unwrap_err().to_string();
        assert!(
            e.contains("has 1 entries") && e.contains("region[3]"),
            "{e}"
        );
        let e = with(&["name.x=1"]).unwrap_err().to_string();
        assert!(e.contains("`name` is a string"), "{e}");
        assert!(Override::parse("nothing").is_err());
        assert!(Override::parse(" =1").is_err());
    }

    #[test]
    fn other_errors_keep_their_file_line() {
        let bad = TEXT.replace("zones = 1", "zones = 0");
        let o = [Override::parse("failures.disk.afr=0.02").unwrap()];
        let e = apply("t.toml", &bad, &o).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.position.map(|p| p.0)),
            ("t.toml", Some(5))
        );
    }
}
