//! Range-based set reconciliation.
//!
//! Two peers each hold a set of items (a 32-byte key and a 32-byte version
//! digest) and want to learn which items differ, with traffic proportional
//! to the difference, not to the set. One side sends a fingerprint of a key
//! range; the other compares it with its own: equal ranges are done, small
//! differing ranges are answered with the full item list, large ones are
//! split into sub-ranges with fingerprints of their own. When two peers
//! agree, a round costs one fingerprint per set, however large the sets.
//!
//! A fingerprint is the truncated SHA-256 of the item count and the sum
//! modulo 2^256 of the items' hashes (as in Negentropy). Sums commute, so
//! the fingerprint of a range does not depend on how it was computed.
//!
//! Every function here is pure; sessions and retries live in `sync`.

use std::collections::BTreeMap;
use std::ops::Bound;

use sha2::{Digest, Sha256};

use crate::codec::{DecodeError, Reader, Writer};

pub mod riblt;

/// A 32-byte item key (a statement id, a document id, a change hash).
pub type Key = [u8; 32];

/// The sets two peers reconcile: key to version digest. For sets whose
/// items never change (statements, changes) the version is all zeroes.
pub type ItemSet = BTreeMap<Key, [u8; 32]>;

/// Most items a range may have before it is split rather than listed.
pub const LIST_THRESHOLD: usize = 24;
/// How many sub-ranges a differing range is split into.
pub const BRANCHING: usize = 16;
/// Most claims one message may carry, which bounds the work one message can
/// demand. A reply with more claims is sent as several messages.
pub const MAX_CLAIMS: usize = 4 * BRANCHING;

/// A half-open key range `[lower, upper)`; `upper == None` means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Inclusive lower bound.
    pub lower: Key,
    /// Exclusive upper bound, or the end of the key space.
    pub upper: Option<Key>,
}

impl Range {
    /// The whole key space.
    pub const FULL: Range = Range {
        lower: [0; 32],
        upper: None,
    };

    fn bounds(&self) -> (Bound<Key>, Bound<Key>) {
        (
            Bound::Included(self.lower),
            self.upper.map_or(Bound::Unbounded, Bound::Excluded),
        )
    }
}

/// What one side says about a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeClaim {
    /// The sender's fingerprint of the range (which covers the item count).
    Fingerprint {
        /// The range.
        range: Range,
        /// The fingerprint.
        fingerprint: [u8; 16],
    },
    /// Every item the sender holds in the range.
    Items {
        /// The range.
        range: Range,
        /// The items, sorted by key.
        items: Vec<(Key, [u8; 32])>,
    },
}

/// What a side learned from the claims it received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Difference {
    /// Keys we hold that the peer lacks or holds at another version.
    pub peer_needs: Vec<Key>,
    /// Keys the peer holds that we lack or hold at another version.
    pub we_need: Vec<Key>,
}

impl Difference {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.peer_needs.is_empty() && self.we_need.is_empty()
    }
}

pub(crate) fn item_hash(key: &Key, version: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(version);
    h.finalize().into()
}

/// Adds `b` into `acc` modulo 2^256 (little-endian limbs).
pub(crate) fn add_into(acc: &mut [u8; 32], b: &[u8; 32]) {
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(acc[i]) + u16::from(b[i]) + carry;
        acc[i] = (s & 0xff) as u8;
        carry = s >> 8;
    }
}

/// Subtracts `b` from `acc` modulo 2^256: undoes [`add_into`].
pub(crate) fn sub_from(acc: &mut [u8; 32], b: &[u8; 32]) {
    let mut borrow = 0i16;
    for i in 0..32 {
        let d = i16::from(acc[i]) - i16::from(b[i]) - borrow;
        acc[i] = (d & 0xff) as u8;
        borrow = i16::from(d < 0);
    }
}

fn fingerprint_of<'a>(items: impl Iterator<Item = (&'a Key, &'a [u8; 32])>) -> ([u8; 16], u64) {
    let mut sum = [0u8; 32];
    let mut count = 0u64;
    for (k, v) in items {
        add_into(&mut sum, &item_hash(k, v));
        count += 1;
    }
    (fingerprint_from(&sum, count), count)
}

/// The fingerprint of a set whose item hashes sum to `sum`: what
/// [`open`] sends for the whole set, kept up to date by callers that add
/// and remove item hashes as the set changes.
pub fn fingerprint_from(sum: &[u8; 32], count: u64) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(sum);
    h.update(count.to_be_bytes());
    let full: [u8; 32] = h.finalize().into();
    let mut fp = [0u8; 16];
    fp.copy_from_slice(&full[..16]);
    fp
}

