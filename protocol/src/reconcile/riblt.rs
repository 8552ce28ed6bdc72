//! Rateless invertible Bloom lookup tables (Yang, Gilad, Alizadeh: "Practical
//! Rateless Set Reconciliation", SIGCOMM 2024), for finding which
//! documents two peers hold at different versions in a number of bytes
//! proportional to the difference alone.
//!
//! Each item is a 16-byte [`Value`]: the first 8 bytes of its key (a
//! document id) and 8 bytes of the hash of its key and version. A coded
//! [`Symbol`] holds the XOR of the values mapped to it, the XOR of their
//! checks and how many there are (modulo 2^16). Item `x` maps to symbol 0
//! and then to a sparser and sparser sequence of indices (the probability
//! that it maps to index `i` is about `1 / (1 + i/2)`), drawn from a
//! generator seeded by `x`; so the first `n` symbols of a set are a prefix
//! of its first `n + 1`, and a sender can always send more.
//!
//! Subtracting a peer's symbols from ours leaves the symbols of the
//! symmetric difference. A symbol whose count is +1 or -1 and whose check
//! matches its value holds one item: peeling it off every symbol it maps to
//! may make others pure, and the difference is decoded when every symbol is
//! empty. About 1.35 symbols per differing item suffice for large
//! differences, a few more per item for small ones.
//!
//! The key prefix in the value lets the decoder pair the two versions of
//! one document (one item from each side) and name a document it lacks
//! to the peer that holds it, without a further step.
//!
//! [`Buckets`] estimate the size of a difference before symbols are sized
//! for it: per first key byte, the XOR of the items' hashes, truncated.

use crate::codec::{DecodeError, Reader, Writer};

use super::Key;

/// An item as coded: 8 bytes of key, 8 bytes of the item's hash.
pub type Value = [u8; 16];

/// The first bytes of a key, as carried in a [`Value`].
pub type KeyPrefix = [u8; 8];

/// Encoded size of one symbol.
pub const SYMBOL_BYTES: usize = 16 + 4 + 2;

/// Most symbols one message carries.
pub const MAX_SYMBOLS: usize = 1 << 15;

/// How many buckets an estimate has.
pub const BUCKETS: usize = 256;

/// One coded symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Symbol {
    /// XOR of the values mapped here.
    pub value: Value,
    /// XOR of their checks.
    pub check: u32,
    /// How many, modulo 2^16 (a difference reads as a signed number).
    pub count: u16,
}

/// The value of the item `key` whose (key, version) hash is `hash`.
pub fn value_of(key: &Key, hash: &[u8; 32]) -> Value {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&key[..8]);
    v[8..].copy_from_slice(&hash[..8]);
    v
}

/// The key prefix a value carries.
pub fn prefix_of(value: &Value) -> KeyPrefix {
    let mut p = [0u8; 8];
    p.copy_from_slice(&value[..8]);
    p
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn halves(v: &Value) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&v[..8]);
    b.copy_from_slice(&v[8..]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

fn check_of(v: &Value) -> u32 {
    let (a, b) = halves(v);
    (mix(a ^ mix(b ^ 0x5443_4845_434B)) >> 32) as u32
}

/// The symbol indices a value maps to, in increasing order, from 0.
struct Mapping {
    next: u64,
    state: u64,
}

impl Mapping {
    fn new(v: &Value) -> Self {
        let (a, b) = halves(v);
        Self {
            next: 0,
            state: a ^ b.rotate_left(17),
        }
    }
}

impl Iterator for Mapping {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let i = self.next;
        // With u uniform in (0, 1], the next index j solves
        // (j + 1.5) = (i + 1.5) / sqrt(u): the survival function of
        // P(map to k) = 1 / (1 + k/2). In integers: s = sqrt(u) * 2^32
        // from a 32-bit uniform r, and 2j + 3 = (2i + 3) * 2^32 / s.
        self.state = mix(self.state);
        let r = (self.state >> 32).max(1);
        let s = (r << 32).isqrt().max(1);
        let two_j = ((u128::from(2 * i + 3) << 32) / u128::from(s)).saturating_sub(3) / 2;
        let j = u64::try_from(two_j).unwrap_or(u64::MAX);
        self.next = j.max(i + 1);
        Some(i)
    }
}

fn toggle(symbols: &mut [Symbol], v: &Value, add: bool) {
    let check = check_of(v);
    let n = symbols.len() as u64;
    for i in Mapping::new(v).take_while(|i| *i < n) {
        let s = &mut symbols[i as usize];
        for (a, b) in s.value.iter_mut().zip(v) {
            *a ^= b;
        }
        s.check ^= check;
        s.count = if add {
            s.count.wrapping_add(1)
        } else {
            s.count.wrapping_sub(1)
        };
    }
}

/// Adds `v` to a set's symbols.
pub fn add(symbols: &mut [Symbol], v: &Value) {
    toggle(symbols, v, true);
}

