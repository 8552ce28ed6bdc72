//! The durable store the replication core writes through.
//!
//! The core calls the store synchronously and treats a returned `Ok` as
//! durable: the node's RocksDB store syncs its write-ahead log before
//! returning, so a local edit acknowledged to a user survives a crash. The
//! simulator uses [`MemStore`], which a "crash" keeps (it models the disk).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use crate::document::{DocId, SignedChange};
use crate::statement::{ChangeHash, SignedStatement, StatementId};

/// What a store holds, as read back at startup.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every stored statement.
    pub statements: Vec<SignedStatement>,
    /// Every stored signed change, in no particular order.
    pub changes: Vec<SignedChange>,
    /// The latest snapshot of each document that has one.
    pub snapshots: BTreeMap<DocId, Vec<u8>>,
}

/// What a store holds, without the changes themselves: what a start reads
/// when documents' snapshots let it leave their changes on disk.
#[derive(Debug, Clone, Default)]
pub struct StoredIndex {
    /// Every stored statement.
    pub statements: Vec<SignedStatement>,
    /// The hashes of each document's stored changes, sorted.
    pub changes: BTreeMap<DocId, Vec<ChangeHash>>,
    /// The latest snapshot of each document that has one.
    pub snapshots: BTreeMap<DocId, Vec<u8>>,
}

/// Why a [`ChangeSource`] could not read.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// A read handle on a store's changes, shared with the replica so it can
/// leave the changes of documents out of its cache on disk and read them
/// back when one is needed (see [`crate::Documents::set_source`]). Reads
/// only what [`Store::put_changes`] made durable.
pub trait ChangeSource: Send + Sync {
    /// The stored changes of `doc`, in any order.
    fn read_changes(&self, doc: &DocId) -> Result<Vec<SignedChange>, SourceError>;
}

/// Durable storage for the replication core.
///
/// Every `put_*` returns only once the data is durable. Records are
/// idempotent: putting a record that is already stored is not an error.
pub trait Store {
    /// Why a store operation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores signed statements.
    fn put_statements(&mut self, statements: &[SignedStatement]) -> Result<(), Self::Error>;

    /// Stores signed changes (already verified by the caller).
    fn put_changes(&mut self, changes: &[SignedChange]) -> Result<(), Self::Error>;

    /// Replaces a document's snapshot.
    fn put_snapshot(&mut self, doc: &DocId, snapshot: &[u8]) -> Result<(), Self::Error>;

    /// Replaces several documents' snapshots, in one write where the store
    /// can. Snapshots are a cache of what the changes say, so unlike the
    /// other writes this one need not be durable when it returns: a lost
    /// snapshot only costs replaying the changes it covered.
    fn put_snapshots(&mut self, snapshots: &[(DocId, Vec<u8>)]) -> Result<(), Self::Error> {
        for (doc, snapshot) in snapshots {
            self.put_snapshot(doc, snapshot)?;
        }
        Ok(())
    }

    /// Reads everything back.
    fn load(&self) -> Result<Loaded, Self::Error>;

    /// Reads back the statements, the snapshots and which changes are
    /// stored, not the changes.
    fn load_index(&self) -> Result<StoredIndex, Self::Error>;

    /// The stored changes of one document, in any order.
    fn changes_of(&self, doc: &DocId) -> Result<Vec<SignedChange>, Self::Error>;

    /// A read handle on the stored changes for the replica, if this store
    /// can share one; without it every document's changes stay in memory.
    fn source(&self) -> Option<Arc<dyn ChangeSource>> {
        None
    }
}

/// A store in memory, for tests and the simulator.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    statements: BTreeMap<StatementId, SignedStatement>,
    changes: BTreeMap<(DocId, [u8; 32]), SignedChange>,
    snapshots: BTreeMap<DocId, Vec<u8>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many changes are stored.
    pub fn change_count(&self) -> usize {
        self.changes.len()
    }

    /// Whether the statement is stored.
    pub fn contains_statement(&self, id: &StatementId) -> bool {
        self.statements.contains_key(id)
    }

    /// Whether the change is stored.
    pub fn contains_change(&self, doc: &DocId, hash: &crate::ChangeHash) -> bool {
        self.changes.contains_key(&(*doc, *hash.as_bytes()))
    }
}

