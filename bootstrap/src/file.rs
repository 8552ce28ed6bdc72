//! The files people pass around to found and join a network.
//!
//! Each file is JSON with a `format` tag. Signed files carry the canonical
//! signed bytes (`signed`, hex) and, beside them, the same content as
//! readable fields so a person can review what they are asked to sign or
//! import. Reading a file checks the signature and that every readable field
//! agrees with the signed bytes, so an edited readable field is an error
//! rather than a misleading display.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use trustmesh_protocol::{
    Application, ChangeHash, Charter, CharterBody, Founder, Introduction, NetworkId, Policy,
    Profile, Revocation, Signature, SignedStatement, Statement, StatementError, StatementId,
    TeamId, TeamKey,
};

/// Why a file could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file is not valid JSON of a known format.
    #[error("not a trustmesh file: {0}")]
    Json(#[from] serde_json::Error),
    /// A hex field does not decode.
    #[error("field {field} is not valid hex: {source}")]
    Hex {
        /// The field.
        field: &'static str,
        /// The decoding error.
        source: hex::FromHexError,
    },
    /// The signed content is invalid.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// A readable field disagrees with the signed bytes.
    #[error(
        "the readable fields of this {0} disagree with its signed bytes; the file was edited or damaged"
    )]
    Tampered(&'static str),
    /// The file is of another kind than the operation needs.
    #[error("expected a {expected} file, got a {found} file")]
    WrongKind {
        /// What was needed.
        expected: &'static str,
        /// What the file is.
        found: &'static str,
    },
    /// A file belongs to a different network than the charter at hand.
    #[error("this {what} is for network {found}, not {expected}")]
    WrongNetwork {
        /// The kind of file.
        what: &'static str,
        /// The network of the charter at hand.
        expected: NetworkId,
        /// The network the file names.
        found: NetworkId,
    },
}

/// Any trustmesh file.
// Files are read one at a time from disk; boxing the larger variants would
// only complicate matching on them.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "format")]
pub enum TrustFile {
    /// A team's public identity card (unsigned), from which founders are listed.
    #[serde(rename = "trustmesh/card/v1")]
    Card(CardFile),
    /// A charter being signed by its founders.
    #[serde(rename = "trustmesh/charter-draft/v1")]
    CharterDraft(CharterDraftFile),
    /// A sealed charter: the network's genesis.
    #[serde(rename = "trustmesh/charter/v1")]
    Charter(CharterFile),
    /// A team's application to join.
    #[serde(rename = "trustmesh/application/v1")]
    Application(ApplicationFile),
    /// A sponsor's introduction of an applicant, with the application.
    #[serde(rename = "trustmesh/introduction/v1")]
    Introduction(IntroductionFile),
    /// A revocation.
    #[serde(rename = "trustmesh/revocation/v1")]
    Revocation(RevocationFile),
}

impl TrustFile {
    /// Parses and fully checks a file.
    pub fn parse(json: &str) -> Result<Self, FileError> {
        let file: TrustFile = serde_json::from_str(json)?;
        file.check()?;
        Ok(file)
    }

