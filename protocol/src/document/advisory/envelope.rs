//! trustmesh's envelope around the CSAF tree: who may read and write the
//! advisory, its indicators and status, where it came from, and for a
//! forwarded document the publisher's own bytes.
//!
//! Stored at the root of the Automerge document, beside the tree at
//! `csaf`:
//!
//! | root key              | value                                        | who writes |
//! |-----------------------|----------------------------------------------|------------|
//! | `format`              | the document format, [`ADVISORY_FORMAT`]     | owner      |
//! | `origin`              | `authored` or `imported`                     | owner      |
//! | `tlp`                 | the TLP 2.0 label                            | owner      |
//! | `audience`            | sorted team ids, comma separated             | owner      |
//! | `co_authors`          | sorted team ids, comma separated             | owner      |
//! | `sharing_groups`      | `uuid=team,team` lines (CSAF 2.1 groups)     | owner      |
//! | `original`            | list of byte chunks: the publisher's bytes   | owner      |
//! | `original_sha256`     | their SHA-256, hex                           | owner      |
//! | `original_sha512`     | their SHA-512, hex                           | owner      |
//! | `original_signature`  | the detached OpenPGP signature (`.asc`)      | owner      |
//! | `status`              | the trustmesh status                         | owner; co-authors all but `withdrawn` |
//! | `indicators`          | list of `{kind, value}` maps                 | owner, co-authors |
//! | `csaf`                | the CSAF tree                                | owner, co-authors |
//! | `pending`             | set while a write spanning changes arrives   | owner, co-authors |
//!
//! Owner-only values are scalars at the root, except `original`, a list
//! whose elements the replica also refuses from co-authors. Inside the
//! tree, `document.tracking.revision_history` is append-only for
//! co-authors: they may add revisions, never change or remove one. So the
//! replica's check of a co-author's change looks at root keys, the
//! `original` list and the revision history only.

use automerge::{Automerge, ChangeHash as AmHash, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

use super::json::{Json, Number};
use super::tree::{Step, Value as StepValue, plan};
use super::{AdvisoryStatus, Indicator, Tlp, parse_team_list, team_list};
use crate::document::schema::{SchemaError, read_enum, read_opt_str, read_records};
use crate::identity::TeamId;

/// The advisory document format this build writes and reads. Format 1 was
/// the simplified advisory before advisories held CSAF trees; its documents
/// read as [`SchemaError::UnsupportedFormat`].
pub const ADVISORY_FORMAT: u64 = 2;

pub(crate) const FORMAT: &str = "format";
pub(crate) const ORIGIN: &str = "origin";
pub(crate) const TLP: &str = "tlp";
pub(crate) const AUDIENCE: &str = "audience";
pub(crate) const CO_AUTHORS: &str = "co_authors";
pub(crate) const SHARING_GROUPS: &str = "sharing_groups";
pub(crate) const ORIGINAL: &str = "original";
pub(crate) const ORIGINAL_SHA256: &str = "original_sha256";
pub(crate) const ORIGINAL_SHA512: &str = "original_sha512";
pub(crate) const ORIGINAL_SIGNATURE: &str = "original_signature";
pub(crate) const STATUS: &str = "status";
pub(crate) const INDICATORS: &str = "indicators";
pub(crate) const CSAF: &str = "csaf";

/// Root keys only the owner may write.
pub(crate) const OWNER_ONLY_KEYS: [&str; 10] = [
    FORMAT,
    ORIGIN,
    TLP,
    AUDIENCE,
    CO_AUTHORS,
    SHARING_GROUPS,
    ORIGINAL,
    ORIGINAL_SHA256,
    ORIGINAL_SHA512,
    ORIGINAL_SIGNATURE,
];

/// Where an advisory's content came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Written in trustmesh ([`super::Advisory`], [`super::Authored`]).
    Authored,
    /// Imported from a CSAF document.
    Imported,
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::Authored => "authored",
            Origin::Imported => "imported",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        match s {
            "authored" => Some(Origin::Authored),
            "imported" => Some(Origin::Imported),
            _ => None,
        }
    }
}

