//! `replisim serve`: a local web page to explore a scenario live, and the
//! JSON API behind it (docs/serve.md). tokio and axum carry the HTTP; the
//! trials run as `run` runs them, on rayon, from tokio's blocking threads.
//! The page is compiled in: no CDN, nothing fetched from elsewhere.
//!
//! This is a command-level module: it may use every stage of the library,
//! and nothing in the library uses it.

mod controls;
mod request;
mod runs;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

pub use request::{Base, Limits, RunRequest};
use runs::{Finished, Refusal, Runs};

use crate::report::{self, figures};
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
        .route("/api/controls", get(controls))
        .route("/api/scenario", get(scenario_text))
        .route("/api/run", post(run))
        .route("/api/cancel", post(cancel))
        .route("/api/progress", get(progress))
        .route("/api/figures", get(figures_of))
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

fn json_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An error as the API sends it: `{"error": message}` with a status.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string() + "\n";
        (self.status, json_text(body)).into_response()
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Cancelled => Self::new(
                StatusCode::CONFLICT,
                "cancelled: a newer request of this client, /api/cancel or shutdown stopped the run",
            ),
            Refusal::TooLong(s) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "stopped after {s} s, this server's time budget per run (--max-seconds): ask for fewer trials"
                ),
            ),
            Refusal::Busy => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "busy: too many runs are waiting; try again when one has finished",
            ),
            Refusal::Failed(e) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
}

#[derive(Deserialize)]
struct ClientQuery {
    client: Option<String>,
    #[serde(default)]
    download: bool,
}

/// The client named in a query or body, if any; a malformed id is an error.
fn client_id(id: Option<&str>) -> Result<Option<&str>, ApiError> {
    match id {
        Some(id) if !runs::valid_id(id) => Err(ApiError::bad(
            "`client` is 1 to 64 letters, digits, `-` or `_`",
        )),
        other => Ok(other),
    }
}

/// `POST /api/run`: the summary `run` writes as summary.json, same bytes.
async fn run(
    State(state): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request = RunRequest::from_body(is_json, &body).map_err(ApiError::bad)?;
    let ticket = state.runs.begin(client_id(request.client.as_deref())?);
    let (base, limits) = (state.base.clone(), state.limits);
    // Validation builds the whole system: CPU work, off the async workers.
    let loaded = tokio::task::spawn_blocking(move || request.load(&base, &limits))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let (scenario, config) = loaded.map_err(ApiError::bad)?;
    let summary = state
        .runs
        .run(&ticket, Arc::new(scenario), config, limits.max_seconds)
        .await?;
    let text =
        report::json(&summary).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(json_text(text))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    client: String,
}

/// `POST /api/cancel` `{"client": ID}`: stops that client's run.
async fn cancel(State(state): Shared, body: Bytes) -> Result<Response, ApiError> {
    let request: CancelRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not a valid /api/cancel body: {e}")))?;
    client_id(Some(&request.client))?;
    let was_running = state.runs.cancel(&request.client);
    Ok(json_text(
        serde_json::json!({ "cancelled": was_running }).to_string(),
    ))
}

/// `GET /api/progress?client=ID`: trials done of the client's current run.
async fn progress(
    State(state): Shared,
    Query(q): Query<ClientQuery>,
) -> Result<Response, ApiError> {
    let id = client_id(q.client.as_deref())?.ok_or_else(|| ApiError::bad("`client` is needed"))?;
    let view = state.runs.progress(id).unwrap_or(runs::ProgressView {
        running: false,
        done: 0,
        total: 0,
    });
    Ok(json_text(serde_json::json!(view).to_string()))
}

/// `GET /api/scenario[?client=ID][&download=true]`: the scenario text of
/// the client's latest valid request (the server's scenario before any), as
/// a file `replisim run` reproduces the run from.
async fn scenario_text(
    State(state): Shared,
    Query(q): Query<ClientQuery>,
) -> Result<Response, ApiError> {
    let current = match client_id(q.client.as_deref())? {
        Some(id) => state.runs.scenario(id),
        None => None,
    };
    let (name, text) = match &current {
        Some(s) => (s.name.as_str(), s.text.clone()),
        None => (state.name.as_str(), state.base.text.clone()),
    };
    let kind = (
        header::CONTENT_TYPE,
        "application/toml; charset=utf-8".to_string(),
    );
    if !q.download {
        return Ok(([kind], text).into_response());
    }
    // Named after the scenario: a file without `name` takes its name from
    // its stem, so the download runs under the same name.
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{safe}.toml\"");
    Ok(([kind, (header::CONTENT_DISPOSITION, disposition)], text).into_response())
}

/// `GET /api/controls`: what the page shows, with the scenario's values.
async fn controls(State(state): Shared) -> Response {
    let mut shown = controls::controls(&state.base.text);
    // The trials and seed in force even where the file leaves them out.
    for c in &mut shown {
        match c.path {
            "trials" => c.value = Some(state.trials.to_string()),
            "seed" => c.value = Some(state.seed.to_string()),
            _ => {}
        }
    }
    let body = serde_json::json!({
        "file": state.base.file,
        "controls": shown,
        "options": state.options,
        "standard_options": controls::STANDARD_OPTIONS,
        "max_trials": state.limits.max_trials,
        "max_seconds": state.limits.max_seconds,
    });
    json_text(body.to_string())
}

/// `GET /api/figures?client=ID`: the charts `run` draws, as SVG, for the
/// client's latest finished run: `[[name, svg], ...]`.
async fn figures_of(
    State(state): Shared,
    Query(q): Query<ClientQuery>,
) -> Result<Response, ApiError> {
    let id = client_id(q.client.as_deref())?.ok_or_else(|| ApiError::bad("`client` is needed"))?;
    let finished = state
        .runs
        .finished(id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no finished run for this client"))?;
    let drawn = tokio::task::spawn_blocking(move || {
        finished.figures.get_or_init(|| svgs(&finished)).clone()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let drawn = drawn.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(json_text(serde_json::json!(drawn).to_string()))
}

/// The SVG charts of a run, drawn by the code that draws `run`'s, into a
/// scratch directory, in the order `run` writes them.
fn svgs(finished: &Finished) -> Result<Vec<(String, String)>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    let files = figures::write(&finished.summary, &finished.scenario, dir.path(), None)?;
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .map(|p| {
            let name = p.file_stem().map(|s| s.to_string_lossy().into_owned());
            let svg =
                std::fs::read_to_string(p).map_err(|e| format!("cannot read a chart: {e}"))?;
            Ok((name.unwrap_or_default(), svg))
        })
        .collect()
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
