//! The web page for people (DESIGN.md section 7): server-rendered HTML over
//! the same views as the JSON API, with no JavaScript.
//!
//! Pages: `/` (advisories, with search and filters as a GET form),
//! `/advisories/{owner}/{id}` (one advisory with its revision history and
//! signers), `/contacts`, `/tools`, `/members` (with why each team is or is
//! not a member) and `/peers` (peers and sync counters).
//!
//! Same policy as the API: the node binds it to loopback by default and every
//! page needs the API token as `Authorization: Bearer`, or the
//! `trustmesh_session` cookie, which `GET /login?token=...` (or the login
//! form's POST) sets after checking the token: a session signed by a key
//! the node makes at start, valid 12 hours, never the token itself. The cookie is HttpOnly and
//! SameSite=Strict, and the pages only read, so another site can neither
//! read it nor make the browser act with it. Every string from the documents
//! goes through [`escape`]; links are only made of http(s) URLs.

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Shared;
use super::auth::{self, bearer, cookie, is_token};
use super::views::{self, ApiError, ApiResult};
use crate::api::{AdvisoryQuery, Status};
use crate::engine::Engine;

// Rendering: pure functions from the views' JSON to HTML.

mod render;

pub use render::escape;
use render::{
    advisories_html, advisory_html, contacts_html, error_html, layout, login_html, members_html,
    peers_html, tools_html,
};

/// The cookie that carries a browser's session (never the API token).
pub const COOKIE: &str = "trustmesh_session";

type WebState = Shared;

/// The page routes and `/login`, `/logout`, to merge beside the API.
pub(super) fn router(state: Shared) -> Router {
    let pages = Router::new()
        .route("/", get(advisories_page))
        .route("/advisories/{owner}/{id}", get(advisory_page))
        .route("/contacts", get(contacts_page))
        .route("/tools", get(tools_page))
        .route("/members", get(members_page))
        .route("/peers", get(peers_page))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .merge(pages)
        .route("/login", get(login_get).post(login_post))
        .route("/logout", get(logout))
        .with_state(state)
}

/// Whether the request carries the token as a bearer header, or a live
/// session cookie.
fn authorized(headers: &HeaderMap, s: &Shared, now: u64) -> bool {
    bearer(headers).is_some_and(|t| is_token(&s.token, t))
        || cookie(headers, COOKIE).is_some_and(|c| s.sessions.check(c, now))
}

fn now_secs() -> u64 {
    crate::engine::now_ms() / 1000
}

async fn auth(State(s): State<WebState>, req: Request, next: Next) -> Response {
    if authorized(req.headers(), &s, now_secs()) {
        next.run(req).await
    } else {
        html(StatusCode::UNAUTHORIZED, login_html(None))
    }
}

/// An HTML response with headers that keep the page to itself: no
/// scripts, no framing, no caching, no referrer.
fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: Option<String>,
}

fn login(s: &WebState, given: Option<&str>) -> Response {
    let Some(given) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return html(StatusCode::UNAUTHORIZED, login_html(None));
    };
    if !is_token(&s.token, given) {
        return html(
            StatusCode::UNAUTHORIZED,
            login_html(Some("That is not this node's API token.")),
        );
    }
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    let set = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        s.sessions.issue(now_secs()),
        auth::SESSION_SECS
    );
    match HeaderValue::from_str(&set) {
        Ok(v) => {
            r.headers_mut().insert(header::SET_COOKIE, v);
            r.headers_mut().insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            r
        }
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_html(500, "the session cannot be a cookie value"),
        ),
    }
}

async fn login_get(State(s): State<WebState>, Query(f): Query<LoginForm>) -> Response {
    login(&s, f.token.as_deref())
}

async fn login_post(State(s): State<WebState>, Form(f): Form<LoginForm>) -> Response {
    login(&s, f.token.as_deref())
}