    /// The file as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing these plain structs to a string cannot fail.
        serde_json::to_string_pretty(self).expect("trust files serialize") + "\n"
    }

    /// A lowercase name of the file's kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            TrustFile::Card(_) => "card",
            TrustFile::CharterDraft(_) => "charter draft",
            TrustFile::Charter(_) => "charter",
            TrustFile::Application(_) => "application",
            TrustFile::Introduction(_) => "introduction",
            TrustFile::Revocation(_) => "revocation",
        }
    }

    fn check(&self) -> Result<(), FileError> {
        match self {
            TrustFile::Card(c) => c.check(),
            TrustFile::CharterDraft(d) => d.body().and_then(|b| d.check_signatures(&b)),
            TrustFile::Charter(c) => c.charter().map(drop),
            TrustFile::Application(a) => a.statement().map(drop),
            TrustFile::Introduction(i) => i.statements().map(drop),
            TrustFile::Revocation(r) => r.statement().map(drop),
        }
    }

    /// The signed statements this file carries, for importing into a store.
    pub fn statements(&self) -> Result<Vec<SignedStatement>, FileError> {
        Ok(match self {
            TrustFile::Card(_) | TrustFile::CharterDraft(_) | TrustFile::Charter(_) => vec![],
            TrustFile::Application(a) => vec![a.statement()?],
            TrustFile::Introduction(i) => {
                let (app, intro) = i.statements()?;
                vec![app, intro]
            }
            TrustFile::Revocation(r) => vec![r.statement()?],
        })
    }

    /// A few lines saying what the file says, for a person.
    pub fn describe(&self) -> String {
        let profile_line = |p: &Profile| {
            format!(
                "{} ({}), {}, {} team",
                p.name, p.short_name, p.country, p.kind
            )
        };
        match self {
            TrustFile::Card(c) => format!(
                "team card\n  team     {}\n  peer id  {}\n  profile  {}\n",
                c.team_id,
                c.peer_id,
                profile_line(&c.profile)
            ),
            TrustFile::CharterDraft(d) => {
                let mut s = format!(
                    "charter draft \"{}\"\n  network  {}\n  policy   {} sponsors to join, {} revokers to revoke\n",
                    d.name, d.network_id, d.policy.sponsors_required, d.policy.revocation_quorum
                );
                for f in &d.founders {
                    let signed = if d.signatures.contains_key(&f.id) {
                        "signed"
                    } else {
                        "NOT SIGNED YET"
                    };
                    s += &format!(
                        "  founder  {} {} [{signed}]\n",
                        f.id.short(),
                        profile_line(&f.profile)
                    );
                }
                s
            }
            TrustFile::Charter(c) => {
                let mut s = format!(
                    "charter \"{}\" (sealed, every founder signed)\n  network  {}\n  policy   {} sponsors to join, {} revokers to revoke\n",
                    c.name, c.network_id, c.policy.sponsors_required, c.policy.revocation_quorum
                );
                for f in &c.founders {
                    s += &format!("  founder  {} {}\n", f.id.short(), profile_line(&f.profile));
                }
                s
            }
            TrustFile::Application(a) => format!(
                "application (signed by the applicant)\n  network    {}\n  applicant  {}\n  peer id    {}\n  profile    {}\n",
                a.network_id,
                a.applicant,
                a.applicant.peer_id(),
                profile_line(&a.profile)
            ),
            TrustFile::Introduction(i) => format!(
                "introduction (signed by the sponsor)\n  network      {}\n  sponsor      {}\n  applicant    {}\n  application  {}\n  note         {}\n",
                i.network_id, i.sponsor, i.applicant, i.application_id, i.note
            ),
            TrustFile::Revocation(r) => format!(
                "revocation (signed by the revoker)\n  network  {}\n  revoker  {}\n  revoked  {}{}\n  reason   {}\n  keeps    {} introductions, {} document heads\n",
                r.network_id,
                r.revoker,
                r.revoked,
                if r.revoker == r.revoked {
                    " (self-revocation)"
                } else {
                    ""
                },
                r.reason,
                r.kept_introductions.len(),
                r.kept_heads.len()
            ),
        }
    }
}

fn unhex(field: &'static str, s: &str) -> Result<Vec<u8>, FileError> {
    hex::decode(s).map_err(|source| FileError::Hex { field, source })
}

fn unhex_signature(s: &str) -> Result<Signature, FileError> {
    let bytes: [u8; 64] = unhex("signature", s)?
        .try_into()
        .map_err(|_| FileError::Hex {
            field: "signature",
            source: hex::FromHexError::InvalidStringLength,
        })?;
    Ok(Signature::from_bytes(bytes))
}

/// A team's public identity: key, PeerId and profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFile {
    /// The team's key.
    pub team_id: TeamId,
    /// The libp2p PeerId of its node.
    pub peer_id: String,
    /// How it presents itself.
    pub profile: Profile,
}

