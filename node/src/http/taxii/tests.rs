use axum::http::{HeaderMap, HeaderValue, header};

use super::{accepts, credential, form_urlencoded, parse_query};

fn auth(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(value).expect("test value"),
    );
    h
}

#[test]
fn tokens_are_read_from_bearer_token_and_basic() {
    assert_eq!(credential(&auth("Bearer abc")).as_deref(), Some("abc"));
    assert_eq!(credential(&auth("token abc")).as_deref(), Some("abc"));
    // "misp:abc" and "abc:" (a token given as the user name).
    assert_eq!(
        credential(&auth("Basic bWlzcDphYmM=")).as_deref(),
        Some("abc")
    );
    assert_eq!(credential(&auth("Basic YWJjOg==")).as_deref(), Some("abc"));
    assert_eq!(credential(&auth("Basic !!")), None);
    assert_eq!(credential(&auth("Digest abc")), None);
    assert_eq!(credential(&HeaderMap::new()), None);
}

#[test]
fn queries_decode_lists_and_refuse_bad_values() {
    assert_eq!(
        form_urlencoded("match%5Btype%5D=indicator%2Cidentity&x=a+b&bad=%zz%4"),
        [
            ("match[type]".to_owned(), "indicator,identity".to_owned()),
            ("x".to_owned(), "a b".to_owned()),
            ("bad".to_owned(), "%zz%4".to_owned()),
        ]
    );
    let q = parse_query(Some(
        "added_after=2026-01-01T00:00:00.5Z&limit=5000&match[type]=indicator,identity&match[version]=all",
    ))
    .expect("test value");
    assert_eq!(q.added_after, Some(1_767_225_600_500));
    assert_eq!(q.limit, Some(super::MAX_PAGE));
    assert_eq!(q.types, ["indicator", "identity"]);
    assert!(parse_query(Some("limit=0")).is_err());
    assert!(parse_query(Some("added_after=yesterday")).is_err());
    assert!(parse_query(Some("match[version]=newest")).is_err());
}

#[test]
fn accept_headers_that_take_taxii_pass() {
    let h = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(v).expect("test value"),
        );
        h
    };
    assert!(accepts(
        &h("application/taxii+json;version=2.1"),
        "/taxii2/"
    ));
    assert!(accepts(
        &h("application/taxii+json; version=2.1"),
        "/taxii2/"
    ));
    assert!(accepts(&h("*/*"), "/taxii2/"));
    assert!(!accepts(
        &h("application/taxii+json;version=2.0"),
        "/taxii2/"
    ));
    assert!(!accepts(&h("text/html"), "/taxii2/"));
    assert!(accepts(&HeaderMap::new(), "/taxii2/"));
}