async fn logout() -> Response {
    let mut r = html(StatusCode::OK, login_html(Some("Logged out.")));
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "trustmesh_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// Runs `f` on the engine, with the node's status for the page header.
async fn fetch<T: Send + 'static>(
    s: &WebState,
    f: impl FnOnce(&mut Engine) -> ApiResult<T> + Send + 'static,
) -> (Option<Status>, Result<T, ApiError>) {
    let out = s
        .client
        .call(move |e| {
            let status = views::engine_status(e);
            (status, f(e))
        })
        .await;
    match out {
        Ok((status, data)) => (Some(status), data),
        Err(e) => (
            None,
            Err(ApiError {
                status: 503,
                message: e.to_string(),
            }),
        ),
    }
}

/// The page, or an error page with the view's status.
fn respond(
    title: &str,
    active: &str,
    status: Option<&Status>,
    body: Result<String, ApiError>,
) -> Response {
    match body {
        Ok(body) => html(StatusCode::OK, layout(title, active, status, &body)),
        Err(e) => {
            let code = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = format!(r#"<p class="error">{}</p>"#, escape(&e.message));
            html(code, layout("Error", active, status, &body))
        }
    }
}

/// The advisory list's query: search text and filters, as the form sends
/// them (an empty field means no filter).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct WebFilter {
    /// Text to search for.
    pub q: Option<String>,
    /// Category name.
    pub category: Option<String>,
    /// Lowest severity.
    pub severity: Option<String>,
    /// TLP label.
    pub tlp: Option<String>,
    /// Owner team (id, prefix or short name).
    pub team: Option<String>,
}

impl WebFilter {
    fn to_filter(&self) -> AdvisoryQuery {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        AdvisoryQuery {
            q: given(&self.q),
            category: given(&self.category),
            severity: given(&self.severity),
            tlp: given(&self.tlp),
            owner: given(&self.team),
            status: None,
        }
    }
}

async fn advisories_page(State(s): State<WebState>, Query(wf): Query<WebFilter>) -> Response {
    let filter = wf.to_filter();
    let (status, data) = fetch(&s, move |e| {
        Ok((views::advisories(e, &filter)?, views::members(e)))
    })
    .await;
    let body = data.map(|(list, members)| advisories_html(&list, &members, &wf));
    respond("Advisories", "/", status.as_ref(), body)
}

async fn advisory_page(
    State(s): State<WebState>,
    Path((owner, id)): Path<(String, String)>,
) -> Response {
    let (status, data) = fetch(&s, move |e| {
        Ok((views::advisory(e, &owner, &id)?, views::members(e)))
    })
    .await;
    let title = data
        .as_ref()
        .map_or("Advisory", |(view, _)| view.summary.id.as_str())
        .to_owned();
    let body = data.map(|(view, members)| advisory_html(&view, &members));
    respond(&title, "/", status.as_ref(), body)
}

async fn contacts_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| Ok(views::contacts(e))).await;
    respond(
        "Contacts",
        "/contacts",
        status.as_ref(),
        data.map(|d| contacts_html(&d)),
    )
}

async fn tools_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| views::tools(e, None)).await;
    respond(
        "Tools",
        "/tools",
        status.as_ref(),
        data.map(|d| tools_html(&d)),
    )
}

async fn members_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| Ok(views::members(e))).await;
    respond(
        "Members",
        "/members",
        status.as_ref(),
        data.map(|d| members_html(&d)),
    )
}

async fn peers_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| Ok((views::peers(&e.snapshot()), views::members(e)))).await;
    let body = match (&status, data) {
        (Some(st), Ok((peers, members))) => Ok(peers_html(st, &peers, &members)),
        (_, Err(e)) => Err(e),
        (None, Ok(_)) => Err(ApiError::internal("the node did not answer")),
    };
    respond("Peers and sync", "/peers", status.as_ref(), body)
}

#[cfg(test)]
mod tests;
