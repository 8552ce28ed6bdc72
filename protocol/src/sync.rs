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
//! connected members. A round reconciles three sets with range-based set
//! reconciliation ([`crate::reconcile`]): the statement ids; the documents
//! both peers may share, each with a version digest of its stored change
//! hashes; and, for each document whose version differs, its change hashes.
//! Two peers in agreement exchange one fingerprint per set (a few dozen
//! bytes, whatever they hold); after a divergence, what flows is the claims
//! that locate the difference and then the missing statements and changes
//! themselves.
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

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use thiserror::Error;

use crate::document::{
    ActorSuffix, Advisory, ChangeStatus, Contact, DocId, DocRef, Documents, EditError, Inserted,
    SignedChange, Tool,
};
use crate::identity::{TeamId, TeamKey};
use crate::membership::{Membership, StatementSet};
use crate::reconcile::{self, ItemSet, Key, MAX_CLAIMS, RangeClaim};
use crate::statement::{ChangeHash, Charter, SignedStatement, StatementError};
use crate::store::Store;
use crate::wire::{MAX_DOC_SYNCS, MAX_ITEMS, MAX_MESSAGE_BYTES, Message, Sync, Want};

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
    /// How many new changes of a document trigger a fresh snapshot.
    pub snapshot_every: usize,
    /// Most queued outgoing messages; beyond it new ones are dropped and
    /// counted (anti-entropy repairs what was lost).
    pub max_transmits: usize,
    /// Most queued events; beyond it the oldest are dropped and counted.
    pub max_events: usize,
    /// Seed of the peer choice.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sync_interval: 10_000,
            sync_fanout: 2,
            round_timeout: 30_000,
            snapshot_every: 64,
            max_transmits: 4096,
            max_events: 4096,
            seed: 0,
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

    /// Sets [`Config::snapshot_every`].
    pub fn with_snapshot_every(mut self, n: usize) -> Self {
        self.snapshot_every = n.max(1);
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
}

