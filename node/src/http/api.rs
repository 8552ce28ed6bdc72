//! The local HTTP JSON API (DESIGN.md section 7).
//!
//! Bound to loopback by default; every route but `/api/v1/openapi.json`
//! needs `Authorization: Bearer <token>`, the token being the contents of
//! `<data-dir>/api.token` (mode 0600). Handlers send a job to the engine
//! ([`crate::engine::Client`]) and answer with its JSON.
//!
//! **API Boundary:** [`routes`] lists every route, and `openapi.json`
//! describes each with the bodies of [`crate::api`]; the tests beside this
//! file fail when the document and the code part.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodFilter, MethodRouter};
use axum::{Json, Router};
use schemars::{JsonSchema, Schema, SchemaGenerator};
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

/// Writes a type's JSON Schema into a generator's components.
pub(super) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One route of the API: its method, its path under `/api/v1`, its handler
/// and the schemas of the bodies it takes and answers, read off the
/// handler's signature. [`routes`] is the one list of them: the router is
/// built from it and the OpenAPI test checks the document against it.
pub(super) struct Route {
    /// The HTTP method.
    #[cfg_attr(not(test), allow(dead_code))]
    pub method: Method,
    /// The path, with `{name}` for path parameters.
    pub path: &'static str,
    /// Whether the route answers without the API token.
    pub public: bool,
    /// The request body's schema, if the handler reads one.
    #[cfg_attr(not(test), allow(dead_code))]
    pub body: Option<SchemaFn>,
    /// The schema of a successful answer.
    #[cfg_attr(not(test), allow(dead_code))]
    pub answer: SchemaFn,
    handler: MethodRouter<Shared>,
}

/// A JSON request body, with a clear 400 when it does not parse (a body
/// over the size limit stays axum's 413).
struct JsonBody<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad(format!("invalid JSON body: {e}")).into_response())
    }
}

/// A type with a JSON Schema in the document: the API's own types, and
/// the protocol types described by stand-ins in `api::schema`.
trait Described {
    fn schema(g: &mut SchemaGenerator) -> Schema;
}

macro_rules! described {
    ($($ty:ty => $schema:ty),* $(,)?) => {
        $(impl Described for $ty {
            fn schema(g: &mut SchemaGenerator) -> Schema {
                g.subschema_for::<$schema>()
            }
        })*
    };
}

described!(
    Advisory => api::schema::Advisory,
    Contact => api::schema::Contact,
    Tool => api::schema::Tool,
    api::SponsorRequest => api::SponsorRequest,
    api::RevokeRequest => api::RevokeRequest,
    api::ImportRequest => api::ImportRequest,
    api::DialRequest => api::DialRequest,
);

/// What a handler's argument says about the request body.
trait Arg {
    const BODY: Option<SchemaFn>;
}

impl<T> Arg for State<T> {
    const BODY: Option<SchemaFn> = None;
}

impl<T> Arg for Path<T> {
    const BODY: Option<SchemaFn> = None;
}

impl<T> Arg for Query<T> {
    const BODY: Option<SchemaFn> = None;
}

/// A body the handler reads as it is (a CSAF document, not one of ours).
impl Arg for Bytes {
    const BODY: Option<SchemaFn> = Some(SchemaGenerator::subschema_for::<Value>);
}

impl<T: Described> Arg for JsonBody<T> {
    const BODY: Option<SchemaFn> = Some(T::schema);
}

/// A handler that answers `Json<R>`: its request body's schema (from its
/// last argument, where axum puts the body) and its answer's.
trait Endpoint<Args> {
    const BODY: Option<SchemaFn>;
    const ANSWER: SchemaFn;
}

macro_rules! endpoint {
    ($($arg:ident),* ; $last:ident) => {
        impl<F, Fut, R, $($arg,)* $last> Endpoint<($($arg,)* $last,)> for F
        where
            F: Fn($($arg,)* $last) -> Fut,
            Fut: Future<Output = Result<Json<R>, ApiError>>,
            R: JsonSchema,
            $last: Arg,
        {
            const BODY: Option<SchemaFn> = <$last as Arg>::BODY;
            const ANSWER: SchemaFn = SchemaGenerator::subschema_for::<R>;
        }
    };
}

endpoint!(; A);
endpoint!(A; B);
endpoint!(A, B; C);

fn route<H, T, Args>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, Shared> + Endpoint<Args>,
    T: 'static,
{
    // The methods below are all standard ones, which every filter knows.
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    Route {
        method,
        path,
        public: false,
        body: H::BODY,
        answer: H::ANSWER,
        handler: routing::on(filter, handler),
    }
}

/// Every route of the API.
pub(super) fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        route(M::GET, "/status", status),
        route(M::GET, "/members", members),
        route(M::GET, "/peers", peers),
        route(M::GET, "/teams/{name}", team),
        route(M::GET, "/advisories", advisories),
        route(M::POST, "/advisories", publish),
        route(M::POST, "/advisories/import-csaf", import_csaf),
        route(M::GET, "/advisories/{owner}/{id}", advisory),
        route(M::PUT, "/advisories/{owner}/{id}", update),
        route(M::GET, "/advisories/{owner}/{id}/csaf", advisory_csaf),
        route(M::GET, "/advisories/{owner}/{id}/stix", advisory_stix),
        route(
            M::GET,
            "/advisories/{owner}/{id}/original",
            advisory_original,
        ),
        route(M::GET, "/contacts", contacts),
        route(M::PUT, "/contacts", set_contact),
        route(M::GET, "/contacts/export", contacts_export),
        route(M::GET, "/contacts/{team}", contact),
        route(M::GET, "/export/misp-feed", misp_feed),
        route(M::GET, "/export/csaf-provider", csaf_provider),
        route(M::GET, "/tools", tools),
        route(M::POST, "/tools", add_tool),
        route(M::PUT, "/tools/{name}", update_tool),
        route(M::DELETE, "/tools/{name}", remove_tool),
        route(M::POST, "/sponsor", sponsor),
        route(M::POST, "/revoke", revoke),
        route(M::POST, "/import", import),
        route(M::POST, "/dial", dial),
        Route {
            method: M::GET,
            path: "/openapi.json",
            public: true,
            body: None,
            answer: SchemaGenerator::subschema_for::<Value>,
            handler: routing::get(openapi),
        },
    ]
}

