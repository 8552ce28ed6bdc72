//! Signed statements: the charter that founds a network, and the
//! applications, introductions and revocations that change its membership.
//!
//! Every signature covers a domain-separation tag naming the statement kind
//! and version, followed by the canonical encoding of the body, which starts
//! with the network id (the charter's body defines the id, so it is covered
//! by construction). A signature made for one purpose or one network is
//! therefore never valid for another.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::codec::{DecodeError, MAX_LIST, Reader, Writer};
use crate::identity::{Signature, TeamId, TeamKey};

/// The version byte that starts every encoded statement.
pub const FORMAT_VERSION: u8 = 1;

const TAG_CHARTER: &[u8] = b"trustmesh/v1/charter\0";
const TAG_APPLICATION: &[u8] = b"trustmesh/v1/application\0";
const TAG_INTRODUCTION: &[u8] = b"trustmesh/v1/introduction\0";
const TAG_REVOCATION: &[u8] = b"trustmesh/v1/revocation\0";
const TAG_NETWORK_ID: &[u8] = b"trustmesh/v1/network-id\0";
const TAG_STATEMENT_ID: &[u8] = b"trustmesh/v1/statement-id\0";

const KIND_CHARTER: u8 = 0;
const KIND_APPLICATION: u8 = 1;
const KIND_INTRODUCTION: u8 = 2;
const KIND_REVOCATION: u8 = 3;

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps 32 hash bytes.
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The 32 hash bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The first 8 hex digits.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl std::str::FromStr for $name {
            type Err = hex::FromHexError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(s.trim(), &mut bytes)?;
                Ok(Self(bytes))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use hash_id;

hash_id!(
    /// The id of a network: the SHA-256 of its charter body.
    NetworkId
);
hash_id!(
    /// The id of a signed statement: the SHA-256 of its full encoding.
    StatementId
);
hash_id!(
    /// The hash of an Automerge change, kept in a revocation's frontier.
    ChangeHash
);

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The bytes do not decode.
    #[error("malformed statement: {0}")]
    Decode(#[from] DecodeError),
    /// The statement belongs to another network.
    #[error("statement is for network {found}, not {expected}")]
    WrongNetwork {
        /// This network.
        expected: NetworkId,
        /// The network the statement names.
        found: NetworkId,
    },
    /// The signature does not verify under the signer's key.
    #[error("bad signature by {0}")]
    BadSignature(TeamId),
    /// The key used to sign is not the statement's signer.
    #[error("the key {key} cannot sign a statement whose signer is {signer}")]
    WrongKey {
        /// The key offered.
        key: TeamId,
        /// The signer the statement names.
        signer: TeamId,
    },
    /// A sponsor introduced itself.
    #[error("a team cannot introduce itself")]
    SelfIntroduction,
    /// An introduction names a different applicant than its application.
    #[error("the introduction is for {introduced}, but the application is by {applicant}")]
    ApplicantMismatch {
        /// The applicant the introduction names.
        introduced: TeamId,
        /// The key that signed the application.
        applicant: TeamId,
    },
    /// A field is empty, too long or malformed.
    #[error("invalid {field}: {problem}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A founder has not signed the charter.
    #[error("founder {0} has not signed the charter")]
    MissingFounderSignature(TeamId),
    /// A signature was offered by a key that is not a founder.
    #[error("{0} is not a founder of this charter")]
    NotAFounder(TeamId),
    /// The charter's policy cannot work.
    #[error("invalid policy: {0}")]
    InvalidPolicy(&'static str),
}

/// What kind of team this is, as FIRST and Trusted Introducer classify teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TeamKind {
    /// A national CSIRT.
    National,
    /// A government CSIRT.
    Governmental,
    /// A sector CSIRT (energy, finance, health, ...).
    Sector,
    /// A research and education CSIRT.
    Academic,
    /// A commercial or in-house CSIRT.
    Commercial,
    /// A product security incident response team.
    Product,
    /// Any other kind of team.
    Other,
}

impl TeamKind {
    const ALL: [TeamKind; 7] = [
        TeamKind::National,
        TeamKind::Governmental,
        TeamKind::Sector,
        TeamKind::Academic,
        TeamKind::Commercial,
        TeamKind::Product,
        TeamKind::Other,
    ];

    fn code(self) -> u8 {
        match self {
            TeamKind::National => 1,
            TeamKind::Governmental => 2,
            TeamKind::Sector => 3,
            TeamKind::Academic => 4,
            TeamKind::Commercial => 5,
            TeamKind::Product => 6,
            TeamKind::Other => 7,
        }
    }

    fn from_code(tag: u8) -> Result<Self, DecodeError> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == tag)
            .ok_or(DecodeError::UnknownTag {
                field: "team kind",
                tag,
            })
    }

    /// The lowercase name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TeamKind::National => "national",
            TeamKind::Governmental => "governmental",
            TeamKind::Sector => "sector",
            TeamKind::Academic => "academic",
            TeamKind::Commercial => "commercial",
            TeamKind::Product => "product",
            TeamKind::Other => "other",
        }
    }
}

