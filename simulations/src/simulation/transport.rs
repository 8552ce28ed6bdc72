//! Sending packets over the virtual network, and handing what arrives to
//! the cores.

use std::rc::Rc;

use trustmesh_protocol::{
    ChangeHash, Destination, DocId, Event, Message, StatementId, Transmit, Verdict,
};

use super::{Ev, Packet, Role, Simulation, Topology};
use crate::byzantine;
use crate::net::Dropped;
use crate::scenario::Behaviour;

impl Simulation<'_> {
    pub(super) fn send(&mut self, from: usize, to: usize, packet: Packet) {
        if !self.nodes[from].up() || from == to {
            return;
        }
        self.check_packet(from, to, &packet);
        let len = packet.wire_len();
        self.nodes[from].bytes_out += len as u64;
        self.nodes[from].messages_out += 1;
        let now = self.now();
        let via = self.relay_of(from, to);
        match self.net.send(now, from, to, via, len, &mut self.net_rng) {
            Ok(at) => {
                let epoch = self.nodes[to].epoch;
                self.queue.schedule(
                    at,
                    Ev::Deliver {
                        from,
                        to,
                        epoch,
                        packet,
                    },
                );
            }
            Err(Dropped::Lost) => self.metrics.count("lost", 1),
            Err(Dropped::Partitioned) => self.metrics.count("partitioned", 1),
        }
    }

    /// Drains node `i`'s events and transmits, then reschedules its tick.
    /// Events go first: a membership change closes the connections to
    /// teams that are no longer members before anything else is sent (a
    /// revocation's own gossip must not reach the revoked key).
    pub(super) fn drain(&mut self, i: usize) {
        loop {
            let Some(core) = self.nodes[i].core.as_mut() else {
                return;
            };
            if let Some(e) = core.poll_event() {
                self.on_core_event(i, e);
                continue;
            }
            if let Some(t) = core.poll_transmit() {
                self.check_transmit(i, &t);
                self.route(i, t);
                continue;
            }
            break;
        }
        self.share_membership(i);
        self.schedule_tick(i);
    }

    /// Node `i` holds the copy of its membership other nodes hold, when
    /// theirs is the same (compared only when its own is new).
    fn share_membership(&mut self, i: usize) {
        /// Distinct memberships remembered: a few views coexist while a
        /// statement spreads.
        const KEPT: usize = 8;
        let Some(core) = self.nodes[i].core.as_mut() else {
            return;
        };
        let own = core.shared_membership();
        if self
            .memberships
            .iter()
            .any(|m| std::sync::Arc::ptr_eq(m, own))
        {
            return;
        }
        if self.memberships.iter().any(|m| core.share_membership(m)) {
            return;
        }
        self.memberships
            .push_back(std::sync::Arc::clone(core.shared_membership()));
        if self.memberships.len() > KEPT {
            self.memberships.pop_front();
        }
    }

    pub(super) fn on_core_event(&mut self, i: usize, e: Event) {
        if let Event::Disconnect(team) = e
            && let Some(&j) = self.by_team.get(&team)
            && self.nodes[i].links.contains(&j)
        {
            self.cut(i, j);
        }
    }

    pub(super) fn route(&mut self, i: usize, t: Transmit) {
        let payloads: Vec<Rc<[u8]>> = match self.nodes[i].role {
            Role::Honest => vec![Rc::from(t.message.encode())],
            Role::Byzantine(b) => {
                let (out, forged) =
                    byzantine::rewrite(b, self.nodes[i].key.id(), &t.message, &mut self.rng);
                self.forged.extend(forged);
                out.into_iter().map(Rc::from).collect()
            }
        };
        for bytes in payloads {
            if self.nodes[i].role == Role::Byzantine(Behaviour::Flood) {
                let recent = &mut self.nodes[i].recent;
                recent.push_back(bytes.clone());
                if recent.len() > 8 {
                    recent.pop_front();
                }
            }
            match t.to {
                Destination::Peer(p) => {
                    if let Some(&j) = self.by_team.get(&p)
                        && self.nodes[i].links.contains(&j)
                    {
                        self.send(i, j, Packet::Direct(bytes));
                    }
                }
                Destination::Gossip => self.publish_gossip(i, bytes),
            }
        }
    }

    pub(super) fn deliver(&mut self, from: usize, to: usize, packet: Packet) {
        match packet {
            Packet::Direct(bytes) => {
                if !self.admit(to, from) {
                    return;
                }
                let verdict = self.handle(from, to, &bytes, false);
                if self.topology == Topology::Hub
                    && to == 0
                    && verdict == Verdict::Accept
                    && !self.restricted_in(0, &bytes)
                {
                    // The hub relays everything new to everyone else, but
                    // for AMBER and RED documents, which reach their
                    // audience from the hub by anti-entropy.
                    let links: Vec<usize> = self.nodes[0].links.iter().copied().collect();
                    for p in links.into_iter().filter(|&p| p != from) {
                        self.send(0, p, Packet::Direct(bytes.clone()));
                    }
                }
            }
            Packet::Gossip(bytes) => self.on_gossip(from, to, bytes),
            Packet::IHave(ids) => self.on_ihave(from, to, &ids),
            Packet::IWant(ids) => self.on_iwant(from, to, ids),
            Packet::Graft => self.on_graft(from, to),
            Packet::Prune => self.nodes[to].gossip.on_prune(from),
            Packet::JoinRequest(bytes) => self.on_join_request(from, to, &bytes),
            Packet::JoinResponse(bytes) => self.on_join_response(from, to, &bytes),
            Packet::PeersRequest => self.on_peers_request(from, to),
            Packet::Peers(bytes) => self.on_peers(from, to, &bytes),
        }
    }

    /// Hands bytes `from` sent to `to`'s core, by gossip or point to point
    /// (the core decodes them and applies the channel's rule), records
    /// which tracked items they delivered, drains the core's output, and
    /// bans the sender on a rejection.
    pub(super) fn handle(&mut self, from: usize, to: usize, bytes: &[u8], gossip: bool) -> Verdict {
        let tracked = self.tracked_in(to, bytes);
        let now = self.now();
        let team = self.nodes[from].key.id();
        let Some(core) = self.nodes[to].core.as_mut() else {
            return Verdict::Ignore;
        };
        let verdict = if gossip {
            core.handle_gossip(now, team, bytes)
        } else {
            core.handle_direct(now, team, bytes)
        };
        for (key, doc) in tracked {
            let held = match doc {
                Some(d) => core
                    .documents()
                    .contains_change(&d, &ChangeHash::from_bytes(key)),
                None => core.statements().contains(&StatementId::from_bytes(key)),
            };
            if held {
                self.tracker.received(key, to, now);
            }
        }
        self.drain(to);
        if let Verdict::Reject(r) = &verdict {
            self.metrics.count(&format!("rejected_{}", r.name()), 1);
            self.ban(to, from, r.name());
        }
        verdict
    }

    /// Whether `bytes` carry a change of a document node `i` knows to be
    /// restricted to an audience.
    fn restricted_in(&self, i: usize, bytes: &[u8]) -> bool {
        let Some(core) = self.nodes[i].core.as_ref() else {
            return true;
        };
        match Message::decode(bytes) {
            Ok(Message::Changes(list)) => list
                .iter()
                .any(|c| core.documents().restricted_to(&c.doc()).is_some()),
            _ => false,
        }
    }

    /// The tracked items `bytes` carry that `to` still lacks: statement ids
    /// (no document) and change hashes with their document. The simulator
    /// reads the message for its own bookkeeping only; the core decodes it
    /// again and decides.
    fn tracked_in(&self, to: usize, bytes: &[u8]) -> Vec<([u8; 32], Option<DocId>)> {
        match Message::decode(bytes) {
            Ok(Message::Changes(list)) => list
                .iter()
                .map(|c| (*c.hash().as_bytes(), Some(c.doc())))
                .filter(|(k, _)| self.tracker.pending(k, to))
                .collect(),
            Ok(Message::Statements(list)) => list
                .iter()
                .map(|s| (*s.id().as_bytes(), None))
                .filter(|(k, _)| self.tracker.pending(k, to))
                .collect(),
            _ => vec![],
        }
    }
}
