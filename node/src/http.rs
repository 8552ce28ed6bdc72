//! The node's HTTP listener: one router composing the JSON API (`api`),
//! the web page (`web`) and the Prometheus metrics (`metrics`), behind one
//! `auth` module. Handlers run their work as jobs on the engine through
//! its [`Client`]; `views` holds what each route reads or does there.
//! The TAXII server (`taxii`) is a second router on its own listener,
//! plain on loopback or TLS (`tls`) anywhere; the MISP feed (`misp`) and
//! the CSAF provider directory (`csaf`) share it.
//!
//! **API Boundary:** the bodies every route takes and returns are the
//! types in [`crate::api`], shared with the CLI's client, the demo and the
//! tests.

mod api;
mod auth;
mod csaf;
mod metrics;
mod misp;
mod taxii;
mod tls;
pub(crate) mod views;
mod web;

use std::sync::Arc;

use axum::Router;

pub use api::OPENAPI;
pub use csaf::{CsafProvider, CsafSetupError, tree as csaf_tree};
pub use taxii::{ReaderKey, STIX_JSON, TAXII_JSON, collection_id};
pub use tls::{TlsError, TlsListener};
pub use views::{ApiError, ApiResult, members_json, name_clash, resolve_team};
pub use web::{COOKIE, escape};

use crate::engine::Client;

/// What every handler needs: the engine's client, the API token, the
/// web sessions' key, and the CSAF provider directory when `[csaf]` is on.
#[derive(Clone)]
struct Shared {
    client: Client,
    token: Arc<str>,
    sessions: auth::Sessions,
    csaf: Option<Arc<CsafProvider>>,
}

/// Every route: `/api/v1/...`, `/metrics` and the web pages.
/// `session_key` (random) signs the web page's session cookies; `csaf`
/// makes `/api/v1/export/csaf-provider` answer.
pub fn router(
    client: Client,
    token: String,
    session_key: [u8; 32],
    csaf: Option<Arc<CsafProvider>>,
) -> Router {
    let shared = Shared {
        client,
        token: token.into(),
        sessions: auth::Sessions::new(session_key),
        csaf,
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

/// The TAXII listener's routes: the TAXII 2.1 server and the MISP feed
/// (behind reader tokens), and with `csaf` the CSAF provider directory
/// under `/.well-known/csaf/`. `network` seeds the collections' ids; `tls`
/// says whether the listener speaks TLS.
pub fn taxii_router(
    client: Client,
    readers: Vec<ReaderKey>,
    network: String,
    tls: bool,
    csaf: Option<Arc<CsafProvider>>,
) -> Router {
    let feeds = taxii::router(client.clone(), readers.clone(), network, tls);
    match csaf {
        Some(p) => feeds.merge(csaf::router(client, readers, p)),
        None => feeds,
    }
}