/// Removes `v` (added before) from a set's symbols.
pub fn remove(symbols: &mut [Symbol], v: &Value) {
    toggle(symbols, v, false);
}

/// The first `n` symbols of a set.
pub fn encode<'a>(values: impl IntoIterator<Item = &'a Value>, n: usize) -> Vec<Symbol> {
    let mut symbols = vec![Symbol::default(); n];
    for v in values {
        add(&mut symbols, v);
    }
    symbols
}

/// A decoded difference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Values the peer holds and we do not.
    pub theirs: Vec<Value>,
    /// Values we hold and the peer does not.
    pub ours: Vec<Value>,
}

/// Decodes the difference between the peer's symbols and ours (the first
/// `theirs.len()` of our set), or `None` when those symbols are too few
/// (or were forged). The work is bounded by the number of symbols.
pub fn decode(theirs: &[Symbol], ours: &[Symbol]) -> Option<Decoded> {
    if theirs.len() != ours.len() {
        return None;
    }
    let mut diff: Vec<Symbol> = theirs
        .iter()
        .zip(ours)
        .map(|(t, o)| {
            let mut value = t.value;
            for (a, b) in value.iter_mut().zip(&o.value) {
                *a ^= b;
            }
            Symbol {
                value,
                check: t.check ^ o.check,
                count: t.count.wrapping_sub(o.count),
            }
        })
        .collect();
    let pure = |s: &Symbol| (s.count == 1 || s.count == u16::MAX) && check_of(&s.value) == s.check;
    let mut queue: Vec<usize> = (0..diff.len()).filter(|i| pure(&diff[*i])).collect();
    let mut out = Decoded::default();
    // Every peel empties at least the symbol it came from; more peels than
    // symbols means forged symbols that never empty.
    let mut budget = 2 * diff.len() + 16;
    while let Some(i) = queue.pop() {
        let s = diff[i];
        if !pure(&s) {
            continue;
        }
        budget = budget.checked_sub(1)?;
        let theirs_side = s.count == 1;
        if theirs_side {
            out.theirs.push(s.value);
        } else {
            out.ours.push(s.value);
        }
        // Removing a value of theirs undoes a +1; one of ours, a -1.
        toggle(&mut diff, &s.value, !theirs_side);
        let n = diff.len() as u64;
        for j in Mapping::new(&s.value).take_while(|j| *j < n) {
            if pure(&diff[j as usize]) {
                queue.push(j as usize);
            }
        }
    }
    diff.iter().all(|s| *s == Symbol::default()).then_some(out)
}

/// Per first key byte, the XOR of the first 2 bytes of the items' hashes
/// (as in their values): a difference in a bucket means at least one item
/// in it differs (two bytes miss one in 65,536, which only lowers the
/// estimate a little). 512 bytes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets(pub Box<[[u8; 2]; BUCKETS]>);

impl Default for Buckets {
    fn default() -> Self {
        Self(Box::new([[0; 2]; BUCKETS]))
    }
}

impl Buckets {
    /// Adds or removes (the same, XOR) an item's value.
    pub fn toggle(&mut self, v: &Value) {
        let b = &mut self.0[usize::from(v[0])];
        for (a, x) in b.iter_mut().zip(&v[8..]) {
            *a ^= x;
        }
    }

    /// How many items differ between the two sets, estimated from how
    /// many buckets differ (items fall into buckets uniformly): `None` when
    /// every bucket differs, which says only that the difference is large.
    pub fn estimate(&self, other: &Buckets) -> Option<usize> {
        let differ = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a != b)
            .count();
        if differ == BUCKETS {
            return None;
        }
        let frac = differ as f64 / BUCKETS as f64;
        Some((-(BUCKETS as f64) * (1.0 - frac).ln()).ceil() as usize)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        for b in self.0.iter() {
            w.raw(b);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut out = Buckets::default();
        for b in out.0.iter_mut() {
            *b = r.array("bucket")?;
        }
        Ok(out)
    }
}

/// How many symbols to send for an estimated `items` differing items:
/// enough that decoding rarely needs a second try.
pub fn symbols_for(items: usize) -> usize {
    (items.saturating_mul(3) / 2 + 16).min(MAX_SYMBOLS)
}

pub(crate) fn encode_symbols(w: &mut Writer, symbols: &[Symbol]) {
    w.len(symbols.len());
    for s in symbols {
        w.raw(&s.value).raw(&s.check.to_be_bytes()).u16(s.count);
    }
}

pub(crate) fn decode_symbols(r: &mut Reader<'_>) -> Result<Vec<Symbol>, DecodeError> {
    let n = r.len("symbols", MAX_SYMBOLS)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let value = r.array("symbol value")?;
        let check = u32::from_be_bytes(r.array("symbol check")?);
        let count = r.u16("symbol count")?;
        out.push(Symbol {
            value,
            check,
            count,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
