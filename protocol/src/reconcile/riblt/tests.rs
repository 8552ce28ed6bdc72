use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::*;

fn value(n: u64) -> Value {
    let h: [u8; 32] = Sha256::digest(n.to_be_bytes()).into();
    let mut v = [0u8; 16];
    v.copy_from_slice(&h[..16]);
    v
}

/// Two sets sharing `common` values, with `only_a` and `only_b` of their own.
fn sets(common: u64, only_a: u64, only_b: u64) -> (Vec<Value>, Vec<Value>) {
    let a: Vec<Value> = (0..common + only_a).map(value).collect();
    let b: Vec<Value> = (0..common)
        .chain(1_000_000..1_000_000 + only_b)
        .map(value)
        .collect();
    (a, b)
}

/// The fewest symbols that decode, found by trying growing prefixes.
fn needed(a: &[Value], b: &[Value]) -> usize {
    let max = 8 * (a.len() + b.len()) + 64;
    let sa = encode(a, max);
    let sb = encode(b, max);
    (1..=max)
        .find(|n| decode(&sa[..*n], &sb[..*n]).is_some())
        .expect("decodes with enough symbols")
}

#[test]
fn decodes_exactly_the_difference() {
    let (a, b) = sets(5_000, 37, 21);
    let n = symbols_for(58);
    let d = decode(&encode(&a, n), &encode(&b, n)).expect("enough symbols");
    let mut theirs = d.theirs.clone();
    theirs.sort();
    let mut want: Vec<Value> = (5_000..5_037).map(value).collect();
    want.sort();
    assert_eq!(theirs, want);
    let mut ours = d.ours.clone();
    ours.sort();
    let mut want: Vec<Value> = (1_000_000..1_000_021).map(value).collect();
    want.sort();
    assert_eq!(ours, want);
}

#[test]
fn equal_sets_decode_to_nothing_from_one_symbol() {
    let (a, b) = sets(1_000, 0, 0);
    assert_eq!(
        decode(&encode(&a, 1), &encode(&b, 1)),
        Some(Decoded::default())
    );
}

#[test]
fn a_longer_encoding_extends_a_shorter_one() {
    let (a, _) = sets(300, 0, 0);
    let short = encode(&a, 40);
    let long = encode(&a, 90);
    assert_eq!(short[..], long[..40]);
}

#[test]
fn too_few_symbols_fail_rather_than_lie() {
    let (a, b) = sets(2_000, 200, 200);
    assert_eq!(decode(&encode(&a, 50), &encode(&b, 50)), None);
}

#[test]
fn overhead_is_about_one_and_a_half_symbols_per_item() {
    // Averaged over seeds: the paper's ~1.35 for large differences, more
    // for small ones. symbols_for must cover the bulk of each.
    for d in [10u64, 100, 1_000] {
        let mut total = 0;
        let runs = 5;
        for r in 0..runs {
            let (mut a, b) = sets(2_000, d / 2, d - d / 2);
            // A different common part per run.
            a.iter_mut().for_each(|v| v[15] ^= r as u8);
            let b: Vec<Value> = b
                .into_iter()
                .map(|mut v| {
                    v[15] ^= r as u8;
                    v
                })
                .collect();
            total += needed(&a, &b);
        }
        let per_item = total as f64 / (runs * d) as f64;
        assert!(
            per_item < 2.5,
            "{per_item:.2} symbols per item for a difference of {d}"
        );
        assert!(symbols_for(d as usize) as f64 >= per_item * d as f64);
    }
}

#[test]
fn buckets_estimate_the_difference() {
    let mut a = Buckets::default();
    let mut b = Buckets::default();
    for n in 0..20_000u64 {
        let v = value(n);
        a.toggle(&v);
        if n % 100 != 0 {
            b.toggle(&v);
        }
    }
    let est = a.estimate(&b).expect("not saturated");
    assert!((150..=260).contains(&est), "200 differ, estimated {est}");
    assert_eq!(a.estimate(&a), Some(0));
}

#[test]
fn symbols_round_trip_the_wire() {
    let (a, _) = sets(50, 0, 0);
    let s = encode(&a, 20);
    let mut w = Writer::new();
    encode_symbols(&mut w, &s);
    let bytes = w.finish();
    assert_eq!(bytes.len(), 4 + 20 * SYMBOL_BYTES);
    let mut r = Reader::new(&bytes);
    assert_eq!(decode_symbols(&mut r).expect("decodes"), s);
}

proptest! {
    #[test]
    fn any_difference_decodes_with_enough_symbols(
        common in 0u64..300, only_a in 0u64..40, only_b in 0u64..40, salt: u8,
    ) {
        let (a, b) = sets(common, only_a, only_b);
        let salted = |v: Vec<Value>| -> Vec<Value> {
            v.into_iter().map(|mut x| { x[0] ^= salt; x }).collect()
        };
        let (a, b) = (salted(a), salted(b));
        let n = 8 * (only_a + only_b) as usize + 32;
        let d = decode(&encode(&a, n), &encode(&b, n)).expect("decodes");
        prop_assert_eq!(d.theirs.len() as u64, only_a);
        prop_assert_eq!(d.ours.len() as u64, only_b);
        for v in &d.theirs {
            prop_assert!(a.contains(v) && !b.contains(v));
        }
    }

    #[test]
    fn forged_symbols_never_panic(
        raw in proptest::collection::vec((any::<[u8; 16]>(), any::<u32>(), any::<u16>()), 0..200),
    ) {
        let theirs: Vec<Symbol> = raw
            .into_iter()
            .map(|(value, check, count)| Symbol { value, check, count })
            .collect();
        let (a, _) = sets(100, 0, 0);
        let _ = decode(&theirs, &encode(&a, theirs.len()));
    }
}
