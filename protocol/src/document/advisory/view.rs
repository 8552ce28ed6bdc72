//! The typed read view of a CSAF tree: what the API, the web page, alerts
//! and filters show, read from CSAF 2.0 and 2.1 alike. Nothing outside this
//! module reads the tree's maps.
//!
//! The view is lenient: a property of the wrong type reads as absent, so a
//! publisher's deviation costs that property in the view, never the
//! advisory (the tree keeps it, and exports it).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Severity;
use super::json::Json;
use super::severity::{self, LevelSource};

fn text(j: &Json, key: &str) -> Option<String> {
    j.get(key).and_then(Json::as_str).map(str::to_owned)
}

fn texts(j: &Json, key: &str) -> Vec<String> {
    j.get(key)
        .map(Json::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect()
}

fn items<'a>(j: &'a Json, key: &str) -> &'a [Json] {
    j.get(key).map(Json::items).unwrap_or_default()
}

/// The typed view of an advisory's CSAF tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvisoryView {
    /// `document.csaf_version`: "2.0" or "2.1".
    pub csaf_version: String,
    /// `document.title`.
    pub title: String,
    /// `document.category`, as written (publishers use their own).
    pub category: String,
    /// `document.lang`.
    pub lang: Option<String>,
    /// The severity as written and the level derived from it.
    pub severity: SeverityView,
    /// `document.publisher`.
    pub publisher: PublisherView,
    /// `document.tracking`.
    pub tracking: TrackingView,
    /// `document.distribution.tlp.label`, as written.
    pub tlp_label: Option<String>,
    /// `document.distribution.text`.
    pub distribution_text: Option<String>,
    /// `document.notes`.
    pub notes: Vec<NoteView>,
    /// `document.references`.
    pub references: Vec<ReferenceView>,
    /// `document.acknowledgments`.
    pub acknowledgments: Vec<AcknowledgmentView>,
    /// The CVE ids of the vulnerabilities, in order, without repeats.
    pub cves: Vec<String>,
    /// `vulnerabilities`.
    pub vulnerabilities: Vec<VulnerabilityView>,
    /// `product_tree`.
    pub product_tree: ProductTreeView,
}

/// Severity: the document's words, and the level trustmesh derives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeverityView {
    /// `document.aggregate_severity.text`, as written, in any language.
    pub text: Option<String>,
    /// `document.aggregate_severity.namespace`.
    pub namespace: Option<String>,
    /// The derived level: from the text, or the highest CVSS base score.
    pub level: Option<Severity>,
    /// Where the level came from.
    pub source: Option<LevelSource>,
}

/// `document.publisher`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublisherView {
    /// `category`: vendor, coordinator, ...
    pub category: String,
    /// `name`.
    pub name: String,
    /// `namespace`: the publisher's URL, half of an advisory's identity.
    pub namespace: String,
    /// `contact_details`.
    pub contact_details: Option<String>,
    /// `issuing_authority`.
    pub issuing_authority: Option<String>,
}

/// `document.tracking`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackingView {
    /// `id`: the other half of an advisory's identity.
    pub id: String,
    /// `version`.
    pub version: String,
    /// `status`: draft, interim or final.
    pub status: String,
    /// `initial_release_date`.
    pub initial_release_date: Option<String>,
    /// `current_release_date`.
    pub current_release_date: Option<String>,
    /// `aliases`.
    pub aliases: Vec<String>,
    /// `revision_history`, as written.
    pub revisions: Vec<RevisionView>,
}

/// An entry of `document.tracking.revision_history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionView {
    /// `number`.
    pub number: String,
    /// `date`.
    pub date: String,
    /// `summary`.
    pub summary: String,
}

/// A note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteView {
    /// `category`: description, details, summary, ...
    pub category: String,
    /// `title`.
    pub title: Option<String>,
    /// `text`.
    pub text: String,
    /// `audience`.
    pub audience: Option<String>,
}

/// A reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceView {
    /// `url`.
    pub url: String,
    /// `summary`.
    pub summary: String,
    /// `category`: external or self.
    pub category: Option<String>,
}

/// An acknowledgment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcknowledgmentView {
    /// `names`.
    pub names: Vec<String>,
    /// `organization`.
    pub organization: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `urls`.
    pub urls: Vec<String>,
}

