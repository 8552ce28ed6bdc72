//! Documents whose changes are left on disk.
//!
//! With a [`ChangeSource`] (the node's RocksDB store), a document the cache
//! evicts drops its changes too, not only its materialized state: what
//! stays in memory is [`Cold`], the few hundred bytes the hot paths read
//! (heads, audience, change statuses, authors). A read of its content or
//! its changes reads them back from the store for that read; a write, a
//! membership change or a received change brings them back into the
//! replica ([`Documents::thaw`]). Without a source (the simulator's
//! in-memory store) documents keep their changes, as before.
//!
//! A document goes cold only when every change it holds is durable, which
//! the core guarantees: it stores received changes before the replica
//! takes them, and a local change whose write fails is rolled back before
//! anything else touches the replica.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ChangeStatus, DocState, Documents, Evicted, Held};
use crate::document::change::SignedChange;
use crate::document::id::{DocId, DocRef};
use crate::identity::TeamId;
use crate::statement::ChangeHash;
use crate::store::ChangeSource;

/// What is kept of a document whose changes are in the store alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cold {
    pub(super) doc_ref: DocRef,
    /// Every change the replica holds and its status, sorted by hash.
    pub(super) statuses: Vec<(ChangeHash, ChangeStatus)>,
    /// The teams that signed them, sorted.
    pub(super) authors: Vec<TeamId>,
    /// The heads of the materialized document, sorted.
    pub(super) heads: Vec<ChangeHash>,
    /// The heads of the stored changes when they differ from `heads`.
    pub(super) stored_heads: Option<Vec<ChangeHash>>,
    /// Dependencies named but not stored, sorted.
    pub(super) missing: Vec<ChangeHash>,
    pub(super) restricted: Option<Vec<TeamId>>,
    pub(super) csaf_key: (Option<String>, Option<String>),
}

impl Cold {
    /// What a document keeps when its changes go back to the store.
    pub(super) fn of(state: &DocState) -> Self {
        let heads = state.heads();
        let stored_heads = state.stored_heads();
        Self {
            doc_ref: state.doc_ref.clone(),
            statuses: state.changes.iter().map(|(h, s)| (*h, s.status)).collect(),
            authors: state.authors.iter().copied().collect(),
            stored_heads: (stored_heads != heads).then_some(stored_heads),
            heads,
            missing: state.missing(),
            restricted: state.restricted(),
            csaf_key: state.csaf_key(),
        }
    }

    pub(super) fn status(&self, h: &ChangeHash) -> Option<ChangeStatus> {
        self.statuses
            .binary_search_by(|(k, _)| k.cmp(h))
            .ok()
            .map(|i| self.statuses[i].1)
    }

    pub(super) fn stored_heads(&self) -> Vec<ChangeHash> {
        self.stored_heads
            .clone()
            .unwrap_or_else(|| self.heads.clone())
    }

    /// The document rebuilt from its stored changes, as it was when it
    /// went cold: the statuses recorded, the materialized state left out
    /// (it comes back by applying the applied changes, see
    /// [`DocState::wake`]). Stored changes the replica did not hold (ones
    /// that failed verification at a start) stay out.
    pub(super) fn thaw(&self, stored: Vec<SignedChange>) -> Result<DocState, &'static str> {
        let mut state = DocState::new(self.doc_ref.clone());
        for c in stored {
            if c.doc() != self.doc_ref.id() {
                return Err("the store returned a change of another document");
            }
            if let Some(status) = self.status(&c.hash()) {
                state.index(c, status);
            }
        }
        if state.changes.len() != self.statuses.len() {
            return Err("changes the replica held are missing from the store");
        }
        state.refused = self
            .statuses
            .iter()
            .filter(|(_, s)| *s == ChangeStatus::Refused)
            .map(|(h, _)| *h)
            .collect();
        let applied: BTreeSet<ChangeHash> = self
            .statuses
            .iter()
            .filter(|(_, s)| *s == ChangeStatus::Applied)
            .map(|(h, _)| *h)
            .collect();
        state.recompute_clocks(&applied);
        state.doc = Held::Evicted(Box::new(Evicted {
            heads: self.heads.clone(),
            restricted: self.restricted.clone(),
            csaf_key: self.csaf_key.clone(),
        }));
        Ok(state)
    }
}

/// A document in the replica: its changes in memory, or in the store.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    Loaded(Box<DocState>),
    Cold(Box<Cold>),
}

impl Slot {
    pub(super) fn doc_ref(&self) -> &DocRef {
        match self {
            Slot::Loaded(s) => &s.doc_ref,
            Slot::Cold(c) => &c.doc_ref,
        }
    }

    pub(super) fn heads(&self) -> Vec<ChangeHash> {
        match self {
            Slot::Loaded(s) => s.heads(),
            Slot::Cold(c) => c.heads.clone(),
        }
    }

    pub(super) fn stored_heads(&self) -> Vec<ChangeHash> {
        match self {
            Slot::Loaded(s) => s.stored_heads(),
            Slot::Cold(c) => c.stored_heads(),
        }
    }

    pub(super) fn missing(&self) -> Vec<ChangeHash> {
        match self {
            Slot::Loaded(s) => s.missing(),
            Slot::Cold(c) => c.missing.clone(),
        }
    }