impl Rejection {
    /// A short name for counters.
    pub fn name(&self) -> &'static str {
        match self {
            Rejection::NotMember => "not_member",
            Rejection::Statement(_) => "bad_statement",
            Rejection::Change(_) => "bad_change",
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
    /// Documents.
    pub documents: usize,
}

/// The index the core keeps beside each document.
#[derive(Debug, Clone, Default)]
struct DocIndex {
    /// Stored change hashes (version zero), the set reconciled per document.
    hashes: ItemSet,
    /// Digest of `hashes`, kept up to date in constant time per change.
    digest: SetDigest,
    /// `digest`'s value: the document's version at the document level.
    version: [u8; 32],
    /// `None` when every member may receive the document, or its audience.
    restricted: Option<Vec<TeamId>>,
    /// Changes stored since the last snapshot.
    since_snapshot: usize,
}

#[derive(Debug, Clone, Default)]
struct PeerState {
    /// The round this node opened with the peer and when.
    round: Option<(u64, Millis)>,
    /// When the peer last sent a message.
    last_heard: Millis,
}

/// A small deterministic generator (SplitMix64); the choice of peers is the
/// only randomness the core needs, and it must replay from a seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

static EMPTY: ItemSet = BTreeMap::new();

/// The replication core of one member node. Cloning copies the whole
/// replica (benchmarks and the simulator fork nodes this way).
#[derive(Debug, Clone)]
pub struct Node<S: Store> {
    config: Config,
    key: TeamKey,
    suffix: ActorSuffix,
    store: S,
    statements: StatementSet,
    statement_items: ItemSet,
    membership: Membership,
    docs: Documents,
    index: BTreeMap<DocId, DocIndex>,
    peers: BTreeMap<TeamId, PeerState>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
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
        let loaded = store.load()?;
        let mut report = OpenReport::default();
        for s in loaded.statements {
            match statements.insert(s) {
                Ok(_) => report.statements += 1,
                Err(_) => report.bad_statements += 1,
            }
        }
        let membership = statements.membership();
        let mut by_doc: BTreeMap<DocId, Vec<SignedChange>> = BTreeMap::new();
        for c in loaded.changes {
            by_doc.entry(c.doc()).or_default().push(c);
        }
        let mut snapshots = loaded.snapshots;
        let offered: BTreeSet<DocId> = snapshots.keys().copied().collect();
        let (docs, restored) = Documents::restore(
            statements.network_id(),
            &membership,
            by_doc
                .into_values()
                .map(|changes| {
                    let snapshot = changes.first().and_then(|c| snapshots.remove(&c.doc()));
                    (changes, snapshot)
                })
                .collect::<Vec<_>>(),
        );
        report.changes = restored.skipped + restored.replayed;
        report.bad_changes = restored.rejected;
        report.from_snapshot = restored.from_snapshot;
        report.replayed = restored.replayed;
        let rng = Rng(config.seed ^ u64::from_be_bytes(first8(key.id().as_bytes())));
        let mut node = Self {
            next_tick: now.saturating_add(config.sync_interval),
            config,
            key,
            suffix,
            store,
            statement_items: statements
                .iter()
                .map(|s| (*s.id().as_bytes(), [0; 32]))
                .collect(),
            statements,
            membership,
            docs,
            index: BTreeMap::new(),
            peers: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            rng,
            stats: Stats::default(),
        };
        let ids: Vec<DocId> = node.docs.docs().map(|(id, _)| *id).collect();
        for doc in ids {
            let hashes: Vec<ChangeHash> = node.docs.change_hashes(&doc);
            for h in hashes {
                node.index_change(doc, h);
            }
            node.refresh_distribution(&doc);
        }
        // A document restored from its snapshot starts counting afresh; one
        // replayed from scratch with a long history gets a snapshot now, so
        // the next start is fast.
        let ids: Vec<DocId> = node.index.keys().copied().collect();
        for doc in ids {
            let from_snapshot =
                offered.contains(&doc) && !restored.fallbacks.iter().any(|(d, _)| *d == doc);
            if from_snapshot {
                if let Some(i) = node.index.get_mut(&doc) {
                    i.since_snapshot = 0;
                }
            } else {
                node.maybe_snapshot(&doc);
            }
        }
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

    /// The documents.
    pub fn documents(&self) -> &Documents {
        &self.docs
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The connected member peers, with when each last sent a message.
    pub fn peers(&self) -> impl Iterator<Item = (&TeamId, Millis)> {
        self.peers.iter().map(|(t, p)| (t, p.last_heard))
    }

    /// A digest of everything this node holds (statements and every
    /// document's stored changes): equal digests mean converged replicas.
    pub fn digest(&self) -> [u8; 32] {
        let mut set: ItemSet = self
            .index
            .iter()
            .map(|(d, i)| (*d.as_bytes(), i.version))
            .collect();
        set.insert([0xff; 32], SetDigest::of(&self.statement_items).value());
        SetDigest::of(&set).value()
    }

    // ---- peers and time -------------------------------------------------

    /// A connection to `peer` was established (its key proven by the
    /// transport). A member gets an anti-entropy round at once; anyone else
    /// is reported for disconnection.
    pub fn peer_connected(&mut self, now: Millis, peer: TeamId) {
        if peer == self.team() {
            return;
        }
        if !self.membership.is_member(&peer) {
            self.event(Event::Disconnect(peer));
            return;
        }
        self.peers.entry(peer).or_default().last_heard = now;
        self.open_round(now, peer);
    }

    /// The connection to `peer` is gone.
    pub fn peer_disconnected(&mut self, peer: &TeamId) {
        self.peers.remove(peer);
    }

    /// When [`Node::handle_timeout`] wants to run next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Millis> {
        Some(self.next_tick)
    }

