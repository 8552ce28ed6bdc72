//! The replication core of one node, as a sans-IO state machine
//! (DESIGN.md section 5).
//!
//! Inputs: a message from a peer ([`Node::handle_message`]), a local edit
//! or statement (the `publish_*`, `edit_*` and [`Node::submit_statement`]
//! methods), peers coming and going, and ticks ([`Node::handle_timeout`]).
//! Outputs, drained by the caller after every input: messages to send
//! ([`Node::poll_transmit`]), events ([`Node::poll_event`]) and the next
//! tick ([`Node::poll_timeout`]). Writes go to the [`Store`] synchronously,
//! before anything that depends on them leaves the node.
//!
//! **Anti-entropy.** On a tick the node opens a round with a few random
//! connected members. A round reconciles three sets: the statement ids and,
//! for each document whose version differs, its change hashes, by
//! range-based set reconciliation ([`crate::reconcile`]); and the documents
//! both peers may share, each with a version digest of its stored change
//! hashes, by a rateless IBLT ([`crate::reconcile::riblt`]; see
//! `round::doc_step`). Two peers in agreement exchange one fingerprint per
//! set and a few hundred bytes of symbols, whatever they hold; after a
//! divergence, what flows is about 1.4 symbols (22 bytes each) per
//! differing document version, the change hashes of documents both hold,
//! and the missing statements and changes themselves.
//!
//! **Push.** A local change goes out at once: as gossip when every member
//! may receive its document, or straight to each connected member of its
//! audience when the document is AMBER or RED (gossip reaches every
//! subscriber, so restricted documents never travel on it). A pushed change
//! whose dependencies are missing makes the node reconcile that document
//! with the peer that delivered it.
//!
//! **Gate.** Only members are served: a message from a non-member is
//! rejected, and nothing is ever sent to one. Documents are offered and sent
//! only to peers that may receive them ([`Documents::may_receive`]).
//!
//! **Layout.** Each part owns its state: `index` the per-document index
//! reconciliation offers (`Index`), `peers` the connected members and their
//! rounds (`Peers`), `outbox` the capped output queues (`Outbox`); `round`
//! runs anti-entropy, `ingest` takes statements and changes from peers,
//! `edit` makes local changes, `gossip` decides the channel of a push and
//! reads gossip, `join` answers and makes join requests, `revoke` computes
//! a revocation's frontier.

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::document::{ActorSuffix, DocId, DocRef, Documents, EditError, StoredDoc};
use crate::identity::{TeamId, TeamKey};
use crate::membership::{Membership, StatementSet};
use crate::statement::{ChangeHash, Charter, StatementError};
use crate::store::Store;
use crate::wire::{Message, MessageError};

mod edit;
pub use edit::AdvisoryUpdate;
mod gossip;
mod index;
mod ingest;
mod join;
mod outbox;
mod peers;
mod revoke;
mod round;

use index::Index;
use outbox::Outbox;
use peers::Peers;
use round::Rng;

pub use join::JoinOutcome;
pub use revoke::Frontier;

/// Time in milliseconds on the caller's clock (the node passes Unix time,
/// the simulator its virtual clock).
pub type Millis = u64;

/// Settings of the replication core.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often a node opens anti-entropy rounds.
    pub sync_interval: Millis,
    /// With how many random connected members each tick.
    pub sync_fanout: usize,
    /// When an unanswered round is given up.
    pub round_timeout: Millis,
    /// How many changes of one document stored since its last snapshot
    /// make the node write the stale snapshots at once (a busy document
    /// never leaves a long replay behind).
    pub snapshot_every: usize,
    /// How many documents with a stale snapshot (changed since their last
    /// one) make the node write their snapshots, and how many go in one
    /// write. Stale snapshots are also written by [`Node::flush_snapshots`],
    /// which the caller runs periodically, and when the node opens. A
    /// snapshot is a cache: the stored changes stay the record, and a lost
    /// snapshot only costs replaying them at the next start.
    pub snapshot_batch: usize,
    /// Most queued outgoing messages; beyond it new ones are dropped and
    /// counted (anti-entropy repairs what was lost).
    pub max_transmits: usize,
    /// Most queued events; beyond it the oldest are dropped and counted.
    pub max_events: usize,
    /// Largest batch of changes in one message (one change always goes,
    /// whatever its size). A message that cannot cross a slow link within
    /// the transport's request timeout fails whole and is sent again whole,
    /// so batches stay small enough to cross 256 kbit/s in a few seconds:
    /// anti-entropy sends more of them rather than larger ones, and each
    /// that arrives is progress kept.
    pub max_batch_bytes: usize,
    /// Seed of the peer choice.
    pub seed: u64,
    /// On how many threads a batch of received changes has its signatures
    /// checked and is applied (different documents at once), and a start
    /// checks the changes it replays. The results do not depend on it; the
    /// simulator and tests use one.
    pub ingest_threads: usize,
    /// How many documents are held materialized (Automerge state in
    /// memory), the most recently written; the others keep their changes,
    /// statuses, heads and audience, and are rebuilt from their applied
    /// changes when written or read. Bounds the memory the documents' state
    /// takes by configuration rather than by history.
    pub cached_documents: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sync_interval: 10_000,
            sync_fanout: 2,
            round_timeout: 30_000,
            snapshot_every: 64,
            snapshot_batch: 256,
            max_transmits: 4096,
            max_events: 4096,
            max_batch_bytes: 256 << 10,
            seed: 0,
            ingest_threads: 1,
            cached_documents: 4096,
        }
    }
}

