//! The capped output queues, and the splitting of large outputs into
//! messages within the wire limits.

use std::collections::VecDeque;

use super::{Destination, Event, Node, Stats, Transmit};
use crate::document::SignedChange;
use crate::identity::TeamId;
use crate::reconcile::{MAX_CLAIMS, RangeClaim};
use crate::statement::SignedStatement;
use crate::store::Store;
use crate::wire::{
    DocClaims, MAX_DOC_SYNCS, MAX_ITEMS, MAX_MESSAGE_BYTES, Message, SyncClaims, Want,
};

/// Messages to send and events to report, each queue capped.
#[derive(Debug, Clone)]
pub(super) struct Outbox {
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    max_transmits: usize,
    max_events: usize,
}

impl Outbox {
    pub(super) fn new(max_transmits: usize, max_events: usize) -> Self {
        Self {
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            max_transmits,
            max_events,
        }
    }

    /// Queues an event; when the queue is full the oldest is dropped.
    pub(super) fn event(&mut self, event: Event, stats: &mut Stats) {
        if self.events.len() >= self.max_events {
            self.events.pop_front();
            stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Queues a message; when the queue is full the new one is dropped
    /// (anti-entropy repairs what was lost).
    pub(super) fn transmit(&mut self, t: Transmit, stats: &mut Stats) {
        if self.transmits.len() >= self.max_transmits {
            stats.transmits_dropped += 1;
            return;
        }
        stats.messages_out += 1;
        self.transmits.push_back(t);
    }

    pub(super) fn pop_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub(super) fn pop_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

/// Splits a sync step so that no message exceeds the claim limits.
pub(super) fn split_sync(sync: SyncClaims) -> Vec<SyncClaims> {
    if sync.is_empty() {
        return vec![sync];
    }
    let round = sync.round;
    let fresh = || SyncClaims {
        round,
        ..SyncClaims::default()
    };
    let mut out = Vec::new();
    let mut current = fresh();
    let flush = |out: &mut Vec<SyncClaims>, current: &mut SyncClaims| {
        if !current.is_empty() {
            out.push(std::mem::replace(current, fresh()));
        }
    };
    for chunk in sync.statements.chunks(MAX_CLAIMS) {
        if !current.statements.is_empty() {
            flush(&mut out, &mut current);
        }
        current.statements = chunk.to_vec();
    }
    match sync.docs {
        DocClaims::Ranges(claims) => {
            for chunk in claims.chunks(MAX_CLAIMS) {
                if current.docs != DocClaims::None {
                    flush(&mut out, &mut current);
                }
                current.docs = DocClaims::Ranges(chunk.to_vec());
            }
        }
        other => current.docs = other,
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
                flush(&mut out, &mut current);
                claims_in_current = 0;
            }
            claims_in_current += piece.len();
            current.changes.push((doc, piece));
        }
    }
    flush(&mut out, &mut current);
    out
}

/// Splits changes into batches within the item limit and `budget` bytes
/// (a single larger change makes a batch of its own).
fn split_changes(changes: Vec<SignedChange>, budget: usize) -> Vec<Vec<SignedChange>> {
    let budget = budget.min(MAX_MESSAGE_BYTES / 2);
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for c in changes {
        let len = c.encoded_len();
        if !batch.is_empty() && (batch.len() >= MAX_ITEMS || bytes + len > budget) {
            out.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += len;
        batch.push(c);
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}

/// Splits a want so that no message names more than `MAX_ITEMS` items.
fn split_want(want: Want) -> Vec<Want> {
    if want.is_empty() {
        return vec![];
    }
    let mut out = Vec::new();
    let mut current = Want::default();
    let mut count = want.statements.len();
    current.statements = want.statements;
    for (doc, hashes) in want.changes {
        for chunk in hashes.chunks(MAX_ITEMS) {
            if count + chunk.len() > MAX_ITEMS {
                out.push(std::mem::take(&mut current));
                count = 0;
            }
            count += chunk.len();
            current.changes.push((doc, chunk.to_vec()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl<S: Store> Node<S> {
    /// Sends a sync step, split so that no message exceeds the claim limits.
    pub(super) fn send_sync(&mut self, to: TeamId, sync: SyncClaims) {
        for part in split_sync(sync) {
            self.transmit(Transmit {
                to: Destination::Peer(to),
                message: Message::Sync(part),
            });
        }
    }

    pub(super) fn send_statements(&mut self, to: TeamId, statements: Vec<SignedStatement>) {
        for chunk in statements.chunks(MAX_ITEMS) {
            self.transmit(Transmit {
                to: Destination::Peer(to),
                message: Message::Statements(chunk.to_vec()),
            });
        }
    }

    /// Sends changes, several messages when they exceed the size limits.
    pub(super) fn send_changes(&mut self, to: Destination, changes: Vec<SignedChange>) {
        for batch in split_changes(changes, self.config.max_batch_bytes) {
            self.transmit(Transmit {
                to,
                message: Message::Changes(batch),
            });
        }
    }

    pub(super) fn send_want(&mut self, to: TeamId, want: Want) {
        for part in split_want(want) {
            self.transmit(Transmit {
                to: Destination::Peer(to),
                message: Message::Want(part),
            });
        }
    }
}
