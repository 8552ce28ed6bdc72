//! Anti-entropy rounds: opening them on a tick, answering claims, serving
//! wants.

use std::collections::{BTreeMap, BTreeSet};

use super::{Destination, Event, Millis, Node};
use crate::document::{DocId, SignedChange};
use crate::identity::TeamId;
use crate::reconcile::{self, Key};
use crate::statement::{ChangeHash, SignedStatement, StatementId};
use crate::store::Store;
use crate::wire::{SyncClaims, Want};

/// A small deterministic generator (SplitMix64); the choice of peers and
/// round numbers is the only randomness the core needs, and it must replay
/// from a seed.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl<S: Store> Node<S> {
    /// Runs the periodic work due at `now`: gives up stale rounds and opens
    /// rounds with up to `sync_fanout` random connected members. Early calls
    /// do nothing.
    pub fn handle_timeout(&mut self, now: Millis) {
        if now < self.next_tick {
            return;
        }
        self.next_tick = now.saturating_add(self.config.sync_interval.max(1));
        self.peers.expire_rounds(now, self.config.round_timeout);
        let mut idle = self.peers.idle();
        for _ in 0..self.config.sync_fanout {
            if idle.is_empty() {
                break;
            }
            let i = (self.rng.next() % idle.len() as u64) as usize;
            let peer = idle.swap_remove(i);
            self.open_round(now, peer);
        }
    }

    pub(super) fn open_round(&mut self, now: Millis, peer: TeamId) {
        let round = self.rng.next();
        self.peers.start_round(&peer, round, now);
        self.stats.rounds_opened += 1;
        let sync = SyncClaims {
            round,
            statements: reconcile::open(self.index.statement_items()),
            docs: reconcile::open(&self.index.doc_items_for(&peer)),
            changes: vec![],
        };
        self.send_sync(peer, sync);
    }

    fn finish_round(&mut self, peer: TeamId, round: u64) {
        if self.peers.finish_round(&peer, round) {
            self.stats.rounds_finished += 1;
            self.event(Event::RoundFinished { peer, round });
        }
    }

    pub(super) fn on_sync(&mut self, from: TeamId, sync: SyncClaims) {
        if sync.is_empty() {
            self.finish_round(from, sync.round);
            return;
        }
        let mut reply = SyncClaims {
            round: sync.round,
            ..SyncClaims::default()
        };
        let mut want = Want::default();
        let mut send_statements = Vec::new();
        let mut send_changes: BTreeMap<DocId, BTreeSet<Key>> = BTreeMap::new();

        if !sync.statements.is_empty() {
            let (claims, diff) = reconcile::respond(self.index.statement_items(), &sync.statements);
            reply.statements = claims;
            send_statements = diff.peer_needs;
            want.statements = diff
                .we_need
                .into_iter()
                .map(StatementId::from_bytes)
                .collect();
        }

        let mut in_progress: BTreeSet<DocId> = sync.changes.iter().map(|(d, _)| *d).collect();
        if !sync.docs.is_empty() {
            let set = self.index.doc_items_for(&from);
            let (claims, diff) = reconcile::respond(&set, &sync.docs);
            reply.docs = claims;
            for key in diff.peer_needs.into_iter().chain(diff.we_need) {
                let doc = DocId::from_bytes(key);
                if in_progress.insert(doc) {
                    let opened = reconcile::open(self.index.change_items_for(&doc, &from));
                    reply.changes.push((doc, opened));
                }
            }
        }

        for (doc, claims) in &sync.changes {
            let set = self.index.change_items_for(doc, &from);
            let (claims, diff) = reconcile::respond(set, claims);
            if !claims.is_empty() {
                reply.changes.push((*doc, claims));
            }
            if !diff.peer_needs.is_empty() {
                send_changes
                    .entry(*doc)
                    .or_default()
                    .extend(diff.peer_needs);
            }
            if !diff.we_need.is_empty() {
                want.changes.push((
                    *doc,
                    diff.we_need
                        .into_iter()
                        .map(ChangeHash::from_bytes)
                        .collect(),
                ));
            }
        }

        let statements: Vec<SignedStatement> = send_statements
            .iter()
            .filter_map(|id| self.statements.get(&StatementId::from_bytes(*id)).cloned())
            .collect();
        self.send_statements(from, statements);
        for (doc, hashes) in send_changes {
            let changes = self.ordered_changes(&doc, &hashes);
            self.send_changes(Destination::Peer(from), changes);
        }
        self.send_want(from, want);
        if reply.is_empty() {
            // The exchange is over; the empty reply tells the peer so.
            self.finish_round(from, reply.round);
        }
        self.send_sync(from, reply);
    }

    pub(super) fn on_want(&mut self, from: TeamId, want: Want) {
        let statements: Vec<SignedStatement> = want
            .statements
            .iter()
            .filter_map(|id| self.statements.get(id).cloned())
            .collect();
        self.send_statements(from, statements);
        for (doc, hashes) in want.changes {
            if !self.docs.may_receive(&doc, &from, &self.membership) {
                continue;
            }
            let keys: BTreeSet<Key> = hashes.iter().map(|h| *h.as_bytes()).collect();
            let changes = self.ordered_changes(&doc, &keys);
            self.send_changes(Destination::Peer(from), changes);
        }
    }

    /// The stored changes among `hashes`, in an order where dependencies
    /// come first: an Automerge change's operations are numbered after all
    /// of its dependencies', so ordering by start op is topological.
    fn ordered_changes(&self, doc: &DocId, hashes: &BTreeSet<Key>) -> Vec<SignedChange> {
        let mut out: Vec<SignedChange> = hashes
            .iter()
            .filter_map(|h| self.docs.change(doc, &ChangeHash::from_bytes(*h)).cloned())
            .collect();
        out.sort_by_key(|c| (c.start_op(), c.hash()));
        out
    }
}
