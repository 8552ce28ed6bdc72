//! The advisory document: one per advisory, owned by its author team, with
//! co-authors the owner names. Fields follow CSAF 2.0 so that export is
//! lossless.
//!
//! The owner alone decides who may read and who may write: the TLP label,
//! the audience and the co-author list are plain values at the root of the
//! document, and the replica refuses any change by a co-author that touches
//! them (`OWNER_ONLY_KEYS`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use automerge::transaction::Transactable;
use automerge::{Automerge, AutomergeError, ChangeHash as AmHash, ObjId, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};

use super::id::{DocKind, DocRef};
use super::schema::{
    Record, Schema, SchemaError, check_count, check_email, check_multiline, check_text, check_url,
    is_hex, put_records, put_str, put_str_list, put_text, put_u64, read_enum, read_records,
    read_str, read_str_list, read_u64, sealed,
};
use crate::identity::TeamId;

/// Root keys only the owner may write.
pub(crate) const OWNER_ONLY_KEYS: [&str; 3] = ["tlp", "audience", "co_authors"];

const MAX_AUDIENCE: usize = 1000;
const MAX_CO_AUTHORS: usize = 32;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The lowercase name used in documents, files and on the command line.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            fn from_name(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = SchemaError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_name(s).ok_or_else(|| SchemaError::invalid(stringify!($name), "unknown value"))
            }
        }
    };
}

named_enum!(
    /// What an advisory is (CSAF `document.category`, refined as national
    /// CSIRTs publish).
    AdvisoryCategory {
        /// An alert: act now.
        Alert = "alert",
        /// A warning of a threat.
        Warning = "warning",
        /// Activity observed now.
        CurrentActivity = "current_activity",
        /// A vulnerability advisory.
        Vulnerability = "vulnerability",
        /// Anything else.
        Other = "other",
    }
);

named_enum!(
    /// The Traffic Light Protocol 2.0 label, which decides who receives the
    /// advisory.
    Tlp {
        /// TLP:CLEAR, no limit on disclosure.
        Clear = "clear",
        /// TLP:GREEN, the community.
        Green = "green",
        /// TLP:AMBER, the recipients' organisations and their clients.
        Amber = "amber",
        /// TLP:AMBER+STRICT, the recipients' organisations only.
        AmberStrict = "amber_strict",
        /// TLP:RED, the named recipients only.
        Red = "red",
    }
);

impl Tlp {
    /// Whether the label restricts the advisory to a named audience
    /// (AMBER, AMBER+STRICT and RED).
    pub fn is_restricted(self) -> bool {
        matches!(self, Tlp::Amber | Tlp::AmberStrict | Tlp::Red)
    }
}

named_enum!(
    /// How severe the threat is (CSAF aggregate severity).
    Severity {
        /// No impact.
        None = "none",
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Critical.
        Critical = "critical",
    }
);

named_enum!(
    /// Where the advisory stands (CSAF `tracking.status`, plus withdrawn).
    AdvisoryStatus {
        /// Work in progress.
        Draft = "draft",
        /// Published.
        Final = "final",
        /// Published and expected to change soon (CSAF `interim`).
        Updated = "updated",
        /// Withdrawn by its authors.
        Withdrawn = "withdrawn",
    }
);

named_enum!(
    /// What an indicator of compromise is.
    IndicatorKind {
        /// An IPv4 address or CIDR prefix.
        Ipv4 = "ipv4",
        /// An IPv6 address or CIDR prefix.
        Ipv6 = "ipv6",
        /// A domain name.
        Domain = "domain",
        /// A URL.
        Url = "url",
        /// A SHA-256 file hash.
        Sha256 = "sha256",
        /// A SHA-1 file hash.
        Sha1 = "sha1",
        /// An MD5 file hash.
        Md5 = "md5",
        /// An e-mail address.
        Email = "email",
        /// Anything else, described in the value.
        Other = "other",
    }
);

