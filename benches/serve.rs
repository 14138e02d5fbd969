//! Response times of `replisim serve` for the default scenario: POST
//! /api/run at the default budget (the scenario's own 1000 trials, of 128
//! group trials each) and at the 250 trials of a quick look, plus how long a superseded run takes to
//! give way. Wall-clock times of whole HTTP requests from another process,
//! so the machine's load counts: it is printed beside them.
//!
//! `cargo bench --bench serve` (figures in benches/README.md).

#[path = "../tests/common/http.rs"]
#[allow(dead_code)]
mod http;

use std::time::{Duration, Instant};

use http::{Server, request};

const REPEATS: usize = 5;

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "?".into(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

/// Seconds of `REPEATS` requests: min, median, max; and the server's CPU
/// seconds per request, which the load of other processes does not change.
fn timed(server: &Server, body: &str) -> ([f64; 3], Option<f64>) {
    let cpu_before = server.cpu_seconds();
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let started = Instant::now();
            let r = server.post("/api/run", body);
            assert_eq!(r.status, 200, "{}", r.text());
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let cpu = cpu_before
        .zip(server.cpu_seconds())
        .map(|(a, b)| (b - a) / REPEATS as f64);
    ([times[0], times[REPEATS / 2], times[REPEATS - 1]], cpu)
}

/// Seconds from a request at the default budget to its first pass's
/// numbers in `/api/progress` (what the page shows first), and to the
/// whole answer.
fn first_numbers(server: &Server) -> (f64, f64) {
    let addr = server.addr.clone();
    let started = Instant::now();
    let run = std::thread::spawn(move || {
        let body = br#"{"client": "first"}"#;
        request(&addr, "POST", "/api/run", &[http::JSON], body)
    });
    let first = loop {
        let p = server.get("/api/progress?client=first").json();
        if !p["preliminary"].is_null() {
            break started.elapsed().as_secs_f64();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(run.join().unwrap().status, 200);
    (first, started.elapsed().as_secs_f64())
}

/// Seconds from a newer request of the same client to the older run's
/// "cancelled" answer.
fn cancel_latency(server: &Server) -> f64 {
    let addr = server.addr.clone();
    let long = std::thread::spawn(move || {
        let body = br#"{"client": "bench", "set": ["trials=100000"]}"#;
        request(&addr, "POST", "/api/run", &[http::JSON], body)
    });
    loop {
        // Under way: the long run's own progress, not the last one's.
        let p = server.get("/api/progress?client=bench").json();
        if p["running"] == true && p["total"] == 100_000 && p["done"].as_u64() > Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let newer = std::thread::spawn({
        let addr = server.addr.clone();
        move || {
            let body = br#"{"client": "bench", "set": ["trials=256"]}"#;
            request(&addr, "POST", "/api/run", &[http::JSON], body)
        }
    });
    assert_eq!(long.join().unwrap().status, 409);
    let latency = started.elapsed().as_secs_f64();
    assert_eq!(newer.join().unwrap().status, 200);
    latency
}

fn main() {
    // `cargo bench` passes harness flags; `cargo test --benches` runs once.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let server = Server::start(&["--max-trials", "100000"]);
    println!(
        "replisim serve, default scenario, {REPEATS} requests each; load average before: {}",
        load()
    );
    for _ in 0..3 {
        let (first, whole) = first_numbers(&server);
        println!(
            "default budget: first numbers (its first 100 trials) after {first:.2} s, the whole answer after {whole:.2} s; load {}",
            load()
        );
    }
    for (what, body) in [
        ("default budget (1000 trials x 128 group trials)", r#"{}"#),
        ("250 trials", r#"{"set": ["trials=250"]}"#),
    ] {
        let ([min, median, max], cpu) = timed(&server, body);
        let cpu = cpu.map_or("?".into(), |c| format!("{c:.2}"));
        println!(
            "POST /api/run, {what}: median {median:.2} s (min {min:.2}, max {max:.2}); {cpu} CPU s per request"
        );
    }
    // The same work as a command, for scale (it also draws the charts).
    let dir = tempfile::tempdir().expect("a scratch directory");
    let mut cli: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let status = std::process::Command::new(env!("CARGO_BIN_EXE_replisim"))
                .args(["run", "--quiet", "--out"])
                .arg(dir.path())
                .stdout(std::process::Stdio::null())
                .status()
                .expect("replisim run starts");
            assert!(status.success());
            started.elapsed().as_secs_f64()
        })
        .collect();
    cli.sort_by(f64::total_cmp);
    println!(
        "for scale, `replisim run` (1000 trials, charts included): median {:.2} s (min {:.2}, max {:.2})",
        cli[1], cli[0], cli[2]
    );
    let latencies: Vec<String> = (0..3)
        .map(|_| format!("{:.2}", cancel_latency(&server)))
        .collect();
    println!(
        "a superseded run answers `cancelled` after {} s",
        latencies.join(", ")
    );
    println!("load average after: {}", load());
}