impl fmt::Display for TeamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TeamKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!("unknown team kind {s:?}; one of {}", names.join(", "))
            })
    }
}

/// How a team presents itself to the network: the fields FIRST and Trusted
/// Introducer listings start from. The full contact record is a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The team's full name.
    pub name: String,
    /// Its short name (for example "CERT-XY").
    pub short_name: String,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: String,
    /// What kind of team it is.
    pub kind: TeamKind,
    /// Whom it serves.
    pub constituency: String,
    /// Its main e-mail address (may be empty).
    pub email: String,
    /// Its web site (may be empty).
    pub website: String,
}

fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), StatementError> {
    if required && value.trim().is_empty() {
        return Err(StatementError::InvalidField {
            field,
            problem: "must not be empty",
        });
    }
    if value.chars().count() > max_chars {
        return Err(StatementError::InvalidField {
            field,
            problem: "too long",
        });
    }
    if value.chars().any(char::is_control) {
        return Err(StatementError::InvalidField {
            field,
            problem: "contains control characters",
        });
    }
    if value.chars().any(crate::is_bidi_control) {
        return Err(StatementError::InvalidField {
            field,
            problem: "contains bidirectional formatting characters",
        });
    }
    Ok(())
}

impl Profile {
    /// Checks every field: required fields present, lengths bounded, no
    /// control characters, a two-letter upper-case country code.
    pub fn validate(&self) -> Result<(), StatementError> {
        check_text("name", &self.name, 200, true)?;
        check_text("short name", &self.short_name, 64, true)?;
        check_text("constituency", &self.constituency, 1000, false)?;
        check_text("email", &self.email, 254, false)?;
        check_text("website", &self.website, 512, false)?;
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(StatementError::InvalidField {
                field: "country",
                problem: "must be an ISO 3166-1 alpha-2 code such as DE",
            });
        }
        if !self.email.is_empty() && !self.email.contains('@') {
            return Err(StatementError::InvalidField {
                field: "email",
                problem: "must be an e-mail address",
            });
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.text(&self.name)
            .text(&self.short_name)
            .text(&self.country)
            .u8(self.kind.code())
            .text(&self.constituency)
            .text(&self.email)
            .text(&self.website);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: r.text("profile name")?,
            short_name: r.text("profile short name")?,
            country: r.text("profile country")?,
            kind: TeamKind::from_code(r.u8("profile kind")?)?,
            constituency: r.text("profile constituency")?,
            email: r.text("profile email")?,
            website: r.text("profile website")?,
        })
    }
}

/// The rules a charter sets for admitting and revoking members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// k: introductions from distinct members needed to admit a team.
    pub sponsors_required: u16,
    /// r: revocations from distinct members needed to revoke a team.
    pub revocation_quorum: u16,
}

impl Default for Policy {
    /// Two sponsors, as FIRST asks, and a revocation quorum equal to it.
    fn default() -> Self {
        Self {
            sponsors_required: 2,
            revocation_quorum: 2,
        }
    }
}

/// A founding member named in a charter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Founder {
    /// Its key.
    pub id: TeamId,
    /// How it presents itself.
    pub profile: Profile,
}