/// The `/api/v1` routes: every one of [`routes`], behind the token unless
/// it is public.
pub(super) fn router(state: Shared) -> Router {
    let (public, private): (Vec<Route>, Vec<Route>) = routes().into_iter().partition(|r| r.public);
    let add = |router: Router<Shared>, r: Route| router.route(r.path, r.handler);
    let private =
        private
            .into_iter()
            .fold(Router::new(), add)
            .route_layer(middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            ));
    public.into_iter().fold(private, add).with_state(state)
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

async fn publish(
    State(s): State<ApiState>,
    JsonBody(a): JsonBody<Advisory>,
) -> Result<Json<api::Published>, ApiError> {
    run(&s, move |e| views::publish_advisory(e, &a)).await
}

async fn update(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
    JsonBody(a): JsonBody<Advisory>,
) -> Result<Json<api::Updated>, ApiError> {
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
    Query(q): Query<api::CsafQuery>,
) -> Result<Json<Value>, ApiError> {
    run(&s, move |e| {
        views::advisory_csaf(e, &owner, &id, q.version.as_deref())
    })
    .await
}

async fn advisory_stix(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    run(&s, move |e| views::advisory_stix(e, &owner, &id)).await
}

async fn advisory_original(
    State(s): State<ApiState>,
    Path((owner, id)): Path<(String, String)>,
) -> Result<Json<api::OriginalDocument>, ApiError> {
    run(&s, move |e| views::advisory_original(e, &owner, &id)).await
}

/// The body is the CSAF document itself, so files post as they are.
async fn import_csaf(
    State(s): State<ApiState>,
    Query(q): Query<api::ImportCsafQuery>,
    bytes: Bytes,
) -> Result<Json<api::CsafImported>, ApiError> {
    run(&s, move |e| views::import_csaf(e, &bytes, &q)).await
}

async fn misp_feed(
    State(s): State<ApiState>,
    Query(q): Query<api::MispFeedQuery>,
) -> Result<Json<Value>, ApiError> {
    let tlp = views::parse_tlp_list(q.tlp.as_deref().unwrap_or("clear,green"))?;
    run(&s, move |e| {
        let feed = e.misp_feed(&tlp, |e| views::misp_feed(e, &tlp));
        Ok(serde_json::json!({ "files": feed.files }))
    })
    .await
}

async fn csaf_provider(
    State(s): State<ApiState>,
) -> Result<Json<api::CsafProviderExport>, ApiError> {
    let Some(p) = s.csaf.clone() else {
        return Err(ApiError::not_found(
            "the CSAF provider directory is off: add a [csaf] section with url = \"https://...\" to config.toml and restart the node",
        ));
    };
    run(&s, move |e| {
        let tree = super::csaf_tree(e, &p);
        let t = tree.as_ref().as_ref().map_err(ApiError::internal)?;
        let metadata_url = crate::export::csaf_provider::metadata_url(&p.settings);
        Ok(api::CsafProviderExport {
            files: t.files.clone(),
            documents: t
                .documents
                .iter()
                .map(|d| api::CsafProviderDocument {
                    path: d.path.clone(),
                    doc: d.doc.clone(),
                    tracking_id: d.tracking_id.clone(),
                    tlp: format!("TLP:{}", d.tlp.label()),
                })
                .collect(),
            skipped: t
                .skipped
                .iter()
                .map(|(doc, why)| api::CsafProviderSkipped {
                    doc: doc.clone(),
                    why: why.clone(),
                })
                .collect(),
            fingerprint: t.fingerprint.clone(),
            security_txt: format!("CSAF: {metadata_url}"),
            metadata_url,
        })
    })
    .await
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
    JsonBody(c): JsonBody<Contact>,
) -> Result<Json<api::Changed>, ApiError> {
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
    JsonBody(t): JsonBody<Tool>,
) -> Result<Json<api::ToolChanged>, ApiError> {
    run(&s, move |e| views::upsert_tool(e, &t, Some(false))).await
}

async fn update_tool(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    JsonBody(t): JsonBody<Tool>,
) -> Result<Json<api::ToolChanged>, ApiError> {
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
    JsonBody(b): JsonBody<api::SponsorRequest>,
) -> Result<Json<api::Sponsored>, ApiError> {
    run(&s, move |e| views::sponsor(e, &b.application, &b.note)).await
}

async fn revoke(
    State(s): State<ApiState>,
    JsonBody(b): JsonBody<api::RevokeRequest>,
) -> Result<Json<api::Revoked>, ApiError> {
    run(&s, move |e| {
        views::revoke(e, &b.team, &b.reason, b.keep_none)
    })
    .await
}

async fn import(
    State(s): State<ApiState>,
    JsonBody(b): JsonBody<api::ImportRequest>,
) -> Result<Json<api::Imported>, ApiError> {
    run(&s, move |e| views::import(e, &b.files)).await
}

async fn dial(
    State(s): State<ApiState>,
    JsonBody(b): JsonBody<api::DialRequest>,
) -> Result<Json<api::Dialing>, ApiError> {
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

#[cfg(test)]
mod tests;
