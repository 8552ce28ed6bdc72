//! The core's invariants, asserted at every simulated step (the end-of-run
//! checks are in `check.rs`). Each is cheap enough to stay on in every
//! test run:
//!
//! - nothing is sent to a non-member: every message a core queues for a
//!   peer, and every packet a node puts on a connection, goes to a member
//!   in the sender's view (the join exchange aside);
//! - no restricted (AMBER or RED) document's change or id goes to a peer
//!   outside its audience (the one its author gave it), and none travels
//!   by gossip;
//! - nothing leaves a node, or is acknowledged, before it is durable:
//!   every statement and change a core sends is in its store, and a local
//!   edit that returned a change stored it;
//! - the applied set is a function of the inputs: now and then, and for
//!   every live node at the end, a fresh core opened over a copy of the
//!   node's store holds the same statements, changes, membership and
//!   document heads as the running one.
//!
//! A violation is recorded with the first one's details and fails the
//! run's "core invariants" check.

use trustmesh_protocol::{
    ActorSuffix, Destination, DocId, Message, Node, SignedChange, StatementSet, TeamId, Transmit,
};

use super::{Packet, Simulation};
use crate::metrics::Check;
use crate::store::FaultyStore;

/// How many samples pass between two replay checks of one node.
const REPLAY_EVERY_SAMPLES: u64 = 10;

/// What the step checks found.
#[derive(Debug, Default)]
pub(super) struct Invariants {
    /// Transmits, packets and edits checked.
    checked: u64,
    /// Fresh cores compared with running ones.
    replays: u64,
    violations: u64,
    first: Option<String>,
    samples: u64,
    next_replay: usize,
}

impl Invariants {
    fn violation(&mut self, what: String) {
        self.violations += 1;
        if self.first.is_none() {
            self.first = Some(what);
        }
    }

    /// The end-of-run verdict.
    pub(super) fn check(&self) -> Check {
        Check {
            name: "core invariants held at every step".to_owned(),
            passed: self.violations == 0,
            detail: format!(
                "{} outputs checked, {} fresh cores compared, {} violations{}",
                self.checked,
                self.replays,
                self.violations,
                self.first
                    .as_ref()
                    .map(|f| format!("; first: {f}"))
                    .unwrap_or_default()
            ),
        }
    }
}

