//! An advisory's indicators of compromise as a STIX 2.1 bundle.
//!
//! The bundle holds an `identity` for the author team, the standard TLP
//! 1.0 `marking-definition` of the advisory's label (CLEAR is WHITE,
//! AMBER+STRICT is AMBER, as in the CSAF export) and one `indicator` per
//! indicator with a STIX pattern. Ids are UUIDv5 of the advisory's document
//! id and the object, and timestamps come from the advisory's revisions, so
//! exporting the same advisory twice gives the same bundle.

use serde_json::{Value, json};
use trustmesh_protocol::{Advisory, Indicator, IndicatorKind, Tlp};
use uuid::Uuid;

use super::{Author, stix_time};

/// The namespace of trustmesh's UUIDv5 STIX ids: UUIDv5 (URL namespace)
/// of `https://trustmesh.invalid/stix`.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://trustmesh.invalid/stix")
}

/// The standard STIX 2.1 TLP 1.0 marking definition for a label:
/// (id, name, tlp value).
pub fn tlp_marking(tlp: Tlp) -> (&'static str, &'static str, &'static str) {
    match tlp {
        Tlp::Clear => (
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
            "TLP:WHITE",
            "white",
        ),
        Tlp::Green => (
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
            "TLP:GREEN",
            "green",
        ),
        Tlp::Amber | Tlp::AmberStrict => (
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
            "TLP:AMBER",
            "amber",
        ),
        Tlp::Red => (
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            "TLP:RED",
            "red",
        ),
    }
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

/// A STIX 2.1 bundle of the advisory's indicators. `doc` is the advisory's
/// document id (it seeds the object ids); `now` dates an advisory without
/// revisions. Indicators of kind `other` are left out: STIX has no object
/// for them.
pub fn export(a: &Advisory, doc: &str, author: &Author, now: u64) -> Value {
    let ns = namespace();
    let id = |kind: &str, name: &str| format!("{kind}--{}", Uuid::new_v5(&ns, name.as_bytes()));
    let created = stix_time(a.revisions.iter().map(|r| r.date).min().unwrap_or(now));
    let modified = stix_time(a.revisions.iter().map(|r| r.date).max().unwrap_or(now));
    let version = a
        .revisions
        .last()
        .map_or_else(String::new, |r| r.number.clone());

    let identity_id = id("identity", &format!("team/{}", author.team));
    let (marking_id, marking_name, marking_tlp) = tlp_marking(a.tlp);
    let mut identity = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": created,
        "modified": created,
        "name": author.display_name(),
        "identity_class": "organization",
    });
    if !author.email.trim().is_empty() {
        identity["contact_information"] = json!(author.email.trim());
    }
    let mut objects = vec![
        identity,
        json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking_id,
            "created": "2017-01-20T00:00:00.000Z",
            "definition_type": "tlp",
            "name": marking_name,
            "definition": { "tlp": marking_tlp },
        }),
    ];
    for i in &a.indicators {
        let Some(pattern) = pattern(i) else {
            continue;
        };
        let mut description = format!("From advisory {}: {}", a.id, a.title);
        if !a.cves.is_empty() {
            description += &format!(" ({})", a.cves.join(", "));
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
            "labels": [a.category.name()],
            "object_marking_refs": [marking_id],
        });
        if !a.references.is_empty() {
            o["external_references"] = Value::Array(
                a.references
                    .iter()
                    .map(|r| json!({ "source_name": "trustmesh advisory reference", "url": r.url }))
                    .collect(),
            );
        }
        objects.push(o);
    }
    json!({
        "type": "bundle",
        "id": id("bundle", &format!("{doc}/bundle/{version}/{modified}")),
        "objects": objects,
    })
}
