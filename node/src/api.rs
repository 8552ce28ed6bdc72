//! The local HTTP JSON API (DESIGN.md section 7).
//!
//! Bound to loopback by default; every route but `/api/v1/openapi.json`
//! needs `Authorization: Bearer <token>`, the token being the contents of
//! `<data-dir>/api.token` (mode 0600). Handlers send a job to the engine
//! ([`crate::engine::Client`]) and answer with its JSON.

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use trustmesh_protocol::{Advisory, Contact, Tool};

use crate::engine::{Client, Engine};
use crate::views::{self, AdvisoryFilter, ApiError, ApiResult};

/// The OpenAPI description of this API.
pub const OPENAPI: &str = include_str!("api/openapi.json");

/// What every handler needs.
#[derive(Clone)]
pub struct ApiState {
    client: Client,
    token: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(json!({ "error": self.message }))).into_response()
    }
}

async fn run(
    state: &ApiState,
    f: impl FnOnce(&mut Engine) -> ApiResult + Send + 'static,
) -> Result<axum::Json<Value>, ApiError> {
    match state.client.call(f).await {
        Ok(Ok(v)) => Ok(axum::Json(v)),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(ApiError {
            status: 503,
            message: e.to_string(),
        }),
    }
}

/// Compares without an early exit, so timing does not reveal the token.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(
    State(state): State<ApiState>,
    headers: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same(given.trim().as_bytes(), state.token.as_bytes()) {
        return ApiError {
            status: 401,
            message: "missing or wrong API token (see <data-dir>/api.token)".into(),
        }
        .into_response();
    }
    next.run(req).await
}

/// The router.
pub fn router(client: Client, token: String) -> Router {
    let state = ApiState { client, token };
    let api = Router::new()
        .route("/status", get(status))
        .route("/members", get(members))
        .route("/peers", get(peers))
        .route("/advisories", get(advisories).post(publish))
        .route("/advisories/import-csaf", post(import_csaf))
        .route("/advisories/{owner}/{id}", get(advisory).put(update))
        .route("/advisories/{owner}/{id}/csaf", get(advisory_csaf))
        .route("/advisories/{owner}/{id}/stix", get(advisory_stix))
        .route("/contacts", get(contacts).put(set_contact))
        .route("/contacts/export", get(contacts_export))
        .route("/contacts/{team}", get(contact))
        .route("/tools", get(tools).post(add_tool))
        .route("/tools/{name}", put(update_tool).delete(remove_tool))
        .route("/sponsor", post(sponsor))
        .route("/revoke", post(revoke))
        .route("/import", post(import))
        .route("/dial", post(dial))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth))
        .route("/openapi.json", get(openapi));
    // Prometheus scrapes /metrics by default; same token as the API.
    let metrics = Router::new()
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    let web = crate::web::router(state.client.clone(), state.token.clone());
    Router::new()
        .nest("/api/v1", api)
        .merge(metrics)
        .layer(axum::extract::DefaultBodyLimit::max(4 << 20))
        .with_state(state)
        .merge(web)
}

/// Prometheus metrics in the text exposition format.
async fn metrics_text(State(s): State<ApiState>) -> Response {
    match s.client.call(|e| crate::metrics::render(e)).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => ApiError {
            status: 503,
            message: e.to_string(),
        }
        .into_response(),
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn status(State(s): State<ApiState>) -> Result<axum::Json<Value>, ApiError> {
    run(&s, |e| Ok(views::status(e))).await
}

async fn members(State(s): State<ApiState>) -> Result<axum::Json<Value>, ApiError> {
    run(&s, |e| Ok(views::members(e))).await
}

async fn peers(State(s): State<ApiState>) -> Result<axum::Json<Value>, ApiError> {
    run(&s, |e| Ok(views::peers(e))).await
}

async fn advisories(
    State(s): State<ApiState>,
    Query(f): Query<AdvisoryFilter>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::advisories(e, &f)).await
}

