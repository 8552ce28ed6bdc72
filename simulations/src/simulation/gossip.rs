//! The gossipsub glue: a node's own gossip goes out here.

use std::rc::Rc;

use super::{Packet, Simulation, Topology};
use crate::gossip::message_id;

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
}
