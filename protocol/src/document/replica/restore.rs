//! Cold start without replaying history: per-document snapshots.
//!
//! A snapshot holds what replaying a document's changes would compute and
//! cannot be recomputed cheaply: the status of every change it covers and,
//! for a document with more than `APPLY_UP_TO` applied changes, the
//! Automerge document saved in its compact form (a shorter history is
//! applied again, unchecked: its statuses say what applies, and applying a
//! few changes costs less than saving and loading the document). Indices
//! that follow from the changes alone (children, rivals, authors, clocks)
//! are rebuilt from the stored changes. A SHA-256 of the snapshot closes
//! it: a damaged one is not used.
//!
//! A snapshot is used only when it decodes, it was computed under the same
//! view of its own authors (a document's state depends on the membership
//! only through the standing of the teams that wrote it, so a membership
//! change invalidates only the snapshots of the documents it affects),
//! every change it covers is stored, and the loaded document's heads are
//! exactly the heads of the changes it says are applied. Otherwise the
//! document is rebuilt from its changes, as before; a bad snapshot costs
//! time, never data.
//!
//! With a store to read changes back from (see [`Documents::set_source`]),
//! a usable snapshot restores its document cold: the snapshot holds what
//! the replica keeps of a document out of the cache (heads, audience,
//! statuses, authors), so a start reads neither its changes nor its saved
//! document, verifies nothing and applies nothing; the store's list of
//! change keys shows whether changes were stored after the snapshot, and
//! such a document is loaded and replayed as before.
//!
//! Snapshots are a cache the node writes lazily (see
//! [`Documents::take_snapshots`]): every document whose state changed is
//! marked, and its snapshot is written later in one batch with others. A
//! snapshot lost in a crash only means replaying the changes it would have
//! covered.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::{Automerge, ReadDoc};
use sha2::{Digest, Sha256};

use super::cold::{Cold, Slot};
use super::{ChangeStatus, DocState, Documents, Eligibility, Held, Stored, View, from_am};
use crate::codec::{DecodeError, Reader, Writer};
use crate::document::change::SignedChange;
use crate::document::id::{DocId, DocKind, DocRef};
use crate::identity::TeamId;
use crate::membership::Membership;
use crate::statement::{ChangeHash, NetworkId};
use crate::store::ChangeSource;

/// Version 3: the snapshot also holds what a document out of the cache
/// keeps (its reference, heads, audience, authors), so it restores without
/// reading its changes. Version 2 (statuses and the saved document) and 1
/// no longer decode: their documents are replayed once and snapshotted
/// again.
const SNAPSHOT_VERSION: u8 = 3;
/// Changes replayed at a start are checked and applied in batches of
/// about this many, so a start holds no more of them at once.
const REPLAY_BATCH: usize = 4096;
const TAG_VIEW: &[u8] = b"trustmesh/v1/authors-view\0";
/// Documents with at most this many applied changes are restored by
/// applying them, without a saved document in their snapshot.
const APPLY_UP_TO: usize = 8;
/// Largest saved Automerge document a snapshot may hold.
const MAX_SAVED_BYTES: usize = 256 << 20;

/// What [`Documents::restore`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Documents restored from their snapshots.
    pub from_snapshot: usize,
    /// Changes covered by those snapshots (neither verified nor applied
    /// again).
    pub skipped: usize,
    /// Changes verified and applied one by one (documents without a usable
    /// snapshot, and changes stored after a snapshot was taken).
    pub replayed: usize,
    /// Documents restored from their snapshots alone, their changes left
    /// in the store (counted in `from_snapshot` too).
    pub cold: usize,
    /// Stored changes that failed verification and were left out.
    pub rejected: usize,
    /// Documents whose snapshot could not be used, and why.
    pub fallbacks: Vec<(DocId, &'static str)>,
}

