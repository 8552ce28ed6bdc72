//! The CSAF trusted-provider directory on the TAXII listener:
//! `/.well-known/csaf/...` ([`crate::export::csaf_provider`]), with a
//! directory listing for every folder (requirement 14).
//!
//! `provider-metadata.json`, the public key and the CLEAR (`white/`) and
//! GREEN folders are free to read: requirement 4 asks TLP:WHITE to be
//! freely accessible, and a consumer finds the provider from its
//! security.txt with no credentials. The `amber/` and `red/` folders,
//! there only when `[csaf] tlp` names those labels, answer only a TAXII
//! reader's token (Bearer, Token or the Basic password, as the TAXII
//! server takes it) whose `[[taxii.readers]]` entry lists every label the
//! folder holds (requirement 5: access protected, under a path of their
//! own). The listener is TLS beyond loopback (`config.rs` refuses
//! otherwise: requirement 3).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use trustmesh_protocol::Tlp;

use super::taxii::{ReaderKey, credential};
use crate::DataDir;
use crate::config::{CsafKeySource, CsafSettings};
use crate::engine::{Client, Engine};
use crate::export::csaf_provider::{self, ProviderSettings, Tree, WELL_KNOWN};
use crate::export::openpgp::{CsafKey, OpenPgpError};

/// The directory's settings and key, loaded once at start.
#[derive(Debug)]
pub struct CsafProvider {
    /// What the operator configured.
    pub settings: ProviderSettings,
    /// The key that signs.
    pub key: CsafKey,
}

/// Why the provider could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsafSetupError {
    /// The operator's key is unusable.
    #[error("[csaf] openpgp_key {path}: {source}")]
    Imported {
        /// The key file.
        path: String,
        /// What is wrong with it.
        source: OpenPgpError,
    },
    /// The key file is not UTF-8 text.
    #[error("[csaf] openpgp_key {0}: not an armored (text) key")]
    NotText(String),
    /// The node's own key could not be made or read.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    /// The node's own key file is unusable.
    #[error("{path}: {source}")]
    Made {
        /// The key file.
        path: String,
        /// What is wrong with it.
        source: OpenPgpError,
    },
}

impl CsafProvider {
    /// Reads the operator's key, or the one the node made (making it, for
    /// `user_id`, the first time).
    pub fn load(
        dir: &DataDir,
        settings: &CsafSettings,
        user_id: &str,
        now: u64,
    ) -> Result<Self, CsafSetupError> {
        let key = match &settings.key {
            CsafKeySource::Imported {
                path,
                armored,
                passphrase,
            } => {
                let shown = path.display().to_string();
                let text = std::str::from_utf8(armored.expose())
                    .map_err(|_| CsafSetupError::NotText(shown.clone()))?;
                let pass = String::from_utf8_lossy(passphrase.expose());
                CsafKey::from_armored(text, &pass).map_err(|source| CsafSetupError::Imported {
                    path: shown,
                    source,
                })?
            }
            CsafKeySource::Made => {
                let text = dir.csaf_key_or_create(|| {
                    CsafKey::generate(user_id, now)
                        .and_then(|k| k.secret_armored())
                        .map_err(|e| e.to_string())
                })?;
                CsafKey::from_armored(&text, "").map_err(|source| CsafSetupError::Made {
                    path: dir.csaf_key_path().display().to_string(),
                    source,
                })?
            }
        };
        Ok(Self {
            settings: settings.provider.clone(),
            key,
        })
    }
}

/// The tree of this team's advisories (cached by the engine until an
/// advisory changes).
pub fn tree(e: &mut Engine, p: &CsafProvider) -> Arc<Result<Tree, String>> {
    e.csaf_tree(|e| {
        let team = e.node().team();
        let own: Vec<csaf_provider::Advisory> = super::views::advisory_exports(e)
            .into_iter()
            .filter(|(.., author)| author.team == team)
            .collect();
        let author = super::views::export_author(e, team);
        csaf_provider::tree(&p.settings, &p.key, &author, &own).map_err(|e| e.to_string())
    })
}

#[derive(Clone)]
struct CsafState {
    client: Client,
    provider: Arc<CsafProvider>,
    readers: Arc<[ReaderKey]>,
}

/// The directory's routes (public; restricted folders check tokens
/// themselves).
pub(super) fn router(
    client: Client,
    readers: Vec<ReaderKey>,
    provider: Arc<CsafProvider>,
) -> Router {
    let state = CsafState {
        client,
        provider,
        readers: readers.into(),
    };
    Router::new()
        .route(WELL_KNOWN, get(top))
        .route(&format!("{WELL_KNOWN}/"), get(top))
        .route(&format!("{WELL_KNOWN}/{{*path}}"), get(file))
        .with_state(state)
}

async fn top(State(s): State<CsafState>, headers: HeaderMap) -> Response {
    serve(&s, String::new(), &headers).await
}

async fn file(
    State(s): State<CsafState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&s, path, &headers).await
}

/// The labels whose documents `folder` holds, as configured.
fn folder_labels(settings: &ProviderSettings, folder: &str) -> Vec<Tlp> {
    settings
        .tlp
        .iter()
        .copied()
        .filter(|t| csaf_provider::folder(*t) == folder)
        .collect()
}

/// Whether the request's token belongs to a reader allowed every label
/// of `folder`.
fn may_read(s: &CsafState, folder: &str, headers: &HeaderMap) -> bool {
    let needed = folder_labels(&s.provider.settings, folder);
    let Some(given) = credential(headers) else {
        return false;
    };
    let given = given.trim().as_bytes().to_vec();
    // Every token is compared, so the time taken does not say which matched.
    s.readers.iter().fold(false, |ok, r| {
        let hit = super::auth::same(&given, r.token.as_bytes())
            && needed.iter().all(|t| r.reader.tlp.contains(t));
        ok | hit
    })
}

async fn serve(s: &CsafState, path: String, headers: &HeaderMap) -> Response {
    let provider = s.provider.clone();
    let tree = match s.client.call(move |e| tree(e, &provider)).await {
        Ok(t) => t,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let tree = match tree.as_ref() {
        Ok(t) => t,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.clone()).into_response(),
    };
    let first = path.split('/').next().unwrap_or_default();
    if csaf_provider::restricted_folder(first) && !may_read(s, first, headers) {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            "this folder is access protected: give a TAXII reader token allowed its TLP labels",
        )
            .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"trustmesh CSAF\", Bearer"),
        );
        return r;
    }
    if let Some(body) = tree.files.get(&path) {
        return (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            )],
            body.clone(),
        )
            .into_response();
    }
    let dir = path.trim_end_matches('/');
    let names = csaf_provider::listing(tree.files.keys(), dir);
    if names.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            format!("no {path} in this directory"),
        )
            .into_response();
    }
    if !path.is_empty() && !path.ends_with('/') {
        // A folder named without its slash: relative links need one.
        let to = format!("{WELL_KNOWN}/{path}/");
        let Ok(v) = HeaderValue::from_str(&to) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, v)]).into_response();
    }
    let title = super::escape(&format!("Index of {WELL_KNOWN}/{path}"));
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1><ul>\n"
    );
    if !path.is_empty() {
        html.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for n in names {
        let n = super::escape(&n);
        html.push_str(&format!("<li><a href=\"{n}\">{n}</a></li>\n"));
    }
    html.push_str("</ul></body></html>\n");
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    if path.starts_with("openpgp/") {
        "application/pgp-keys"
    } else if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".asc") {
        "application/pgp-signature"
    } else if path.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    }
}
