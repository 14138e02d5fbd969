//! The one-way flow of ARCHITECTURE.md ("Who may import whom"), checked on
//! the source: every top-level module of `src/` belongs to a stage, and the
//! non-test code of a stage names (`crate::…`) only the shared leaves, its
//! own stage and the stages before it. A lower stage that reaches up, or a
//! new top-level module without a stage, fails here.

use std::fs;
use std::path::{Path, PathBuf};

/// The stages in the order of the flow; a stage may import those before it.
/// The shared leaves (rank 0) may import only each other.
const STAGES: [(&str, u8); 11] = [
    ("cache", 0),
    ("dist", 0),
    ("stats", 0),
    ("units", 0),
    ("engine", 1),
    ("model", 2),
    ("scenario", 3),
    ("exact", 4),
    ("estimate", 5),
    ("report", 6),
    ("cli", 7),
];

fn rank(module: &str) -> Option<u8> {
    STAGES.iter().find(|(m, _)| *m == module).map(|&(_, r)| r)
}

fn may_import(from: u8, to: u8) -> bool {
    to <= from
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (None for lib.rs and
/// main.rs, which only declare and dispatch).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.as_str() {
        "lib.rs" | "main.rs" => None,
        _ => Some(first.trim_end_matches(".rs").to_string()),
    }
}

/// The code of a file that is not a unit test (a test may build its input
/// with a later stage, as a world test reads a scenario) and not a comment.
fn non_test_code(file: &Path, text: &str) -> String {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    without_test_items(&code).join("\n")
}

/// `lines` without the items marked `#[cfg(test)]`: the attribute's next
/// item, through the brace that closes it when it opens one.
fn without_test_items<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut depth: Option<i64> = None; // Some while inside a test item.
    let mut marked = false;
    for &line in lines {
        if let Some(d) = depth.as_mut() {
            *d += braces(line);
            if *d <= 0 {
                depth = None;
            }
        } else if line.trim() == "#[cfg(test)]" {
            marked = true;
        } else if marked {
            marked = false;
            let d = braces(line);
            if d > 0 {
                depth = Some(d);
            }
        } else {
            out.push(line);
        }
    }
    out
}

fn braces(line: &str) -> i64 {
    line.chars()
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// The top-level modules named by `crate::x` paths and `use crate::{x, …}`.
fn imported(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: after `{` or a comma at depth 0,
            // up to the brace that closes it.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(ident(group[start..].trim_start()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            out.push(ident(group[start..].trim_start()));
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

#[test]
fn every_stage_imports_only_the_stages_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(from) = rank(&module) else {
            wrong.push(format!(
                "{}: top-level module `{module}` has no stage in tests/layers.rs (and ARCHITECTURE.md)",
                file.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for target in imported(&non_test_code(file, &text)) {
            match rank(&target) {
                Some(to) if from == 0 && to == 0 => {}
                Some(to) if from > 0 && may_import(from, to) => {}
                Some(_) => wrong.push(format!(
                    "{}: `{module}` imports `{target}`, a later stage",
                    file.display()
                )),
                None => wrong.push(format!(
                    "{}: `crate::{target}` is no top-level module",
                    file.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the flow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_reader_sees_paths_and_groups() {
    let code = "use crate::model::System;\nuse crate::{units, report::{self, grid}, cli};\nlet x = crate::stats::nines(p);";
    assert_eq!(
        imported(code),
        ["model", "units", "report", "cli", "stats"].map(String::from)
    );
    assert!(!may_import(3, 6), "scenario may not import report");
    assert!(may_import(6, 5), "report may import estimate");
    let file = Path::new("src/model/world.rs");
    assert_eq!(
        non_test_code(
            file,
            "use crate::a;\n// crate::b\n#[cfg(test)]\nuse crate::c;\n#[cfg(test)]\nmod tests {\n    fn f() { crate::d }\n}\nfn g() { crate::e }"
        ),
        "use crate::a;\nfn g() { crate::e }"
    );
}
