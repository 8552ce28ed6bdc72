//! Connections: the initial links, the admission gate on connecting, bans,
//! and the once-a-second housekeeping (redials, gossip heartbeat, floods).

use std::rc::Rc;

use super::{BAN_MS, Packet, REDIAL_MS, Role, Simulation, Topology};
use crate::byzantine;
use crate::scenario::Behaviour;

impl Simulation<'_> {
    pub(super) fn initial_links(&mut self) {
        let n = self.nodes.len();
        match self.topology {
            Topology::Hub => {
                for i in 1..n {
                    self.connect(0, i);
                }
            }
            Topology::Mesh => {
                let want = self.scenario.connections.min(n.saturating_sub(1));
                for i in 0..n {
                    let mut tries = 0;
                    while self.nodes[i].links.len() < want && tries < 4 * want {
                        tries += 1;
                        let j = self.rng.below(n as u64) as usize;
                        self.connect(i, j);
                    }
                }
            }
        }
    }

    pub(super) fn max_links(&self) -> usize {
        match self.topology {
            Topology::Mesh => 2 * self.scenario.connections.max(1),
            Topology::Hub => usize::MAX,
        }
    }

    /// Opens a connection if both ends are up, reachable, not banning each
    /// other, and each sees the other as a member (the admission gate).
    pub(super) fn connect(&mut self, a: usize, b: usize) -> bool {
        if a == b || self.nodes[a].links.contains(&b) {
            return false;
        }
        if self.topology == Topology::Hub && a != 0 && b != 0 {
            return false;
        }
        let now = self.now();
        let ok = |x: usize, y: usize, sim: &Self| {
            let node = &sim.nodes[x];
            node.core
                .as_ref()
                .is_some_and(|c| c.membership().is_member(&sim.nodes[y].key.id()))
                && node.banned.get(&y).is_none_or(|&until| until <= now)
                && node.links.len() < sim.max_links()
        };
        if !ok(a, b, self) || !ok(b, a, self) || !self.net.reachable(a, b) {
            return false;
        }
        self.nodes[a].links.insert(b);
        self.nodes[b].links.insert(a);
        let (ta, tb) = (self.nodes[a].key.id(), self.nodes[b].key.id());
        if let Some(c) = self.nodes[a].core.as_mut() {
            c.peer_connected(now, tb);
        }
        if let Some(c) = self.nodes[b].core.as_mut() {
            c.peer_connected(now, ta);
        }
        self.drain(a);
        self.drain(b);
        true
    }

    pub(super) fn cut(&mut self, a: usize, b: usize) {
        for (x, y) in [(a, b), (b, a)] {
            let team = self.nodes[y].key.id();
            let node = &mut self.nodes[x];
            node.links.remove(&y);
            node.gossip.link_down(y);
            if let Some(c) = node.core.as_mut() {
                c.peer_disconnected(&team);
            }
        }
    }

    pub(super) fn ban(&mut self, at: usize, offender: usize, reason: &str) {
        self.metrics.count(&format!("banned_{reason}"), 1);
        let until = self.now() + BAN_MS;
        self.nodes[at].banned.insert(offender, until);
        self.cut(at, offender);
    }

    pub(super) fn heartbeat(&mut self, i: usize) {
        let now = self.now();
        self.nodes[i].banned.retain(|_, until| *until > now);
        // Keep enough connections (the node redials members from its peer
        // book; here: random members it knows of).
        let want = match self.topology {
            Topology::Mesh => self.scenario.connections,
            Topology::Hub => 1,
        };
        // Below the target it dials at every heartbeat; at the target it
        // still dials one random member every `REDIAL_MS` (as discovery
        // keeps finding peers), so a healed partition reconnects even when
        // every node filled its links on its own side.
        let below = self.nodes[i].links.len() < want;
        let explore = self.rng.below(REDIAL_MS / self.gossip_config.heartbeat_ms) == 0;
        if (below || explore) && self.nodes[i].member_since.is_some() {
            let target = match self.topology {
                Topology::Hub => (i != 0).then_some(0),
                Topology::Mesh => self.nodes[i].core.as_ref().and_then(|c| {
                    let members = c.membership().members();
                    let pick = self.rng.below(members.len() as u64) as usize;
                    members
                        .iter()
                        .nth(pick)
                        .and_then(|t| self.by_team.get(t).copied())
                }),
            };
            if let Some(j) = target {
                self.connect(i, j);
            }
        }
        if self.topology == Topology::Mesh {
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
        if self.nodes[i].role == Role::Byzantine(Behaviour::Flood) {
            let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
            let recent: Vec<Rc<[u8]>> = self.nodes[i].recent.iter().cloned().collect();
            for p in links {
                for bytes in &recent {
                    for _ in 0..4 {
                        self.send(i, p, Packet::Direct(bytes.clone()));
                    }
                }
                let junk = byzantine::junk(&mut self.rng);
                self.send(i, p, Packet::Gossip(Rc::from(junk)));
            }
        }
    }
}
