use proptest::prelude::*;

use super::*;

fn key(n: u32) -> Key {
    Sha256::digest(n.to_be_bytes()).into()
}

fn set_of(ns: impl IntoIterator<Item = u32>) -> ItemSet {
    ns.into_iter().map(|n| (key(n), [0; 32])).collect()
}

fn encoded_len(claims: &[RangeClaim]) -> usize {
    let mut w = Writer::new();
    encode_claims(&mut w, claims);
    w.finish().len()
}

/// Runs a whole exchange; returns what each side learned, rounds and bytes.
fn reconcile(a: &ItemSet, b: &ItemSet) -> (Difference, Difference, usize, usize) {
    let mut da = Difference::default();
    let mut db = Difference::default();
    let mut claims = open(a);
    let mut bytes = encoded_len(&claims);
    let mut rounds = 0;
    let mut b_turn = true;
    while !claims.is_empty() {
        rounds += 1;
        assert!(rounds < 64, "reconciliation must terminate");
        let (side, learned) = if b_turn { (b, &mut db) } else { (a, &mut da) };
        let (reply, diff) = respond(side, &claims);
        learned.peer_needs.extend(diff.peer_needs);
        learned.we_need.extend(diff.we_need);
        bytes += encoded_len(&reply);
        claims = reply;
        b_turn = !b_turn;
    }
    (da, db, rounds, bytes)
}

fn sorted(mut v: Vec<Key>) -> Vec<Key> {
    v.sort();
    v.dedup();
    v
}

#[test]
fn agreement_costs_one_fingerprint_whatever_the_size() {
    for n in [30u32, 1_000, 20_000] {
        let s = set_of(0..n);
        let (da, db, rounds, bytes) = reconcile(&s, &s);
        assert!(da.is_empty() && db.is_empty());
        assert_eq!(rounds, 1);
        // One claim: list length, lower bound (zero: its length alone),
        // unbounded upper, kind, fingerprint; then the empty reply.
        assert_eq!(bytes, (4 + 1 + 1 + 1 + 16) + 4, "n = {n}");
    }
}

#[test]
fn small_sets_are_listed_at_once() {
    let a = set_of(0..5);
    let b = set_of(3..9);
    let (da, db, _, _) = reconcile(&a, &b);
    let a_lacks: Vec<Key> = da.we_need.iter().chain(&db.peer_needs).copied().collect();
    assert_eq!(sorted(a_lacks), sorted((5..9).map(key).collect()));
}

#[test]
fn a_version_change_is_found_in_a_large_set() {
    let a = set_of(0..10_000);
    let mut b = a.clone();
    b.insert(key(4242), [1; 32]);
    let (da, db, rounds, bytes) = reconcile(&a, &b);
    let found: Vec<Key> = [da.we_need, da.peer_needs, db.we_need, db.peer_needs].concat();
    assert_eq!(sorted(found), vec![key(4242)]);
    assert!(rounds <= 6, "{rounds} rounds");
    assert!(bytes < 8_000, "{bytes} bytes for one differing item");
}

#[test]
fn malformed_claims_are_errors() {
    let (lo, hi) = if key(1) < key(2) {
        (key(1), key(2))
    } else {
        (key(2), key(1))
    };
    let encode = |items: Vec<(Key, [u8; 32])>| {
        let mut w = Writer::new();
        encode_claims(
            &mut w,
            &[RangeClaim::Items {
                range: Range::FULL,
                items,
            }],
        );
        w.finish()
    };
    let decode = |bytes: &[u8]| decode_claims(&mut Reader::new(bytes));
    let good = encode(vec![(lo, [0; 32]), (hi, [0; 32])]);
    assert!(decode(&good).is_ok());
    let unsorted = encode(vec![(hi, [0; 32]), (lo, [0; 32])]);
    assert_eq!(
        decode(&unsorted),
        Err(DecodeError::NotCanonical("item list"))
    );
    for n in 0..good.len() {
        assert!(decode(&good[..n]).is_err());
    }
    // A bound with trailing zero bytes, and a "continues" lower bound on the
    // first claim, have canonical spellings and are refused.
    let mut padded = good.clone();
    padded.splice(4..5, [1, 0]);
    assert_eq!(
        decode(&padded),
        Err(DecodeError::NotCanonical("range lower bound"))
    );
    let mut orphan = good.clone();
    orphan[4] = 0xff;
    assert_eq!(
        decode(&orphan),
        Err(DecodeError::NotCanonical("range lower bound"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Both sides together learn exactly the symmetric difference, each
    /// direction once.
    #[test]
    fn finds_exactly_the_difference(
        common in proptest::collection::btree_set(0u32..5_000, 0..600),
        only_a in proptest::collection::btree_set(5_000u32..6_000, 0..80),
        only_b in proptest::collection::btree_set(6_000u32..7_000, 0..80),
    ) {
        let a = set_of(common.iter().chain(&only_a).copied());
        let b = set_of(common.iter().chain(&only_b).copied());
        let (da, db, _, _) = reconcile(&a, &b);
        let a_lacks: Vec<Key> = da.we_need.iter().chain(&db.peer_needs).copied().collect();
        let b_lacks: Vec<Key> = db.we_need.iter().chain(&da.peer_needs).copied().collect();
        prop_assert_eq!(a_lacks.len(), sorted(a_lacks.clone()).len(), "reported once");
        prop_assert_eq!(sorted(a_lacks), sorted(only_b.iter().map(|n| key(*n)).collect()));
        prop_assert_eq!(sorted(b_lacks), sorted(only_a.iter().map(|n| key(*n)).collect()));
    }

    #[test]
    fn claims_round_trip(n in 0u32..200, bounded in any::<bool>()) {
        let s = set_of(0..n);
        let mut claims = open(&s);
        if bounded {
            claims.extend(split(&s, Range::FULL));
        }
        let mut w = Writer::new();
        encode_claims(&mut w, &claims);
        let bytes = w.finish();
        let mut r = Reader::new(&bytes);
        prop_assert_eq!(decode_claims(&mut r).expect("decodes"), claims);
        prop_assert!(r.finish().is_ok());
    }

    /// A split bound separates exactly the items its source key did.
    #[test]
    fn separators_split_like_their_keys(a: [u8; 32], b: [u8; 32]) {
        prop_assume!(a != b);
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let s = separator(&lo, &hi);
        prop_assert!(lo < s && s <= hi);
    }
}
