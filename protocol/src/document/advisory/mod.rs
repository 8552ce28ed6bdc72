//! The advisory document: one per advisory, owned by its author team, with
//! co-authors the owner names. Its content is a CSAF document (2.0 or 2.1),
//! the whole tree, kept losslessly as nested Automerge maps, lists and
//! scalars (`tree`), so co-authors' edits merge field by field and a new
//! revision is a diff. Beside it sits trustmesh's envelope (`envelope`):
//! owner-only TLP label, audience, co-authors, sharing groups and the
//! publisher's own bytes; indicators and status.
//!
//! - [`AdvisoryDocument`]: any advisory, its envelope and CSAF tree;
//!   [`AdvisoryView`] reads the tree typed (`view`).
//! - [`Advisory`] and [`Authored`]: the short form of an advisory written in
//!   trustmesh, which becomes a complete CSAF tree (`authored`).
//! - [`CsafImport`] (`csaf_import`) and [`export_csaf`] (`csaf_export`).
//! - `json`: the lossless JSON tree; `limits`: the bounds; `version`:
//!   CSAF version ordering; `severity`: the derived level.
//!
//! The owner alone decides who may read and who may write: the owner-only
//! values are scalars at the root of the document (and one list), and the
//! replica refuses any change by a co-author that touches them
//! (`OWNER_ONLY_KEYS`, `owner_only_objects_at`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use automerge::transaction::Transactable;
use automerge::{Automerge, AutomergeError, ObjId, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::id::{DocKind, DocRef};
use super::schema::{
    Record, Schema, SchemaError, check_count, check_email, check_multiline, check_text, check_url,
    is_hex, put_str, read_enum, read_str, sealed,
};
use crate::identity::TeamId;

mod authored;
mod csaf_export;
mod csaf_import;
mod cvss;
mod envelope;
mod json;
mod limits;
mod severity;
mod time;
pub(crate) mod tree;
mod version;
mod view;

pub use authored::{Authored, AuthoredVulnerability, CATEGORY_NOTE, WITHDRAWN_NOTE};
pub use csaf_export::{
    CONVERSIONS, CSAF_21_SCHEMA, EXPORT_SETS, ExportRule, INDICATORS_NOTE, Publisher,
    SHARING_GROUP_NAME, TLP_URL, tlp_label_2_0,
};
pub use csaf_import::{CsafImport, CsafVersion, ImportError, TlpSource, tlp_of_label};
pub use cvss::Cvss3;
pub use envelope::{ADVISORY_FORMAT, Envelope, Origin, Original, SharingGroup};
pub use json::{Json, JsonError, Number};
pub use limits::Limit;
pub use severity::{LevelSource, level_of_text};
pub use time::{parse_rfc3339, rfc3339};
pub use version::TrackingVersion;
pub use view::{
    AcknowledgmentView, AdvisoryView, BranchView, CweView, FlagView, GroupView, NoteView,
    ProductRef, ProductTreeView, ProductView, PublisherView, ReferenceView, RelationshipView,
    RemediationView, RevisionView, ScoreView, SeverityView, StatusGroup, StatusView, ThreatView,
    TrackingView, VulnerabilityView,
};

pub(crate) use csaf_import::{check_newer, check_signature, names, prepare, resolve_tlp};
pub(crate) use envelope::{
    CSAF, OWNER_ONLY_KEYS, STATUS as STATUS_KEY, co_authors_at, distribution, original_bytes,
    plan_envelope, protected_at, values as envelope_values,
};

const MAX_AUDIENCE: usize = 1000;

/// Whether moving an advisory from `held` to `new` would send its history
/// to teams that did not receive it: a restricted advisory that becomes
/// unrestricted, or whose audience gains a team.
pub(crate) fn widens(held: &Envelope, new: &Envelope) -> bool {
    held.tlp.is_restricted()
        && (!new.tlp.is_restricted() || new.audience.iter().any(|t| !held.audience.contains(t)))
}
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

    /// The label as TLP 2.0 writes it: CLEAR, GREEN, AMBER, AMBER+STRICT,
    /// RED.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "CLEAR",
            Tlp::Green => "GREEN",
            Tlp::Amber => "AMBER",
            Tlp::AmberStrict => "AMBER+STRICT",
            Tlp::Red => "RED",
        }
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
        check_distribution(owner, self.tlp, &self.audience, &self.co_authors)?;
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
        authored::check_products("products", &self.products)?;
        check_indicators(&self.indicators)?;
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
}

/// Checks who may read and write: co-authors (never the owner), and an
/// audience including the owner and every co-author for AMBER,
/// AMBER+STRICT and RED, none for CLEAR and GREEN.
pub(crate) fn check_distribution(
    owner: &TeamId,
    tlp: Tlp,
    audience: &[TeamId],
    co_authors: &[TeamId],
) -> Result<(), SchemaError> {
    check_count("co authors", co_authors.len(), MAX_CO_AUTHORS)?;
    if co_authors.contains(owner) {
        return Err(SchemaError::invalid(
            "co authors",
            "must not include the owner",
        ));
    }
    check_count("audience", audience.len(), MAX_AUDIENCE)?;
    if tlp.is_restricted() {
        if !audience.contains(owner) {
            return Err(SchemaError::invalid(
                "audience",
                "must include the owner for tlp amber, amber_strict and red",
            ));
        }
        if co_authors.iter().any(|c| !audience.contains(c)) {
            return Err(SchemaError::invalid(
                "audience",
                "must include every co-author",
            ));
        }
    } else if !audience.is_empty() {
        return Err(SchemaError::invalid(
            "audience",
            "must be empty for tlp clear and green, which go to every member",
        ));
    }
    Ok(())
}

