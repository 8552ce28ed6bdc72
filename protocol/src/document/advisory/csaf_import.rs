//! Importing CSAF 2.0 and 2.1 documents.
//!
//! The importer takes any document the CSAF schemas accept, and the
//! deviations real publishers make: non-standard categories, properties
//! beyond the schema, free-text severities in any language, missing
//! optional parts. It requires only what trustmesh needs to hold the
//! document and to recognise its next revision: a `document` object with
//! `csaf_version` 2.0 or 2.1, `publisher.namespace`, `tracking.id` and
//! `tracking.version`, and a TLP label, from the document or named by the
//! importer (never guessed). Everything else is kept as written.
//!
//! An advisory's identity for import is (publisher namespace, tracking id)
//! under the importing team: importing a document whose identity the team
//! already holds updates that advisory when its `tracking.version` is newer
//! ([`TrackingVersion::precedence`]) and is refused otherwise, naming the
//! revision held.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::Tlp;
use super::json::{Json, JsonError};
use super::limits::Limit;
use super::version::TrackingVersion;
use crate::document::id::{check_tracking_id, is_name_char};
use crate::identity::TeamId;

/// A CSAF document to import, and the importer's choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsafImport<'a> {
    /// The document's bytes (JSON).
    pub json: &'a [u8],
    /// The TLP label to share it under: required when the document has
    /// none; never wider than the document's own.
    pub tlp: Option<Tlp>,
    /// For AMBER, AMBER+STRICT and RED, who may receive it (the importing
    /// team is added). `None` keeps a held advisory's audience.
    pub audience: Option<Vec<TeamId>>,
    /// Teams that may edit it. `None` keeps a held advisory's.
    pub co_authors: Option<Vec<TeamId>>,
    /// Indicators of compromise. `None` keeps a held advisory's.
    pub indicators: Option<Vec<super::Indicator>>,
    /// Keep the publisher's bytes and their hashes, so any member can
    /// check the publisher's signature and export the exact original: for
    /// a third party's document a team forwards.
    pub forwarded: bool,
    /// The publisher's detached OpenPGP signature (`.asc`, ASCII armored)
    /// over the bytes; implies `forwarded`.
    pub signature: Option<String>,
    /// 16 random bytes, from which a CSAF 2.1 sharing group id is minted
    /// if the audience needs a new one (this crate has no randomness).
    pub random: [u8; 16],
}

impl<'a> CsafImport<'a> {
    /// An import of `json` with every choice left to the document.
    pub fn new(json: &'a [u8], random: [u8; 16]) -> Self {
        Self {
            json,
            tlp: None,
            audience: None,
            co_authors: None,
            indicators: None,
            forwarded: false,
            signature: None,
            random,
        }
    }
}

/// Where the label an import used came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlpSource {
    /// The document's `distribution.tlp`.
    Document,
    /// The importer named it.
    Importer,
    /// The advisory held before this revision.
    Held,
}

/// Why a CSAF document could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The bytes are not JSON, or exceed a limit while parsing.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The document exceeds a limit.
    #[error("the document has more than {0}")]
    TooLarge(Limit),
    /// A property trustmesh needs is missing or of the wrong type.
    #[error("not a CSAF document: {field} {problem}")]
    NotCsaf {
        /// Where, as a JSON pointer.
        field: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// `document.csaf_version` is neither 2.0 nor 2.1.
    #[error("csaf_version {0:?} is not supported (2.0 and 2.1 are)")]
    CsafVersion(String),
    /// The document has no TLP label and the importer named none.
    #[error(
        "the document has no TLP label (document.distribution.tlp): name the label to share it under"
    )]
    NoTlp,
    /// The document's TLP label is none trustmesh knows.
    #[error("the document's TLP label {0:?} is not a TLP 1.0 or 2.0 label")]
    UnknownTlp(String),
    /// The importer named a label wider than the document's.
    #[error(
        "the document is TLP:{document}; it cannot be shared as TLP:{requested}, which is wider"
    )]
    Widens {
        /// The document's label.
        document: &'static str,
        /// The label asked for.
        requested: &'static str,
    },
    /// The revision would move a restricted advisory to every member,
    /// widening who receives its history.
    #[error(
        "the advisory held is TLP:{held}; a revision as TLP:{offered} would send its history to every member (start a new advisory instead)"
    )]
    WidensHistory {
        /// The held advisory's label.
        held: &'static str,
        /// The revision's label.
        offered: &'static str,
    },
    /// The revision is not newer than the one held.
    #[error("revision {held} of {id} is held here; {offered} is not newer")]
    NotNewer {
        /// The tracking id.
        id: String,
        /// The held `tracking.version`.
        held: String,
        /// The offered `tracking.version`.
        offered: String,
    },
    /// A version is not integer or semantic versioning, so the revisions
    /// cannot be ordered.
    #[error(
        "revision {held} of {id} is held here and cannot be ordered against {offered} (CSAF versions are integers or semantic versions)"
    )]
    Unordered {
        /// The tracking id.
        id: String,
        /// The held `tracking.version`.
        held: String,
        /// The offered `tracking.version`.
        offered: String,
    },
    /// The detached signature is not an ASCII-armored OpenPGP signature.
    #[error("the detached signature is not an ASCII-armored OpenPGP signature: {0}")]
    Signature(&'static str),
    /// The names this advisory could take are taken by other advisories.
    #[error("the advisory names {0:?} and its variant are taken by other advisories")]
    NameTaken(String),
}