/// What the envelope says of the publisher's own bytes (the bytes
/// themselves: [`crate::Documents::advisory_original`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// SHA-512 of the bytes, lowercase hex.
    pub sha512: String,
    /// The publisher's detached OpenPGP signature, ASCII armored.
    pub signature: Option<String>,
}

impl Original {
    /// The hashes of `bytes`, with `signature`.
    pub fn of(bytes: &[u8], signature: Option<String>) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(bytes)),
            sha512: hex::encode(Sha512::digest(bytes)),
            signature,
        }
    }
}

/// A CSAF 2.1 sharing group: the id minted for one audience.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SharingGroup {
    /// A UUIDv4, lowercase.
    pub id: String,
    /// The audience it names, sorted.
    pub audience: Vec<TeamId>,
}

impl SharingGroup {
    /// A group for `audience` whose UUIDv4 is made of `random` (16 bytes
    /// the caller drew at random: this crate has none).
    pub fn mint(audience: &[TeamId], random: [u8; 16]) -> Self {
        let mut b = random;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        let mut audience = audience.to_vec();
        audience.sort();
        audience.dedup();
        Self {
            id: format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ),
            audience,
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

/// trustmesh's part of an advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The TLP 2.0 label, which decides who receives the advisory.
    pub tlp: Tlp,
    /// Who may receive it when the label is AMBER, AMBER+STRICT or RED
    /// (including the owner and every co-author); empty otherwise. Sorted.
    pub audience: Vec<TeamId>,
    /// Teams the owner lets edit the advisory. Sorted.
    pub co_authors: Vec<TeamId>,
    /// Indicators of compromise.
    pub indicators: Vec<Indicator>,
    /// The trustmesh status.
    pub status: AdvisoryStatus,
    /// Written in trustmesh or imported.
    pub origin: Origin,
    /// For a forwarded document: the publisher's bytes' hashes and
    /// signature.
    pub original: Option<Original>,
    /// The CSAF 2.1 sharing groups minted for the audiences the advisory
    /// has had, sorted by id.
    pub sharing_groups: Vec<SharingGroup>,
}

impl Envelope {
    /// The sharing group of the current audience, if one was minted.
    pub fn sharing_group(&self) -> Option<&SharingGroup> {
        self.sharing_groups
            .iter()
            .find(|g| g.audience == self.audience)
    }

    /// Makes sure the current audience has a sharing group when the label
    /// is restricted, minting one from `random` if needed.
    pub(crate) fn ensure_sharing_group(&mut self, random: [u8; 16]) {
        if self.tlp.is_restricted() && self.sharing_group().is_none() {
            self.sharing_groups
                .push(SharingGroup::mint(&self.audience, random));
            self.sharing_groups.sort();
        }
    }

    /// Sorts and deduplicates the team sets.
    pub(crate) fn normalize(&mut self) {
        for set in [&mut self.audience, &mut self.co_authors] {
            set.sort();
            set.dedup();
        }
    }