pub(crate) fn check_indicators(indicators: &[Indicator]) -> Result<(), SchemaError> {
    check_count("indicators", indicators.len(), 1000)?;
    for (i, ioc) in indicators.iter().enumerate() {
        ioc.validate(&format!("indicators[{i}].value"))?;
    }
    Ok(())
}

/// Any advisory: its envelope and its CSAF tree.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryDocument {
    /// The document's name: the tracking id, or for an imported document
    /// whose tracking id another advisory of the owner holds, a variant.
    pub id: String,
    /// The team that owns it.
    pub owner: TeamId,
    /// trustmesh's envelope.
    pub envelope: Envelope,
    /// The CSAF tree.
    pub csaf: Json,
    /// False while a write that spans several changes is still arriving:
    /// the tree is then incomplete.
    pub complete: bool,
}

impl AdvisoryDocument {
    /// The typed view of the tree.
    pub fn view(&self) -> AdvisoryView {
        AdvisoryView::of(&self.csaf)
    }

    /// The CSAF version of the tree.
    pub fn csaf_version(&self) -> Option<CsafVersion> {
        self.csaf
            .pointer("/document/csaf_version")
            .and_then(Json::as_str)
            .and_then(CsafVersion::from_name)
    }

    /// The advisory as a CSAF document of `version` (see [`export_csaf`]).
    pub fn export_csaf(&self, version: CsafVersion, publisher: Option<&Publisher>) -> Json {
        export_csaf(self, version, publisher)
    }

    /// The short form of an advisory written in trustmesh.
    pub fn authored(&self) -> Result<Authored, SchemaError> {
        if self.envelope.origin != Origin::Authored {
            return Err(SchemaError::NotAuthored);
        }
        Authored::from_csaf(&self.csaf, &self.id, &self.envelope)
    }

    /// The document `authored` becomes when `owner` publishes it, without
    /// a replica: for exports of a form that is not stored.
    pub fn from_authored(authored: &Authored, owner: TeamId) -> Self {
        let a = &authored.advisory;
        let mut envelope = Envelope {
            tlp: a.tlp,
            audience: a.audience.clone(),
            co_authors: a.co_authors.clone(),
            indicators: a.indicators.clone(),
            status: a.status,
            origin: Origin::Authored,
            original: None,
            sharing_groups: vec![],
        };
        envelope.normalize();
        Self {
            id: a.id.clone(),
            owner,
            envelope,
            csaf: authored.to_csaf(&owner),
            complete: true,
        }
    }
}

/// Exports an advisory as CSAF `version`: the tree as held (converted when
/// it is of the other version), with [`EXPORT_SETS`] set from the envelope.
/// `publisher` names the owner of an advisory written in trustmesh.
pub fn export_csaf(
    doc: &AdvisoryDocument,
    version: CsafVersion,
    publisher: Option<&Publisher>,
) -> Json {
    csaf_export::export(doc, version, publisher)
}

/// A set of teams as the document stores it: sorted hex keys joined by commas.
pub(crate) fn team_list(teams: &[TeamId]) -> String {
    let mut teams = teams.to_vec();
    teams.sort();
    teams.dedup();
    teams
        .iter()
        .map(TeamId::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn parse_team_list(s: &str) -> Option<Vec<TeamId>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect()
}

/// The CSAF tree at the root key `csaf`; an empty object while a first
/// write is still arriving.
fn read_tree(doc: &Automerge) -> Result<Json, SchemaError> {
    match doc.get(ROOT, CSAF) {
        Ok(Some((automerge::Value::Object(automerge::ObjType::Map), id))) => {
            tree::read(doc, &id, CSAF)
        }
        Ok(None) => Ok(Json::Object(Default::default())),
        _ => Err(SchemaError::Malformed(CSAF.to_owned())),
    }
}

fn is_complete(doc: &Automerge) -> bool {
    doc.get(ROOT, tree::PENDING).ok().flatten().is_none()
}

impl Schema for AdvisoryDocument {
    const KIND: DocKind = DocKind::Advisory;
}

impl sealed::Sealed for AdvisoryDocument {
    fn read(doc: &Automerge, doc_ref: &DocRef) -> Result<Self, SchemaError> {
        Ok(Self {
            id: doc_ref.name().to_owned(),
            owner: doc_ref.owner(),
            envelope: envelope::read(doc)?,
            csaf: read_tree(doc)?,
            complete: is_complete(doc),
        })
    }
}

impl Schema for Authored {
    const KIND: DocKind = DocKind::Advisory;
}

impl sealed::Sealed for Authored {
    fn read(doc: &Automerge, doc_ref: &DocRef) -> Result<Self, SchemaError> {
        let env = envelope::read(doc)?;
        if env.origin != Origin::Authored {
            return Err(SchemaError::NotAuthored);
        }
        Authored::from_csaf(&read_tree(doc)?, doc_ref.name(), &env)
    }
}

impl Schema for Advisory {
    const KIND: DocKind = DocKind::Advisory;
}

/// An advisory written in trustmesh, in its short form (its details per
/// vulnerability: read it as [`Authored`]). An imported advisory has no
/// short form: it reads as [`SchemaError::NotAuthored`].
impl sealed::Sealed for Advisory {
    fn read(doc: &Automerge, doc_ref: &DocRef) -> Result<Self, SchemaError> {
        <Authored as sealed::Sealed>::read(doc, doc_ref).map(|a| a.advisory)
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

#[cfg(test)]
mod tests;
