//! A run's files as one set: written into a staging folder beside `out`,
//! then swapped into place in one step, so that a reader (or a kill -9 at
//! any moment) finds either the old set or the new one, never a mix. A
//! trace's files (`replisim trace`) are a set of their own in the same
//! folder: each kind of set keeps the other's files as extras.
//!
//! The swap exchanges the two folders (Linux `renameat2` with
//! `RENAME_EXCHANGE`; elsewhere two renames, with a moment where `out` is
//! absent). What `out` held besides the old set (the `set/`, `sweep/` and
//! `compare/` folders of other runs, traces) is moved into the new one, and
//! the old set is deleted. A run killed before that leaves a `.NAME.old-*`
//! or `.NAME.new-*` folder beside `out`; the next commit into `out` finishes
//! the move of the extras and removes it.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

/// A staging folder for the files of one result set.
pub struct ResultSet {
    out: PathBuf,
    staging: tempfile::TempDir,
    kind: Kind,
}

/// What a set holds: a run's results or one trial's trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Run,
    Trace,
}

impl Kind {
    /// Named in the staging folders, so that finishing a killed commit
    /// knows which files were the set.
    fn tag(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Trace => "trace",
        }
    }

    fn holds(self, name: &OsStr) -> bool {
        match self {
            Kind::Run => is_set_file(name),
            Kind::Trace => is_trace_file(name),
        }
    }

    /// The kind of a leftover folder from its name after `.NAME.old-`
    /// (folders of before the tags were a run's).
    fn of_leftover(rest: &str) -> Self {
        if rest.starts_with("trace-") {
            Kind::Trace
        } else {
            Kind::Run
        }
    }
}

/// The files `replisim trace` writes: the events and the timeline.
fn is_trace_file(name: &OsStr) -> bool {
    matches!(
        name.to_string_lossy().as_ref(),
        "trace.json" | "trace.svg" | "trace.png"
    )
}

/// The files of a set, as its writers name them: only these are replaced;
/// everything else in `out` is kept.
fn is_set_file(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let stem = name.rsplit_once('.').map_or(name.as_ref(), |(s, _)| s);
    let charts = [
        "nines",
        "loss_by_horizon",
        "availability",
        "rpo",
        "rto",
        "sweep",
    ];
    matches!(
        name.as_ref(),
        "summary.json" | "summary.csv" | "report.html" | "compare.json" | "compare.csv"
    ) || matches!(name.as_ref(), "sweep.csv" | "sweep.json")
        || (charts.contains(&stem) && (name.ends_with(".svg") || name.ends_with(".png")))
}

impl ResultSet {
    /// A staging folder for a run's results beside `out` (created with its
    /// parents), after finishing any commit a killed run left undone there.
    pub fn begin(out: &Path) -> Result<Self, String> {
        Self::begin_kind(out, Kind::Run)
    }

    /// As [`ResultSet::begin`], for a set of `kind`.
    pub fn begin_kind(out: &Path, kind: Kind) -> Result<Self, String> {
        let fail = |e: std::io::Error| format!("cannot write into {}: {e}", out.display());
        let parent = parent_of(out);
        fs::create_dir_all(&parent).map_err(fail)?;
        recover(out).map_err(fail)?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{}.new-{}-", name_of(out), kind.tag()))
            .tempdir_in(&parent)
            .map_err(fail)?;
        Ok(Self {
            out: out.to_path_buf(),
            staging,
            kind,
        })
    }

    /// Where the set's files are written before the commit.
    pub fn dir(&self) -> &Path {
        self.staging.path()
    }

    /// Puts the staged set in place of `out`'s; returns `out`. Dropped
    /// without a commit, the staging folder is removed.
    pub fn commit(self) -> Result<PathBuf, String> {
        let fail =
            |e: std::io::Error| format!("cannot put the results in {}: {e}", self.out.display());
        let staged = self.staging.keep();
        crate::report::shareable_dir(&staged).map_err(fail)?;
        if !self.out.exists() {
            fs::rename(&staged, &self.out).map_err(fail)?;
            return Ok(self.out);
        }
        // The old set goes to a name that recover() knows.
        let old = staged.with_file_name(
            staged
                .file_name()
                .map(|n| n.to_string_lossy().replacen(".new-", ".old-", 1))
                .unwrap_or_default(),
        );
        fs::rename(&staged, &old).map_err(fail)?;
        exchange(&old, &self.out).map_err(fail)?;
        carry_extras(&old, &self.out, self.kind).map_err(fail)?;
        fs::remove_dir_all(&old).map_err(fail)?;
        Ok(self.out)
    }
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn name_of(out: &Path) -> String {
    out.file_name()
        .map_or_else(|| "results".into(), |n| n.to_string_lossy().into_owned())
}

/// Swaps the folders `a` and `b` in one step where the system can.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let aside = a.with_extension("swap");
    fs::rename(b, &aside)?;
    fs::rename(a, b)?;
    fs::rename(&aside, a)
}

