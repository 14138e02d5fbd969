//! `[replay]`: component failures replayed from a CSV file, as scripted
//! faults (`model::Fault`, the `[[fault]]` path), alone (`random = false`)
//! or on top of the random failure processes.
//!
//! The scenario's text alone identifies a run (shards merge on it, the
//! determinism tests compare it), so on loading, the CSV's contents are
//! appended to that text as a `[replay.recorded]` table: a run recorded
//! with a CSV is rebuilt from its text without the file, and a changed
//! file changes the text. Lines of the scenario keep their numbers.
//!
//! The CSV: a header `time,level,component,kind,duration`, then one row per
//! failure: `time` from the start of the measured horizon (a duration,
//! "30d", or plain seconds), `level` (disk, node, rack, facility, zone,
//! region, or link), `component` (its 0-based index at that level, as
//! `replisim trace` prints it; for a link, one of its regions' index), `kind` (`destroyed` or `down`), `duration` (how long
//! a `down` component stays down; for a `destroyed` one, until it is
//! replaced, empty for the class's default).

use std::path::Path;

use super::schema::ScenarioFile;
use super::source::{ScenarioError, Source};
use super::validate::{FieldError, fault_kind};
use crate::model::{Fault, Level, Scope, Topology};
use crate::units::{self, Micros};

/// The header a failure trace starts with.
pub const HEADER: &str = "time,level,component,kind,duration";

/// Appends the CSV named by `[replay] file` (relative to the scenario's
/// directory) to `text` as `[replay.recorded]`, unless it is there already
/// or the text has no `[replay]`; a text that does not parse is left for
/// the parser to explain.
pub fn record(file: &str, text: &str) -> Result<String, ScenarioError> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Ok(text.to_string());
    };
    let Some(replay) = doc.get("replay").and_then(|r| r.as_table()) else {
        return Ok(text.to_string());
    };
    let (Some(csv), None) = (
        replay.get("file").and_then(|f| f.as_str()),
        replay.get("recorded"),
    ) else {
        return Ok(text.to_string());
    };
    let fail = |message: String| Source::new(file, text).error_in("replay.file", &message);
    let path = Path::new(file).parent().unwrap_or(Path::new("")).join(csv);
    let contents = read_csv(&path).map_err(fail)?;
    let mut out = text.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let recorded = toml::Value::String(contents);
    out += &format!(
        "\n# The replayed failures of `{csv}`, recorded by replisim when the scenario was loaded:\n\
         # this text alone identifies the run.\n[replay.recorded]\nfile = {}\ntext = {recorded}\n",
        toml::Value::String(csv.to_string())
    );
    Ok(out)
}

/// Whether loading `text` would read a file: a `[replay]` whose CSV is
/// not recorded in it (`replisim serve` refuses that, not to read the
/// server's files for a web request).
pub fn reads_file(text: &str) -> bool {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return false;
    };
    doc.get("replay")
        .and_then(|r| r.as_table())
        .is_some_and(|r| !r.contains_key("recorded"))
}

/// The CSV's text, within the size of a scenario file.
fn read_csv(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let shown = path.display();
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(super::MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| format!("cannot read the failure trace {shown}: {e}"))?;
    if text.len() as u64 > super::MAX_FILE_BYTES {
        return Err(format!(
            "the failure trace {shown} is over {} MiB (at most {} rows are replayed)",
            super::MAX_FILE_BYTES >> 20,
            u16::MAX
        ));
    }
    Ok(text)
}

/// The recorded rows as faults (appended to `faults`, at most 65535 in
/// all), and whether the random failure processes stay on.
pub fn faults(
    file: &ScenarioFile,
    topo: &Topology,
    faults: &mut Vec<Fault>,
) -> Result<bool, FieldError> {
    let Some(replay) = &file.replay else {
        return Ok(true);
    };
    let at_file = |message: String| FieldError {
        path: "replay.file".into(),
        message,
    };
    let recorded = match &replay.recorded {
        Some(r) if r.file == replay.file => r,
        Some(r) => {
            return Err(at_file(format!(
                "the failures recorded in this text are those of `{}`, not `{}`: remove [replay.recorded] to read the file again",
                r.file, replay.file
            )));
        }
        None => return Err(at_file("the failure trace was not read".into())),
    };
    let rows = parse_rows(&recorded.text, topo, file.horizon.0)
        .map_err(|(line, column, m)| at_file(format!("{}:{line}:{column}: {m}", replay.file)))?;
    if faults.len() + rows.len() > usize::from(u16::MAX) {
        return Err(at_file(format!(
            "{} rows and {} [[fault]]s: at most 65535 scripted faults in all",
            rows.len(),
            faults.len()
        )));
    }
    faults.extend(rows);
    Ok(replay.random)
}

