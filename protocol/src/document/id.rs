//! Document identities: which kind of document, whose, and its name.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::schema::{SchemaError, check_text};
use crate::codec::{DecodeError, Writer};
use crate::identity::TeamId;
use crate::statement::hash_id;

const TAG_DOC_ID: &[u8] = b"trustmesh/v1/doc-id\0";

/// Longest advisory tracking id, in characters.
pub(crate) const MAX_ADVISORY_ID: usize = 128;

/// The three kinds of document a network replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A team's entry in the contacts directory (one per team).
    Contacts,
    /// One advisory (one document per advisory).
    Advisory,
    /// A team's tool registry (one per team).
    Tools,
}

impl DocKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            DocKind::Contacts => 1,
            DocKind::Advisory => 2,
            DocKind::Tools => 3,
        }
    }

    pub(crate) fn from_code(tag: u8) -> Result<Self, DecodeError> {
        match tag {
            1 => Ok(DocKind::Contacts),
            2 => Ok(DocKind::Advisory),
            3 => Ok(DocKind::Tools),
            tag => Err(DecodeError::UnknownTag {
                field: "document kind",
                tag,
            }),
        }
    }

    /// The lowercase name used in messages and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Contacts => "contacts",
            DocKind::Advisory => "advisory",
            DocKind::Tools => "tools",
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

hash_id!(
    /// The id of a document: the SHA-256 of a domain tag, its kind, its
    /// owner and its name (see [`DocRef`]).
    DocId
);

/// What names a document: its kind, its owner and, for an advisory, its
/// tracking id. The [`DocId`] is derived from these, so a change that names
/// a document also proves whose document it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DocRef {
    kind: DocKind,
    owner: TeamId,
    name: String,
}

impl DocRef {
    /// Checks the name: empty for contacts and tools, a tracking id (1 to
    /// 128 characters, no control characters, no surrounding whitespace)
    /// for an advisory.
    pub fn new(kind: DocKind, owner: TeamId, name: impl Into<String>) -> Result<Self, SchemaError> {
        let name = name.into();
        match kind {
            DocKind::Contacts | DocKind::Tools if !name.is_empty() => {
                return Err(SchemaError::invalid(
                    "document name",
                    "must be empty for contacts and tools",
                ));
            }
            DocKind::Advisory => check_tracking_id(&name)?,
            _ => {}
        }
        Ok(Self { kind, owner, name })
    }

    /// The contacts document of `owner`.
    pub fn contacts(owner: TeamId) -> Self {
        Self {
            kind: DocKind::Contacts,
            owner,
            name: String::new(),
        }
    }

    /// The tool registry of `owner`.
    pub fn tools(owner: TeamId) -> Self {
        Self {
            kind: DocKind::Tools,
            owner,
            name: String::new(),
        }
    }

    /// The advisory `id` published by `owner`.
    pub fn advisory(owner: TeamId, id: &str) -> Result<Self, SchemaError> {
        Self::new(DocKind::Advisory, owner, id)
    }

    /// The kind of document.
    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The team that owns the document.
    pub fn owner(&self) -> TeamId {
        self.owner
    }

    /// The advisory tracking id; empty for contacts and tools.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The document's id.
    pub fn id(&self) -> DocId {
        let mut w = Writer::with_prefix(TAG_DOC_ID);
        w.u8(self.kind.code())
            .raw(self.owner.as_bytes())
            .text(&self.name);
        DocId(Sha256::digest(w.finish()).into())
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u8(self.kind.code())
            .raw(self.owner.as_bytes())
            .text(&self.name);
    }
}

impl fmt::Display for DocRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {}", self.kind, self.owner.short())?;
        if !self.name.is_empty() {
            write!(f, " {:?}", self.name)?;
        }
        Ok(())
    }
}

/// Whether `c` may appear in an advisory's document name (see
/// [`check_tracking_id`]).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '+' | '~')
}

/// An advisory's document name: 1 to 128 characters, ASCII letters and
/// digits and `- _ . : + ~`, starting with a letter or digit. That admits
/// the tracking ids publishers use (`RHSA-2024:1234`, `cisco-sa-20180328-smi2`,
/// `WID-SEC-W-2024-0001`, `msrc_CVE-2025-49704`) and keeps names safe in
/// paths and URLs: no `/`, no `..` segment, no spaces, controls or
/// lookalike Unicode. An imported document whose tracking id is none is
/// named after it (see `csaf_import::names`); its tracking id is kept.
pub(crate) fn check_tracking_id(id: &str) -> Result<(), SchemaError> {
    check_text("advisory id", id, MAX_ADVISORY_ID, true)?;
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(SchemaError::invalid(
            "advisory id",
            "must start with a letter or digit",
        ));
    }
    if !id.chars().all(is_name_char) {
        return Err(SchemaError::invalid(
            "advisory id",
            "may hold only ASCII letters, digits and - _ . : + ~",
        ));
    }
    Ok(())
}
