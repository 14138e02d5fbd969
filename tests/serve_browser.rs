//! The explorer page in a real browser: headless Chromium (Debian's
//! `chromium` package; `.ci/run` installs it when it can, and this test is
//! skipped, saying why, when it is absent) loads the page, a figure is
//! changed as a user types it, and the nines shown must change and equal
//! those of `POST /api/run` for the same settings. It saves a screenshot.
//!
//! Chromium is driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: JSON messages ended by NUL on fds 3 and 4),
//! so no driver, no npm package and no browser download are needed.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::http::Server;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";

struct Browser {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: u64,
}

impl Browser {
    /// Chromium headless with the flags this machine needs (no sandbox as
    /// root, nothing fetched in the background), on a fresh profile.
    fn launch(profile: &Path) -> Self {
        let mut child = Command::new("sh")
            // The pipe ends Chromium expects are fds 3 (in) and 4 (out).
            .args([
                "-c",
                r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#,
                CHROMIUM,
            ])
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let (input, output) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
        // A hung browser must not hang the test suite.
        let pid = child.id().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(240));
            let _ = Command::new("kill").arg(&pid).status();
        });
        Self {
            child,
            input,
            output: BufReader::new(output),
            next_id: 0,
        }
    }

    /// Sends a command and returns its result (events in between are skipped).
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let mut message = json!({ "id": self.next_id, "method": method, "params": params });
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.input
            .write_all(&bytes)
            .expect("chromium reads commands");
        loop {
            let mut raw = Vec::new();
            let n = self
                .output
                .read_until(0, &mut raw)
                .expect("chromium answers");
            assert!(n > 0, "chromium closed the pipe during {method}");
            raw.pop();
            let reply: Value = serde_json::from_slice(&raw).expect("a DevTools message");
            if reply["id"] == self.next_id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the server's page in a new tab; its session.
fn open(b: &mut Browser, server: &Server) -> String {
    let url = format!("http://{}/", server.addr);
    let target = b.call(None, "Target.createTarget", json!({ "url": url }));
    let attach = json!({ "targetId": target["targetId"], "flatten": true });
    let session = b.call(None, "Target.attachToTarget", attach)["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let size = json!({ "width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": false });
    b.call(Some(&session), "Emulation.setDeviceMetricsOverride", size);
    session
}

/// The value of `expression` in the page.
fn eval(b: &mut Browser, session: &str, expression: &str) -> Value {
    let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
    let r = b.call(Some(session), "Runtime.evaluate", params);
    assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
    r["result"]["value"].clone()
}

/// Waits until the page has finished `runs` runs; the page's state if it
/// shows an error instead.
fn wait_for_run(b: &mut Browser, session: &str, runs: u64) {
    let started = Instant::now();
    let check =
        "(() => { const s = window.replisim; return s ? [s.phase, s.runs, s.error] : null; })()";
    loop {
        let s = eval(b, session, check);
        if s[0] == "done" && s[1].as_u64() >= Some(runs) {
            return;
        }
        assert_ne!(s[0], "error", "the page shows an error: {s}");
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "no result: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the page shows the progress of a run under way.
fn wait_for_progress(b: &mut Browser, session: &str) {
    let started = Instant::now();
    let status = "document.getElementById('status').textContent";
    loop {
        let shown = eval(b, session, status);
        if shown.as_str().is_some_and(|s| s.starts_with("running: ")) {
            assert!(
                shown.as_str().unwrap().ends_with("of 250 trials "),
                "{shown}"
            );
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress: {shown}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// (option, nines value, text) of every nines cell of the page.
fn shown_nines(b: &mut Browser, session: &str) -> Vec<(String, f64, String)> {
    let cells = eval(
        b,
        session,
        "[...document.querySelectorAll('td.nines')].map(e => [e.dataset.option, e.dataset.nines, e.textContent])",
    );
    let cells = cells.as_array().expect("nines cells").clone();
    assert!(!cells.is_empty(), "the page shows nines");
    cells
        .iter()
        .map(|c| {
            let value: f64 = c[1].as_str().unwrap().parse().unwrap();
            (
                c[0].as_str().unwrap().into(),
                value,
                c[2].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits =
            chunk.iter().fold(0u32, |acc, &d| acc << 6 | u32::from(d)) << (6 * (4 - chunk.len()));
        out.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// `replisim serve SCENARIO` and the page open on it after its first run:
/// the server, the browser's profile (kept while the browser runs), the
/// browser and the page's session; None, saying so, without Chromium.
fn open_after_a_run(scenario: &str) -> Option<(Server, tempfile::TempDir, Browser, String)> {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} not found");
        return None;
    }
    let server = Server::start(&[scenario]);
    let profile = tempfile::tempdir().unwrap();
    let mut b = Browser::launch(profile.path());
    let session = open(&mut b, &server);
    wait_for_run(&mut b, &session, 1);
    Some((server, profile, b, session))
}

/// The headings of the results shown.
fn headings(b: &mut Browser, session: &str) -> Vec<String> {
    let found = eval(
        b,
        session,
        "[...document.querySelectorAll('#results h2')].map((h) => h.textContent)",
    );
    let found = found.as_array().unwrap().iter();
    found.map(|h| h.as_str().unwrap().to_string()).collect()
}

/// The first two cells of each row of the table under heading `title`.
fn first_cells(b: &mut Browser, session: &str, title: &str) -> Value {
    let expression = format!(
        "(() => {{ const h = [...document.querySelectorAll('#results h2')].find((h) => h.textContent === '{title}'); \
         return [...h.nextElementSibling.querySelectorAll('tr')].slice(1).map((r) => [...r.children].slice(0, 2).map((c) => c.textContent)); }})()"
    );
    eval(b, session, &expression)
}

#[test]
fn base64_decodes() {
    assert_eq!(decode_base64("aGVsbG8="), b"hello");
    assert_eq!(decode_base64("aGk="), b"hi");
    assert_eq!(decode_base64("YWJj"), b"abc");
}

#[test]
fn the_page_shows_the_apis_nines_and_they_move_with_a_control() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "skipped: {CHROMIUM} not found (Debian's chromium package; .ci/run installs it when apt-get can)"
        );
        return;
    }
    // 250 trials, a sixteenth of the scenario's: the page asks for what the
    // server allows, as `--set trials=250`.
    let server = Server::start(&["--max-trials", "250"]);
    let profile = tempfile::tempdir().unwrap();
    let mut b = Browser::launch(profile.path());
    let session = open(&mut b, &server);

    wait_for_run(&mut b, &session, 1);
    assert_eq!(
        eval(&mut b, &session, "window.replisim.request.set"),
        json!(["trials=250"])
    );
    let before = shown_nines(&mut b, &session);

    // Type a new datacenter loss rate into its field, as a user does; while that run
    // shows its progress, change it again: the first run is cancelled and
    // never shown, the page ends on the second.
    let focus = "(() => { const i = document.querySelector('input[data-path=\"failures.facility.afr\"]'); i.focus(); i.select(); return i.value; })()";
    let controls = server.get("/api/controls").json();
    let mut all = controls["controls"].as_array().unwrap().iter();
    let afr = all.find(|c| c["path"] == "failures.facility.afr").unwrap();
    assert_eq!(
        eval(&mut b, &session, focus),
        afr["value"],
        "the scenario's value"
    );
    b.call(Some(&session), "Input.insertText", json!({ "text": "3%" }));
    wait_for_progress(&mut b, &session);
    assert_eq!(eval(&mut b, &session, focus), "3%");
    b.call(Some(&session), "Input.insertText", json!({ "text": "8%" }));
    wait_for_run(&mut b, &session, 2);
    assert_eq!(
        eval(&mut b, &session, "window.replisim.runs"),
        2,
        "the 3% run was never shown"
    );
    let sent = eval(&mut b, &session, "window.replisim.request.set");
    assert_eq!(sent, json!(["failures.facility.afr=8%", "trials=250"]));
    let after = shown_nines(&mut b, &session);

    // The nines shown move; ZRS, lost to datacenter fires, loses some.
    let texts = |v: &[(String, f64, String)]| v.iter().map(|o| o.2.clone()).collect::<Vec<_>>();
    assert_ne!(texts(&before), texts(&after), "the nines shown change");
    let zrs = |v: &[(String, f64, String)]| v.iter().find(|o| o.0 == "ZRS").unwrap().1;
    assert!(zrs(&after) < zrs(&before), "ZRS: {before:?} -> {after:?}");

    // The API, asked independently for the same settings, says the same.
    let api = server
        .post(
            "/api/run",
            r#"{"set": ["failures.facility.afr=8%", "trials=250"]}"#,
        )
        .json();
    let options = api["options"].as_array().unwrap();
    assert_eq!(options.len(), after.len());
    for (o, (name, value, text)) in options.iter().zip(&after) {
        let d = &o["durability"];
        let nines = d["nines"].as_f64().unwrap();
        let bound = if d["upper_bound_only"] == true {
            "> "
        } else {
            ""
        };
        assert_eq!(
            (o["option"].as_str().unwrap(), nines),
            (name.as_str(), *value)
        );
        assert_eq!(text, &format!("{bound}{nines:.2}"));
    }

    // The controls, both tables and the nines chart.
    let size = json!({ "width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": false });
    b.call(Some(&session), "Emulation.setDeviceMetricsOverride", size);
    let shot = json!({ "format": "png" });
    let shot = b.call(Some(&session), "Page.captureScreenshot", shot);
    let png = decode_base64(shot["data"].as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"));
    let path = std::env::var_os("REPLISIM_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-page.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// The optional sections are shown when the JSON has them: served
/// scenarios/lockbox.toml, the page has a Customer Lockbox table with GRS's
/// share of the RTO waiting as the API gives it (LRS, without a secondary,
/// has no row), and the reads of the data kept; no key or latent table.
#[test]
fn the_page_shows_the_lockbox_figures_only_where_the_json_has_them() {
    let Some((server, _profile, mut b, session)) = open_after_a_run("scenarios/lockbox.toml")
    else {
        return;
    };
    let headings = headings(&mut b, &session);
    assert!(
        headings.iter().any(|h| h == "Customer Lockbox"),
        "{headings:?}"
    );
    assert!(
        !headings
            .iter()
            .any(|h| h.contains("key") || h.contains("atent"))
    );
    // The Lockbox table: its rows' first two cells.
    let rows = first_cells(&mut b, &session, "Customer Lockbox");
    let api = server.post("/api/run", r#"{"set": []}"#).json();
    let share = api["options"][1]["access"]["approval_wait_share"]
        .as_f64()
        .unwrap();
    assert_eq!(rows, json!([["GRS", format!("{:.1}%", 100.0 * share)]]));
    let kept = "[...document.querySelectorAll('#results th')].some((t) => t.textContent === 'read of data kept')";
    assert_eq!(eval(&mut b, &session, kept), json!(true));
}

/// With scenarios/logical.toml the page has a Logical errors table whose
/// P(logical loss) is the API's, and no Deletion table (the scenario has
/// no `[deletion]`).
#[test]
fn the_page_shows_the_logical_error_figures_only_where_the_json_has_them() {
    let Some((server, _profile, mut b, session)) = open_after_a_run("scenarios/logical.toml")
    else {
        return;
    };
    let headings = headings(&mut b, &session);
    assert!(
        headings.iter().any(|h| h == "Logical errors"),
        "{headings:?}"
    );
    assert!(
        !headings.iter().any(|h| h == "Deletion and erasure"),
        "{headings:?}"
    );
    let rows = first_cells(&mut b, &session, "Logical errors");
    let api = server.post("/api/run", r#"{"set": []}"#).json();
    let want: Vec<Value> = api["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let p = o["logical"]["loss_probability"].as_f64().unwrap();
            json!([o["option"].as_str().unwrap(), format!("{p:.2e}")])
        })
        .collect();
    assert_eq!(rows, json!(want));
}