impl Simulation<'_> {
    /// Checks a message node `i`'s core queued, as it leaves the core
    /// (before a Byzantine rewrite touches it).
    pub(super) fn check_transmit(&mut self, i: usize, t: &Transmit) {
        let now = self.now();
        let Some(core) = self.nodes[i].core.as_ref() else {
            return;
        };
        let store = core.store();
        let mut problems = Vec::new();
        if let Destination::Peer(p) = &t.to
            && !core.membership().is_member(p)
        {
            problems.push(format!(
                "{} for non-member {}",
                t.message.kind_name(),
                p.short()
            ));
        }
        // The truth about audiences is the workload's: what the author
        // restricted its advisory to. (A core may hold a restricted
        // document it cannot read yet, and then treats it as its owner's
        // alone; that interim view is not the audience.)
        let audiences = &self.audiences;
        let outside = |doc: &DocId| -> bool {
            match audiences.get(doc) {
                None => false,
                Some(audience) => match &t.to {
                    Destination::Gossip => true,
                    Destination::Peer(p) => !audience.contains(p),
                },
            }
        };
        match &t.message {
            Message::Changes(list) => {
                for c in list {
                    if outside(&c.doc()) {
                        problems.push(format!("a change of restricted {}", c.doc()));
                    }
                    if !store.contains_change(&c.doc(), &c.hash()) {
                        problems.push(format!("change {} not stored", c.hash()));
                    }
                }
            }
            Message::Statements(list) => {
                for s in list {
                    if !store.contains_statement(&s.id()) {
                        problems.push(format!("statement {} not stored", s.id().short()));
                    }
                }
            }
            Message::Sync(sync) => {
                for (d, _) in &sync.changes {
                    if outside(d) {
                        problems.push(format!("sync names restricted {d}"));
                    }
                }
                if let Some(d) = audiences.keys().find(|d| outside(d) && sync.docs.names(d)) {
                    problems.push(format!("sync names restricted {d}"));
                }
            }
            Message::Want(want) => {
                for (d, _) in &want.changes {
                    if outside(d) {
                        problems.push(format!("want names restricted {d}"));
                    }
                }
            }
            _ => {}
        }
        self.invariants.checked += 1;
        for p in problems {
            self.invariants
                .violation(format!("at {now} ms node {i} queued {p}"));
        }
    }

    /// Checks a packet node `from` puts on its connection to `to`.
    pub(super) fn check_packet(&mut self, from: usize, to: usize, packet: &Packet) {
        if packet.is_join() {
            return;
        }
        let team: TeamId = self.nodes[to].key.id();
        let member = self.nodes[from]
            .core
            .as_ref()
            .is_none_or(|c| c.membership().is_member(&team));
        self.invariants.checked += 1;
        if !member {
            let now = self.now();
            self.invariants.violation(format!(
                "at {now} ms node {from} sent a packet of kind {} to non-member node {to}",
                packet.kind()
            ));
        }
    }

    /// A local edit returned `change`: it must be durable.
    pub(super) fn check_acknowledged(&mut self, i: usize, change: &SignedChange) {
        let stored = self.disk(i).contains_change(&change.doc(), &change.hash());
        self.invariants.checked += 1;
        if !stored {
            let now = self.now();
            self.invariants.violation(format!(
                "at {now} ms node {i} acknowledged change {} without storing it",
                change.hash()
            ));
        }
    }

    /// At a timeline sample: every `REPLAY_EVERY_SAMPLES` samples, compares
    /// the next live node (in turn) with a fresh core over its store.
    pub(super) fn sample_invariants(&mut self) {
        self.invariants.samples += 1;
        if !self.invariants.samples.is_multiple_of(REPLAY_EVERY_SAMPLES) || self.nodes.is_empty() {
            return;
        }
        let n = self.nodes.len();
        for k in 0..n {
            let i = (self.invariants.next_replay + k) % n;
            if self.nodes[i].up() {
                self.invariants.next_replay = i + 1;
                self.check_replay(i);
                return;
            }
        }
    }

    /// Compares node `i`'s running core with one opened afresh over a copy
    /// of its store: the same inputs must give the same replica.
    pub(super) fn check_replay(&mut self, i: usize) {
        let now = self.now();
        let statements = if self.nodes[i].newcomer {
            StatementSet::new(self.charter.clone())
        } else {
            self.genesis.clone()
        };
        let config = self.config(i);
        let node = &self.nodes[i];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        let copy: FaultyStore = core.store().snapshot();
        let Ok((fresh, _)) = Node::open_with_statements(
            config,
            node.key.clone(),
            ActorSuffix::from_bytes([0xCC; 16]),
            statements,
            copy,
            now,
        ) else {
            self.invariants
                .violation(format!("at {now} ms node {i}'s store did not read back"));
            return;
        };
        let mut problems = Vec::new();
        if fresh.digest() != core.digest() {
            problems.push("statements or changes differ from its store's");
        }
        if fresh.membership().members() != core.membership().members() {
            problems.push("membership differs");
        }
        let heads_differ = core
            .documents()
            .docs()
            .map(|(d, _)| d)
            .chain(fresh.documents().docs().map(|(d, _)| d))
            .any(|d| core.documents().heads(d) != fresh.documents().heads(d));
        if heads_differ {
            problems.push("document heads differ");
        }
        self.invariants.replays += 1;
        for p in problems {
            self.invariants.violation(format!(
                "at {now} ms node {i} and a fresh core over its store: {p}"
            ));
        }
    }
}
