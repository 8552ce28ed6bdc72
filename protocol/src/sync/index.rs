//! The index the core keeps beside the replica: the sets anti-entropy
//! reconciles (statement ids; documents with their versions, each the
//! digest of the document's change hashes, which the replica holds) and
//! who each document may go to.

use std::collections::{BTreeMap, BTreeSet};

use crate::document::DocId;
use crate::identity::TeamId;
use crate::reconcile::riblt::{self, Buckets, Symbol, Value};
use crate::reconcile::{self, ItemSet, Key};
use crate::statement::{ChangeHash, StatementId};

/// How many symbols of its document set a node sends when it opens a
/// round (528 bytes): enough to decode, nine times in ten, a difference of
/// four documents (eight items) at once.
pub(super) const PREFIX_SYMBOLS: usize = 24;

/// The (document, version) items of a set of documents, aggregated so that
/// what an opening sends is kept up to date per change instead of being
/// recomputed per round and peer: the sum of item hashes (the
/// fingerprint), the first symbols and the estimator buckets.
#[derive(Debug, Clone)]
pub(super) struct Aggregate {
    sum: [u8; 32],
    count: u64,
    prefix: Vec<Symbol>,
    buckets: Buckets,
}

impl Default for Aggregate {
    fn default() -> Self {
        Self {
            sum: [0; 32],
            count: 0,
            prefix: vec![Symbol::default(); PREFIX_SYMBOLS],
            buckets: Buckets::default(),
        }
    }
}

impl Aggregate {
    fn add(&mut self, key: &Key, item: &[u8; 32]) {
        let v = riblt::value_of(key, item);
        reconcile::add_into(&mut self.sum, item);
        self.count += 1;
        riblt::add(&mut self.prefix, &v);
        self.buckets.toggle(&v);
    }

    fn remove(&mut self, key: &Key, item: &[u8; 32]) {
        let v = riblt::value_of(key, item);
        reconcile::sub_from(&mut self.sum, item);
        self.count -= 1;
        riblt::remove(&mut self.prefix, &v);
        self.buckets.toggle(&v);
    }

    /// How many documents.
    pub(super) fn count(&self) -> u64 {
        self.count
    }

    /// The fingerprint, as [`reconcile::open`] computes it.
    pub(super) fn fingerprint(&self) -> [u8; 16] {
        reconcile::fingerprint_from(&self.sum, self.count)
    }

    /// The first [`PREFIX_SYMBOLS`] symbols.
    pub(super) fn prefix(&self) -> &[Symbol] {
        &self.prefix
    }

    /// The estimator buckets.
    pub(super) fn buckets(&self) -> &Buckets {
        &self.buckets
    }
}

/// The index of one document: a hundred bytes or so, whatever its history
/// (its change hashes, the set reconciled per document, are the
/// replica's).
#[derive(Debug, Clone, Default)]
struct DocIndex {
    /// Digest of the stored change hashes (version zero), kept up to date
    /// in constant time per change.
    digest: SetDigest,
    /// `digest`'s value: the document's version at the document level.
    version: [u8; 32],
    /// The reconciliation item hash of (document, version).
    item: [u8; 32],
    /// `None` when every member may receive the document, or its audience.
    restricted: Option<Vec<TeamId>>,
    /// Changes stored since the last snapshot.
    since_snapshot: usize,
}

/// The statement ids and the per-document index.
#[derive(Debug, Clone, Default)]
pub(super) struct Index {
    statements: ItemSet,
    docs: BTreeMap<DocId, DocIndex>,
    /// The documents every member may receive, aggregated: one view shared
    /// by every peer.
    shared: Aggregate,
    /// The restricted documents, added per peer to the shared view.
    restricted: BTreeSet<DocId>,
}

impl Index {
    /// An index of `statements` and no document.
    pub(super) fn new(statements: impl Iterator<Item = StatementId>) -> Self {
        Self {
            statements: statements.map(|id| (*id.as_bytes(), [0; 32])).collect(),
            ..Self::default()
        }
    }

    pub(super) fn add_statement(&mut self, id: &StatementId) {
        self.statements.insert(*id.as_bytes(), [0; 32]);
    }

    /// The statement ids, as reconciled.
    pub(super) fn statement_items(&self) -> &ItemSet {
        &self.statements
    }

    /// Records a change of `doc` newly stored (each change once: the
    /// replica says which are new).
    pub(super) fn add_change(&mut self, doc: DocId, hash: ChangeHash) {
        let idx = self.docs.entry(doc).or_default();
        let shared = idx.restricted.is_none();
        if shared && idx.digest.count > 0 {
            self.shared.remove(doc.as_bytes(), &idx.item);
        }
        idx.digest.add(hash.as_bytes(), &[0; 32]);
        idx.version = idx.digest.value();
        idx.item = reconcile::item_hash(doc.as_bytes(), &idx.version);
        idx.since_snapshot += 1;
        if shared {
            self.shared.add(doc.as_bytes(), &idx.item);
        }
    }

