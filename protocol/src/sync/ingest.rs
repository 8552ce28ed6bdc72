//! Statements and changes from peers: verified, stored, applied, indexed.

use std::collections::BTreeSet;

use super::{Event, Node, Rejection, Verdict};
use crate::document::{ChangeStatus, DocId, Inserted, SignedChange};
use crate::identity::TeamId;
use crate::reconcile;
use crate::statement::SignedStatement;
use crate::store::Store;
use crate::wire::SyncClaims;

impl<S: Store> Node<S> {
    pub(super) fn on_statements(&mut self, list: Vec<SignedStatement>) -> Verdict {
        match self.add_statements(list) {
            (_, Some(r)) => Verdict::Reject(r),
            (0, None) => Verdict::Ignore,
            (_, None) => Verdict::Accept,
        }
    }

    /// Verifies statements, stores the new ones and only then adds and
    /// applies them: a statement the store did not take is not kept, so
    /// nothing is served, forwarded or acknowledged that a restart would
    /// lose (it comes again by anti-entropy). Stops at the first statement
    /// that does not verify (a peer that sends one is refused); those
    /// before it are kept. Returns how many were new, and the refusal.
    pub(super) fn add_statements(
        &mut self,
        list: Vec<SignedStatement>,
    ) -> (usize, Option<Rejection>) {
        let network = self.statements.network_id();
        let mut new = Vec::new();
        let mut seen = BTreeSet::new();
        let mut rejection = None;
        for s in list {
            if self.statements.contains(&s.id()) || !seen.insert(s.id()) {
                continue;
            }
            match s.verify(&network) {
                Ok(()) => new.push(s),
                Err(e) => {
                    rejection = Some(Rejection::Statement(e));
                    break;
                }
            }
        }
        if new.is_empty() {
            return (0, rejection);
        }
        if let Err(e) = self.store.put_statements(&new) {
            self.store_failed(e.to_string());
            return (0, rejection);
        }
        for s in &new {
            self.statements.insert_verified(s.clone());
        }
        self.statements_added(&new);
        (new.len(), rejection)
    }

    /// Checks changes, stores the new ones and only then inserts them into
    /// the replica (see [`Self::add_statements`] for why).
    pub(super) fn on_changes(&mut self, from: TeamId, list: Vec<SignedChange>) -> Verdict {
        let mut seen = BTreeSet::new();
        let mut rejection = None;
        let mut keep = vec![false; list.len()];
        for (i, c) in list.iter().enumerate() {
            let doc = c.doc();
            let hash = c.hash();
            if self.docs.contains_change(&doc, &hash) || !seen.insert((doc, hash)) {
                self.stats.changes_duplicate += 1;
                continue;
            }
            // A stranger's change could never apply here, and storing it
            // would let anyone fill every node's disk with throwaway keys.
            // Dropped, not refused: an honest relay may know of an admission
            // this node has not seen yet, and anti-entropy (statements
            // first) brings the change again once it has.
            let author = c.author();
            if !self.membership.is_member(&author) {
                match self.membership.kept_heads(&author) {
                    None => {
                        self.stats.changes_unknown_author += 1;
                        continue;
                    }
                    // A revoked key's change its revokers did not keep can
                    // never apply: dropped unstored, so a stolen key cannot
                    // make any node store (or serve) what it writes.
                    Some(kept) if !self.docs.in_kept_past(c, kept, &list) => {
                        self.stats.changes_revoked_author += 1;
                        continue;
                    }
                    Some(_) => {}
                }
            }
            keep[i] = true;
        }
        // Signatures are checked together (on `ingest_threads` threads);
        // the first change that fails refuses the message, and only the
        // changes before it are kept, as if checked one by one.
        let candidates: Vec<&SignedChange> = list
            .iter()
            .zip(&keep)
            .filter_map(|(c, k)| k.then_some(c))
            .collect();
        let checked = self
            .docs
            .check_many(&candidates, self.config.ingest_threads);
        if let Some(bad) = checked.iter().position(Result::is_err) {
            for (n, k) in keep.iter_mut().filter(|k| **k).enumerate() {
                *k = n < bad;
            }
            if let Some(Err(e)) = checked.into_iter().nth(bad) {
                rejection = Some(Rejection::Change(e));
            }
        }
        let new: Vec<SignedChange> = list
            .into_iter()
            .zip(keep)
            .filter_map(|(c, k)| k.then_some(c))
            .collect();
        let mut inserted = Vec::new();
        if !new.is_empty() {
            match self.store.put_changes(&new) {
                Ok(()) => {
                    inserted = self.docs.insert_checked_many(
                        new,
                        &self.membership,
                        self.config.ingest_threads,
                    );
                }
                Err(e) => self.store_failed(e.to_string()),
            }
        }
        // Gossip forwards only what counts or may count once its
        // dependencies arrive; changes kept aside (a revoked author outside
        // its kept heads) or refused by the document rules stay here.
        let accepted = inserted
            .iter()
            .any(|i| matches!(i.status, ChangeStatus::Applied | ChangeStatus::MissingDeps));
        if !inserted.is_empty() {
            self.changes_added(&inserted);
            // Ask the peer that delivered a change with missing dependencies
            // for the rest of that document.
            let gaps: BTreeSet<DocId> = inserted
                .iter()
                .map(|i| i.doc)
                .filter(|d| !self.docs.missing_deps(d).is_empty())
                .collect();
            if !gaps.is_empty() {
                let round = self.rng.next();
                let changes = gaps
                    .into_iter()
                    .map(|d| (d, reconcile::open(&self.change_items_for(&d, &from))))
                    .collect();
                self.send_sync(
                    from,
                    SyncClaims {
                        round,
                        changes,
                        ..SyncClaims::default()
                    },
                );
            }
        }
        match rejection {
            Some(r) => Verdict::Reject(r),
            None if accepted => Verdict::Accept,
            None => Verdict::Ignore,
        }
    }

