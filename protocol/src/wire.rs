//! The messages member nodes exchange, and their canonical encoding.
//!
//! Every message starts with the encoding version and a kind byte. Signed
//! statements and signed changes travel in their own canonical encodings
//! (length-prefixed), so a relay forwards exactly the bytes the author
//! signed. Every list has a limit, so the work one message can demand is
//! bounded before anything is verified.

use crate::codec::{DecodeError, Reader, Writer};
use crate::document::{ChangeError, DocId, MAX_CHANGE_BYTES, SignedChange};
use crate::reconcile::riblt::{self, Buckets, KeyPrefix, MAX_SYMBOLS, Symbol};
use crate::reconcile::{RangeClaim, decode_claims, encode_claims};
use crate::statement::{ChangeHash, FORMAT_VERSION, SignedStatement, StatementError, StatementId};

/// Largest encoded message a node sends or accepts.
pub const MAX_MESSAGE_BYTES: usize = 8 << 20;
/// Most statements or changes one message carries.
pub const MAX_ITEMS: usize = 1024;
/// Most documents whose changes one sync message reconciles.
pub const MAX_DOC_SYNCS: usize = 64;
/// Longest encoded signed statement.
const MAX_STATEMENT_BYTES: usize = 64 << 10;

/// Kind 1 was the first anti-entropy step (range claims at the document
/// level); it is refused now, as any unknown kind.
const KIND_SYNC: u8 = 5;
const KIND_STATEMENTS: u8 = 2;
const KIND_CHANGES: u8 = 3;
const KIND_WANT: u8 = 4;

/// One step of anti-entropy at the three levels: range claims over the
/// statements, the document-level step ([`DocClaims`]: which documents
/// differ), and range claims over the changes of single documents. A
/// message with no claim at all ends the exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncClaims {
    /// The round this step belongs to, chosen by the side that opened it.
    pub round: u64,
    /// Claims over the statement ids.
    pub statements: Vec<RangeClaim>,
    /// The step over (document id, version) of the documents the two
    /// peers may share.
    pub docs: DocClaims,
    /// Claims over the change hashes of single documents.
    pub changes: Vec<(DocId, Vec<RangeClaim>)>,
}

impl SyncClaims {
    /// Whether the message carries no claim (the exchange is finished).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
            && self.docs == DocClaims::None
            && self.changes.iter().all(|(_, c)| c.is_empty())
    }
}

/// The document level of anti-entropy (see `sync::round`): rateless IBLT
/// symbols over the (document, version) items, sized from an estimate,
/// with range claims as the fallback for differences too large for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DocClaims {
    /// Nothing at this level.
    #[default]
    None,
    /// The opener's item count and fingerprint (as
    /// [`crate::reconcile::fingerprint_from`]) and the first symbols of its
    /// set: enough to decode a small difference at once.
    Open {
        /// How many documents the sender offers.
        count: u64,
        /// Fingerprint of its (document, version) set.
        fingerprint: [u8; 16],
        /// The first symbols of that set.
        symbols: Vec<Symbol>,
    },
    /// The prefix did not decode: the responder's count and buckets, from
    /// which the opener sizes its symbols.
    Estimate {
        /// How many documents the sender offers.
        count: u64,
        /// Its buckets.
        buckets: Buckets,
    },
    /// The first symbols of the sender's set (from index 0).
    Symbols(Vec<Symbol>),
    /// The symbols did not decode: send more than `have`.
    More {
        /// How many were sent.
        have: u32,
    },
    /// Decoded: the documents (by key prefix) the sender lacks and the
    /// peer holds; the peer sends their changes. Documents both hold at
    /// other versions go on at the change level, in the same step.
    Missing(Vec<KeyPrefix>),
    /// Range claims over the (document id, version) items.
    Ranges(Vec<RangeClaim>),
}

