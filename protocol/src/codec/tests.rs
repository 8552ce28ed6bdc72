use super::*;

#[test]
fn reader_reports_truncation_instead_of_panicking() {
    let mut r = Reader::new(&[0, 1]);
    assert_eq!(
        r.u64("count"),
        Err(DecodeError::UnexpectedEnd {
            field: "count",
            needed: 6
        })
    );
}

#[test]
fn lengths_beyond_the_limit_are_rejected_before_allocation() {
    let mut w = Writer::new();
    w.len(MAX_TEXT + 1);
    let bytes = w.finish();
    let mut r = Reader::new(&bytes);
    assert_eq!(
        r.text("name"),
        Err(DecodeError::TooLong {
            field: "name",
            len: MAX_TEXT + 1,
            max: MAX_TEXT
        })
    );
}

#[test]
fn invalid_utf8_is_an_error() {
    let mut w = Writer::new();
    w.len(2).raw(&[0xff, 0xfe]);
    let bytes = w.finish();
    assert_eq!(
        Reader::new(&bytes).text("name"),
        Err(DecodeError::InvalidUtf8("name"))
    );
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut r = Reader::new(&[7, 9]);
    assert_eq!(r.u8("x"), Ok(7));
    assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(1)));
}

#[test]
fn round_trip_of_each_primitive() {
    let mut w = Writer::new();
    w.u8(1).u16(513).u64(u64::MAX - 3).text("Ωmega");
    let bytes = w.finish();
    let mut r = Reader::new(&bytes);
    assert_eq!(r.u8("a"), Ok(1));
    assert_eq!(r.u16("b"), Ok(513));
    assert_eq!(r.u64("c"), Ok(u64::MAX - 3));
    assert_eq!(r.text("d").as_deref(), Ok("Ωmega"));
    assert_eq!(r.finish(), Ok(()));
}
