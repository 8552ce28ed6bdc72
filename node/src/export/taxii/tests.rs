use serde_json::json;
use trustmesh_protocol::Tlp;

use super::{Catalog, Query, VersionMatch, parse_ms, taxii_time};

fn bundle(ids: &[(&str, &str)]) -> serde_json::Value {
    let objects: Vec<_> = ids
        .iter()
        .map(|(id, modified)| {
            json!({ "id": id, "type": id.split("--").next().expect("test value"), "modified": modified })
        })
        .collect();
    json!({ "type": "bundle", "objects": objects })
}

fn catalog() -> Catalog {
    Catalog::build([
        (
            Tlp::Green,
            2_000,
            bundle(&[
                ("identity--1", "2026-01-02T00:00:00.000Z"),
                ("indicator--b", "2026-01-02T00:00:00.000Z"),
            ]),
        ),
        (
            Tlp::Green,
            1_000,
            bundle(&[
                ("identity--1", "2026-01-01T00:00:00.000Z"),
                ("indicator--a", "2026-01-01T00:00:00.000Z"),
                ("vulnerability--c", "2026-01-01T00:00:00.000Z"),
            ]),
        ),
        (
            Tlp::Red,
            500,
            bundle(&[("indicator--r", "2026-01-01T00:00:00.000Z")]),
        ),
    ])
}

fn ids(c: &Catalog, q: &Query) -> (Vec<String>, bool, Option<String>) {
    let p = c.query(Tlp::Green, q).expect("test value");
    (
        p.entries.iter().map(|e| e.id.clone()).collect(),
        p.more,
        p.next,
    )
}

#[test]
fn shared_objects_are_held_once_at_their_earliest() {
    let c = catalog();
    let green = c.entries(Tlp::Green);
    assert_eq!(green.len(), 4);
    let identity = green
        .iter()
        .find(|e| e.id == "identity--1")
        .expect("test value");
    assert_eq!(identity.added_ms, 1_000);
    assert_eq!(identity.version, "2026-01-01T00:00:00.000Z");
    assert_eq!(c.entries(Tlp::Red).len(), 1);
    assert!(c.entries(Tlp::Amber).is_empty());
}

#[test]
fn pages_follow_the_cursor_and_filters_apply() {
    let c = catalog();
    let q = Query {
        limit: Some(2),
        ..Query::default()
    };
    let (first, more, next) = ids(&c, &q);
    assert_eq!(first, ["identity--1", "indicator--a"]);
    assert!(more);
    let (second, more, next) = ids(&c, &Query { next, ..q.clone() });
    assert_eq!(second, ["vulnerability--c", "indicator--b"]);
    assert!(!more);
    assert_eq!(next, None);
    let after = ids(
        &c,
        &Query {
            added_after: Some(1_000),
            ..Query::default()
        },
    );
    assert_eq!(after.0, ["indicator--b"]);
    let typed = ids(
        &c,
        &Query {
            types: vec!["indicator".into()],
            ..Query::default()
        },
    );
    assert_eq!(typed.0, ["indicator--a", "indicator--b"]);
    let at = ids(
        &c,
        &Query {
            versions: vec![VersionMatch::At(
                parse_ms("2026-01-02T00:00:00Z").expect("test value"),
            )],
            ..Query::default()
        },
    );
    assert_eq!(at.0, ["indicator--b"]);
    let spec = ids(
        &c,
        &Query {
            spec_versions: vec!["2.0".into()],
            ..Query::default()
        },
    );
    assert!(spec.0.is_empty());
    assert!(
        c.query(
            Tlp::Green,
            &Query {
                next: Some("junk".into()),
                ..Query::default()
            }
        )
        .is_err()
    );
}

#[test]
fn timestamps_round_trip_to_the_millisecond() {
    let ms = 1_733_212_800_123;
    assert_eq!(taxii_time(ms), "2024-12-03T08:00:00.123Z");
    assert_eq!(parse_ms(&taxii_time(ms)), Some(ms));
    assert_eq!(parse_ms("2024-12-03T08:00:00.1Z"), Some(1_733_212_800_100));
    assert_eq!(parse_ms("2024-12-03T08:00:00.123456Z"), Some(ms));
    assert_eq!(parse_ms("2024-12-03T08:00:00Z"), Some(1_733_212_800_000));
    assert_eq!(parse_ms("yesterday"), None);
}
