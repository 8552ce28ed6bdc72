//! Signed changes: an Automerge change, the document it belongs to, and its
//! author's signature.
//!
//! Encoding (all through the canonical codec):
//!
//! ```text
//! version u8 (1) | kind u8 (16 = signed change)
//! network [32] | doc kind u8 | owner [32] | name text | author [32]
//! change: u32 length + the uncompressed Automerge change chunk
//! signature [64]
//! ```
//!
//! The signature covers `trustmesh/v1/change\0` followed by everything
//! between the header and the signature, so it binds the network, the
//! document (hence its owner) and the author. The Automerge actor id of the
//! change is the author's 32-byte key followed by a 16-byte per-process
//! suffix, so the change itself names its author and two processes of one
//! team never share an actor.

use std::fmt;
use std::sync::Arc;

use automerge::{ActorId, Change};
use thiserror::Error;

use super::id::{DocId, DocKind, DocRef};
use super::schema::SchemaError;
use crate::codec::{DecodeError, Reader, Writer};
use crate::identity::{Signature, TeamId, TeamKey};
use crate::statement::{ChangeHash, FORMAT_VERSION, NetworkId};

/// Largest Automerge change a signed change may carry, in bytes.
pub const MAX_CHANGE_BYTES: usize = 1 << 20;

const TAG_CHANGE: &[u8] = b"trustmesh/v1/change\0";
/// The kind byte after the version; statements use 0 to 3.
const KIND_CHANGE: u8 = 16;
/// Automerge's chunk magic bytes and the chunk type of an uncompressed change.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_TYPE_CHANGE: u8 = 1;
/// Length of an actor id: the author's key and a per-process suffix.
const ACTOR_LEN: usize = 32 + 16;

/// Why a signed change was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// The envelope does not decode.
    #[error("malformed signed change: {0}")]
    Decode(#[from] DecodeError),
    /// The Automerge change inside does not parse, or is not an
    /// uncompressed change chunk in canonical form.
    #[error("malformed automerge change: {0}")]
    MalformedChange(String),
    /// The change is larger than [`MAX_CHANGE_BYTES`].
    #[error("the change has {0} bytes, more than the limit")]
    TooLarge(usize),
    /// The change's actor id is not the author's key and a 16-byte suffix.
    #[error("the change's actor id does not carry the author's key {0}")]
    WrongActor(TeamId),
    /// The Automerge change does not name the document it is signed for
    /// (its message must be the document id), so it could be replayed
    /// into another document.
    #[error("the automerge change does not name the document {0}")]
    WrongDocument(DocId),
    /// The document name is invalid for its kind.
    #[error("invalid document: {0}")]
    InvalidDoc(#[from] SchemaError),
    /// The change belongs to another network.
    #[error("change is for network {found}, not {expected}")]
    WrongNetwork {
        /// This network.
        expected: NetworkId,
        /// The network the change names.
        found: NetworkId,
    },
    /// The signature does not verify under the author's key.
    #[error("bad signature by {0}")]
    BadSignature(TeamId),
    /// The author may never write this document (contacts and tools are
    /// written by their owner alone).
    #[error("{author} may not write the {doc}")]
    NotOwner {
        /// The author.
        author: TeamId,
        /// The document.
        doc: DocRef,
    },
}

/// The per-process part of an Automerge actor id. The caller draws it at
/// random once per process (this crate has no randomness), so two
/// processes of one team never share an actor.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorSuffix([u8; 16]);

impl ActorSuffix {
    /// Wraps 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for ActorSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActorSuffix({})", hex::encode(self.0))
    }
}

/// The Automerge actor id of `author`'s process `suffix`.
pub(crate) fn actor_id(author: &TeamId, suffix: &ActorSuffix) -> ActorId {
    let mut bytes = Vec::with_capacity(ACTOR_LEN);
    bytes.extend_from_slice(author.as_bytes());
    bytes.extend_from_slice(&suffix.0);
    ActorId::from(bytes)
}

/// An Automerge change signed by its author for one document of one network.
///
/// Immutable once made and shared: a clone is a reference count, so the
/// replica, the store's write batch, the outbox and (in the simulator)
/// every node that received it hold one copy of its parsed bytes.
#[derive(Clone)]
pub struct SignedChange(Arc<Inner>);

struct Inner {
    network: NetworkId,
    doc: DocRef,
    doc_id: DocId,
    author: TeamId,
    change: Change,
    signature: Signature,
}

