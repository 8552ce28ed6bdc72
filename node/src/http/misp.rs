//! The MISP feed on the TAXII listener: `/misp/manifest.json`,
//! `/misp/<event uuid>.json` and `/misp/hashes.csv`, holding the
//! advisories of the labels the reader may read
//! ([`crate::export::misp`]). Each answer carries an ETag, and a request
//! whose `If-None-Match` names it gets 304, so a MISP that pulls the feed
//! again fetches only what changed.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::Digest as _;

use super::taxii::{Authed, TaxiiState};

/// The feed's routes (behind the TAXII readers' middleware).
pub(super) fn router() -> Router<TaxiiState> {
    Router::new().route("/misp/{file}", get(file))
}

/// The entity tag of a body: a quoted SHA-256 prefix.
fn etag(body: &str) -> String {
    format!(
        "\"{}\"",
        hex::encode(&sha2::Sha256::digest(body.as_bytes())[..16])
    )
}

/// Whether `If-None-Match` names `tag` (or is `*`).
fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

async fn file(
    State(state): State<TaxiiState>,
    axum::Extension(Authed(reader)): axum::Extension<Authed>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let tlp = reader.reader.tlp.clone();
    let feed = match state
        .client
        .call(move |e| e.misp_feed(&tlp, |e| super::views::misp_feed(e, &tlp)))
        .await
    {
        Ok(f) => f,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let Some(body) = feed.files.get(&name) else {
        return (StatusCode::NOT_FOUND, format!("no {name} in this feed")).into_response();
    };
    let tag = etag(body);
    let Ok(tag_value) = HeaderValue::from_str(&tag) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if not_modified(&headers, &tag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag_value)]).into_response();
    }
    let kind = if name.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else {
        "application/json"
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::ETAG, tag_value),
        ],
        body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{etag, not_modified};

    #[test]
    fn if_none_match_names_the_tag() {
        let tag = etag("{}");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{tag}")).expect("test value"),
        );
        assert!(not_modified(&h, &tag));
        assert!(!not_modified(&h, &etag("[]")));
    }
}
