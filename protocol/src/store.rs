//! The durable store the replication core writes through.
//!
//! The core calls the store synchronously and treats a returned `Ok` as
//! durable: the node's RocksDB store syncs its write-ahead log before
//! returning, so a local edit acknowledged to a user survives a crash. The
//! simulator uses [`MemStore`], which a "crash" keeps (it models the disk).

use std::collections::BTreeMap;
use std::convert::Infallible;

use crate::document::{DocId, SignedChange};
use crate::statement::{SignedStatement, StatementId};

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
}
