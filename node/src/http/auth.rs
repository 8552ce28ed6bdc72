//! Who may use the listener: the API and metrics need the API token as a
//! bearer header; the web pages take it as a bearer header or the login
//! cookie. Comparisons take the same time whatever the token given.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::views::ApiError;

/// Compares without an early exit, so timing does not reveal the token.
pub(super) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The credentials of an `Authorization: Bearer` header, if any. The
/// scheme is case-insensitive (RFC 9110 section 11.1).
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

/// The value of the cookie `name` in the request, if any.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether `given` is `token`.
pub(super) fn is_token(token: &str, given: &str) -> bool {
    same(given.trim().as_bytes(), token.as_bytes())
}

/// Middleware for the API and metrics: the bearer token or 401.
pub(super) async fn require_token(
    State(shared): State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    if bearer(req.headers()).is_some_and(|t| is_token(&shared.token, t)) {
        return next.run(req).await;
    }
    ApiError {
        status: 401,
        message: "missing or wrong API token (see <data-dir>/api.token)".into(),
    }
    .into_response()
}

/// How long a web session lasts.
pub(super) const SESSION_SECS: u64 = 12 * 3600;

/// Web sessions: a cookie value is `<issued>.<mac>`, the MAC an
/// HMAC-SHA256 over the issue time under a key made when the node starts.
/// The cookie never holds the API token, so a cookie that leaks (a
/// browser profile, a proxy log) does not give the API away, expires on
/// its own, and dies with the process.
#[derive(Clone)]
pub(super) struct Sessions {
    key: [u8; 32],
}

type Mac = hmac::Hmac<sha2::Sha256>;

impl Sessions {
    /// Sessions signed with `key` (random, from the caller).
    pub(super) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, issued: u64) -> Mac {
        use hmac::Mac as _;
        let mut mac = Mac::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(b"trustmesh/web-session/v1\0");
        mac.update(&issued.to_be_bytes());
        mac
    }

    /// A new session's cookie value, issued at `now` (Unix seconds).
    pub(super) fn issue(&self, now: u64) -> String {
        use hmac::Mac as _;
        format!(
            "{now}.{}",
            hex::encode(self.mac(now).finalize().into_bytes())
        )
    }

    /// Whether `value` is a session this node issued that has not expired.
    pub(super) fn check(&self, value: &str, now: u64) -> bool {
        use hmac::Mac as _;
        let Some((issued, mac)) = value.split_once('.') else {
            return false;
        };
        let (Ok(issued), Ok(mac)) = (issued.parse::<u64>(), hex::decode(mac)) else {
            return false;
        };
        issued <= now.saturating_add(60)
            && now.saturating_sub(issued) < SESSION_SECS
            && self.mac(issued).verify_slice(&mac).is_ok()
    }
}