/// An error at (line, column) of the CSV, both from 1.
type RowError = (usize, usize, String);

fn parse_rows(text: &str, topo: &Topology, horizon: Micros) -> Result<Vec<Fault>, RowError> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == HEADER => {}
        _ => {
            return Err((
                1,
                1,
                format!("the first line must be the header `{HEADER}`"),
            ));
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if out.len() >= usize::from(u16::MAX) {
            return Err((i + 1, 1, "more than 65535 rows".into()));
        }
        out.push(parse_row(line, topo, horizon).map_err(|(c, m)| (i + 1, c, m))?);
    }
    Ok(out)
}

/// One row; an error names its column (from 1).
fn parse_row(line: &str, topo: &Topology, horizon: Micros) -> Result<Fault, (usize, String)> {
    let cells = cells(line);
    if cells.len() != 5 {
        return Err((1, format!("{} cells; a row is `{HEADER}`", cells.len())));
    }
    let at_cell = |n: usize, m: String| (cells[n].0, m);
    let at = time(cells[0].1).map_err(|m| at_cell(0, m))?;
    if at > horizon {
        let m = format!(
            "{} is after the horizon ({}): the failure would never happen",
            units::format_duration(at),
            units::format_duration(horizon)
        );
        return Err(at_cell(0, m));
    }
    let (scope, component) = if cells[1].1 == "link" {
        // A link is named by one of its two regions, as the trace does.
        let regions = topo.regions.len() as u32;
        let r = index(cells[2].1, regions).map_err(|m| at_cell(2, m))?;
        let pair = topo.regions[r as usize].pair.ok_or_else(|| {
            let m = format!("region {r} has no `pair`, so no link to take down");
            at_cell(2, m)
        })?;
        (Scope::Link, crate::model::fleet::link_of(r, pair))
    } else {
        let level = Level::parse(cells[1].1).ok_or_else(|| {
            let m = format!(
                "`{}` is not a level; allowed: region, zone, facility, rack, node, disk, link",
                cells[1].1
            );
            at_cell(1, m)
        })?;
        let component = index(cells[2].1, topo.count(level)).map_err(|m| at_cell(2, m))?;
        (Scope::Component(level), component)
    };
    let duration = match cells[4].1 {
        "" => None,
        d => Some(units::parse_duration(d).map_err(|m| at_cell(4, m))?),
    };
    let durations = match cells[3].1 {
        "destroyed" => (None, duration),
        _ => (duration, None),
    };
    let kind = fault_kind(cells[3].1, durations, scope, "")
        .map_err(|e| at_cell(if e.path == ".kind" { 3 } else { 4 }, e.message))?;
    Ok(Fault {
        at,
        scope,
        component,
        kind,
        subset: None,
    })
}

/// The comma-separated cells of a line, trimmed, with the column each
/// starts at (from 1).
fn cells(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for cell in line.split(',') {
        let lead = cell.len() - cell.trim_start().len();
        out.push((start + lead + 1, cell.trim()));
        start += cell.len() + 1;
    }
    out
}

/// A time from the start of the horizon: a duration ("30d") or seconds.
fn time(text: &str) -> Result<Micros, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 && s < (u64::MAX / 4) as f64 / 1e6 => {
            Ok((s * 1e6).round() as Micros)
        }
        Ok(_) => Err(format!(
            "`{text}`: a time is a non-negative number of seconds or a duration"
        )),
        Err(_) => units::parse_duration(text),
    }
}

/// A component index below `count`.
fn index(text: &str, count: u32) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(i) if i < count => Ok(i),
        _ => Err(format!(
            "`{text}` is not a component: give its index from 0 to {} at this level",
            count.saturating_sub(1)
        )),
    }
}