impl CardFile {
    /// The card of the team holding `key`.
    pub fn new(key: &TeamKey, profile: Profile) -> Self {
        Self {
            team_id: key.id(),
            peer_id: key.id().peer_id(),
            profile,
        }
    }

    fn check(&self) -> Result<(), FileError> {
        self.profile.validate()?;
        if self.peer_id != self.team_id.peer_id() {
            return Err(FileError::Tampered("card"));
        }
        Ok(())
    }
}

/// A charter collecting its founders' signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharterDraftFile {
    /// The id the network will have.
    pub network_id: NetworkId,
    /// The network's name.
    pub name: String,
    /// When it was drafted (Unix seconds).
    pub created_at: u64,
    /// Admission and revocation policy.
    pub policy: Policy,
    /// The founders, sorted by key.
    pub founders: Vec<Founder>,
    /// Signatures collected so far (hex), by founder.
    pub signatures: BTreeMap<TeamId, String>,
}

impl CharterDraftFile {
    /// Drafts a charter from the founders' cards.
    pub fn new(
        name: &str,
        created_at: u64,
        founders: &[CardFile],
        policy: Policy,
    ) -> Result<Self, FileError> {
        for c in founders {
            c.check()?;
        }
        let body = CharterBody::new(
            name,
            created_at,
            founders
                .iter()
                .map(|c| Founder {
                    id: c.team_id,
                    profile: c.profile.clone(),
                })
                .collect(),
            policy,
        )?;
        Ok(Self {
            network_id: body.network_id(),
            name: body.name().to_owned(),
            created_at,
            policy,
            founders: body.founders().to_vec(),
            signatures: BTreeMap::new(),
        })
    }

    /// The body the founders sign, rebuilt from the readable fields and
    /// checked against the network id.
    pub fn body(&self) -> Result<CharterBody, FileError> {
        let body = CharterBody::new(
            &self.name,
            self.created_at,
            self.founders.clone(),
            self.policy,
        )?;
        if body.network_id() != self.network_id || body.founders() != self.founders.as_slice() {
            return Err(FileError::Tampered("charter draft"));
        }
        Ok(body)
    }

    fn check_signatures(&self, body: &CharterBody) -> Result<(), FileError> {
        for (founder, sig) in &self.signatures {
            body.verify_signature(founder, &unhex_signature(sig)?)?;
        }
        Ok(())
    }

    /// Adds the signature of the founder holding `key`.
    pub fn sign(&mut self, key: &TeamKey) -> Result<(), FileError> {
        let body = self.body()?;
        let sig = body.sign(key)?;
        self.signatures.insert(key.id(), sig.to_string());
        Ok(())
    }

    /// Founders who have not signed yet.
    pub fn missing(&self) -> Vec<TeamId> {
        self.founders
            .iter()
            .map(|f| f.id)
            .filter(|id| !self.signatures.contains_key(id))
            .collect()
    }

    /// Seals the charter once every founder has signed.
    pub fn seal(&self) -> Result<CharterFile, FileError> {
        let body = self.body()?;
        let sigs = self
            .signatures
            .iter()
            .map(|(id, s)| Ok((*id, unhex_signature(s)?)))
            .collect::<Result<BTreeMap<_, _>, FileError>>()?;
        Ok(CharterFile::new(&Charter::seal(body, &sigs)?))
    }
}

/// A sealed charter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharterFile {
    /// The network id (hash of the charter body).
    pub network_id: NetworkId,
    /// The network's name.
    pub name: String,
    /// When it was drafted (Unix seconds).
    pub created_at: u64,
    /// Admission and revocation policy.
    pub policy: Policy,
    /// The founders.
    pub founders: Vec<Founder>,
    /// The sealed charter's canonical bytes (hex).
    pub signed: String,
}

impl CharterFile {
    /// The file for a sealed charter.
    pub fn new(charter: &Charter) -> Self {
        let body = charter.body();
        Self {
            network_id: charter.network_id(),
            name: body.name().to_owned(),
            created_at: body.created_at(),
            policy: body.policy(),
            founders: body.founders().to_vec(),
            signed: hex::encode(charter.encode()),
        }
    }

