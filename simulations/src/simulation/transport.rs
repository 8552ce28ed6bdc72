//! Sending packets over the virtual network, and handing what arrives to
//! the cores.

use std::rc::Rc;

use trustmesh_protocol::{
    ChangeHash, Destination, DocId, Event, JoinRequest, JoinResponse, Message, StatementId,
    Transmit, Verdict,
};

use super::{Ev, Packet, Role, Simulation, Topology};
use crate::byzantine;
use crate::gossip::message_id;
use crate::net::Dropped;
use crate::scenario::Behaviour;

impl Simulation<'_> {
    pub(super) fn send(&mut self, from: usize, to: usize, packet: Packet) {
        if !self.nodes[from].up() || from == to {
            return;
        }
        let len = packet.wire_len();
        self.nodes[from].bytes_out += len as u64;
        self.nodes[from].messages_out += 1;
        let now = self.now();
        match self.net.send(now, from, to, len, &mut self.net_rng) {
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

    /// Drains node `i`'s transmits and events, then reschedules its tick.
    pub(super) fn drain(&mut self, i: usize) {
        loop {
            let Some(core) = self.nodes[i].core.as_mut() else {
                return;
            };
            if let Some(t) = core.poll_transmit() {
                self.route(i, t);
                continue;
            }
            if let Some(e) = core.poll_event() {
                self.on_core_event(i, e);
                continue;
            }
            break;
        }
        self.schedule_tick(i);
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
                let Some(message) = self.decode(from, to, &bytes) else {
                    return;
                };
                let verdict = self.handle(from, to, message);
                if self.topology == Topology::Hub && to == 0 && verdict == Verdict::Accept {
                    // The hub relays everything new to everyone else.
                    let links: Vec<usize> = self.nodes[0].links.iter().copied().collect();
                    for p in links.into_iter().filter(|&p| p != from) {
                        self.send(0, p, Packet::Direct(bytes.clone()));
                    }
                }
            }
            Packet::Gossip(bytes) => {
                let id = message_id(&bytes);
                let now = self.now();
                if !self.nodes[to].gossip.first_seen(now, id) {
                    self.metrics.count("gossip_duplicates", 1);
                    return;
                }
                let Some(message) = self.decode(from, to, &bytes) else {
                    return;
                };
                if !matches!(message, Message::Statements(_) | Message::Changes(_)) {
                    self.ban(to, from, "gossip_kind");
                    return;
                }
                if self.handle(from, to, message) == Verdict::Accept {
                    self.nodes[to].gossip.remember(id, bytes.clone());
                    let mesh: Vec<usize> = self.nodes[to].gossip.mesh().iter().copied().collect();
                    for p in mesh.into_iter().filter(|&p| p != from) {
                        self.send(to, p, Packet::Gossip(bytes.clone()));
                    }
                }
            }
            Packet::IHave(ids) => {
                let want = self.nodes[to].gossip.wanted(&ids);
                if !want.is_empty() {
                    self.send(to, from, Packet::IWant(want));
                }
            }
            Packet::IWant(ids) => {
                for id in ids {
                    if let Some(bytes) = self.nodes[to].gossip.cached(&id) {
                        self.send(to, from, Packet::Gossip(bytes));
                    }
                }
            }
            Packet::Graft => {
                let config = self.gossip_config.clone();
                if !self.nodes[to].gossip.on_graft(from, &config) {
                    self.send(to, from, Packet::Prune);
                }
            }
            Packet::Prune => self.nodes[to].gossip.on_prune(from),
            Packet::JoinRequest(bytes) => {
                let Ok(request) = JoinRequest::decode(&bytes) else {
                    self.metrics.count("join_malformed", 1);
                    return;
                };
                let now = self.now();
                let team = self.nodes[from].key.id();
                let ids: Vec<_> = self.nodes[from]
                    .join
                    .iter()
                    .flatten()
                    .map(|s| s.id())
                    .collect();
                let Some(core) = self.nodes[to].core.as_mut() else {
                    return;
                };
                let response = core.handle_join_request(now, team, request);
                let tracked: Vec<[u8; 32]> = ids
                    .iter()
                    .filter(|id| core.statements().contains(id))
                    .map(|id| *id.as_bytes())
                    .collect();
                for key in tracked {
                    self.tracker.received(key, to, now);
                }
                self.drain(to);
                self.send(to, from, Packet::JoinResponse(Rc::from(response.encode())));
            }
            Packet::JoinResponse(bytes) => {
                let Ok(response) = JoinResponse::decode(&bytes) else {
                    self.metrics.count("join_malformed", 1);
                    return;
                };
                let now = self.now();
                let team = self.nodes[from].key.id();
                let Some(core) = self.nodes[to].core.as_mut() else {
                    return;
                };
                core.handle_join_response(now, team, response);
                let held: Vec<[u8; 32]> = self
                    .tracker
                    .pending_for(to)
                    .into_iter()
                    .filter(|k| core.statements().contains(&StatementId::from_bytes(*k)))
                    .collect();
                for key in held {
                    self.tracker.received(key, to, now);
                }
                if core.is_member() && self.nodes[to].member_since.is_none() {
                    self.nodes[to].member_since = Some(now);
                    self.metrics.count("joins_admitted", 1);
                    self.connect(to, from);
                }
                self.drain(to);
            }
        }
    }

    pub(super) fn decode(&mut self, from: usize, to: usize, bytes: &[u8]) -> Option<Message> {
        match Message::decode(bytes) {
            Ok(m) => Some(m),
            Err(_) => {
                self.metrics.count("rejected_malformed", 1);
                self.ban(to, from, "malformed");
                None
            }
        }
    }

    /// Hands a message to the core, records which tracked items it
    /// delivered, drains the core's output, and bans on a rejection.
    pub(super) fn handle(&mut self, from: usize, to: usize, message: Message) -> Verdict {
        let keys: Vec<[u8; 32]> = match &message {
            Message::Changes(list) => list
                .iter()
                .map(|c| *c.hash().as_bytes())
                .filter(|k| self.tracker.pending(k, to))
                .collect(),
            Message::Statements(list) => list
                .iter()
                .map(|s| *s.id().as_bytes())
                .filter(|k| self.tracker.pending(k, to))
                .collect(),
            _ => vec![],
        };
        let docs: Vec<(DocId, ChangeHash)> = match &message {
            Message::Changes(list) => list.iter().map(|c| (c.doc(), c.hash())).collect(),
            _ => vec![],
        };
        let now = self.now();
        let team = self.nodes[from].key.id();
        let Some(core) = self.nodes[to].core.as_mut() else {
            return Verdict::Ignore;
        };
        let verdict = core.handle_message(now, team, message);
        for key in keys {
            let held = core.statements().contains(&StatementId::from_bytes(key))
                || docs
                    .iter()
                    .any(|(d, h)| h.as_bytes() == &key && core.documents().change(d, h).is_some());
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
}
