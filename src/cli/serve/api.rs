//! The handlers of the JSON API (docs/serve.md, "The API"): each answers
//! JSON, an error as `{"error": message}` with its status.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::runs::{self, Finished, Refusal};
use super::{RunRequest, Shared, controls as fields};
use crate::report::{self, figures};

fn json_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// An error as the API sends it: `{"error": message}` with a status.
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
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
            // The scenario cannot be run (a trial past its time or event
            // budget names the field): the request's doing.
            Refusal::Failed(e) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e),
            Refusal::Crashed(e) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ClientQuery {
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
pub(super) async fn run(
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
pub(super) struct CancelRequest {
    client: String,
}

/// `POST /api/cancel` `{"client": ID}`: stops that client's run.
pub(super) async fn cancel(State(state): Shared, body: Bytes) -> Result<Response, ApiError> {
    let request: CancelRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("not a valid /api/cancel body: {e}")))?;
    client_id(Some(&request.client))?;
    let was_running = state.runs.cancel(&request.client);
    Ok(json_text(
        serde_json::json!({ "cancelled": was_running }).to_string(),
    ))
}

/// `GET /api/progress?client=ID`: trials done of the client's current run.
pub(super) async fn progress(
    State(state): Shared,
    Query(q): Query<ClientQuery>,
) -> Result<Response, ApiError> {
    let id = client_id(q.client.as_deref())?.ok_or_else(|| ApiError::bad("`client` is needed"))?;
    let view = state.runs.progress(id).unwrap_or(runs::ProgressView {
        running: false,
        done: 0,
        total: 0,
        preliminary: None,
    });
    Ok(json_text(serde_json::json!(view).to_string()))
}

/// `GET /api/scenario[?client=ID][&download=true]`: the scenario text of
/// the client's latest valid request (the server's scenario before any), as
/// a file `replisim run` reproduces the run from.
pub(super) async fn scenario_text(
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
pub(super) async fn controls(State(state): Shared) -> Response {
    let mut shown = fields::controls(&state.base.text);
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
        "standard_options": fields::STANDARD_OPTIONS,
        "max_trials": state.limits.max_trials,
        "max_seconds": state.limits.max_seconds,
    });
    json_text(body.to_string())
}

/// `GET /api/figures?client=ID`: the charts `run` draws, as SVG, for the
/// client's latest finished run: `[[name, svg], ...]`.
pub(super) async fn figures_of(
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
