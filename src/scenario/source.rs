//! Where things are in a scenario file: maps a field path such as
//! `failures.disk.afr` or `region[1].pair` to its line and column, and a byte
//! offset back to the field path, so every error names file, line and field.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A scenario mistake, located in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based line and column, when the mistake has a place in the file.
    pub position: Option<(usize, usize)>,
    /// The field path, e.g. `failures.disk.afr`.
    pub field: Option<String>,
    pub message: String,
    /// The offending source line, for display.
    pub line_text: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(f, "error")
    }
}

impl ScenarioError {
    /// As a warning rather than an error: the same place, field and line.
    pub fn as_warning(&self) -> String {
        struct Warning<'a>(&'a ScenarioError);
        impl fmt::Display for Warning<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.render(f, "warning")
            }
        }
        Warning(self).to_string()
    }

    fn render(&self, f: &mut fmt::Formatter<'_>, label: &str) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {label}")?;
        if let Some(field) = &self.field {
            write!(f, " in `{field}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(text), Some((line, column))) = (&self.line_text, self.position) {
            let gutter = line.to_string().len();
            let (shown, caret) = excerpt(text, column);
            write!(
                f,
                "\n{:gutter$} |\n{line} | {shown}\n{:gutter$} | {}^",
                "",
                "",
                " ".repeat(caret)
            )?;
        }
        Ok(())
    }
}

/// Characters of a long line shown on each side of the mistake.
const EXCERPT_CHARS: usize = 60;

/// The part of `line` to show around 1-based byte `column`, and the caret's
/// offset in characters: the whole line when short, else a window with `…`
/// at the cut ends (a minified or generated file can have one huge line).
fn excerpt(line: &str, column: usize) -> (String, usize) {
    let at = line
        .char_indices()
        .take_while(|&(i, _)| i < column.saturating_sub(1))
        .count();
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= 2 * EXCERPT_CHARS {
        return (line.to_string(), at);
    }
    let start = at.saturating_sub(EXCERPT_CHARS);
    let end = (at + EXCERPT_CHARS).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret = at - start;
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret)
}

impl std::error::Error for ScenarioError {}

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
        self.located(span.map(|s| s.start), field, message)
    }

    /// An error about a field path (from validation). A field absent from the
    /// file points at the nearest table that is present.
    pub fn error_in(&self, path: &str, message: &str) -> ScenarioError {
        let offset = self.span_of(path).map(|s| s.start);
        self.located(offset, Some(path.to_string()), message)
    }

    fn located(
        &self,
        offset: Option<usize>,
        field: Option<String>,
        message: &str,
    ) -> ScenarioError {
        let position = offset.map(|o| self.line_column(o));
        let line_text = position.and_then(|(l, _)| self.text.lines().nth(l - 1).map(String::from));
        ScenarioError {
            file: self.file.to_string(),
            position,
            field,
            message: message.to_string(),
            line_text,
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
    fn display_names_file_line_field_and_shows_the_line() {
        let src = Source::new("s.toml", TEXT);
        let shown = src.error_in("failures.disk.afr", "must be ≥ 0").to_string();
        assert!(shown.starts_with("s.toml:4:7: error in `failures.disk.afr`: must be ≥ 0"));
        assert!(shown.contains("4 | afr = -1"), "{shown}");
        assert!(shown.ends_with("\n  |       ^"), "{shown}");
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
        let (excerpt, caret) = (lines[2], lines[3]);
        assert!(
            excerpt.starts_with("2 | …") && excerpt.len() < 200,
            "{excerpt}"
        );
        let under = caret.chars().count() - 1;
        assert_eq!(excerpt.chars().nth(under), Some('-'), "{shown}");
    }
}
