//! The sync protocol: anti-entropy rounds and point-to-point pushes as
//! requests carrying core messages, and the peer exchange.

use std::collections::{HashSet, VecDeque};

use libp2p::PeerId;
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId};
use tracing::debug;
use trustmesh_protocol::Verdict;

use super::{Engine, now_ms};
use crate::net::{SyncRequest, SyncResponse, team_of};

/// Core messages to one peer: those in flight (sent, not yet answered)
/// and those waiting for room. A connection's sync streams, inbound and
/// outbound together, are bounded and a stream beyond the bound is dropped
/// ("at capacity"): during a join both ends send their catch-up at once.
/// The window keeps half of `max_concurrent_requests` in flight
/// ([`crate::net::sync_window`]) and the bound holds both ends' windows
/// and the peer exchanges ([`crate::net::sync_streams`]), so a burst (a
/// join, a catch-up, a flood of restricted edits) queues here instead of
/// being dropped there. The queue is bounded in bytes; beyond
/// that a message is dropped and counted, and anti-entropy brings what it
/// carried. Pure, over any request id, so its rules are tested alone.
#[derive(Debug)]
pub(super) struct Outbound<Id> {
    in_flight: HashSet<Id>,
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    window: usize,
    cap: usize,
}

/// What [`Outbound::offer`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Offer {
    /// Send it now (then record its id with [`Outbound::sent`]).
    Send(Vec<u8>),
    /// It waits for room.
    Queued,
    /// The queue is full: dropped.
    Dropped,
}

impl<Id: std::hash::Hash + Eq> Outbound<Id> {
    pub(super) fn new(window: usize, cap: usize) -> Self {
        Self {
            in_flight: HashSet::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            window: window.max(1),
            cap,
        }
    }

    /// A message to send: now, later (in order), or not at all. A message
    /// larger than the cap still queues when the queue is empty.
    pub(super) fn offer(&mut self, bytes: Vec<u8>) -> Offer {
        if self.in_flight.len() < self.window && self.queue.is_empty() {
            Offer::Send(bytes)
        } else if self.queue.is_empty() || self.queued_bytes + bytes.len() <= self.cap {
            self.queued_bytes += bytes.len();
            self.queue.push_back(bytes);
            Offer::Queued
        } else {
            Offer::Dropped
        }
    }

    /// A message was sent as request `id`.
    pub(super) fn sent(&mut self, id: Id) {
        self.in_flight.insert(id);
    }

    /// Request `id` was answered or failed; false if it is none of ours.
    pub(super) fn done(&mut self, id: &Id) -> bool {
        self.in_flight.remove(id)
    }

    /// The next waiting message, if the window has room.
    pub(super) fn next(&mut self) -> Option<Vec<u8>> {
        if self.in_flight.len() >= self.window {
            return None;
        }
        let next = self.queue.pop_front()?;
        self.queued_bytes -= next.len();
        Some(next)
    }
}

impl Engine {
    /// Sends a core message to `peer` over the sync protocol, if the member
    /// protocols run on a connection to it, through the peer's
    /// [`Outbound`] window (half of `max_concurrent_requests` in flight, a
    /// queue of up to four largest messages).
    pub(super) fn send_core(&mut self, peer: PeerId, bytes: Vec<u8>) {
        if !self.swarm.behaviour().sync.is_open(&peer) {
            self.stats.unroutable += 1;
            return;
        }
        let limits = &self.settings.limits;
        let (window, cap) = (
            crate::net::sync_window(limits),
            4 * limits.max_message_bytes,
        );
        let out = self
            .outbound
            .entry(peer)
            .or_insert_with(|| Outbound::new(window, cap));
        match out.offer(bytes) {
            Offer::Send(bytes) => self.send_now(peer, bytes),
            Offer::Queued => self.stats.sync_queued += 1,
            Offer::Dropped => self.stats.sync_dropped += 1,
        }
    }

    fn send_now(&mut self, peer: PeerId, bytes: Vec<u8>) {
        self.stats.sync_out += 1;
        self.stats.bytes_out += bytes.len() as u64;
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .inner_mut()
            .send_request(&peer, SyncRequest::Core(bytes));
        if let Some(out) = self.outbound.get_mut(&peer) {
            out.sent(id);
        }
    }