impl Config {
    /// Sets [`Config::sync_interval`].
    pub fn with_sync_interval(mut self, ms: Millis) -> Self {
        self.sync_interval = ms;
        self
    }

    /// Sets [`Config::sync_fanout`].
    pub fn with_sync_fanout(mut self, n: usize) -> Self {
        self.sync_fanout = n;
        self
    }

    /// Sets [`Config::round_timeout`].
    pub fn with_round_timeout(mut self, ms: Millis) -> Self {
        self.round_timeout = ms;
        self
    }

    /// Sets [`Config::max_batch_bytes`] (at most half the largest message).
    pub fn with_max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = bytes.clamp(1, crate::wire::MAX_MESSAGE_BYTES / 2);
        self
    }

    /// Sets [`Config::snapshot_every`].
    pub fn with_snapshot_every(mut self, n: usize) -> Self {
        self.snapshot_every = n.max(1);
        self
    }

    /// Sets [`Config::snapshot_batch`].
    pub fn with_snapshot_batch(mut self, n: usize) -> Self {
        self.snapshot_batch = n.max(1);
        self
    }

    /// Sets [`Config::cached_documents`] (at least one).
    pub fn with_cached_documents(mut self, n: usize) -> Self {
        self.cached_documents = n.max(1);
        self
    }

    /// Sets [`Config::ingest_threads`] (at least one).
    pub fn with_ingest_threads(mut self, n: usize) -> Self {
        self.ingest_threads = n.max(1);
        self
    }

    /// Sets [`Config::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// One peer.
    Peer(TeamId),
    /// Every member, by gossip (only ever documents every member may receive,
    /// and statements).
    Gossip,
}

/// An outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where it goes.
    pub to: Destination,
    /// What it says.
    pub message: Message,
}

/// Something the caller may act on or report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The membership changed (a team admitted or revoked).
    MembershipChanged {
        /// Teams that became members.
        admitted: Vec<TeamId>,
        /// Teams that stopped being members.
        removed: Vec<TeamId>,
    },
    /// A document's materialized state changed.
    DocumentChanged(DocId),
    /// The caller should close its connection to this peer (it is not, or
    /// is no longer, a member).
    Disconnect(TeamId),
    /// An anti-entropy round with a peer finished.
    RoundFinished {
        /// The peer.
        peer: TeamId,
        /// The round.
        round: u64,
    },
    /// A write to the store failed; what the peer sent is dropped and will
    /// come again by anti-entropy.
    StoreFailed(String),
}

/// Why a peer's message was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The peer is not a member.
    #[error("the peer is not a member")]
    NotMember,
    /// A statement did not verify.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// A change did not verify or may not be written by its author.
    #[error(transparent)]
    Change(#[from] crate::document::ChangeError),
    /// The bytes are not a message.
    #[error(transparent)]
    Malformed(#[from] MessageError),
    /// A message of a kind the channel does not carry: gossip carries only
    /// statements and changes.
    #[error("a {kind} message does not travel by gossip")]
    WrongChannel {
        /// The message's kind ([`Message::kind_name`]).
        kind: &'static str,
    },
}

impl Rejection {
    /// A short name for counters.
    pub fn name(&self) -> &'static str {
        match self {
            Rejection::NotMember => "not_member",
            Rejection::Statement(_) => "bad_statement",
            Rejection::Change(_) => "bad_change",
            Rejection::Malformed(_) => "malformed",
            Rejection::WrongChannel { .. } => "gossip_kind",
        }
    }
}

