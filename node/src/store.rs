//! The node's durable store: RocksDB with a column family per record kind.
//!
//! Every write that acknowledges something to a user or a peer is made with
//! a synced WAL, so a crash after the acknowledgement never loses it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, DB, IteratorMode, Options, WriteBatch, WriteOptions};
use thiserror::Error;
use trustmesh_protocol::{
    ChangeHash, ChangeSource, Charter, DocId, Loaded, SignedChange, SignedStatement, SourceError,
    StatementError, StatementSet, StoredIndex,
};

/// Signed membership statements, by statement id.
const CF_STATEMENTS: &str = "statements";
/// Signed document changes, by document id and change hash.
const CF_CHANGES: &str = "changes";
/// Materialised document snapshots, by document id.
const CF_SNAPSHOTS: &str = "snapshots";
/// Known peers and their addresses.
const CF_PEERS: &str = "peers";
/// Small records: the charter, settings, schema version.
const CF_META: &str = "meta";

const COLUMN_FAMILIES: [&str; 5] = [CF_STATEMENTS, CF_CHANGES, CF_SNAPSHOTS, CF_PEERS, CF_META];

const META_CHARTER: &[u8] = b"charter";
const META_SCHEMA: &[u8] = b"schema";
const SCHEMA_VERSION: &[u8] = b"1";

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// RocksDB reported an error (I/O, corruption, lock held by another process).
    #[error("database error: {0}")]
    Db(#[from] rocksdb::Error),
    /// The store was written by an incompatible version.
    #[error("the store has schema version {found:?}; this build reads version 1")]
    Schema {
        /// The version found.
        found: String,
    },
    /// The stored charter does not verify.
    #[error("the stored charter is invalid: {0}")]
    Charter(StatementError),
    /// A different charter is already stored.
    #[error("this data directory already belongs to network {existing}")]
    OtherNetwork {
        /// The network the store belongs to.
        existing: trustmesh_protocol::NetworkId,
    },
}

/// The RocksDB store of one node. Clones share the database (the engine's
/// peer book writes through a clone beside the core).
#[derive(Clone)]
pub struct RocksStore {
    db: Arc<DB>,
    /// The data directory's lock, held as long as any clone of the store.
    lock: Option<Arc<std::fs::File>>,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

impl RocksStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = COLUMN_FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Self {
            db: Arc::new(db),
            lock: None,
        };
        match store.get(CF_META, META_SCHEMA)? {
            None => store.put(CF_META, META_SCHEMA, SCHEMA_VERSION)?,
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(StoreError::Schema {
                    found: String::from_utf8_lossy(&v).into_owned(),
                });
            }
        }
        Ok(store)
    }

    /// Opens the store at `path` to read only: no lock is taken, so it
    /// works while another process writes (it sees the state as of now).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let db = DB::open_cf_for_read_only(&Options::default(), path, COLUMN_FAMILIES, false)?;
        let store = Self {
            db: Arc::new(db),
            lock: None,
        };
        match store.get(CF_META, META_SCHEMA)? {
            Some(v) if v == SCHEMA_VERSION => Ok(store),
            v => Err(StoreError::Schema {
                found: v.map_or_else(
                    || "none".to_owned(),
                    |v| String::from_utf8_lossy(&v).into_owned(),
                ),
            }),
        }
    }

    /// The store, keeping `lock` (the data directory's) for as long as it
    /// is open.
    pub fn holding(mut self, lock: std::fs::File) -> Self {
        self.lock = Some(Arc::new(lock));
        self
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        // Every column family is created on open.
        self.db
            .cf_handle(name)
            .expect("column families are created when the store opens")
    }

    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(cf), key)?)
    }

    fn put(&self, cf: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        Ok(self.db.put_cf_opt(self.cf(cf), key, value, &synced())?)
    }

    /// The charter this store belongs to, if one was adopted.
    pub fn charter(&self) -> Result<Option<Charter>, StoreError> {
        match self.get(CF_META, META_CHARTER)? {
            None => Ok(None),
            Some(bytes) => Charter::decode(&bytes)
                .map(Some)
                .map_err(StoreError::Charter),
        }
    }

    /// Adopts `charter`; a store belongs to one network for its lifetime.
    /// Returns whether it was newly adopted.
    pub fn adopt_charter(&self, charter: &Charter) -> Result<bool, StoreError> {
        match self.charter()? {
            Some(existing) if existing.network_id() == charter.network_id() => Ok(false),
            Some(existing) => Err(StoreError::OtherNetwork {
                existing: existing.network_id(),
            }),
            None => {
                self.put(CF_META, META_CHARTER, &charter.encode())?;
                Ok(true)
            }
        }
    }

    /// Durably stores a verified statement. Returns whether it was new.
    pub fn put_statement(&self, statement: &SignedStatement) -> Result<bool, StoreError> {
        let key = statement.id();
        if self.get(CF_STATEMENTS, key.as_bytes())?.is_some() {
            return Ok(false);
        }
        self.put(CF_STATEMENTS, key.as_bytes(), &statement.encode())?;
        Ok(true)
    }

    /// Loads every stored statement into a set anchored to `charter`.
    ///
    /// A stored record that no longer verifies is skipped with a warning and
    /// left in place: the store never deletes what it cannot read.
    pub fn statement_set(&self, charter: Charter) -> Result<StatementSet, StoreError> {
        let mut set = StatementSet::new(charter);
        for item in self
            .db
            .iterator_cf(self.cf(CF_STATEMENTS), IteratorMode::Start)
        {
            let (key, value) = item?;
            if let Err(e) = set.insert_bytes(&value) {
                tracing::warn!(key = %hex::encode(&key), error = %e, "skipping a stored statement that does not verify");
            }
        }
        Ok(set)
    }
}

