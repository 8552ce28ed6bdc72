//! When this node first held each advisory version: the time TAXII's
//! `added_after` and `date_added` speak of.
//!
//! A version is the hash of the advisory's heads (the one the alert
//! dispatcher uses). It is recorded the first time the engine sees the
//! document in that state, on every change event and, at start, for what
//! the store already holds, and kept in the store's meta column family,
//! so the time survives restarts and is never moved later. Versions of
//! one advisory are recorded at least a second apart (MISP compares
//! event timestamps in seconds).

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::warn;
use trustmesh_protocol::{DocId, DocKind, Tlp};

use super::{Engine, now_ms};
use crate::export::csaf_provider::Tree;
use crate::export::misp::Feed;
use crate::export::taxii::Catalog;
use crate::store::RocksStore;

/// The arrival records, and where they are kept.
#[derive(Default)]
pub(super) struct Arrivals {
    store: Option<RocksStore>,
    times: BTreeMap<(DocId, String), u64>,
    /// Bumped on every advisory change, so caches of what advisories
    /// export know when they are stale.
    generation: u64,
    /// The TAXII catalog made at a generation.
    catalog: Option<(u64, Arc<Catalog>)>,
    /// The MISP feeds made at a generation, by the labels they hold.
    feeds: BTreeMap<Vec<Tlp>, (u64, Arc<Feed>)>,
    /// The CSAF provider directory made at a generation (signing every
    /// document is too slow to do per request).
    csaf: Option<(u64, Arc<Result<Tree, String>>)>,
}

impl Engine {
    /// Keeps arrival times in `store` (the node's own), loading those it
    /// holds, and records now for every advisory version held without one.
    pub fn keep_arrivals(&mut self, store: RocksStore) {
        match store.arrivals() {
            Ok(times) => self.arrivals.times = times,
            Err(e) => warn!(error = %e, "arrival times unreadable; recording anew"),
        }
        self.arrivals.store = Some(store);
        let advisories: Vec<DocId> = self
            .node
            .documents()
            .docs()
            .filter(|(_, r)| r.kind() == DocKind::Advisory)
            .map(|(d, _)| *d)
            .collect();
        for doc in advisories {
            self.record_arrival(&doc);
        }
    }

    /// The version of an advisory as its heads stand.
    pub fn advisory_version(&self, doc: &DocId) -> String {
        let heads = self.node.documents().heads(doc);
        crate::alerts::version_of(heads.iter().map(|h| h.as_bytes()))
    }

    /// Records now as the arrival of `doc`'s current version, unless it has
    /// one.
    pub(super) fn record_arrival(&mut self, doc: &DocId) {
        self.arrivals.generation += 1;
        let version = self.advisory_version(doc);
        let key = (*doc, version);
        if self.arrivals.times.contains_key(&key) {
            return;
        }
        // A new version arrives at least a second after the one before,
        // so the MISP event's timestamp (in seconds) grows with every
        // update, however quick.
        let previous = self
            .arrivals
            .times
            .range((*doc, String::new())..)
            .take_while(|((d, _), _)| d == doc)
            .map(|(_, ms)| *ms)
            .max();
        let now = previous.map_or(now_ms(), |p| now_ms().max(p + 1000));
        if let Some(store) = &self.arrivals.store
            && let Err(e) = store.put_arrival(doc, &key.1, now)
        {
            warn!(%doc, error = %e, "arrival time not stored");
        }
        self.arrivals.times.insert(key, now);
    }

    /// When this node first held `doc`'s current version (Unix ms).
    pub fn arrival(&self, doc: &DocId) -> Option<u64> {
        self.arrivals
            .times
            .get(&(*doc, self.advisory_version(doc)))
            .copied()
    }

    /// The TAXII catalog, made by `make` when advisories changed since it
    /// was last made.
    pub fn taxii_catalog(&mut self, make: impl FnOnce(&Engine) -> Catalog) -> Arc<Catalog> {
        let generation = self.arrivals.generation;
        if let Some((g, c)) = &self.arrivals.catalog
            && *g == generation
        {
            return c.clone();
        }
        let c = Arc::new(make(self));
        self.arrivals.catalog = Some((generation, c.clone()));
        c
    }

    /// The MISP feed of the labels `tlp`, made by `make` when advisories
    /// changed since it was last made.
    pub fn misp_feed(&mut self, tlp: &[Tlp], make: impl FnOnce(&Engine) -> Feed) -> Arc<Feed> {
        let generation = self.arrivals.generation;
        if let Some((g, f)) = self.arrivals.feeds.get(tlp)
            && *g == generation
        {
            return f.clone();
        }
        let f = Arc::new(make(self));
        // Stale feeds go: only the readers' few label sets are kept.
        self.arrivals.feeds.retain(|_, (g, _)| *g == generation);
        self.arrivals
            .feeds
            .insert(tlp.to_vec(), (generation, f.clone()));
        f
    }

    /// The CSAF provider directory, made by `make` when advisories changed
    /// since it was last made.
    pub fn csaf_tree(
        &mut self,
        make: impl FnOnce(&Engine) -> Result<Tree, String>,
    ) -> Arc<Result<Tree, String>> {
        let generation = self.arrivals.generation;
        if let Some((g, t)) = &self.arrivals.csaf
            && *g == generation
        {
            return t.clone();
        }
        let t = Arc::new(make(self));
        self.arrivals.csaf = Some((generation, t.clone()));
        t
    }
}