impl SignedChange {
    /// Signs the Automerge change `change_bytes` (an uncompressed change
    /// chunk whose actor id starts with `key`'s public key) for `doc`.
    pub fn sign(
        network: NetworkId,
        doc: DocRef,
        key: &TeamKey,
        change_bytes: &[u8],
    ) -> Result<Self, ChangeError> {
        let author = key.id();
        let change = parse_change(change_bytes, &author, &doc.id())?;
        let mut inner = Inner {
            network,
            doc_id: doc.id(),
            doc,
            author,
            change,
            signature: Signature::from_bytes([0; 64]),
        };
        inner.signature = key.sign(&inner.signing_bytes());
        Ok(Self(Arc::new(inner)))
    }

    /// The network.
    pub fn network(&self) -> NetworkId {
        self.0.network
    }

    /// The document's kind, owner and name.
    pub fn doc_ref(&self) -> &DocRef {
        &self.0.doc
    }

    /// The document's id.
    pub fn doc(&self) -> DocId {
        self.0.doc_id
    }

    /// The document's kind.
    pub fn kind(&self) -> DocKind {
        self.0.doc.kind()
    }

    /// The document's owner.
    pub fn owner(&self) -> TeamId {
        self.0.doc.owner()
    }

    /// The team that made and signed the change.
    pub fn author(&self) -> TeamId {
        self.0.author
    }

    /// The Automerge change hash.
    pub fn hash(&self) -> ChangeHash {
        ChangeHash::from_bytes(self.0.change.hash().0)
    }

    /// The hashes of the changes this one depends on.
    pub fn deps(&self) -> Vec<ChangeHash> {
        self.0
            .change
            .deps()
            .iter()
            .map(|h| ChangeHash::from_bytes(h.0))
            .collect()
    }

    /// The change's sequence number for its actor (1 for the first).
    pub fn seq(&self) -> u64 {
        self.0.change.seq()
    }

    /// The per-process suffix of the change's actor id.
    pub fn actor_suffix(&self) -> ActorSuffix {
        let mut suffix = [0u8; 16];
        suffix.copy_from_slice(&self.0.change.actor_id().to_bytes()[32..]);
        ActorSuffix(suffix)
    }

    /// The time the author stated (Unix seconds).
    pub fn timestamp(&self) -> i64 {
        self.0.change.timestamp()
    }

    /// The raw Automerge change.
    pub fn change_bytes(&self) -> &[u8] {
        self.0.change.raw_bytes()
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.0.signature
    }

    /// The counter of the change's first operation. Automerge numbers a
    /// change's operations after every operation of its dependencies, so
    /// sorting by it orders changes dependencies first.
    pub fn start_op(&self) -> u64 {
        self.0.change.start_op().get()
    }

    /// The length of [`Self::encode`]'s output, computed without encoding.
    pub fn encoded_len(&self) -> usize {
        // version, kind, network, doc kind, owner, name, author, change, signature
        2 + 32
            + 1
            + 32
            + 4
            + self.0.doc.name().len()
            + 32
            + 4
            + self.0.change.raw_bytes().len()
            + 64
    }

    pub(crate) fn change(&self) -> &Change {
        &self.0.change
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION).u8(KIND_CHANGE);
        self.0.encode_body(&mut w);
        w.raw(&self.0.signature.to_bytes());
        w.finish()
    }

    /// Decodes the bytes and parses the change without checking the
    /// signature; see [`Self::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Self, ChangeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let kind = r.u8("kind")?;
        if kind != KIND_CHANGE {
            return Err(DecodeError::UnknownTag {
                field: "signed change kind",
                tag: kind,
            }
            .into());
        }
        let network = NetworkId::from_bytes(r.array("network id")?);
        let doc_kind = DocKind::from_code(r.u8("document kind")?)?;
        let owner = team_id(&mut r, "owner")?;
        let name = r.text("document name")?;
        let author = team_id(&mut r, "author")?;
        let len = r.len("change", MAX_CHANGE_BYTES)?;
        let change_bytes = r.take(len, "change")?;
        let signature = Signature::from_bytes(r.array("signature")?);
        r.finish()?;
        let doc = DocRef::new(doc_kind, owner, name)?;
        let change = parse_change(change_bytes, &author, &doc.id())?;
        Ok(Self(Arc::new(Inner {
            network,
            doc_id: doc.id(),
            doc,
            author,
            change,
            signature,
        })))
    }

    /// Checks the network and the author's signature.
    pub fn verify(&self, network: &NetworkId) -> Result<(), ChangeError> {
        if self.0.network != *network {
            return Err(ChangeError::WrongNetwork {
                expected: *network,
                found: self.0.network,
            });
        }
        if !self
            .0
            .author
            .verify(&self.0.signing_bytes(), &self.0.signature)
        {
            return Err(ChangeError::BadSignature(self.0.author));
        }
        Ok(())
    }

    /// Decodes and verifies in one step.
    pub fn decode_verified(bytes: &[u8], network: &NetworkId) -> Result<Self, ChangeError> {
        let s = Self::decode(bytes)?;
        s.verify(network)?;
        Ok(s)
    }
}

