//! trustmesh-bootstrap: founding a network and joining it.
//!
//! The charter is drafted from the founders' cards, signed by each founder
//! and sealed; an applicant writes an application; each sponsor signs an
//! introduction that carries the application. Every file is JSON a person
//! can read, with the signed bytes inside, and is fully checked on reading.
//!
//! ```
//! use trustmesh_bootstrap::{ApplicationFile, CardFile, CharterDraftFile, IntroductionFile};
//! use trustmesh_protocol::{Policy, Profile, StatementSet, TeamKey, TeamKind};
//!
//! let profile = |n: &str| Profile {
//!     name: n.into(), short_name: n.into(), country: "FI".into(), kind: TeamKind::National,
//!     constituency: String::new(), email: String::new(), website: String::new(),
//! };
//! let (a, b, c) = (TeamKey::from_secret_bytes([1; 32]), TeamKey::from_secret_bytes([2; 32]),
//!                  TeamKey::from_secret_bytes([3; 32]));
//! let cards = [CardFile::new(&a, profile("A")), CardFile::new(&b, profile("B"))];
//! let mut draft = CharterDraftFile::new("nordic", 0, &cards, Policy::default())?;
//! draft.sign(&a)?;
//! draft.sign(&b)?;
//! let charter = draft.seal()?.charter()?;
//!
//! let app = ApplicationFile::create(&charter, &c, profile("C"), 10)?;
//! let mut set = StatementSet::new(charter.clone());
//! for sponsor in [&a, &b] {
//!     let intro = IntroductionFile::create(&charter, sponsor, &app, "known for years", 11)?;
//!     let (application, introduction) = intro.statements()?;
//!     set.insert(application)?;
//!     set.insert(introduction)?;
//! }
//! assert!(set.membership().is_member(&c.id()));
//! # Ok::<(), trustmesh_bootstrap::FileError>(())
//! ```

mod file;

pub use file::{
    ApplicationFile, CardFile, CharterDraftFile, CharterFile, FileError, IntroductionFile,
    RevocationFile, TrustFile, check_network,
};