    /// The verified charter.
    pub fn charter(&self) -> Result<Charter, FileError> {
        let charter = Charter::decode(&unhex("signed", &self.signed)?)?;
        if Self::new(&charter) != *self {
            return Err(FileError::Tampered("charter"));
        }
        Ok(charter)
    }
}

/// A signed application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationFile {
    /// The network applied to.
    pub network_id: NetworkId,
    /// The application's statement id.
    pub statement_id: StatementId,
    /// The applicant's key.
    pub applicant: TeamId,
    /// When it applied (Unix seconds).
    pub created_at: u64,
    /// How it presents itself.
    pub profile: Profile,
    /// The signed statement (hex).
    pub signed: String,
}

impl ApplicationFile {
    /// Signs an application to the network `charter` founds.
    pub fn create(
        charter: &Charter,
        key: &TeamKey,
        profile: Profile,
        now: u64,
    ) -> Result<Self, FileError> {
        let st = SignedStatement::sign(
            Statement::Application(Application {
                network: charter.network_id(),
                applicant: key.id(),
                created_at: now,
                profile,
            }),
            key,
        )?;
        Self::from_statement(&st).ok_or(FileError::WrongKind {
            expected: "application",
            found: st.statement().kind_name(),
        })
    }

    fn from_statement(st: &SignedStatement) -> Option<Self> {
        let Statement::Application(a) = st.statement() else {
            return None;
        };
        Some(Self {
            network_id: a.network,
            statement_id: st.id(),
            applicant: a.applicant,
            created_at: a.created_at,
            profile: a.profile.clone(),
            signed: hex::encode(st.encode()),
        })
    }

    /// The verified signed statement.
    pub fn statement(&self) -> Result<SignedStatement, FileError> {
        let st =
            SignedStatement::decode_verified(&unhex("signed", &self.signed)?, &self.network_id)?;
        if Self::from_statement(&st).as_ref() != Some(self) {
            return Err(FileError::Tampered("application"));
        }
        Ok(st)
    }
}

/// A sponsor's introduction, carrying the application it vouches for so the
/// applicant can join with its introductions alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntroductionFile {
    /// The network.
    pub network_id: NetworkId,
    /// The introduction's statement id.
    pub statement_id: StatementId,
    /// The sponsor.
    pub sponsor: TeamId,
    /// The applicant.
    pub applicant: TeamId,
    /// The application vouched for.
    pub application_id: StatementId,
    /// When (Unix seconds).
    pub created_at: u64,
    /// How the sponsor knows the applicant.
    pub note: String,
    /// The signed introduction (hex).
    pub signed: String,
    /// The application it vouches for.
    pub application: ApplicationFile,
}

impl IntroductionFile {
    /// Signs an introduction of `application` by the sponsor holding `key`.
    pub fn create(
        charter: &Charter,
        key: &TeamKey,
        application: &ApplicationFile,
        note: &str,
        now: u64,
    ) -> Result<Self, FileError> {
        let app = application.statement()?;
        if application.network_id != charter.network_id() {
            return Err(FileError::WrongNetwork {
                what: "application",
                expected: charter.network_id(),
                found: application.network_id,
            });
        }
        let st = SignedStatement::sign(
            Statement::Introduction(Introduction {
                network: charter.network_id(),
                sponsor: key.id(),
                applicant: application.applicant,
                application: app.id(),
                created_at: now,
                note: note.to_owned(),
            }),
            key,
        )?;
        Self::from_statements(&app, &st).ok_or(FileError::Tampered("introduction"))
    }

    fn from_statements(app: &SignedStatement, st: &SignedStatement) -> Option<Self> {
        let Statement::Introduction(i) = st.statement() else {
            return None;
        };
        Some(Self {
            network_id: i.network,
            statement_id: st.id(),
            sponsor: i.sponsor,
            applicant: i.applicant,
            application_id: i.application,
            created_at: i.created_at,
            note: i.note.clone(),
            signed: hex::encode(st.encode()),
            application: ApplicationFile::from_statement(app)?,
        })
    }

