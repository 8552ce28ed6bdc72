//! The web page for people (DESIGN.md section 7): server-rendered HTML over
//! the same views as the JSON API, with no JavaScript.
//!
//! Pages: `/` (advisories, with search and filters as a GET form),
//! `/advisories/{owner}/{id}` (one advisory with its revision history and
//! signers), `/contacts`, `/tools`, `/members` (with why each team is or is
//! not a member) and `/peers` (peers and sync counters).
//!
//! Same policy as the API: the node binds it to loopback by default and every
//! page needs the API token, given either as `Authorization: Bearer` or as
//! the `trustmesh_token` cookie, which `GET /login?token=...` (or the login
//! form's POST) sets after checking the token. The cookie is HttpOnly and
//! SameSite=Strict, and the pages only read, so another site can neither
//! read it nor make the browser act with it. Every string from the documents
//! goes through [`escape`]; links are only made of http(s) URLs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use trustmesh_protocol::{AdvisoryCategory, Severity, Tlp};

use crate::api::same;
use crate::client::segment;
use crate::engine::{Client, Engine};
use crate::views::{self, AdvisoryFilter, ApiError, ApiResult};

/// The cookie that carries the API token for browsers.
pub const COOKIE: &str = "trustmesh_token";

const LAYOUT: &str = include_str!("web/layout.html");
const STYLE: &str = include_str!("web/style.css");

/// The pages, for the nav bar.
const NAV: [(&str, &str); 5] = [
    ("/", "Advisories"),
    ("/contacts", "Contacts"),
    ("/tools", "Tools"),
    ("/members", "Members"),
    ("/peers", "Peers"),
];

/// What the page handlers need.
#[derive(Clone)]
struct WebState {
    client: Client,
    token: String,
}

/// The page routes and `/login`, `/logout`, to merge beside the API.
pub fn router(client: Client, token: String) -> Router {
    let state = WebState { client, token };
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

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link to `url` when it is an http(s) URL, else the escaped text, so a
/// document cannot plant a `javascript:` link.
fn link(url: &str) -> String {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            r#"<a href="{0}" rel="noopener noreferrer">{0}</a>"#,
            escape(url)
        )
    } else {
        escape(url)
    }
}

/// The value of the cookie `name` in the request, if any.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request carries the token as a bearer header or the cookie.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    [bearer, cookie(headers, COOKIE)]
        .into_iter()
        .flatten()
        .any(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

async fn auth(State(s): State<WebState>, req: Request, next: Next) -> Response {
    if authorized(req.headers(), &s.token) {
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
    if !same(given.as_bytes(), s.token.as_bytes()) {
        return html(
            StatusCode::UNAUTHORIZED,
            login_html(Some("That is not this node's API token.")),
        );
    }
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    // The token is hexadecimal, so it is a valid cookie value as it is.
    let set = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", s.token);
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
            error_html(500, "the API token cannot be a cookie value"),
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
        HeaderValue::from_static("trustmesh_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

/// Runs `f` on the engine, with the node's status for the page header.
async fn fetch(
    s: &WebState,
    f: impl FnOnce(&mut Engine) -> ApiResult + Send + 'static,
) -> (Value, Result<Value, ApiError>) {
    let out = s
        .client
        .call(move |e| {
            let status = views::status(e);
            (status, f(e))
        })
        .await;
    match out {
        Ok(pair) => pair,
        Err(e) => (
            Value::Null,
            Err(ApiError {
                status: 503,
                message: e.to_string(),
            }),
        ),
    }
}

/// The page, or an error page with the view's status.
fn respond(title: &str, active: &str, status: &Value, body: Result<String, ApiError>) -> Response {
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
    fn to_filter(&self) -> AdvisoryFilter {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        AdvisoryFilter {
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
        Ok(json!({ "list": views::advisories(e, &filter)?, "members": views::members(e) }))
    })
    .await;
    let body = data.map(|d| advisories_html(&d["list"], &d["members"], &wf));
    respond("Advisories", "/", &status, body)
}

async fn advisory_page(
    State(s): State<WebState>,
    Path((owner, id)): Path<(String, String)>,
) -> Response {
    let (status, data) = fetch(&s, move |e| {
        Ok(json!({ "view": views::advisory(e, &owner, &id)?, "members": views::members(e) }))
    })
    .await;
    let title = data
        .as_ref()
        .ok()
        .and_then(|d| d["view"]["advisory"]["id"].as_str())
        .unwrap_or("Advisory")
        .to_owned();
    let body = data.map(|d| advisory_html(&d["view"], &d["members"]));
    respond(&title, "/", &status, body)
}

async fn contacts_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| Ok(views::contacts(e))).await;
    respond(
        "Contacts",
        "/contacts",
        &status,
        data.map(|d| contacts_html(&d)),
    )
}

async fn tools_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| views::tools(e, None)).await;
    respond("Tools", "/tools", &status, data.map(|d| tools_html(&d)))
}

