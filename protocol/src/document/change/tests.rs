use expect_test::expect;
use proptest::prelude::*;

use super::*;
use crate::document::fixtures::{contact, net, suffix};
use crate::fixtures::key;
use crate::{Documents, StatementSet};

fn signed() -> (StatementSet, SignedChange) {
    let set = net();
    let mut docs = Documents::new(set.network_id(), &set.membership());
    let change = docs
        .edit_contact(&key(1), suffix(1), 1_700_000_000, &contact("CERT-A"))
        .expect("valid edit")
        .expect("a first edit changes the document");
    (set, change)
}

/// An Automerge change by `actor` setting one key, made for team 1's
/// contact entry.
fn am_change(actor: Vec<u8>) -> Vec<u8> {
    am_change_for(actor, &DocRef::contacts(key(1).id()))
}

fn am_change_for(actor: Vec<u8>, target: &DocRef) -> Vec<u8> {
    let mut doc = automerge::Automerge::new().with_actor(ActorId::from(actor));
    let mut tx = doc.transaction();
    automerge::transaction::Transactable::put(&mut tx, automerge::ROOT, "name", "x").expect("put");
    let (hash, _) = tx.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_time(7)
            .with_message(super::change_message(&target.id())),
    );
    let hash = hash.expect("one op");
    automerge::ReadDoc::get_change_by_hash(&doc, &hash)
        .expect("committed")
        .raw_bytes()
        .to_vec()
}