/// An advisory.
///
/// `audience` and `co_authors` are sets: they are stored and read back
/// sorted, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// The tracking id (CSAF `tracking.id`); also the document's name, so
    /// it never changes.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: AdvisoryCategory,
    /// TLP label.
    pub tlp: Tlp,
    /// Who may receive it when the label is AMBER, AMBER+STRICT or RED;
    /// must then include the owner and every co-author. Empty for CLEAR
    /// and GREEN.
    pub audience: Vec<TeamId>,
    /// Teams the owner lets edit the advisory (never the owner itself).
    pub co_authors: Vec<TeamId>,
    /// Severity.
    pub severity: Severity,
    /// Status.
    pub status: AdvisoryStatus,
    /// Revision history, oldest first.
    pub revisions: Vec<Revision>,
    /// CVE ids, such as CVE-2024-3094.
    pub cves: Vec<String>,
    /// Affected products.
    pub products: Vec<Product>,
    /// Indicators of compromise.
    pub indicators: Vec<Indicator>,
    /// A short summary.
    pub summary: String,
    /// The full text.
    pub body: String,
    /// References.
    pub references: Vec<Reference>,
    /// Acknowledgements, one line each.
    pub acknowledgements: Vec<String>,
}

/// One entry of the revision history (CSAF `tracking.revision_history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// Version number, such as "1" or "1.0.1".
    pub number: String,
    /// When (Unix seconds, as the author stated it).
    pub date: u64,
    /// What changed.
    pub summary: String,
}

/// An affected product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Vendor.
    pub vendor: String,
    /// Product name.
    pub product: String,
    /// Affected versions or version ranges.
    pub versions: Vec<String>,
}

/// An indicator of compromise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// What kind of value it is.
    pub kind: IndicatorKind,
    /// The value.
    pub value: String,
}

/// A reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// Where.
    pub url: String,
    /// What it is.
    pub summary: String,
}

/// Checks a CVE id: `CVE-`, a year from 1999, `-`, and at least four digits.
pub fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && year >= "1999"
        && (4..=19).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn is_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn is_ip_or_prefix<A: std::str::FromStr>(s: &str, max_prefix: u8) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    addr.parse::<A>().is_ok()
        && prefix.is_none_or(|p| {
            p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|n| n <= max_prefix)
        })
}

