//! The join exchange: the only thing a node does with a peer that is not
//! (yet) a member (DESIGN.md section 5, admission gate).
//!
//! The applicant presents its application and introductions. If they make
//! it a member, the node stores and spreads them and answers with its
//! statement set, so the new member can recognise every other member;
//! otherwise it answers with the reason, and stores nothing: a non-member
//! cannot fill another node's store.

use crate::codec::{DecodeError, Reader, Writer};
use crate::statement::{FORMAT_VERSION, SignedStatement};
use crate::wire::{MAX_MESSAGE_BYTES, MessageError};

/// Most statements a join request carries: one application and its
/// introductions.
pub const MAX_JOIN_STATEMENTS: usize = 64;
/// Most statements an admission carries (the rest arrives by anti-entropy).
pub const MAX_ADMISSION_STATEMENTS: usize = 65_536;
/// Longest reason for a refusal.
const MAX_REASON: usize = 1024;
/// Longest encoded signed statement.
const MAX_STATEMENT_BYTES: usize = 64 << 10;

const KIND_REQUEST: u8 = 16;
const KIND_ADMITTED: u8 = 17;
const KIND_REFUSED: u8 = 18;

/// What an applicant presents: its application and introductions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinRequest {
    /// The applicant's application and the introductions naming it.
    pub statements: Vec<SignedStatement>,
}

/// The answer to a [`JoinRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinResponse {
    /// The applicant is a member: here is the statement set.
    Admitted {
        /// Statements of the answering node (up to a size budget).
        statements: Vec<SignedStatement>,
    },
    /// The applicant is not a member; nothing was stored.
    Refused {
        /// Why, for the applicant's operator.
        reason: String,
    },
}

fn encode_statements(w: &mut Writer, list: &[SignedStatement]) {
    w.len(list.len());
    for s in list {
        let bytes = s.encode();
        w.len(bytes.len()).raw(&bytes);
    }
}

fn decode_statements(r: &mut Reader<'_>, max: usize) -> Result<Vec<SignedStatement>, MessageError> {
    let n = r.len("statements", max)?;
    let mut list = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let len = r.len("statement", MAX_STATEMENT_BYTES)?;
        list.push(SignedStatement::decode(r.take(len, "statement")?)?);
    }
    Ok(list)
}

fn header(r: &mut Reader<'_>) -> Result<u8, MessageError> {
    let version = r.u8("message version")?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(version).into());
    }
    Ok(r.u8("message kind")?)
}

impl JoinRequest {
    /// Whether the request carries nothing (there is nothing to present).
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION).u8(KIND_REQUEST);
        encode_statements(&mut w, &self.statements);
        w.finish()
    }

    /// Decodes a request; statements are parsed, not verified.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        match header(&mut r)? {
            KIND_REQUEST => {
                let statements = decode_statements(&mut r, MAX_JOIN_STATEMENTS)?;
                r.finish()?;
                Ok(Self { statements })
            }
            tag => Err(DecodeError::UnknownTag {
                field: "join message kind",
                tag,
            }
            .into()),
        }
    }
}

impl JoinResponse {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(FORMAT_VERSION);
        match self {
            JoinResponse::Admitted { statements } => {
                w.u8(KIND_ADMITTED);
                encode_statements(&mut w, statements);
            }
            JoinResponse::Refused { reason } => {
                let mut end = reason.len().min(MAX_REASON);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                w.u8(KIND_REFUSED).text(&reason[..end]);
            }
        }
        w.finish()
    }

    /// Decodes a response; statements are parsed, not verified.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(MessageError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let response = match header(&mut r)? {
            KIND_ADMITTED => JoinResponse::Admitted {
                statements: decode_statements(&mut r, MAX_ADMISSION_STATEMENTS)?,
            },
            KIND_REFUSED => {
                let reason = r.text("reason")?;
                if reason.len() > MAX_REASON {
                    return Err(DecodeError::TooLong {
                        field: "reason",
                        len: reason.len(),
                        max: MAX_REASON,
                    }
                    .into());
                }
                JoinResponse::Refused { reason }
            }
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "join message kind",
                    tag,
                }
                .into());
            }
        };
        r.finish()?;
        Ok(response)
    }
}
