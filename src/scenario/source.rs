//! Where things are in a scenario file: maps a field path such as
//! `failures.disk.afr` or `region[1].pair` to its line and column, and a byte
//! offset back to the field path, so every error names file, line and field.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use super::diagnostic::ScenarioError;

/// A scenario file's text and its spanned syntax tree.
pub struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Source<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let root = DeTable::parse(text).ok();
        Self { file, text, root }
    }

    /// An error at a byte span (from the TOML deserializer).
    pub fn error_at(&self, span: Option<Range<usize>>, message: &str) -> ScenarioError {
        let field = span.as_ref().and_then(|s| self.path_at(s.start));
        let named = self.duplicate(span.as_ref(), message);
        let message = named.as_deref().unwrap_or(message);
        self.located(span, field.map(|f| up_to_unknown(f, message)), message)
    }

    /// toml's "duplicate key" names no key, and a file that does not parse
    /// has no field path to show: the key is the text under the span. A
    /// second `region` has a reason of its own, the catalog's `region =
    /// "name"` added to a file of `[[region]]` tables (as every bundled
    /// scenario is), so it says that the two are one key.
    fn duplicate(&self, span: Option<&Range<usize>>, message: &str) -> Option<String> {
        if message != "duplicate key" {
            return None;
        }
        let key = self
            .text
            .get(span?.clone())?
            .trim_matches(['[', ']', '"', ' ']);
        let help = if key == "region" {
            "`region = \"name\"` (a region of the catalog) and `[[region]]` tables are two ways \
             of giving the regions, both under the key `region`: keep one"
        } else {
            "a key is given once in its table"
        };
        Some(super::diagnostic::with_help(
            format!("duplicate key `{key}`"),
            help,
        ))
    }

    /// An error about a field path (from validation). A field absent from the
    /// file points at the nearest table that is present.
    pub fn error_in(&self, path: &str, message: &str) -> ScenarioError {
        self.located(self.span_of(path), Some(path.to_string()), message)
    }

    /// An error at `span`, its message worded for a user (see
    /// `diagnostic::explain`), underlined up to the end of its first line.
    fn located(
        &self,
        span: Option<Range<usize>>,
        field: Option<String>,
        message: &str,
    ) -> ScenarioError {
        let position = span.as_ref().map(|s| self.line_column(s.start));
        let line_text = position.and_then(|(l, _)| self.text.lines().nth(l - 1).map(String::from));
        let (message, help) = super::diagnostic::explain(message);
        ScenarioError {
            field,
            message,
            position,
            detail: Box::new(super::diagnostic::Detail {
                line_text,
                width: span.map_or(0, |s| s.len()),
                help,
                more: Vec::new(),
            }),
            ..ScenarioError::unplaced(self.file, "")
        }
    }

    fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    /// The span of the deepest present part of `path` (key span for tables'
    /// entries, element span for array items).
    fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let mut table = root.get_ref();
        let mut best = None;
        for segment in path.split('.') {
            let (key, index) = split_index(segment);
            let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key) else {
                break;
            };
            best = Some(k.span());
            let mut value = v;
            if let (Some(i), DeValue::Array(items)) = (index, value.get_ref()) {
                let Some(item) = items.get(i) else { break };
                best = Some(item.span());
                value = item;
            }
            match value.get_ref() {
                DeValue::Table(t) => table = t,
                _ => {
                    if index.is_none() && !matches!(value.get_ref(), DeValue::Array(_)) {
                        best = Some(value.span());
                    }
                    break;
                }
            }
        }
        best
    }

    /// The field path whose key or value contains byte `offset`.
    fn path_at(&self, offset: usize) -> Option<String> {
        let root = self.root.as_ref()?;
        let mut path = Vec::new();
        walk_to(root.get_ref(), offset, &mut path).then(|| path.join("."))
    }
}

/// Finds the leaf entry whose key or value contains `offset`, pushing path
/// segments. Every table is searched: spans of TOML header tables do not
/// enclose their contents, so containment cannot prune the search.
fn walk_to(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table.iter() {
        let name = key.get_ref().to_string();
        let hit = key.span().contains(&offset) || value.span().contains(&offset);
        path.push(name);
        let found = match value.get_ref() {
            DeValue::Table(t) => walk_to(t, offset, path) || hit,
            DeValue::Array(items) => walk_items(items, offset, path) || hit,
            _ => hit,
        };
        if found {
            return true;
        }
        path.pop();
    }
    false
}