/// What the founders sign: the network's name, its founders and its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharterBody {
    name: String,
    created_at: u64,
    founders: Vec<Founder>,
    policy: Policy,
}

impl CharterBody {
    /// Builds a charter body; founders are sorted by key so that every
    /// founder signs the same bytes whatever order they were listed in.
    pub fn new(
        name: impl Into<String>,
        created_at: u64,
        mut founders: Vec<Founder>,
        policy: Policy,
    ) -> Result<Self, StatementError> {
        founders.sort_by_key(|f| f.id);
        let body = Self {
            name: name.into(),
            created_at,
            founders,
            policy,
        };
        body.validate()?;
        Ok(body)
    }

    fn validate(&self) -> Result<(), StatementError> {
        check_text("network name", &self.name, 200, true)?;
        if self.founders.is_empty() {
            return Err(StatementError::InvalidPolicy(
                "a charter needs at least one founder",
            ));
        }
        if self.founders.len() > MAX_LIST {
            return Err(StatementError::InvalidPolicy("too many founders"));
        }
        if self.founders.windows(2).any(|w| w[0].id >= w[1].id) {
            return Err(StatementError::InvalidPolicy(
                "founders must be distinct and sorted by key",
            ));
        }
        for f in &self.founders {
            f.profile.validate()?;
        }
        let k = usize::from(self.policy.sponsors_required);
        if k == 0 {
            return Err(StatementError::InvalidPolicy(
                "sponsors_required must be at least 1",
            ));
        }
        if k > self.founders.len() {
            return Err(StatementError::InvalidPolicy(
                "sponsors_required exceeds the number of founders, so nobody could ever join",
            ));
        }
        if self.policy.revocation_quorum == 0 {
            return Err(StatementError::InvalidPolicy(
                "revocation_quorum must be at least 1",
            ));
        }
        Ok(())
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the charter was drafted (Unix seconds, as the drafter stated it).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The founders, sorted by key.
    pub fn founders(&self) -> &[Founder] {
        &self.founders
    }

    /// The admission and revocation policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn encode_into(&self, w: &mut Writer) {
        w.text(&self.name)
            .u64(self.created_at)
            .u16(self.policy.sponsors_required)
            .u16(self.policy.revocation_quorum)
            .len(self.founders.len());
        for f in &self.founders {
            w.raw(f.id.as_bytes());
            f.profile.encode(w);
        }
    }

    /// The canonical encoding of the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_into(&mut w);
        w.finish()
    }

    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = r.text("network name")?;
        let created_at = r.u64("created at")?;
        let policy = Policy {
            sponsors_required: r.u16("sponsors required")?,
            revocation_quorum: r.u16("revocation quorum")?,
        };
        let n = r.len("founders", MAX_LIST)?;
        let mut founders = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let id = team_id(r, "founder key")?;
            founders.push(Founder {
                id,
                profile: Profile::decode(r)?,
            });
        }
        if founders.windows(2).any(|w| w[0].id >= w[1].id) {
            return Err(DecodeError::NotCanonical("founder list"));
        }
        Ok(Self {
            name,
            created_at,
            founders,
            policy,
        })
    }

    /// The id of the network this charter founds.
    pub fn network_id(&self) -> NetworkId {
        NetworkId(sha256(&[TAG_NETWORK_ID, &self.encode()]))
    }

    fn signing_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_prefix(TAG_CHARTER);
        self.encode_into(&mut w);
        w.finish()
    }

    /// A founder's signature over this body.
    pub fn sign(&self, key: &TeamKey) -> Result<Signature, StatementError> {
        if !self.founders.iter().any(|f| f.id == key.id()) {
            return Err(StatementError::NotAFounder(key.id()));
        }
        Ok(key.sign(&self.signing_bytes()))
    }

    /// Checks one founder's signature.
    pub fn verify_signature(
        &self,
        founder: &TeamId,
        sig: &Signature,
    ) -> Result<(), StatementError> {
        if !self.founders.iter().any(|f| f.id == *founder) {
            return Err(StatementError::NotAFounder(*founder));
        }
        if founder.verify(&self.signing_bytes(), sig) {
            Ok(())
        } else {
            Err(StatementError::BadSignature(*founder))
        }
    }
}

