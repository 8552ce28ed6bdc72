//! The TAXII 2.1 read server: discovery at `/taxii2/`, one API root at
//! `/taxii2/root/`, and a collection per TLP label the reader may read,
//! holding every advisory's STIX 2.1 objects ([`crate::export::taxii`]).
//!
//! It has its own listener and its own credentials: a reader's token
//! (`<data-dir>/taxii/<name>.token`) reads the collections its
//! `[[taxii.readers]]` entry names, and nothing of the admin API. The
//! token is accepted as `Authorization: Bearer`, as `Authorization: Token`
//! (OpenCTI) and as the password of Basic authentication (taxii2-client,
//! MISP).
//!
//! **API Boundary:** the bodies are OASIS TAXII 2.1's (section 4 and 5),
//! served as `application/taxii+json;version=2.1`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};
use trustmesh_protocol::Tlp;
use uuid::Uuid;

use super::auth::same;
use crate::config::Reader;
use crate::engine::Client;
use crate::export::taxii::{
    Catalog, MAX_PAGE, Query, QueryError, parse_ms, parse_version, taxii_time,
};

/// TAXII's media type.
pub const TAXII_JSON: &str = "application/taxii+json;version=2.1";
/// STIX's media type.
pub const STIX_JSON: &str = "application/stix+json;version=2.1";
/// The largest body the server sends or takes (it takes none).
const MAX_CONTENT_LENGTH: u64 = 10 << 20;

/// A reader and its token.
#[derive(Clone)]
pub struct ReaderKey {
    /// Its name and labels.
    pub reader: Reader,
    /// Its token.
    pub token: String,
}

/// What the TAXII handlers share.
#[derive(Clone)]
pub(super) struct TaxiiState {
    pub(super) client: Client,
    readers: Arc<[ReaderKey]>,
    /// Seeds the collection ids: the network id.
    network: Arc<str>,
    /// `https` or `http`, for the API root's URL in discovery.
    scheme: &'static str,
}

/// The reader a request authenticated as (set by [`require_reader`]).
#[derive(Clone)]
pub(super) struct Authed(pub(super) Arc<ReaderKey>);

/// The TAXII server's routes (and the MISP feed's, which share its
/// readers). `network` seeds the collections' ids; `tls` says whether the
/// listener speaks TLS.
pub fn router(client: Client, readers: Vec<ReaderKey>, network: String, tls: bool) -> Router {
    let state = TaxiiState {
        client,
        readers: readers.into(),
        network: network.into(),
        scheme: if tls { "https" } else { "http" },
    };
    // TAXII URLs end in a slash; the same routes answer without it.
    let mut r = Router::new();
    for (path, handler) in [
        ("/taxii2", get(discovery)),
        ("/taxii2/root", get(api_root)),
        ("/taxii2/root/collections", get(collections)),
        ("/taxii2/root/collections/{cid}", get(collection)),
        ("/taxii2/root/collections/{cid}/objects", get(objects)),
        ("/taxii2/root/collections/{cid}/objects/{oid}", get(object)),
        (
            "/taxii2/root/collections/{cid}/objects/{oid}/versions",
            get(versions),
        ),
        ("/taxii2/root/collections/{cid}/manifest", get(manifest)),
    ] {
        r = r
            .route(path, handler.clone())
            .route(&format!("{path}/"), handler);
    }
    r.merge(super::misp::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_reader,
        ))
        .with_state(state)
}

/// A TAXII error body with its status.
fn error(status: StatusCode, title: &str, description: impl Into<String>) -> Response {
    let mut r = taxii(json!({
        "title": title,
        "description": description.into(),
        "http_status": status.as_u16().to_string(),
    }));
    *r.status_mut() = status;
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"trustmesh TAXII\", Bearer"),
        );
    }
    r
}

/// A TAXII JSON body.
fn taxii(body: Value) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_JSON))],
        body.to_string(),
    )
        .into_response()
}

/// The token a request carries: a Bearer or Token credential, or the
/// password of Basic authentication (the user name when the password is
/// empty).
pub(super) fn credential(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        return Some(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some(if password.is_empty() { user } else { password }.to_owned());
    }
    None
}

