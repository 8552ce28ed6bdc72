//! The document layer (DESIGN.md section 4): the contacts directory,
//! advisories and tool registries as Automerge documents, every change
//! signed by its author's team key, and a replica whose materialized
//! documents are a pure function of the stored changes and the membership.
//!
//! - `id`: [`DocKind`], [`DocRef`] and the derived [`DocId`].
//! - `contacts`, `advisory`, `tools`: the typed schemas, with validation.
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
    Advisory, AdvisoryCategory, AdvisoryStatus, Indicator, IndicatorKind, Product, Reference,
    Revision, Severity, Tlp, is_cve_id,
};
pub use change::{ActorSuffix, ChangeError, MAX_CHANGE_BYTES, SignedChange};
pub use contacts::{Contact, PgpKey, Representative};
pub use filter::{AdvisoryFilter, TeamSpec};
pub use id::{DocId, DocKind, DocRef};
pub use replica::{ChangeStatus, Documents, EditError, Inserted, RestoreReport};
pub use schema::{Schema, SchemaError};
pub use tools::{Tool, ToolRegistry};

#[cfg(test)]
pub(crate) mod fixtures;
