//! An advisory as a CSAF 2.0 document, and back.
//!
//! Export: `csaf_security_advisory` when the advisory names affected
//! products (that profile requires a product tree and product statuses),
//! otherwise `csaf_base` (CVEs then go in `vulnerabilities` without a
//! product status). CSAF 2.0 knows only the TLP 1.0 labels, so CLEAR is
//! written as WHITE and AMBER+STRICT as AMBER; `distribution.text` says so
//! and names the audience, which is how import gets both back. Fields CSAF
//! has no place for (category, indicators) go in notes of category
//! `other` with fixed titles.
//!
//! Import: the subset of CSAF this export writes, plus product trees of
//! any depth and `full_product_names`, read into an [`Advisory`] that its
//! own validation then checks.

use serde::{Deserialize, Serialize};
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Indicator, IndicatorKind, Product, Reference,
    Revision, SchemaError, Severity, TeamId, Tlp,
};

use super::{Author, TimeError, parse_rfc3339, rfc3339};

/// The TLP reference CSAF 2.0 documents cite.
pub const TLP_URL: &str = "https://www.first.org/tlp/";
/// The title of the note that carries the trustmesh category.
pub const CATEGORY_NOTE: &str = "trustmesh category";
/// The title of the note that carries the indicators of compromise.
pub const INDICATORS_NOTE: &str = "Indicators of compromise";
/// The title of the note that marks a withdrawn advisory.
pub const WITHDRAWN_NOTE: &str = "Withdrawn";
const AUDIENCE_PREFIX: &str = "Audience (trustmesh team ids): ";

/// A CSAF 2.0 document: the parts trustmesh writes and reads. Unknown
/// fields are ignored on import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csaf {
    /// `document`.
    pub document: Document,
    /// `product_tree`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_tree: Option<ProductTree>,
    /// `vulnerabilities`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
}

/// `document`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// `csaf_security_advisory`, `csaf_base`, ...
    pub category: String,
    /// Always "2.0".
    pub csaf_version: String,
    /// The title.
    pub title: String,
    /// Who publishes it.
    pub publisher: Publisher,
    /// Id, status, versions and dates.
    pub tracking: Tracking,
    /// The TLP label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Distribution>,
    /// The severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_severity: Option<AggregateSeverity>,
    /// Summary, details and the fields CSAF has no place for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// References.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<CsafReference>,
    /// Acknowledgments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledgments: Vec<Acknowledgment>,
}

/// `document.publisher`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publisher {
    /// "coordinator" for a CSIRT.
    pub category: String,
    /// The team's name.
    pub name: String,
    /// A URL that names the team.
    pub namespace: String,
    /// How to reach it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<String>,
}

/// `document.tracking`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracking {
    /// The advisory id.
    pub id: String,
    /// draft, interim or final.
    pub status: String,
    /// The latest revision number.
    pub version: String,
    /// The first revision's date.
    pub initial_release_date: String,
    /// The latest revision's date.
    pub current_release_date: String,
    /// What wrote the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Generator>,
    /// The revisions, at least one.
    pub revision_history: Vec<CsafRevision>,
}

/// `document.tracking.generator`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// What.
    pub engine: Engine,
}

/// `document.tracking.generator.engine`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Engine {
    /// "trustmesh".
    pub name: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One entry of `document.tracking.revision_history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsafRevision {
    /// When (RFC 3339).
    pub date: String,
    /// The version number.
    pub number: String,
    /// What changed.
    pub summary: String,
}

/// `document.distribution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// The TLP 2.0 label and audience, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The TLP 1.0 label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tlp: Option<TlpLabel>,
}

/// `document.distribution.tlp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlpLabel {
    /// WHITE, GREEN, AMBER or RED.
    pub label: String,
    /// [`TLP_URL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `document.aggregate_severity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateSeverity {
    /// none, low, medium, high or critical.
    pub text: String,
}

/// A note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// summary, details, general, other, ...
    pub category: String,
    /// The text.
    pub text: String,
    /// Its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsafReference {
    /// "external" or "self".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What it is.
    pub summary: String,
    /// Where.
    pub url: String,
}