const DOCS_NONE: u8 = 0;
const DOCS_OPEN: u8 = 1;
const DOCS_ESTIMATE: u8 = 2;
const DOCS_SYMBOLS: u8 = 3;
const DOCS_MORE: u8 = 4;
const DOCS_MISSING: u8 = 5;
const DOCS_RANGES: u8 = 6;

impl DocClaims {
    /// Whether the step names `doc`, by id (a range listing) or by key
    /// prefix (`Missing`). Symbols name nothing outright: they code only
    /// the documents the receiver may be told of.
    pub fn names(&self, doc: &DocId) -> bool {
        match self {
            DocClaims::Missing(prefixes) => prefixes.iter().any(|p| doc.as_bytes()[..8] == p[..]),
            DocClaims::Ranges(claims) => claims.iter().any(|c| match c {
                RangeClaim::Items { items, .. } => items.iter().any(|(k, _)| k == doc.as_bytes()),
                RangeClaim::Fingerprint { .. } => false,
            }),
            _ => false,
        }
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            DocClaims::None => {
                w.u8(DOCS_NONE);
            }
            DocClaims::Open {
                count,
                fingerprint,
                symbols,
            } => {
                w.u8(DOCS_OPEN).u64(*count).raw(fingerprint);
                riblt::encode_symbols(w, symbols);
            }
            DocClaims::Estimate { count, buckets } => {
                w.u8(DOCS_ESTIMATE).u64(*count);
                buckets.encode(w);
            }
            DocClaims::Symbols(symbols) => {
                w.u8(DOCS_SYMBOLS);
                riblt::encode_symbols(w, symbols);
            }
            DocClaims::More { have } => {
                w.u8(DOCS_MORE).len(*have as usize);
            }
            DocClaims::Missing(prefixes) => {
                w.u8(DOCS_MISSING).len(prefixes.len());
                for p in prefixes {
                    w.raw(p);
                }
            }
            DocClaims::Ranges(claims) => {
                w.u8(DOCS_RANGES);
                encode_claims(w, claims);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("document step")? {
            DOCS_NONE => DocClaims::None,
            DOCS_OPEN => DocClaims::Open {
                count: r.u64("document count")?,
                fingerprint: r.array("fingerprint")?,
                symbols: riblt::decode_symbols(r)?,
            },
            DOCS_ESTIMATE => DocClaims::Estimate {
                count: r.u64("document count")?,
                buckets: Buckets::decode(r)?,
            },
            DOCS_SYMBOLS => DocClaims::Symbols(riblt::decode_symbols(r)?),
            DOCS_MORE => DocClaims::More {
                have: r.len("symbols sent", MAX_SYMBOLS)? as u32,
            },
            DOCS_MISSING => {
                let n = r.len("missing documents", MAX_SYMBOLS)?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    out.push(r.array("document prefix")?);
                }
                DocClaims::Missing(out)
            }
            DOCS_RANGES => DocClaims::Ranges(decode_claims(r)?),
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "document step",
                    tag,
                });
            }
        })
    }
}

/// A request for statements and changes by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Want {
    /// Statement ids.
    pub statements: Vec<StatementId>,
    /// Change hashes, by document.
    pub changes: Vec<(DocId, Vec<ChangeHash>)>,
}

impl Want {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty() && self.changes.iter().all(|(_, h)| h.is_empty())
    }
}