impl RocksStore {
    /// Deletes every document snapshot; returns how many there were. The
    /// next open rebuilds each document from its changes and writes its
    /// snapshot again (for recovery, and for benchmarks of a start without
    /// snapshots). Synced.
    pub fn drop_snapshots(&self) -> Result<usize, StoreError> {
        let cf = self.cf(CF_SNAPSHOTS);
        let mut batch = WriteBatch::default();
        let mut n = 0;
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (key, _) = item?;
            batch.delete_cf(cf, key);
            n += 1;
        }
        self.db.write_opt(batch, &synced())?;
        Ok(n)
    }
}

/// Peer book records as stored: each member's PeerId bytes and its saved
/// record (the core's versioned encoding, or the first format's JSON list
/// of multiaddr strings; the peer book tells them apart).
pub type PeerRecords = Vec<(Vec<u8>, Vec<u8>)>;

impl RocksStore {
    /// The peer book's records, as [`RocksStore::put_peers`] wrote them.
    pub fn peers(&self) -> Result<PeerRecords, StoreError> {
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_PEERS), IteratorMode::Start) {
            let (key, value) = item?;
            out.push((key.into_vec(), value.into_vec()));
        }
        Ok(out)
    }

    /// Writes peer book records over the old ones. The book is a cache,
    /// so the write is not synced.
    pub fn put_peers(&self, peers: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (peer, value) in peers {
            batch.put_cf(self.cf(CF_PEERS), peer, value);
        }
        Ok(self.db.write(batch)?)
    }
}

/// The prefix of arrival records in the meta column family: then the
/// advisory's document id and version, valued the Unix milliseconds when
/// this node first held that version.
const META_ARRIVAL: &[u8] = b"arrival/";

impl RocksStore {
    /// Every arrival record: (document id, version) to Unix milliseconds.
    pub fn arrivals(&self) -> Result<BTreeMap<(DocId, String), u64>, StoreError> {
        let mut out = BTreeMap::new();
        let iter = self.db.iterator_cf(
            self.cf(CF_META),
            IteratorMode::From(META_ARRIVAL, rocksdb::Direction::Forward),
        );
        for item in iter {
            let (key, value) = item?;
            let Some(rest) = key.strip_prefix(META_ARRIVAL) else {
                break;
            };
            let (Some(doc), Some(version), Ok(ms)) = (
                rest.get(..32).and_then(|d| <[u8; 32]>::try_from(d).ok()),
                rest.get(32..).and_then(|v| std::str::from_utf8(v).ok()),
                <[u8; 8]>::try_from(&value[..]),
            ) else {
                tracing::warn!(key = %hex::encode(&key), "skipping a malformed arrival record");
                continue;
            };
            out.insert(
                (DocId::from_bytes(doc), version.to_owned()),
                u64::from_be_bytes(ms),
            );
        }
        Ok(out)
    }

    /// Records when this node first held `version` of `doc`. Not synced:
    /// a record lost in a power cut is made again, later, which only makes
    /// a TAXII client fetch the version once more.
    pub fn put_arrival(&self, doc: &DocId, version: &str, ms: u64) -> Result<(), StoreError> {
        let mut key = META_ARRIVAL.to_vec();
        key.extend_from_slice(doc.as_bytes());
        key.extend_from_slice(version.as_bytes());
        Ok(self.db.put_cf(self.cf(CF_META), key, ms.to_be_bytes())?)
    }
}

/// The change key: document id, then change hash, so a document's changes
/// are adjacent.
fn change_key(change: &SignedChange) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(change.doc().as_bytes());
    key[32..].copy_from_slice(change.hash().as_bytes());
    key
}