fn status_code(s: ChangeStatus) -> u8 {
    match s {
        ChangeStatus::Applied => 0,
        ChangeStatus::MissingDeps => 1,
        ChangeStatus::AuthorNotMember => 2,
        ChangeStatus::OutsideRevocationFrontier => 3,
        ChangeStatus::NotPermitted => 4,
        ChangeStatus::Superseded => 5,
        ChangeStatus::BrokenSequence => 6,
        ChangeStatus::Refused => 7,
    }
}

fn status_of(code: u8) -> Result<ChangeStatus, DecodeError> {
    Ok(match code {
        0 => ChangeStatus::Applied,
        1 => ChangeStatus::MissingDeps,
        2 => ChangeStatus::AuthorNotMember,
        3 => ChangeStatus::OutsideRevocationFrontier,
        4 => ChangeStatus::NotPermitted,
        5 => ChangeStatus::Superseded,
        6 => ChangeStatus::BrokenSequence,
        7 => ChangeStatus::Refused,
        tag => {
            return Err(DecodeError::UnknownTag {
                field: "change status",
                tag,
            });
        }
    })
}

impl View {
    /// A digest of the view of `authors` (sorted, as a `BTreeSet` iterates):
    /// a snapshot is valid only under the standing its document's authors
    /// had when it was computed. Other teams' standing does not change the
    /// document (see [`Documents::on_membership_changed`]).
    fn digest_for<'a>(&self, authors: impl Iterator<Item = &'a TeamId>) -> [u8; 32] {
        let mut w = Writer::with_prefix(TAG_VIEW);
        for a in authors {
            w.raw(a.as_bytes());
            match self.eligibility(a) {
                Eligibility::Member => {
                    w.u8(0);
                }
                Eligibility::Revoked(kept) => {
                    w.u8(1).len(kept.len());
                    for h in kept {
                        w.raw(h.as_bytes());
                    }
                }
                Eligibility::Outside => {
                    w.u8(2);
                }
            }
        }
        Sha256::digest(w.finish()).into()
    }
}

struct Snapshot {
    view: [u8; 32],
    /// What the document keeps out of the cache.
    cold: Cold,
    saved: Vec<u8>,
}