/// The claim that opens a reconciliation of `set`: one fingerprint of the
/// whole key space (or the full list, if the set is small).
pub fn open(set: &ItemSet) -> Vec<RangeClaim> {
    vec![claim_for(set, Range::FULL)]
}

fn claim_for(set: &ItemSet, range: Range) -> RangeClaim {
    let in_range = set.range(range.bounds());
    if set.range(range.bounds()).nth(LIST_THRESHOLD).is_none() {
        RangeClaim::Items {
            range,
            items: in_range.map(|(k, v)| (*k, *v)).collect(),
        }
    } else {
        let (fingerprint, _) = fingerprint_of(in_range);
        RangeClaim::Fingerprint { range, fingerprint }
    }
}

/// The reply to a peer whose whole set differs from ours: the whole key
/// space split (or listed, if small), as [`respond`] answers a differing
/// fingerprint of it.
pub fn split_full(set: &ItemSet) -> Vec<RangeClaim> {
    if set.len() <= LIST_THRESHOLD {
        vec![claim_for(set, Range::FULL)]
    } else {
        split(set, Range::FULL)
    }
}

/// Splits `range` into at most `BRANCHING` sub-ranges holding similar
/// numbers of our items, and claims each.
fn split(set: &ItemSet, range: Range) -> Vec<RangeClaim> {
    let keys: Vec<&Key> = set.range(range.bounds()).map(|(k, _)| k).collect();
    let step = keys.len().div_ceil(BRANCHING).max(1);
    let mut bounds: Vec<Key> = (step..keys.len())
        .step_by(step)
        .map(|i| separator(keys[i - 1], keys[i]))
        .collect();
    bounds.dedup();
    let mut claims = Vec::with_capacity(bounds.len() + 1);
    let mut lower = range.lower;
    for b in bounds {
        claims.push(sub_claim(
            set,
            Range {
                lower,
                upper: Some(b),
            },
        ));
        lower = b;
    }
    claims.push(sub_claim(
        set,
        Range {
            lower,
            upper: range.upper,
        },
    ));
    claims
}

/// The shortest bound `b` with `below < b <= at`: the prefix of `at` up to
/// the first byte where it differs from `below`, the rest zero. It splits
/// the same items as `at` and encodes in a few bytes.
fn separator(below: &Key, at: &Key) -> Key {
    let mut b = [0u8; 32];
    let n = below
        .iter()
        .zip(at)
        .position(|(x, y)| x != y)
        .map_or(32, |i| i + 1);
    b[..n].copy_from_slice(&at[..n]);
    b
}

/// The claim for a sub-range of a split: a fingerprint, so that only the
/// sub-ranges that really differ are listed in the next step, unless the
/// sub-range holds at most one item (listing it is as cheap).
fn sub_claim(set: &ItemSet, range: Range) -> RangeClaim {
    let mut items = set.range(range.bounds());
    if items.clone().nth(1).is_none() {
        RangeClaim::Items {
            range,
            items: items.next().map(|(k, v)| (*k, *v)).into_iter().collect(),
        }
    } else {
        let (fingerprint, _) = fingerprint_of(items);
        RangeClaim::Fingerprint { range, fingerprint }
    }
}

/// Answers the peer's claims from our set: returns our claims in reply
/// (empty when this exchange is finished) and what differs so far.
///
/// Items the peer lists that we lack, or hold at another version, are in
/// `we_need`; ours it does not list are in `peer_needs`. Each differing key
/// is reported by exactly one side's `respond`, so the caller acts on its
/// own `Difference` only.
pub fn respond(set: &ItemSet, claims: &[RangeClaim]) -> (Vec<RangeClaim>, Difference) {
    let mut reply = vec![];
    let mut diff = Difference::default();
    for claim in claims {
        match claim {
            RangeClaim::Fingerprint { range, fingerprint } => {
                let (ours, our_count) = fingerprint_of(set.range(range.bounds()));
                if ours == *fingerprint {
                    continue;
                }
                if our_count as usize <= LIST_THRESHOLD {
                    reply.push(claim_for(set, *range));
                } else {
                    reply.extend(split(set, *range));
                }
            }
            RangeClaim::Items { range, items } => {
                let theirs: BTreeMap<&Key, &[u8; 32]> = items
                    .iter()
                    .filter(|(k, _)| in_range(range, k))
                    .map(|(k, v)| (k, v))
                    .collect();
                for (k, v) in set.range(range.bounds()) {
                    if theirs.get(k) != Some(&v) {
                        diff.peer_needs.push(*k);
                    }
                }
                for (k, v) in &theirs {
                    if set.get(*k) != Some(*v) {
                        diff.we_need.push(**k);
                    }
                }
            }
        }
    }
    (reply, diff)
}

