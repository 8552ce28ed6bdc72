use futures::executor::block_on;
use libp2p::request_response::Codec;

use super::*;

/// A request type for the tests: bytes, or the codec's refusal.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Req {
    Bytes(Vec<u8>),
    #[serde(skip)]
    Refused(Refused),
}

impl Refusable for Req {
    fn refused(why: Refused) -> Self {
        Req::Refused(why)
    }
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new("/test/1")
}

fn encoded(req: Req) -> Vec<u8> {
    let mut out = Vec::new();
    block_on(Bounded::<Req, ()>::new(1 << 20, 1 << 20).write_request(&protocol(), &mut out, req))
        .expect("writes");
    out
}

#[test]
fn a_message_within_the_limit_round_trips() {
    let bytes = encoded(Req::Bytes(vec![7; 100]));
    let mut codec = Bounded::<Req, ()>::new(bytes.len() as u64, 0);
    let got = block_on(codec.read_request(&protocol(), &mut Cursor::new(bytes))).expect("reads");
    assert_eq!(got, Req::Bytes(vec![7; 100]));
}

#[test]
fn a_request_over_the_limit_is_refused_as_oversized() {
    let bytes = encoded(Req::Bytes(vec![7; 100]));
    let mut codec = Bounded::<Req, ()>::new(bytes.len() as u64 - 1, 0);
    let got = block_on(codec.read_request(&protocol(), &mut Cursor::new(bytes))).expect("refusal");
    assert_eq!(got, Req::Refused(Refused::Oversized));
}

#[test]
fn bytes_that_are_not_a_request_are_refused_as_unreadable() {
    // A CBOR map where an enum is expected: complete, but not a request.
    let bytes = vec![0xa1, 0x61, b'x', 0x01];
    let mut codec = Bounded::<Req, ()>::new(1 << 20, 1 << 20);
    let got = block_on(codec.read_request(&protocol(), &mut Cursor::new(bytes)));
    assert_eq!(got.ok(), Some(Req::Refused(Refused::Unreadable)));
}

#[test]
fn a_request_cut_short_is_an_error_not_a_refusal() {
    for keep in [0, 50] {
        let mut bytes = encoded(Req::Bytes(vec![7; 100]));
        bytes.truncate(keep);
        let mut codec = Bounded::<Req, ()>::new(1 << 20, 1 << 20);
        let got = block_on(codec.read_request(&protocol(), &mut Cursor::new(bytes)));
        assert!(got.is_err(), "cut at {keep}: {got:?}");
    }
}

#[test]
fn a_stream_that_breaks_off_is_an_error_not_a_refusal() {
    struct Broken;
    impl AsyncRead for Broken {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::task::Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
        }
    }
    let mut codec = Bounded::<Req, ()>::new(1 << 20, 1 << 20);
    let got = block_on(codec.read_request(&protocol(), &mut Broken));
    assert!(got.is_err());
}

#[test]
fn a_response_over_the_limit_is_an_error() {
    let mut out = Vec::new();
    block_on(Bounded::<Req, Vec<u8>>::new(0, 1 << 20).write_response(
        &protocol(),
        &mut out,
        vec![1; 64],
    ))
    .expect("writes");
    let mut codec = Bounded::<Req, Vec<u8>>::new(0, 10);
    let err =
        block_on(codec.read_response(&protocol(), &mut Cursor::new(out))).expect_err("too big");
    assert!(Oversized::is(&err), "{err}");
}