/// A vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnerabilityView {
    /// `cve`.
    pub cve: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `ids`: (system name, text).
    pub ids: Vec<(String, String)>,
    /// `cwe` (2.0) or `cwes` (2.1).
    pub cwes: Vec<CweView>,
    /// `scores` (2.0) or the CVSS entries of `metrics` (2.1).
    pub scores: Vec<ScoreView>,
    /// `product_status`, grouped, each product with its name.
    pub statuses: Vec<StatusView>,
    /// `remediations`.
    pub remediations: Vec<RemediationView>,
    /// `threats`.
    pub threats: Vec<ThreatView>,
    /// `flags`.
    pub flags: Vec<FlagView>,
    /// `notes`.
    pub notes: Vec<NoteView>,
    /// `references`.
    pub references: Vec<ReferenceView>,
    /// `discovery_date`.
    pub discovery_date: Option<String>,
    /// `release_date` (2.0) or `disclosure_date` (2.1).
    pub disclosure_date: Option<String>,
}

impl VulnerabilityView {
    /// The highest CVSS base score.
    pub fn highest_score(&self) -> Option<f64> {
        self.scores
            .iter()
            .filter_map(|s| s.base_score)
            .fold(None, |m, s| Some(m.map_or(s, |m: f64| m.max(s))))
    }

    /// The products in a status group.
    pub fn products(&self, group: StatusGroup) -> Vec<&ProductRef> {
        self.statuses
            .iter()
            .filter(|s| s.group == group)
            .flat_map(|s| &s.products)
            .collect()
    }
}

/// A CWE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CweView {
    /// `id`, such as CWE-79.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `version` (2.1).
    pub version: Option<String>,
}

/// A CVSS score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreView {
    /// `cvss_v2`, `cvss_v3` or `cvss_v4`.
    pub kind: String,
    /// `version`.
    pub version: Option<String>,
    /// `baseScore`.
    pub base_score: Option<f64>,
    /// `baseSeverity`.
    pub base_severity: Option<String>,
    /// `vectorString`.
    pub vector: Option<String>,
    /// The products it is for.
    pub products: Vec<String>,
}

/// The groups product statuses fall in, as a responder reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusGroup {
    /// first_affected, known_affected, last_affected.
    Affected,
    /// first_fixed, fixed.
    Fixed,
    /// recommended.
    Recommended,
    /// known_not_affected.
    NotAffected,
    /// under_investigation.
    UnderInvestigation,
    /// A status outside the standard (kept as written).
    Other,
}

impl StatusGroup {
    /// The group of a `product_status` key.
    pub fn of(status: &str) -> Self {
        match status {
            "first_affected" | "known_affected" | "last_affected" => StatusGroup::Affected,
            "first_fixed" | "fixed" => StatusGroup::Fixed,
            "recommended" => StatusGroup::Recommended,
            "known_not_affected" => StatusGroup::NotAffected,
            "under_investigation" => StatusGroup::UnderInvestigation,
            _ => StatusGroup::Other,
        }
    }

    /// How the web page and the CLI name it.
    pub fn name(self) -> &'static str {
        match self {
            StatusGroup::Affected => "affected",
            StatusGroup::Fixed => "fixed",
            StatusGroup::Recommended => "recommended",
            StatusGroup::NotAffected => "not affected",
            StatusGroup::UnderInvestigation => "under investigation",
            StatusGroup::Other => "other",
        }
    }
}

/// One `product_status` entry: a status and its products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusView {
    /// The key as written: known_affected, fixed, ...
    pub status: String,
    /// Its group.
    pub group: StatusGroup,
    /// The products.
    pub products: Vec<ProductRef>,
}

/// A product id with the name the product tree gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRef {
    /// `product_id`.
    pub id: String,
    /// Its name, or the id when the tree does not name it.
    pub name: String,
}

/// A remediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemediationView {
    /// `category`: vendor_fix, workaround, mitigation, ...
    pub category: String,
    /// `details`.
    pub details: String,
    /// `url`.
    pub url: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `product_ids`.
    pub product_ids: Vec<String>,
    /// `group_ids`.
    pub group_ids: Vec<String>,
}