fn hashes(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<ChangeHash>, DecodeError> {
    let n = r.len(field, usize::MAX >> 1)?;
    (0..n)
        .map(|_| Ok(ChangeHash::from_bytes(r.array(field)?)))
        .collect()
}

fn teams(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<TeamId>, DecodeError> {
    let n = r.len(field, usize::MAX >> 1)?;
    (0..n)
        .map(|_| Ok(TeamId::from_stored_bytes(r.array(field)?)))
        .collect()
}

fn optional<T>(
    r: &mut Reader<'_>,
    field: &'static str,
    read: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    match r.u8(field)? {
        0 => Ok(None),
        1 => read(r).map(Some),
        tag => Err(DecodeError::UnknownTag { field, tag }),
    }
}

/// The encoding [`optional`] reads: a tag, then the value if present.
fn write_optional<T: ?Sized>(w: &mut Writer, value: Option<&T>, write: fn(&mut Writer, &T)) {
    match value {
        None => {
            w.u8(0);
        }
        Some(v) => {
            w.u8(1);
            write(w, v);
        }
    }
}

fn write_hashes(w: &mut Writer, list: &[ChangeHash]) {
    w.len(list.len());
    for h in list {
        w.raw(h.as_bytes());
    }
}

fn write_teams(w: &mut Writer, list: &[TeamId]) {
    w.len(list.len());
    for t in list {
        w.raw(t.as_bytes());
    }
}

fn sorted_unique<T: Ord>(list: &[T], field: &'static str) -> Result<(), DecodeError> {
    if list.windows(2).all(|w| w[0] < w[1]) {
        Ok(())
    } else {
        Err(DecodeError::NotCanonical(field))
    }
}

impl Snapshot {
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        // The body, then its SHA-256: a damaged snapshot is never used (the
        // statuses of a short history have no saved document to check
        // them against).
        let Some(split) = bytes.len().checked_sub(32) else {
            return Err(DecodeError::NotCanonical("snapshot digest"));
        };
        let (bytes, digest) = bytes.split_at(split);
        if Sha256::digest(bytes).as_slice() != digest {
            return Err(DecodeError::NotCanonical("snapshot digest"));
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("snapshot version")?;
        if version != SNAPSHOT_VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let kind = DocKind::from_code(r.u8("document kind")?)?;
        let owner = TeamId::from_stored_bytes(r.array("owner")?);
        let name = r.text("document name")?;
        let doc_ref = DocRef::new(kind, owner, name)
            .map_err(|_| DecodeError::NotCanonical("document name"))?;
        let view = r.array("view digest")?;
        let n = r.len("snapshot changes", usize::MAX >> 1)?;
        let mut statuses = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let h = ChangeHash::from_bytes(r.array("change hash")?);
            statuses.push((h, status_of(r.u8("change status")?)?));
        }
        if !statuses.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(DecodeError::NotCanonical("snapshot changes"));
        }
        let authors = teams(&mut r, "authors")?;
        sorted_unique(&authors, "authors")?;
        let heads = hashes(&mut r, "heads")?;
        let stored_heads = optional(&mut r, "stored heads", |r| hashes(r, "stored heads"))?;
        let missing = hashes(&mut r, "missing dependencies")?;
        let restricted = optional(&mut r, "audience", |r| teams(r, "audience"))?;
        let tracking = optional(&mut r, "tracking id", |r| r.text("tracking id"))?;
        let namespace = optional(&mut r, "namespace", |r| r.text("namespace"))?;
        let len = r.len("saved document", MAX_SAVED_BYTES)?;
        let saved = r.take(len, "saved document")?.to_vec();
        r.finish()?;
        Ok(Self {
            view,
            cold: Cold {
                doc_ref,
                statuses,
                authors,
                heads,
                stored_heads,
                missing,
                restricted,
                csaf_key: (tracking, namespace),
            },
            saved,
        })
    }

    fn encode(view: &[u8; 32], cold: &Cold, saved: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(SNAPSHOT_VERSION);
        cold.doc_ref.encode(&mut w);
        w.raw(view).len(cold.statuses.len());
        for (h, s) in &cold.statuses {
            w.raw(h.as_bytes()).u8(status_code(*s));
        }
        write_teams(&mut w, &cold.authors);
        write_hashes(&mut w, &cold.heads);
        write_optional(&mut w, cold.stored_heads.as_deref(), write_hashes);
        write_hashes(&mut w, &cold.missing);
        write_optional(&mut w, cold.restricted.as_deref(), write_teams);
        for text in [&cold.csaf_key.0, &cold.csaf_key.1] {
            write_optional(&mut w, text.as_deref(), |w, t| {
                w.text(t);
            });
        }
        w.len(saved.len()).raw(saved);
        let mut bytes = w.finish();
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        bytes
    }

    /// Whether the document can be restored from this snapshot without
    /// reading its changes: `stored` (the store's sorted change hashes) are
    /// exactly the changes it covers, and its authors stand as they did.
    fn restores_cold(&self, doc: &DocId, stored: &[ChangeHash], view: &View) -> bool {
        self.cold.doc_ref.id() == *doc
            && stored.len() == self.cold.statuses.len()
            && stored
                .iter()
                .zip(&self.cold.statuses)
                .all(|(a, (b, _))| a == b)
            && self.view == view.digest_for(self.cold.authors.iter())
    }
}

impl DocState {
    /// Indexes a stored change without applying it.
    pub(super) fn index(&mut self, signed: SignedChange, status: ChangeStatus) {
        let h = signed.hash();
        let change = signed.change();
        for d in change.deps() {
            self.children.entry(from_am(d)).or_default().insert(h);
        }
        self.by_seq
            .entry((change.actor_id().clone(), change.seq()))
            .or_default()
            .insert(h);
        self.authors.insert(signed.author());
        self.changes.insert(h, Stored { signed, status });
    }