    /// Runs the periodic work due at `now`: gives up stale rounds and opens
    /// rounds with up to `sync_fanout` random connected members. Early calls
    /// do nothing.
    pub fn handle_timeout(&mut self, now: Millis) {
        if now < self.next_tick {
            return;
        }
        self.next_tick = now.saturating_add(self.config.sync_interval.max(1));
        let timeout = self.config.round_timeout;
        for p in self.peers.values_mut() {
            if p.round
                .is_some_and(|(_, at)| now.saturating_sub(at) >= timeout)
            {
                p.round = None;
            }
        }
        let mut idle: Vec<TeamId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.round.is_none())
            .map(|(t, _)| *t)
            .collect();
        for _ in 0..self.config.sync_fanout {
            if idle.is_empty() {
                break;
            }
            let i = (self.rng.next() % idle.len() as u64) as usize;
            let peer = idle.swap_remove(i);
            self.open_round(now, peer);
        }
    }

    /// The next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- messages from peers --------------------------------------------

    /// Handles a message from `from`, whose key the transport proved. For a
    /// message that came by gossip, `from` is the peer that forwarded it.
    pub fn handle_message(&mut self, now: Millis, from: TeamId, message: Message) -> Verdict {
        self.stats.messages_in += 1;
        if let Some(p) = self.peers.get_mut(&from) {
            p.last_heard = now;
        }
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
        if let Verdict::Reject(r) = &verdict {
            *self.stats.rejected.entry(r.name()).or_default() += 1;
        }
        verdict
    }

