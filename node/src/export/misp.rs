//! Advisories as a MISP feed: what a stock MISP pulls as a feed of
//! source format "MISP Feed", with no plugin.
//!
//! A feed is a folder of `manifest.json` (each event's UUID to its
//! Orgc, Tag, info, date, analysis, threat_level_id and timestamp),
//! one `<uuid>.json` per event, and `hashes.csv` (the MD5 of each
//! attribute value with its event's UUID), as PyMISP's
//! `feed_meta_generator` writes them. An advisory is an event: its
//! indicators and CVEs are attributes, its TLP label the `tlp:` tag of
//! MISP's TLP taxonomy, its owner team the Orgc. Ids are UUIDv5 of the
//! document id, so they are stable; the event's timestamp is when this
//! node first held its current version, so it grows with each update and
//! MISP fetches the event again.

use std::collections::BTreeMap;

use md5::Digest as _;
use serde_json::{Value, json};
use trustmesh_protocol::{AdvisoryDocument, IndicatorKind, Severity, Tlp, parse_rfc3339};
use uuid::Uuid;

use super::{Author, civil};

/// The namespace of the feed's UUIDv5 ids: UUIDv5 (URL namespace) of
/// `https://trustmesh.invalid/misp`.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://trustmesh.invalid/misp")
}

fn uuid(name: &str) -> String {
    Uuid::new_v5(&namespace(), name.as_bytes()).to_string()
}

/// The tag of MISP's TLP taxonomy for a label, with its colour.
pub fn tlp_tag(tlp: Tlp) -> Value {
    let (name, colour) = match tlp {
        Tlp::Clear => ("tlp:clear", "#ffffff"),
        Tlp::Green => ("tlp:green", "#339900"),
        Tlp::Amber => ("tlp:amber", "#FFC000"),
        Tlp::AmberStrict => ("tlp:amber+strict", "#FFC000"),
        Tlp::Red => ("tlp:red", "#CC0033"),
    };
    json!({ "name": name, "colour": colour, "local": false, "relationship_type": "" })
}

/// MISP's threat level: 1 high, 2 medium, 3 low, 4 undefined.
fn threat_level(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Critical | Severity::High) => "1",
        Some(Severity::Medium) => "2",
        Some(Severity::Low) => "3",
        _ => "4",
    }
}

/// The MISP attribute type and category of an indicator kind, and
/// whether it is for detection (`to_ids`).
fn attribute_type(kind: IndicatorKind) -> (&'static str, &'static str, bool) {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => ("ip-dst", "Network activity", true),
        IndicatorKind::Domain => ("domain", "Network activity", true),
        IndicatorKind::Url => ("url", "Network activity", true),
        IndicatorKind::Email => ("email-src", "Payload delivery", true),
        IndicatorKind::Sha256 => ("sha256", "Payload delivery", true),
        IndicatorKind::Sha1 => ("sha1", "Payload delivery", true),
        IndicatorKind::Md5 => ("md5", "Payload delivery", true),
        IndicatorKind::Other => ("text", "Other", false),
    }
}

/// An advisory as a MISP event (`{"Event": ...}`). `doc` is its document
/// id (it seeds the ids), `author` its owner, `arrival_ms` when this node
/// first held its current version.
pub fn event(a: &AdvisoryDocument, doc: &str, author: &Author, arrival_ms: u64) -> Value {
    let view = a.view();
    let timestamp = (arrival_ms / 1000).to_string();
    let first = view
        .tracking
        .initial_release_date
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(arrival_ms / 1000);
    let (y, m, d, ..) = civil(first);
    let name = if view.tracking.id.is_empty() {
        a.id.clone()
    } else {
        view.tracking.id.clone()
    };
    let analysis = match view.tracking.status.as_str() {
        "final" => "2",
        "draft" => "0",
        _ => "1",
    };
    let mut attributes = Vec::new();
    let mut push = |kind: &str, category: &str, value: String, to_ids: bool, comment: &str| {
        attributes.push(json!({
            "uuid": uuid(&format!("{doc}/attribute/{kind}/{value}")),
            "type": kind,
            "category": category,
            "value": value,
            "to_ids": to_ids,
            "comment": comment,
            "timestamp": timestamp,
            "disable_correlation": false,
            "deleted": false,
        }));
    };
    for i in &a.envelope.indicators {
        let (kind, category, to_ids) = attribute_type(i.kind);
        let value = match i.kind {
            IndicatorKind::Sha256 | IndicatorKind::Sha1 | IndicatorKind::Md5 => {
                i.value.to_lowercase()
            }
            _ => i.value.clone(),
        };
        push(kind, category, value, to_ids, "");
    }
    for cve in &view.cves {
        push("vulnerability", "External analysis", cve.clone(), false, "");
    }
    for r in &view.references {
        push(
            "link",
            "External analysis",
            r.url.clone(),
            false,
            "reference",
        );
    }
    json!({
        "Event": {
            "uuid": uuid(&format!("{doc}/event")),
            "info": format!("{name}: {}", view.title),
            "date": format!("{y:04}-{m:02}-{d:02}"),
            "analysis": analysis,
            "threat_level_id": threat_level(view.severity.level),
            "timestamp": timestamp,
            "publish_timestamp": timestamp,
            "published": true,
            "Orgc": {
                "name": author.display_name(),
                "uuid": uuid(&format!("team/{}", author.team)),
            },
            "Tag": [tlp_tag(a.envelope.tlp)],
            "Attribute": attributes,
        }
    })
}

/// A whole feed: its files by name.
#[derive(Debug, Default, Clone)]
pub struct Feed {
    /// `manifest.json`, `<uuid>.json` and `hashes.csv`, by file name.
    pub files: BTreeMap<String, String>,
}

/// The feed of `events` (each as [`event`] makes it).
pub fn feed(events: &[Value]) -> Feed {
    let mut manifest = serde_json::Map::new();
    let mut hashes = String::new();
    let mut files = BTreeMap::new();
    for e in events {
        let ev = &e["Event"];
        let Some(id) = ev["uuid"].as_str() else {
            continue;
        };
        let number = |k: &str| {
            ev[k]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .map_or(Value::Null, Value::from)
        };
        manifest.insert(
            id.to_owned(),
            json!({
                "Orgc": ev["Orgc"],
                "Tag": ev["Tag"],
                "info": ev["info"],
                "date": ev["date"],
                "analysis": number("analysis"),
                "threat_level_id": number("threat_level_id"),
                "timestamp": number("timestamp"),
            }),
        );
        for a in ev["Attribute"].as_array().into_iter().flatten() {
            let value = a["value"].as_str().unwrap_or_default();
            hashes += &format!("{},{id}\n", hex::encode(md5::Md5::digest(value.as_bytes())));
        }
        files.insert(format!("{id}.json"), e.to_string());
    }
    files.insert("manifest.json".into(), Value::Object(manifest).to_string());
    files.insert("hashes.csv".into(), hashes);
    Feed { files }
}

#[cfg(test)]
mod tests;