impl RocksStore {
    /// Every stored statement; one that does not decode is skipped with a
    /// warning and left in place.
    fn stored_statements(&self) -> Result<Vec<SignedStatement>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_STATEMENTS), IteratorMode::Start)
        {
            let (key, value) = item?;
            match SignedStatement::decode(&value) {
                Ok(s) => out.push(s),
                Err(e) => {
                    tracing::warn!(key = %hex::encode(&key), error = %e, "skipping a stored statement that does not decode")
                }
            }
        }
        Ok(out)
    }

    fn stored_snapshots(&self) -> Result<BTreeMap<DocId, Vec<u8>>, StoreError> {
        let mut snapshots = BTreeMap::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_SNAPSHOTS), IteratorMode::Start)
        {
            let (key, value) = item?;
            match <[u8; 32]>::try_from(&key[..]) {
                Ok(doc) => {
                    snapshots.insert(DocId::from_bytes(doc), value.into_vec());
                }
                Err(_) => {
                    tracing::warn!(key = %hex::encode(&key), "skipping a snapshot with a malformed key")
                }
            }
        }
        Ok(snapshots)
    }

    /// The stored changes of one document: the keys under its id.
    fn doc_changes(&self, doc: &DocId) -> Result<Vec<SignedChange>, StoreError> {
        let mut it = self.db.raw_iterator_cf(self.cf(CF_CHANGES));
        it.seek(doc.as_bytes());
        let mut out = Vec::new();
        while let (Some(key), Some(value)) = (it.key(), it.value()) {
            if !key.starts_with(doc.as_bytes()) {
                break;
            }
            match SignedChange::decode(value) {
                Ok(c) if c.doc() == *doc => out.push(c),
                Ok(_) => {
                    tracing::warn!(key = %hex::encode(key), "skipping a stored change filed under another document")
                }
                Err(e) => {
                    tracing::warn!(key = %hex::encode(key), error = %e, "skipping a stored change that does not decode")
                }
            }
            it.next();
        }
        it.status()?;
        Ok(out)
    }
}

impl ChangeSource for RocksStore {
    fn read_changes(&self, doc: &DocId) -> Result<Vec<SignedChange>, SourceError> {
        Ok(self.doc_changes(doc)?)
    }
}

impl trustmesh_protocol::Store for RocksStore {
    type Error = StoreError;

    fn put_statements(&mut self, statements: &[SignedStatement]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for s in statements {
            batch.put_cf(self.cf(CF_STATEMENTS), s.id().as_bytes(), s.encode());
        }
        Ok(self.db.write_opt(batch, &synced())?)
    }

    fn put_changes(&mut self, changes: &[SignedChange]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for c in changes {
            batch.put_cf(self.cf(CF_CHANGES), change_key(c), c.encode());
        }
        Ok(self.db.write_opt(batch, &synced())?)
    }

    /// Snapshots are derived data: written without a WAL sync, since a lost
    /// snapshot only means replaying the changes it covered.
    fn put_snapshot(&mut self, doc: &DocId, snapshot: &[u8]) -> Result<(), StoreError> {
        Ok(self
            .db
            .put_cf(self.cf(CF_SNAPSHOTS), doc.as_bytes(), snapshot)?)
    }

    /// Many snapshots in one write batch, not synced either.
    fn put_snapshots(&mut self, snapshots: &[(DocId, Vec<u8>)]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (doc, snapshot) in snapshots {
            batch.put_cf(self.cf(CF_SNAPSHOTS), doc.as_bytes(), snapshot);
        }
        Ok(self.db.write(batch)?)
    }

    /// Reads every record back. A record that does not decode is skipped
    /// with a warning and left in place: the store never deletes what it
    /// cannot read.
    fn load(&self) -> Result<Loaded, StoreError> {
        let mut changes = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_CHANGES), IteratorMode::Start)
        {
            let (key, value) = item?;
            match SignedChange::decode(&value) {
                Ok(c) => changes.push(c),
                Err(e) => {
                    tracing::warn!(key = %hex::encode(&key), error = %e, "skipping a stored change that does not decode")
                }
            }
        }
        Ok(Loaded {
            statements: self.stored_statements()?,
            changes,
            snapshots: self.stored_snapshots()?,
        })
    }

    /// The change keys alone (document id, then hash): nothing is decoded
    /// or copied of the changes themselves.
    fn load_index(&self) -> Result<StoredIndex, StoreError> {
        let mut changes: BTreeMap<DocId, Vec<ChangeHash>> = BTreeMap::new();
        let mut it = self.db.raw_iterator_cf(self.cf(CF_CHANGES));
        it.seek_to_first();
        while let Some(key) = it.key() {
            match (
                <[u8; 32]>::try_from(key.get(..32).unwrap_or_default()),
                <[u8; 32]>::try_from(key.get(32..).unwrap_or_default()),
            ) {
                (Ok(doc), Ok(hash)) => changes
                    .entry(DocId::from_bytes(doc))
                    .or_default()
                    .push(ChangeHash::from_bytes(hash)),
                _ => {
                    tracing::warn!(key = %hex::encode(key), "skipping a change with a malformed key")
                }
            }
            it.next();
        }
        it.status()?;
        Ok(StoredIndex {
            statements: self.stored_statements()?,
            changes,
            snapshots: self.stored_snapshots()?,
        })
    }

    fn changes_of(&self, doc: &DocId) -> Result<Vec<SignedChange>, StoreError> {
        self.doc_changes(doc)
    }

    fn source(&self) -> Option<Arc<dyn ChangeSource>> {
        Some(Arc::new(self.clone()))
    }
}

#[cfg(test)]
mod tests;
