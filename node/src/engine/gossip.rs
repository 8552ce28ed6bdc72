//! Gossip: CLEAR and GREEN changes and statements published on the
//! network's topic, and the validation of what arrives (the core's verdict
//! becomes gossipsub's acceptance).

use libp2p::PeerId;
use libp2p::gossipsub::MessageAcceptance;
use tracing::debug;
use trustmesh_protocol::{Message, Verdict};

use super::{Engine, now_ms};
use crate::net::team_of;

impl Engine {
    /// Publishes a core message on the network's topic.
    pub(super) fn publish(&mut self, bytes: Vec<u8>) {
        let len = bytes.len() as u64;
        match self
            .swarm
            .behaviour_mut()
            .gossip
            .inner_mut()
            .publish(self.topic.clone(), bytes)
        {
            Ok(_) => {
                self.stats.gossip_out += 1;
                self.stats.bytes_out += len;
            }
            Err(e) => {
                self.stats.gossip_unsent += 1;
                debug!(error = %e, "gossip not sent; anti-entropy will deliver");
            }
        }
    }

    /// Validates a gossip message with the core
    /// ([`trustmesh_protocol::Node::handle_gossip`]: decoding, and the rule
    /// that gossip carries only statements and changes); its verdict
    /// becomes gossipsub's acceptance, and a rejection bans the sender.
    pub(super) fn on_gossip(&mut self, from: PeerId, data: &[u8]) -> MessageAcceptance {
        self.stats.gossip_in += 1;
        self.stats.bytes_in += data.len() as u64;
        if !self.admit_rate(from) {
            return MessageAcceptance::Ignore;
        }
        let Some(team) = team_of(&from) else {
            return MessageAcceptance::Reject;
        };
        let now = now_ms();
        match self.node.handle_gossip(now, team, data) {
            Verdict::Accept => {
                // Accepted gossip decoded in the core; reading the authors'
                // dates again costs little beside verifying and storing.
                if let Ok(Message::Changes(cs)) = Message::decode(data) {
                    for c in cs {
                        self.gossip_latency
                            .observe(now as f64 / 1000.0 - c.timestamp() as f64);
                    }
                }
                MessageAcceptance::Accept
            }
            Verdict::Ignore => MessageAcceptance::Ignore,
            Verdict::Reject(r) => {
                debug!(%from, reason = r.name(), "gossip rejected");
                self.penalize(from, r.name());
                MessageAcceptance::Reject
            }
        }
    }
}
