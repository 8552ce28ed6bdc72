//! The local HTTP JSON API (DESIGN.md section 7).
//!
//! Bound to loopback by default; every route but `/api/v1/openapi.json`
//! needs `Authorization: Bearer <token>`, the token being the contents of
//! `<data-dir>/api.token` (mode 0600). Handlers send a job to the engine
//! ([`crate::engine::Client`]) and answer with its JSON.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;
use trustmesh_protocol::{Advisory, Contact, Tool};

use super::Shared;
use super::auth;
use super::views::{self, ApiError, ApiResult};
use crate::api::{self, AdvisoryQuery};
use crate::engine::Engine;

/// The OpenAPI description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

type ApiState = Shared;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(api::ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

async fn run<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&mut Engine) -> ApiResult<T> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    match state.client.call(f).await {
        Ok(Ok(v)) => Ok(Json(v)),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(ApiError {
            status: 503,
            message: e.to_string(),
        }),
    }
}

/// The `/api/v1` routes.
pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/members", get(members))
        .route("/peers", get(peers))
        .route("/teams/{name}", get(team))
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
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .route("/openapi.json", get(openapi))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn status(State(s): State<ApiState>) -> Result<Json<api::Status>, ApiError> {
    run(&s, |e| Ok(views::engine_status(e))).await
}

async fn members(State(s): State<ApiState>) -> Result<Json<api::Members>, ApiError> {
    run(&s, |e| Ok(views::members(e))).await
}

async fn peers(State(s): State<ApiState>) -> Result<Json<api::Peers>, ApiError> {
    run(&s, |e| Ok(views::peers(&e.snapshot()))).await
}

async fn team(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<api::TeamRef>, ApiError> {
    run(&s, move |e| views::team(e, &name)).await
}

async fn advisories(
    State(s): State<ApiState>,
    Query(f): Query<AdvisoryQuery>,
) -> Result<Json<api::Advisories>, ApiError> {
    run(&s, move |e| views::advisories(e, &f)).await
}

async fn advisory(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<Json<api::AdvisoryDetail>, ApiError> {
    run(&s, move |e| views::advisory(e, &owner, &id)).await
}

/// A JSON body, with a clear 400 when it does not parse.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")))
}

async fn publish(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Published>, ApiError> {
    let a: Advisory = body(&bytes)?;
    run(&s, move |e| views::publish_advisory(e, &a)).await
}

async fn update(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Updated>, ApiError> {
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
) -> Result<Json<Value>, ApiError> {
    run(&s, move |e| views::advisory_csaf(e, &owner, &id)).await
}

async fn advisory_stix(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    run(&s, move |e| views::advisory_stix(e, &owner, &id)).await
}

/// The body is the CSAF document itself, so files post as they are.
async fn import_csaf(
    State(s): State<ApiState>,
    Query(q): Query<api::ImportCsafQuery>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Published>, ApiError> {
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad("the CSAF document is not UTF-8"))?;
    run(&s, move |e| views::import_csaf(e, &text, q.id.as_deref())).await
}

async fn contacts_export(State(s): State<ApiState>) -> Result<Json<Value>, ApiError> {
    run(&s, |e| views::contacts_export(e)).await
}

async fn contacts(State(s): State<ApiState>) -> Result<Json<api::Contacts>, ApiError> {
    run(&s, |e| Ok(views::contacts(e))).await
}

async fn contact(
    State(s): State<ApiState>,
    Path(team): Path<String>,
) -> Result<Json<api::ContactDetail>, ApiError> {
    run(&s, move |e| views::contact(e, &team)).await
}

async fn set_contact(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Changed>, ApiError> {
    let c: Contact = body(&bytes)?;
    run(&s, move |e| views::set_contact(e, &c)).await
}

async fn tools(
    State(s): State<ApiState>,
    Query(q): Query<api::TeamQuery>,
) -> Result<Json<api::Tools>, ApiError> {
    run(&s, move |e| views::tools(e, q.team.as_deref())).await
}

async fn add_tool(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::ToolChanged>, ApiError> {
    let t: Tool = body(&bytes)?;
    run(&s, move |e| views::upsert_tool(e, &t, Some(false))).await
}

async fn update_tool(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::ToolChanged>, ApiError> {
    let t: Tool = body(&bytes)?;
    if t.name != name {
        return Err(ApiError::bad("the body's name differs from the path's"));
    }
    run(&s, move |e| views::upsert_tool(e, &t, Some(true))).await
}

async fn remove_tool(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<api::ToolRemoved>, ApiError> {
    run(&s, move |e| views::remove_tool(e, &name)).await
}

async fn sponsor(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Sponsored>, ApiError> {
    let b: api::SponsorRequest = body(&bytes)?;
    run(&s, move |e| views::sponsor(e, &b.application, &b.note)).await
}

async fn revoke(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Revoked>, ApiError> {
    let b: api::RevokeRequest = body(&bytes)?;
    run(&s, move |e| {
        views::revoke(e, &b.team, &b.reason, b.keep_none)
    })
    .await
}

async fn import(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Imported>, ApiError> {
    let b: api::ImportRequest = body(&bytes)?;
    run(&s, move |e| views::import(e, &b.files)).await
}

async fn dial(
    State(s): State<ApiState>,
    bytes: axum::body::Bytes,
) -> Result<Json<api::Dialing>, ApiError> {
    let b: api::DialRequest = body(&bytes)?;
    let addr: libp2p::Multiaddr = b
        .address
        .parse()
        .map_err(|e| ApiError::bad(format!("{:?} is not a multiaddr: {e}", b.address)))?;
    run(&s, move |e| {
        e.dial(addr.clone()).map_err(ApiError::bad)?;
        Ok(api::Dialing {
            dialing: addr.to_string(),
        })
    })
    .await
}
