//! Anti-entropy rounds: opening them on a tick, answering claims, serving
//! wants.

use std::collections::{BTreeMap, BTreeSet};

use super::{Destination, Event, Millis, Node};
use crate::document::{DocId, SignedChange};
use crate::identity::TeamId;
use crate::reconcile::riblt::{self, Decoded, KeyPrefix, MAX_SYMBOLS, Symbol, Value};
use crate::reconcile::{self, ItemSet, Key};
use crate::statement::{ChangeHash, SignedStatement, StatementId};
use crate::store::Store;
use crate::wire::{DocClaims, SyncClaims, Want};

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
        let view = self.index.view_for(&peer);
        let sync = SyncClaims {
            round,
            statements: reconcile::open(self.index.statement_items()),
            docs: DocClaims::Open {
                count: view.count(),
                fingerprint: view.fingerprint(),
                symbols: view.prefix().to_vec(),
            },
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
        let step = self.doc_step(from, sync.docs);
        reply.docs = step.reply;
        // Changes of many documents share batches (dependencies first
        // within each document).
        let mut outgoing: Vec<SignedChange> = Vec::new();
        for (doc, hashes) in step.send {
            outgoing.extend(self.ordered_changes(&doc, &hashes));
        }
        for doc in step.differ {
            if in_progress.insert(doc) {
                let opened = reconcile::open(&self.change_items_for(&doc, &from));
                reply.changes.push((doc, opened));
            }
        }

        for (doc, claims) in &sync.changes {
            let set = self.change_items_for(doc, &from);
            let (claims, diff) = reconcile::respond(&set, claims);
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
            outgoing.extend(self.ordered_changes(&doc, &hashes));
        }
        self.send_changes(Destination::Peer(from), outgoing);
        self.send_want(from, want);
        if reply.is_empty() {
            // The exchange is over; the empty reply tells the peer so.
            self.finish_round(from, reply.round);
        }
        self.send_sync(from, reply);
    }

    /// The document level of a step from `from` (see [`DocClaims`]):
    ///
    /// 1. The opener sends its count, fingerprint and first
    ///    [`super::index::PREFIX_SYMBOLS`] symbols. Equal fingerprints end
    ///    the level; a small difference decodes from the prefix at once.
    /// 2. Otherwise the responder sends its estimator buckets; the opener
    ///    sends as many symbols as the estimated difference needs (a
    ///    responder holding nothing, or a difference too large to estimate,
    ///    goes to range claims instead).
    /// 3. The responder decodes (or asks for twice as many symbols, up to
    ///    [`MAX_SYMBOLS`], then falls back to range claims). Each document
    ///    of its own that differs is either held by the peer at another
    ///    version (a decoded item of the peer's carries its key prefix):
    ///    the change level reconciles it; or not held by the peer: its
    ///    changes go at once. The peer's documents it lacks it names by
    ///    prefix in `Missing`, and the peer sends their changes.
    ///
    /// Every step is stateless, so a lost message costs a round, never a
    /// wrong result.
    fn doc_step(&mut self, from: TeamId, claims: DocClaims) -> DocStep {
        let mut step = DocStep::default();
        match claims {
            DocClaims::None => {}
            DocClaims::Open {
                fingerprint,
                symbols,
                ..
            } => {
                let view = self.index.view_for(&from);
                if view.fingerprint() == fingerprint {
                    return step;
                }
                let decoded = if symbols.len() == view.prefix().len() {
                    riblt::decode(&symbols, view.prefix())
                        .map(|d| (d, self.index.values_for(&from)))
                } else {
                    self.decode_symbols(&from, &symbols)
                };
                match decoded {
                    Some((d, values)) => self.act_on_difference(from, d, &values, &mut step),
                    None => {
                        step.reply = DocClaims::Estimate {
                            count: view.count(),
                            buckets: view.buckets().clone(),
                        }
                    }
                }
            }
            DocClaims::Estimate { count, buckets } => {
                let view = self.index.view_for(&from);
                let estimate = view.buckets().estimate(&buckets);
                step.reply = match estimate {
                    // Two items per document held at two versions.
                    Some(docs) if count > 0 && riblt::symbols_for(2 * docs) < MAX_SYMBOLS => {
                        let n = riblt::symbols_for(2 * docs).max(2 * view.prefix().len());
                        DocClaims::Symbols(self.symbols_for_peer(&from, n))
                    }
                    _ => DocClaims::Ranges(reconcile::open(&self.index.doc_items_for(&from))),
                };
            }
            DocClaims::Symbols(symbols) => match self.decode_symbols(&from, &symbols) {
                Some((d, values)) => self.act_on_difference(from, d, &values, &mut step),
                None if symbols.len() >= MAX_SYMBOLS => {
                    step.reply =
                        DocClaims::Ranges(reconcile::split_full(&self.index.doc_items_for(&from)));
                }
                None => {
                    step.reply = DocClaims::More {
                        have: symbols.len() as u32,
                    }
                }
            },
            DocClaims::More { have } => {
                let have = have as usize;
                step.reply = if have >= MAX_SYMBOLS {
                    DocClaims::Ranges(reconcile::open(&self.index.doc_items_for(&from)))
                } else {
                    let n = (2 * have).clamp(2 * super::index::PREFIX_SYMBOLS, MAX_SYMBOLS);
                    DocClaims::Symbols(self.symbols_for_peer(&from, n))
                };
            }
            DocClaims::Missing(prefixes) => {
                let wanted: BTreeSet<KeyPrefix> = prefixes.into_iter().collect();
                for (value, doc) in self.index.values_for(&from) {
                    if wanted.contains(&riblt::prefix_of(&value))
                        && self.docs.may_receive(&doc, &from, &self.membership)
                    {
                        let all = self.change_items_for(&doc, &from).into_keys();
                        step.send.push((doc, all.collect()));
                    }
                }
            }
            DocClaims::Ranges(claims) => {
                let set = self.index.doc_items_for(&from);
                let (claims, diff) = reconcile::respond(&set, &claims);
                if !claims.is_empty() {
                    step.reply = DocClaims::Ranges(claims);
                }
                step.differ.extend(
                    diff.peer_needs
                        .into_iter()
                        .chain(diff.we_need)
                        .map(DocId::from_bytes),
                );
            }
        }
        step
    }

    /// The first `n` symbols of the documents `peer` may receive.
    fn symbols_for_peer(&self, peer: &TeamId, n: usize) -> Vec<Symbol> {
        let values = self.index.values_for(peer);
        riblt::encode(values.iter().map(|(v, _)| v), n)
    }

    /// Decodes the peer's symbols against ours; with the values and
    /// documents they were made of.
    fn decode_symbols(
        &self,
        peer: &TeamId,
        symbols: &[Symbol],
    ) -> Option<(Decoded, Vec<(Value, DocId)>)> {
        let values = self.index.values_for(peer);
        let ours = riblt::encode(values.iter().map(|(v, _)| v), symbols.len());
        riblt::decode(symbols, &ours).map(|d| (d, values))
    }

    /// What a decoded difference asks of this node (see [`Self::doc_step`]).
    fn act_on_difference(
        &mut self,
        from: TeamId,
        d: Decoded,
        values: &[(Value, DocId)],
        step: &mut DocStep,
    ) {
        let by_value: BTreeMap<&Value, DocId> = values.iter().map(|(v, d)| (v, *d)).collect();
        let ours: Vec<DocId> = d
            .ours
            .iter()
            .filter_map(|v| by_value.get(v).copied())
            .collect();
        let our_prefixes: BTreeSet<KeyPrefix> = ours.iter().map(prefix_of_doc).collect();
        let theirs: BTreeSet<KeyPrefix> = d.theirs.iter().map(riblt::prefix_of).collect();
        for doc in ours {
            if theirs.contains(&prefix_of_doc(&doc)) {
                step.differ.push(doc);
            } else if self.docs.may_receive(&doc, &from, &self.membership) {
                let all = self.change_items_for(&doc, &from).into_keys();
                step.send.push((doc, all.collect()));
            }
        }
        let missing: Vec<KeyPrefix> = theirs
            .into_iter()
            .filter(|p| !our_prefixes.contains(p))
            .collect();
        if !missing.is_empty() {
            step.reply = DocClaims::Missing(missing);
        }
    }

    pub(super) fn on_want(&mut self, from: TeamId, want: Want) {
        let statements: Vec<SignedStatement> = want
            .statements
            .iter()
            .filter_map(|id| self.statements.get(id).cloned())
            .collect();
        self.send_statements(from, statements);
        let mut outgoing: Vec<SignedChange> = Vec::new();
        for (doc, hashes) in want.changes {
            if !self.docs.may_receive(&doc, &from, &self.membership) {
                continue;
            }
            let keys: BTreeSet<Key> = hashes.iter().map(|h| *h.as_bytes()).collect();
            outgoing.extend(self.ordered_changes(&doc, &keys));
        }
        self.send_changes(Destination::Peer(from), outgoing);
    }

    /// The change hashes of `doc` as offered to `peer`: none when the peer
    /// may not receive the document (not even its hashes leave the node).
    pub(super) fn change_items_for(&self, doc: &DocId, peer: &TeamId) -> ItemSet {
        if !self.index.visible_to(doc, peer) {
            return ItemSet::new();
        }
        self.docs
            .change_hashes(doc)
            .into_iter()
            .map(|h| (*h.as_bytes(), [0; 32]))
            .collect()
    }

    /// The stored changes among `hashes`, in an order where dependencies
    /// come first: an Automerge change's operations are numbered after all
    /// of its dependencies', so ordering by start op is topological.
    fn ordered_changes(&self, doc: &DocId, hashes: &BTreeSet<Key>) -> Vec<SignedChange> {
        let hashes: Vec<ChangeHash> = hashes.iter().map(|h| ChangeHash::from_bytes(*h)).collect();
        // A document whose changes cannot be read back sends none (counted
        // by the replica); the peer asks again in a later round.
        let mut out = self.docs.changes(doc, &hashes).unwrap_or_default();
        out.sort_by_key(|c| (c.start_op(), c.hash()));
        out
    }
}

/// What the document level of a step leads to.
#[derive(Debug, Default)]
struct DocStep {
    /// The reply at the document level.
    reply: DocClaims,
    /// Documents to reconcile at the change level.
    differ: Vec<DocId>,
    /// Changes to send at once: the peer lacks these documents.
    send: Vec<(DocId, BTreeSet<Key>)>,
}

fn prefix_of_doc(doc: &DocId) -> KeyPrefix {
    let mut p = [0u8; 8];
    p.copy_from_slice(&doc.as_bytes()[..8]);
    p
}
