//! Advisories written in trustmesh: the short form a responder fills in
//! ([`Advisory`], and [`Authored`] with per-vulnerability details), and the
//! complete CSAF 2.0 tree it becomes.
//!
//! The tree is a pure function of the form and the owner, and reading the
//! form back from it gives the form again (for forms in canonical order:
//! details in the order of the advisory's CVEs). So an edit through the
//! form rewrites only the fields it changed, and a tree someone edited as
//! CSAF is recognised (it is no longer the tree of its form) and left
//! alone.
//!
//! What the form becomes:
//! - `document`: `category` `csaf_security_advisory` when products are
//!   named, else `csaf_base`; the publisher is a placeholder naming the
//!   owner team, which the export replaces by the team's contact entry;
//!   `tracking` from the revisions; `aggregate_severity` from the severity;
//!   notes for the summary (`summary`), the body (`details`), the trustmesh
//!   category and a withdrawal; references and acknowledgments.
//! - `product_tree`: a vendor branch per run of products of one vendor, a
//!   `product_name` branch per product, a `product_version` (or
//!   `product_version_range`) leaf per version.
//! - `vulnerabilities`: one per CVE (and one per detail without a CVE, or
//!   one without CVE when products are named but nothing else), each with
//!   the affected products as `known_affected`, the detail's fixed versions
//!   as `fixed`, its CVSS v3 score computed from its vector, its CWE and
//!   remediation.

use serde::{Deserialize, Serialize};

use super::cvss::{self, Cvss3};
use super::envelope::Envelope;
use super::json::{Json, Number};
use super::time::{parse_rfc3339, rfc3339};
use super::version::TrackingVersion;
use super::{Advisory, AdvisoryCategory, AdvisoryStatus, Product, Reference, Revision, Severity};
use crate::document::schema::{SchemaError, check_count, check_multiline, check_text, check_url};
use crate::identity::TeamId;

/// The title of the note that carries the trustmesh category.
pub const CATEGORY_NOTE: &str = "trustmesh category";
/// The title of the note that marks a withdrawn advisory.
pub const WITHDRAWN_NOTE: &str = "Withdrawn";

/// An advisory written in trustmesh, with details per vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authored {
    /// The advisory.
    #[serde(flatten)]
    pub advisory: Advisory,
    /// Details of its vulnerabilities, each for one of its CVEs (or with
    /// an empty CVE for a vulnerability without one).
    #[serde(default)]
    pub vulnerabilities: Vec<AuthoredVulnerability>,
}

/// What a responder states about one vulnerability.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthoredVulnerability {
    /// One of the advisory's CVE ids, or empty.
    pub cve: String,
    /// Its title.
    pub title: String,
    /// A CVSS v3.0 or v3.1 vector; the base score is computed from it.
    pub cvss_v3: String,
    /// A CWE id such as CWE-79.
    pub cwe: String,
    /// The CWE's name (required with an id).
    pub cwe_name: String,
    /// Versions that fix it.
    pub fixed: Vec<Product>,
    /// What to do.
    pub remediation: String,
    /// Where to read more about the remediation.
    pub remediation_url: String,
}

impl AuthoredVulnerability {
    fn says_something(&self) -> bool {
        !(self.title.is_empty()
            && self.cvss_v3.is_empty()
            && self.cwe.is_empty()
            && self.fixed.is_empty()
            && self.remediation.is_empty())
    }
}