#[test]
fn golden_doc_ids() {
    let owner = key(1).id();
    let shown = format!(
        "{}\n{}\n{}\n",
        DocRef::contacts(owner).id(),
        DocRef::tools(owner).id(),
        DocRef::advisory(owner, "TM-2024-001")
            .expect("valid id")
            .id()
    );
    expect![[r#"
        4b54316fb68c455f9ee7084356f43a6e4de0520eafc20c2ceed42f204114e4e8
        f68cedbb363d7aa27b98d35c570b3bc3bd458f8d667aa54784fae1601690d245
        9cdb1440cdd9e526ec7261d801e63e59eb1a5d42e5cdfa66878ed5ab09cd0046
    "#]]
    .assert_eq(&shown);
}

#[test]
fn doc_names_are_checked_per_kind() {
    let owner = key(1).id();
    assert!(DocRef::new(DocKind::Contacts, owner, "x").is_err());
    assert!(DocRef::new(DocKind::Tools, owner, "x").is_err());
    assert!(DocRef::new(DocKind::Advisory, owner, "").is_err());
    assert!(DocRef::new(DocKind::Advisory, owner, " TM-1").is_err());
    assert!(DocRef::new(DocKind::Advisory, owner, "TM\n1").is_err());
    assert!(DocRef::new(DocKind::Advisory, owner, "TM-2024-001").is_ok());
    assert_ne!(
        DocRef::advisory(owner, "a").map(|d| d.id()),
        DocRef::advisory(key(2).id(), "a").map(|d| d.id())
    );
}

#[test]
fn round_trip_and_accessors() {
    let (set, c) = signed();
    let bytes = c.encode();
    let back = SignedChange::decode_verified(&bytes, &set.network_id()).expect("round trip");
    assert_eq!(back, c);
    assert_eq!(back.encode(), bytes);
    assert_eq!(back.author(), key(1).id());
    assert_eq!(back.owner(), key(1).id());
    assert_eq!(back.kind(), DocKind::Contacts);
    assert_eq!(back.doc(), DocRef::contacts(key(1).id()).id());
    assert_eq!(back.actor_suffix(), suffix(1));
    assert_eq!(back.seq(), 1);
    assert!(back.deps().is_empty());
    assert_eq!(back.timestamp(), 1_700_000_000);
}

#[test]
fn every_truncation_and_any_trailing_byte_is_an_error() {
    let (_, c) = signed();
    let bytes = c.encode();
    for n in 0..bytes.len() {
        assert!(
            SignedChange::decode(&bytes[..n]).is_err(),
            "prefix of {n} bytes decoded"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        SignedChange::decode(&longer).map(|_| ()),
        Err(ChangeError::Decode(DecodeError::TrailingBytes(1)))
    );
}

#[test]
fn signature_binds_network_and_every_field() {
    let (set, c) = signed();
    let other = NetworkId::from_bytes([9; 32]);
    assert!(matches!(
        c.verify(&other),
        Err(ChangeError::WrongNetwork { .. })
    ));
    let bytes = c.encode();
    // Flip a bit in the network id, the owner and the signature.
    for i in [2, 40, bytes.len() - 1, bytes.len() - 64] {
        let mut bad = bytes.clone();
        bad[i] ^= 1;
        if let Ok(s) = SignedChange::decode(&bad) {
            assert!(s.verify(&set.network_id()).is_err(), "flip at {i} verified");
        }
    }
}

/// A change made for one document cannot be signed for, or replayed
/// into, another: its message names the document.
#[test]
fn a_change_is_bound_to_its_document() {
    let (set, _) = signed();
    let net = set.network_id();
    let mut actor = key(1).id().as_bytes().to_vec();
    actor.extend_from_slice(&[3; 16]);
    let for_tools = am_change_for(actor, &DocRef::tools(key(1).id()));
    let contacts = DocRef::contacts(key(1).id());
    assert_eq!(
        SignedChange::sign(net, contacts.clone(), &key(1), &for_tools).map(|_| ()),
        Err(ChangeError::WrongDocument(contacts.id()))
    );
    assert!(SignedChange::sign(net, DocRef::tools(key(1).id()), &key(1), &for_tools).is_ok());
}

#[test]
fn actor_must_carry_the_author_key() {
    let (set, _) = signed();
    let net = set.network_id();
    let doc = DocRef::contacts(key(1).id());
    let mut foreign = key(2).id().as_bytes().to_vec();
    foreign.extend_from_slice(&[0; 16]);
    assert_eq!(
        SignedChange::sign(net, doc.clone(), &key(1), &am_change(foreign)).map(|_| ()),
        Err(ChangeError::WrongActor(key(1).id()))
    );
    let short = key(1).id().as_bytes().to_vec();
    assert_eq!(
        SignedChange::sign(net, doc.clone(), &key(1), &am_change(short)).map(|_| ()),
        Err(ChangeError::WrongActor(key(1).id()))
    );
    let mut own = key(1).id().as_bytes().to_vec();
    own.extend_from_slice(&[3; 16]);
    assert!(SignedChange::sign(net, doc, &key(1), &am_change(own)).is_ok());
}

#[test]
fn only_canonical_uncompressed_change_chunks_are_accepted() {
    let net = NetworkId::from_bytes([1; 32]);
    let doc = DocRef::contacts(key(1).id());
    let mut actor = key(1).id().as_bytes().to_vec();
    actor.extend_from_slice(&[3; 16]);
    let good = am_change(actor);
    let sign = |bytes: &[u8]| SignedChange::sign(net, doc.clone(), &key(1), bytes).map(|_| ());
    assert_eq!(sign(&good), Ok(()));

    let mut bad_checksum = good.clone();
    bad_checksum[4] ^= 1;
    assert!(matches!(
        sign(&bad_checksum),
        Err(ChangeError::MalformedChange(_))
    ));

    let mut compressed_type = good.clone();
    compressed_type[8] = 2;
    assert!(matches!(
        sign(&compressed_type),
        Err(ChangeError::MalformedChange(_))
    ));

    // The same chunk with its length written in one LEB128 byte too many.
    let n = good[9..]
        .iter()
        .position(|b| b & 0x80 == 0)
        .expect("leb128")
        + 1;
    let mut overlong = good[..9 + n].to_vec();
    overlong[9 + n - 1] |= 0x80;
    overlong.push(0);
    overlong.extend_from_slice(&good[9 + n..]);
    assert!(matches!(
        sign(&overlong),
        Err(ChangeError::MalformedChange(_))
    ));

    assert!(matches!(
        sign(&good[..good.len() - 1]),
        Err(ChangeError::MalformedChange(_))
    ));
    assert!(matches!(sign(&[]), Err(ChangeError::MalformedChange(_))));
    assert!(matches!(
        sign(&vec![0; MAX_CHANGE_BYTES + 1]),
        Err(ChangeError::TooLarge(_))
    ));
}

#[test]
fn a_large_change_is_never_sent_compressed() {
    let set = net();
    let mut docs = Documents::new(set.network_id(), &set.membership());
    let mut c = contact("CERT-A");
    c.constituency = "x".repeat(2000);
    c.postal_address = "y".repeat(1000);
    let change = docs
        .edit_contact(&key(1), suffix(1), 1, &c)
        .expect("valid")
        .expect("changed");
    assert_eq!(change.change_bytes()[8], CHUNK_TYPE_CHANGE);
    assert!(SignedChange::decode_verified(&change.encode(), &set.network_id()).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mutated_encodings_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let (set, c) = signed();
        let mut bytes = c.encode();
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        if let Ok(s) = SignedChange::decode(&bytes) {
            // Whatever decodes re-encodes to the same bytes.
            prop_assert_eq!(s.encode(), bytes.clone());
            let _ = s.verify(&set.network_id());
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = SignedChange::decode(&bytes);
        let mut framed = vec![FORMAT_VERSION, KIND_CHANGE];
        framed.extend_from_slice(&bytes);
        let _ = SignedChange::decode(&framed);
    }
}
