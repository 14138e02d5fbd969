//! How a scenario mistake is shown: rendered the way cargo and rustc show
//! theirs (annotate-snippets, the crate they use), with the span underlined,
//! the field named under it, a `help:` line, and every mistake the loader
//! found in the file. Also the wording that makes serde's and toml's
//! messages read as a user's words: "did you mean", no Rust type names.

use std::fmt;

use annotate_snippets::{Annotation, AnnotationKind, Group, Level, Origin, Renderer, Snippet};

/// A scenario mistake, located in its file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based line and column, when the mistake has a place in the file.
    pub position: Option<(usize, usize)>,
    /// The field path, e.g. `failures.disk.afr`.
    pub field: Option<String>,
    pub message: String,
    /// How it is shown, and what else is wrong; boxed, so that a `Result`
    /// carrying the error stays small on the path where nothing is wrong.
    pub detail: Box<Detail>,
}

/// The parts of a [`ScenarioError`] that only its display reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    /// The offending source line, for display.
    pub line_text: Option<String>,
    /// Bytes of the line underlined from `position` (at least one shown).
    pub width: usize,
    /// What to do about it: "did you mean …", the allowed values.
    pub help: Option<String>,
    /// Further mistakes found in the same file, in file order.
    pub more: Vec<ScenarioError>,
}

impl ScenarioError {
    /// A mistake with no place in a file (unreadable, too large, …).
    pub fn unplaced(file: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            position: None,
            field: None,
            message: message.into(),
            detail: Box::default(),
        }
    }

    /// As a warning rather than an error: the same place, field and line;
    /// `styled` adds cargo's colours.
    pub fn warning(&self, styled: bool) -> String {
        self.render(Level::WARNING, styled)
    }

    /// The message as a terminal shows it: `styled` adds cargo's colours.
    pub fn shown(&self, styled: bool) -> String {
        self.render(Level::ERROR, styled)
    }

    /// Every mistake, this one first.
    pub fn all(&self) -> impl Iterator<Item = &ScenarioError> {
        std::iter::once(self).chain(&self.detail.more)
    }

    fn render(&self, level: Level<'_>, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let groups: Vec<Group<'_>> = self.all().map(|e| e.group(level.clone())).collect();
        let mut text = groups
            .iter()
            .map(|g| renderer.render(std::slice::from_ref(g)))
            .collect::<Vec<_>>()
            .join("\n\n");
        if !self.detail.more.is_empty() {
            let count = self.detail.more.len() + 1;
            let summary = format!("could not load `{}` due to {count} mistakes", self.file);
            text += "\n\n";
            text += &renderer.render(&[Group::with_title(level.primary_title(summary))]);
        }
        text
    }

    /// One mistake as a group: title, the underlined line (or just the file
    /// when the mistake has no place), and the help.
    fn group<'a>(&'a self, level: Level<'a>) -> Group<'a> {
        let located = self.position.zip(self.detail.line_text.as_deref());
        let title = match (&self.field, located) {
            (Some(field), None) => format!("{} (in `{field}`)", self.message),
            _ => self.message.clone(),
        };
        let group = level.primary_title(title);
        let mut group = match located {
            Some(((line, column), text)) => group.element(self.snippet(line, column, text)),
            None => group.element(Origin::path(self.file.as_str())),
        };
        if let Some(help) = &self.detail.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        group
    }

    /// The line, numbered, with the mistake underlined and its field named.
    fn snippet<'a>(
        &'a self,
        line: usize,
        column: usize,
        text: &'a str,
    ) -> Snippet<'a, Annotation<'a>> {
        let start = floor_char(text, column.saturating_sub(1));
        let end = ceil_char(text, start + self.detail.width.max(1));
        let label = self.field.as_ref().map(|f| format!("in `{f}`"));
        Snippet::source(text)
            .line_start(line)
            .path(self.file.as_str())
            .annotation(AnnotationKind::Primary.span(start..end).label(label))
    }
}

/// The largest char boundary of `text` at or before `at`.
fn floor_char(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// The smallest char boundary of `text` at or after `at`.
fn ceil_char(text: &str, at: usize) -> usize {
    (at.min(text.len())..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len())
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown(false))
    }
}

impl std::error::Error for ScenarioError {}