/// A threat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreatView {
    /// `category`: exploit_status, impact, target_set.
    pub category: String,
    /// `details`.
    pub details: String,
    /// `date`.
    pub date: Option<String>,
    /// `product_ids`.
    pub product_ids: Vec<String>,
    /// `group_ids`.
    pub group_ids: Vec<String>,
}

/// A flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagView {
    /// `label`.
    pub label: String,
    /// `date`.
    pub date: Option<String>,
    /// `product_ids`.
    pub product_ids: Vec<String>,
    /// `group_ids`.
    pub group_ids: Vec<String>,
}

/// `product_tree`, to browse.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProductTreeView {
    /// `branches`.
    pub branches: Vec<BranchView>,
    /// `full_product_names`.
    pub full_product_names: Vec<ProductView>,
    /// `relationships`.
    pub relationships: Vec<RelationshipView>,
    /// `product_groups`.
    pub product_groups: Vec<GroupView>,
    /// Every product's name by id.
    #[serde(skip)]
    names: BTreeMap<String, String>,
}

impl ProductTreeView {
    /// The name of a product, if the tree defines it.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.names.get(id).map(String::as_str)
    }

    /// How many products the tree defines.
    pub fn product_count(&self) -> usize {
        self.names.len()
    }
}

/// A branch of the product tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BranchView {
    /// `category`: vendor, product_name, product_version, ...
    pub category: String,
    /// `name`.
    pub name: String,
    /// `product`.
    pub product: Option<ProductView>,
    /// `branches`.
    pub branches: Vec<BranchView>,
}

/// A `full_product_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductView {
    /// `product_id`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `product_identification_helper.cpe`.
    pub cpe: Option<String>,
    /// `product_identification_helper.purl` (2.0) or `purls` (2.1).
    pub purls: Vec<String>,
}

/// A relationship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationshipView {
    /// `category`: default_component_of, installed_on, ...
    pub category: String,
    /// `product_reference`.
    pub product_reference: String,
    /// `relates_to_product_reference`.
    pub relates_to_product_reference: String,
    /// `full_product_name`.
    pub product: Option<ProductView>,
}

/// A product group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    /// `group_id`.
    pub group_id: String,
    /// `product_ids`.
    pub product_ids: Vec<String>,
    /// `summary`.
    pub summary: Option<String>,
}

fn note(j: &Json) -> Option<NoteView> {
    Some(NoteView {
        category: text(j, "category")?,
        title: text(j, "title"),
        text: text(j, "text")?,
        audience: text(j, "audience"),
    })
}

fn reference(j: &Json) -> Option<ReferenceView> {
    Some(ReferenceView {
        url: text(j, "url")?,
        summary: text(j, "summary").unwrap_or_default(),
        category: text(j, "category"),
    })
}

fn product(j: &Json) -> Option<ProductView> {
    let helper = j.get("product_identification_helper");
    let mut purls = helper.map(|h| texts(h, "purls")).unwrap_or_default();
    if let Some(p) = helper.and_then(|h| text(h, "purl")) {
        purls.insert(0, p);
    }
    Some(ProductView {
        id: text(j, "product_id")?,
        name: text(j, "name").unwrap_or_default(),
        cpe: helper.and_then(|h| text(h, "cpe")),
        purls,
    })
}

/// Bounded by the depth the tree reader allows.
fn branch(j: &Json, names: &mut BTreeMap<String, String>) -> BranchView {
    let product = j.get("product").and_then(product);
    if let Some(p) = &product {
        names.insert(p.id.clone(), p.name.clone());
    }
    BranchView {
        category: text(j, "category").unwrap_or_default(),
        name: text(j, "name").unwrap_or_default(),
        product,
        branches: items(j, "branches")
            .iter()
            .map(|b| branch(b, names))
            .collect(),
    }
}

