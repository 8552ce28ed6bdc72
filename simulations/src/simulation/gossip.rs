//! The gossipsub glue between the model ([`crate::gossip`]) and the cores:
//! a node's own gossip goes out here, and what arrives is validated by the
//! core ([`trustmesh_protocol::Node::handle_gossip`]) before it is
//! forwarded.

use std::rc::Rc;

use trustmesh_protocol::Verdict;

use super::{Packet, Simulation, Topology};
use crate::gossip::{MsgId, message_id};

impl Simulation<'_> {
    /// A node's own gossip: flood-published in the mesh; sent to the hub
    /// (or by the hub to everyone) in the star.
    pub(super) fn publish_gossip(&mut self, i: usize, bytes: Rc<[u8]>) {
        let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
        match self.topology {
            Topology::Mesh => {
                let id = message_id(&bytes);
                let now = self.now();
                self.nodes[i].gossip.first_seen(now, id);
                self.nodes[i].gossip.remember(id, bytes.clone());
                for p in links {
                    self.send(i, p, Packet::Gossip(bytes.clone()));
                }
            }
            Topology::Hub => {
                for p in links {
                    self.send(i, p, Packet::Direct(bytes.clone()));
                }
            }
        }
    }

    /// A gossip data message: dropped when seen before, rate-limited by the
    /// guard, validated by the core, forwarded to the mesh only when the
    /// core accepted it.
    pub(super) fn on_gossip(&mut self, from: usize, to: usize, bytes: Rc<[u8]>) {
        let id = message_id(&bytes);
        let now = self.now();
        if !self.nodes[to].gossip.first_seen(now, id) {
            self.metrics.count("gossip_duplicates", 1);
            return;
        }
        if !self.admit(to, from) {
            return;
        }
        if self.handle(from, to, &bytes, true) == Verdict::Accept {
            self.nodes[to].gossip.remember(id, bytes.clone());
            let mesh: Vec<usize> = self.nodes[to].gossip.mesh().iter().copied().collect();
            for p in mesh.into_iter().filter(|&p| p != from) {
                self.send(to, p, Packet::Gossip(bytes.clone()));
            }
        }
    }

    pub(super) fn on_ihave(&mut self, from: usize, to: usize, ids: &[MsgId]) {
        let want = self.nodes[to].gossip.wanted(ids);
        if !want.is_empty() {
            self.send(to, from, Packet::IWant(want));
        }
    }

    pub(super) fn on_iwant(&mut self, from: usize, to: usize, ids: Vec<MsgId>) {
        for id in ids {
            if let Some(bytes) = self.nodes[to].gossip.cached(&id) {
                self.send(to, from, Packet::Gossip(bytes));
            }
        }
    }

    pub(super) fn on_graft(&mut self, from: usize, to: usize) {
        let config = self.gossip_config.clone();
        if !self.nodes[to].gossip.on_graft(from, &config) {
            self.send(to, from, Packet::Prune);
        }
    }

    /// Mesh maintenance and IHAVE.
    pub(super) fn gossip_heartbeat(&mut self, i: usize) {
        let now = self.now();
        let links = self.nodes[i].links.clone();
        let config = self.gossip_config.clone();
        let hb = self.nodes[i]
            .gossip
            .heartbeat(now, &links, &config, &mut self.rng);
        for p in hb.graft {
            self.send(i, p, Packet::Graft);
        }
        for p in hb.prune {
            self.send(i, p, Packet::Prune);
        }
        for (p, ids) in hb.ihave {
            self.send(i, p, Packet::IHave(Rc::from(ids)));
        }
    }
}