/// The closest of `candidates` to `word` by edit distance (Damerau–
/// Levenshtein, ignoring case), if close enough to be a slip: at most one
/// edit in three characters, and at least one allowed.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|&c| {
            (
                strsim::damerau_levenshtein(&word, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// A `help:` for an unknown `word`: the nearest of `candidates`, or all of
/// them when none is near.
pub fn help_for(word: &str, candidates: &[&str], allowed: &str) -> String {
    match did_you_mean(word, candidates) {
        Some(near) => format!("did you mean `{near}`?"),
        None => allowed.to_string(),
    }
}

/// Where a validation message ends and its help begins (see [`with_help`]).
const HELP_MARK: &str = "\nhelp: ";

/// A validation message with its help, for [`explain`] to split apart:
/// validation reports a field and one string, and this lets a message whose
/// help is not a list of allowed names (a catalog of 57 regions, a setting
/// to accept) still put it on the `help:` line rather than in the title.
pub fn with_help(message: impl fmt::Display, help: impl fmt::Display) -> String {
    format!("{message}{HELP_MARK}{help}")
}

/// A message of serde, toml or validation, worded for a user: the unknown
/// name kept in the message and "did you mean" or the allowed names moved
/// to a help line; Rust's type names replaced by what to write.
pub fn explain(message: &str) -> (String, Option<String>) {
    if let Some((message, help)) = message.split_once(HELP_MARK) {
        return (plain_types(message), Some(help.to_string()));
    }
    if let Some(found) = unknown_name(message) {
        return found;
    }
    (plain_types(message), None)
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or variant) and
/// validation's "unknown option `x`; allowed: a, b (…)".
fn unknown_name(message: &str) -> Option<(String, Option<String>)> {
    let rest = message.strip_prefix("unknown ")?;
    let (kind, rest) = rest.split_once(" `")?;
    let (word, rest) = rest.split_once('`')?;
    let kind = if kind == "variant" { "value" } else { kind };
    let head = format!("unknown {kind} `{word}`");
    if let Some(list) = rest.strip_prefix(", expected ") {
        let names = backticked(list);
        let listed: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let allowed = format!("allowed here: {}", listed.join(", "));
        return Some((head, Some(help_for(word, &names, &allowed))));
    }
    if rest == ", there are no fields" {
        return Some((head, Some("this table has no fields".into())));
    }
    let list = rest.strip_prefix("; allowed: ")?;
    let names: Vec<&str> = list
        .split(", ")
        .filter_map(|item| item.split_whitespace().next())
        .collect();
    // A short list of values: shown beside the guess too, which may be one
    // of several as near (`XRS`: LRS or ZRS).
    let allowed = format!("allowed: {list}");
    let help = match did_you_mean(word, &names) {
        Some(near) => format!("did you mean `{near}`? ({allowed})"),
        None => allowed,
    };
    Some((head, Some(help)))
}

/// The names between backticks in serde's list of expected names.
fn backticked(list: &str) -> Vec<&str> {
    list.split('`').skip(1).step_by(2).collect()
}

/// serde's "invalid type: integer `3`, expected i64" as "expected a whole
/// number, found integer `3`": what to write first, and in the format's words.
fn plain_types(message: &str) -> String {
    let swapped = ["invalid type: ", "invalid value: "].iter().find_map(|p| {
        let (found, expected) = message.strip_prefix(p)?.split_once(", expected ")?;
        Some(format!(
            "expected {}, found {}",
            type_words(expected),
            type_words(found)
        ))
    });
    swapped.unwrap_or_else(|| message.to_string())
}

/// One of serde's type descriptions in the format's words.
fn type_words(text: &str) -> String {
    let words = match text {
        "i64" | "i32" => "a whole number",
        "u64" | "u32" | "usize" => "a whole number, 0 or more",
        "f64" | "f32" => "a number",
        s if s.starts_with("floating point ") => {
            return s.replacen("floating point", "the number", 1);
        }
        s if s.starts_with("integer ") => return s.replacen("integer", "the whole number", 1),
        "a sequence" | "sequence" => "a list ([...])",
        "a map" | "map" => "a table",
        "a boolean" | "boolean" => "true or false",
        other => return other.to_string(),
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_name_is_suggested_and_a_far_one_lists_the_allowed() {
        let (message, help) = explain("unknown field `afrr`, expected one of `afr`, `lifetime`");
        assert_eq!(message, "unknown field `afrr`");
        assert_eq!(help.as_deref(), Some("did you mean `afr`?"));
        let (_, help) = explain("unknown field `mtbf`, expected `afr` or `lifetime`");
        assert_eq!(help.as_deref(), Some("allowed here: `afr`, `lifetime`"));
        let (message, help) = explain("unknown option `GZR`; allowed: LRS, GZRS (or define one)");
        assert_eq!(message, "unknown option `GZR`");
        assert_eq!(
            help.as_deref(),
            Some("did you mean `GZRS`? (allowed: LRS, GZRS (or define one))")
        );
    }

    #[test]
    fn a_help_given_with_the_message_goes_to_the_help_line() {
        let (message, help) = explain(&with_help("no region `x`", "did you mean `y`?"));
        assert_eq!(message, "no region `x`");
        assert_eq!(help.as_deref(), Some("did you mean `y`?"));
    }

    #[test]
    fn no_rust_type_name_reaches_the_user() {
        for (rust, plain) in [
            (
                "invalid type: string \"x\", expected i64",
                "expected a whole number, found string \"x\"",
            ),
            (
                "invalid value: integer `-1`, expected u64",
                "expected a whole number, 0 or more, found the whole number `-1`",
            ),
            (
                "invalid type: floating point `2.5`, expected i64",
                "expected a whole number, found the number `2.5`",
            ),
            (
                "invalid type: integer `1`, expected a boolean",
                "expected true or false, found the whole number `1`",
            ),
        ] {
            assert_eq!(explain(rust).0, plain);
        }
    }

    #[test]
    fn several_mistakes_are_shown_with_a_closing_count() {
        let one = |line: usize| ScenarioError {
            position: Some((line, 1)),
            detail: Box::new(Detail {
                line_text: Some("x = 1".into()),
                width: 1,
                ..Detail::default()
            }),
            ..ScenarioError::unplaced("s.toml", "bad")
        };
        let mut all = one(1);
        all.detail.more = vec![one(2)];
        let shown = all.to_string();
        assert!(
            shown.contains("--> s.toml:1:1") && shown.contains("--> s.toml:2:1"),
            "{shown}"
        );
        assert!(
            shown.ends_with("error: could not load `s.toml` due to 2 mistakes"),
            "{shown}"
        );
    }
}
