//! Scenario files: TOML in, a validated [`System`] and run settings out.
//! Every mistake becomes a [`ScenarioError`] naming file, line and field.

pub mod catalog;
pub mod diagnostic;
pub mod expect;
pub mod json_schema;
mod mistakes;
pub mod overrides;
pub mod plausible;
pub mod replay;
pub mod schema;
pub mod source;
pub mod validate;

use crate::model::System;
pub use source::ScenarioError;
use source::Source;

/// The scenario compiled into the binary: `replisim run` with no file.
pub const DEFAULT_TEXT: &str = include_str!("../../scenarios/default.toml");
/// How the embedded default is named in messages: no file of that name is
/// read, so none is cited.
pub const DEFAULT_FILE: &str = "<embedded default>";

/// The template of `replisim init`: every field at its default.
const STARTER: &str = include_str!("../../assets/init.toml");

/// A starter scenario named `name` with `options`: every field written out
/// at its default (so it runs as an empty file would), the optional
/// sections shown commented. The options are written as given and checked
/// when the text is loaded.
pub fn starter(name: &str, options: &[String]) -> String {
    let quoted = |text: &str| toml_edit::Value::from(text).to_string();
    let list: Vec<String> = options.iter().map(|o| quoted(o)).collect();
    STARTER
        .replace("\"{name}\"", &quoted(name))
        .replace("{options}", &format!("[{}]", list.join(", ")))
}

/// A validated scenario: the system to simulate and how to run it.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file it came from, and its text: enough to rebuild it exactly.
    pub file: String,
    pub text: String,
    pub name: String,
    pub description: Option<String>,
    pub seed: u64,
    pub trials: u64,
    /// Group trials of the rare-event method per fleet trial and option
    /// (`group_trials`): where durability is rare and the fleet trial costs
    /// more than its group trials, more of them per fleet trial reach the
    /// same interval of P(loss) in less time, with fewer fleet trials for
    /// the availability figures.
    pub group_trials: u32,
    pub system: System,
    /// The `[expect]` section, in the order of the options.
    pub expectations: Vec<expect::Expectation>,
    /// Valid values that are most likely mistakes: (field, why).
    pub warnings: Vec<plausible::Warning>,
    /// The file's own text and the `--set`s applied to it, when `text` is
    /// the edited document: what places a later message about a field.
    pub origin: Option<(String, Vec<overrides::Override>)>,
}

/// Reads and validates a scenario file.
pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    let (file, text) = read(path)?;
    from_source(&file, &text)
}

/// The name and text of a scenario file, unvalidated.
pub fn read(path: &std::path::Path) -> Result<(String, String), ScenarioError> {
    use std::io::Read;
    let file = path.display().to_string();
    let fail = |message: String| ScenarioError::unplaced(&file, message);
    let mut text = String::new();
    // One byte past the limit tells a file at the limit from a longer one
    // (or from /dev/zero, which never ends).
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| fail(format!("cannot read the scenario: {e}")))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(fail(format!(
            "the scenario is over {} MiB; a scenario is a few KB (the bundled ones are under 10 KB)",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok((file, text))
}

/// The largest scenario file read: far above any real one, and small
/// enough that parsing it cannot take much memory or time.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Validates scenario `text` read from `file`, named after the file's stem
/// unless it has a `name`.
pub fn from_source(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    parse(file, text, &stem_of(file))
}

/// The file name without `.toml`: a scenario's name unless it has one.
fn stem_of(file: &str) -> String {
    let stem = std::path::Path::new(file).file_stem();
    stem.map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned())
}

/// The embedded default scenario.
pub fn default_scenario() -> Result<Scenario, ScenarioError> {
    parse(DEFAULT_FILE, DEFAULT_TEXT, "default")
}

/// Validates scenario `text`; `file` names it in errors, `stem` is the
/// fallback name.
pub fn parse(file: &str, text: &str, stem: &str) -> Result<Scenario, ScenarioError> {
    // A replayed CSV becomes part of the text: the text identifies the run.
    let text = &replay::record(file, text)?;
    let source = Source::new(file, text);
    let spec = mistakes::scenario(text).map_err(|found| {
        let mut all = found.iter().map(|e| source.error_at(e.span(), e.message()));
        let mut first = all
            .next()
            .unwrap_or_else(|| ScenarioError::unplaced(file, "not a scenario"));
        first.detail.more = all.collect();
        first
    })?;
    let system = validate::system(&spec).map_err(|e| source.error_in(&e.path, &e.message))?;
    let expectations = expect::from_spec(
        &spec.expect,
        &system.options,
        expect::Sections {
            keys: system.keys.is_some(),
            deletion: system.deletion.is_some(),
            logical: system.logical.is_some(),
            access: system.access.as_ref().map(|a| a.options.as_slice()),
        },
    )
    .map_err(|(path, message)| source.error_in(&path, &message))?;
    let warnings = plausible::warnings(&spec, &system);
    Ok(Scenario {
        file: file.to_string(),
        text: text.to_string(),
        name: spec.name.clone().unwrap_or_else(|| stem.to_string()),
        description: spec.description.clone(),
        seed: spec.seed,
        trials: u64::from(spec.trials.0),
        group_trials: spec.group_trials.0,
        system,
        expectations,
        warnings,
        origin: None,
    })
}

impl Scenario {
    /// A message about `field` of this scenario (an error or a warning
    /// found after validation), located as validation's own errors are: at
    /// the `--set` that changed the field, else in the file's own text.
    pub fn error_in(&self, field: &str, message: &str) -> ScenarioError {
        match &self.origin {
            Some((text, sets)) => overrides::locate(&self.file, text, sets, field, message),
            None => Source::new(&self.file, &self.text).error_in(field, message),
        }
    }
}