/// Which CSAF version a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CsafVersion {
    /// CSAF 2.0.
    #[serde(rename = "2.0")]
    V2_0,
    /// CSAF 2.1.
    #[serde(rename = "2.1")]
    V2_1,
}

impl CsafVersion {
    /// "2.0" or "2.1".
    pub fn name(self) -> &'static str {
        match self {
            CsafVersion::V2_0 => "2.0",
            CsafVersion::V2_1 => "2.1",
        }
    }

    /// Parses "2.0" or "2.1".
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "2.0" => Some(CsafVersion::V2_0),
            "2.1" => Some(CsafVersion::V2_1),
            _ => None,
        }
    }
}

impl std::fmt::Display for CsafVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The label a CSAF `distribution.tlp.label` names (TLP 1.0 in 2.0,
/// TLP 2.0 in 2.1; either is read in either, in any case, with or without
/// a `TLP:` prefix). CSAF 2.0 has no AMBER+STRICT: an AMBER label whose
/// `distribution.text` says `TLP:AMBER+STRICT` (as trustmesh's 2.0 export
/// writes) reads as AMBER+STRICT.
pub fn tlp_of_label(label: &str, text: Option<&str>) -> Option<Tlp> {
    let upper = label.trim().to_uppercase();
    let name = upper
        .strip_prefix("TLP:")
        .or_else(|| upper.strip_prefix("TLP "))
        .unwrap_or(&upper)
        .trim();
    Some(match name {
        "WHITE" | "CLEAR" => Tlp::Clear,
        "GREEN" => Tlp::Green,
        "AMBER+STRICT" | "AMBER_STRICT" | "AMBER STRICT" => Tlp::AmberStrict,
        "AMBER" if text.is_some_and(|t| t.to_uppercase().contains("TLP:AMBER+STRICT")) => {
            Tlp::AmberStrict
        }
        "AMBER" => Tlp::Amber,
        "RED" => Tlp::Red,
        _ => return None,
    })
}

/// The label of a CSAF tree's `document.distribution`: `Ok(None)` when it
/// has none.
pub(crate) fn document_tlp(tree: &Json) -> Result<Option<Tlp>, ImportError> {
    let Some(d) = tree.pointer("/document/distribution") else {
        return Ok(None);
    };
    let Some(label) = d.pointer("/tlp/label") else {
        return Ok(None);
    };
    let label = label.as_str().ok_or(ImportError::NotCsaf {
        field: "/document/distribution/tlp/label",
        problem: "must be a string",
    })?;
    let text = d.get("text").and_then(Json::as_str);
    tlp_of_label(label, text)
        .map(Some)
        .ok_or_else(|| ImportError::UnknownTlp(label.to_owned()))
}

/// The label to share under: the importer's if named (never wider than the
/// document's), else the document's, else the held advisory's.
pub(crate) fn resolve_tlp(
    document: Option<Tlp>,
    requested: Option<Tlp>,
    held: Option<Tlp>,
) -> Result<(Tlp, TlpSource), ImportError> {
    let (tlp, source) = match (document, requested) {
        (Some(d), Some(r)) if r < d => {
            return Err(ImportError::Widens {
                document: d.label(),
                requested: r.label(),
            });
        }
        (_, Some(r)) => (r, TlpSource::Importer),
        (Some(d), None) => (d, TlpSource::Document),
        (None, None) => match held {
            Some(h) => (h, TlpSource::Held),
            None => return Err(ImportError::NoTlp),
        },
    };
    if let Some(h) = held
        && h.is_restricted()
        && !tlp.is_restricted()
    {
        return Err(ImportError::WidensHistory {
            held: h.label(),
            offered: tlp.label(),
        });
    }
    Ok((tlp, source))
}

/// A parsed document and what identifies it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    pub tree: Json,
    pub version: CsafVersion,
    pub namespace: String,
    pub tracking_id: String,
    pub tracking_version: String,
    pub document_tlp: Option<Tlp>,
}

fn need_str<'j>(
    tree: &'j Json,
    pointer: &'static str,
    non_empty: bool,
) -> Result<&'j str, ImportError> {
    let v = tree.pointer(pointer).ok_or(ImportError::NotCsaf {
        field: pointer,
        problem: "is missing",
    })?;
    let s = v.as_str().ok_or(ImportError::NotCsaf {
        field: pointer,
        problem: "must be a string",
    })?;
    if non_empty && s.trim().is_empty() {
        return Err(ImportError::NotCsaf {
            field: pointer,
            problem: "must not be empty",
        });
    }
    Ok(s)
}