    /// The owner-only values, for comparing two versions.
    pub(crate) fn owner_fields(&self) -> (Tlp, String, String) {
        (
            self.tlp,
            team_list(&self.audience),
            team_list(&self.co_authors),
        )
    }
}

fn sharing_text(groups: &[SharingGroup]) -> String {
    groups
        .iter()
        .map(|g| format!("{}={}", g.id, team_list(&g.audience)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_sharing(text: &str) -> Option<Vec<SharingGroup>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (id, teams) = l.split_once('=')?;
            is_uuid(id).then_some(())?;
            Some(SharingGroup {
                id: id.to_owned(),
                audience: parse_team_list(teams)?,
            })
        })
        .collect()
}

/// The JSON values the envelope stores at root keys, to plan their writes.
/// `owner_fields` false leaves out what only the owner writes.
pub(crate) fn values(env: &Envelope, owner_fields: bool) -> Vec<(&'static str, Json)> {
    let mut v = vec![
        (STATUS, Json::from(env.status.name())),
        (
            INDICATORS,
            Json::Array(
                env.indicators
                    .iter()
                    .map(|i| {
                        Json::object([
                            ("kind", Json::from(i.kind.name())),
                            ("value", Json::from(i.value.as_str())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ];
    if owner_fields {
        v.extend([
            (FORMAT, Json::Number(Number::from_u64(ADVISORY_FORMAT))),
            (ORIGIN, Json::from(env.origin.name())),
            (TLP, Json::from(env.tlp.name())),
            (AUDIENCE, Json::from(team_list(&env.audience))),
            (CO_AUTHORS, Json::from(team_list(&env.co_authors))),
            (
                SHARING_GROUPS,
                Json::from(sharing_text(&env.sharing_groups)),
            ),
        ]);
        if let Some(o) = &env.original {
            v.push((ORIGINAL_SHA256, Json::from(o.sha256.as_str())));
            v.push((ORIGINAL_SHA512, Json::from(o.sha512.as_str())));
            if let Some(s) = &o.signature {
                v.push((ORIGINAL_SIGNATURE, Json::from(s.as_str())));
            }
        }
    }
    // Owner-only values first: a document written in several changes has
    // its label in the first, so no change of it travels unlabelled.
    v.reverse();
    v
}

/// Plans the envelope's writes: `values` (from [`values`]), the original
/// bytes, and the deletion of original values the envelope no longer has.
pub(crate) fn plan_envelope<'j>(
    doc: &Automerge,
    values: &'j [(&'static str, Json)],
    env: &Envelope,
    original: Option<&'j [u8]>,
    owner_fields: bool,
    steps: &mut Vec<Step<'j>>,
) {
    for (key, value) in values {
        plan(doc, &ROOT, key, value, steps);
    }
    if !owner_fields {
        return;
    }
    let held = read_opt_str(doc, &ROOT, ORIGINAL_SHA256, "").ok().flatten();
    match (&env.original, original) {
        (Some(o), Some(bytes)) if held.as_deref() != Some(o.sha256.as_str()) => {
            steps.push(Step::Put {
                obj: ROOT,
                key: ORIGINAL,
                value: StepValue::Chunks(bytes),
            });
        }
        (None, _) => {
            for key in [ORIGINAL, ORIGINAL_SHA256, ORIGINAL_SHA512] {
                if doc.get(ROOT, key).ok().flatten().is_some() {
                    steps.push(Step::Delete {
                        obj: ROOT,
                        key: key.to_owned(),
                    });
                }
            }
        }
        _ => {}
    }
    let signature = env.original.as_ref().and_then(|o| o.signature.as_ref());
    if signature.is_none() && doc.get(ROOT, ORIGINAL_SIGNATURE).ok().flatten().is_some() {
        steps.push(Step::Delete {
            obj: ROOT,
            key: ORIGINAL_SIGNATURE.to_owned(),
        });
    }
}

fn read_teams(doc: &Automerge, key: &str) -> Result<Vec<TeamId>, SchemaError> {
    parse_team_list(&read_opt_str(doc, &ROOT, key, "")?.unwrap_or_default())
        .ok_or_else(|| SchemaError::Malformed(key.to_owned()))
}

/// The document format at the root: 1 for documents without one.
pub(crate) fn format(doc: &Automerge) -> u64 {
    match doc.get(ROOT, FORMAT) {
        Ok(Some((Value::Scalar(s), _))) => s.as_u64().unwrap_or(0),
        Ok(Some(_)) => 0,
        _ => 1,
    }
}

/// Reads the envelope.
pub(crate) fn read(doc: &Automerge) -> Result<Envelope, SchemaError> {
    let format = format(doc);
    if format != ADVISORY_FORMAT {
        return Err(SchemaError::UnsupportedFormat(format));
    }
    let original = match read_opt_str(doc, &ROOT, ORIGINAL_SHA256, "")? {
        None => None,
        Some(sha256) => Some(Original {
            sha256,
            sha512: read_opt_str(doc, &ROOT, ORIGINAL_SHA512, "")?.unwrap_or_default(),
            signature: read_opt_str(doc, &ROOT, ORIGINAL_SIGNATURE, "")?,
        }),
    };
    let sharing = read_opt_str(doc, &ROOT, SHARING_GROUPS, "")?.unwrap_or_default();
    Ok(Envelope {
        tlp: read_enum(doc, &ROOT, TLP, "", |s| s.parse::<Tlp>().ok())?,
        audience: read_teams(doc, AUDIENCE)?,
        co_authors: read_teams(doc, CO_AUTHORS)?,
        indicators: read_records(doc, &ROOT, INDICATORS, "")?,
        status: read_enum(doc, &ROOT, STATUS, "", |s| s.parse::<AdvisoryStatus>().ok())?,
        origin: read_enum(doc, &ROOT, ORIGIN, "", Origin::from_name)?,
        original,
        sharing_groups: parse_sharing(&sharing)
            .ok_or_else(|| SchemaError::Malformed(SHARING_GROUPS.to_owned()))?,
    })
}

/// The publisher's bytes as stored, checked against the owner's SHA-256
/// and SHA-512; `None` when the advisory holds none.
pub(crate) fn original_bytes(doc: &Automerge) -> Result<Option<Vec<u8>>, SchemaError> {
    let Some((Value::Object(ObjType::List), list)) = doc.get(ROOT, ORIGINAL).ok().flatten() else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    for item in doc.list_range(&list, ..) {
        match item.value {
            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Bytes(b)) => {
                bytes.extend_from_slice(&b);
            }
            _ => return Err(SchemaError::Malformed(ORIGINAL.to_owned())),
        }
    }
    let env = read(doc)?;
    let o = env
        .original
        .ok_or_else(|| SchemaError::Malformed(ORIGINAL_SHA256.to_owned()))?;
    let check = Original::of(&bytes, None);
    if check.sha256 != o.sha256 || check.sha512 != o.sha512 {
        return Err(SchemaError::Malformed(
            "original (the bytes do not match their hashes)".to_owned(),
        ));
    }
    Ok(Some(bytes))
}

/// The TLP label and audience, or `None` when the document does not hold a
/// readable label (the caller then treats it as RED for the owner alone).
pub(crate) fn distribution(doc: &Automerge) -> Option<(Tlp, Vec<TeamId>)> {
    let tlp = read_enum(doc, &ROOT, TLP, "", |s| s.parse::<Tlp>().ok()).ok()?;
    let audience = read_teams(doc, AUDIENCE).ok()?;
    Some((tlp, audience))
}

/// The co-authors the owner had named in the state at `heads`. A value that
/// does not parse names nobody.
pub(crate) fn co_authors_at(doc: &Automerge, heads: &[AmHash]) -> Vec<TeamId> {
    match doc.get_at(&ROOT, CO_AUTHORS, heads) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().and_then(parse_team_list).unwrap_or_default(),
        _ => vec![],
    }
}

/// What a co-author may not touch, in the state at `heads`.
#[derive(Debug, Default)]
pub(crate) struct Protected {
    /// Objects inside which only the owner may write: the list of the
    /// original's bytes and every revision history entry.
    pub frozen: Vec<ObjId>,
    /// Lists a co-author may only insert into: the revision history.
    pub append_only: Vec<ObjId>,
}

/// The objects a co-author's change may not write in (see [`Protected`]).
pub(crate) fn protected_at(doc: &Automerge, heads: &[AmHash]) -> Protected {
    let mut p = Protected::default();
    let object = |obj: &ObjId, key: &str| match doc.get_at(obj, key, heads) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    };
    if let Some(id) = object(&ROOT, ORIGINAL) {
        p.frozen.push(id);
    }
    let history = object(&ROOT, CSAF)
        .and_then(|c| object(&c, "document"))
        .and_then(|d| object(&d, "tracking"))
        .and_then(|t| object(&t, "revision_history"));
    if let Some(list) = history {
        for i in 0..doc.length_at(&list, heads) {
            if let Ok(Some((Value::Object(_), entry))) = doc.get_at(&list, i, heads) {
                p.frozen.push(entry);
            }
        }
        p.append_only.push(list);
    }
    p
}
