//! The node's HTTP listener: one router composing the JSON API (`api`),
//! the web page (`web`) and the Prometheus metrics (`metrics`), behind one
//! `auth` module. Handlers run their work as jobs on the engine through
//! its [`Client`]; `views` holds what each route reads or does there.
//! The TAXII server (`taxii`) is a second router on its own listener,
//! plain on loopback or TLS (`tls`) anywhere.
//!
//! **API Boundary:** the bodies every route takes and returns are the
//! types in [`crate::api`], shared with the CLI's client, the demo and the
//! tests.

mod api;
mod auth;
mod metrics;
mod misp;
mod taxii;
mod tls;
pub(crate) mod views;
mod web;

use std::sync::Arc;

use axum::Router;

pub use api::OPENAPI;
pub use taxii::{ReaderKey, STIX_JSON, TAXII_JSON, collection_id, router as taxii_router};
pub use tls::{TlsError, TlsListener};
pub use views::{ApiError, ApiResult, members_json, name_clash, resolve_team};
pub use web::{COOKIE, escape};

use crate::engine::Client;

/// What every handler needs: the engine's client, the API token and the
/// web sessions' key.
#[derive(Clone)]
struct Shared {
    client: Client,
    token: Arc<str>,
    sessions: auth::Sessions,
}

/// Every route: `/api/v1/...`, `/metrics` and the web pages.
/// `session_key` (random) signs the web page's session cookies.
pub fn router(client: Client, token: String, session_key: [u8; 32]) -> Router {
    let shared = Shared {
        client,
        token: token.into(),
        sessions: auth::Sessions::new(session_key),
    };
    Router::new()
        .nest("/api/v1", api::router(shared.clone()))
        .merge(metrics::router(shared.clone()))
        // A CSAF document may be as large as the importer takes, and a
        // little more is refused by the importer with the limit named.
        .layer(axum::extract::DefaultBodyLimit::max(
            trustmesh_protocol::Limit::JsonBytes.bound() + (1 << 20),
        ))
        .merge(web::router(shared))
}
