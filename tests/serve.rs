//! `replisim serve` driven through its API as a program would: the JSON is
//! `run`'s summary.json byte for byte, bad input gets the CLI's message, a
//! run is cancelled by a newer request or /api/cancel, and the scenario the
//! page downloads reproduces the run under `replisim run`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::http::{JSON, Reply, Server, request};

/// `replisim run ARGS` into `dir`: its summary.json bytes, its stderr.
fn cli_run(args: &[&str], dir: &Path) -> (Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_replisim"))
        .arg("run")
        .args(args)
        .args(["--quiet", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    (
        std::fs::read(dir.join("summary.json")).unwrap_or_default(),
        stderr,
    )
}

fn assert_same_bytes(api: &Reply, cli: &[u8]) {
    assert_eq!(api.status, 200, "{}", api.text());
    assert!(!cli.is_empty(), "run wrote a summary");
    assert!(
        api.body == cli,
        "API:\n{}\nrun:\n{}",
        api.text(),
        String::from_utf8_lossy(cli)
    );
}

#[test]
fn a_run_returns_runs_summary_json_byte_for_byte() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let api = server.post(
        "/api/run",
        r#"{"set": ["trials=300", "failures.disk.afr=2%"]}"#,
    );
    let (cli, _) = cli_run(
        &["--set", "trials=300", "--set", "failures.disk.afr=2%"],
        dir.path(),
    );
    assert_same_bytes(&api, &cli);
    assert!(api.text().contains("\"trials\": 300"));

    // Posted TOML text, with the flags of `run`.
    let text = std::fs::read_to_string("scenarios/zrs.toml").unwrap();
    let body = serde_json::json!({
        "scenario": text, "file": "scenarios/zrs.toml", "trials": 256, "seed": 9, "method": "plain",
    });
    let api = server.post("/api/run", &body.to_string());
    let flags = [
        "scenarios/zrs.toml",
        "--trials",
        "256",
        "--seed",
        "9",
        "--method",
        "plain",
    ];
    let (cli, _) = cli_run(&flags, &dir.path().join("zrs"));
    assert_same_bytes(&api, &cli);

    // The same text as a raw TOML body (`curl --data-binary @file`).
    let small = text.replace("trials = ", "trials = 256 # was ");
    let api = request(
        &server.addr,
        "POST",
        "/api/run",
        &["Content-Type: application/toml"],
        small.as_bytes(),
    );
    assert_eq!(api.status, 200, "{}", api.text());
    assert_eq!(api.json()["trials"], 256);
}

#[test]
fn bad_input_gets_the_clis_message_and_never_a_crash() {
    let server = Server::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let bad = server.post("/api/run", r#"{"set": ["failures.disk.afrr=2%"]}"#);
    let (_, cli_error) = cli_run(&["--set", "failures.disk.afrr=2%"], dir.path());
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.error(),
        cli_error,
        "the same file/field message as the CLI"
    );

    let toml = r#"{"scenario": "trials = 10\n[topology]\nzones = 0\n", "file": "mine.toml"}"#;
    let e = server.post("/api/run", toml).error();
    assert!(
        e.contains(" --> mine.toml:3:") && e.contains("zones"),
        "{e}"
    );
    let e = server.post("/api/run", r#"{"trials": 5000}"#);
    assert_eq!(e.status, 400);
    assert!(e.error().contains("--max-trials"), "{}", e.error());
    let e = server.post("/api/run", r#"{"set": 3}"#);
    assert_eq!(
        (e.status, e.error().contains("not a valid /api/run body")),
        (400, true)
    );
    let e = server.post("/api/run", r#"{"client": "no spaces"}"#);
    assert_eq!(e.status, 400);
    let huge = format!(r#"{{"scenario": "{}"}}"#, "#".repeat(300 * 1024));
    assert_eq!(server.post("/api/run", &huge).status, 413);
    // What another web site could make a browser send is refused.
    let elsewhere = ["Origin: http://evil.example", "Content-Type: text/plain"];
    let r = request(&server.addr, "POST", "/api/run", &elsewhere, b"");
    assert_eq!(
        (r.status, r.error().contains("other web sites")),
        (403, true)
    );
    let missing = server.get("/nothing");
    assert_eq!(
        (missing.status, missing.error()),
        (404, "no such page".into())
    );
    // The server is still there.
    assert_eq!(server.get("/api/controls").status, 200);
}

/// Posts a long run for `client` on another thread; returns once it is
/// under way, with the handle of its response.
fn long_run(server: &Server, client: &str) -> std::thread::JoinHandle<Reply> {
    let (addr, body) = (
        server.addr.clone(),
        format!(r#"{{"client": "{client}", "set": ["trials=100000"]}}"#),
    );
    let handle =
        std::thread::spawn(move || request(&addr, "POST", "/api/run", &[JSON], body.as_bytes()));
    let started = Instant::now();
    loop {
        let p = server.get(&format!("/api/progress?client={client}")).json();
        if p["running"] == true && p["total"] == 100_000 && p["done"].as_u64() > Some(0) {
            return handle;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never started: {p}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_runs_first_pass_is_shown_while_the_rest_runs_and_is_runs_summary_of_it() {
    let server = Server::start(&["--max-trials", "100000"]);
    let text = std::fs::read_to_string("scenarios/zrs.toml").unwrap();
    let body = serde_json::json!({
        "client": "first", "scenario": text, "file": "scenarios/zrs.toml",
        "trials": 40000, "method": "plain",
    });
    let (addr, body) = (server.addr.clone(), body.to_string());
    let handle =
        std::thread::spawn(move || request(&addr, "POST", "/api/run", &[JSON], body.as_bytes()));
    let started = Instant::now();
    let preliminary = loop {
        let p = server.get("/api/progress?client=first").json();
        if !p["preliminary"].is_null() {
            assert_eq!(p["running"], true, "shown while the rest runs: {p}");
            break p["preliminary"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no first pass: {p}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // A tenth of the trials: exactly `run --trials 4000`'s summary.
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "scenarios/zrs.toml",
        "--trials",
        "4000",
        "--method",
        "plain",
    ];
    let (cli, _) = cli_run(&flags, dir.path());
    let cli: serde_json::Value = serde_json::from_slice(&cli).unwrap();
    assert_eq!(preliminary, cli);
    assert_eq!(
        server.post("/api/cancel", r#"{"client": "first"}"#).status,
        200
    );
    assert_ne!(
        handle.join().unwrap().status,
        200,
        "a cancelled run gives no numbers"
    );
}

#[test]
fn a_run_is_cancelled_by_a_newer_request_or_by_cancel() {
    let server = Server::start(&["--max-trials", "100000"]);
    let first = long_run(&server, "tab");
    let cancelled_at = Instant::now();
    let newer = server.post("/api/run", r#"{"client": "tab", "set": ["trials=256"]}"#);
    let first = first.join().unwrap();
    assert_eq!(first.status, 409, "{}", first.text());
    assert!(first.error().starts_with("cancelled"), "{}", first.error());
    assert_eq!(newer.status, 200, "{}", newer.text());
    assert_eq!(newer.json()["trials"], 256);
    // 100,000 trials take minutes; the newer run waited for one block.
    assert!(cancelled_at.elapsed() < Duration::from_secs(30));

    let run = long_run(&server, "other");
    let c = server.post("/api/cancel", r#"{"client": "other"}"#);
    assert_eq!(c.json()["cancelled"], true);
    assert_eq!(run.join().unwrap().status, 409);
    let p = server.get("/api/progress?client=other").json();
    assert_eq!(p["running"], false);

    // A request without a client is stopped by closing its connection.
    let mut gone = std::net::TcpStream::connect(&server.addr).unwrap();
    let body = r#"{"set": ["trials=100000"]}"#;
    let head = format!(
        "POST /api/run HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    std::io::Write::write_all(&mut gone, head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(gone);
    let after = Instant::now();
    assert_eq!(
        server.post("/api/run", r#"{"set": ["trials=256"]}"#).status,
        200
    );
    assert!(
        after.elapsed() < Duration::from_secs(30),
        "the abandoned run went on"
    );
}

#[test]
fn a_runaway_trial_is_refused_naming_its_field() {
    // A trial may take half the run's budget: 2 s here.
    let server = Server::start(&["--max-seconds", "4"]);
    let r = server.post(
        "/api/run",
        r#"{"set": ["outages.zone.between=\"0s\"", "trials=2"]}"#,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.error().contains("ran out of its 2 s of wall time"),
        "{}",
        r.error()
    );
    assert!(
        r.error().contains("came from `outages.zone`"),
        "{}",
        r.error()
    );
}

#[test]
fn ctrl_c_stops_every_run_and_the_server() {
    let mut server = Server::start(&["--max-trials", "100000"]);
    let addr = server.addr.clone();
    let anonymous = std::thread::spawn(move || {
        let body = br#"{"set": ["trials=100000"]}"#;
        request(&addr, "POST", "/api/run", &[JSON], body)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let stopping = Instant::now();
    assert!(server.interrupt().success());
    assert!(
        stopping.elapsed() < Duration::from_secs(30),
        "the run went on"
    );
    let reply = anonymous.join().unwrap();
    assert_eq!(reply.status, 409, "{}", reply.text());
}

#[test]
fn a_run_over_the_time_budget_is_stopped() {
    let server = Server::start(&["--max-trials", "100000", "--max-seconds", "1"]);
    let started = Instant::now();
    let r = server.post("/api/run", r#"{"set": ["trials=100000"]}"#);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.error().contains("--max-seconds"), "{}", r.error());
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn the_downloaded_scenario_reproduces_the_run_and_its_charts() {
    let server = Server::start(&[]);
    let base = server.get("/api/scenario");
    let default_text = std::fs::read_to_string("scenarios/default.toml").unwrap();
    assert_eq!(base.text(), default_text);

    let sets = r#"["trials=300", "detection=1h", "options=[\"LRS\", \"ZRS\"]", "expect={}"]"#;
    let api = server.post("/api/run", &format!(r#"{{"client": "dl", "set": {sets}}}"#));
    assert_eq!(api.status, 200, "{}", api.text());
    let download = server.get("/api/scenario?client=dl&download=true");
    assert!(
        download
            .headers
            .contains("attachment; filename=\"default.toml\""),
        "{}",
        download.headers
    );
    let text = download.text();
    assert!(text.starts_with("# --set trials=300\n"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("default.toml");
    std::fs::write(&file, &text).unwrap();
    let (cli, _) = cli_run(&[file.to_str().unwrap()], &dir.path().join("out"));
    assert_same_bytes(&api, &cli);

    // The page's charts are the ones `run` drew for it.
    let figures = server.get("/api/figures?client=dl").json();
    let names: Vec<&str> = figures
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "nines");
    let run_svg = std::fs::read_to_string(dir.path().join("out/nines.svg")).unwrap();
    assert_eq!(figures[0][1].as_str().unwrap(), run_svg);
    assert_eq!(server.get("/api/figures?client=nobody").status, 404);
}

#[test]
fn the_page_is_served_whole_from_the_binary() {
    let server = Server::start(&[]);
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.headers.contains("text/html"));
    let html = page.text();
    assert!(html.contains("<script src=\"/page.js\"></script>"));
    // Nothing from elsewhere: every src and href is local.
    let elsewhere: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.contains("://"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "the page links elsewhere: {elsewhere:?}"
    );
    let js = server.get("/page.js");
    assert!(js.headers.contains("javascript") && js.text().contains("/api/run"));
    assert!(
        !js.text().contains("://"),
        "the script fetches only from its server"
    );
}
