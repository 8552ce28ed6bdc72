//! Exporting an advisory as CSAF 2.0 or 2.1.
//!
//! An imported document exports as its tree, property by property, except
//! the few values trustmesh must set because the advisory's distribution is
//! trustmesh's to decide: [`EXPORT_SETS`] lists them all. In another CSAF
//! version than the one imported, the tree is converted first
//! ([`CONVERSIONS`] lists what changes, and what the older version has no
//! place for).
//!
//! An advisory written in trustmesh exports as the complete tree of its
//! form, with the owner's publisher details (the form holds a placeholder)
//! and its indicators of compromise as a note.

use std::collections::BTreeMap;

use super::csaf_import::{CsafVersion, tlp_of_label};
use super::envelope::{Envelope, Origin};
use super::json::Json;
use super::{AdvisoryDocument, Tlp};

/// The TLP reference CSAF documents cite.
pub const TLP_URL: &str = "https://www.first.org/tlp/";
/// The `$schema` of CSAF 2.1 documents.
pub const CSAF_21_SCHEMA: &str = "https://docs.oasis-open.org/csaf/csaf/v2.1/schema/csaf.json";
/// The title of the note that carries an authored advisory's indicators.
pub const INDICATORS_NOTE: &str = "Indicators of compromise";
/// The name given to the sharing groups trustmesh mints.
pub const SHARING_GROUP_NAME: &str = "trustmesh audience";

/// A value an export sets, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRule {
    /// The JSON pointer of the value.
    pub path: &'static str,
    /// When and to what trustmesh sets it.
    pub rule: &'static str,
}

/// Everything an export of an imported document may set or change: the
/// only differences from the document imported. Every value is under
/// `/document/distribution`, the part of a CSAF document that says who may
/// read it, which for an advisory in trustmesh is its TLP label and
/// audience.
pub const EXPORT_SETS: &[ExportRule] = &[
    ExportRule {
        path: "/document/distribution/tlp/label",
        rule: "the advisory's TLP label, when the document's own label differs (the owner relabelled it, or the document had none and the importer named one); CSAF 2.0 writes TLP 1.0 names: CLEAR as WHITE, AMBER+STRICT as AMBER",
    },
    ExportRule {
        path: "/document/distribution/tlp/url",
        rule: "https://www.first.org/tlp/, with a label trustmesh writes, when the document gives no URL",
    },
    ExportRule {
        path: "/document/distribution/text",
        rule: "CSAF 2.0, with a label trustmesh writes as CLEAR -> WHITE or AMBER+STRICT -> AMBER: a sentence naming the TLP 2.0 label, after the document's own text",
    },
    ExportRule {
        path: "/document/distribution/sharing_group",
        rule: "CSAF 2.1, AMBER, AMBER+STRICT and RED: the sharing group trustmesh minted for the advisory's audience (a UUIDv4 kept with the advisory) named \"trustmesh audience\"",
    },
];

/// What exporting in the other CSAF version changes.
pub const CONVERSIONS: &[ExportRule] = &[
    ExportRule {
        path: "/$schema",
        rule: "2.1: the CSAF 2.1 schema URL; 2.0: removed",
    },
    ExportRule {
        path: "/document/csaf_version",
        rule: "the version exported",
    },
    ExportRule {
        path: "/document/distribution/tlp/label",
        rule: "2.0 -> 2.1: WHITE becomes CLEAR, AMBER marked TLP:AMBER+STRICT in the text becomes AMBER+STRICT; 2.1 -> 2.0: as EXPORT_SETS",
    },
    ExportRule {
        path: "/document/distribution/sharing_group",
        rule: "2.1 -> 2.0: removed (2.0 has none; its id and name go in distribution.text)",
    },
    ExportRule {
        path: "/vulnerabilities/*/scores",
        rule: "2.0 scores become 2.1 metrics ({products, content: {cvss_v2, cvss_v3}}) and back; 2.1 metrics without CVSS v2 or v3 (CVSS v4, EPSS, SSVC, qualitative ratings) have no place in 2.0 and are dropped",
    },
    ExportRule {
        path: "/vulnerabilities/*/cwe",
        rule: "2.0 cwe becomes 2.1 cwes [cwe] (without the CWE version 2.1 asks for, which 2.0 does not state); 2.1 cwes become 2.0 cwe, the first one, without its version",
    },
    ExportRule {
        path: "/vulnerabilities/*/release_date",
        rule: "2.0 release_date is 2.1 disclosure_date and back",
    },
    ExportRule {
        path: "/vulnerabilities/*/first_known_exploitation_dates",
        rule: "2.1 only: dropped in 2.0",
    },
    ExportRule {
        path: "/vulnerabilities/*/remediations/*/category",
        rule: "2.1 -> 2.0: fix_planned becomes none_available, optional_patch becomes vendor_fix",
    },
    ExportRule {
        path: "/product_tree/**/product_identification_helper/purl",
        rule: "2.0 purl becomes 2.1 purls [purl]; 2.1 purls become 2.0 purl, the first one",
    },
    ExportRule {
        path: "/document/publisher/category",
        rule: "2.1 -> 2.0: multiplier becomes other",
    },
    ExportRule {
        path: "/document/category",
        rule: "2.1 -> 2.0: csaf_deprecated_security_advisory becomes csaf_security_advisory; csaf_withdrawn and csaf_superseded become csaf_base",
    },
    ExportRule {
        path: "/document/license_expression, x_extensions",
        rule: "2.1 only: dropped in 2.0",
    },
];