/// What a message did, for gossip validation and peer scoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It brought something new and valid: gossip may forward it.
    Accept,
    /// Valid but nothing new (or a protocol step): do not forward.
    Ignore,
    /// Invalid: do not forward, penalize the sender.
    Reject(Rejection),
}

/// Why a local operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError<E: std::error::Error + 'static> {
    /// The edit was refused.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The statement was refused.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// The store failed; nothing was acknowledged.
    #[error("store: {0}")]
    Store(#[source] E),
}

/// Counters for metrics and reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rounds this node opened.
    pub rounds_opened: u64,
    /// Rounds that finished (either side's).
    pub rounds_finished: u64,
    /// Messages handled.
    pub messages_in: u64,
    /// Messages queued for sending.
    pub messages_out: u64,
    /// New statements stored.
    pub statements_new: u64,
    /// New changes stored.
    pub changes_new: u64,
    /// Changes received that were already stored.
    pub changes_duplicate: u64,
    /// Changes dropped unstored because their author is neither a member
    /// nor a revoked member in this node's view.
    pub changes_unknown_author: u64,
    /// Changes dropped unstored because their author is revoked and they
    /// lie outside what its revocations keep.
    pub changes_revoked_author: u64,
    /// Refused messages, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Outgoing messages dropped because the queue was full.
    pub transmits_dropped: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
    /// Store writes that failed.
    pub store_failures: u64,
    /// Join requests answered with an admission.
    pub joins_admitted: u64,
    /// Join requests refused.
    pub joins_refused: u64,
}

/// What the node found in its store when it opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Statements loaded.
    pub statements: usize,
    /// Stored statements that no longer verify (skipped).
    pub bad_statements: usize,
    /// Changes loaded.
    pub changes: usize,
    /// Stored changes that no longer verify (skipped).
    pub bad_changes: usize,
    /// Documents restored from a snapshot.
    pub from_snapshot: usize,
    /// Changes verified and applied one by one (not covered by a snapshot).
    pub replayed: usize,
    /// Documents restored from their snapshot without reading their
    /// changes (left in the store until needed).
    pub cold: usize,
    /// Documents.
    pub documents: usize,
}

/// The replication core of one member node. Cloning copies the whole
/// replica (benchmarks and the simulator fork nodes this way).
#[derive(Debug, Clone)]
pub struct Node<S: Store> {
    config: Config,
    key: TeamKey,
    suffix: ActorSuffix,
    store: S,
    statements: StatementSet,
    /// Shared: nodes in one process that agree can hold one copy (see
    /// [`Node::share_membership`]).
    membership: Arc<Membership>,
    docs: Documents,
    index: Index,
    peers: Peers,
    outbox: Outbox,
    next_tick: Millis,
    rng: Rng,
    stats: Stats,
}

impl<S: Store> Node<S> {
    /// Opens the core over `store`, loading what it holds. Stored records
    /// that no longer verify are skipped and counted, never fatal.
    pub fn open(
        config: Config,
        key: TeamKey,
        suffix: ActorSuffix,
        charter: Charter,
        store: S,
        now: Millis,
    ) -> Result<(Self, OpenReport), S::Error> {
        Self::open_with_statements(config, key, suffix, StatementSet::new(charter), store, now)
    }

