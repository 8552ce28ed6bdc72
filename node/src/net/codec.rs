//! The request-response codec: CBOR with a hard size limit, and refused
//! requests reported to the engine.
//!
//! libp2p's CBOR codec reads at most its limit and then fails to decode the
//! truncated bytes with the same error as a request cut off by a crashed
//! peer; and request-response drops the failure of a request it could not
//! read without telling the behaviour's user. This codec reads one byte
//! past the limit first, and turns a request over the limit, or one whose
//! bytes all arrived but are not CBOR of the right shape, into a
//! [`Refusable::refused`] value, so the engine sees it and penalizes the
//! sender. A request cut short stays an I/O error: a requester that gave up
//! on its request (a timeout, a dying connection) leaves exactly that, and
//! is not to be punished.

use std::io;

use futures::io::Cursor;
use futures::prelude::*;
use libp2p::StreamProtocol;
use libp2p::request_response::{self, cbor};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A request type with a value for "refused by the codec" (never sent).
pub trait Refusable {
    /// The request that stands for one the codec refused, and why.
    fn refused(why: Refused) -> Self;
}

/// Why the codec refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Over the size limit.
    Oversized,
    /// Not CBOR, or not a request of this protocol.
    Unreadable,
}

impl Refused {
    /// A short name for counters.
    pub fn name(&self) -> &'static str {
        match self {
            Refused::Oversized => "oversized",
            Refused::Unreadable => "unreadable",
        }
    }
}

/// The error inside the `io::Error` of a message over the limit.
#[derive(Debug, thiserror::Error)]
#[error("message over the limit of {limit} bytes")]
struct Oversized {
    limit: u64,
}

impl Oversized {
    fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|i| i.is::<Oversized>())
    }
}

/// CBOR requests of at most `request_limit` bytes and responses of at most
/// `response_limit`.
pub struct Bounded<Req, Resp> {
    request_limit: u64,
    response_limit: u64,
    inner: cbor::codec::Codec<Req, Resp>,
}

impl<Req, Resp> Bounded<Req, Resp> {
    /// A codec with these limits.
    pub fn new(request_limit: u64, response_limit: u64) -> Self {
        Self {
            request_limit,
            response_limit,
            inner: cbor::codec::Codec::default()
                .set_request_size_maximum(request_limit)
                .set_response_size_maximum(response_limit),
        }
    }
}

async fn read_bounded<T: AsyncRead + Unpin + Send>(io: &mut T, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io.take(limit + 1).read_to_end(&mut bytes).await?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            Oversized { limit },
        ));
    }
    Ok(bytes)
}

impl<Req, Resp> Clone for Bounded<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            request_limit: self.request_limit,
            response_limit: self.response_limit,
            inner: self.inner.clone(),
        }
    }
}

impl<Req, Resp> request_response::Codec for Bounded<Req, Resp>
where
    Req: Send + Serialize + DeserializeOwned + Refusable,
    Resp: Send + Serialize + DeserializeOwned,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, p: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = match read_bounded(io, self.request_limit).await {
            Ok(bytes) => bytes,
            Err(e) if Oversized::is(&e) => return Ok(Req::refused(Refused::Oversized)),
            Err(e) => return Err(e),
        };
        let len = bytes.len();
        match self.inner.read_request(p, &mut Cursor::new(bytes)).await {
            Ok(req) => Ok(req),
            // Cut short: what a stream the requester dropped (a timeout, a
            // dying connection) looks like; not the peer's fault.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(e),
            // Every byte arrived and they are not a request.
            Err(e) => {
                tracing::debug!(protocol = %p, len, error = %e, "request does not decode");
                Ok(Req::refused(Refused::Unreadable))
            }
        }
    }

    async fn read_response<T>(&mut self, p: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_bounded(io, self.response_limit).await?;
        self.inner.read_response(p, &mut Cursor::new(bytes)).await
    }

    async fn write_request<T>(&mut self, p: &StreamProtocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_request(p, io, req).await
    }

    async fn write_response<T>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
        res: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.inner.write_response(p, io, res).await
    }
}

#[cfg(test)]
mod tests;