/// The publisher an advisory written in trustmesh is exported under: the
/// owner team as its contact entry names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// The team's name.
    pub name: String,
    /// A URL that names the team.
    pub namespace: String,
    /// How to reach it.
    pub contact_details: Option<String>,
}

/// The TLP 1.0 label CSAF 2.0 can carry for a TLP 2.0 label.
pub fn tlp_label_2_0(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "WHITE",
        Tlp::Green => "GREEN",
        Tlp::Amber | Tlp::AmberStrict => "AMBER",
        Tlp::Red => "RED",
    }
}

fn obj(j: &mut Json) -> &mut BTreeMap<String, Json> {
    if j.as_object().is_none() {
        *j = Json::Object(BTreeMap::new());
    }
    match j {
        Json::Object(m) => m,
        // Made an object just above.
        _ => unreachable!("the value was just made an object"),
    }
}

fn member<'a>(m: &'a mut BTreeMap<String, Json>, key: &str) -> &'a mut Json {
    let v = m
        .entry(key.to_owned())
        .or_insert_with(|| Json::Object(BTreeMap::new()));
    obj(v);
    v
}

fn version_of(tree: &Json) -> Option<CsafVersion> {
    tree.pointer("/document/csaf_version")
        .and_then(Json::as_str)
        .and_then(CsafVersion::from_name)
}

/// Exports `doc` as CSAF `version`. `publisher` replaces the placeholder
/// publisher of an advisory written in trustmesh (and is ignored for an
/// imported one).
pub fn export(doc: &AdvisoryDocument, version: CsafVersion, publisher: Option<&Publisher>) -> Json {
    let mut tree = doc.csaf.clone();
    match (version_of(&tree), version) {
        (Some(CsafVersion::V2_0), CsafVersion::V2_1) => to_2_1(&mut tree),
        (Some(CsafVersion::V2_1), CsafVersion::V2_0) => to_2_0(&mut tree),
        _ => {}
    }
    if doc.envelope.origin == Origin::Authored {
        authored(&mut tree, &doc.envelope, publisher);
    }
    set_distribution(&mut tree, &doc.envelope, version);
    tree
}

fn authored(tree: &mut Json, env: &Envelope, publisher: Option<&Publisher>) {
    let document = member(obj(tree), "document");
    let d = obj(document);
    if let Some(p) = publisher {
        let publ = obj(member(d, "publisher"));
        publ.insert("name".into(), Json::from(p.name.as_str()));
        publ.insert("namespace".into(), Json::from(p.namespace.as_str()));
        match &p.contact_details {
            Some(c) => {
                publ.insert("contact_details".into(), Json::from(c.as_str()));
            }
            None => {
                publ.remove("contact_details");
            }
        }
    }
    if !env.indicators.is_empty() {
        let lines: Vec<String> = env
            .indicators
            .iter()
            .map(|i| format!("{}: {}", i.kind, i.value))
            .collect();
        let note = Json::object([
            ("category", Json::from("other")),
            ("title", Json::from(INDICATORS_NOTE)),
            ("text", Json::from(lines.join("\n"))),
        ]);
        match d.get_mut("notes") {
            Some(Json::Array(notes)) => notes.push(note),
            _ => {
                d.insert("notes".into(), Json::Array(vec![note]));
            }
        }
    }
}

