//! trustmesh-protocol: the sans-IO core of trustmesh.
//!
//! Team identities, the signed statements that found a network and change
//! its membership, and membership itself as a pure function of a statement
//! set. Nothing here performs I/O, reads a clock or draws randomness: callers
//! pass time and key material in, so the node and the simulator run the same
//! code.
//!
//! ```
//! use std::collections::BTreeMap;
//! use trustmesh_protocol::{
//!     Application, CharterBody, Charter, Founder, Introduction, Policy, Profile,
//!     SignedStatement, Statement, StatementSet, TeamKey, TeamKind,
//! };
//!
//! let profile = |name: &str| Profile {
//!     name: name.into(), short_name: name.into(), country: "NL".into(),
//!     kind: TeamKind::National, constituency: String::new(),
//!     email: String::new(), website: String::new(),
//! };
//! let founders: Vec<TeamKey> = (1..=2).map(|i| TeamKey::from_secret_bytes([i; 32])).collect();
//! let body = CharterBody::new(
//!     "example",
//!     0,
//!     founders.iter().map(|k| Founder { id: k.id(), profile: profile("F") }).collect(),
//!     Policy::default(),
//! )?;
//! let sigs: BTreeMap<_, _> = founders.iter().map(|k| (k.id(), body.sign(k).unwrap())).collect();
//! let charter = Charter::seal(body, &sigs)?;
//! let network = charter.network_id();
//!
//! let applicant = TeamKey::from_secret_bytes([9; 32]);
//! let app = SignedStatement::sign(
//!     Statement::Application(Application {
//!         network, applicant: applicant.id(), created_at: 1, profile: profile("New"),
//!     }),
//!     &applicant,
//! )?;
//! let mut set = StatementSet::new(charter);
//! set.insert(app.clone())?;
//! for sponsor in &founders {
//!     let intro = Statement::Introduction(Introduction {
//!         network, sponsor: sponsor.id(), applicant: applicant.id(),
//!         application: app.id(), created_at: 2, note: String::new(),
//!     });
//!     set.insert(SignedStatement::sign(intro, sponsor)?)?;
//! }
//! assert!(set.membership().is_member(&applicant.id()));
//! # Ok::<(), trustmesh_protocol::StatementError>(())
//! ```

#![deny(missing_docs)]

mod codec;
mod document;
mod guard;
mod identity;
mod join;
mod membership;
mod peers;
pub mod reconcile;
mod statement;
mod store;
mod sync;
mod wire;

pub use codec::{DecodeError, MAX_LIST, MAX_TEXT};
pub use document::{
    ADVISORY_FORMAT, AcknowledgmentView, ActorSuffix, Advisory, AdvisoryCategory, AdvisoryDocument,
    AdvisoryFacts, AdvisoryFilter, AdvisoryStatus, AdvisoryView, Authored, AuthoredVulnerability,
    BranchView, CATEGORY_NOTE, CONVERSIONS, CSAF_21_SCHEMA, ChangeError, ChangeStatus, Contact,
    CsafImport, CsafVersion, Cvss3, CweView, DocId, DocKind, DocRef, Documents, EXPORT_SETS,
    EditError, Envelope, ExportRule, FlagView, GroupView, INDICATORS_NOTE, ImportError, Imported,
    Indicator, IndicatorKind, Inserted, Json, JsonError, LevelSource, Limit, MAX_CHANGE_BYTES,
    NoteView, Number, Origin, Original, PgpKey, Product, ProductRef, ProductTreeView, ProductView,
    Publisher, PublisherView, Reference, ReferenceView, RelationshipView, RemediationView,
    Representative, RestoreReport, Revision, RevisionView, SHARING_GROUP_NAME, Schema, SchemaError,
    ScoreView, Severity, SeverityView, SharingGroup, SignedChange, StatusGroup, StatusView,
    StoredDoc, TLP_URL, TeamSpec, ThreatView, Tlp, TlpSource, Tool, ToolRegistry, TrackingVersion,
    TrackingView, VulnerabilityView, WITHDRAWN_NOTE, export_csaf, is_cve_id, level_of_text,
    parse_rfc3339, rfc3339, tlp_label_2_0, tlp_of_label,
};
pub use guard::{Guard, GuardConfig, GuardStats, GuardedPeer};
pub use identity::{IdentityError, Signature, TeamId, TeamKey};
pub use join::{JoinRequest, JoinResponse, MAX_ADMISSION_STATEMENTS, MAX_JOIN_STATEMENTS};
pub use membership::{
    Ignored, IntroductionNote, Membership, RevocationNote, Standing, StatementSet, Status,
};
pub use peers::{
    Address, DialPlan, MAX_ADDRESS_BYTES, MAX_ADDRESSES, MAX_OFFER, PEER_RECORD_VERSION, PeerBook,
    PeerRecord, PeerStats, PeersConfig, PeersError, decode_records, encode_records,
};
pub use statement::{
    Application, ChangeHash, Charter, CharterBody, FORMAT_VERSION, Founder, Introduction,
    NetworkId, Policy, Profile, Revocation, SignedStatement, Statement, StatementError,
    StatementId, TeamKind,
};
pub use store::{ChangeSource, Loaded, MemStore, SharedStore, SourceError, Store, StoredIndex};
pub use sync::{
    AdvisoryUpdate, Config, Destination, Event, Frontier, JoinOutcome, Millis, Node, NodeError,
    OpenReport, Rejection, Stats, Transmit, Verdict,
};
pub use wire::{
    DocClaims, MAX_DOC_SYNCS, MAX_ITEMS, MAX_MESSAGE_BYTES, Message, MessageError, SyncClaims, Want,
};

/// Whether `c` is a bidirectional formatting character (the embeddings,
/// overrides and isolates of Unicode's bidirectional algorithm, and the
/// implicit marks): refused in one-line fields such as titles, names and
/// ids, where they make text display other than it reads.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod fixtures;