/// A sealed charter: the body signed by every founder. Its network id is
/// the hash of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charter {
    body: CharterBody,
    /// One signature per founder, in founder order.
    signatures: Vec<Signature>,
    id: NetworkId,
}

impl Charter {
    /// Seals a charter from its body and a signature by every founder.
    pub fn seal(
        body: CharterBody,
        signatures: &BTreeMap<TeamId, Signature>,
    ) -> Result<Self, StatementError> {
        body.validate()?;
        for signer in signatures.keys() {
            if !body.founders.iter().any(|f| f.id == *signer) {
                return Err(StatementError::NotAFounder(*signer));
            }
        }
        let mut ordered = Vec::with_capacity(body.founders.len());
        for f in &body.founders {
            let sig = signatures
                .get(&f.id)
                .ok_or(StatementError::MissingFounderSignature(f.id))?;
            body.verify_signature(&f.id, sig)?;
            ordered.push(*sig);
        }
        let id = body.network_id();
        Ok(Self {
            body,
            signatures: ordered,
            id,
        })
    }

    /// The network id.
    pub fn network_id(&self) -> NetworkId {
        self.id
    }

    /// What the founders signed.
    pub fn body(&self) -> &CharterBody {
        &self.body
    }

    /// The founders' signatures, in founder order.
    pub fn signatures(&self) -> impl Iterator<Item = (&TeamId, &Signature)> {
        self.body
            .founders
            .iter()
            .map(|f| &f.id)
            .zip(&self.signatures)
    }

    /// Whether `id` is a founder.
    pub fn is_founder(&self, id: &TeamId) -> bool {
        self.body.founders.iter().any(|f| f.id == *id)
    }

    /// The canonical encoding of the sealed charter.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION).u8(KIND_CHARTER);
        self.body.encode_into(&mut w);
        for sig in &self.signatures {
            w.raw(&sig.0);
        }
        w.finish()
    }

    /// Decodes and fully verifies a sealed charter.
    pub fn decode(bytes: &[u8]) -> Result<Self, StatementError> {
        let mut r = Reader::new(bytes);
        read_header(&mut r, KIND_CHARTER)?;
        let body = CharterBody::decode_from(&mut r)?;
        let mut signatures = BTreeMap::new();
        for f in &body.founders {
            signatures.insert(f.id, Signature(r.array("founder signature")?));
        }
        r.finish()?;
        Self::seal(body, &signatures)
    }
}

/// A team's request to join: its key and profile, signed with that key
/// (proof that it holds the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The network applied to.
    pub network: NetworkId,
    /// The applicant's key.
    pub applicant: TeamId,
    /// When it applied (Unix seconds, as the applicant stated it).
    pub created_at: u64,
    /// How it presents itself.
    pub profile: Profile,
}

/// A sponsor's vouch for an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introduction {
    /// The network.
    pub network: NetworkId,
    /// The member vouching.
    pub sponsor: TeamId,
    /// The team vouched for.
    pub applicant: TeamId,
    /// The application vouched for.
    pub application: StatementId,
    /// When (Unix seconds, as the sponsor stated it).
    pub created_at: u64,
    /// Free text: how the sponsor knows the team.
    pub note: String,
}

/// A statement that a key is no longer a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The network.
    pub network: NetworkId,
    /// Who revokes.
    pub revoker: TeamId,
    /// Whose membership is revoked (the revoker itself for a self-revocation).
    pub revoked: TeamId,
    /// When (Unix seconds, as the revoker stated it).
    pub created_at: u64,
    /// Why.
    pub reason: String,
    /// The revoked key's introductions that remain valid, sorted.
    pub kept_introductions: Vec<StatementId>,
    /// The heads of the revoked key's documents that remain valid, sorted.
    pub kept_heads: Vec<ChangeHash>,
}

/// A membership statement of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// A request to join.
    Application(Application),
    /// A sponsor's vouch.
    Introduction(Introduction),
    /// A revocation.
    Revocation(Revocation),
}

impl Statement {
    /// The key that must sign this statement.
    pub fn signer(&self) -> TeamId {
        match self {
            Statement::Application(a) => a.applicant,
            Statement::Introduction(i) => i.sponsor,
            Statement::Revocation(r) => r.revoker,
        }
    }