/// Counts the products a product tree defines (`full_product_name`
/// objects: branch leaves, `full_product_names`, relationships).
pub(crate) fn count_products(tree: &Json) -> usize {
    let Some(pt) = tree.get("product_tree") else {
        return 0;
    };
    let mut n = pt.get("full_product_names").map_or(0, |l| l.items().len());
    n += pt
        .get("relationships")
        .map(Json::items)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.get("full_product_name").is_some())
        .count();
    let mut stack: Vec<&Json> = pt
        .get("branches")
        .map(Json::items)
        .unwrap_or_default()
        .iter()
        .collect();
    while let Some(b) = stack.pop() {
        if b.get("product").is_some() {
            n += 1;
        }
        stack.extend(b.get("branches").map(Json::items).unwrap_or_default());
    }
    n
}

/// Parses and checks a document for import.
pub(crate) fn prepare(json: &[u8]) -> Result<Prepared, ImportError> {
    let tree = Json::parse(json)?;
    if tree.as_object().is_none() {
        return Err(ImportError::NotCsaf {
            field: "/",
            problem: "must be an object",
        });
    }
    if tree.get("document").and_then(Json::as_object).is_none() {
        return Err(ImportError::NotCsaf {
            field: "/document",
            problem: "must be an object",
        });
    }
    let version_text = need_str(&tree, "/document/csaf_version", true)?;
    let version = CsafVersion::from_name(version_text)
        .ok_or_else(|| ImportError::CsafVersion(version_text.to_owned()))?;
    let namespace = need_str(&tree, "/document/publisher/namespace", true)?.to_owned();
    let tracking_id = need_str(&tree, "/document/tracking/id", true)?.to_owned();
    let tracking_version = need_str(&tree, "/document/tracking/version", true)?.to_owned();
    if count_products(&tree) > Limit::Products.bound() {
        return Err(ImportError::TooLarge(Limit::Products));
    }
    if tree.get("vulnerabilities").map_or(0, |v| v.items().len()) > Limit::Vulnerabilities.bound() {
        return Err(ImportError::TooLarge(Limit::Vulnerabilities));
    }
    let document_tlp = document_tlp(&tree)?;
    Ok(Prepared {
        tree,
        version,
        namespace,
        tracking_id,
        tracking_version,
        document_tlp,
    })
}

/// Checks a detached signature's shape (not its validity: that needs the
/// publisher's key, which members check themselves).
pub(crate) fn check_signature(s: &str) -> Result<(), ImportError> {
    if s.len() > Limit::SignatureBytes.bound() {
        return Err(ImportError::TooLarge(Limit::SignatureBytes));
    }
    if !s.is_ascii() {
        return Err(ImportError::Signature("it is not ASCII text"));
    }
    let t = s.trim();
    if !t.starts_with("-----BEGIN PGP SIGNATURE-----")
        || !t.ends_with("-----END PGP SIGNATURE-----")
    {
        return Err(ImportError::Signature(
            "it must start with -----BEGIN PGP SIGNATURE----- and end with -----END PGP SIGNATURE-----",
        ));
    }
    Ok(())
}

/// Orders a revision against the one held.
pub(crate) fn check_newer(id: &str, held: &str, offered: &str) -> Result<(), ImportError> {
    let (Some(h), Some(o)) = (
        TrackingVersion::parse(held),
        TrackingVersion::parse(offered),
    ) else {
        return Err(ImportError::Unordered {
            id: id.to_owned(),
            held: held.to_owned(),
            offered: offered.to_owned(),
        });
    };
    if o.precedence(&h) != std::cmp::Ordering::Greater {
        return Err(ImportError::NotNewer {
            id: id.to_owned(),
            held: held.to_owned(),
            offered: offered.to_owned(),
        });
    }
    Ok(())
}

/// The names a new imported advisory may take, in order of preference:
/// its tracking id when that is a valid document name, then a variant
/// that adds a digest of (namespace, tracking id), so two publishers'
/// advisories with one tracking id, or a tracking id too long or odd for a
/// name, still get one.
pub(crate) fn names(namespace: &str, tracking_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    if check_tracking_id(tracking_id).is_ok() {
        out.push(tracking_id.to_owned());
    }
    let mut h = Sha256::new();
    h.update(namespace.as_bytes());
    h.update([0]);
    h.update(tracking_id.as_bytes());
    let digest = hex::encode(&h.finalize()[..4]);
    let stem: String = tracking_id
        .trim()
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .take(100)
        .collect();
    let stem = stem.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    out.push(if stem.is_empty() {
        format!("csaf~{digest}")
    } else {
        format!("{stem}~{digest}")
    });
    out
}
