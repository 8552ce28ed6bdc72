use proptest::prelude::*;

use super::*;
use crate::document::fixtures::{advisory, net, suffix};
use crate::fixtures::key;
use crate::reconcile::{ItemSet, Range};
use crate::{Documents, Tlp};

fn sample_change() -> SignedChange {
    let set = net();
    let mut docs = Documents::new(set.network_id(), &set.membership());
    docs.publish_advisory(
        &key(1),
        suffix(1),
        10,
        &advisory("TM-1", Tlp::Green, &[], &[]),
    )
    .expect("valid advisory")
}

fn claims() -> impl Strategy<Value = Vec<RangeClaim>> {
    let item = (
        any::<[u8; 32]>(),
        prop_oneof![Just([0u8; 32]), any::<[u8; 32]>()],
    );
    proptest::collection::vec(proptest::collection::vec(item, 0..30), 0..3).prop_map(|sets| {
        sets.into_iter()
            .flat_map(|items| {
                let set: ItemSet = items.into_iter().collect();
                crate::reconcile::open(&set)
            })
            .collect()
    })
}

fn symbols() -> impl Strategy<Value = Vec<Symbol>> {
    proptest::collection::vec(
        (any::<[u8; 16]>(), any::<u32>(), any::<u16>()).prop_map(|(value, check, count)| Symbol {
            value,
            check,
            count,
        }),
        0..40,
    )
}

fn doc_claims() -> impl Strategy<Value = DocClaims> {
    prop_oneof![
        Just(DocClaims::None),
        (any::<u64>(), any::<[u8; 16]>(), symbols()).prop_map(|(count, fingerprint, symbols)| {
            DocClaims::Open {
                count,
                fingerprint,
                symbols,
            }
        }),
        (
            any::<u64>(),
            proptest::collection::vec(any::<[u8; 2]>(), riblt::BUCKETS)
        )
            .prop_map(|(count, b)| {
                let mut buckets = Buckets::default();
                buckets.0.copy_from_slice(&b);
                DocClaims::Estimate { count, buckets }
            }),
        symbols().prop_map(DocClaims::Symbols),
        (0..=MAX_SYMBOLS as u32).prop_map(|have| DocClaims::More { have }),
        proptest::collection::vec(any::<[u8; 8]>(), 0..20).prop_map(DocClaims::Missing),
        claims().prop_map(DocClaims::Ranges),
    ]
}

proptest! {
    #[test]
    fn every_document_step_round_trips(round: u64, docs in doc_claims()) {
        let m = Message::Sync(SyncClaims { round, docs, ..SyncClaims::default() });
        let bytes = m.encode();
        prop_assert_eq!(Message::decode(&bytes), Ok(m));
    }

    #[test]
    fn sync_messages_round_trip(round: u64, s in claims(), d in claims(), c in claims(), doc: [u8; 32]) {
        let m = Message::Sync(SyncClaims {
            round,
            statements: s,
            docs: DocClaims::Ranges(d),
            changes: vec![(DocId::from_bytes(doc), c)],
        });
        let bytes = m.encode();
        prop_assert_eq!(Message::decode(&bytes), Ok(m));
    }

    #[test]
    fn want_messages_round_trip(ids in proptest::collection::vec(any::<[u8; 32]>(), 0..10), doc: [u8; 32]) {
        let m = Message::Want(Want {
            statements: ids.iter().map(|i| StatementId::from_bytes(*i)).collect(),
            changes: vec![(DocId::from_bytes(doc), ids.iter().map(|i| ChangeHash::from_bytes(*i)).collect())],
        });
        prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    /// No input makes the decoder panic, and whatever decodes re-encodes to
    /// the same bytes (one encoding per value).
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = Message::decode(&bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }

    #[test]
    fn mutated_messages_never_panic(flip in 0usize..4096, byte: u8, cut in 0usize..4096) {
        let m = Message::Changes(vec![sample_change()]);
        let mut bytes = m.encode();
        let i = flip % bytes.len();
        bytes[i] = byte;
        let _ = Message::decode(&bytes);
        bytes.truncate(cut % bytes.len());
        prop_assert!(Message::decode(&bytes).is_err());
    }
}

#[test]
fn changes_and_statements_travel_as_signed() {
    let change = sample_change();
    let app = crate::fixtures::application(net().network_id(), &key(4));
    for m in [
        Message::Changes(vec![change.clone(), change]),
        Message::Statements(vec![app]),
    ] {
        assert_eq!(Message::decode(&m.encode()), Ok(m));
    }
}

#[test]
fn limits_are_enforced_before_allocation() {
    // A claimed count far beyond the limit is refused from the header alone.
    let mut bytes = vec![FORMAT_VERSION, KIND_CHANGES];
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        Message::decode(&bytes),
        Err(MessageError::Decode(DecodeError::TooLong { .. }))
    ));
    let big = vec![0u8; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        Message::decode(&big),
        Err(MessageError::TooLarge(MAX_MESSAGE_BYTES + 1))
    );
    // Non-canonical item lists (versions spelled out although all zero) are refused.
    let m = Message::Sync(SyncClaims {
        round: 1,
        statements: vec![RangeClaim::Items {
            range: Range::FULL,
            items: vec![([1; 32], [0; 32])],
        }],
        ..SyncClaims::default()
    });
    let mut bytes = m.encode();
    // version, kind, round, claim count, lower bound, upper bound
    let kind_at = 1 + 1 + 8 + 4 + 1 + 1;
    assert_eq!(bytes[kind_at], 2);
    bytes[kind_at] = 1;
    bytes.splice(kind_at + 5 + 32..kind_at + 5 + 32, [0u8; 32]);
    assert_eq!(
        Message::decode(&bytes),
        Err(MessageError::Decode(DecodeError::NotCanonical("item list")))
    );
    assert!(Message::decode(&bytes).is_err());
}