/// Middleware: a reader's token, or 401.
async fn require_reader(State(state): State<TaxiiState>, mut req: Request, next: Next) -> Response {
    let given = credential(req.headers());
    // Every token is compared, so the time taken does not say which matched.
    let found = given.and_then(|g| {
        let g = g.trim().as_bytes().to_vec();
        state.readers.iter().fold(None, |hit, r| {
            if same(&g, r.token.as_bytes()) && hit.is_none() {
                Some(r.clone())
            } else {
                hit
            }
        })
    });
    let Some(reader) = found else {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "give a TAXII reader token (<data-dir>/taxii/<reader>.token) as Bearer, Token or the Basic password",
        );
    };
    if !accepts(req.headers(), req.uri().path()) {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            "not acceptable",
            format!("this server answers {TAXII_JSON}"),
        );
    }
    req.extensions_mut().insert(Authed(Arc::new(reader)));
    next.run(req).await
}

/// Whether the request's Accept takes TAXII 2.1 JSON (the MISP feed's
/// paths answer plain JSON and are not checked).
fn accepts(headers: &HeaderMap, path: &str) -> bool {
    if !path.starts_with("/taxii2") {
        return true;
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|m| {
        let m = m.split(";q=").next().unwrap_or_default().replace(' ', "");
        m == "*/*"
            || m == "application/*"
            || m == "application/taxii+json"
            || m.starts_with("application/taxii+json;version=2.1")
            || m == "application/json"
    })
}

impl TaxiiState {
    /// The collection `cid` if the reader may read it.
    fn collection_of(&self, reader: &ReaderKey, cid: &str) -> Option<Tlp> {
        reader
            .reader
            .tlp
            .iter()
            .copied()
            .find(|t| collection_id(&self.network, *t) == cid)
    }

    /// The catalog, made again when advisories changed.
    pub(super) async fn catalog(&self) -> Result<Arc<Catalog>, Response> {
        self.client
            .call(|e| e.taxii_catalog(super::views::taxii_catalog))
            .await
            .map_err(|e| {
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    e.to_string(),
                )
            })
    }
}

/// The stable id of a label's collection on a network.
pub fn collection_id(network: &str, tlp: Tlp) -> String {
    let ns = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://trustmesh.invalid/taxii");
    Uuid::new_v5(&ns, format!("{network}/{}", tlp.name()).as_bytes()).to_string()
}

fn collection_json(network: &str, tlp: Tlp) -> Value {
    json!({
        "id": collection_id(network, tlp),
        "title": format!("TLP:{} advisories", tlp.label()),
        "description": format!(
            "The STIX 2.1 objects of every TLP:{} advisory this trustmesh node holds: indicators, vulnerabilities, the publishing team's identity and the TLP 2.0 marking.",
            tlp.label()
        ),
        "can_read": true,
        "can_write": false,
        "media_types": [STIX_JSON],
    })
}

/// The host the client asked for, if it is a plain host\[:port\].
fn host(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::HOST)?.to_str().ok()?;
    (!h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')))
    .then_some(h)
}

async fn discovery(State(state): State<TaxiiState>, headers: HeaderMap) -> Response {
    let Some(host) = host(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad request",
            "no usable Host header",
        );
    };
    let root = format!("{}://{host}/taxii2/root/", state.scheme);
    taxii(json!({
        "title": "trustmesh TAXII 2.1",
        "description": "Advisories shared on a trustmesh network, as STIX 2.1, one collection per TLP label this reader may read.",
        "default": root,
        "api_roots": [root],
    }))
}

async fn api_root() -> Response {
    taxii(json!({
        "title": "trustmesh advisories",
        "description": "One collection per TLP label; read only.",
        "versions": [TAXII_JSON],
        "max_content_length": MAX_CONTENT_LENGTH,
    }))
}

async fn collections(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
) -> Response {
    let list: Vec<Value> = reader
        .reader
        .tlp
        .iter()
        .map(|t| collection_json(&state.network, *t))
        .collect();
    taxii(json!({ "collections": list }))
}

fn no_collection(cid: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "collection not found",
        format!("no collection {cid} this reader may read"),
    )
}

async fn collection(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
    Path(cid): Path<String>,
) -> Response {
    match state.collection_of(&reader, &cid) {
        Some(t) => taxii(collection_json(&state.network, t)),
        None => no_collection(&cid),
    }
}