fn product_tree(j: Option<&Json>) -> ProductTreeView {
    let Some(j) = j else {
        return ProductTreeView::default();
    };
    let mut names = BTreeMap::new();
    let branches = items(j, "branches")
        .iter()
        .map(|b| branch(b, &mut names))
        .collect();
    let full_product_names: Vec<ProductView> = items(j, "full_product_names")
        .iter()
        .filter_map(product)
        .collect();
    for p in &full_product_names {
        names.insert(p.id.clone(), p.name.clone());
    }
    let relationships: Vec<RelationshipView> = items(j, "relationships")
        .iter()
        .map(|r| RelationshipView {
            category: text(r, "category").unwrap_or_default(),
            product_reference: text(r, "product_reference").unwrap_or_default(),
            relates_to_product_reference: text(r, "relates_to_product_reference")
                .unwrap_or_default(),
            product: r.get("full_product_name").and_then(product),
        })
        .collect();
    for p in relationships.iter().filter_map(|r| r.product.as_ref()) {
        names.insert(p.id.clone(), p.name.clone());
    }
    ProductTreeView {
        branches,
        full_product_names,
        relationships,
        product_groups: items(j, "product_groups")
            .iter()
            .filter_map(|g| {
                Some(GroupView {
                    group_id: text(g, "group_id")?,
                    product_ids: texts(g, "product_ids"),
                    summary: text(g, "summary"),
                })
            })
            .collect(),
        names,
    }
}

fn score(kind: &str, j: &Json, products: &[String]) -> ScoreView {
    ScoreView {
        kind: kind.to_owned(),
        version: text(j, "version"),
        base_score: j.get("baseScore").and_then(Json::as_f64),
        base_severity: text(j, "baseSeverity"),
        vector: text(j, "vectorString"),
        products: products.to_vec(),
    }
}

fn scores(v: &Json) -> Vec<ScoreView> {
    let mut out = Vec::new();
    // 2.0 `scores` hold the CVSS objects directly; 2.1 `metrics` in
    // `content`.
    for (list, inner) in [("scores", None), ("metrics", Some("content"))] {
        for s in items(v, list) {
            let products = texts(s, "products");
            let content = match inner {
                Some(key) => s.get(key),
                None => Some(s),
            };
            let Some(content) = content else { continue };
            for kind in ["cvss_v2", "cvss_v3", "cvss_v4"] {
                if let Some(c) = content.get(kind) {
                    out.push(score(kind, c, &products));
                }
            }
        }
    }
    out
}