    /// The network the statement is for.
    pub fn network(&self) -> NetworkId {
        match self {
            Statement::Application(a) => a.network,
            Statement::Introduction(i) => i.network,
            Statement::Revocation(r) => r.network,
        }
    }

    /// A lowercase name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Statement::Application(_) => "application",
            Statement::Introduction(_) => "introduction",
            Statement::Revocation(_) => "revocation",
        }
    }

    fn kind_and_tag(&self) -> (u8, &'static [u8]) {
        match self {
            Statement::Application(_) => (KIND_APPLICATION, TAG_APPLICATION),
            Statement::Introduction(_) => (KIND_INTRODUCTION, TAG_INTRODUCTION),
            Statement::Revocation(_) => (KIND_REVOCATION, TAG_REVOCATION),
        }
    }

    /// Checks the rules that do not depend on other statements.
    pub fn validate(&self) -> Result<(), StatementError> {
        match self {
            Statement::Application(a) => a.profile.validate(),
            Statement::Introduction(i) => {
                if i.sponsor == i.applicant {
                    return Err(StatementError::SelfIntroduction);
                }
                check_text("note", &i.note, 2000, false)
            }
            Statement::Revocation(r) => {
                check_text("reason", &r.reason, 2000, true)?;
                check_sorted_list("kept introductions", &r.kept_introductions)?;
                check_sorted_list("kept heads", &r.kept_heads)
            }
        }
    }

    fn encode_body(&self, w: &mut Writer) {
        match self {
            Statement::Application(a) => {
                w.raw(a.network.as_bytes())
                    .raw(a.applicant.as_bytes())
                    .u64(a.created_at);
                a.profile.encode(w);
            }
            Statement::Introduction(i) => {
                w.raw(i.network.as_bytes())
                    .raw(i.sponsor.as_bytes())
                    .raw(i.applicant.as_bytes())
                    .raw(i.application.as_bytes())
                    .u64(i.created_at)
                    .text(&i.note);
            }
            Statement::Revocation(r) => {
                w.raw(r.network.as_bytes())
                    .raw(r.revoker.as_bytes())
                    .raw(r.revoked.as_bytes())
                    .u64(r.created_at)
                    .text(&r.reason)
                    .len(r.kept_introductions.len());
                for id in &r.kept_introductions {
                    w.raw(id.as_bytes());
                }
                w.len(r.kept_heads.len());
                for h in &r.kept_heads {
                    w.raw(h.as_bytes());
                }
            }
        }
    }

    fn decode_body(kind: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let network = NetworkId(r.array("network id")?);
        Ok(match kind {
            KIND_APPLICATION => Statement::Application(Application {
                network,
                applicant: team_id(r, "applicant")?,
                created_at: r.u64("created at")?,
                profile: Profile::decode(r)?,
            }),
            KIND_INTRODUCTION => Statement::Introduction(Introduction {
                network,
                sponsor: team_id(r, "sponsor")?,
                applicant: team_id(r, "applicant")?,
                application: StatementId(r.array("application id")?),
                created_at: r.u64("created at")?,
                note: r.text("note")?,
            }),
            KIND_REVOCATION => {
                let revoker = team_id(r, "revoker")?;
                let revoked = team_id(r, "revoked")?;
                let created_at = r.u64("created at")?;
                let reason = r.text("reason")?;
                let kept_introductions = hashes(r, "kept introductions", StatementId)?;
                let kept_heads = hashes(r, "kept heads", ChangeHash)?;
                Statement::Revocation(Revocation {
                    network,
                    revoker,
                    revoked,
                    created_at,
                    reason,
                    kept_introductions,
                    kept_heads,
                })
            }
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "statement kind",
                    tag,
                });
            }
        })
    }

    fn signing_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_prefix(self.kind_and_tag().1);
        self.encode_body(&mut w);
        w.finish()
    }
}

