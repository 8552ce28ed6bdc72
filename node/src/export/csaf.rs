//! Advisories as CSAF 2.0 and 2.1 documents.
//!
//! An advisory holds its CSAF tree (see `trustmesh_protocol::AdvisoryDocument`),
//! so export and import are the protocol crate's (`export_csaf`,
//! `Documents::import_csaf`): an imported document exports equal to the
//! original but for the distribution values in [`EXPORT_SETS`]. This module
//! adds what only the node knows: the publisher an advisory written in
//! trustmesh is exported under (the owner team as its contact entry names
//! it), and the conversion of a tree to the JSON values the API returns.
//!
//! [`export`] and [`import`] are the bridge the node's API used before
//! advisories held CSAF trees: the short form ([`Advisory`]) to CSAF 2.0,
//! and CSAF to the short form. They go when the API serves
//! `AdvisoryDocument`s.

use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryDocument, AdvisoryStatus, AdvisoryView, Authored,
    CsafVersion, Json, JsonError, Product, Publisher, Reference, Revision, SchemaError,
    StatusGroup, TeamId, Tlp, parse_rfc3339, tlp_of_label,
};

pub use trustmesh_protocol::{CONVERSIONS, EXPORT_SETS, ExportRule, TLP_URL, tlp_label_2_0};

use super::Author;

/// The publisher an advisory written in trustmesh is exported under.
pub fn publisher(author: &Author) -> Publisher {
    Publisher {
        name: author.display_name(),
        namespace: author.namespace(),
        contact_details: (!author.email.trim().is_empty())
            .then(|| format!("E-mail: {}", author.email.trim())),
    }
}

/// The advisory as a CSAF document of `version`; `author` is its owner
/// (it names the publisher of an advisory written in trustmesh; an imported
/// document keeps its own).
pub fn export_document(doc: &AdvisoryDocument, author: &Author, version: CsafVersion) -> Json {
    doc.export_csaf(version, Some(&publisher(author)))
}

/// A tree as a `serde_json` value, read from its text (a number beyond
/// what serde_json holds reads as it reads any such number).
pub fn to_value(json: &Json) -> serde_json::Value {
    serde_json::from_str(&json.to_json()).unwrap_or(serde_json::Value::Null)
}

/// The TLP 2.0 label as people write it, `TLP:AMBER+STRICT`.
pub fn tlp_name(tlp: Tlp) -> String {
    format!("TLP:{}", tlp.label())
}

/// A short-form advisory as the CSAF 2.0 document it becomes when
/// `author` publishes it. An advisory without revisions is dated `now`, as
/// publishing it would.
pub fn export(a: &Advisory, author: &Author, now: u64) -> serde_json::Value {
    let mut a = a.clone();
    if a.revisions.is_empty() {
        a.revisions.push(Revision {
            number: "1".into(),
            date: now,
            summary: "Initial release".into(),
        });
    }
    let doc = AdvisoryDocument::from_authored(&Authored::new(a), author.team);
    to_value(&export_document(&doc, author, CsafVersion::V2_0))
}

/// Why a CSAF document could not be read into a short-form advisory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The text is not JSON, or exceeds the document limits.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// `document.csaf_version` is neither 2.0 nor 2.1.
    #[error("csaf_version {0:?} is not supported (2.0 and 2.1 are)")]
    Version(String),
    /// The document has no TLP label.
    #[error("the document has no TLP label (document.distribution.tlp)")]
    NoTlp,
    /// The document states no severity and no CVSS score.
    #[error("the document states neither an aggregate severity nor a CVSS score")]
    NoSeverity,
    /// A revision date is not RFC 3339.
    #[error("revision {0}: the date is not an RFC 3339 date-time")]
    Date(String),
    /// The short form it yields fails its validation.
    #[error("the imported advisory is not valid: {0}")]
    Invalid(#[from] SchemaError),
}

/// Reads a CSAF 2.0 or 2.1 document into a short-form advisory owned by
/// `owner`, with `id` as its tracking id if given, else the document's: the
/// title, category, label, severity, revisions, CVEs, products, notes,
/// references and acknowledgments (the whole document is kept by
/// `Documents::import_csaf`, which this bridge precedes).
pub fn import(json: &str, owner: &TeamId, id: Option<&str>) -> Result<Advisory, ImportError> {
    let tree = Json::parse(json.as_bytes())?;
    let view = AdvisoryView::of(&tree);
    if CsafVersion::from_name(&view.csaf_version).is_none() {
        return Err(ImportError::Version(view.csaf_version));
    }
    let tlp = view
        .tlp_label
        .as_deref()
        .and_then(|l| tlp_of_label(l, view.distribution_text.as_deref()))
        .ok_or(ImportError::NoTlp)?;
    let severity = view.severity.level.ok_or(ImportError::NoSeverity)?;
    let mut revisions = Vec::new();
    for r in &view.tracking.revisions {
        revisions.push(Revision {
            number: r.number.clone(),
            date: parse_rfc3339(&r.date).ok_or_else(|| ImportError::Date(r.number.clone()))?,
            summary: r.summary.clone(),
        });
    }
    revisions.sort_by_key(|r| r.date);
    let category = view
        .notes
        .iter()
        .find(|n| n.title.as_deref() == Some(trustmesh_protocol::CATEGORY_NOTE))
        .and_then(|n| n.text.trim().parse().ok())
        .unwrap_or(match view.category.as_str() {
            "csaf_security_advisory" | "csaf_vex" => AdvisoryCategory::Vulnerability,
            _ => AdvisoryCategory::Other,
        });
    let status = match view.tracking.status.as_str() {
        "draft" => AdvisoryStatus::Draft,
        "interim" => AdvisoryStatus::Updated,
        _ => AdvisoryStatus::Final,
    };
    // The affected products, as names.
    let mut products: Vec<Product> = Vec::new();
    for v in &view.vulnerabilities {
        for p in v.products(StatusGroup::Affected) {
            if !products.iter().any(|q| q.product == p.name) {
                products.push(Product {
                    vendor: String::new(),
                    product: p.name.clone(),
                    versions: vec![],
                });
            }
        }
    }
    let advisory = Advisory {
        id: id.unwrap_or(&view.tracking.id).to_owned(),
        title: view.title.clone(),
        category,
        tlp,
        audience: if tlp.is_restricted() {
            vec![*owner]
        } else {
            vec![]
        },
        co_authors: vec![],
        severity,
        status,
        revisions,
        cves: view.cves.clone(),
        products,
        indicators: vec![],
        summary: view.notes_of("summary"),
        body: view.notes_of("details"),
        references: view
            .references
            .iter()
            .map(|r| Reference {
                url: r.url.clone(),
                summary: if r.summary == r.url {
                    String::new()
                } else {
                    r.summary.clone()
                },
            })
            .collect(),
        acknowledgements: view
            .acknowledgments
            .iter()
            .filter_map(|a| {
                a.summary.clone().or_else(|| {
                    let mut who = a.names.join(", ");
                    if let Some(o) = &a.organization {
                        if !who.is_empty() {
                            who += ", ";
                        }
                        who += o;
                    }
                    (!who.is_empty()).then_some(who)
                })
            })
            .collect(),
    };
    advisory.validate(owner)?;
    Ok(advisory)
}