fn is_any_url(s: &str) -> bool {
    match s.split_once("://") {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                && !rest.is_empty()
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

impl Indicator {
    /// Checks the value against its kind.
    pub fn validate(&self, field: &str) -> Result<(), SchemaError> {
        let v = self.value.as_str();
        check_text(field, v, 2048, true)?;
        let ok = match self.kind {
            IndicatorKind::Ipv4 => is_ip_or_prefix::<Ipv4Addr>(v, 32),
            IndicatorKind::Ipv6 => is_ip_or_prefix::<Ipv6Addr>(v, 128),
            IndicatorKind::Domain => is_domain(v),
            IndicatorKind::Url => is_any_url(v),
            IndicatorKind::Sha256 => is_hex(v, 64),
            IndicatorKind::Sha1 => is_hex(v, 40),
            IndicatorKind::Md5 => is_hex(v, 32),
            IndicatorKind::Email => return check_email(field, v, true),
            IndicatorKind::Other => true,
        };
        if ok {
            Ok(())
        } else {
            Err(SchemaError::invalid(
                field,
                "does not match the indicator kind",
            ))
        }
    }
}

impl Advisory {
    /// Checks every field for an advisory owned by `owner`: required fields
    /// present, lengths bounded, CVE ids and indicators well formed, and an
    /// audience (including the owner and every co-author) for AMBER,
    /// AMBER+STRICT and RED.
    pub fn validate(&self, owner: &TeamId) -> Result<(), SchemaError> {
        super::id::check_tracking_id(&self.id)?;
        check_text("title", &self.title, 500, true)?;
        check_count("co authors", self.co_authors.len(), MAX_CO_AUTHORS)?;
        if self.co_authors.contains(owner) {
            return Err(SchemaError::invalid(
                "co authors",
                "must not include the owner",
            ));
        }
        check_count("audience", self.audience.len(), MAX_AUDIENCE)?;
        if self.tlp.is_restricted() {
            if !self.audience.contains(owner) {
                return Err(SchemaError::invalid(
                    "audience",
                    "must include the owner for tlp amber, amber_strict and red",
                ));
            }
            if self.co_authors.iter().any(|c| !self.audience.contains(c)) {
                return Err(SchemaError::invalid(
                    "audience",
                    "must include every co-author",
                ));
            }
        } else if !self.audience.is_empty() {
            return Err(SchemaError::invalid(
                "audience",
                "must be empty for tlp clear and green, which go to every member",
            ));
        }
        check_count("revisions", self.revisions.len(), 1000)?;
        for (i, r) in self.revisions.iter().enumerate() {
            check_text(&format!("revisions[{i}].number"), &r.number, 32, true)?;
            check_text(&format!("revisions[{i}].summary"), &r.summary, 1000, false)?;
        }
        check_count("cves", self.cves.len(), 1000)?;
        for (i, c) in self.cves.iter().enumerate() {
            if !is_cve_id(c) {
                return Err(SchemaError::invalid(
                    format!("cves[{i}]"),
                    "must be a CVE id such as CVE-2024-3094",
                ));
            }
        }
        check_count("products", self.products.len(), 500)?;
        for (i, p) in self.products.iter().enumerate() {
            check_text(&format!("products[{i}].vendor"), &p.vendor, 200, false)?;
            check_text(&format!("products[{i}].product"), &p.product, 200, true)?;
            check_count(&format!("products[{i}].versions"), p.versions.len(), 100)?;
            for (j, v) in p.versions.iter().enumerate() {
                check_text(&format!("products[{i}].versions[{j}]"), v, 200, true)?;
            }
        }
        check_count("indicators", self.indicators.len(), 1000)?;
        for (i, ioc) in self.indicators.iter().enumerate() {
            ioc.validate(&format!("indicators[{i}].value"))?;
        }
        check_multiline("summary", &self.summary, 10_000, false)?;
        check_multiline("body", &self.body, 100_000, false)?;
        check_count("references", self.references.len(), 200)?;
        for (i, r) in self.references.iter().enumerate() {
            check_url(&format!("references[{i}].url"), &r.url, true)?;
            check_text(&format!("references[{i}].summary"), &r.summary, 500, false)?;
        }
        check_count("acknowledgements", self.acknowledgements.len(), 200)?;
        for (i, a) in self.acknowledgements.iter().enumerate() {
            check_text(&format!("acknowledgements[{i}]"), a, 500, true)?;
        }
        Ok(())
    }

    /// Writes the fields that differ from the document's. With
    /// `owner_fields` false the owner-only fields are left alone.
    pub(crate) fn write<T: Transactable>(
        &self,
        tx: &mut T,
        owner_fields: bool,
    ) -> Result<(), AutomergeError> {
        if owner_fields {
            put_str(tx, &ROOT, "tlp", self.tlp.name())?;
            put_str(tx, &ROOT, "audience", &team_list(&self.audience))?;
            put_str(tx, &ROOT, "co_authors", &team_list(&self.co_authors))?;
        }
        put_str(tx, &ROOT, "title", &self.title)?;
        put_str(tx, &ROOT, "category", self.category.name())?;
        put_str(tx, &ROOT, "severity", self.severity.name())?;
        put_str(tx, &ROOT, "status", self.status.name())?;
        put_records(tx, &ROOT, "revisions", &self.revisions)?;
        put_str_list(tx, &ROOT, "cves", &self.cves)?;
        put_records(tx, &ROOT, "products", &self.products)?;
        put_records(tx, &ROOT, "indicators", &self.indicators)?;
        put_text(tx, &ROOT, "summary", &self.summary)?;
        put_text(tx, &ROOT, "body", &self.body)?;
        put_records(tx, &ROOT, "references", &self.references)?;
        put_str_list(tx, &ROOT, "acknowledgements", &self.acknowledgements)
    }

    /// The owner-only fields, normalized, for comparing two versions.
    pub(crate) fn owner_fields(&self) -> (Tlp, String, String) {
        (
            self.tlp,
            team_list(&self.audience),
            team_list(&self.co_authors),
        )
    }
}

/// A set of teams as the document stores it: sorted hex keys joined by commas.
fn team_list(teams: &[TeamId]) -> String {
    let mut teams = teams.to_vec();
    teams.sort();
    teams.dedup();
    teams
        .iter()
        .map(TeamId::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_team_list(s: &str) -> Option<Vec<TeamId>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect()
}

fn read_team_list<D: ReadDoc>(doc: &D, key: &str) -> Result<Vec<TeamId>, SchemaError> {
    parse_team_list(&read_str(doc, &ROOT, key, "")?)
        .ok_or_else(|| SchemaError::Malformed(key.to_owned()))
}

/// The TLP label and audience, or `None` when the document does not hold a
/// readable label (the caller then treats it as RED for the owner alone).
pub(crate) fn distribution(doc: &Automerge) -> Option<(Tlp, Vec<TeamId>)> {
    let tlp = read_enum(doc, &ROOT, "tlp", "", Tlp::from_name).ok()?;
    let audience = read_team_list(doc, "audience").ok()?;
    Some((tlp, audience))
}

/// The co-authors the owner had named in the state at `heads`. A value that
/// does not parse names nobody.
pub(crate) fn co_authors_at(doc: &Automerge, heads: &[AmHash]) -> Vec<TeamId> {
    match doc.get_at(&ROOT, "co_authors", heads) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().and_then(parse_team_list).unwrap_or_default(),
        _ => vec![],
    }
}

impl Schema for Advisory {
    const KIND: DocKind = DocKind::Advisory;
}

impl sealed::Sealed for Advisory {
    fn read(doc: &Automerge, doc_ref: &DocRef) -> Result<Self, SchemaError> {
        Ok(Self {
            id: doc_ref.name().to_owned(),
            title: read_str(doc, &ROOT, "title", "")?,
            category: read_enum(doc, &ROOT, "category", "", AdvisoryCategory::from_name)?,
            tlp: read_enum(doc, &ROOT, "tlp", "", Tlp::from_name)?,
            audience: read_team_list(doc, "audience")?,
            co_authors: read_team_list(doc, "co_authors")?,
            severity: read_enum(doc, &ROOT, "severity", "", Severity::from_name)?,
            status: read_enum(doc, &ROOT, "status", "", AdvisoryStatus::from_name)?,
            revisions: read_records(doc, &ROOT, "revisions", "")?,
            cves: read_str_list(doc, &ROOT, "cves", "")?,
            products: read_records(doc, &ROOT, "products", "")?,
            indicators: read_records(doc, &ROOT, "indicators", "")?,
            summary: read_str(doc, &ROOT, "summary", "")?,
            body: read_str(doc, &ROOT, "body", "")?,
            references: read_records(doc, &ROOT, "references", "")?,
            acknowledgements: read_str_list(doc, &ROOT, "acknowledgements", "")?,
        })
    }
}

impl Record for Revision {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "number", &self.number)?;
        put_u64(tx, obj, "date", self.date)?;
        put_str(tx, obj, "summary", &self.summary)
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            number: read_str(doc, obj, "number", at)?,
            date: read_u64(doc, obj, "date", at)?,
            summary: read_str(doc, obj, "summary", at)?,
        })
    }
}

impl Record for Product {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "vendor", &self.vendor)?;
        put_str(tx, obj, "product", &self.product)?;
        put_str_list(tx, obj, "versions", &self.versions)
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            vendor: read_str(doc, obj, "vendor", at)?,
            product: read_str(doc, obj, "product", at)?,
            versions: read_str_list(doc, obj, "versions", at)?,
        })
    }
}

impl Record for Indicator {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "kind", self.kind.name())?;
        put_str(tx, obj, "value", &self.value)
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            kind: read_enum(doc, obj, "kind", at, IndicatorKind::from_name)?,
            value: read_str(doc, obj, "value", at)?,
        })
    }
}

impl Record for Reference {
    fn write<T: Transactable>(&self, tx: &mut T, obj: &ObjId) -> Result<(), AutomergeError> {
        put_str(tx, obj, "url", &self.url)?;
        put_str(tx, obj, "summary", &self.summary)
    }

    fn read<D: ReadDoc>(doc: &D, obj: &ObjId, at: &str) -> Result<Self, SchemaError> {
        Ok(Self {
            url: read_str(doc, obj, "url", at)?,
            summary: read_str(doc, obj, "summary", at)?,
        })
    }
}
