//! An advisory as a STIX 2.1 bundle: its CVEs and indicators of
//! compromise, marked with its TLP 2.0 label.
//!
//! The bundle holds an `identity` for the owner team, the TLP 2.0
//! `marking-definition` of the advisory's label (the OASIS STIX TLP 2.0
//! extension's published objects, not the TLP 1.0 ones STIX 2.1 predates
//! TLP 2.0 with), a `vulnerability` per CVE, and an `indicator` per
//! indicator with a STIX pattern. Every object but the marking carries the
//! marking. Ids are UUIDv5 of the advisory's document id and the object,
//! and timestamps come from the advisory's tracking dates, so exporting the
//! same advisory twice gives the same bundle.

use serde_json::{Value, json};
use trustmesh_protocol::{
    Advisory, AdvisoryDocument, AdvisoryView, Authored, Indicator, IndicatorKind, Revision, Tlp,
    parse_rfc3339,
};
use uuid::Uuid;

use super::{Author, stix_time};

/// The id of the OASIS STIX TLP 2.0 marking extension.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The namespace of trustmesh's UUIDv5 STIX ids: UUIDv5 (URL namespace)
/// of `https://trustmesh.invalid/stix`.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://trustmesh.invalid/stix")
}

/// The published STIX TLP 2.0 marking definition of a label: its id, and
/// the object.
pub fn tlp_marking(tlp: Tlp) -> (&'static str, Value) {
    let (id, value) = match tlp {
        Tlp::Clear => (
            "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            "clear",
        ),
        Tlp::Green => (
            "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            "green",
        ),
        Tlp::Amber => (
            "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            "amber",
        ),
        Tlp::AmberStrict => (
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            "amber+strict",
        ),
        Tlp::Red => (
            "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
            "red",
        ),
    };
    (
        id,
        json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": id,
            "created": "2022-10-01T00:00:00.000Z",
            "name": format!("TLP:{}", tlp.label()),
            "extensions": {
                TLP2_EXTENSION: {
                    "extension_type": "property-extension",
                    "tlp_2_0": value,
                },
            },
        }),
    )
}

/// A string as a STIX pattern literal: quoted, `\` and `'` escaped.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The STIX pattern of an indicator, or `None` for [`IndicatorKind::Other`],
/// which has no STIX object to match.
pub fn pattern(i: &Indicator) -> Option<String> {
    let v = literal(&i.value);
    let p = match i.kind {
        IndicatorKind::Ipv4 => format!("[ipv4-addr:value = {v}]"),
        IndicatorKind::Ipv6 => format!("[ipv6-addr:value = {v}]"),
        IndicatorKind::Domain => format!("[domain-name:value = {v}]"),
        IndicatorKind::Url => format!("[url:value = {v}]"),
        IndicatorKind::Email => format!("[email-addr:value = {v}]"),
        IndicatorKind::Sha256 => format!(
            "[file:hashes.'SHA-256' = {}]",
            literal(&i.value.to_lowercase())
        ),
        IndicatorKind::Sha1 => format!(
            "[file:hashes.'SHA-1' = {}]",
            literal(&i.value.to_lowercase())
        ),
        IndicatorKind::Md5 => format!("[file:hashes.MD5 = {}]", literal(&i.value.to_lowercase())),
        IndicatorKind::Other => return None,
    };
    Some(p)
}

/// The advisory's first and latest dates (Unix seconds): its tracking
/// dates, else the span of its revision history, else `now`.
fn dates(view: &AdvisoryView, now: u64) -> (u64, u64) {
    let parse = |d: &Option<String>| d.as_deref().and_then(parse_rfc3339);
    let revisions: Vec<u64> = view
        .tracking
        .revisions
        .iter()
        .filter_map(|r| parse_rfc3339(&r.date))
        .collect();
    let first = parse(&view.tracking.initial_release_date)
        .or_else(|| revisions.iter().min().copied())
        .unwrap_or(now);
    let last = parse(&view.tracking.current_release_date)
        .or_else(|| revisions.iter().max().copied())
        .unwrap_or(now)
        .max(first);
    (first, last)
}

/// A STIX 2.1 bundle of the advisory: its owner, label, CVEs and
/// indicators. `doc` is the advisory's document id (it seeds the object
/// ids); `author` its owner team; `now` dates an advisory whose CSAF tree
/// states no date. Indicators of kind `other` are left out: STIX has no
/// object for them.
pub fn bundle(a: &AdvisoryDocument, doc: &str, author: &Author, now: u64) -> Value {
    let ns = namespace();
    let id = |kind: &str, name: &str| format!("{kind}--{}", Uuid::new_v5(&ns, name.as_bytes()));
    let view = a.view();
    let (first, last) = dates(&view, now);
    let (created, modified) = (stix_time(first), stix_time(last));
    let identity_id = id("identity", &format!("team/{}", author.team));
    let (marking_id, marking) = tlp_marking(a.envelope.tlp);
    let mut identity = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": created,
        "modified": created,
        "name": author.display_name(),
        "identity_class": "organization",
        "object_marking_refs": [marking_id],
    });
    if !author.email.trim().is_empty() {
        identity["contact_information"] = json!(author.email.trim());
    }
    let mut objects = vec![identity, marking];
    let name = if view.tracking.id.is_empty() {
        a.id.clone()
    } else {
        view.tracking.id.clone()
    };
    let references: Vec<Value> = view
        .references
        .iter()
        .map(|r| json!({ "source_name": "advisory reference", "url": r.url }))
        .collect();
    for v in &view.vulnerabilities {
        let Some(cve) = &v.cve else { continue };
        let o = json!({
            "type": "vulnerability",
            "spec_version": "2.1",
            "id": id("vulnerability", &format!("{doc}/vulnerability/{cve}")),
            "created_by_ref": identity_id,
            "created": created,
            "modified": modified,
            "name": cve,
            "description": format!(
                "{} (advisory {name}: {})",
                v.title.as_deref().unwrap_or(cve),
                view.title
            ),
            "external_references": [{
                "source_name": "cve",
                "external_id": cve,
                "url": format!("https://www.cve.org/CVERecord?id={cve}"),
            }],
            "object_marking_refs": [marking_id],
        });
        objects.push(o);
    }
    for i in &a.envelope.indicators {
        let Some(pattern) = pattern(i) else {
            continue;
        };
        let mut description = format!("From advisory {name}: {}", view.title);
        if !view.cves.is_empty() {
            description += &format!(" ({})", view.cves.join(", "));
        }
        let mut o = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id("indicator", &format!("{doc}/indicator/{}:{}", i.kind, i.value)),
            "created_by_ref": identity_id,
            "created": created,
            "modified": modified,
            "name": format!("{} {}", i.kind, i.value),
            "description": description,
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": created,
            "object_marking_refs": [marking_id],
        });
        if !references.is_empty() {
            o["external_references"] = Value::Array(references.clone());
        }
        objects.push(o);
    }
    json!({
        "type": "bundle",
        "id": id("bundle", &format!("{doc}/bundle/{}/{modified}", view.tracking.version)),
        "objects": objects,
    })
}

/// A short-form advisory's bundle, as if `author` had published it (the
/// bridge for the API until it serves `AdvisoryDocument`s).
pub fn export(a: &Advisory, doc: &str, author: &Author, now: u64) -> Value {
    let mut a = a.clone();
    if a.revisions.is_empty() {
        a.revisions.push(Revision {
            number: "1".into(),
            date: now,
            summary: "Initial release".into(),
        });
    }
    bundle(
        &AdvisoryDocument::from_authored(&Authored::new(a), author.team),
        doc,
        author,
        now,
    )
}
