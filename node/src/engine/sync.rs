//! The sync protocol: anti-entropy rounds and point-to-point pushes as
//! requests carrying core messages, and the peer exchange.

use libp2p::PeerId;
use libp2p::request_response::{self, OutboundFailure};
use tracing::debug;
use trustmesh_protocol::Verdict;

use super::{Engine, now_ms};
use crate::net::{SyncRequest, SyncResponse, team_of};

impl Engine {
    /// Sends a core message to `peer` over the sync protocol, if the member
    /// protocols run on a connection to it.
    pub(super) fn send_core(&mut self, peer: PeerId, bytes: Vec<u8>) {
        if !self.swarm.behaviour().sync.is_open(&peer) {
            self.stats.unroutable += 1;
            return;
        }
        self.stats.sync_out += 1;
        self.stats.bytes_out += bytes.len() as u64;
        self.swarm
            .behaviour_mut()
            .sync
            .inner_mut()
            .send_request(&peer, SyncRequest::Core(bytes));
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
                        response: SyncResponse::Peers(records),
                        ..
                    },
                ..
            } => {
                self.learn_peers(peer, records);
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
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