    /// The verified application and introduction.
    pub fn statements(&self) -> Result<(SignedStatement, SignedStatement), FileError> {
        let app = self.application.statement()?;
        let st =
            SignedStatement::decode_verified(&unhex("signed", &self.signed)?, &self.network_id)?;
        if let Statement::Introduction(i) = st.statement()
            && (i.application != app.id() || i.applicant != self.application.applicant)
        {
            return Err(StatementError::ApplicantMismatch {
                introduced: i.applicant,
                applicant: self.application.applicant,
            }
            .into());
        }
        if Self::from_statements(&app, &st).as_ref() != Some(self) {
            return Err(FileError::Tampered("introduction"));
        }
        Ok((app, st))
    }
}

/// A signed revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationFile {
    /// The network.
    pub network_id: NetworkId,
    /// The revocation's statement id.
    pub statement_id: StatementId,
    /// Who revokes.
    pub revoker: TeamId,
    /// Whose membership is revoked.
    pub revoked: TeamId,
    /// When (Unix seconds).
    pub created_at: u64,
    /// Why.
    pub reason: String,
    /// The revoked key's introductions that stay valid.
    pub kept_introductions: Vec<StatementId>,
    /// The heads of the revoked key's documents that stay valid.
    pub kept_heads: Vec<ChangeHash>,
    /// The signed statement (hex).
    pub signed: String,
}

impl RevocationFile {
    /// Signs a revocation. The frontier lists are sorted and deduplicated.
    pub fn create(
        charter: &Charter,
        key: &TeamKey,
        revoked: TeamId,
        reason: &str,
        now: u64,
        mut kept_introductions: Vec<StatementId>,
        mut kept_heads: Vec<ChangeHash>,
    ) -> Result<Self, FileError> {
        kept_introductions.sort();
        kept_introductions.dedup();
        kept_heads.sort();
        kept_heads.dedup();
        let st = SignedStatement::sign(
            Statement::Revocation(Revocation {
                network: charter.network_id(),
                revoker: key.id(),
                revoked,
                created_at: now,
                reason: reason.to_owned(),
                kept_introductions,
                kept_heads,
            }),
            key,
        )?;
        Self::from_statement(&st).ok_or(FileError::Tampered("revocation"))
    }

    fn from_statement(st: &SignedStatement) -> Option<Self> {
        let Statement::Revocation(r) = st.statement() else {
            return None;
        };
        Some(Self {
            network_id: r.network,
            statement_id: st.id(),
            revoker: r.revoker,
            revoked: r.revoked,
            created_at: r.created_at,
            reason: r.reason.clone(),
            kept_introductions: r.kept_introductions.clone(),
            kept_heads: r.kept_heads.clone(),
            signed: hex::encode(st.encode()),
        })
    }

    /// The verified signed statement.
    pub fn statement(&self) -> Result<SignedStatement, FileError> {
        let st =
            SignedStatement::decode_verified(&unhex("signed", &self.signed)?, &self.network_id)?;
        if Self::from_statement(&st).as_ref() != Some(self) {
            return Err(FileError::Tampered("revocation"));
        }
        Ok(st)
    }
}

/// Checks that a file's statements belong to the network `charter` founds.
pub fn check_network(charter: &Charter, file: &TrustFile) -> Result<(), FileError> {
    let found = match file {
        TrustFile::Card(_) => return Ok(()),
        TrustFile::CharterDraft(d) => d.network_id,
        TrustFile::Charter(c) => c.network_id,
        TrustFile::Application(a) => a.network_id,
        TrustFile::Introduction(i) => i.network_id,
        TrustFile::Revocation(r) => r.network_id,
    };
    if found != charter.network_id() {
        return Err(FileError::WrongNetwork {
            what: file.kind_name(),
            expected: charter.network_id(),
            found,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