/// A message between member nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// Anti-entropy claims.
    Sync(SyncClaims),
    /// Signed statements, pushed or asked for.
    Statements(Vec<SignedStatement>),
    /// Signed changes, pushed or asked for, dependencies first.
    Changes(Vec<SignedChange>),
    /// A request for statements and changes the sender lacks.
    Want(Want),
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The message is larger than [`MAX_MESSAGE_BYTES`].
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    /// The framing or a field does not decode.
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
    /// An embedded statement does not decode.
    #[error("malformed statement in message: {0}")]
    Statement(#[from] StatementError),
    /// An embedded change does not decode.
    #[error("malformed change in message: {0}")]
    Change(#[from] ChangeError),
}

impl Message {
    /// A short name for logs and counters.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Message::Sync(_) => "sync",
            Message::Statements(_) => "statements",
            Message::Changes(_) => "changes",
            Message::Want(_) => "want",
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        match self {
            Message::Sync(s) => {
                w.u8(KIND_SYNC).u64(s.round);
                encode_claims(&mut w, &s.statements);
                s.docs.encode(&mut w);
                w.len(s.changes.len());
                for (doc, claims) in &s.changes {
                    w.raw(doc.as_bytes());
                    encode_claims(&mut w, claims);
                }
            }
            Message::Statements(list) => {
                w.u8(KIND_STATEMENTS).len(list.len());
                for s in list {
                    let bytes = s.encode();
                    w.len(bytes.len()).raw(&bytes);
                }
            }
            Message::Changes(list) => {
                w.u8(KIND_CHANGES).len(list.len());
                for c in list {
                    let bytes = c.encode();
                    w.len(bytes.len()).raw(&bytes);
                }
            }
            Message::Want(want) => {
                w.u8(KIND_WANT).len(want.statements.len());
                for id in &want.statements {
                    w.raw(id.as_bytes());
                }
                w.len(want.changes.len());
                for (doc, hashes) in &want.changes {
                    w.raw(doc.as_bytes()).len(hashes.len());
                    for h in hashes {
                        w.raw(h.as_bytes());
                    }
                }
            }
        }
        w.finish()
    }

    /// Decodes a message. Embedded statements and changes are parsed but
    /// not verified: verification needs the network and the membership,
    /// which the receiving node checks.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("message version")?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let msg = match r.u8("message kind")? {
            KIND_SYNC => {
                let round = r.u64("round")?;
                let statements = decode_claims(&mut r)?;
                let docs = DocClaims::decode(&mut r)?;
                let n = r.len("document syncs", MAX_DOC_SYNCS)?;
                let mut changes = Vec::with_capacity(n);
                for _ in 0..n {
                    let doc = DocId::from_bytes(r.array("document id")?);
                    changes.push((doc, decode_claims(&mut r)?));
                }
                Message::Sync(SyncClaims {
                    round,
                    statements,
                    docs,
                    changes,
                })
            }
            KIND_STATEMENTS => {
                let n = r.len("statements", MAX_ITEMS)?;
                let mut list = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let len = r.len("statement", MAX_STATEMENT_BYTES)?;
                    list.push(SignedStatement::decode(r.take(len, "statement")?)?);
                }
                Message::Statements(list)
            }
            KIND_CHANGES => {
                let n = r.len("changes", MAX_ITEMS)?;
                let mut list = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let len = r.len("change", MAX_CHANGE_BYTES + 4096)?;
                    list.push(SignedChange::decode(r.take(len, "change")?)?);
                }
                Message::Changes(list)
            }
            KIND_WANT => {
                let n = r.len("wanted statements", MAX_ITEMS)?;
                let mut statements = Vec::with_capacity(n);
                for _ in 0..n {
                    statements.push(StatementId::from_bytes(r.array("statement id")?));
                }
                let docs = r.len("wanted documents", MAX_ITEMS)?;
                let mut changes = Vec::with_capacity(docs);
                let mut total = 0;
                for _ in 0..docs {
                    let doc = DocId::from_bytes(r.array("document id")?);
                    let n = r.len("wanted changes", MAX_ITEMS - total)?;
                    total += n;
                    let mut hashes = Vec::with_capacity(n);
                    for _ in 0..n {
                        hashes.push(ChangeHash::from_bytes(r.array("change hash")?));
                    }
                    changes.push((doc, hashes));
                }
                Message::Want(Want {
                    statements,
                    changes,
                })
            }
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "message kind",
                    tag,
                }
                .into());
            }
        };
        r.finish()?;
        Ok(msg)
    }
}

#[cfg(test)]
mod tests;