    /// A request to `peer` was answered or failed: sends what waits.
    fn request_done(&mut self, peer: PeerId, id: OutboundRequestId) {
        let Some(out) = self.outbound.get_mut(&peer) else {
            return;
        };
        if !out.done(&id) {
            return;
        }
        while let Some(next) = self.outbound.get_mut(&peer).and_then(Outbound::next) {
            self.send_now(peer, next);
        }
    }

    pub(super) fn on_sync_event(
        &mut self,
        event: request_response::Event<SyncRequest, SyncResponse>,
    ) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                self.stats.sync_in += 1;
                let response = if !self.admit_rate(peer) {
                    SyncResponse::Busy
                } else {
                    match request {
                        SyncRequest::Core(bytes) => {
                            self.on_core_request(peer, &bytes);
                            SyncResponse::Ack
                        }
                        SyncRequest::Peers => SyncResponse::Peers(self.peer_records(&peer)),
                        SyncRequest::Refused(why) => {
                            self.penalize(peer, why.name());
                            SyncResponse::Busy
                        }
                    }
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .inner_mut()
                    .send_response(channel, response);
            }
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                self.request_done(peer, request_id);
                if let SyncResponse::Peers(records) = response {
                    self.learn_peers(peer, records);
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                error,
                request_id,
                ..
            } => {
                self.request_done(peer, request_id);
                if matches!(error, OutboundFailure::UnsupportedProtocols) {
                    // The peer gates us: it does not know we are a member.
                    self.send_join(peer);
                } else {
                    debug!(%peer, %error, "sync request failed");
                }
            }
            _ => {}
        }
    }

    fn on_core_request(&mut self, peer: PeerId, bytes: &[u8]) {
        self.stats.bytes_in += bytes.len() as u64;
        let Some(team) = team_of(&peer) else {
            return;
        };
        if let Verdict::Reject(r) = self.node.handle_direct(now_ms(), team, bytes) {
            debug!(%peer, reason = r.name(), "sync message rejected");
            self.penalize(peer, r.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Offer, Outbound};

    #[test]
    fn the_window_bounds_requests_in_flight_and_the_queue_keeps_order() {
        let mut out: Outbound<u32> = Outbound::new(2, 10);
        assert_eq!(out.offer(vec![1]), Offer::Send(vec![1]));
        out.sent(1);
        assert_eq!(out.offer(vec![2]), Offer::Send(vec![2]));
        out.sent(2);
        // The window is full: the rest waits, in order, up to 10 bytes.
        assert_eq!(out.offer(vec![3; 4]), Offer::Queued);
        assert_eq!(out.offer(vec![4; 6]), Offer::Queued);
        assert_eq!(out.offer(vec![5]), Offer::Dropped);
        assert_eq!(out.next(), None, "no room yet");
        assert!(!out.done(&9), "not ours");
        assert!(out.done(&1));
        assert_eq!(out.next(), Some(vec![3; 4]));
        out.sent(3);
        assert_eq!(out.next(), None, "two in flight again: full");
        // A new message queues behind the waiting one, never overtakes it.
        assert_eq!(out.offer(vec![6]), Offer::Queued);
        assert!(out.done(&2) && out.done(&3));
        assert_eq!(out.next(), Some(vec![4; 6]));
        out.sent(4);
        assert_eq!(out.next(), Some(vec![6]));
        out.sent(6);
        assert_eq!(out.next(), None);
    }

    #[test]
    fn a_message_larger_than_the_queue_waits_alone() {
        let mut out: Outbound<u32> = Outbound::new(1, 4);
        assert_eq!(out.offer(vec![0]), Offer::Send(vec![0]));
        out.sent(0);
        assert_eq!(out.offer(vec![1; 100]), Offer::Queued);
        assert_eq!(out.offer(vec![2]), Offer::Dropped);
        assert!(out.done(&0));
        assert_eq!(out.next(), Some(vec![1; 100]));
    }
}
