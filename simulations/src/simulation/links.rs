//! Connections, modelled as the node's engine makes them: the admission
//! gate on connecting, dials planned by the core's peer book
//! ([`trustmesh_protocol::PeerBook`]) from the addresses members exchange,
//! bans and rate limits by the core's [`trustmesh_protocol::Guard`], and the
//! once-a-second housekeeping.

use std::rc::Rc;

use trustmesh_protocol::{PeerRecord, TeamId, decode_records, encode_records};

use super::{Packet, Role, Simulation, Topology, address, node_at};
use crate::byzantine;
use crate::scenario::Behaviour;

/// Most audience members dialed per heartbeat beside the target.
const WANTED_DIALS: usize = 2;

/// How long a connection whose path is cut stays open: the engine's ping
/// runs every 4 s with a 6 s timeout and reports a failure after two in a
/// row (node/src/net.rs), so about 2 x (4 + 6) s.
const DEAD_AFTER_MS: u64 = 20_000;

impl Simulation<'_> {
    /// Every node starts with a few random members as its bootstrap
    /// addresses (in the hub baseline: the hub) and dials them; the rest of
    /// the mesh it learns by peer exchange.
    pub(super) fn initial_links(&mut self) {
        let n = self.nodes.len();
        match self.topology {
            Topology::Hub => {
                for i in 1..n {
                    self.nodes[i].bootstrap = vec![0];
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
                        if j != i && !self.nodes[i].bootstrap.contains(&j) {
                            self.nodes[i].bootstrap.push(j);
                        }
                        self.dial(i, j);
                    }
                }
            }
        }
    }

    /// The transport's connection limit (the node's `max_connections`,
    /// 256 by default, is far above its target of 8): four times the
    /// target, so that inbound connections never fill a node up and shut
    /// newcomers out.
    pub(super) fn max_links(&self) -> usize {
        match self.topology {
            Topology::Mesh => 4 * self.scenario.connections.max(1),
            Topology::Hub => usize::MAX,
        }
    }

    /// Node `i` dials node `j`: a connection if the gate lets it through,
    /// otherwise a failed dial in `i`'s book (which backs off).
    pub(super) fn dial(&mut self, i: usize, j: usize) -> bool {
        if i == j || self.nodes[i].links.contains(&j) {
            return false;
        }
        if self.connect(i, j) {
            return true;
        }
        let now = self.now();
        let team = self.nodes[j].key.id();
        self.nodes[i].book.dial_failed(now, &team);
        false
    }

    /// Opens a connection if both ends are up, reachable, not banning each
    /// other, and each sees the other as a member (the admission gate).
    /// Both books learn the path (the dialed address, and the dialer's
    /// listen address by identify), and in the mesh both ends ask the other
    /// for its peer records at once, as the engine does.
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
            let other = sim.nodes[y].key.id();
            node.core
                .as_ref()
                .is_some_and(|c| c.membership().is_member(&other))
                && !node.guard.is_banned(now, &other)
                && node.links.len() < sim.max_links()
        };
        if !ok(a, b, self) || !ok(b, a, self) {
            return false;
        }
        // A node that refuses inbound connections is reached through a
        // circuit relay: a member it is connected to that accepts inbound
        // ones and that the dialer can reach.
        let relay = if self.nodes[b].refuses_inbound {
            let found = self.nodes[b].links.iter().copied().find(|&r| {
                r != a
                    && !self.nodes[r].refuses_inbound
                    && self.nodes[r].up()
                    && self.net.reachable(a, r)
                    && self.net.reachable(r, b)
            });
            match found {
                Some(r) => Some(r),
                None => return false,
            }
        } else {
            None
        };
        if relay.is_none() && !self.net.reachable(a, b) {
            return false;
        }
        if let Some(r) = relay {
            self.relayed.insert((a.min(b), a.max(b)), r);
            self.metrics.count("relayed_connections", 1);
        }
        self.nodes[a].links.insert(b);
        self.nodes[b].links.insert(a);
        for (x, y) in [(a, b), (b, a)] {
            let other = self.nodes[y].key.id();
            let node = &mut self.nodes[x];
            let me = node.key.id();
            if let Some(c) = node.core.as_mut() {
                c.peer_connected(now, other);
                node.book.connected(&other);
                node.book.observed(c.membership(), &me, other, address(y));
            }
        }
        self.drain(a);
        self.drain(b);
        if self.topology == Topology::Mesh {
            self.send(a, b, Packet::PeersRequest);
            self.send(b, a, Packet::PeersRequest);
        }
        true
    }

    pub(super) fn cut(&mut self, a: usize, b: usize) {
        self.relayed.remove(&(a.min(b), a.max(b)));
        for (x, y) in [(a, b), (b, a)] {
            self.nodes[x].stalled.remove(&y);
            let team = self.nodes[y].key.id();
            let node = &mut self.nodes[x];
            node.links.remove(&y);
            node.gossip.link_down(y);
            node.guard.forget(&team);
            if let Some(c) = node.core.as_mut() {
                c.peer_disconnected(&team);
            }
        }
    }

    /// Node `at` penalizes `offender` for invalid data: banned by its guard
    /// and disconnected.
    pub(super) fn ban(&mut self, at: usize, offender: usize, reason: &'static str) {
        self.metrics.count(&format!("banned_{reason}"), 1);
        let now = self.now();
        let team = self.nodes[offender].key.id();
        self.nodes[at].guard.penalize(now, team, reason);
        self.cut(at, offender);
    }

    /// Takes a token from `from`'s bucket at `to`; false (counted) when
    /// the rate is exceeded and the packet is not served.
    pub(super) fn admit(&mut self, to: usize, from: usize) -> bool {
        let now = self.now();
        let team = self.nodes[from].key.id();
        if self.nodes[to].guard.admit(now, &team) {
            true
        } else {
            self.metrics.count("rate_limited", 1);
            false
        }
    }

    /// A peer-exchange request: the member's records, as the book offers
    /// them.
    pub(super) fn on_peers_request(&mut self, from: usize, to: usize) {
        if !self.admit(to, from) {
            return;
        }
        let team = self.nodes[from].key.id();
        let node = &self.nodes[to];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        let offer: Vec<PeerRecord> = node.book.offer(core.membership(), &team);
        self.send(to, from, Packet::Peers(Rc::from(encode_records(&offer))));
    }

    /// A peer-exchange answer: what the book believes of it.
    pub(super) fn on_peers(&mut self, from: usize, to: usize, bytes: &[u8]) {
        let records = match decode_records(bytes) {
            Ok(r) => r,
            Err(_) => {
                self.metrics.count("peers_malformed", 1);
                return;
            }
        };
        let team = self.nodes[from].key.id();
        let node = &mut self.nodes[to];
        let me = node.key.id();
        let Some(core) = node.core.as_ref() else {
            return;
        };
        let learned = node.book.learn(core.membership(), &me, &team, records);
        self.metrics.count("peer_addresses_learned", learned as u64);
    }

    /// Once a second, as the engine's housekeeping: lift bans that are
    /// over, keep enough members connected through the book (the hub
    /// baseline: stay connected to the hub), exchange records now and then,
    /// save the book; then the gossip heartbeat and a flooder's extra
    /// traffic.
    pub(super) fn heartbeat(&mut self, i: usize) {
        self.detect_failures(i);
        let now = self.now();
        let node = &mut self.nodes[i];
        if let Some(c) = node.core.as_ref() {
            // The simulator blocks nothing outside the guard, so there is
            // nothing to unblock; the guard forgets the bans that are over.
            let _ = node.guard.expire(now, c.membership());
        }
        if self.nodes[i].member_since.is_some() {
            match self.topology {
                Topology::Hub => {
                    if i != 0 && !self.nodes[i].links.contains(&0) {
                        self.connect(i, 0);
                    }
                }
                Topology::Mesh => self.keep_connected(i),
            }
        }
        if self.topology == Topology::Mesh {
            self.gossip_heartbeat(i);
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

    /// The relay of the connection between `a` and `b`, if it is relayed.
    pub(super) fn relay_of(&self, a: usize, b: usize) -> Option<usize> {
        self.relayed.get(&(a.min(b), a.max(b))).copied()
    }

    /// Whether the path of the connection between `a` and `b` carries
    /// packets now: both hops of a relayed one, with the relay still up and
    /// connected to both (a relay closes its circuits when it goes).
    fn path_up(&self, a: usize, b: usize) -> bool {
        match self.relay_of(a, b) {
            Some(r) => {
                self.nodes[r].up()
                    && self.nodes[r].links.contains(&a)
                    && self.nodes[r].links.contains(&b)
                    && self.net.reachable(a, r)
                    && self.net.reachable(r, b)
            }
            None => self.net.reachable(a, b),
        }
    }

    /// The engine's failure detection: a connection whose path is cut
    /// stays open (nothing tells either end) until pings have failed twice
    /// in a row, [`DEAD_AFTER_MS`] at the most; then it is closed and the
    /// book redials with its backoff. A relayed connection whose relay
    /// went away closes at once, as the relay ends the circuit.
    fn detect_failures(&mut self, i: usize) {
        let now = self.now();
        let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
        for j in links {
            if self.path_up(i, j) {
                self.nodes[i].stalled.remove(&j);
                continue;
            }
            let relay_gone = self.relay_of(i, j).is_some_and(|r| {
                !self.nodes[r].up()
                    || !self.nodes[r].links.contains(&i)
                    || !self.nodes[r].links.contains(&j)
            });
            let since = *self.nodes[i].stalled.entry(j).or_insert(now);
            if relay_gone || now.saturating_sub(since) >= DEAD_AFTER_MS {
                self.metrics.count("dead_connections_closed", 1);
                self.cut(i, j);
            }
        }
    }

    /// Dials what the book plans (the target, and the audience members of
    /// restricted documents not yet connected), exchanges records when due,
    /// saves the book when it changed.
    fn keep_connected(&mut self, i: usize) {
        let now = self.now();
        let by_team = &self.by_team;
        let node = &mut self.nodes[i];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        let me = node.key.id();
        let links = &node.links;
        let guard = &node.guard;
        let linked = |t: &TeamId| {
            by_team.get(t).is_some_and(|j| links.contains(j)) || guard.is_banned(now, t)
        };
        let mut plan = node.book.dial_plan(
            now,
            core.membership(),
            &me,
            links.len(),
            !links.is_empty(),
            linked,
        );
        // Beside the target: the audiences of the restricted documents it
        // holds, which it can reach only directly.
        let wanted = core.audience_peers();
        plan.peers.extend(node.book.dial_wanted(
            now,
            core.membership(),
            &me,
            &wanted,
            WANTED_DIALS,
            linked,
        ));
        let exchange = node.book.exchange_due(now);
        if node.book.is_dirty() {
            node.saved_book = node.book.to_save();
            node.book.saved();
        }
        for (team, addrs) in plan.peers {
            let target = addrs
                .iter()
                .filter_map(node_at)
                .find(|&j| j < self.nodes.len() && self.nodes[j].key.id() == team);
            match target {
                Some(j) => {
                    self.dial(i, j);
                }
                None => self.nodes[i].book.dial_failed(now, &team),
            }
        }
        if plan.bootstrap {
            self.metrics.count("bootstrap_redials", 1);
            for b in self.nodes[i].bootstrap.clone() {
                self.dial(i, b);
            }
        }
        if exchange {
            let links: Vec<usize> = self.nodes[i].links.iter().copied().collect();
            for p in links {
                self.send(i, p, Packet::PeersRequest);
            }
        }
    }
}
