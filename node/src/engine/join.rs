//! The join exchange with any connected peer: presenting this node's
//! application and introductions, and answering others'.

use libp2p::PeerId;
use libp2p::request_response;
use tracing::{debug, info, warn};
use trustmesh_protocol::{JoinOutcome, JoinRequest, JoinResponse};

use super::{Engine, now_ms};
use crate::net::{Frame, team_of};

impl Engine {
    /// Presents what the core's [`trustmesh_protocol::Node::join_request`]
    /// carries (nothing for a founder, or a team with no application of its
    /// own) to `peer`, once at a time.
    pub(super) fn send_join(&mut self, peer: PeerId) {
        if self.join_pending.contains(&peer) {
            return;
        }
        let request = self.node.join_request();
        if request.is_empty() {
            return;
        }
        self.join_pending.insert(peer);
        self.stats.joins_sent += 1;
        info!(%peer, statements = request.statements.len(), "presenting our application and introductions");
        self.swarm
            .behaviour_mut()
            .join
            .inner_mut()
            .send_request(&peer, Frame(request.encode()));
    }

    pub(super) fn on_join_event(&mut self, event: request_response::Event<Frame, Frame>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let response = self.answer_join(peer, &request.0);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .join
                    .inner_mut()
                    .send_response(channel, Frame(response.encode()));
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { response, .. },
                ..
            } => {
                self.join_pending.remove(&peer);
                self.on_join_response(peer, &response.0);
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                self.join_pending.remove(&peer);
                debug!(%peer, %error, "join request failed");
            }
            _ => {}
        }
    }

    fn answer_join(&mut self, peer: PeerId, bytes: &[u8]) -> JoinResponse {
        let refuse = |reason: &str| JoinResponse::Refused {
            reason: reason.to_owned(),
        };
        if !self.admit_rate(peer) {
            return refuse("too many requests");
        }
        let Some(team) = team_of(&peer) else {
            return refuse("only ed25519 team keys can be members");
        };
        let request = match JoinRequest::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.penalize(peer, "malformed_join");
                return refuse(&format!("malformed join request: {e}"));
            }
        };
        let response = self.node.handle_join_request(now_ms(), team, request);
        match &response {
            JoinResponse::Admitted { .. } => info!(%peer, "admitted a member by its introductions"),
            JoinResponse::Refused { reason } => info!(%peer, %reason, "join refused"),
        }
        response
    }

    fn on_join_response(&mut self, peer: PeerId, bytes: &[u8]) {
        let Some(team) = team_of(&peer) else {
            return;
        };
        let response = match JoinResponse::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                debug!(%peer, error = %e, "join response does not decode");
                self.penalize(peer, "malformed_join");
                return;
            }
        };
        match self.node.handle_join_response(now_ms(), team, response) {
            JoinOutcome::Admitted {
                new_statements,
                member,
            } => {
                info!(%peer, new_statements, member, "admitted by the peer");
                self.refresh_gates();
                if !self.swarm.behaviour().sync.is_open(&peer) {
                    self.reconnect(peer);
                }
            }
            JoinOutcome::Refused(reason) => warn!(%peer, %reason, "the peer refused our join"),
            JoinOutcome::Invalid(r) => self.penalize(peer, r.name()),
            _ => {}
        }
    }
}