/// An acknowledgment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledgment {
    /// People.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// An organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// For what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// `product_tree`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductTree {
    /// vendor → product_name → product_version branches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Branch>,
    /// Products outside any branch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_product_names: Vec<FullProductName>,
}

/// A branch of the product tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// vendor, product_name, product_version, product_version_range, ...
    pub category: String,
    /// Its name.
    pub name: String,
    /// Sub-branches (a branch has these or a product).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Branch>,
    /// The product at this leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<FullProductName>,
}

/// A product with its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FullProductName {
    /// Its full name.
    pub name: String,
    /// The id vulnerabilities refer to.
    pub product_id: String,
}

/// A vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    /// The CVE id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    /// Its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// Which products it affects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_status: Option<ProductStatus>,
}

/// `vulnerabilities[].product_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductStatus {
    /// Product ids of the affected products.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_affected: Vec<String>,
}

/// The TLP 1.0 label CSAF 2.0 can carry for a TLP 2.0 label.
pub fn tlp_label(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "WHITE",
        Tlp::Green => "GREEN",
        Tlp::Amber | Tlp::AmberStrict => "AMBER",
        Tlp::Red => "RED",
    }
}

/// The TLP 2.0 label as people write it, `TLP:AMBER+STRICT`.
pub fn tlp_name(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "TLP:CLEAR",
        Tlp::Green => "TLP:GREEN",
        Tlp::Amber => "TLP:AMBER",
        Tlp::AmberStrict => "TLP:AMBER+STRICT",
        Tlp::Red => "TLP:RED",
    }
}

fn tracking_status(s: AdvisoryStatus) -> &'static str {
    match s {
        AdvisoryStatus::Draft => "draft",
        AdvisoryStatus::Final | AdvisoryStatus::Withdrawn => "final",
        AdvisoryStatus::Updated => "interim",
    }
}

/// Whether a version text is a range, which CSAF puts in a
/// `product_version_range` branch (the words mandatory test 6.1.31 looks for).
fn is_version_range(v: &str) -> bool {
    let lower = v.to_lowercase();
    ["<", ">"].iter().any(|s| lower.contains(s))
        || lower.split_whitespace().any(|w| {
            [
                "after", "all", "before", "earlier", "later", "prior", "versions",
            ]
            .contains(&w)
        })
}

/// The revision history CSAF accepts: the advisory's own when its numbers
/// are 1, 2, ... n in order with dates that never go back; otherwise the
/// revisions in date order numbered 1 to n, each summary naming the
/// original number. An advisory without revisions gets one, dated `now`.
fn revision_history(a: &Advisory, now: u64) -> Vec<(String, u64, String)> {
    if a.revisions.is_empty() {
        return vec![(
            "1".into(),
            now,
            "Exported without a revision history".into(),
        )];
    }
    let as_is = a
        .revisions
        .iter()
        .enumerate()
        .all(|(i, r)| r.number == (i + 1).to_string())
        && a.revisions.windows(2).all(|w| w[0].date <= w[1].date);
    let summary = |r: &Revision| {
        if r.summary.trim().is_empty() {
            format!("Revision {}", r.number)
        } else {
            r.summary.clone()
        }
    };
    if as_is {
        return a
            .revisions
            .iter()
            .map(|r| (r.number.clone(), r.date, summary(r)))
            .collect();
    }
    let mut sorted: Vec<&Revision> = a.revisions.iter().collect();
    sorted.sort_by_key(|r| r.date);
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            (
                (i + 1).to_string(),
                r.date,
                format!("(trustmesh revision {}) {}", r.number, summary(r)),
            )
        })
        .collect()
}

fn note(category: &str, title: &str, text: &str) -> Note {
    Note {
        category: category.into(),
        text: text.into(),
        title: Some(title.into()),
    }
}