fn in_range(range: &Range, key: &Key) -> bool {
    *key >= range.lower && range.upper.is_none_or(|u| *key < u)
}

impl RangeClaim {
    fn range(&self) -> &Range {
        match self {
            RangeClaim::Fingerprint { range, .. } | RangeClaim::Items { range, .. } => range,
        }
    }
}

/// `lower` marker: the range starts where the previous claim's ended.
const LOWER_CONTINUES: u8 = 0xff;
/// `upper` marker: the range runs to the end of the key space.
const UPPER_UNBOUNDED: u8 = 0xff;

/// Writes a bound as its significant prefix: a length, then the bytes up to
/// the last non-zero one (the rest are zero). Split points are chosen as
/// short prefixes, so bounds usually take two to four bytes.
fn encode_bound(w: &mut Writer, key: &Key) {
    let len = key.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    w.u8(len as u8).raw(&key[..len]);
}

fn decode_bound(r: &mut Reader<'_>, len: u8, field: &'static str) -> Result<Key, DecodeError> {
    let len = usize::from(len);
    if len > 32 {
        return Err(DecodeError::TooLong {
            field,
            len,
            max: 32,
        });
    }
    let bytes = r.take(len, field)?;
    if bytes.last() == Some(&0) {
        return Err(DecodeError::NotCanonical(field));
    }
    let mut key = [0u8; 32];
    key[..len].copy_from_slice(bytes);
    Ok(key)
}

/// Encodes a list of claims. A range that starts where the previous one
/// ended (as the sub-ranges of a split do) spends one byte on its lower
/// bound.
pub(crate) fn encode_claims(w: &mut Writer, claims: &[RangeClaim]) {
    w.len(claims.len());
    let mut previous_upper: Option<Option<Key>> = None;
    for claim in claims {
        let range = claim.range();
        if previous_upper == Some(Some(range.lower)) {
            w.u8(LOWER_CONTINUES);
        } else {
            encode_bound(w, &range.lower);
        }
        match &range.upper {
            None => {
                w.u8(UPPER_UNBOUNDED);
            }
            Some(u) => encode_bound(w, u),
        }
        previous_upper = Some(range.upper);
        match claim {
            RangeClaim::Fingerprint { fingerprint, .. } => {
                w.u8(0).raw(fingerprint);
            }
            RangeClaim::Items { items, .. } => {
                // Sets of immutable items (statements, changes) have all-zero
                // versions; their lists carry the keys alone.
                let keys_only = items.iter().all(|(_, v)| *v == [0; 32]);
                w.u8(if keys_only { 2 } else { 1 }).len(items.len());
                for (k, v) in items {
                    w.raw(k);
                    if !keys_only {
                        w.raw(v);
                    }
                }
            }
        }
    }
}

/// Decodes a list of at most `MAX_CLAIMS` claims, refusing any encoding
/// [`encode_claims`] would not produce.
pub(crate) fn decode_claims(r: &mut Reader<'_>) -> Result<Vec<RangeClaim>, DecodeError> {
    let n = r.len("claims", MAX_CLAIMS)?;
    let mut claims: Vec<RangeClaim> = Vec::with_capacity(n);
    for _ in 0..n {
        let previous_upper = claims.last().map(|c| c.range().upper);
        let lower = match r.u8("range lower bound")? {
            LOWER_CONTINUES => match previous_upper {
                Some(Some(u)) => u,
                _ => return Err(DecodeError::NotCanonical("range lower bound")),
            },
            len => {
                let lower = decode_bound(r, len, "range lower bound")?;
                if previous_upper == Some(Some(lower)) {
                    return Err(DecodeError::NotCanonical("range lower bound"));
                }
                lower
            }
        };
        let upper = match r.u8("range upper bound")? {
            UPPER_UNBOUNDED => None,
            len => Some(decode_bound(r, len, "range upper bound")?),
        };
        let range = Range { lower, upper };
        claims.push(match r.u8("claim kind")? {
            0 => RangeClaim::Fingerprint {
                range,
                fingerprint: r.array("fingerprint")?,
            },
            kind @ (1 | 2) => {
                let n = r.len("items", LIST_THRESHOLD)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = r.array("item key")?;
                    let version = if kind == 1 {
                        r.array("item version")?
                    } else {
                        [0; 32]
                    };
                    items.push((key, version));
                }
                if kind == 1 && items.iter().all(|(_, v)| *v == [0; 32]) {
                    return Err(DecodeError::NotCanonical("item list"));
                }
                if items.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(DecodeError::NotCanonical("item list"));
                }
                RangeClaim::Items { range, items }
            }
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "claim kind",
                    tag,
                });
            }
        });
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