    /// Builds the state a snapshot describes, or says why it cannot.
    /// Returns the stored changes the snapshot does not cover.
    fn from_snapshot(
        doc_ref: DocRef,
        snapshot: &Snapshot,
        view: &View,
        changes: Vec<SignedChange>,
    ) -> Result<(Self, Vec<SignedChange>), &'static str> {
        if snapshot.cold.doc_ref != doc_ref {
            return Err("the snapshot is of another document");
        }
        let mut state = DocState::new(doc_ref);
        let mut later = Vec::new();
        for c in changes {
            match snapshot.cold.status(&c.hash()) {
                Some(status) => state.index(c, status),
                None => later.push(c),
            }
        }
        if state.changes.len() != snapshot.cold.statuses.len() {
            return Err("the snapshot covers changes that are not stored");
        }
        if snapshot.view != view.digest_for(state.authors.iter()) {
            return Err("the membership of its authors changed since the snapshot");
        }
        let applied: BTreeSet<ChangeHash> = state
            .changes
            .iter()
            .filter(|(_, s)| s.status == ChangeStatus::Applied)
            .map(|(h, _)| *h)
            .collect();
        let all_present = if snapshot.saved.is_empty() {
            // A short history: the document is its applied changes,
            // applied without the checks their statuses already record.
            state.doc = Held::Live(Box::new(state.replay_applied()?));
            true
        } else {
            let doc =
                Automerge::load(&snapshot.saved).map_err(|_| "the saved document does not load")?;
            let all = applied
                .iter()
                .all(|h| doc.get_change_by_hash(&super::to_am(h)).is_some());
            state.doc = Held::Live(Box::new(doc));
            all
        };
        // The document must hold exactly the applied changes.
        let applied_heads: BTreeSet<ChangeHash> = applied
            .iter()
            .filter(|h| {
                state
                    .children
                    .get(h)
                    .is_none_or(|c| c.iter().all(|c| !applied.contains(c)))
            })
            .copied()
            .collect();
        let heads: BTreeSet<ChangeHash> = state.am().get_heads().iter().map(from_am).collect();
        // Equal heads and every applied change present: the document holds
        // exactly the applied set, which is closed under dependencies.
        if heads != applied_heads || !all_present {
            return Err("the saved document does not match the applied changes");
        }
        state.refused = state
            .changes
            .iter()
            .filter(|(_, s)| s.status == ChangeStatus::Refused)
            .map(|(h, _)| *h)
            .collect();
        state.recompute_clocks(&applied);
        Ok((state, later))
    }

    /// The clock of every applied change, dependencies first (an Automerge
    /// change's operations are numbered after its dependencies').
    pub(super) fn recompute_clocks(&mut self, applied: &BTreeSet<ChangeHash>) {
        let mut order: Vec<(u64, ChangeHash)> = applied
            .iter()
            .map(|h| (self.changes[h].signed.start_op(), *h))
            .collect();
        order.sort();
        self.clocks.clear();
        for (_, h) in order {
            let change = self.changes[&h].signed.change();
            let mut clock = super::Clock::new();
            for d in change.deps() {
                for (actor, seq) in self.clocks.get(&from_am(d)).into_iter().flatten() {
                    let entry = clock.entry(actor.clone()).or_insert(0);
                    *entry = (*entry).max(*seq);
                }
            }
            clock.insert(change.actor_id().clone(), change.seq());
            self.clocks.insert(h, clock);
        }
    }
}

impl Documents {
    /// How many documents have a stale snapshot (or none): changed since
    /// their last snapshot was taken.
    pub fn stale_snapshots(&self) -> usize {
        self.stale.len()
    }