fn set_distribution(tree: &mut Json, env: &Envelope, version: CsafVersion) {
    let document = member(obj(tree), "document");
    let d = obj(document);
    let current = d.get("distribution").and_then(|dist| {
        let label = dist.pointer("/tlp/label")?.as_str()?;
        tlp_of_label(label, dist.get("text").and_then(Json::as_str))
    });
    let dist = obj(member(d, "distribution"));
    if current != Some(env.tlp) {
        let label = match version {
            CsafVersion::V2_0 => tlp_label_2_0(env.tlp),
            CsafVersion::V2_1 => env.tlp.label(),
        };
        let tlp = obj(member(dist, "tlp"));
        tlp.insert("label".into(), Json::from(label));
        tlp.entry("url".to_owned())
            .or_insert_with(|| Json::from(TLP_URL));
        if version == CsafVersion::V2_0 {
            let sentence = match env.tlp {
                Tlp::Clear => Some(
                    "TLP:CLEAR (TLP 2.0). CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:WHITE.",
                ),
                Tlp::AmberStrict => Some(
                    "TLP:AMBER+STRICT (TLP 2.0): the recipients' organisations only. CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:AMBER.",
                ),
                _ => None,
            };
            if let Some(s) = sentence {
                let text = match dist.get("text").and_then(Json::as_str) {
                    Some(t) if !t.trim().is_empty() => format!("{t} {s}"),
                    _ => s.to_owned(),
                };
                dist.insert("text".into(), Json::from(text));
            }
        }
    }
    if version == CsafVersion::V2_1
        && env.tlp.is_restricted()
        && let Some(group) = env.sharing_group()
    {
        let same = dist
            .get("sharing_group")
            .and_then(|g| g.get("id"))
            .and_then(Json::as_str)
            == Some(group.id.as_str());
        if !same {
            dist.insert(
                "sharing_group".into(),
                Json::object([
                    ("id", Json::from(group.id.as_str())),
                    ("name", Json::from(SHARING_GROUP_NAME)),
                ]),
            );
        }
    }
}

