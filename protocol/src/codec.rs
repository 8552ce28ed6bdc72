//! The deterministic binary encoding every signed object uses.
//!
//! Integers are fixed-width big-endian, text is UTF-8 behind a `u32` length,
//! lists carry a `u32` count. There is exactly one encoding of each value and
//! the decoder rejects anything else (trailing bytes, invalid UTF-8, lengths
//! beyond the limits), so `encode(decode(bytes)) == bytes` for every input
//! that decodes. Signatures can therefore be checked over re-encoded values.

use thiserror::Error;

/// Longest text field, in bytes.
pub const MAX_TEXT: usize = 4096;
/// Most entries a list field may hold.
pub const MAX_LIST: usize = 4096;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended in the middle of a field.
    #[error("input ends inside {field}: need {needed} more bytes")]
    UnexpectedEnd {
        /// The field being read.
        field: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// Bytes remained after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A text field was not valid UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// A length or count exceeded its limit.
    #[error("{field} has length {len}, more than the limit {max}")]
    TooLong {
        /// The field being read.
        field: &'static str,
        /// The length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The encoding version is not one this build understands.
    #[error("unknown encoding version {0}")]
    UnknownVersion(u8),
    /// A tag byte named no known variant.
    #[error("unknown {field} tag {tag}")]
    UnknownTag {
        /// What the tag selects.
        field: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A value decoded but is not in canonical form (for example an unsorted set).
    #[error("{0} is not in canonical form")]
    NotCanonical(&'static str),
    /// A public key is not a valid ed25519 point.
    #[error("{0} is not a valid ed25519 public key")]
    InvalidKey(&'static str),
}

/// Appends values to a buffer in the canonical encoding.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn with_prefix(prefix: &[u8]) -> Self {
        Self {
            buf: prefix.to_vec(),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// Writes a length or count. Callers validate lengths before encoding,
    /// so a value beyond `u32` is an invariant violation.
    pub(crate) fn len(&mut self, n: usize) -> &mut Self {
        let n = u32::try_from(n).expect("lengths are validated below MAX_TEXT/MAX_LIST");
        self.buf.extend_from_slice(&n.to_be_bytes());
        self
    }

    pub(crate) fn text(&mut self, v: &str) -> &mut Self {
        self.len(v.len()).raw(v.as_bytes())
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads values in the canonical encoding, never panicking on any input.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::UnexpectedEnd {
                field,
                needed: n - self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Reads a length or count and checks it against `max`.
    pub(crate) fn len(&mut self, field: &'static str, max: usize) -> Result<usize, DecodeError> {
        let len = u32::from_be_bytes(self.array(field)?) as usize;
        if len > max {
            return Err(DecodeError::TooLong { field, len, max });
        }
        Ok(len)
    }

    pub(crate) fn text(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.len(field, MAX_TEXT)?;
        let bytes = self.take(len, field)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8(field))
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.buf.len()))
        }
    }
}

#[cfg(test)]
mod tests;