impl PartialEq for SignedChange {
    fn eq(&self, other: &Self) -> bool {
        self.0.network == other.0.network
            && self.0.doc == other.0.doc
            && self.0.author == other.0.author
            && self.0.change.raw_bytes() == other.0.change.raw_bytes()
            && self.0.signature == other.0.signature
    }
}

impl Eq for SignedChange {}

impl fmt::Debug for SignedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedChange")
            .field("doc", &self.0.doc)
            .field("author", &self.0.author)
            .field("hash", &self.hash())
            .field("seq", &self.seq())
            .field("deps", &self.deps())
            .finish()
    }
}

impl Inner {
    fn encode_body(&self, w: &mut Writer) {
        w.raw(self.network.as_bytes());
        self.doc.encode(w);
        let bytes = self.change.raw_bytes();
        w.raw(self.author.as_bytes()).len(bytes.len()).raw(bytes);
    }

    fn signing_bytes(&self) -> Vec<u8> {
        let mut w = Writer::with_prefix(TAG_CHANGE);
        self.encode_body(&mut w);
        w.finish()
    }
}

fn team_id(r: &mut Reader<'_>, field: &'static str) -> Result<TeamId, DecodeError> {
    TeamId::from_bytes(r.array(field)?).map_err(|_| DecodeError::InvalidKey(field))
}

fn malformed(problem: &str) -> ChangeError {
    ChangeError::MalformedChange(problem.to_owned())
}

/// Parses an Automerge change and checks that it is an uncompressed change
/// chunk in canonical form, by `author`, with no author footer.
///
/// Compressed chunks are refused before parsing: they could inflate far
/// beyond the size limit, and they would give one change two encodings.
/// The message every change of `doc` carries: its id in hex. It makes the
/// change's bytes, and so its hash, unique to the document: two documents
/// never share a change hash, even when the same team writes the same
/// values into both.
pub(crate) fn change_message(doc: &DocId) -> String {
    doc.to_string()
}

fn parse_change(bytes: &[u8], author: &TeamId, doc: &DocId) -> Result<Change, ChangeError> {
    if bytes.len() > MAX_CHANGE_BYTES {
        return Err(ChangeError::TooLarge(bytes.len()));
    }
    if bytes.len() < 10 || bytes[..4] != CHUNK_MAGIC {
        return Err(malformed("not an automerge chunk"));
    }
    if bytes[8] != CHUNK_TYPE_CHANGE {
        return Err(malformed("not an uncompressed change chunk"));
    }
    // The chunk length is LEB128; a canonical one has no trailing zero group.
    let leb_len = bytes[9..].iter().position(|b| b & 0x80 == 0).map(|i| i + 1);
    match leb_len {
        Some(n) if n == 1 || bytes[9 + n - 1] != 0 => {}
        _ => return Err(malformed("chunk length is not minimally encoded")),
    }
    // automerge 0.12 panics on some malformed op columns (an op counter
    // over u32::MAX reaches `OpId::new`'s unwrap) instead of returning an
    // error. These bytes come from peers: a panic must not take the node
    // down, so it is caught and the change refused like any malformed one.
    // (Found by `fuzz/` target `change`; the input is a regression there.)
    let change = std::panic::catch_unwind(|| Change::try_from(bytes))
        .map_err(|_| malformed("automerge could not parse the change"))?
        .map_err(|e| ChangeError::MalformedChange(e.to_string()))?;
    if bytes[4..8] != change.hash().0[..4] {
        return Err(malformed("checksum does not match the change hash"));
    }
    if !change.extra_bytes().is_empty() {
        return Err(malformed(
            "unexpected trailing data (author footer) in the change",
        ));
    }
    let actor = change.actor_id().to_bytes();
    if actor.len() != ACTOR_LEN || actor[..32] != author.as_bytes()[..] {
        return Err(ChangeError::WrongActor(*author));
    }
    if change.message() != Some(&change_message(doc)) {
        return Err(ChangeError::WrongDocument(*doc));
    }
    Ok(change)
}

#[cfg(test)]
mod tests;