fn check_sorted_list<T: Ord>(field: &'static str, list: &[T]) -> Result<(), StatementError> {
    if list.len() > MAX_LIST {
        return Err(StatementError::InvalidField {
            field,
            problem: "too many entries",
        });
    }
    if list.windows(2).any(|w| w[0] >= w[1]) {
        return Err(StatementError::InvalidField {
            field,
            problem: "must be sorted and without duplicates",
        });
    }
    Ok(())
}

fn hashes<T>(
    r: &mut Reader<'_>,
    field: &'static str,
    wrap: fn([u8; 32]) -> T,
) -> Result<Vec<T>, DecodeError> {
    let n = r.len(field, MAX_LIST)?;
    let mut out = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        out.push(wrap(r.array(field)?));
    }
    Ok(out)
}

fn team_id(r: &mut Reader<'_>, field: &'static str) -> Result<TeamId, DecodeError> {
    TeamId::from_bytes(r.array(field)?).map_err(|_| DecodeError::InvalidKey(field))
}

fn read_header(r: &mut Reader<'_>, expected_kind: u8) -> Result<(), DecodeError> {
    let version = r.u8("version")?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let kind = r.u8("kind")?;
    if kind != expected_kind {
        return Err(DecodeError::UnknownTag {
            field: "statement kind",
            tag: kind,
        });
    }
    Ok(())
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A statement with its signer's signature.
///
/// Immutable and shared: a clone is a reference count, so the statement
/// set, the store and (in the simulator) every node hold one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedStatement(Arc<SignedInner>);

#[derive(Debug, PartialEq, Eq)]
struct SignedInner {
    statement: Statement,
    signature: Signature,
    id: StatementId,
}

impl SignedStatement {
    /// Signs `statement` with `key`, which must be the statement's signer.
    pub fn sign(statement: Statement, key: &TeamKey) -> Result<Self, StatementError> {
        if key.id() != statement.signer() {
            return Err(StatementError::WrongKey {
                key: key.id(),
                signer: statement.signer(),
            });
        }
        statement.validate()?;
        let signature = key.sign(&statement.signing_bytes());
        Ok(Self::assemble(statement, signature))
    }

    fn assemble(statement: Statement, signature: Signature) -> Self {
        let id = StatementId(sha256(&[TAG_STATEMENT_ID, &encode(&statement, &signature)]));
        Self(Arc::new(SignedInner {
            statement,
            signature,
            id,
        }))
    }

    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.0.statement
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.0.signature
    }

    /// The statement's id: the hash of its full encoding.
    pub fn id(&self) -> StatementId {
        self.0.id
    }

    /// The canonical encoding: version, kind, body, signature.
    pub fn encode(&self) -> Vec<u8> {
        encode(&self.0.statement, &self.0.signature)
    }

    /// Decodes the bytes without checking the signature; see [`Self::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let kind = r.u8("kind")?;
        let statement = Statement::decode_body(kind, &mut r)?;
        let signature = Signature(r.array("signature")?);
        r.finish()?;
        Ok(Self::assemble(statement, signature))
    }

    /// Checks everything that does not depend on other statements: the
    /// network, the field rules and the signature.
    pub fn verify(&self, network: &NetworkId) -> Result<(), StatementError> {
        let SignedInner {
            statement,
            signature,
            ..
        } = &*self.0;
        let found = statement.network();
        if found != *network {
            return Err(StatementError::WrongNetwork {
                expected: *network,
                found,
            });
        }
        statement.validate()?;
        let signer = statement.signer();
        if !signer.verify(&statement.signing_bytes(), signature) {
            return Err(StatementError::BadSignature(signer));
        }
        Ok(())
    }

    /// Decodes and verifies in one step.
    pub fn decode_verified(bytes: &[u8], network: &NetworkId) -> Result<Self, StatementError> {
        let s = Self::decode(bytes)?;
        s.verify(network)?;
        Ok(s)
    }
}

/// A signed statement's canonical encoding: version, kind, body, signature.
fn encode(statement: &Statement, signature: &Signature) -> Vec<u8> {
    let (kind, _) = statement.kind_and_tag();
    let mut w = Writer::new();
    w.u8(FORMAT_VERSION).u8(kind);
    statement.encode_body(&mut w);
    w.raw(&signature.0);
    w.finish()
}

#[cfg(test)]
mod tests;
