//! The messages member nodes exchange, and their canonical encoding.
//!
//! Every message starts with the encoding version and a kind byte. Signed
//! statements and signed changes travel in their own canonical encodings
//! (length-prefixed), so a relay forwards exactly the bytes the author
//! signed. Every list has a limit, so the work one message can demand is
//! bounded before anything is verified.

use crate::codec::{DecodeError, Reader, Writer};
use crate::document::{ChangeError, DocId, MAX_CHANGE_BYTES, SignedChange};
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

const KIND_SYNC: u8 = 1;
const KIND_STATEMENTS: u8 = 2;
const KIND_CHANGES: u8 = 3;
const KIND_WANT: u8 = 4;

/// One step of anti-entropy: range claims at the three levels (statements,
/// which documents differ, which changes of a document differ). A message
/// with no claim at all ends the exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncClaims {
    /// The round this step belongs to, chosen by the side that opened it.
    pub round: u64,
    /// Claims over the statement ids.
    pub statements: Vec<RangeClaim>,
    /// Claims over (document id, version) for the documents the two peers
    /// may share.
    pub docs: Vec<RangeClaim>,
    /// Claims over the change hashes of single documents.
    pub changes: Vec<(DocId, Vec<RangeClaim>)>,
}

impl SyncClaims {
    /// Whether the message carries no claim (the exchange is finished).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
            && self.docs.is_empty()
            && self.changes.iter().all(|(_, c)| c.is_empty())
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
                encode_claims(&mut w, &s.docs);
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
                let docs = decode_claims(&mut r)?;
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
