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

    pub(super) fn on_gossip(&mut self, from: PeerId, data: &[u8]) -> MessageAcceptance {
        self.stats.gossip_in += 1;
        self.stats.bytes_in += data.len() as u64;
        if !self.admit_rate(from) {
            return MessageAcceptance::Ignore;
        }
        let Some(team) = team_of(&from) else {
            return MessageAcceptance::Reject;
        };
        let message = match Message::decode(data) {
            Ok(m @ (Message::Statements(_) | Message::Changes(_))) => m,
            Ok(_) => {
                self.penalize(from, "gossip_kind");
                return MessageAcceptance::Reject;
            }
            Err(e) => {
                debug!(%from, error = %e, "gossip does not decode");
                self.penalize(from, "malformed");
                return MessageAcceptance::Reject;
            }
        };
        let stated: Vec<i64> = match &message {
            Message::Changes(cs) => cs.iter().map(|c| c.timestamp()).collect(),
            _ => vec![],
        };
        let now = now_ms();
        match self.node.handle_message(now, team, message) {
            Verdict::Accept => {
                for t in stated {
                    self.gossip_latency.observe(now as f64 / 1000.0 - t as f64);
                }
                MessageAcceptance::Accept
            }
            Verdict::Ignore => MessageAcceptance::Ignore,
            Verdict::Reject(r) => {
                self.penalize(from, r.name());
                MessageAcceptance::Reject
            }
        }
    }
}