    /// Opens the core like [`Node::open`], starting from `statements`, a
    /// set verified already (a [`StatementSet`] only holds statements that
    /// verified when inserted). The store's statements are added on top;
    /// those already in the set are not verified again. Many nodes sharing
    /// one large set (the simulator's initial membership) open without
    /// each verifying every signature.
    pub fn open_with_statements(
        config: Config,
        key: TeamKey,
        suffix: ActorSuffix,
        mut statements: StatementSet,
        store: S,
        now: Millis,
    ) -> Result<(Self, OpenReport), S::Error> {
        let loaded = store.load_index()?;
        let mut report = OpenReport::default();
        for s in loaded.statements {
            match statements.insert(s) {
                Ok(_) => report.statements += 1,
                Err(_) => report.bad_statements += 1,
            }
        }
        let membership = statements.membership();
        let mut snapshots = loaded.snapshots;
        let stored = loaded.changes.into_iter().map(|(id, hashes)| StoredDoc {
            id,
            snapshot: snapshots.remove(&id),
            hashes,
        });
        let (docs, restored) = Documents::restore_from(
            statements.network_id(),
            &membership,
            stored,
            |doc| store.changes_of(doc),
            store.source(),
            config.ingest_threads,
            config.cached_documents,
        )?;
        report.changes = restored.skipped + restored.replayed;
        report.bad_changes = restored.rejected;
        report.from_snapshot = restored.from_snapshot;
        report.replayed = restored.replayed;
        report.cold = restored.cold;
        let rng = Rng::new(config.seed ^ u64::from_be_bytes(first8(key.id().as_bytes())));
        let mut node = Self {
            next_tick: now.saturating_add(config.sync_interval),
            index: Index::new(statements.iter().map(|s| s.id())),
            outbox: Outbox::new(config.max_transmits, config.max_events),
            config,
            key,
            suffix,
            store,
            statements,
            membership: Arc::new(membership),
            docs,
            peers: Peers::default(),
            rng,
            stats: Stats::default(),
        };
        let ids: Vec<DocId> = node.docs.docs().map(|(id, _)| *id).collect();
        for doc in ids {
            let hashes: Vec<ChangeHash> = node.docs.change_hashes(&doc);
            for h in hashes {
                node.index.add_change(doc, h);
            }
            node.refresh_distribution(&doc);
        }
        // A document restored whole from its snapshot starts counting
        // afresh; every document replayed (in full or past its snapshot)
        // gets a snapshot now, so the next start replays nothing that did
        // not change.
        let ids: Vec<DocId> = node.index.doc_ids().collect();
        for doc in ids {
            if !node.docs.snapshot_is_stale(&doc) {
                node.index.snapshot_taken(&doc);
            }
        }
        node.flush_snapshots();
        report.documents = node.index.len();
        Ok((node, report))
    }

    /// This node's team.
    pub fn team(&self) -> TeamId {
        self.key.id()
    }

    /// The statement set.
    pub fn statements(&self) -> &StatementSet {
        &self.statements
    }

    /// The current membership.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The current membership, as shared.
    pub fn shared_membership(&self) -> &Arc<Membership> {
        &self.membership
    }

    /// Takes `other` as this node's membership when it is the same, so
    /// that many nodes of one process that agree (the simulator's) hold
    /// one copy, not one each. Returns whether it did.
    pub fn share_membership(&mut self, other: &Arc<Membership>) -> bool {
        if Arc::ptr_eq(&self.membership, other) {
            return true;
        }
        if *self.membership != **other {
            return false;
        }
        self.membership = Arc::clone(other);
        true
    }

    /// The documents.
    pub fn documents(&self) -> &Documents {
        &self.docs
    }

    /// The reference of a document known here.
    pub fn doc_ref(&self, doc: &DocId) -> Option<&DocRef> {
        self.docs.doc_ref(doc)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A digest of everything this node holds (statements and every
    /// document's stored changes): equal digests mean converged replicas.
    pub fn digest(&self) -> [u8; 32] {
        self.index.digest()
    }

    /// When [`Node::handle_timeout`] wants to run next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        Some(self.next_tick)
    }

    /// The next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.outbox.pop_transmit()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.outbox.pop_event()
    }

    /// Handles a message from `from`, whose key the transport proved. For a
    /// message that came by gossip, `from` is the peer that forwarded it.
    pub fn handle_message(&mut self, now: Millis, from: TeamId, message: Message) -> Verdict {
        self.stats.messages_in += 1;
        self.peers.heard(now, &from);
        let verdict = if !self.membership.is_member(&from) {
            Verdict::Reject(Rejection::NotMember)
        } else {
            match message {
                Message::Sync(sync) => {
                    self.on_sync(from, sync);
                    Verdict::Ignore
                }
                Message::Statements(list) => self.on_statements(list),
                Message::Changes(list) => self.on_changes(from, list),
                Message::Want(want) => {
                    self.on_want(from, want);
                    Verdict::Ignore
                }
            }
        };
        self.count_rejection(&verdict);
        verdict
    }

    fn count_rejection(&mut self, verdict: &Verdict) {
        if let Verdict::Reject(r) = verdict {
            *self.stats.rejected.entry(r.name()).or_default() += 1;
        }
    }

    fn event(&mut self, event: Event) {
        self.outbox.event(event, &mut self.stats);
    }

    /// Queues a message; one addressed to a non-member is never queued.
    fn transmit(&mut self, t: Transmit) {
        if let Destination::Peer(p) = &t.to
            && !self.membership.is_member(p)
        {
            return;
        }
        self.outbox.transmit(t, &mut self.stats);
    }
}

fn first8(bytes: &[u8; 32]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

#[cfg(test)]
mod tests;