/// Moves what `from` holds besides a set of `kind` into `to`, where `to`
/// does not already have it.
fn carry_extras(from: &Path, to: &Path, kind: Kind) -> std::io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let target = to.join(&name);
        if !kind.holds(&name) && !target.exists() {
            fs::rename(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Finishes what a killed run left beside `out`: an old set whose extras
/// may not all have moved, and staging folders never committed.
fn recover(out: &Path) -> std::io::Result<()> {
    let parent = parent_of(out);
    let name = name_of(out);
    let (old, new) = (format!(".{name}.old-"), format!(".{name}.new-"));
    for entry in fs::read_dir(&parent)? {
        let entry = entry?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = file.strip_prefix(&old) {
            if out.exists() {
                carry_extras(&entry.path(), out, Kind::of_leftover(rest))?;
            }
            fs::remove_dir_all(entry.path())?;
        } else if file.starts_with(&new) {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(dir: &Path, tag: &str) -> Result<PathBuf, String> {
        let set = ResultSet::begin(dir)?;
        for f in ["summary.json", "report.html", "nines.svg"] {
            fs::write(set.dir().join(f), tag).unwrap();
        }
        set.commit()
    }

    #[test]
    fn a_commit_replaces_the_set_and_keeps_the_rest() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("results").join("x");
        set(&out, "one").unwrap();
        fs::create_dir_all(out.join("set").join("a")).unwrap();
        fs::write(out.join("trace.txt"), "t").unwrap();
        fs::write(out.join("rpo.svg"), "stale").unwrap();
        set(&out, "two").unwrap();
        let read = |f: &str| fs::read_to_string(out.join(f)).ok();
        assert_eq!(read("summary.json").as_deref(), Some("two"));
        assert_eq!(read("trace.txt").as_deref(), Some("t"));
        assert!(out.join("set").join("a").is_dir());
        assert_eq!(read("rpo.svg"), None, "a stale chart of the old set stays");
        let beside: Vec<_> = fs::read_dir(out.parent().unwrap()).unwrap().collect();
        assert_eq!(beside.len(), 1, "nothing but the set is left beside it");
    }

    #[test]
    fn a_killed_commit_is_finished_by_the_next() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("x");
        set(&out, "one").unwrap();
        // As if killed after the swap: the old set, holding an extra, and a
        // staging folder never committed.
        let old = root.path().join(".x.old-abc");
        fs::create_dir_all(old.join("sweep")).unwrap();
        fs::write(old.join("summary.json"), "zero").unwrap();
        fs::create_dir_all(root.path().join(".x.new-def")).unwrap();
        set(&out, "two").unwrap();
        assert!(out.join("sweep").is_dir());
        assert_eq!(fs::read_to_string(out.join("summary.json")).unwrap(), "two");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_trace_set_keeps_the_run_and_a_run_set_keeps_the_trace() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("x");
        set(&out, "one").unwrap();
        let trace = |tag: &str| {
            let t = ResultSet::begin_kind(&out, Kind::Trace).unwrap();
            for f in ["trace.json", "trace.svg"] {
                fs::write(t.dir().join(f), tag).unwrap();
            }
            t.commit().unwrap();
        };
        trace("a");
        trace("b");
        set(&out, "two").unwrap();
        let read = |f: &str| fs::read_to_string(out.join(f)).unwrap();
        assert_eq!(
            (read("trace.json"), read("summary.json")),
            ("b".into(), "two".into())
        );
        // A trace commit killed after its swap: its leftover holds the run's
        // files as extras, which the next commit of either kind carries over.
        let old = root.path().join(".x.old-trace-abc");
        fs::create_dir_all(&old).unwrap();
        fs::write(old.join("notes.txt"), "n").unwrap();
        fs::write(old.join("trace.json"), "stale").unwrap();
        set(&out, "three").unwrap();
        assert_eq!(read("notes.txt"), "n");
        assert_eq!(read("trace.json"), "b");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn only_the_files_a_run_writes_belong_to_a_set() {
        for name in ["summary.json", "rto.png", "sweep.svg", "compare.csv"] {
            assert!(is_set_file(OsStr::new(name)), "{name}");
        }
        for name in ["trace.json", "set", "part-0-of-2.json", "notes.txt"] {
            assert!(!is_set_file(OsStr::new(name)), "{name}");
        }
    }
}