async fn members_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| Ok(views::members(e))).await;
    respond(
        "Members",
        "/members",
        &status,
        data.map(|d| members_html(&d)),
    )
}

async fn peers_page(State(s): State<WebState>) -> Response {
    let (status, data) = fetch(&s, |e| {
        Ok(json!({ "peers": views::peers(e), "members": views::members(e) }))
    })
    .await;
    let body = data.map(|d| peers_html(&status, &d["peers"], &d["members"]));
    respond("Peers and sync", "/peers", &status, body)
}

// Rendering: pure functions from the views' JSON to HTML.

/// Fills `{{name}}` markers of `template` in one pass, so filled-in text is
/// never scanned for markers again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A whole page: the nav bar with `active` marked, the node line, `body`.
fn layout(title: &str, active: &str, status: &Value, body: &str) -> String {
    let mut nav = String::new();
    for (href, label) in NAV {
        let class = if href == active {
            r#" class="active""#
        } else {
            ""
        };
        let _ = write!(nav, r#"<a href="{href}"{class}>{label}</a>"#);
    }
    nav.push_str(r#"<a href="/logout">Log out</a>"#);
    let node = if status.is_null() {
        "node not answering".to_owned()
    } else {
        format!(
            "{} · team <span class=\"mono\">{}</span> · {} · {} peer(s)",
            escape(text(&status["network"])),
            escape(&short(text(&status["team_id"]))),
            if status["member"] == json!(true) {
                "member"
            } else {
                "not a member yet"
            },
            num(&status["peers"]["connected"]),
        )
    };
    fill(
        LAYOUT,
        &[
            ("title", &escape(title)),
            ("style", STYLE),
            ("nav", &nav),
            ("node", &node),
            ("body", body),
        ],
    )
}

/// The login page, with `message` above the form.
pub fn login_html(message: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(m) = message {
        let _ = write!(body, r#"<p class="error">{}</p>"#, escape(m));
    }
    body.push_str(
        r#"<form class="login" method="post" action="/login">
<p>This page needs the node's API token: run <code>trustmesh web</code> and open the address it prints, or paste the contents of <code>&lt;data-dir&gt;/api.token</code>.</p>
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Log in</button>
</form>"#,
    );
    fill(
        LAYOUT,
        &[
            ("title", "Log in"),
            ("style", STYLE),
            ("nav", ""),
            ("node", ""),
            ("body", &body),
        ],
    )
}

/// A bare error page, for failures before there is a node to describe.
fn error_html(status: u16, message: &str) -> String {
    layout(
        &format!("Error {status}"),
        "",
        &Value::Null,
        &format!(r#"<p class="error">{}</p>"#, escape(message)),
    )
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => escape(s),
        _ => "0".to_owned(),
    }
}

fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// Short names by team id, from the members view.
fn names(members: &Value) -> BTreeMap<String, String> {
    members["standings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let team = s["team"].as_str()?;
            let name = s["short_name"]
                .as_str()
                .map_or_else(|| short(team), str::to_owned);
            Some((team.to_owned(), name))
        })
        .collect()
}

/// A team as its short name, with the id prefix in a tooltip.
fn team(names: &BTreeMap<String, String>, id: &str) -> String {
    let name = names.get(id).cloned().unwrap_or_else(|| short(id));
    format!(r#"<span title="{}">{}</span>"#, escape(id), escape(&name))
}

fn tlp_badge(tlp: &str) -> String {
    let label = match tlp {
        "amber_strict" => "AMBER+STRICT".to_owned(),
        t => t.to_ascii_uppercase(),
    };
    format!(
        r#"<span class="badge tlp tlp-{}">TLP:{}</span>"#,
        escape(tlp),
        escape(&label)
    )
}

fn severity_badge(s: &str) -> String {
    format!(r#"<span class="badge sev-{0}">{0}</span>"#, escape(s))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        r#"<span class="badge yes">yes</span>"#
    } else {
        r#"<span class="badge no">no</span>"#
    }
}

/// Unix seconds as a UTC date and time.
pub fn date(secs: u64) -> String {
    let (y, m, d, h, mi, _) = crate::export::civil(secs);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02} UTC")
}

fn options(name: &str, label: &str, all: &[&str], selected: Option<&str>) -> String {
    let mut out = format!(r#"<label>{label}<select name="{name}"><option value="">any</option>"#);
    for v in all {
        let sel = if selected.is_some_and(|s| s.eq_ignore_ascii_case(v)) {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, r#"<option value="{0}"{sel}>{0}</option>"#, escape(v));
    }
    out.push_str("</select></label>");
    out
}

fn list(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// The advisory list with its search form.
pub fn advisories_html(list_v: &Value, members: &Value, f: &WebFilter) -> String {
    let names = names(members);
    let cats: Vec<&str> = AdvisoryCategory::ALL.iter().map(|c| c.name()).collect();
    let sevs: Vec<&str> = Severity::ALL.iter().map(|c| c.name()).collect();
    let tlps: Vec<&str> = Tlp::ALL.iter().map(|c| c.name()).collect();
    let teams: Vec<&str> = names.values().map(String::as_str).collect();
    let mut out = String::from(r#"<form class="filters" method="get" action="/">"#);
    let _ = write!(
        out,
        r#"<label>Search<input type="search" name="q" value="{}" placeholder="id, title, CVE, text"></label>"#,
        escape(f.q.as_deref().unwrap_or(""))
    );
    out.push_str(&options(
        "category",
        "Category",
        &cats,
        f.category.as_deref(),
    ));
    out.push_str(&options(
        "severity",
        "Severity at least",
        &sevs,
        f.severity.as_deref(),
    ));
    out.push_str(&options("tlp", "TLP", &tlps, f.tlp.as_deref()));
    out.push_str(&options("team", "Team", &teams, f.team.as_deref()));
    out.push_str(r#"<button type="submit">Filter</button> <a href="/">Clear</a></form>"#);
    let items: Vec<&Value> = list(&list_v["advisories"]).collect();
    let _ = write!(
        out,
        r#"<p class="muted" id="count">{} advisor{}</p>"#,
        items.len(),
        if items.len() == 1 { "y" } else { "ies" }
    );
    if items.is_empty() {
        return out;
    }
    out.push_str(
        "<table id=\"advisories\"><thead><tr><th>Updated</th><th>Id</th><th>Title</th><th>Team</th>\
         <th>Category</th><th>TLP</th><th>Severity</th><th>Status</th><th>CVEs</th><th>Rev.</th></tr></thead><tbody>",
    );
    for a in items {
        let owner = text(&a["owner"]);
        let id = text(&a["id"]);
        let href = format!("/advisories/{}/{}", segment(owner), segment(id));
        let cves: Vec<String> = list(&a["cves"]).map(|c| escape(text(c))).collect();
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td class="mono nowrap">{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="mono nowrap">{}</td><td>{}</td></tr>"#,
            a["updated"].as_u64().map(date).unwrap_or_default(),
            escape(id),
            escape(&href),
            escape(text(&a["title"])),
            team(&names, owner),
            escape(text(&a["category"])),
            tlp_badge(text(&a["tlp"])),
            severity_badge(text(&a["severity"])),
            escape(text(&a["status"])),
            cves.join("<br>"),
            escape(text(&a["revision"])),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// One advisory in full, with its revision history and signers.
pub fn advisory_html(view: &Value, members: &Value) -> String {
    let names = names(members);
    let a = &view["advisory"];
    let meta = &view["meta"];
    let mut out = format!(
        r#"<p><strong id="title">{}</strong></p><table class="kv"><tbody>"#,
        escape(text(&a["title"]))
    );
    let row = |out: &mut String, k: &str, v: String| {
        let _ = write!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row(
        &mut out,
        "Id",
        format!(r#"<span class="mono">{}</span>"#, escape(text(&a["id"]))),
    );
    row(&mut out, "Owner", team(&names, text(&view["owner"])));
    row(&mut out, "TLP", tlp_badge(text(&a["tlp"])));
    row(&mut out, "Severity", severity_badge(text(&a["severity"])));
    row(&mut out, "Category", escape(text(&a["category"])));
    row(&mut out, "Status", escape(text(&a["status"])));
    let cves: Vec<String> = list(&a["cves"]).map(|c| escape(text(c))).collect();
    row(
        &mut out,
        "CVEs",
        format!(r#"<span class="mono">{}</span>"#, cves.join(", ")),
    );
    let teams = |v: &Value| {
        list(v)
            .map(|t| team(&names, text(t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    row(&mut out, "Co-authors", teams(&a["co_authors"]));
    row(&mut out, "Audience", teams(&a["audience"]));
    out.push_str("</tbody></table>");

    if !text(&a["summary"]).is_empty() {
        let _ = write!(
            out,
            r#"<h2>Summary</h2><div class="text">{}</div>"#,
            escape(text(&a["summary"]))
        );
    }
    if !text(&a["body"]).is_empty() {
        let _ = write!(
            out,
            r#"<h2>Details</h2><div class="text">{}</div>"#,
            escape(text(&a["body"]))
        );
    }

    let products: Vec<&Value> = list(&a["products"]).collect();
    if !products.is_empty() {
        out.push_str("<h2>Affected products</h2><table><thead><tr><th>Vendor</th><th>Product</th><th>Versions</th></tr></thead><tbody>");
        for p in products {
            let versions: Vec<String> = list(&p["versions"]).map(|v| escape(text(v))).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(&p["vendor"])),
                escape(text(&p["product"])),
                versions.join(", ")
            );
        }
        out.push_str("</tbody></table>");
    }

    let indicators: Vec<&Value> = list(&a["indicators"]).collect();
    if !indicators.is_empty() {
        out.push_str(r#"<h2>Indicators of compromise</h2><table id="indicators"><thead><tr><th>Kind</th><th>Value</th></tr></thead><tbody>"#);
        for i in indicators {
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="mono">{}</td></tr>"#,
                escape(text(&i["kind"])),
                escape(text(&i["value"]))
            );
        }
        out.push_str("</tbody></table>");
    }

    let references: Vec<&Value> = list(&a["references"]).collect();
    if !references.is_empty() {
        out.push_str("<h2>References</h2><ul>");
        for r in references {
            let _ = write!(
                out,
                "<li>{} {}</li>",
                link(text(&r["url"])),
                escape(text(&r["summary"]))
            );
        }
        out.push_str("</ul>");
    }

    let acks: Vec<&Value> = list(&a["acknowledgements"]).collect();
    if !acks.is_empty() {
        out.push_str("<h2>Acknowledgements</h2><ul>");
        for k in acks {
            let _ = write!(out, "<li>{}</li>", escape(text(k)));
        }
        out.push_str("</ul>");
    }

    out.push_str(r#"<h2>Revision history</h2><table id="revisions"><thead><tr><th>Revision</th><th>Date</th><th>Summary</th></tr></thead><tbody>"#);
    for r in list(&a["revisions"]) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(text(&r["number"])),
            r["date"].as_u64().map(date).unwrap_or_default(),
            escape(text(&r["summary"]))
        );
    }
    out.push_str("</tbody></table>");

    let heads: Vec<String> = list(&meta["heads"])
        .map(|h| format!("<code>{}</code>", escape(text(h))))
        .collect();
    let _ = write!(
        out,
        r#"<h2>Signatures</h2><table class="kv" id="signatures"><tbody><tr><th>Signed by</th><td id="signed-by">{}</td></tr><tr><th>Changes applied</th><td>{}</td></tr><tr><th>Changes held back</th><td>{}</td></tr><tr><th>Heads</th><td>{}</td></tr><tr><th>Document</th><td><code>{}</code></td></tr></tbody></table>"#,
        teams(&meta["signed_by"]),
        num(&meta["changes_applied"]),
        num(&meta["changes_held"]),
        heads.join("<br>"),
        escape(text(&meta["doc"])),
    );
    out
}

/// The contacts directory.
pub fn contacts_html(v: &Value) -> String {
    let items: Vec<&Value> = list(&v["contacts"]).collect();
    if items.is_empty() {
        return r#"<p class="muted">No team has published a contact entry yet.</p>"#.to_owned();
    }
    let mut out = String::from(
        "<table id=\"contacts\"><thead><tr><th>Team</th><th>Country</th><th>Kind</th><th>Constituency</th>\
         <th>E-mail</th><th>Phone</th><th>Emergency</th><th>Web</th><th>Hours</th><th>PGP</th><th>Representatives</th><th>Member</th></tr></thead><tbody>",
    );
    for item in items {
        let c = &item["contact"];
        let pgp: Vec<String> = list(&c["pgp_keys"])
            .map(|k| format!("<code>{}</code>", escape(text(&k["fingerprint"]))))
            .collect();
        let reps: Vec<String> = list(&c["representatives"])
            .map(|r| {
                let role = text(&r["role"]);
                let mut s = escape(text(&r["name"]));
                if !role.is_empty() {
                    let _ = write!(s, " ({})", escape(role));
                }
                s
            })
            .collect();
        let email = text(&c["email"]);
        let _ = write!(
            out,
            r#"<tr><td><strong>{}</strong><br>{}<br><span class="mono muted">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(text(&c["short_name"])),
            escape(text(&c["name"])),
            escape(&short(text(&item["team"]))),
            escape(text(&c["country"])),
            escape(text(&c["kind"])),
            escape(text(&c["constituency"])),
            if email.is_empty() {
                String::new()
            } else {
                format!(r#"<a href="mailto:{0}">{0}</a>"#, escape(email))
            },
            escape(text(&c["phone"])),
            escape(text(&c["emergency_phone"])),
            link(text(&c["website"])),
            escape(
                &[text(&c["business_hours"]), text(&c["time_zone"])]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            pgp.join("<br>"),
            reps.join("<br>"),
            yes_no(item["member"] == json!(true)),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The tool registries.
pub fn tools_html(v: &Value) -> String {
    let items: Vec<&Value> = list(&v["tools"]).collect();
    if items.is_empty() {
        return r#"<p class="muted">No team has registered a tool yet.</p>"#.to_owned();
    }
    let mut out = String::from(
        "<table id=\"tools\"><thead><tr><th>Tool</th><th>Version</th><th>Team</th><th>Description</th>\
         <th>Licence</th><th>Tags</th><th>Home page</th><th>Download</th><th>Maintainer</th></tr></thead><tbody>",
    );
    for item in items {
        let t = &item["tool"];
        let tags: Vec<String> = list(&t["tags"]).map(|g| escape(text(g))).collect();
        let sha = text(&t["sha256"]);
        let _ = write!(
            out,
            r#"<tr><td><strong>{}</strong></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>"#,
            escape(text(&t["name"])),
            escape(text(&t["version"])),
            escape(text(&item["team_name"])),
            escape(text(&t["description"])),
            escape(text(&t["license"])),
            tags.join(", "),
            link(text(&t["homepage"])),
            link(text(&t["download_url"])),
            if sha.is_empty() {
                String::new()
            } else {
                format!(
                    r#"<br><span class="mono muted">sha256 {}</span>"#,
                    escape(sha)
                )
            },
            escape(text(&t["maintainer"])),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The members and every team the node knows, with why.
pub fn members_html(v: &Value) -> String {
    let names = names(v);
    let mut out = format!(
        r#"<p>Network <strong>{}</strong> <span class="mono muted">{}</span>: a team is admitted with {} sponsor introduction(s) and revoked by {} member(s).</p>"#,
        escape(text(&v["network"])),
        escape(&short(text(&v["network_id"]))),
        num(&v["sponsors_required"]),
        num(&v["revocation_quorum"]),
    );
    out.push_str(
        "<table id=\"members\"><thead><tr><th>Team</th><th>Name</th><th>Country</th><th>Status</th>\
         <th>Why</th><th>Sponsors</th><th>Id</th></tr></thead><tbody>",
    );
    for s in list(&v["standings"]) {
        let status = text(&s["status"]);
        let sponsors: Vec<String> = list(&s["sponsors"])
            .map(|t| team(&names, text(t)))
            .collect();
        let _ = write!(
            out,
            r#"<tr><td><strong>{}</strong></td><td>{}</td><td>{}</td><td><span class="badge st-{}">{}</span></td><td class="reason">{}</td><td>{}</td><td class="mono">{}</td></tr>"#,
            escape(text(&s["short_name"])),
            escape(text(&s["name"])),
            escape(text(&s["country"])),
            escape(status),
            escape(status),
            escape(text(&s["reason"])),
            sponsors.join(", "),
            escape(text(&s["team"])),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// Counters as rows, nested maps (such as rejections by reason) flattened.
fn counters(out: &mut String, prefix: &str, v: &Value) {
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                counters(out, &name, v);
            } else {
                let _ = write!(
                    out,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(&name.replace('_', " ")),
                    num(v)
                );
            }
        }
    }
}

/// Connected peers, the node's state and its sync counters.
pub fn peers_html(status: &Value, peers: &Value, members: &Value) -> String {
    let names = names(members);
    let listen: Vec<String> = list(&status["listen"])
        .map(|a| format!("<code>{}</code>", escape(text(a))))
        .collect();
    let mut out = String::from(r#"<h2>This node</h2><table class="kv" id="node"><tbody>"#);
    let _ = write!(
        out,
        "<tr><th>Team</th><td><code>{}</code></td></tr><tr><th>PeerId</th><td><code>{}</code></td></tr>\
         <tr><th>Listening</th><td>{}</td></tr><tr><th>Member</th><td>{}</td></tr>\
         <tr><th>Members</th><td>{}</td></tr><tr><th>Statements</th><td>{}</td></tr>\
         <tr><th>Documents</th><td>{}</td></tr><tr><th>Digest</th><td><code>{}</code></td></tr>\
         <tr><th>Up</th><td>{} s</td></tr>",
        escape(text(&status["team_id"])),
        escape(text(&status["peer_id"])),
        listen.join("<br>"),
        yes_no(status["member"] == json!(true)),
        num(&status["members"]),
        num(&status["statements"]),
        num(&status["documents"]),
        escape(text(&status["digest"])),
        num(&status["uptime_secs"]),
    );
    out.push_str("</tbody></table>");

    let items: Vec<&Value> = list(&peers["peers"]).collect();
    let _ = write!(
        out,
        r#"<h2>Peers</h2><p class="muted">{} connected; {} member address(es) known.</p>"#,
        items.len(),
        num(&peers["known_addresses"])
    );
    if !items.is_empty() {
        out.push_str(
            "<table id=\"peers\"><thead><tr><th>Team</th><th>PeerId</th><th>Member</th><th>Syncing</th>\
             <th>Address</th><th>Agent</th><th>Connected</th></tr></thead><tbody>",
        );
        for p in items {
            let team_id = text(&p["team"]);
            let _ = write!(
                out,
                r#"<tr><td>{}</td><td class="mono">{}</td><td>{}</td><td>{}</td><td class="mono">{}</td><td>{}</td><td>{} s</td></tr>"#,
                if team_id.is_empty() {
                    "?".to_owned()
                } else {
                    team(&names, team_id)
                },
                escape(text(&p["peer_id"])),
                yes_no(p["member"] == json!(true)),
                yes_no(p["open"] == json!(true)),
                escape(p["address"].as_str().unwrap_or("(inbound)")),
                escape(text(&p["agent"])),
                num(&p["connected_secs"]),
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str(r#"<h2>Sync</h2><table class="kv" id="sync"><tbody>"#);
    counters(&mut out, "", &status["sync"]);
    out.push_str("</tbody></table>");
    out.push_str(r#"<h2>Network</h2><table class="kv" id="net"><tbody>"#);
    counters(&mut out, "", &status["net"]);
    out.push_str("</tbody></table>");
    out
}

#[cfg(test)]
mod tests;