fn vulnerability(v: &Json, tree: &ProductTreeView) -> VulnerabilityView {
    let product_ref = |id: &str| ProductRef {
        id: id.to_owned(),
        name: tree.name_of(id).unwrap_or(id).to_owned(),
    };
    let mut cwes = Vec::new();
    let cwe = |c: &Json| {
        Some(CweView {
            id: text(c, "id")?,
            name: text(c, "name").unwrap_or_default(),
            version: text(c, "version"),
        })
    };
    cwes.extend(v.get("cwe").and_then(cwe));
    cwes.extend(items(v, "cwes").iter().filter_map(cwe));
    let statuses = v
        .get("product_status")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(status, ids)| StatusView {
                    status: status.clone(),
                    group: StatusGroup::of(status),
                    products: ids
                        .items()
                        .iter()
                        .filter_map(Json::as_str)
                        .map(product_ref)
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    VulnerabilityView {
        cve: text(v, "cve"),
        title: text(v, "title"),
        ids: items(v, "ids")
            .iter()
            .filter_map(|i| Some((text(i, "system_name")?, text(i, "text")?)))
            .collect(),
        cwes,
        scores: scores(v),
        statuses,
        remediations: items(v, "remediations")
            .iter()
            .filter_map(|r| {
                Some(RemediationView {
                    category: text(r, "category")?,
                    details: text(r, "details").unwrap_or_default(),
                    url: text(r, "url"),
                    date: text(r, "date"),
                    product_ids: texts(r, "product_ids"),
                    group_ids: texts(r, "group_ids"),
                })
            })
            .collect(),
        threats: items(v, "threats")
            .iter()
            .filter_map(|t| {
                Some(ThreatView {
                    category: text(t, "category")?,
                    details: text(t, "details").unwrap_or_default(),
                    date: text(t, "date"),
                    product_ids: texts(t, "product_ids"),
                    group_ids: texts(t, "group_ids"),
                })
            })
            .collect(),
        flags: items(v, "flags")
            .iter()
            .filter_map(|f| {
                Some(FlagView {
                    label: text(f, "label")?,
                    date: text(f, "date"),
                    product_ids: texts(f, "product_ids"),
                    group_ids: texts(f, "group_ids"),
                })
            })
            .collect(),
        notes: items(v, "notes").iter().filter_map(note).collect(),
        references: items(v, "references")
            .iter()
            .filter_map(reference)
            .collect(),
        discovery_date: text(v, "discovery_date"),
        disclosure_date: text(v, "disclosure_date").or_else(|| text(v, "release_date")),
    }
}

impl AdvisoryView {
    /// The view of a CSAF tree.
    pub fn of(csaf: &Json) -> Self {
        let empty = Json::Object(BTreeMap::new());
        let doc = csaf.get("document").unwrap_or(&empty);
        let tracking = doc.get("tracking").unwrap_or(&empty);
        let publisher = doc.get("publisher").unwrap_or(&empty);
        let distribution = doc.get("distribution");
        let severity = doc.get("aggregate_severity");
        let tree = product_tree(csaf.get("product_tree"));
        let vulnerabilities: Vec<VulnerabilityView> = items(csaf, "vulnerabilities")
            .iter()
            .map(|v| vulnerability(v, &tree))
            .collect();
        let mut cves: Vec<String> = Vec::new();
        for c in vulnerabilities.iter().filter_map(|v| v.cve.as_ref()) {
            if !cves.contains(c) {
                cves.push(c.clone());
            }
        }
        let highest = vulnerabilities
            .iter()
            .filter_map(VulnerabilityView::highest_score)
            .fold(None, |m, s| Some(m.map_or(s, |m: f64| m.max(s))));
        let severity_text = severity.and_then(|s| text(s, "text"));
        let derived = severity::derive(severity_text.as_deref(), highest);
        Self {
            csaf_version: text(doc, "csaf_version").unwrap_or_default(),
            title: text(doc, "title").unwrap_or_default(),
            category: text(doc, "category").unwrap_or_default(),
            lang: text(doc, "lang"),
            severity: SeverityView {
                text: severity_text,
                namespace: severity.and_then(|s| text(s, "namespace")),
                level: derived.map(|d| d.0),
                source: derived.map(|d| d.1),
            },
            publisher: PublisherView {
                category: text(publisher, "category").unwrap_or_default(),
                name: text(publisher, "name").unwrap_or_default(),
                namespace: text(publisher, "namespace").unwrap_or_default(),
                contact_details: text(publisher, "contact_details"),
                issuing_authority: text(publisher, "issuing_authority"),
            },
            tracking: TrackingView {
                id: text(tracking, "id").unwrap_or_default(),
                version: text(tracking, "version").unwrap_or_default(),
                status: text(tracking, "status").unwrap_or_default(),
                initial_release_date: text(tracking, "initial_release_date"),
                current_release_date: text(tracking, "current_release_date"),
                aliases: texts(tracking, "aliases"),
                revisions: items(tracking, "revision_history")
                    .iter()
                    .map(|r| RevisionView {
                        number: text(r, "number").unwrap_or_default(),
                        date: text(r, "date").unwrap_or_default(),
                        summary: text(r, "summary").unwrap_or_default(),
                    })
                    .collect(),
            },
            tlp_label: distribution
                .and_then(|d| d.get("tlp"))
                .and_then(|t| text(t, "label")),
            distribution_text: distribution.and_then(|d| text(d, "text")),
            notes: items(doc, "notes").iter().filter_map(note).collect(),
            references: items(doc, "references")
                .iter()
                .filter_map(reference)
                .collect(),
            acknowledgments: items(doc, "acknowledgments")
                .iter()
                .map(|a| AcknowledgmentView {
                    names: texts(a, "names"),
                    organization: text(a, "organization"),
                    summary: text(a, "summary"),
                    urls: texts(a, "urls"),
                })
                .collect(),
            cves,
            vulnerabilities,
            product_tree: tree,
        }
    }

    /// The highest CVSS base score of any vulnerability.
    pub fn highest_score(&self) -> Option<f64> {
        self.vulnerabilities
            .iter()
            .filter_map(VulnerabilityView::highest_score)
            .fold(None, |m, s| Some(m.map_or(s, |m: f64| m.max(s))))
    }

    /// The text of the notes of a category (such as `summary`), joined by
    /// blank lines.
    pub fn notes_of(&self, category: &str) -> String {
        self.notes
            .iter()
            .filter(|n| n.category == category)
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}