fn is_cwe(s: &str) -> bool {
    s.strip_prefix("CWE-")
        .is_some_and(|n| !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn check_products(field: &str, products: &[Product]) -> Result<(), SchemaError> {
    check_count(field, products.len(), 500)?;
    for (i, p) in products.iter().enumerate() {
        check_text(&format!("{field}[{i}].vendor"), &p.vendor, 200, false)?;
        check_text(&format!("{field}[{i}].product"), &p.product, 200, true)?;
        check_count(&format!("{field}[{i}].versions"), p.versions.len(), 100)?;
        for (j, v) in p.versions.iter().enumerate() {
            check_text(&format!("{field}[{i}].versions[{j}]"), v, 200, true)?;
        }
    }
    Ok(())
}

impl Authored {
    /// An advisory without details.
    pub fn new(advisory: Advisory) -> Self {
        Self {
            advisory,
            vulnerabilities: vec![],
        }
    }

    /// Checks the advisory ([`Advisory::validate`]) and each detail: its
    /// CVE one of the advisory's (each at most once), a CVSS vector that
    /// parses, a CWE id with a name, and affected products for a score or
    /// a remediation to apply to.
    pub fn validate(&self, owner: &TeamId) -> Result<(), SchemaError> {
        self.advisory.validate(owner)?;
        check_count("vulnerabilities", self.vulnerabilities.len(), 1000)?;
        for (i, v) in self.vulnerabilities.iter().enumerate() {
            let f = |name: &str| format!("vulnerabilities[{i}].{name}");
            if !v.cve.is_empty() {
                if !self.advisory.cves.contains(&v.cve) {
                    return Err(SchemaError::invalid(
                        f("cve"),
                        "must be one of the advisory's cves",
                    ));
                }
                if self.vulnerabilities[..i].iter().any(|w| w.cve == v.cve) {
                    return Err(SchemaError::invalid(f("cve"), "has details twice"));
                }
            }
            if !v.says_something() {
                return Err(SchemaError::invalid(f("title"), "the details say nothing"));
            }
            check_text(&f("title"), &v.title, 500, false)?;
            let affected = !self.advisory.products.is_empty();
            if !v.cvss_v3.is_empty() {
                if Cvss3::parse(&v.cvss_v3).is_none() {
                    return Err(SchemaError::invalid(
                        f("cvss_v3"),
                        "must be a CVSS v3.0 or v3.1 vector such as CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    ));
                }
                if !affected {
                    return Err(SchemaError::invalid(
                        f("cvss_v3"),
                        "needs affected products to apply to",
                    ));
                }
            }
            if !v.cwe.is_empty() && !is_cwe(&v.cwe) {
                return Err(SchemaError::invalid(
                    f("cwe"),
                    "must be a CWE id such as CWE-79",
                ));
            }
            if v.cwe.is_empty() != v.cwe_name.is_empty() {
                return Err(SchemaError::invalid(
                    f("cwe_name"),
                    "a CWE needs both its id and its name",
                ));
            }
            check_text(&f("cwe_name"), &v.cwe_name, 500, false)?;
            check_products(&f("fixed"), &v.fixed)?;
            check_multiline(&f("remediation"), &v.remediation, 10_000, false)?;
            check_url(&f("remediation_url"), &v.remediation_url, false)?;
            if !v.remediation_url.is_empty() && v.remediation.is_empty() {
                return Err(SchemaError::invalid(
                    f("remediation"),
                    "a remediation url needs the remediation's text",
                ));
            }
            if !v.remediation.is_empty() && !affected {
                return Err(SchemaError::invalid(
                    f("remediation"),
                    "needs affected products to apply to",
                ));
            }
        }
        Ok(())
    }

    /// The details in canonical order: by the advisory's CVE order, those
    /// without CVE last (stable).
    pub fn canonical(mut self) -> Self {
        let cves = &self.advisory.cves;
        self.vulnerabilities
            .sort_by_key(|v| cves.iter().position(|c| *c == v.cve).unwrap_or(usize::MAX));
        self
    }

    /// The complete CSAF 2.0 tree of this advisory owned by `owner`.
    pub fn to_csaf(&self, owner: &TeamId) -> Json {
        let a = &self.advisory;
        let mut document = vec![
            (
                "category",
                Json::from(if self.all_products().next().is_some() {
                    "csaf_security_advisory"
                } else {
                    "csaf_base"
                }),
            ),
            ("csaf_version", Json::from("2.0")),
            ("title", Json::from(a.title.as_str())),
            (
                "publisher",
                Json::object([
                    ("category", Json::from("coordinator")),
                    (
                        "name",
                        Json::from(format!("trustmesh team {}", owner.short())),
                    ),
                    (
                        "namespace",
                        Json::from(format!("https://trustmesh.invalid/{owner}")),
                    ),
                ]),
            ),
            ("tracking", tracking(a)),
            (
                "aggregate_severity",
                Json::object([("text", Json::from(a.severity.name()))]),
            ),
            ("notes", Json::Array(document_notes(a))),
        ];
        if !a.references.is_empty() {
            document.push((
                "references",
                Json::Array(
                    a.references
                        .iter()
                        .map(|r| {
                            Json::object([
                                ("category", Json::from("external")),
                                (
                                    "summary",
                                    Json::from(if r.summary.is_empty() {
                                        r.url.as_str()
                                    } else {
                                        r.summary.as_str()
                                    }),
                                ),
                                ("url", Json::from(r.url.as_str())),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !a.acknowledgements.is_empty() {
            document.push((
                "acknowledgments",
                Json::Array(
                    a.acknowledgements
                        .iter()
                        .map(|l| Json::object([("summary", Json::from(l.as_str()))]))
                        .collect(),
                ),
            ));
        }
        let mut root = vec![("document", Json::object(document))];

        let vulns = self.vulnerability_slots();
        let mut tree = TreeBuilder::default();
        let affected = tree.add(&a.products, |n| format!("CSAFPID-{n:04}"));
        let mut fixed_ids = Vec::new();
        for (j, (_, detail)) in vulns.iter().enumerate() {
            let fixed = detail.map(|d| d.fixed.as_slice()).unwrap_or_default();
            fixed_ids.push(tree.add(fixed, |n| format!("CSAFPID-V{}-{n:04}", j + 1)));
        }
        if !tree.top.is_empty() {
            root.push((
                "product_tree",
                Json::object([("branches", Json::Array(tree.finish()))]),
            ));
        }
        if !vulns.is_empty() {
            let list = vulns
                .iter()
                .zip(&fixed_ids)
                .map(|((cve, detail), fixed)| vulnerability(a, cve, *detail, &affected, fixed))
                .collect();
            root.push(("vulnerabilities", Json::Array(list)));
        }
        Json::object(root)
    }

    fn all_products(&self) -> impl Iterator<Item = &Product> {
        self.advisory
            .products
            .iter()
            .chain(self.vulnerabilities.iter().flat_map(|v| &v.fixed))
    }

    /// Each vulnerability the tree lists: its CVE (empty for none) and its
    /// details.
    fn vulnerability_slots(&self) -> Vec<(&str, Option<&AuthoredVulnerability>)> {
        let mut slots: Vec<(&str, Option<&AuthoredVulnerability>)> = self
            .advisory
            .cves
            .iter()
            .map(|c| {
                (
                    c.as_str(),
                    self.vulnerabilities.iter().find(|v| v.cve == *c),
                )
            })
            .collect();
        slots.extend(
            self.vulnerabilities
                .iter()
                .filter(|v| v.cve.is_empty())
                .map(|v| ("", Some(v))),
        );
        if slots.is_empty() && !self.advisory.products.is_empty() {
            // The security advisory profile needs a vulnerability to say
            // which products are affected, even without a CVE id.
            slots.push(("", None));
        }
        slots
    }

    /// Reads the form back from a tree this module wrote; `id` is the
    /// document's name and `envelope` its envelope.
    pub(crate) fn from_csaf(tree: &Json, id: &str, env: &Envelope) -> Result<Self, SchemaError> {
        let bad = |at: &str| SchemaError::Malformed(format!("csaf/{at}"));
        let doc = tree.get("document").ok_or_else(|| bad("document"))?;
        let s = |j: &Json, k: &str, at: &str| {
            j.get(k)
                .and_then(Json::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(at))
        };
        let notes = doc.get("notes").map(Json::items).unwrap_or_default();
        let note = |category: &str, title: &str| {
            notes
                .iter()
                .find(|n| {
                    n.get("category").and_then(Json::as_str) == Some(category)
                        && n.get("title").and_then(Json::as_str) == Some(title)
                })
                .and_then(|n| n.get("text").and_then(Json::as_str))
                .map(str::to_owned)
        };
        let category = note("other", CATEGORY_NOTE)
            .and_then(|c| c.parse::<AdvisoryCategory>().ok())
            .ok_or_else(|| bad("document/notes (trustmesh category)"))?;
        let severity = doc
            .pointer("/aggregate_severity/text")
            .and_then(Json::as_str)
            .and_then(|s| s.parse::<Severity>().ok())
            .ok_or_else(|| bad("document/aggregate_severity"))?;
        let tracking = doc
            .get("tracking")
            .ok_or_else(|| bad("document/tracking"))?;
        let mut revisions = Vec::new();
        for r in tracking
            .get("revision_history")
            .map(Json::items)
            .unwrap_or_default()
        {
            let at = "document/tracking/revision_history";
            revisions.push(Revision {
                number: s(r, "number", at)?,
                date: parse_rfc3339(&s(r, "date", at)?).ok_or_else(|| bad(at))?,
                summary: s(r, "summary", at)?,
            });
        }
        let references = doc
            .get("references")
            .map(Json::items)
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let url = s(r, "url", "document/references")?;
                let summary = s(r, "summary", "document/references")?;
                Ok(Reference {
                    summary: if summary == url {
                        String::new()
                    } else {
                        summary
                    },
                    url,
                })
            })
            .collect::<Result<Vec<_>, SchemaError>>()?;
        let acknowledgements = doc
            .get("acknowledgments")
            .map(Json::items)
            .unwrap_or_default()
            .iter()
            .map(|a| s(a, "summary", "document/acknowledgments"))
            .collect::<Result<Vec<_>, SchemaError>>()?;

        // Products, each list told apart by its product ids.
        let mut affected: Vec<Product> = Vec::new();
        let mut fixed: Vec<(usize, Product)> = Vec::new();
        let branches = tree
            .pointer("/product_tree/branches")
            .map(Json::items)
            .unwrap_or_default();
        for top in branches {
            let (vendor, names) = match top.get("category").and_then(Json::as_str) {
                Some("vendor") => (
                    s(top, "name", "product_tree/branches")?,
                    top.get("branches").map(Json::items).unwrap_or_default(),
                ),
                _ => (String::new(), std::slice::from_ref(top)),
            };
            for b in names {
                let product = s(b, "name", "product_tree/branches")?;
                let (versions, first_id) = match b.pointer("/product/product_id") {
                    Some(id) => (vec![], id.as_str()),
                    None => {
                        let leaves = b.get("branches").map(Json::items).unwrap_or_default();
                        let versions = leaves
                            .iter()
                            .map(|l| s(l, "name", "product_tree/branches"))
                            .collect::<Result<Vec<_>, _>>()?;
                        let first = leaves
                            .first()
                            .and_then(|l| l.pointer("/product/product_id"))
                            .and_then(Json::as_str);
                        (versions, first)
                    }
                };
                let p = Product {
                    vendor: vendor.clone(),
                    product,
                    versions,
                };
                let first_id = first_id.ok_or_else(|| bad("product_tree/branches"))?;
                match first_id
                    .strip_prefix("CSAFPID-V")
                    .and_then(|r| r.split_once('-'))
                    .and_then(|(j, _)| j.parse::<usize>().ok())
                {
                    Some(j) => fixed.push((j, p)),
                    None => affected.push(p),
                }
            }
        }

        let mut cves = Vec::new();
        let mut details = Vec::new();
        let vulns = tree
            .get("vulnerabilities")
            .map(Json::items)
            .unwrap_or_default();
        for (j, v) in vulns.iter().enumerate() {
            let cve = v.get("cve").and_then(Json::as_str).unwrap_or_default();
            if !cve.is_empty() {
                cves.push(cve.to_owned());
            }
            let remediation = v
                .get("remediations")
                .map(Json::items)
                .unwrap_or_default()
                .first();
            let d = AuthoredVulnerability {
                cve: cve.to_owned(),
                title: v
                    .get("title")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                cvss_v3: v
                    .pointer("/scores/0/cvss_v3/vectorString")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                cwe: v
                    .pointer("/cwe/id")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                cwe_name: v
                    .pointer("/cwe/name")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                fixed: fixed
                    .iter()
                    .filter(|(k, _)| *k == j + 1)
                    .map(|(_, p)| p.clone())
                    .collect(),
                remediation: remediation
                    .and_then(|r| r.get("details"))
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                remediation_url: remediation
                    .and_then(|r| r.get("url"))
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            };
            // The vulnerability the tree adds to list affected products
            // when nothing else would is not a detail.
            let plain = cve.is_empty()
                && vulns.len() == 1
                && fixed.is_empty()
                && d == AuthoredVulnerability {
                    title: s(doc, "title", "document/title")?,
                    ..AuthoredVulnerability::default()
                };
            if d.says_something() && !plain {
                details.push(d);
            }
        }
        Ok(Self {
            advisory: Advisory {
                id: id.to_owned(),
                title: s(doc, "title", "document/title")?,
                category,
                tlp: env.tlp,
                audience: env.audience.clone(),
                co_authors: env.co_authors.clone(),
                severity,
                status: env.status,
                revisions,
                cves,
                products: affected,
                indicators: env.indicators.clone(),
                summary: note("summary", "Summary").unwrap_or_default(),
                body: note("details", "Details").unwrap_or_default(),
                references,
                acknowledgements,
            },
            vulnerabilities: details,
        })
    }
}

/// The revision history CSAF accepts: the advisory's own when its numbers
/// are CSAF versions in increasing order; otherwise the revisions in date
/// order numbered 1 to n, each summary
/// naming the number given (CSAF's mandatory tests require versions that
/// parse and a sorted history). A summary left empty reads "Revision N".
fn history(a: &Advisory) -> Vec<Revision> {
    let summary = |r: &Revision| {
        if r.summary.trim().is_empty() {
            format!("Revision {}", r.number)
        } else {
            r.summary.clone()
        }
    };
    let versions: Option<Vec<TrackingVersion>> = a
        .revisions
        .iter()
        .map(|r| TrackingVersion::parse(&r.number))
        .collect();
    let as_is = versions.is_some_and(|v| {
        v.windows(2)
            .all(|w| w[1].precedence(&w[0]) == std::cmp::Ordering::Greater)
    });
    if as_is {
        return a
            .revisions
            .iter()
            .map(|r| Revision {
                summary: summary(r),
                ..r.clone()
            })
            .collect();
    }
    let mut sorted: Vec<&Revision> = a.revisions.iter().collect();
    sorted.sort_by_key(|r| r.date);
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, r)| Revision {
            number: (i + 1).to_string(),
            date: r.date,
            summary: format!("(trustmesh revision {}) {}", r.number, summary(r)),
        })
        .collect()
}

fn tracking(a: &Advisory) -> Json {
    let revisions = history(a);
    let first = revisions.first();
    let last = revisions.last();
    let date = |r: Option<&Revision>| Json::from(rfc3339(r.map_or(0, |r| r.date)));
    Json::object([
        ("id", Json::from(a.id.as_str())),
        (
            "status",
            Json::from(match a.status {
                AdvisoryStatus::Draft => "draft",
                AdvisoryStatus::Updated => "interim",
                AdvisoryStatus::Final | AdvisoryStatus::Withdrawn => "final",
            }),
        ),
        (
            "version",
            Json::from(last.map_or("0", |r| r.number.as_str())),
        ),
        ("initial_release_date", date(first)),
        ("current_release_date", date(last)),
        (
            "generator",
            Json::object([("engine", Json::object([("name", Json::from("trustmesh"))]))]),
        ),
        (
            "revision_history",
            Json::Array(
                revisions
                    .iter()
                    .map(|r| {
                        Json::object([
                            ("date", Json::from(rfc3339(r.date))),
                            ("number", Json::from(r.number.as_str())),
                            ("summary", Json::from(r.summary.as_str())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}

fn note(category: &str, title: &str, text: &str) -> Json {
    Json::object([
        ("category", Json::from(category)),
        ("title", Json::from(title)),
        ("text", Json::from(text)),
    ])
}

fn document_notes(a: &Advisory) -> Vec<Json> {
    let mut notes = Vec::new();
    if !a.summary.is_empty() {
        notes.push(note("summary", "Summary", &a.summary));
    }
    if !a.body.is_empty() {
        notes.push(note("details", "Details", &a.body));
    }
    notes.push(note("other", CATEGORY_NOTE, a.category.name()));
    if a.status == AdvisoryStatus::Withdrawn {
        notes.push(note(
            "general",
            WITHDRAWN_NOTE,
            "This advisory was withdrawn by its authors.",
        ));
    }
    notes
}

/// Whether a version text is a range, which CSAF puts in a
/// `product_version_range` branch (the words mandatory test 6.1.31 looks
/// for).
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

enum Top {
    Vendor(String, Vec<Json>),
    Bare(Json),
}

#[derive(Default)]
struct TreeBuilder {
    top: Vec<Top>,
}

impl TreeBuilder {
    /// Adds products, naming each leaf's id with `id(n)` (n from 1).
    /// Returns the ids.
    fn add(&mut self, products: &[Product], id: impl Fn(usize) -> String) -> Vec<String> {
        let mut ids = Vec::new();
        let leaf = |name: String, ids: &mut Vec<String>| {
            let pid = id(ids.len() + 1);
            ids.push(pid.clone());
            Json::object([("name", Json::from(name)), ("product_id", Json::from(pid))])
        };
        for p in products {
            let full = |version: Option<&str>| {
                [p.vendor.as_str(), p.product.as_str(), version.unwrap_or("")]
                    .iter()
                    .filter(|s| !s.trim().is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let mut branch = vec![
                ("category", Json::from("product_name")),
                ("name", Json::from(p.product.as_str())),
            ];
            if p.versions.is_empty() {
                branch.push(("product", leaf(full(None), &mut ids)));
            } else {
                let versions = p
                    .versions
                    .iter()
                    .map(|v| {
                        Json::object([
                            (
                                "category",
                                Json::from(if is_version_range(v) {
                                    "product_version_range"
                                } else {
                                    "product_version"
                                }),
                            ),
                            ("name", Json::from(v.as_str())),
                            ("product", leaf(full(Some(v)), &mut ids)),
                        ])
                    })
                    .collect();
                branch.push(("branches", Json::Array(versions)));
            }
            let branch = Json::object(branch);
            if p.vendor.is_empty() {
                self.top.push(Top::Bare(branch));
                continue;
            }
            match self.top.last_mut() {
                Some(Top::Vendor(v, children)) if *v == p.vendor => children.push(branch),
                _ => self.top.push(Top::Vendor(p.vendor.clone(), vec![branch])),
            }
        }
        ids
    }

    fn finish(self) -> Vec<Json> {
        self.top
            .into_iter()
            .map(|t| match t {
                Top::Bare(b) => b,
                Top::Vendor(name, children) => Json::object([
                    ("category", Json::from("vendor")),
                    ("name", Json::from(name)),
                    ("branches", Json::Array(children)),
                ]),
            })
            .collect()
    }
}

fn ids(list: &[String]) -> Json {
    Json::Array(list.iter().map(|s| Json::from(s.as_str())).collect())
}

fn vulnerability(
    a: &Advisory,
    cve: &str,
    detail: Option<&AuthoredVulnerability>,
    affected: &[String],
    fixed: &[String],
) -> Json {
    let mut v = Vec::new();
    if !cve.is_empty() {
        v.push(("cve", Json::from(cve)));
    }
    let title = match detail {
        Some(d) => d.title.as_str(),
        // The vulnerability without CVE that only says which products
        // are affected is titled as the advisory.
        None if cve.is_empty() => a.title.as_str(),
        None => "",
    };
    if !title.is_empty() {
        v.push(("title", Json::from(title)));
    }
    // The security advisory profile wants every vulnerability described.
    let description = if !title.is_empty() {
        title
    } else if !a.summary.is_empty() {
        a.summary.as_str()
    } else {
        a.title.as_str()
    };
    v.push((
        "notes",
        Json::Array(vec![note("description", "Description", description)]),
    ));
    let mut status = Vec::new();
    if !affected.is_empty() {
        status.push(("known_affected", ids(affected)));
    }
    if !fixed.is_empty() {
        status.push(("fixed", ids(fixed)));
    }
    if !status.is_empty() {
        v.push(("product_status", Json::object(status)));
    }
    if let Some(d) = detail {
        if let Some(score) = Cvss3::parse(&d.cvss_v3) {
            let base = Number::from_f64(score.base_score)
                .map(Json::Number)
                .unwrap_or(Json::Null);
            v.push((
                "scores",
                Json::Array(vec![Json::object([
                    ("products", ids(affected)),
                    (
                        "cvss_v3",
                        Json::object([
                            ("version", Json::from(score.version)),
                            ("vectorString", Json::from(d.cvss_v3.as_str())),
                            ("baseScore", base),
                            (
                                "baseSeverity",
                                Json::from(cvss::rating(score.base_score).name().to_uppercase()),
                            ),
                        ]),
                    ),
                ])]),
            ));
        }
        if !d.cwe.is_empty() {
            v.push((
                "cwe",
                Json::object([
                    ("id", Json::from(d.cwe.as_str())),
                    ("name", Json::from(d.cwe_name.as_str())),
                ]),
            ));
        }
        if !d.remediation.is_empty() {
            let mut r = vec![
                (
                    "category",
                    Json::from(if d.fixed.is_empty() {
                        "mitigation"
                    } else {
                        "vendor_fix"
                    }),
                ),
                ("details", Json::from(d.remediation.as_str())),
                ("product_ids", ids(affected)),
            ];
            if !d.remediation_url.is_empty() {
                r.push(("url", Json::from(d.remediation_url.as_str())));
            }
            v.push(("remediations", Json::Array(vec![Json::object(r)])));
        }
    }
    Json::object(v)
}