impl Store for MemStore {
    type Error = Infallible;

    fn put_statements(&mut self, statements: &[SignedStatement]) -> Result<(), Infallible> {
        for s in statements {
            self.statements.insert(s.id(), s.clone());
        }
        Ok(())
    }

    fn put_changes(&mut self, changes: &[SignedChange]) -> Result<(), Infallible> {
        for c in changes {
            self.changes
                .insert((c.doc(), *c.hash().as_bytes()), c.clone());
        }
        Ok(())
    }

    fn put_snapshot(&mut self, doc: &DocId, snapshot: &[u8]) -> Result<(), Infallible> {
        self.snapshots.insert(*doc, snapshot.to_vec());
        Ok(())
    }

    fn load(&self) -> Result<Loaded, Infallible> {
        Ok(Loaded {
            statements: self.statements.values().cloned().collect(),
            changes: self.changes.values().cloned().collect(),
            snapshots: self.snapshots.clone(),
        })
    }

    fn load_index(&self) -> Result<StoredIndex, Infallible> {
        let mut changes: BTreeMap<DocId, Vec<ChangeHash>> = BTreeMap::new();
        for (doc, hash) in self.changes.keys() {
            changes
                .entry(*doc)
                .or_default()
                .push(ChangeHash::from_bytes(*hash));
        }
        Ok(StoredIndex {
            statements: self.statements.values().cloned().collect(),
            changes,
            snapshots: self.snapshots.clone(),
        })
    }

    fn changes_of(&self, doc: &DocId) -> Result<Vec<SignedChange>, Infallible> {
        Ok(self
            .changes
            .range((*doc, [0; 32])..=(*doc, [0xff; 32]))
            .map(|(_, c)| c.clone())
            .collect())
    }
}

/// A [`MemStore`] the replica also reads changes back from (its
/// [`ChangeSource`]), so documents out of the cache leave their changes
/// here as they leave them in the node's RocksDB store: the path tests and
/// the simulator exercise. Clones share the same data (a `MemStore` clone
/// is a copy).
#[derive(Debug, Clone, Default)]
pub struct SharedStore(Arc<std::sync::Mutex<MemStore>>);

impl SharedStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemStore) -> T) -> T {
        // A panic elsewhere while the lock was held leaves plain maps, each
        // write whole: the data stays usable.
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// How many changes are stored.
    pub fn change_count(&self) -> usize {
        self.with(|s| s.change_count())
    }

    /// An independent copy of what is stored.
    pub fn copy(&self) -> Self {
        Self(Arc::new(std::sync::Mutex::new(self.with(|s| s.clone()))))
    }

    /// Whether the statement is stored.
    pub fn contains_statement(&self, id: &StatementId) -> bool {
        self.with(|s| s.contains_statement(id))
    }

    /// Whether the change is stored.
    pub fn contains_change(&self, doc: &DocId, hash: &ChangeHash) -> bool {
        self.with(|s| s.contains_change(doc, hash))
    }
}

impl ChangeSource for SharedStore {
    fn read_changes(&self, doc: &DocId) -> Result<Vec<SignedChange>, SourceError> {
        let Ok(changes) = self.with(|s| s.changes_of(doc));
        Ok(changes)
    }
}

impl Store for SharedStore {
    type Error = Infallible;

    fn put_statements(&mut self, statements: &[SignedStatement]) -> Result<(), Infallible> {
        self.with(|s| s.put_statements(statements))
    }

    fn put_changes(&mut self, changes: &[SignedChange]) -> Result<(), Infallible> {
        self.with(|s| s.put_changes(changes))
    }

    fn put_snapshot(&mut self, doc: &DocId, snapshot: &[u8]) -> Result<(), Infallible> {
        self.with(|s| s.put_snapshot(doc, snapshot))
    }

    fn load(&self) -> Result<Loaded, Infallible> {
        self.with(|s| s.load())
    }

    fn load_index(&self) -> Result<StoredIndex, Infallible> {
        self.with(|s| s.load_index())
    }

    fn changes_of(&self, doc: &DocId) -> Result<Vec<SignedChange>, Infallible> {
        self.with(|s| s.changes_of(doc))
    }

    fn source(&self) -> Option<Arc<dyn ChangeSource>> {
        Some(Arc::new(self.clone()))
    }
}