/// Every `full_product_name` object of a product tree, to rewrite.
fn for_each_product(tree: &mut Json, f: &mut dyn FnMut(&mut BTreeMap<String, Json>)) {
    let Some(Json::Object(pt)) = obj(tree).get_mut("product_tree") else {
        return;
    };
    let mut stack: Vec<&mut Json> = Vec::new();
    for (k, v) in pt.iter_mut() {
        match k.as_str() {
            "branches" => stack.push(v),
            "full_product_names" => {
                if let Json::Array(a) = v {
                    for p in a {
                        if let Json::Object(m) = p {
                            f(m);
                        }
                    }
                }
            }
            "relationships" => {
                if let Json::Array(a) = v {
                    for r in a {
                        if let Some(Json::Object(m)) = r
                            .as_object_mut()
                            .and_then(|r| r.get_mut("full_product_name"))
                        {
                            f(m);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // `branches` arrays, each element a branch with a product and more
    // branches.
    while let Some(branches) = stack.pop() {
        let Json::Array(list) = branches else {
            continue;
        };
        for b in list {
            let Json::Object(bm) = b else { continue };
            for (k, v) in bm.iter_mut() {
                match (k.as_str(), v) {
                    ("product", Json::Object(m)) => f(m),
                    ("branches", v) => stack.push(v),
                    _ => {}
                }
            }
        }
    }
}

fn vulnerabilities(tree: &mut Json) -> impl Iterator<Item = &mut BTreeMap<String, Json>> {
    obj(tree)
        .get_mut("vulnerabilities")
        .and_then(|v| match v {
            Json::Array(a) => Some(a.iter_mut()),
            _ => None,
        })
        .into_iter()
        .flatten()
        .filter_map(Json::as_object_mut)
}

fn rename(m: &mut BTreeMap<String, Json>, from: &str, to: &str) {
    if let Some(v) = m.remove(from) {
        m.insert(to.to_owned(), v);
    }
}

/// Converts a CSAF 2.0 tree to 2.1.
pub(crate) fn to_2_1(tree: &mut Json) {
    let root = obj(tree);
    root.insert("$schema".into(), Json::from(CSAF_21_SCHEMA));
    let d = obj(member(root, "document"));
    d.insert("csaf_version".into(), Json::from("2.1"));
    if let Some(Json::Object(dist)) = d.get_mut("distribution") {
        let text = dist.get("text").and_then(Json::as_str).map(str::to_owned);
        if let Some(Json::Object(tlp)) = dist.get_mut("tlp")
            && let Some(l) = tlp.get("label").and_then(Json::as_str)
            && let Some(t) = tlp_of_label(l, text.as_deref())
        {
            tlp.insert("label".into(), Json::from(t.label()));
        }
    }
    for_each_product(tree, &mut |p| {
        if let Some(Json::Object(h)) = p.get_mut("product_identification_helper")
            && let Some(purl) = h.remove("purl")
        {
            h.insert("purls".into(), Json::Array(vec![purl]));
        }
    });
    for v in vulnerabilities(tree) {
        rename(v, "release_date", "disclosure_date");
        if let Some(cwe) = v.remove("cwe") {
            v.insert("cwes".into(), Json::Array(vec![cwe]));
        }
        if let Some(Json::Array(scores)) = v.remove("scores") {
            let metrics = scores
                .into_iter()
                .map(|s| {
                    let mut s = match s {
                        Json::Object(m) => m,
                        other => return other,
                    };
                    let products = s.remove("products").unwrap_or(Json::Array(vec![]));
                    Json::object([("products", products), ("content", Json::Object(s))])
                })
                .collect();
            v.insert("metrics".into(), Json::Array(metrics));
        }
    }
}

/// Converts a CSAF 2.1 tree to 2.0.
pub(crate) fn to_2_0(tree: &mut Json) {
    let root = obj(tree);
    root.remove("$schema");
    root.remove("x_extensions");
    let d = obj(member(root, "document"));
    d.insert("csaf_version".into(), Json::from("2.0"));
    d.remove("license_expression");
    d.remove("x_extensions");
    if let Some(Json::String(c)) = d.get_mut("category") {
        let to = match c.as_str() {
            "csaf_deprecated_security_advisory" => Some("csaf_security_advisory"),
            "csaf_withdrawn" | "csaf_superseded" => Some("csaf_base"),
            _ => None,
        };
        if let Some(to) = to {
            *c = to.to_owned();
        }
    }
    if let Some(Json::Object(p)) = d.get_mut("publisher")
        && p.get("category").and_then(Json::as_str) == Some("multiplier")
    {
        p.insert("category".into(), Json::from("other"));
    }
    if let Some(Json::Object(dist)) = d.get_mut("distribution") {
        let mut notes = Vec::new();
        if let Some(Json::Object(g)) = dist.remove("sharing_group") {
            let id = g.get("id").and_then(Json::as_str).unwrap_or_default();
            let name = g.get("name").and_then(Json::as_str);
            notes.push(match name {
                Some(n) => format!("CSAF 2.1 sharing group {id} ({n})."),
                None => format!("CSAF 2.1 sharing group {id}."),
            });
        }
        let text = dist.get("text").and_then(Json::as_str).map(str::to_owned);
        if let Some(Json::Object(tlp)) = dist.get_mut("tlp")
            && let Some(l) = tlp.get("label").and_then(Json::as_str)
            && let Some(t) = tlp_of_label(l, text.as_deref())
        {
            tlp.insert("label".into(), Json::from(tlp_label_2_0(t)));
            match t {
                Tlp::Clear => notes.push(
                    "TLP:CLEAR (TLP 2.0). CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:WHITE."
                        .to_owned(),
                ),
                Tlp::AmberStrict => notes.push(
                    "TLP:AMBER+STRICT (TLP 2.0): the recipients' organisations only. CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:AMBER."
                        .to_owned(),
                ),
                _ => {}
            }
        }
        if !notes.is_empty() {
            let mut all: Vec<String> = text.into_iter().filter(|t| !t.trim().is_empty()).collect();
            all.extend(notes);
            dist.insert("text".into(), Json::from(all.join(" ")));
        }
    }
    for_each_product(tree, &mut |p| {
        if let Some(Json::Object(h)) = p.get_mut("product_identification_helper")
            && let Some(purls) = h.remove("purls")
            && let Some(first) = purls.items().first()
        {
            h.insert("purl".into(), first.clone());
        }
    });
    for v in vulnerabilities(tree) {
        rename(v, "disclosure_date", "release_date");
        v.remove("first_known_exploitation_dates");
        v.remove("x_extensions");
        if let Some(cwes) = v.remove("cwes")
            && let Some(Json::Object(first)) = cwes.items().first()
        {
            let mut cwe = first.clone();
            cwe.remove("version");
            v.insert("cwe".into(), Json::Object(cwe));
        }
        if let Some(Json::Array(metrics)) = v.remove("metrics") {
            let scores: Vec<Json> = metrics
                .into_iter()
                .filter_map(|m| {
                    let mut out = BTreeMap::new();
                    out.insert("products".to_owned(), m.get("products")?.clone());
                    let content = m.get("content")?;
                    for kind in ["cvss_v2", "cvss_v3"] {
                        if let Some(c) = content.get(kind) {
                            out.insert(kind.to_owned(), c.clone());
                        }
                    }
                    (out.len() > 1).then_some(Json::Object(out))
                })
                .collect();
            if !scores.is_empty() {
                v.insert("scores".into(), Json::Array(scores));
            }
        }
        if let Some(Json::Array(rs)) = v.get_mut("remediations") {
            for r in rs.iter_mut().filter_map(Json::as_object_mut) {
                if let Some(Json::String(c)) = r.get_mut("category") {
                    let to = match c.as_str() {
                        "fix_planned" => Some("none_available"),
                        "optional_patch" => Some("vendor_fix"),
                        _ => None,
                    };
                    if let Some(to) = to {
                        *c = to.to_owned();
                    }
                }
            }
        }
    }
}