async fn advisory(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::advisory(e, &owner, &id)).await
}

/// A JSON body, with a clear 400 when it does not parse.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
}

async fn publish(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let a: Advisory = body(&bytes)?;
    run(&s, move |e| views::publish_advisory(e, &a)).await
}

async fn update(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let a: Advisory = body(&bytes)?;
    if a.id != id {
        return Err(ApiError::bad(format!(
            "the body's id {:?} differs from the path's {id:?}; an advisory's id never changes",
            a.id
        )));
    }
    run(&s, move |e| views::update_advisory(e, &owner, &a)).await
}

async fn advisory_csaf(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::advisory_csaf(e, &owner, &id)).await
}

async fn advisory_stix(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::advisory_stix(e, &owner, &id)).await
}

#[derive(Debug, Deserialize)]
struct IdQuery {
    id: Option<String>,
}

/// The body is the CSAF document itself, so files post as they are.
async fn import_csaf(
    State(s): State<ApiState>,
    Query(q): Query<IdQuery>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad("the CSAF document is not UTF-8"))?;
    run(&s, move |e| views::import_csaf(e, &text, q.id.as_deref())).await
}

async fn contacts_export(State(s): State<ApiState>) -> Result<axum::Json<Value>, ApiError> {
    run(&s, |e| views::contacts_export(e)).await
}

async fn contacts(State(s): State<ApiState>) -> Result<axum::Json<Value>, ApiError> {
    run(&s, |e| Ok(views::contacts(e))).await
}

async fn contact(
    State(s): State<ApiState>,
    Path(team): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::contact(e, &team)).await
}

async fn set_contact(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let c: Contact = body(&bytes)?;
    run(&s, move |e| views::set_contact(e, &c)).await
}

#[derive(Debug, Deserialize)]
struct TeamQuery {
    team: Option<String>,
}

async fn tools(
    State(s): State<ApiState>,
    Query(q): Query<TeamQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::tools(e, q.team.as_deref())).await
}

async fn add_tool(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let t: Tool = body(&bytes)?;
    run(&s, move |e| views::upsert_tool(e, &t, Some(false))).await
}

async fn update_tool(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let t: Tool = body(&bytes)?;
    if t.name != name {
        return Err(ApiError::bad("the body's name differs from the path's"));
    }
    run(&s, move |e| views::upsert_tool(e, &t, Some(true))).await
}

async fn remove_tool(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    run(&s, move |e| views::remove_tool(e, &name)).await
}

#[derive(Debug, Deserialize)]
struct SponsorBody {
    /// The application file's JSON text.
    application: String,
    #[serde(default)]
    note: String,
}

async fn sponsor(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let b: SponsorBody = body(&bytes)?;
    run(&s, move |e| views::sponsor(e, &b.application, &b.note)).await
}

#[derive(Debug, Deserialize)]
struct RevokeBody {
    team: String,
    reason: String,
    #[serde(default)]
    keep_none: bool,
}

async fn revoke(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let b: RevokeBody = body(&bytes)?;
    run(&s, move |e| {
        views::revoke(e, &b.team, &b.reason, b.keep_none)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ImportBody {
    /// The files' JSON texts.
    files: Vec<String>,
}

async fn import(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let b: ImportBody = body(&bytes)?;
    run(&s, move |e| views::import(e, &b.files)).await
}

#[derive(Debug, Deserialize)]
struct DialBody {
    address: String,
}

async fn dial(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<axum::Json<Value>, ApiError> {
    let b: DialBody = body(&bytes)?;
    let addr: libp2p::Multiaddr = b
        .address
        .parse()
        .map_err(|e| ApiError::bad(format!("{:?} is not a multiaddr: {e}", b.address)))?;
    run(&s, move |e| {
        e.dial(addr.clone()).map_err(ApiError::bad)?;
        Ok(json!({ "dialing": addr.to_string() }))
    })
    .await
}