fn product_name(p: &Product, version: Option<&str>) -> String {
    [p.vendor.as_str(), p.product.as_str(), version.unwrap_or("")]
        .iter()
        .filter(|s| !s.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The product tree: a vendor branch per run of products by one vendor
/// (a product without a vendor goes at the top), a product_name branch per
/// product, a version (or version range) leaf per version. Returns the tree
/// and every product id in it.
fn product_tree(products: &[Product]) -> (ProductTree, Vec<String>) {
    let mut ids = Vec::new();
    let next_id = |name: String, ids: &mut Vec<String>| {
        let id = format!("CSAFPID-{:04}", ids.len() + 1);
        ids.push(id.clone());
        FullProductName {
            name,
            product_id: id,
        }
    };
    let mut top: Vec<Branch> = Vec::new();
    for p in products {
        let leaf = if p.versions.is_empty() {
            Branch {
                category: "product_name".into(),
                name: p.product.clone(),
                branches: vec![],
                product: Some(next_id(product_name(p, None), &mut ids)),
            }
        } else {
            Branch {
                category: "product_name".into(),
                name: p.product.clone(),
                branches: p
                    .versions
                    .iter()
                    .map(|v| Branch {
                        category: if is_version_range(v) {
                            "product_version_range"
                        } else {
                            "product_version"
                        }
                        .into(),
                        name: v.clone(),
                        branches: vec![],
                        product: Some(next_id(product_name(p, Some(v)), &mut ids)),
                    })
                    .collect(),
                product: None,
            }
        };
        if p.vendor.trim().is_empty() {
            top.push(leaf);
            continue;
        }
        match top.last_mut() {
            Some(last) if last.category == "vendor" && last.name == p.vendor => {
                last.branches.push(leaf);
            }
            _ => top.push(Branch {
                category: "vendor".into(),
                name: p.vendor.clone(),
                branches: vec![leaf],
                product: None,
            }),
        }
    }
    (
        ProductTree {
            branches: top,
            full_product_names: vec![],
        },
        ids,
    )
}

/// The distribution text: the TLP 2.0 label, how it maps, and the audience.
fn distribution_text(a: &Advisory) -> String {
    let name = tlp_name(a.tlp);
    let mut text = match a.tlp {
        Tlp::Clear => format!(
            "{name} (TLP 2.0). CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:WHITE."
        ),
        Tlp::AmberStrict => format!(
            "{name} (TLP 2.0): the recipients' organisations only. CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:AMBER."
        ),
        _ => format!("{name} (TLP 2.0)."),
    };
    if !a.audience.is_empty() {
        let ids: Vec<String> = a.audience.iter().map(TeamId::to_string).collect();
        text += &format!(" {AUDIENCE_PREFIX}{}.", ids.join(", "));
    }
    text
}

/// The advisory as a CSAF 2.0 document published by `author`. `now` dates
/// the single revision of an advisory that has none.
pub fn export(a: &Advisory, author: &Author, now: u64) -> Csaf {
    let history = revision_history(a, now);
    let (first, last) = match (history.first(), history.last()) {
        (Some(f), Some(l)) => (f.clone(), l.clone()),
        // revision_history never returns an empty list.
        _ => (
            ("1".into(), now, String::new()),
            ("1".into(), now, String::new()),
        ),
    };

    let mut notes = Vec::new();
    if !a.summary.trim().is_empty() {
        notes.push(note("summary", "Summary", &a.summary));
    }
    if !a.body.trim().is_empty() {
        notes.push(note("details", "Details", &a.body));
    }
    notes.push(note("other", CATEGORY_NOTE, a.category.name()));
    if !a.indicators.is_empty() {
        let lines: Vec<String> = a
            .indicators
            .iter()
            .map(|i| format!("{}: {}", i.kind, i.value))
            .collect();
        notes.push(note("other", INDICATORS_NOTE, &lines.join("\n")));
    }
    if a.status == AdvisoryStatus::Withdrawn {
        notes.push(note(
            "general",
            WITHDRAWN_NOTE,
            "This advisory was withdrawn by its authors.",
        ));
    }

    let (tree, ids) = product_tree(&a.products);
    let affected = (!ids.is_empty()).then(|| ProductStatus {
        known_affected: ids.clone(),
    });
    let mut vulnerabilities: Vec<Vulnerability> = a
        .cves
        .iter()
        .map(|cve| Vulnerability {
            cve: Some(cve.clone()),
            title: None,
            notes: vec![note(
                "description",
                "Description",
                &format!("{cve}, the subject of {}: {}", a.id, a.title),
            )],
            product_status: affected.clone(),
        })
        .collect();
    if vulnerabilities.is_empty() && affected.is_some() {
        // The security advisory profile needs a vulnerability to say
        // which products are affected, even without a CVE id.
        vulnerabilities.push(Vulnerability {
            cve: None,
            title: Some(a.title.clone()),
            notes: vec![note(
                "description",
                "Description",
                if a.summary.trim().is_empty() {
                    &a.title
                } else {
                    &a.summary
                },
            )],
            product_status: affected.clone(),
        });
    }

    Csaf {
        document: Document {
            category: if ids.is_empty() {
                "csaf_base"
            } else {
                "csaf_security_advisory"
            }
            .into(),
            csaf_version: "2.0".into(),
            title: a.title.clone(),
            publisher: Publisher {
                category: "coordinator".into(),
                name: author.display_name(),
                namespace: author.namespace(),
                contact_details: (!author.email.trim().is_empty())
                    .then(|| format!("E-mail: {}", author.email.trim())),
            },
            tracking: Tracking {
                id: a.id.clone(),
                status: tracking_status(a.status).into(),
                version: last.0.clone(),
                initial_release_date: rfc3339(first.1),
                current_release_date: rfc3339(last.1),
                generator: Some(Generator {
                    date: Some(rfc3339(last.1)),
                    engine: Engine {
                        name: "trustmesh".into(),
                        version: Some(env!("CARGO_PKG_VERSION").into()),
                    },
                }),
                revision_history: history
                    .into_iter()
                    .map(|(number, date, summary)| CsafRevision {
                        date: rfc3339(date),
                        number,
                        summary,
                    })
                    .collect(),
            },
            distribution: Some(Distribution {
                text: Some(distribution_text(a)),
                tlp: Some(TlpLabel {
                    label: tlp_label(a.tlp).into(),
                    url: Some(TLP_URL.into()),
                }),
            }),
            aggregate_severity: Some(AggregateSeverity {
                text: a.severity.name().into(),
            }),
            notes,
            references: a
                .references
                .iter()
                .map(|r| CsafReference {
                    category: Some("external".into()),
                    summary: if r.summary.trim().is_empty() {
                        r.url.clone()
                    } else {
                        r.summary.clone()
                    },
                    url: r.url.clone(),
                })
                .collect(),
            acknowledgments: a
                .acknowledgements
                .iter()
                .map(|line| Acknowledgment {
                    names: vec![],
                    organization: None,
                    summary: Some(line.clone()),
                })
                .collect(),
        },
        product_tree: (!ids.is_empty()).then_some(tree),
        vulnerabilities,
    }
}

/// Why a CSAF document could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    /// The JSON is not the shape of a CSAF document.
    #[error("not a CSAF 2.0 document: {0}")]
    Shape(#[from] serde_json::Error),
    /// `csaf_version` is not 2.0.
    #[error("csaf_version {0:?} is not supported (only 2.0)")]
    Version(String),
    /// A field holds a value trustmesh cannot represent.
    #[error("{field}: {reason}")]
    Unsupported {
        /// Where, as a JSON path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A date is not RFC 3339.
    #[error("{field}: {source}")]
    Date {
        /// Where, as a JSON path.
        field: String,
        /// What is wrong.
        source: TimeError,
    },
    /// The advisory it yields fails the advisory's own validation.
    #[error("the imported advisory is not valid: {0}")]
    Invalid(#[from] SchemaError),
}

fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> ImportError {
    ImportError::Unsupported {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The TLP label and audience from `document.distribution`.
fn import_tlp(d: Option<&Distribution>) -> Result<(Tlp, Vec<TeamId>), ImportError> {
    let Some(d) = d else {
        // No label: share as little as a label allows.
        return Ok((Tlp::Red, vec![]));
    };
    let text = d.text.as_deref().unwrap_or("");
    let label = d.tlp.as_ref().map(|t| t.label.to_ascii_uppercase());
    let tlp = match label.as_deref() {
        Some("WHITE") => Tlp::Clear,
        Some("GREEN") => Tlp::Green,
        Some("AMBER") if text.contains("TLP:AMBER+STRICT") => Tlp::AmberStrict,
        Some("AMBER") => Tlp::Amber,
        Some("RED") => Tlp::Red,
        Some(other) => {
            return Err(unsupported(
                "/document/distribution/tlp/label",
                format!("unknown TLP label {other:?}"),
            ));
        }
        None if text.contains("TLP:CLEAR") || text.contains("TLP:WHITE") => Tlp::Clear,
        None if text.contains("TLP:GREEN") => Tlp::Green,
        None if text.contains("TLP:AMBER+STRICT") => Tlp::AmberStrict,
        None if text.contains("TLP:AMBER") => Tlp::Amber,
        None => Tlp::Red,
    };
    let mut audience = Vec::new();
    if let Some((_, rest)) = text.split_once(AUDIENCE_PREFIX) {
        let list = rest.split('.').next().unwrap_or_default();
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            audience.push(id.parse::<TeamId>().map_err(|_| {
                unsupported(
                    "/document/distribution/text",
                    format!("{id:?} in the audience is not a team id"),
                )
            })?);
        }
    }
    Ok((tlp, audience))
}

fn import_status(tracking: &str, withdrawn: bool) -> Result<AdvisoryStatus, ImportError> {
    Ok(match tracking {
        _ if withdrawn => AdvisoryStatus::Withdrawn,
        "draft" => AdvisoryStatus::Draft,
        "final" => AdvisoryStatus::Final,
        "interim" => AdvisoryStatus::Updated,
        other => {
            return Err(unsupported(
                "/document/tracking/status",
                format!("unknown status {other:?}"),
            ));
        }
    })
}

/// Collects products from a branch: the branch path gives the vendor and
/// product name, the leaves the versions.
fn import_branch(
    b: &Branch,
    path: &str,
    vendor: &str,
    product: &str,
    out: &mut Vec<Product>,
) -> Result<(), ImportError> {
    let (mut vendor, mut product) = (vendor.to_owned(), product.to_owned());
    let mut version = None;
    match b.category.as_str() {
        "vendor" => vendor = b.name.clone(),
        "product_name" | "product_family" if product.is_empty() => product = b.name.clone(),
        "product_name" | "product_family" => product = format!("{product} {}", b.name),
        "product_version" | "product_version_range" => version = Some(b.name.clone()),
        // Architectures, languages, patch levels, ...: part of the name.
        _ if product.is_empty() => product = b.name.clone(),
        _ => product = format!("{product} {}", b.name),
    }
    match (&b.product, b.branches.is_empty()) {
        (Some(_), true) => {
            let name = if product.is_empty() {
                b.product
                    .as_ref()
                    .map(|p| p.name.clone())
                    .unwrap_or_default()
            } else {
                product
            };
            // Versions of one product gather under one entry.
            match out.last_mut() {
                Some(last)
                    if version.is_some()
                        && last.vendor == vendor
                        && last.product == name
                        && !last.versions.is_empty() =>
                {
                    last.versions.extend(version);
                }
                _ => out.push(Product {
                    vendor,
                    product: name,
                    versions: version.into_iter().collect(),
                }),
            }
            Ok(())
        }
        (None, false) => {
            for (i, sub) in b.branches.iter().enumerate() {
                import_branch(sub, &format!("{path}/branches/{i}"), &vendor, &product, out)?;
            }
            Ok(())
        }
        _ => Err(unsupported(
            path,
            "a branch must have either sub-branches or a product",
        )),
    }
}

/// Reads a CSAF 2.0 document (JSON) into an advisory owned by `owner`, with
/// `id` as its tracking id if given, else the document's. The advisory is
/// checked by [`Advisory::validate`]. For TLP AMBER, AMBER+STRICT and RED
/// the owner is added to the audience.
pub fn import(json: &str, owner: &TeamId, id: Option<&str>) -> Result<Advisory, ImportError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(ImportError::Json)?;
    let version = value
        .pointer("/document/csaf_version")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("(missing)");
    if version != "2.0" {
        return Err(ImportError::Version(version.to_owned()));
    }
    let doc: Csaf = serde_json::from_value(value)?;
    let d = &doc.document;

    let note_titled = |title: &str| {
        d.notes
            .iter()
            .find(|n| n.title.as_deref() == Some(title))
            .map(|n| n.text.clone())
    };
    let note_of = |category: &str| {
        let texts: Vec<&str> = d
            .notes
            .iter()
            .filter(|n| n.category == category)
            .map(|n| n.text.as_str())
            .collect();
        texts.join("\n\n")
    };

    let (tlp, mut audience) = import_tlp(d.distribution.as_ref())?;
    if tlp.is_restricted() && !audience.contains(owner) {
        audience.push(*owner);
    }
    if !tlp.is_restricted() {
        audience.clear();
    }
    audience.sort();
    audience.dedup();

    let category = match note_titled(CATEGORY_NOTE) {
        Some(c) => c.trim().parse::<AdvisoryCategory>().map_err(|_| {
            unsupported(
                "/document/notes",
                format!("unknown trustmesh category {c:?}"),
            )
        })?,
        None if d.category == "csaf_security_advisory" => AdvisoryCategory::Vulnerability,
        None => AdvisoryCategory::Other,
    };
    let severity = match &d.aggregate_severity {
        Some(s) => {
            let t = s.text.trim().to_lowercase();
            match t.as_str() {
                "moderate" | "important" => Severity::Medium,
                _ => t.parse().map_err(|_| {
                    unsupported(
                        "/document/aggregate_severity/text",
                        format!(
                            "{:?} is not one of none, low, medium, high, critical",
                            s.text
                        ),
                    )
                })?,
            }
        }
        None => Severity::Medium,
    };
    let status = import_status(&d.tracking.status, note_titled(WITHDRAWN_NOTE).is_some())?;

    let mut revisions = Vec::new();
    for (i, r) in d.tracking.revision_history.iter().enumerate() {
        revisions.push(Revision {
            number: r.number.clone(),
            date: parse_rfc3339(&r.date).map_err(|source| ImportError::Date {
                field: format!("/document/tracking/revision_history/{i}/date"),
                source,
            })?,
            summary: r.summary.clone(),
        });
    }
    revisions.sort_by_key(|r| r.date);

    let mut cves: Vec<String> = Vec::new();
    for v in &doc.vulnerabilities {
        if let Some(c) = &v.cve
            && !cves.contains(c)
        {
            cves.push(c.clone());
        }
    }

    let mut products = Vec::new();
    if let Some(tree) = &doc.product_tree {
        for (i, b) in tree.branches.iter().enumerate() {
            import_branch(
                b,
                &format!("/product_tree/branches/{i}"),
                "",
                "",
                &mut products,
            )?;
        }
        for p in &tree.full_product_names {
            products.push(Product {
                vendor: String::new(),
                product: p.name.clone(),
                versions: vec![],
            });
        }
    }

    let mut indicators = Vec::new();
    if let Some(text) = note_titled(INDICATORS_NOTE) {
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let (kind, value) = line.split_once(": ").ok_or_else(|| {
                unsupported(
                    "/document/notes",
                    format!("indicator line {} is not \"KIND: VALUE\"", i + 1),
                )
            })?;
            let kind: IndicatorKind = kind.trim().parse().map_err(|_| {
                unsupported(
                    "/document/notes",
                    format!("unknown indicator kind {kind:?}"),
                )
            })?;
            indicators.push(Indicator {
                kind,
                value: value.trim().to_owned(),
            });
        }
    }

    let references = d
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
        .collect();
    let acknowledgements = d
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
        .collect();

    let advisory = Advisory {
        id: id.unwrap_or(&d.tracking.id).to_owned(),
        title: d.title.clone(),
        category,
        tlp,
        audience,
        co_authors: vec![],
        severity,
        status,
        revisions,
        cves,
        products,
        indicators,
        summary: note_of("summary"),
        body: note_of("details"),
        references,
        acknowledgements,
    };
    advisory.validate(owner)?;
    Ok(advisory)
}