    /// Takes newly stored statements into account: index, membership, the
    /// documents whose authors' standing changed, and peers that are no
    /// longer members.
    pub(super) fn statements_added(&mut self, new: &[SignedStatement]) {
        self.stats.statements_new += new.len() as u64;
        for s in new {
            self.index.add_statement(&s.id());
        }
        let membership = self.statements.membership();
        let admitted: Vec<TeamId> = membership
            .members()
            .difference(self.membership.members())
            .copied()
            .collect();
        let removed: Vec<TeamId> = self
            .membership
            .members()
            .difference(membership.members())
            .copied()
            .collect();
        let changed = self.docs.on_membership_changed(&membership);
        self.membership = std::sync::Arc::new(membership);
        for doc in changed {
            self.refresh_distribution(&doc);
            self.event(Event::DocumentChanged(doc));
        }
        if admitted.is_empty() && removed.is_empty() {
            return;
        }
        for team in &removed {
            if self.peers.disconnect(team) {
                self.event(Event::Disconnect(*team));
            }
        }
        self.event(Event::MembershipChanged { admitted, removed });
    }

    /// Takes newly stored changes into account: index, distribution,
    /// snapshots, events.
    pub(super) fn changes_added(&mut self, inserted: &[Inserted]) {
        let mut changed = BTreeSet::new();
        let mut touched = BTreeSet::new();
        for ins in inserted {
            self.stats.changes_new += 1;
            self.index.add_change(ins.doc, ins.hash);
            touched.insert(ins.doc);
            if ins.changed {
                changed.insert(ins.doc);
            }
        }
        let mut due = self.docs.stale_snapshots() >= self.config.snapshot_batch;
        for doc in touched {
            self.refresh_distribution(&doc);
            due |= self.index.snapshot_due(&doc, self.config.snapshot_every);
        }
        if due {
            self.flush_snapshots();
        }
        for doc in changed {
            self.event(Event::DocumentChanged(doc));
        }
    }

    /// Writes the snapshot of every document that changed since its last
    /// one, [`Config::snapshot_batch`] per write (not synced: the changes
    /// are the record, a snapshot is the cache that spares replaying them).
    /// The caller runs it periodically (the node at every tick) and at
    /// shutdown; the core also runs it when that many documents are stale
    /// or one document has [`Config::snapshot_every`] changes past its
    /// snapshot, and when it opens. A failed write is counted and its
    /// documents stay stale, to be written later. Returns whether every
    /// write succeeded.
    ///
    /// [`Config::snapshot_batch`]: super::Config::snapshot_batch
    /// [`Config::snapshot_every`]: super::Config::snapshot_every
    pub fn flush_snapshots(&mut self) -> bool {
        loop {
            let snapshots = self.docs.take_snapshots(self.config.snapshot_batch.max(1));
            if snapshots.is_empty() {
                return true;
            }
            if let Err(e) = self.store.put_snapshots(&snapshots) {
                self.docs
                    .mark_stale(snapshots.into_iter().map(|(doc, _)| doc));
                self.store_failed(e.to_string());
                return false;
            }
            for (doc, _) in &snapshots {
                self.index.snapshot_taken(doc);
            }
        }
    }

    /// How many documents have a snapshot older than their state.
    pub fn stale_snapshots(&self) -> usize {
        self.docs.stale_snapshots()
    }

    pub(super) fn refresh_distribution(&mut self, doc: &DocId) {
        let restricted = self.docs.restricted_to(doc);
        self.index.set_restricted(doc, restricted);
    }

    pub(super) fn store_failed(&mut self, error: String) {
        self.stats.store_failures += 1;
        self.event(Event::StoreFailed(error));
    }
}
