//! The document layer (DESIGN.md section 4): the contacts directory,
//! advisories and tool registries as Automerge documents, every change
//! signed by its author's team key, and a replica whose materialized
//! documents are a pure function of the stored changes and the membership.
//!
//! - `id`: [`DocKind`], [`DocRef`] and the derived [`DocId`].
//! - `contacts`, `advisory`, `tools`: the typed schemas, with validation;
//!   an advisory holds a whole CSAF document (see `advisory`).
//! - `change`: [`SignedChange`] and its canonical encoding.
//! - `replica`: [`Documents`], which verifies, stores, orders and applies
//!   changes, decides who may receive what (TLP), and makes local edits.
//! - `filter`: [`AdvisoryFilter`], the typed filter readers of advisories
//!   share.

mod advisory;
mod change;
mod contacts;
mod filter;
mod id;
mod replica;
mod schema;
mod tools;

pub use advisory::{
    ADVISORY_FORMAT, AcknowledgmentView, Advisory, AdvisoryCategory, AdvisoryDocument,
    AdvisoryStatus, AdvisoryView, Authored, AuthoredVulnerability, BranchView, CATEGORY_NOTE,
    CONVERSIONS, CSAF_21_SCHEMA, CsafImport, CsafVersion, Cvss3, CweView, EXPORT_SETS, Envelope,
    ExportRule, FlagView, GroupView, INDICATORS_NOTE, ImportError, Indicator, IndicatorKind, Json,
    JsonError, LevelSource, Limit, NoteView, Number, Origin, Original, Product, ProductRef,
    ProductTreeView, ProductView, Publisher, PublisherView, Reference, ReferenceView,
    RelationshipView, RemediationView, Revision, RevisionView, SHARING_GROUP_NAME, ScoreView,
    Severity, SeverityView, SharingGroup, StatusGroup, StatusView, TLP_URL, ThreatView, Tlp,
    TlpSource, TrackingVersion, TrackingView, VulnerabilityView, WITHDRAWN_NOTE, export_csaf,
    is_cve_id, level_of_text, parse_rfc3339, rfc3339, tlp_label_2_0, tlp_of_label,
};
pub use change::{ActorSuffix, ChangeError, MAX_CHANGE_BYTES, SignedChange};
pub use contacts::{Contact, PgpKey, Representative};
pub use filter::{AdvisoryFacts, AdvisoryFilter, TeamSpec};
pub use id::{DocId, DocKind, DocRef};
pub use replica::{
    ChangeStatus, Documents, EditError, Imported, Inserted, RestoreReport, StoredDoc,
};
pub use schema::{Schema, SchemaError};
pub use tools::{Tool, ToolRegistry};

#[cfg(test)]
pub(crate) mod fixtures;
