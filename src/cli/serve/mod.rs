//! `replisim serve`: a local web page to explore a scenario live, and the
//! JSON API behind it (docs/serve.md). tokio and axum carry the HTTP; the
//! trials run as `run` runs them, on rayon, from tokio's blocking threads.
//! The page is compiled in: no CDN, nothing fetched from elsewhere.
//!
//! This is a command-level module: it may use every stage of the library,
//! and nothing in the library uses it.

mod api;
mod controls;
mod request;
mod runs;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use api::ApiError;
pub use request::{Base, Limits, RunRequest};
use runs::Runs;

use crate::scenario;

/// How to serve.
pub struct Config {
    pub base: Base,
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub limits: Limits,
}

struct AppState {
    base: Base,
    /// The base scenario's name and options, read once at the start.
    name: String,
    options: Vec<String>,
    /// Its trials and seed, written or by default.
    trials: u64,
    seed: u64,
    limits: Limits,
    runs: Runs,
}

type Shared = State<Arc<AppState>>;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");

/// Serves until Ctrl-C. Says where it listens, on stdout, once bound.
pub fn serve(config: Config) -> Result<(), String> {
    // The scenario must be valid before anything listens.
    let s =
        scenario::from_source(&config.base.file, &config.base.text).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(32)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server's runtime: {e}"))?;
    let state = Arc::new(AppState {
        name: s.name,
        trials: s.trials,
        seed: s.seed,
        options: s.system.options.iter().map(|o| o.name.clone()).collect(),
        base: config.base.clone(),
        limits: config.limits,
        runs: Runs::default(),
    });
    runtime.block_on(listen(&config, state))
}

async fn listen(config: &Config, state: Arc<AppState>) -> Result<(), String> {
    let address = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e} (--port N, 0 picks a free port)"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address listened on: {e}"))?;
    say(&announcement(bound, config));
    let shutdown = {
        let state = state.clone();
        async move {
            let _ = tokio::signal::ctrl_c().await;
            say("stopping: runs under way are cancelled");
            state.runs.close();
        }
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

/// The first line names the URL (tests read it); then what is exposed.
fn announcement(bound: SocketAddr, config: &Config) -> String {
    let reach = if bound.ip().is_loopback() {
        "loopback only: other machines cannot connect (--bind ADDR to change)".to_string()
    } else {
        format!(
            "listening on {}: reachable from other machines, with no authentication",
            bound.ip()
        )
    };
    let l = &config.limits;
    format!(
        "replisim serve: http://{bound}/\n{reach}\nscenario {}; at most {} trials and {} s per run (--max-trials, --max-seconds); Ctrl-C stops",
        config.base.file, l.max_trials, l.max_seconds
    )
}

/// A line on stdout, flushed; a closed stdout is no reason to stop serving.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn router(state: Arc<AppState>) -> Router {
    let max_body = state.limits.max_body;
    Router::new()
        .route("/", get(|| async { html(PAGE) }))
        .route("/page.js", get(|| async { script(SCRIPT) }))
        .route("/api/controls", get(api::controls))
        .route("/api/scenario", get(api::scenario_text))
        .route("/api/run", post(api::run))
        .route("/api/cancel", post(api::cancel))
        .route("/api/progress", get(api::progress))
        .route("/api/figures", get(api::figures_of))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page") })
        .layer(axum::middleware::from_fn(same_origin))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Refuses what a web site elsewhere could make a visitor's browser send
/// here: a request from another origin (a cross-site form or script) or for
/// another host name (DNS rebinding). curl and the page itself pass.
async fn same_origin(request: Request, next: Next) -> Response {
    match foreign(request.headers()) {
        Some(why) => ApiError::new(StatusCode::FORBIDDEN, why).into_response(),
        None => next.run(request).await,
    }
}

/// Why a request with these headers comes from elsewhere, if it does.
fn foreign(headers: &HeaderMap) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name != "localhost" && name.parse::<IpAddr>().is_err() {
        return Some(format!(
            "host `{host}` is refused: open the server by its IP address or as localhost"
        ));
    }
    let origin = headers.get(header::ORIGIN)?;
    (origin.to_str().ok() != Some(format!("http://{host}").as_str()))
        .then(|| "requests from other web sites are refused".to_string())
}

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn script(body: &'static str) -> Response {
    let kind = "text/javascript; charset=utf-8";
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_requests_for_this_server_from_its_own_page_pass() {
        let host = |h: &str| headers(&[(header::HOST, h)]);
        assert_eq!(foreign(&host("127.0.0.1:8080")), None);
        assert_eq!(foreign(&host("localhost:8080")), None);
        assert_eq!(foreign(&host("[::1]:8080")), None);
        assert_eq!(foreign(&host("192.168.1.5")), None);
        assert!(foreign(&host("evil.example:8080")).is_some());
        assert!(foreign(&HeaderMap::new()).is_some());
        let from = |o: &str| headers(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, o)]);
        assert_eq!(foreign(&from("http://127.0.0.1:8080")), None);
        assert!(foreign(&from("http://evil.example")).is_some());
        assert!(foreign(&from("null")).is_some());
    }
}
