//! A store that fails on command: the core's store-failure paths under
//! simulation. A [`FaultyStore`] is a [`SharedStore`] (the disk, which a
//! crash keeps, and which the replica reads the changes of documents out of
//! its cache back from, as from RocksDB) with a switch the simulator holds:
//! while a fault is on, writes fail as a full disk or a failing device
//! makes them fail, and nothing of a failed write is kept. Reading back
//! never fails (a node restarting after the fault reads what was written
//! before it).

use std::sync::Arc;

use std::cell::Cell;
use std::rc::Rc;

use serde::Deserialize;
use trustmesh_protocol::{
    ChangeHash, ChangeSource, DocId, Loaded, SharedStore, SignedChange, SignedStatement,
    StatementId, Store, StoredIndex,
};

/// What goes wrong with a node's disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Every write fails (no space left on the device).
    DiskFull,
    /// One write in `every` fails (an I/O error now and then); the others
    /// succeed.
    WriteError {
        /// How often: one in this many writes.
        every: u32,
    },
}

/// Why a write failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreFault {
    /// The disk is full.
    #[error("no space left on device")]
    DiskFull,
    /// The write failed.
    #[error("input/output error")]
    WriteError,
}

/// The switch a simulated node's store and the simulator share.
#[derive(Debug, Default)]
struct Switch {
    fault: Cell<Option<Fault>>,
    writes: Cell<u64>,
    failed: Cell<u64>,
}

/// A [`SharedStore`] whose writes fail while a fault is on. Clones are the
/// same disk.
#[derive(Debug, Clone, Default)]
pub struct FaultyStore {
    inner: SharedStore,
    switch: Rc<Switch>,
}

impl FaultyStore {
    /// An empty store with no fault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns a fault on (or off with `None`) for this store and every
    /// clone of it (the same disk).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.switch.fault.set(fault);
    }

    /// The fault that is on.
    pub fn fault(&self) -> Option<Fault> {
        self.switch.fault.get()
    }

    /// How many writes failed so far.
    pub fn failed_writes(&self) -> u64 {
        self.switch.failed.get()
    }

    /// An independent copy of what is stored, with no fault (for checking
    /// what a restart would read).
    pub fn snapshot(&self) -> Self {
        Self {
            inner: self.inner.copy(),
            switch: Rc::default(),
        }
    }

    /// Whether the statement is stored.
    pub fn contains_statement(&self, id: &StatementId) -> bool {
        self.inner.contains_statement(id)
    }

    /// Whether the change is stored.
    pub fn contains_change(&self, doc: &DocId, hash: &ChangeHash) -> bool {
        self.inner.contains_change(doc, hash)
    }

    /// Whether this write fails.
    fn check(&self) -> Result<(), StoreFault> {
        let n = self.switch.writes.get() + 1;
        self.switch.writes.set(n);
        let result = match self.switch.fault.get() {
            None => Ok(()),
            Some(Fault::DiskFull) => Err(StoreFault::DiskFull),
            Some(Fault::WriteError { every }) if n.is_multiple_of(u64::from(every.max(1))) => {
                Err(StoreFault::WriteError)
            }
            Some(Fault::WriteError { .. }) => Ok(()),
        };
        if result.is_err() {
            self.switch.failed.set(self.switch.failed.get() + 1);
        }
        result
    }
}

impl Store for FaultyStore {
    type Error = StoreFault;

    fn put_statements(&mut self, statements: &[SignedStatement]) -> Result<(), StoreFault> {
        self.check()?;
        let Ok(()) = self.inner.put_statements(statements);
        Ok(())
    }

    fn put_changes(&mut self, changes: &[SignedChange]) -> Result<(), StoreFault> {
        self.check()?;
        let Ok(()) = self.inner.put_changes(changes);
        Ok(())
    }

    fn put_snapshot(&mut self, doc: &DocId, snapshot: &[u8]) -> Result<(), StoreFault> {
        self.check()?;
        let Ok(()) = self.inner.put_snapshot(doc, snapshot);
        Ok(())
    }

    fn load(&self) -> Result<Loaded, StoreFault> {
        let Ok(loaded) = self.inner.load();
        Ok(loaded)
    }

    fn load_index(&self) -> Result<StoredIndex, StoreFault> {
        let Ok(index) = self.inner.load_index();
        Ok(index)
    }

    fn changes_of(&self, doc: &DocId) -> Result<Vec<SignedChange>, StoreFault> {
        let Ok(changes) = self.inner.changes_of(doc);
        Ok(changes)
    }

    fn source(&self) -> Option<Arc<dyn ChangeSource>> {
        self.inner.source()
    }
}

#[cfg(test)]
mod tests;