    pub(super) fn restricted(&self) -> Option<Vec<TeamId>> {
        match self {
            Slot::Loaded(s) => s.restricted(),
            Slot::Cold(c) => c.restricted.clone(),
        }
    }

    pub(super) fn csaf_key(&self) -> (Option<String>, Option<String>) {
        match self {
            Slot::Loaded(s) => s.csaf_key(),
            Slot::Cold(c) => c.csaf_key.clone(),
        }
    }

    pub(super) fn authors(&self) -> Box<dyn Iterator<Item = &TeamId> + '_> {
        match self {
            Slot::Loaded(s) => Box::new(s.authors.iter()),
            Slot::Cold(c) => Box::new(c.authors.iter()),
        }
    }

    pub(super) fn status(&self, h: &ChangeHash) -> Option<ChangeStatus> {
        match self {
            Slot::Loaded(s) => s.status(h),
            Slot::Cold(c) => c.status(h),
        }
    }

    /// Every change held and its status, by hash.
    pub(super) fn statuses(&self) -> Box<dyn Iterator<Item = (ChangeHash, ChangeStatus)> + '_> {
        match self {
            Slot::Loaded(s) => Box::new(s.changes.iter().map(|(h, s)| (*h, s.status))),
            Slot::Cold(c) => Box::new(c.statuses.iter().copied()),
        }
    }

    /// Whether the document's materialized state is held.
    pub(super) fn is_live(&self) -> bool {
        matches!(self, Slot::Loaded(s) if !s.is_evicted())
    }
}

/// The replica's handle on the store's changes, and how many reads of it
/// failed (shared by the replica's copies: the counter is the node's).
#[derive(Clone)]
pub(super) struct Source {
    changes: Arc<dyn ChangeSource>,
    failures: Arc<AtomicU64>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("failures", &self.failures.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Documents {
    /// Leaves the changes of documents out of the cache in `source` (the
    /// store the core writes them to), reading them back when needed:
    /// memory then follows [`Self::set_cache_capacity`], not the history.
    /// Every change the replica holds must be in `source` already, and
    /// every change it takes from now on must be stored first.
    pub fn set_source(&mut self, source: Arc<dyn ChangeSource>) {
        self.source = Some(Source {
            changes: source,
            failures: Arc::new(AtomicU64::new(0)),
        });
        let out: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Loaded(d) if d.is_evicted()))
            .map(|(id, _)| *id)
            .collect();
        for doc in out {
            self.settle(&doc);
        }
    }

    /// How many reads of documents' changes from the store failed (each
    /// failed read left its document as it was, and the operation that
    /// needed it without it).
    pub fn store_read_failures(&self) -> u64 {
        self.source
            .as_ref()
            .map_or(0, |s| s.failures.load(Ordering::Relaxed))
    }

    /// How many documents have their changes in the store alone.
    pub fn cold_documents(&self) -> usize {
        self.docs
            .values()
            .filter(|s| matches!(s, Slot::Cold(_)))
            .count()
    }

    /// A cold document read back from the store.
    fn read_cold(&self, cold: &Cold) -> Result<DocState, String> {
        let Some(source) = &self.source else {
            return Err("no store to read the document's changes from".to_owned());
        };
        let doc = cold.doc_ref.id();
        let result = source
            .changes
            .read_changes(&doc)
            .map_err(|e| e.to_string())
            .and_then(|stored| cold.thaw(stored).map_err(str::to_owned));
        if result.is_err() {
            source.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// A document's full state: the one held, or one read back from the
    /// store for this read (the replica is not changed). `Err` when its
    /// changes could not be read.
    pub(super) fn state(&self, doc: &DocId) -> Result<Option<Cow<'_, DocState>>, String> {
        match self.docs.get(doc) {
            None => Ok(None),
            Some(Slot::Loaded(s)) => Ok(Some(Cow::Borrowed(s))),
            Some(Slot::Cold(c)) => self.read_cold(c).map(|s| Some(Cow::Owned(s))),
        }
    }

    /// Brings a cold document's changes back into the replica. `Err` when
    /// they could not be read: the document stays cold.
    pub(super) fn thaw(&mut self, doc: &DocId) -> Result<(), String> {
        let Some(Slot::Cold(cold)) = self.docs.get(doc) else {
            return Ok(());
        };
        let state = self.read_cold(cold)?;
        self.docs.insert(*doc, Slot::Loaded(Box::new(state)));
        Ok(())
    }

    /// A loaded document whose materialized state is not held goes cold
    /// when the replica has a store to read it back from.
    pub(super) fn settle(&mut self, doc: &DocId) {
        if self.source.is_none() {
            return;
        }
        if let Some(slot) = self.docs.get_mut(doc)
            && let Slot::Loaded(state) = slot
            && state.is_evicted()
        {
            *slot = Slot::Cold(Box::new(Cold::of(state)));
        }
    }

    /// Stored changes of `doc` by hash, in the order asked; hashes not held
    /// are skipped.
    pub fn changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<SignedChange>, String> {
        let Some(state) = self.state(doc)? else {
            return Ok(vec![]);
        };
        Ok(hashes
            .iter()
            .filter_map(|h| state.changes.get(h).map(|s| s.signed.clone()))
            .collect())
    }

    /// Whether the replica holds the change.
    pub fn contains_change(&self, doc: &DocId, hash: &ChangeHash) -> bool {
        self.docs.get(doc).is_some_and(|s| s.status(hash).is_some())
    }
}