/// Like `walk_to`, over the items of an array (indexing the last segment).
fn walk_items(items: &[Spanned<DeValue<'_>>], offset: usize, path: &mut Vec<String>) -> bool {
    let name = path.pop().unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        path.push(format!("{name}[{i}]"));
        let found = match item.get_ref() {
            DeValue::Table(t) => walk_to(t, offset, path) || item.span().contains(&offset),
            _ => item.span().contains(&offset),
        };
        if found {
            return true;
        }
        path.pop();
    }
    path.push(name);
    false
}

/// The path of an unknown field ends at it: `[failure.disk]` is a mistake
/// in `failure`, not in `failure.disk`.
fn up_to_unknown(path: String, message: &str) -> String {
    let word = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(word, _)| word);
    let Some(word) = word else { return path };
    let segments: Vec<&str> = path.split('.').collect();
    match segments.iter().rposition(|s| split_index(s).0 == word) {
        Some(last) => segments[..=last].join("."),
        None => path,
    }
}

/// `region[1]` → ("region", Some(1)).
pub(crate) fn split_index(segment: &str) -> (&str, Option<usize>) {
    match segment.split_once('[') {
        Some((key, rest)) => (key, rest.trim_end_matches(']').parse().ok()),
        None => (segment, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "seed = 1\n\n[failures.disk]\nafr = -1\n\n[[region]]\nname = \"a\"\n\n[[region]]\nname = \"b\"\npair = \"x\"\n";

    #[test]
    fn field_paths_map_to_lines() {
        let src = Source::new("s.toml", TEXT);
        let err = src.error_in("failures.disk.afr", "bad");
        assert_eq!(err.position, Some((4, 7)));
        assert_eq!(
            src.error_in("region[1].pair", "bad").position,
            Some((11, 8))
        );
        // Absent field: points at its nearest present parent.
        assert_eq!(
            src.error_in("failures.disk.replace", "x").position,
            Some((3, 11))
        );
    }

    #[test]
    fn offsets_map_to_field_paths() {
        let src = Source::new("s.toml", TEXT);
        let afr = TEXT.find("-1").unwrap();
        assert_eq!(src.path_at(afr).as_deref(), Some("failures.disk.afr"));
        let pair = TEXT.find("\"x\"").unwrap();
        assert_eq!(src.path_at(pair).as_deref(), Some("region[1].pair"));
    }

    #[test]
    fn display_names_file_line_field_and_underlines_the_value() {
        let src = Source::new("s.toml", TEXT);
        let shown = src.error_in("failures.disk.afr", "must be ≥ 0").to_string();
        assert!(
            shown.starts_with("error: must be ≥ 0\n --> s.toml:4:7\n"),
            "{shown}"
        );
        assert!(shown.contains("4 | afr = -1"), "{shown}");
        assert!(
            shown.ends_with("  |       ^^ in `failures.disk.afr`"),
            "{shown}"
        );
    }

    #[test]
    fn a_mistake_far_along_a_long_line_shows_a_window_with_the_caret_under_it() {
        // Found by fuzzing: a column of 65,536 or more overflowed the
        // formatter's width and panicked.
        let text = format!("seed = 1\nname = \"{}\", afr = -1\n", "x".repeat(70_000));
        let src = Source::new("s.toml", &text);
        let at = text.find("-1").unwrap();
        let shown = src.error_at(Some(at..at + 2), "bad").to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let (excerpt, caret) = (lines[3], lines[4]);
        assert!(
            excerpt.starts_with("2 | ...") && excerpt.len() < 200,
            "{excerpt}"
        );
        let under = caret.find('^').unwrap();
        assert_eq!(&excerpt[under..under + 2], "-1", "{shown}");
    }

    #[test]
    fn an_unknown_field_names_itself_not_its_table() {
        let text = "[failure.disk]\nafr = 1\n";
        let src = Source::new("s.toml", text);
        let e = src.error_at(Some(1..8), "unknown field `failure`, expected `failures`");
        assert_eq!(e.field.as_deref(), Some("failure"));
        assert_eq!(e.detail.help.as_deref(), Some("did you mean `failures`?"));
    }
}
