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
//! Snapshots are a cache the node writes lazily (see
//! [`Documents::take_snapshots`]): every document whose state changed is
//! marked, and its snapshot is written later in one batch with others. A
//! snapshot lost in a crash only means replaying the changes it would have
//! covered.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, ReadDoc};
use sha2::{Digest, Sha256};

use super::{ChangeStatus, DocState, Documents, Eligibility, Held, Stored, View, from_am};
use crate::codec::{DecodeError, Reader, Writer};
use crate::document::change::SignedChange;
use crate::document::id::{DocId, DocRef};
use crate::identity::TeamId;
use crate::membership::Membership;
use crate::statement::{ChangeHash, NetworkId};

/// Version 2: the view digest covers only the document's authors (version
/// 1 covered the whole membership; such snapshots no longer decode, and
/// their documents are rebuilt once).
const SNAPSHOT_VERSION: u8 = 2;
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
    doc: DocId,
    view: [u8; 32],
    statuses: BTreeMap<ChangeHash, ChangeStatus>,
    saved: Vec<u8>,
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
        let doc = DocId::from_bytes(r.array("document id")?);
        let view = r.array("view digest")?;
        let n = r.len("snapshot changes", usize::MAX >> 1)?;
        let mut statuses = BTreeMap::new();
        for _ in 0..n {
            let h = ChangeHash::from_bytes(r.array("change hash")?);
            let s = status_of(r.u8("change status")?)?;
            if statuses.insert(h, s).is_some() {
                return Err(DecodeError::NotCanonical("snapshot changes"));
            }
        }
        let len = r.len("saved document", MAX_SAVED_BYTES)?;
        let saved = r.take(len, "saved document")?.to_vec();
        r.finish()?;
        Ok(Self {
            doc,
            view,
            statuses,
            saved,
        })
    }
}

impl DocState {
    /// Indexes a stored change without applying it.
    fn index(&mut self, signed: SignedChange, status: ChangeStatus) {
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
        if snapshot.doc != doc_ref.id() {
            return Err("the snapshot is of another document");
        }
        let mut state = DocState::new(doc_ref);
        let mut later = Vec::new();
        for c in changes {
            match snapshot.statuses.get(&c.hash()) {
                Some(status) => state.index(c, *status),
                None => later.push(c),
            }
        }
        if state.changes.len() != snapshot.statuses.len() {
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
    fn recompute_clocks(&mut self, applied: &BTreeSet<ChangeHash>) {
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
    pub fn snapshot(&self, doc: &DocId) -> Option<Vec<u8>> {
        let state = self.docs.get(doc)?;
        // Applying a few changes is cheaper than saving and loading the
        // document (measured: a two-change advisory loads slower than its
        // changes apply), so a short history keeps no saved document.
        let applied = state
            .changes
            .values()
            .filter(|s| s.status == ChangeStatus::Applied)
            .count();
        let saved = if applied <= APPLY_UP_TO {
            Vec::new()
        } else {
            state.materialized(&self.view).save()
        };
        let mut w = Writer::new();
        w.u8(SNAPSHOT_VERSION)
            .raw(doc.as_bytes())
            .raw(&self.view.digest_for(state.authors.iter()))
            .len(state.changes.len());
        for (h, s) in &state.changes {
            w.raw(h.as_bytes()).u8(status_code(s.status));
        }
        w.len(saved.len()).raw(&saved);
        let mut bytes = w.finish();
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        Some(bytes)
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
        let mut replica = Documents::new(network, membership);
        replica.set_cache_capacity(cached);
        let mut report = RestoreReport::default();
        let mut pending: Vec<Vec<SignedChange>> = Vec::new();
        for (changes, snapshot) in docs {
            let Some(doc_ref) = changes.first().map(|c| c.doc_ref().clone()) else {
                continue;
            };
            let doc = doc_ref.id();
            let mut replay = changes;
            if let Some(bytes) = snapshot {
                let restored = Snapshot::decode(&bytes)
                    .map_err(|_| "the snapshot does not decode")
                    .and_then(|snap| {
                        if replay
                            .iter()
                            .any(|c| c.doc() != doc || c.network() != network)
                        {
                            return Err("stored changes name another document or network");
                        }
                        let n = snap.statuses.len();
                        DocState::from_snapshot(
                            doc_ref.clone(),
                            &snap,
                            &replica.view,
                            replay.clone(),
                        )
                        .map(|(state, later)| (state, later, n))
                    });
                match restored {
                    Ok((state, later, covered)) => {
                        replica.docs.insert(doc, state);
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
                pending.push(replay);
            }
        }
        let checked = {
            let all: Vec<&SignedChange> = pending.iter().flatten().collect();
            replica.check_many(&all, threads)
        };
        let mut checked = checked.into_iter();
        for c in pending.into_iter().flatten() {
            match checked.next() {
                Some(Ok(())) => {
                    replica.keep(c);
                    report.replayed += 1;
                }
                _ => report.rejected += 1,
            }
        }
        (replica, report)
    }
}

#[cfg(test)]
mod tests;
