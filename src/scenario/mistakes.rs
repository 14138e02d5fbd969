//! Every mistake serde finds in a scenario file, not only the first: a user
//! fixing a file should see all its typos in one run, as cargo shows all of
//! a crate's errors.
//!
//! serde stops at the first error, so each part of the file is also
//! deserialized alone (as a scenario holding only that part: every field
//! has a default), descending into the parts that fail. A part's own error
//! is reported only when none of its sub-parts explains it.

use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::{DeArray, DeString, DeTable, DeValue, Error};

use super::schema::ScenarioFile;

/// Mistakes reported at most: past these, the rest is one more run away.
pub const MAX_SHOWN: usize = 20;

/// Parts deserialized at most while looking (a guard against a huge file
/// of mistakes costing more than a moment).
const MAX_PROBES: usize = 5_000;

/// Nesting followed at most: scenario tables are a few levels deep.
const MAX_DEPTH: usize = 6;

/// The scenario in `text`, or every mistake found in it in file order.
pub fn scenario(text: &str) -> Result<ScenarioFile, Vec<Error>> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return Err(syntax.into_iter().take(MAX_SHOWN).collect());
    }
    let first = match ScenarioFile::deserialize(root.clone().into_deserializer()) {
        Ok(spec) => return Ok(spec),
        Err(e) => e,
    };
    let mut search = Search::default();
    let whole = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    search.value(&whole, false);
    let mut found = search.found;
    if found.is_empty() {
        found.push(first);
    }
    found.sort_by_key(|e| e.span().map_or(usize::MAX, |s| s.start));
    found.dedup_by(|a, b| a.span() == b.span() && a.message() == b.message());
    found.truncate(MAX_SHOWN);
    Err(found)
}

/// One step from the root to a part: a key of a table, or an item of an
/// array.
#[derive(Clone)]
enum Step<'i> {
    Key(Spanned<DeString<'i>>),
    Item,
}

#[derive(Default)]
struct Search<'i> {
    path: Vec<Step<'i>>,
    found: Vec<Error>,
    probes: usize,
}

impl<'i> Search<'i> {
    /// Looks for the mistakes in `value`, the part at `self.path`; `partial`
    /// when the part is probed without its siblings, whose absence may
    /// leave a required field missing (not a mistake of the part's own).
    fn value(&mut self, value: &Spanned<DeValue<'i>>, partial: bool) {
        let Err(whole) = self.probe(value) else {
            return;
        };
        if partial && whole.message().starts_with("missing field") {
            return;
        }
        let before = self.found.len();
        if self.path.len() < MAX_DEPTH {
            match value.get_ref() {
                DeValue::Table(t) if t.len() > 1 => {
                    for (key, part) in t.iter() {
                        self.path.push(Step::Key(key.clone()));
                        self.value(part, true);
                        self.path.pop();
                    }
                }
                DeValue::Array(items) if items.len() > 1 => {
                    for part in items.iter() {
                        self.path.push(Step::Item);
                        self.value(part, true);
                        self.path.pop();
                    }
                }
                _ => {}
            }
        }
        if self.found.len() == before {
            self.found.push(whole);
        }
    }

    /// Deserializes a scenario holding only `value`, at its place.
    fn probe(&mut self, value: &Spanned<DeValue<'i>>) -> Result<(), Error> {
        self.probes += 1;
        if self.probes > MAX_PROBES {
            return Ok(());
        }
        let mut part = value.clone();
        for step in self.path.iter().rev() {
            let span = part.span();
            part = match step {
                Step::Key(key) => {
                    let mut table = DeTable::new();
                    table.insert(key.clone(), part);
                    Spanned::new(span, DeValue::Table(table))
                }
                Step::Item => {
                    let mut array = DeArray::new();
                    array.push(part);
                    Spanned::new(span, DeValue::Array(array))
                }
            };
        }
        let span = part.span();
        let DeValue::Table(root) = part.into_inner() else {
            return Ok(());
        };
        ScenarioFile::deserialize(Spanned::new(span, root).into_deserializer()).map(drop)
    }
}