    fn on_sync(&mut self, from: TeamId, sync: Sync) {
        if sync.is_empty() {
            self.finish_round(from, sync.round);
            return;
        }
        let mut reply = Sync {
            round: sync.round,
            ..Sync::default()
        };
        let mut want = Want::default();
        let mut send_statements = Vec::new();
        let mut send_changes: BTreeMap<DocId, BTreeSet<Key>> = BTreeMap::new();

        if !sync.statements.is_empty() {
            let (claims, diff) = reconcile::respond(&self.statement_items, &sync.statements);
            reply.statements = claims;
            send_statements = diff.peer_needs;
            want.statements = diff
                .we_need
                .into_iter()
                .map(crate::statement::StatementId::from_bytes)
                .collect();
        }

        let mut in_progress: BTreeSet<DocId> = sync.changes.iter().map(|(d, _)| *d).collect();
        if !sync.docs.is_empty() {
            let set = self.doc_items_for(&from);
            let (claims, diff) = reconcile::respond(&set, &sync.docs);
            reply.docs = claims;
            for key in diff.peer_needs.into_iter().chain(diff.we_need) {
                let doc = DocId::from_bytes(key);
                if in_progress.insert(doc) {
                    let opened = reconcile::open(self.change_items_for(&doc, &from));
                    reply.changes.push((doc, opened));
                }
            }
        }

        for (doc, claims) in &sync.changes {
            let set = self.change_items_for(doc, &from);
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
            .filter_map(|id| {
                self.statements
                    .get(&crate::statement::StatementId::from_bytes(*id))
                    .cloned()
            })
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

    fn on_statements(&mut self, list: Vec<SignedStatement>) -> Verdict {
        match self.add_statements(list) {
            (_, Some(r)) => Verdict::Reject(r),
            (0, None) => Verdict::Ignore,
            (_, None) => Verdict::Accept,
        }
    }

    /// Verifies and adds statements, stores the new ones and applies them.
    /// Stops at the first that does not verify (a peer that sends one is
    /// refused). Returns how many were new, and the refusal.
    fn add_statements(&mut self, list: Vec<SignedStatement>) -> (usize, Option<Rejection>) {
        let mut new = Vec::new();
        let mut rejection = None;
        for s in list {
            if self.statements.contains(&s.id()) {
                continue;
            }
            match self.statements.insert(s.clone()) {
                Ok(true) => new.push(s),
                Ok(false) => {}
                Err(e) => {
                    rejection = Some(Rejection::Statement(e));
                    break;
                }
            }
        }
        if !new.is_empty() {
            if let Err(e) = self.store.put_statements(&new) {
                self.store_failed(e.to_string());
            }
            self.statements_added(&new);
        }
        (new.len(), rejection)
    }

    fn on_changes(&mut self, from: TeamId, list: Vec<SignedChange>) -> Verdict {
        let mut new = Vec::new();
        let mut inserted = Vec::new();
        let mut rejection = None;
        for c in list {
            let doc = c.doc();
            let hash = c.hash();
            if self.docs.change(&doc, &hash).is_some() {
                self.stats.changes_duplicate += 1;
                continue;
            }
            // A stranger's change could never apply here, and storing it
            // would let anyone fill every node's disk with throwaway keys.
            // Dropped, not refused: an honest relay may know of an admission
            // this node has not seen yet, and anti-entropy (statements
            // first) brings the change again once it has.
            let author = c.author();
            if !self.membership.is_member(&author) && self.membership.kept_heads(&author).is_none()
            {
                self.stats.changes_unknown_author += 1;
                continue;
            }
            match self.docs.insert(c.clone(), &self.membership) {
                Ok(ins) => {
                    new.push(c);
                    inserted.push(ins);
                }
                Err(e) => {
                    rejection = Some(Rejection::Change(e));
                    break;
                }
            }
        }
        // Gossip forwards only what counts or may count once its
        // dependencies arrive; changes kept aside (a revoked author outside
        // its kept heads) or refused by the document rules stay here.
        let accepted = inserted
            .iter()
            .any(|i| matches!(i.status, ChangeStatus::Applied | ChangeStatus::MissingDeps));
        if !new.is_empty() {
            if let Err(e) = self.store.put_changes(&new) {
                self.store_failed(e.to_string());
            }
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
                    .map(|d| (d, reconcile::open(self.change_items_for(&d, &from))))
                    .collect();
                self.send_sync(
                    from,
                    Sync {
                        round,
                        changes,
                        ..Sync::default()
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

    fn on_want(&mut self, from: TeamId, want: Want) {
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

    // ---- local operations -----------------------------------------------

    /// Adds a statement made here (an application, introduction or
    /// revocation): verifies it, stores it durably, applies it and gossips
    /// it. Returns whether it was new.
    pub fn submit_statement(
        &mut self,
        statement: SignedStatement,
    ) -> Result<bool, NodeError<S::Error>> {
        if self.statements.contains(&statement.id()) {
            return Ok(false);
        }
        statement.verify(&self.statements.network_id())?;
        self.store
            .put_statements(std::slice::from_ref(&statement))
            .map_err(NodeError::Store)?;
        self.statements.insert(statement.clone())?;
        self.statements_added(std::slice::from_ref(&statement));
        self.transmit(Transmit {
            to: Destination::Gossip,
            message: Message::Statements(vec![statement]),
        });
        Ok(true)
    }

    /// Writes this team's contact entry; `None` when nothing differed.
    pub fn edit_contact(
        &mut self,
        now: Millis,
        contact: &Contact,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change = self
            .docs
            .edit_contact(&self.key, self.suffix, now / 1000, contact)?;
        self.commit_local(change)
    }

    /// Publishes a new advisory owned by this team.
    pub fn publish_advisory(
        &mut self,
        now: Millis,
        advisory: &Advisory,
    ) -> Result<SignedChange, NodeError<S::Error>> {
        let change = self
            .docs
            .publish_advisory(&self.key, self.suffix, now / 1000, advisory)?;
        self.commit_local(Some(change.clone()))?;
        Ok(change)
    }

    /// Updates an advisory this team owns or co-authors; `None` when
    /// nothing differed.
    pub fn update_advisory(
        &mut self,
        now: Millis,
        owner: TeamId,
        advisory: &Advisory,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change =
            self.docs
                .update_advisory(&self.key, self.suffix, now / 1000, owner, advisory)?;
        self.commit_local(change)
    }

    /// Adds or updates a tool in this team's registry.
    pub fn upsert_tool(
        &mut self,
        now: Millis,
        tool: &Tool,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change = self
            .docs
            .upsert_tool(&self.key, self.suffix, now / 1000, tool)?;
        self.commit_local(change)
    }

    /// Removes a tool from this team's registry.
    pub fn remove_tool(
        &mut self,
        now: Millis,
        name: &str,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let change = self
            .docs
            .remove_tool(&self.key, self.suffix, now / 1000, name)?;
        self.commit_local(change)
    }

    /// Stores a local change durably, then pushes it. The replica applied
    /// it already; if the store fails the change is not acknowledged and
    /// not pushed (it may still reach peers by anti-entropy, signed as it
    /// is, and the next process uses a fresh actor suffix).
    fn commit_local(
        &mut self,
        change: Option<SignedChange>,
    ) -> Result<Option<SignedChange>, NodeError<S::Error>> {
        let Some(change) = change else {
            return Ok(None);
        };
        self.store
            .put_changes(std::slice::from_ref(&change))
            .map_err(NodeError::Store)?;
        let doc = change.doc();
        self.changes_added(&[Inserted {
            doc,
            hash: change.hash(),
            new: true,
            status: ChangeStatus::Applied,
            changed: true,
        }]);
        self.push(change.clone());
        Ok(Some(change))
    }

    /// Pushes a change: by gossip when every member may receive its
    /// document, otherwise to each connected member of its audience.
    fn push(&mut self, change: SignedChange) {
        let doc = change.doc();
        match self.index.get(&doc).and_then(|i| i.restricted.clone()) {
            None => self.transmit(Transmit {
                to: Destination::Gossip,
                message: Message::Changes(vec![change]),
            }),
            Some(audience) => {
                let peers: Vec<TeamId> = audience
                    .into_iter()
                    .filter(|p| self.peers.contains_key(p))
                    .filter(|p| self.docs.may_receive(&doc, p, &self.membership))
                    .collect();
                for p in peers {
                    self.send_changes(Destination::Peer(p), vec![change.clone()]);
                }
            }
        }
    }

    // ---- bookkeeping -----------------------------------------------------

    fn statements_added(&mut self, new: &[SignedStatement]) {
        self.stats.statements_new += new.len() as u64;
        for s in new {
            self.statement_items.insert(*s.id().as_bytes(), [0; 32]);
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
        self.membership = membership;
        for doc in changed {
            self.refresh_distribution(&doc);
            self.event(Event::DocumentChanged(doc));
        }
        if admitted.is_empty() && removed.is_empty() {
            return;
        }
        for team in &removed {
            if self.peers.remove(team).is_some() {
                self.event(Event::Disconnect(*team));
            }
        }
        self.event(Event::MembershipChanged { admitted, removed });
    }

    fn changes_added(&mut self, inserted: &[Inserted]) {
        let mut changed = BTreeSet::new();
        let mut touched = BTreeSet::new();
        for ins in inserted {
            self.stats.changes_new += 1;
            self.index_change(ins.doc, ins.hash);
            touched.insert(ins.doc);
            if ins.changed {
                changed.insert(ins.doc);
            }
        }
        for doc in touched {
            self.refresh_distribution(&doc);
            self.maybe_snapshot(&doc);
        }
        for doc in changed {
            self.event(Event::DocumentChanged(doc));
        }
    }

    fn index_change(&mut self, doc: DocId, hash: ChangeHash) {
        let idx = self.index.entry(doc).or_default();
        if idx.hashes.insert(*hash.as_bytes(), [0; 32]).is_none() {
            idx.digest.add(hash.as_bytes(), &[0; 32]);
            idx.version = idx.digest.value();
            idx.since_snapshot += 1;
        }
    }

    /// Writes a snapshot of `doc` once enough changes accumulated since the
    /// last one. A failed snapshot write is counted and retried later;
    /// snapshots are an optimisation, never the record.
    fn maybe_snapshot(&mut self, doc: &DocId) {
        let due = self
            .index
            .get(doc)
            .is_some_and(|i| i.since_snapshot >= self.config.snapshot_every);
        if !due {
            return;
        }
        let Some(snapshot) = self.docs.snapshot(doc) else {
            return;
        };
        match self.store.put_snapshot(doc, &snapshot) {
            Ok(()) => {
                if let Some(i) = self.index.get_mut(doc) {
                    i.since_snapshot = 0;
                }
            }
            Err(e) => self.store_failed(e.to_string()),
        }
    }

    fn refresh_distribution(&mut self, doc: &DocId) {
        let restricted = self.docs.restricted_to(doc);
        if let Some(idx) = self.index.get_mut(doc) {
            idx.restricted = restricted;
        }
    }

    fn visible_to(&self, doc: &DocId, peer: &TeamId) -> bool {
        self.index
            .get(doc)
            .is_some_and(|i| i.restricted.as_ref().is_none_or(|a| a.contains(peer)))
    }

    /// The documents `peer` may receive, with their versions.
    fn doc_items_for(&self, peer: &TeamId) -> ItemSet {
        self.index
            .iter()
            .filter(|(d, _)| self.visible_to(d, peer))
            .map(|(d, i)| (*d.as_bytes(), i.version))
            .collect()
    }

    /// The change hashes of `doc` as offered to `peer`: none when the peer
    /// may not receive the document (not even its hashes leave the node).
    fn change_items_for(&self, doc: &DocId, peer: &TeamId) -> &ItemSet {
        match self.index.get(doc) {
            Some(idx) if self.visible_to(doc, peer) => &idx.hashes,
            _ => &EMPTY,
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

    fn open_round(&mut self, now: Millis, peer: TeamId) {
        let round = self.rng.next();
        if let Some(p) = self.peers.get_mut(&peer) {
            p.round = Some((round, now));
        }
        self.stats.rounds_opened += 1;
        let sync = Sync {
            round,
            statements: reconcile::open(&self.statement_items),
            docs: reconcile::open(&self.doc_items_for(&peer)),
            changes: vec![],
        };
        self.send_sync(peer, sync);
    }

    fn finish_round(&mut self, peer: TeamId, round: u64) {
        if let Some(p) = self.peers.get_mut(&peer)
            && p.round.is_some_and(|(r, _)| r == round)
        {
            p.round = None;
            self.stats.rounds_finished += 1;
            self.event(Event::RoundFinished { peer, round });
        }
    }

    fn store_failed(&mut self, error: String) {
        self.stats.store_failures += 1;
        self.event(Event::StoreFailed(error));
    }

    // ---- output ----------------------------------------------------------

    fn event(&mut self, event: Event) {
        if self.events.len() >= self.config.max_events {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    fn transmit(&mut self, t: Transmit) {
        if let Destination::Peer(p) = &t.to
            && !self.membership.is_member(p)
        {
            return;
        }
        if self.transmits.len() >= self.config.max_transmits {
            self.stats.transmits_dropped += 1;
            return;
        }
        self.stats.messages_out += 1;
        self.transmits.push_back(t);
    }

    /// Sends a sync step, split so that no message exceeds the claim limits.
    fn send_sync(&mut self, to: TeamId, sync: Sync) {
        if sync.is_empty() {
            self.transmit(Transmit {
                to: Destination::Peer(to),
                message: Message::Sync(sync),
            });
            return;
        }
        let round = sync.round;
        let mut current = Sync {
            round,
            ..Sync::default()
        };
        let flush = |node: &mut Self, current: &mut Sync| {
            if !current.is_empty() {
                let full = std::mem::replace(
                    current,
                    Sync {
                        round,
                        ..Sync::default()
                    },
                );
                node.transmit(Transmit {
                    to: Destination::Peer(to),
                    message: Message::Sync(full),
                });
            }
        };
        for chunk in sync.statements.chunks(MAX_CLAIMS) {
            if !current.statements.is_empty() {
                flush(self, &mut current);
            }
            current.statements = chunk.to_vec();
        }
        for chunk in sync.docs.chunks(MAX_CLAIMS) {
            if !current.docs.is_empty() {
                flush(self, &mut current);
            }
            current.docs = chunk.to_vec();
        }
        let mut claims_in_current = 0;
        for (doc, claims) in sync.changes {
            let pieces: Vec<Vec<RangeClaim>> = if claims.is_empty() {
                vec![vec![]]
            } else {
                claims.chunks(MAX_CLAIMS).map(<[_]>::to_vec).collect()
            };
            for piece in pieces {
                if current.changes.len() >= MAX_DOC_SYNCS
                    || claims_in_current + piece.len() > 4 * MAX_CLAIMS
                {
                    flush(self, &mut current);
                    claims_in_current = 0;
                }
                claims_in_current += piece.len();
                current.changes.push((doc, piece));
            }
        }
        flush(self, &mut current);
    }

    fn send_statements(&mut self, to: TeamId, statements: Vec<SignedStatement>) {
        for chunk in statements.chunks(MAX_ITEMS) {
            self.transmit(Transmit {
                to: Destination::Peer(to),
                message: Message::Statements(chunk.to_vec()),
            });
        }
    }

    /// Sends changes, several messages when they exceed the size limits.
    fn send_changes(&mut self, to: Destination, changes: Vec<SignedChange>) {
        let budget = MAX_MESSAGE_BYTES / 2;
        let mut batch = Vec::new();
        let mut bytes = 0;
        for c in changes {
            let len = c.encoded_len();
            if !batch.is_empty() && (batch.len() >= MAX_ITEMS || bytes + len > budget) {
                self.transmit(Transmit {
                    to,
                    message: Message::Changes(std::mem::take(&mut batch)),
                });
                bytes = 0;
            }
            bytes += len;
            batch.push(c);
        }
        if !batch.is_empty() {
            self.transmit(Transmit {
                to,
                message: Message::Changes(batch),
            });
        }
    }

    fn send_want(&mut self, to: TeamId, want: Want) {
        if want.is_empty() {
            return;
        }
        let mut current = Want::default();
        let mut count = want.statements.len();
        current.statements = want.statements;
        for (doc, hashes) in want.changes {
            for chunk in hashes.chunks(MAX_ITEMS) {
                if count + chunk.len() > MAX_ITEMS {
                    let full = std::mem::take(&mut current);
                    self.transmit(Transmit {
                        to: Destination::Peer(to),
                        message: Message::Want(full),
                    });
                    count = 0;
                }
                count += chunk.len();
                current.changes.push((doc, chunk.to_vec()));
            }
        }
        if !current.is_empty() {
            self.transmit(Transmit {
                to: Destination::Peer(to),
                message: Message::Want(current),
            });
        }
    }
}

impl<S: Store> Node<S> {
    /// The reference of a document known here.
    pub fn doc_ref(&self, doc: &DocId) -> Option<&DocRef> {
        self.docs.doc_ref(doc)
    }
}

fn first8(bytes: &[u8; 32]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

/// A set digest with the same construction as the reconciliation
/// fingerprint (sum of item hashes and count), at full width.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SetDigest {
    sum: [u8; 32],
    count: u64,
}

impl SetDigest {
    fn of(set: &ItemSet) -> Self {
        let mut d = Self::default();
        for (k, v) in set {
            d.add(k, v);
        }
        d
    }

    fn add(&mut self, key: &Key, version: &[u8; 32]) {
        reconcile::add_into(&mut self.sum, &reconcile::item_hash(key, version));
        self.count += 1;
    }

    fn value(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.sum);
        h.update(self.count.to_be_bytes());
        h.finalize().into()
    }
}

mod join;
pub use join::JoinOutcome;

#[cfg(test)]
mod tests;