    /// Sets who `doc` may go to (`None`: every member).
    pub(super) fn set_restricted(&mut self, doc: &DocId, restricted: Option<Vec<TeamId>>) {
        let Some(idx) = self.docs.get_mut(doc) else {
            return;
        };
        match (idx.restricted.is_none(), restricted.is_none()) {
            (true, false) => {
                self.shared.remove(doc.as_bytes(), &idx.item);
                self.restricted.insert(*doc);
            }
            (false, true) => {
                self.shared.add(doc.as_bytes(), &idx.item);
                self.restricted.remove(doc);
            }
            _ => {}
        }
        idx.restricted = restricted;
    }

    /// The aggregate of the documents `peer` may receive: the shared one
    /// plus the restricted documents whose audience names the peer.
    pub(super) fn view_for(&self, peer: &TeamId) -> Aggregate {
        let mut view = self.shared.clone();
        for doc in &self.restricted {
            if let Some(i) = self.docs.get(doc)
                && self.visible_to(doc, peer)
            {
                view.add(doc.as_bytes(), &i.item);
            }
        }
        view
    }

    /// The coded values of the documents `peer` may receive, with the
    /// documents.
    pub(super) fn values_for(&self, peer: &TeamId) -> Vec<(Value, DocId)> {
        self.docs
            .iter()
            .filter(|(d, _)| self.visible_to(d, peer))
            .map(|(d, i)| (riblt::value_of(d.as_bytes(), &i.item), *d))
            .collect()
    }

    /// The audience of `doc`: `None` when it is not indexed or every
    /// member may receive it.
    pub(super) fn restricted(&self, doc: &DocId) -> Option<&Vec<TeamId>> {
        self.docs.get(doc).and_then(|i| i.restricted.as_ref())
    }

    /// Every audience of a restricted document, once each.
    pub(super) fn audiences(&self) -> impl Iterator<Item = &Vec<TeamId>> {
        self.docs.values().filter_map(|i| i.restricted.as_ref())
    }

    /// The indexed documents.
    pub(super) fn doc_ids(&self) -> impl Iterator<Item = DocId> + '_ {
        self.docs.keys().copied()
    }

    /// How many documents are indexed.
    pub(super) fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether `snapshot_every` changes of `doc` were stored since its last
    /// snapshot.
    pub(super) fn snapshot_due(&self, doc: &DocId, snapshot_every: usize) -> bool {
        self.docs
            .get(doc)
            .is_some_and(|i| i.since_snapshot >= snapshot_every)
    }

    /// `doc`'s snapshot is current.
    pub(super) fn snapshot_taken(&mut self, doc: &DocId) {
        if let Some(i) = self.docs.get_mut(doc) {
            i.since_snapshot = 0;
        }
    }

    /// Whether `peer` may be told about `doc` (an unknown document: no).
    pub(super) fn visible_to(&self, doc: &DocId, peer: &TeamId) -> bool {
        self.docs
            .get(doc)
            .is_some_and(|i| i.restricted.as_ref().is_none_or(|a| a.contains(peer)))
    }

    /// The documents `peer` may receive, with their versions.
    pub(super) fn doc_items_for(&self, peer: &TeamId) -> ItemSet {
        self.docs
            .iter()
            .filter(|(d, _)| self.visible_to(d, peer))
            .map(|(d, i)| (*d.as_bytes(), i.version))
            .collect()
    }

    /// A digest of every statement id and every document's version.
    pub(super) fn digest(&self) -> [u8; 32] {
        let mut set: ItemSet = self
            .docs
            .iter()
            .map(|(d, i)| (*d.as_bytes(), i.version))
            .collect();
        set.insert([0xff; 32], SetDigest::of(&self.statements).value());
        SetDigest::of(&set).value()
    }
}

/// A set digest with the same construction as the reconciliation
/// fingerprint (sum of item hashes and count), at full width.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SetDigest {
    sum: [u8; 32],
    count: u64,
}

impl SetDigest {
    fn of(set: &ItemSet) -> Self {
        let mut d = Self::default();
        for (k, v) in set {
            d.add(k, v);
        }
        d
    }

    fn add(&mut self, key: &Key, version: &[u8; 32]) {
        reconcile::add_into(&mut self.sum, &reconcile::item_hash(key, version));
        self.count += 1;
    }

    fn value(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.sum);
        h.update(self.count.to_be_bytes());
        h.finalize().into()
    }
}