    /// The snapshots of up to `max` documents whose snapshot is stale, in
    /// document order; they count as current from now on. A caller whose
    /// write of them fails hands them back with [`Self::mark_stale`].
    pub fn take_snapshots(&mut self, max: usize) -> Vec<(DocId, Vec<u8>)> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(doc) = self.stale.pop_first() else {
                break;
            };
            if let Some(snapshot) = self.snapshot(&doc) {
                out.push((doc, snapshot));
            }
        }
        out
    }

    /// Whether `doc` changed since its last snapshot (or has none).
    pub fn snapshot_is_stale(&self, doc: &DocId) -> bool {
        self.stale.contains(doc)
    }

    /// Marks documents' snapshots stale again (their write failed).
    pub fn mark_stale(&mut self, docs: impl IntoIterator<Item = DocId>) {
        for doc in docs {
            if self.docs.contains_key(&doc) {
                self.stale.insert(doc);
            }
        }
    }

    /// The snapshot of a document: what [`Self::restore`] needs to bring it
    /// back without re-verifying or re-applying the changes it covers.
    /// `None` for a document not held, or one whose changes could not be
    /// read back (counted; it keeps the snapshot it had).
    pub fn snapshot(&self, doc: &DocId) -> Option<Vec<u8>> {
        let slot = self.docs.get(doc)?;
        let cold = match slot {
            Slot::Loaded(state) => Cow::Owned(Cold::of(state)),
            Slot::Cold(cold) => Cow::Borrowed(&**cold),
        };
        let applied = cold
            .statuses
            .iter()
            .filter(|(_, s)| *s == ChangeStatus::Applied)
            .count();
        // Applying a few changes is cheaper than saving and loading the
        // document (measured: a two-change advisory loads slower than its
        // changes apply), so a short history keeps no saved document (and
        // a cold one is snapshotted without reading it back).
        let saved = if applied <= APPLY_UP_TO {
            Vec::new()
        } else {
            self.state(doc).ok()??.materialized(&self.view).save()
        };
        let view = self.view.digest_for(cold.authors.iter());
        Some(Snapshot::encode(&view, &cold, &saved))
    }

    /// Rebuilds a replica from what a store holds: each document's stored
    /// changes and, if any, its latest snapshot.
    ///
    /// Changes a usable snapshot covers are trusted as stored: they were
    /// verified when the node first stored them, and the store is the
    /// node's own disk. Every other change is verified and applied as
    /// [`Self::insert`] does; one that fails verification is left out and
    /// counted.
    pub fn restore(
        network: NetworkId,
        membership: &Membership,
        docs: impl IntoIterator<Item = (Vec<SignedChange>, Option<Vec<u8>>)>,
    ) -> (Self, RestoreReport) {
        Self::restore_on(network, membership, docs, 1, usize::MAX)
    }

    /// [`Self::restore`], checking the signatures of the changes to replay
    /// on up to `threads` threads (the result does not depend on it), and
    /// holding at most `cached` documents materialized as it goes (see
    /// [`Self::set_cache_capacity`]), so a start never holds them all.
    pub fn restore_on(
        network: NetworkId,
        membership: &Membership,
        docs: impl IntoIterator<Item = (Vec<SignedChange>, Option<Vec<u8>>)>,
        threads: usize,
        cached: usize,
    ) -> (Self, RestoreReport) {
        let mut changes = BTreeMap::new();
        let stored: Vec<StoredDoc> = docs
            .into_iter()
            .filter_map(|(list, snapshot)| {
                let id = list.first()?.doc();
                let mut hashes: Vec<ChangeHash> = list.iter().map(SignedChange::hash).collect();
                hashes.sort();
                changes.insert(id, list);
                Some(StoredDoc {
                    id,
                    hashes,
                    snapshot,
                })
            })
            .collect();
        let load =
            |d: &DocId| Ok::<_, std::convert::Infallible>(changes.remove(d).unwrap_or_default());
        match Self::restore_from(network, membership, stored, load, None, threads, cached) {
            Ok(restored) => restored,
            Err(never) => match never {},
        }
    }

    /// Rebuilds a replica from a store's index ([`crate::StoredIndex`]):
    /// `load` reads a document's stored changes. With `source` (the same
    /// store, see [`Self::set_source`]) a document whose snapshot covers
    /// exactly its stored changes, under its authors' current standing, is
    /// restored cold, without a read; documents replayed are evicted to
    /// the store as the cache fills. A failed read stops the restore.
    pub fn restore_from<E>(
        network: NetworkId,
        membership: &Membership,
        docs: impl IntoIterator<Item = StoredDoc>,
        mut load: impl FnMut(&DocId) -> Result<Vec<SignedChange>, E>,
        source: Option<Arc<dyn ChangeSource>>,
        threads: usize,
        cached: usize,
    ) -> Result<(Self, RestoreReport), E> {
        let mut replica = Documents::new(network, membership);
        replica.set_cache_capacity(cached);
        let lazy = source.is_some();
        if let Some(source) = source {
            replica.set_source(source);
        }
        let mut report = RestoreReport::default();
        let mut pending: Vec<SignedChange> = Vec::new();
        for stored in docs {
            let doc = stored.id;
            let snapshot = stored
                .snapshot
                .map(|bytes| Snapshot::decode(&bytes).map_err(|_| "the snapshot does not decode"));
            if lazy
                && let Some(Ok(snap)) = &snapshot
                && snap.restores_cold(&doc, &stored.hashes, &replica.view)
            {
                let Some(Ok(snap)) = snapshot else {
                    unreachable!("matched above")
                };
                report.from_snapshot += 1;
                report.cold += 1;
                report.skipped += snap.cold.statuses.len();
                replica.docs.insert(doc, Slot::Cold(Box::new(snap.cold)));
                continue;
            }
            let changes = load(&doc)?;
            let Some(doc_ref) = changes.first().map(|c| c.doc_ref().clone()) else {
                continue;
            };
            let mut replay = changes;
            if let Some(snap) = snapshot {
                let restored = snap.and_then(|snap| {
                    if replay
                        .iter()
                        .any(|c| c.doc() != doc || c.network() != network)
                    {
                        return Err("stored changes name another document or network");
                    }
                    let n = snap.cold.statuses.len();
                    DocState::from_snapshot(doc_ref.clone(), &snap, &replica.view, replay.clone())
                        .map(|(state, later)| (state, later, n))
                });
                match restored {
                    Ok((state, later, covered)) => {
                        replica.docs.insert(doc, Slot::Loaded(Box::new(state)));
                        replica.cached(doc);
                        report.from_snapshot += 1;
                        report.skipped += covered;
                        replay = later;
                    }
                    Err(why) => report.fallbacks.push((doc, why)),
                }
            }
            if !replay.is_empty() {
                // Anything replayed leaves the stored snapshot behind.
                replica.stale.insert(doc);
                // Dependencies first keeps incremental application cheap.
                replay.sort_by_key(|c| (c.start_op(), c.hash()));
                pending.extend(replay);
                if pending.len() >= REPLAY_BATCH {
                    replica.replay(std::mem::take(&mut pending), threads, &mut report);
                }
            }
        }
        replica.replay(pending, threads, &mut report);
        Ok((replica, report))
    }

    /// Verifies and applies changes read at a start (each document's in
    /// dependency order, documents one after the other).
    fn replay(&mut self, changes: Vec<SignedChange>, threads: usize, report: &mut RestoreReport) {
        let checked = {
            let all: Vec<&SignedChange> = changes.iter().collect();
            self.check_many(&all, threads)
        };
        for (c, ok) in changes.into_iter().zip(checked) {
            match ok {
                Ok(()) => {
                    self.keep(c);
                    report.replayed += 1;
                }
                Err(_) => report.rejected += 1,
            }
        }
    }
}

/// One document as a store lists it at a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    /// The document.
    pub id: DocId,
    /// Its stored changes' hashes, sorted.
    pub hashes: Vec<ChangeHash>,
    /// Its latest snapshot, if any.
    pub snapshot: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests;