/// The query of a request's query string. `match[...]` values are
/// comma-separated lists, and a parameter may repeat.
fn parse_query(raw: Option<&str>) -> Result<Query, QueryError> {
    let mut q = Query::default();
    let bad = |param: &'static str, why: String| QueryError::Invalid { param, why };
    for (k, v) in form_urlencoded(raw.unwrap_or_default()) {
        let list = || {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        match k.as_str() {
            "added_after" => {
                q.added_after = Some(parse_ms(&v).ok_or_else(|| {
                    bad("added_after", format!("{v:?} is not an RFC 3339 timestamp"))
                })?);
            }
            "limit" => {
                let n = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad("limit", format!("{v:?} is not a positive number")))?;
                q.limit = Some(n.min(MAX_PAGE));
            }
            "next" => q.next = Some(v.clone()),
            "match[id]" => q.ids.extend(list()),
            "match[type]" => q.types.extend(list()),
            "match[spec_version]" => q.spec_versions.extend(list()),
            "match[version]" => {
                for v in list() {
                    q.versions.push(parse_version(&v)?);
                }
            }
            _ => {}
        }
    }
    Ok(q)
}

/// `application/x-www-form-urlencoded` pairs, percent-decoded.
fn form_urlencoded(raw: &str) -> Vec<(String, String)> {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let pair = b
                .get(i + 1)
                .copied()
                .and_then(hex)
                .zip(b.get(i + 2).copied().and_then(hex));
            match (b[i], pair) {
                (b'+', _) => out.push(b' '),
                (b'%', Some((hi, lo))) => {
                    out.push((hi << 4) | lo);
                    i += 2;
                }
                (c, _) => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The page a request asks of a collection, with the date headers of
/// what it returns; or the error to answer.
async fn page(
    state: &TaxiiState,
    reader: &ReaderKey,
    cid: &str,
    raw_query: Option<&str>,
    extra: impl FnOnce(&mut Query),
    body: impl FnOnce(&crate::export::taxii::Page<'_>) -> Value,
) -> Response {
    let Some(tlp) = state.collection_of(reader, cid) else {
        return no_collection(cid);
    };
    let mut q = match parse_query(raw_query) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad request", e.to_string()),
    };
    extra(&mut q);
    let catalog = match state.catalog().await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page = match catalog.query(tlp, &q) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad request", e.to_string()),
    };
    let mut r = taxii(body(&page));
    let dates = page.entries.iter().map(|e| e.added_ms);
    if let (Some(first), Some(last)) = (dates.clone().min(), dates.max()) {
        for (name, ms) in [
            ("x-taxii-date-added-first", first),
            ("x-taxii-date-added-last", last),
        ] {
            if let Ok(v) = HeaderValue::from_str(&taxii_time(ms)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

fn envelope(p: &crate::export::taxii::Page<'_>) -> Value {
    let objects: Vec<&Value> = p.entries.iter().map(|e| &e.object).collect();
    let mut v = json!({ "more": p.more, "objects": objects });
    if let Some(next) = &p.next {
        v["next"] = json!(next);
    }
    v
}

async fn objects(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
    Path(cid): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    page(&state, &reader, &cid, uri.query(), |_| {}, envelope).await
}

async fn object(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
    Path((cid, oid)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    let id = oid.clone();
    let r = page(
        &state,
        &reader,
        &cid,
        uri.query(),
        |q| q.ids = vec![id],
        envelope,
    )
    .await;
    not_found_if_empty(r, &oid).await
}

async fn versions(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
    Path((cid, oid)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    page(
        &state,
        &reader,
        &cid,
        uri.query(),
        |q| {
            q.ids = vec![oid];
            q.versions = vec![crate::export::taxii::VersionMatch::All];
        },
        |p| {
            let versions: Vec<&str> = p.entries.iter().map(|e| e.version.as_str()).collect();
            let mut v = json!({ "more": p.more, "versions": versions });
            if let Some(next) = &p.next {
                v["next"] = json!(next);
            }
            v
        },
    )
    .await
}

/// A `/objects/{id}/` answer without objects is a 404 (TAXII 2.1 5.5).
async fn not_found_if_empty(r: Response, oid: &str) -> Response {
    if r.status() != StatusCode::OK {
        return r;
    }
    let (parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "body lost");
    };
    let empty = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["objects"].as_array().map(Vec::is_empty))
        .unwrap_or(true);
    if empty {
        return error(
            StatusCode::NOT_FOUND,
            "object not found",
            format!("no object {oid} in this collection"),
        );
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn manifest(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
    Path(cid): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    page(
        &state,
        &reader,
        &cid,
        uri.query(),
        |_| {},
        |p| {
            let objects: Vec<Value> = p
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "id": e.id,
                        "date_added": taxii_time(e.added_ms),
                        "version": e.version,
                        "media_type": STIX_JSON,
                    })
                })
                .collect();
            let mut v = json!({ "more": p.more, "objects": objects });
            if let Some(next) = &p.next {
                v["next"] = json!(next);
            }
            v
        },
    )
    .await
}

#[cfg(test)]
mod tests;
