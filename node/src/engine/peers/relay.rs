//! Paths through relays (DESIGN.md section 5, "Discovery and
//! reachability"): whether this node is reachable, the reservations it
//! keeps on members' relays while it is not, what its own relay carries,
//! and direct connections replacing circuits.
//!
//! A node is reachable as `[relay] reachable` says, else not when it
//! listens on no address, else as AutoNAT (members probing it by dialing
//! back) finds. While it is not, it asks up to `[relay] reservations`
//! connected members whose identify lists the relay hop protocol (members
//! hosting a relay advertise it to members only, through the gate) for a
//! reservation, by listening on `<relay>/p2p/<relay>/p2p-circuit`. The
//! reservation's address is pushed by identify and offered in the peer
//! exchange, so members dial it through the relay. Once a member is
//! reached directly as well (DCUtR, or a path that reappeared), its
//! circuits are closed: they cost the relay.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::ListenerId;
use libp2p::{Multiaddr, PeerId, autonat, dcutr, identify, relay};
use tracing::{debug, info, warn};
use trustmesh_protocol::TeamId;

use crate::engine::Engine;
use crate::engine::liveness::Nat;
use crate::net::{Path, is_relayed, team_of};

/// How long a relay that refused or lost a reservation is left alone.
const REST: Duration = Duration::from_secs(30);

/// The reservation state, and what AutoNAT and this node's relay report.
#[derive(Debug, Default)]
pub(in crate::engine) struct Relays {
    /// Reservations asked for or held, by relay.
    held: BTreeMap<PeerId, Held>,
    /// Connected members that host a relay for this node.
    hosts: BTreeSet<PeerId>,
    /// Relays not asked again before the instant.
    resting: HashMap<PeerId, Instant>,
    /// AutoNAT's verdict.
    autonat: Nat,
    /// Circuits this node's relay carries now.
    circuits: usize,
    /// Whether this node's relay serves (its hop protocol is advertised).
    serving: bool,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    listener: ListenerId,
    accepted: bool,
}

/// Where a verdict on reachability came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::engine) enum NatFrom {
    /// `[relay] reachable` in config.toml.
    Config,
    /// The node listens on no address.
    NoListenAddress,
    /// AutoNAT's probes.
    Autonat,
}

impl NatFrom {
    pub(in crate::engine) fn name(self) -> &'static str {
        match self {
            NatFrom::Config => "config",
            NatFrom::NoListenAddress => "no listen address",
            NatFrom::Autonat => "autonat",
        }
    }
}

/// The address to listen on for a reservation on `relay`, reached at
/// `addr` (a direct address, with or without its `/p2p` part).
pub(in crate::engine) fn circuit_listen_addr(addr: &Multiaddr, relay: PeerId) -> Multiaddr {
    let mut base: Multiaddr = addr
        .iter()
        .take_while(|p| !matches!(p, Protocol::P2p(_) | Protocol::P2pCircuit))
        .collect();
    base.push(Protocol::P2p(relay));
    base.push(Protocol::P2pCircuit);
    base
}

impl Relays {
    /// The relays holding an accepted reservation for this node.
    pub(in crate::engine) fn accepted(&self) -> impl Iterator<Item = &PeerId> {
        self.held.iter().filter(|(_, h)| h.accepted).map(|(p, _)| p)
    }

    /// Circuits this node's relay carries now.
    pub(in crate::engine) fn circuits(&self) -> usize {
        self.circuits
    }
}

impl Engine {
    /// Whether members can dial this node, and on whose word.
    pub(in crate::engine) fn nat(&self) -> (Nat, NatFrom) {
        match self.settings.relay.reachable {
            Some(true) => (Nat::Public, NatFrom::Config),
            Some(false) => (Nat::Private, NatFrom::Config),
            None if self.settings.listen.is_empty() => (Nat::Private, NatFrom::NoListenAddress),
            None => (self.relays.autonat, NatFrom::Autonat),
        }
    }

    /// A listen address came up. A node configured reachable is reachable
    /// at its (direct) listen addresses: they become external addresses,
    /// so its relay serves and identify names them.
    pub(in crate::engine) fn relay_listening(&mut self, addr: &Multiaddr) {
        let unspecified = addr.iter().any(|p| match p {
            Protocol::Ip4(ip) => ip.is_unspecified(),
            Protocol::Ip6(ip) => ip.is_unspecified(),
            _ => false,
        });
        if self.settings.relay.reachable == Some(true) && !is_relayed(addr) && !unspecified {
            self.swarm.add_external_address(addr.clone());
        }
    }

    /// identify told what `peer` speaks: whether it hosts a relay for us.
    pub(in crate::engine) fn relay_identified(&mut self, peer: &PeerId, info: &identify::Info) {
        let member = team_of(peer).is_some_and(|t| self.node.membership().is_member(&t));
        if member && info.protocols.contains(&relay::HOP_PROTOCOL_NAME) {
            if self.relays.hosts.insert(*peer) {
                debug!(%peer, "the member hosts a relay");
            }
        } else {
            self.relays.hosts.remove(peer);
        }
    }

    /// Every connection to `peer` closed.
    pub(in crate::engine) fn relay_disconnected(&mut self, peer: &PeerId) {
        self.relays.hosts.remove(peer);
        if let Some(h) = self.relays.held.remove(peer) {
            info!(relay = %peer, "the relay is gone: its reservation with it");
            self.swarm.remove_listener(h.listener);
            self.relays.resting.insert(*peer, Instant::now() + REST);
        }
    }

    /// A listener closed: if it was a reservation, the relay refused it or
    /// dropped it; another relay is asked at the next tick.
    pub(in crate::engine) fn relay_listener_closed(&mut self, id: ListenerId, reason: &str) {
        let Some(peer) = self
            .relays
            .held
            .iter()
            .find(|(_, h)| h.listener == id)
            .map(|(p, _)| *p)
        else {
            return;
        };
        self.relays.held.remove(&peer);
        self.relays.resting.insert(peer, Instant::now() + REST);
        self.stats.reservations_lost += 1;
        warn!(relay = %peer, reason, "reservation closed");
    }

    /// Once a second: while this node is not reachable, keeps
    /// `[relay] reservations` reservations on members' relays; once it is,
    /// gives them up. Closes circuits to members also reached directly.
    pub(in crate::engine) fn keep_relays(&mut self) {
        let now = Instant::now();
        self.relays.resting.retain(|_, until| *until > now);
        let (nat, _) = self.nat();
        if nat == Nat::Public {
            for (peer, h) in std::mem::take(&mut self.relays.held) {
                info!(relay = %peer, "reachable: giving up the reservation");
                self.swarm.remove_listener(h.listener);
            }
        } else {
            self.reserve();
        }
        self.close_redundant_circuits();
    }

    fn reserve(&mut self) {
        let want = self.settings.relay.reservations;
        let candidates: Vec<PeerId> = self
            .relays
            .hosts
            .iter()
            .filter(|p| !self.relays.held.contains_key(p) && !self.relays.resting.contains_key(p))
            .copied()
            .collect();
        for relay in candidates {
            if self.relays.held.len() >= want {
                return;
            }
            // A relay is reached at the address this node dialed it at;
            // never through another relay.
            let Some(addr) = self
                .conns
                .get(&relay)
                .and_then(|c| c.dialed.clone())
                .filter(|a| !is_relayed(a))
                .or_else(|| {
                    self.book
                        .addresses(&relay)
                        .into_iter()
                        .find(|a| !is_relayed(a))
                })
            else {
                continue;
            };
            let listen = circuit_listen_addr(&addr, relay);
            match self.swarm.listen_on(listen.clone()) {
                Ok(listener) => {
                    info!(%relay, addr = %listen, "asking for a reservation");
                    self.relays.held.insert(
                        relay,
                        Held {
                            listener,
                            accepted: false,
                        },
                    );
                }
                Err(e) => {
                    warn!(%relay, addr = %listen, error = %e, "cannot listen through the relay");
                    self.relays.resting.insert(relay, Instant::now() + REST);
                }
            }
        }
    }

    /// A member reached directly needs no circuit: each costs its relay.
    fn close_redundant_circuits(&mut self) {
        let sync = &self.swarm.behaviour().sync;
        let redundant: Vec<_> = self
            .conns
            .keys()
            .filter(|p| sync.path(p) == Some(Path::Direct))
            .flat_map(|p| sync.relayed(p))
            .collect();
        for id in redundant {
            if self.swarm.close_connection(id) {
                self.stats.circuits_replaced += 1;
                debug!(connection = ?id, "closing a circuit: the member is reached directly");
            }
        }
    }

    /// What this node's relay did for members.
    pub(in crate::engine) fn on_relay_server(&mut self, event: relay::Event) {
        match event {
            relay::Event::ReservationReqAccepted {
                src_peer_id,
                renewed: false,
            } => {
                self.stats.relay_reservations_accepted += 1;
                info!(peer = %src_peer_id, "relaying for a member: reservation accepted");
            }
            relay::Event::ReservationReqAccepted { renewed: true, .. } => {}
            relay::Event::ReservationReqDenied {
                src_peer_id,
                status,
            } => {
                self.stats.relay_reservations_denied += 1;
                warn!(peer = %src_peer_id, ?status, "reservation denied");
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                self.stats.relay_circuits_accepted += 1;
                self.relays.circuits += 1;
                info!(src = %src_peer_id, dst = %dst_peer_id, "relaying a circuit between members");
            }
            relay::Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                status,
            } => {
                self.stats.relay_circuits_denied += 1;
                warn!(src = %src_peer_id, dst = %dst_peer_id, ?status, "circuit denied");
            }
            relay::Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                self.relays.circuits = self.relays.circuits.saturating_sub(1);
                self.stats.relay_circuits_closed += 1;
                debug!(src = %src_peer_id, dst = %dst_peer_id, error = ?error, "circuit closed");
            }
            relay::Event::StatusChanged { status } => {
                self.relays.serving = status == relay::Status::Enable;
                info!(serving = self.relays.serving, "relay for members");
            }
            _ => {}
        }
    }

    /// What happened to this node's reservations and circuits.
    pub(in crate::engine) fn on_relay_client(&mut self, event: relay::client::Event) {
        match event {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if let Some(h) = self.relays.held.get_mut(&relay_peer_id) {
                    h.accepted = true;
                }
                if !renewal {
                    self.stats.reservations_accepted += 1;
                    info!(relay = %relay_peer_id, "reachable through the relay");
                    // Tell connected peers the new address now, and ask
                    // members for theirs: a member that reserved earlier
                    // is reachable at its circuit address already, so it
                    // need not wait for the next exchange.
                    let peers: Vec<PeerId> = self.conns.keys().copied().collect();
                    self.swarm.behaviour_mut().identify.push(peers.clone());
                    for p in peers {
                        if self.swarm.behaviour().sync.is_open(&p) {
                            self.swarm
                                .behaviour_mut()
                                .sync
                                .inner_mut()
                                .send_request(&p, crate::net::SyncRequest::Peers);
                        }
                    }
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                debug!(relay = %relay_peer_id, "circuit through the relay");
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                debug!(peer = %src_peer_id, "a member reached this node through a relay");
            }
        }
    }

    /// A hole punch finished.
    pub(in crate::engine) fn on_dcutr(&mut self, event: dcutr::Event) {
        match event.result {
            Ok(_) => {
                self.stats.holepunch_ok += 1;
                info!(peer = %event.remote_peer_id, "hole punched: a direct connection");
            }
            Err(e) => {
                self.stats.holepunch_failed += 1;
                debug!(peer = %event.remote_peer_id, error = %e, "hole punching failed");
            }
        }
    }

    /// AutoNAT's verdict changed.
    pub(in crate::engine) fn on_autonat(&mut self, event: autonat::Event) {
        if let autonat::Event::StatusChanged { old, new } = event {
            let nat = match new {
                autonat::NatStatus::Public(_) => Nat::Public,
                autonat::NatStatus::Private => Nat::Private,
                autonat::NatStatus::Unknown => Nat::Unknown,
            };
            info!(?old, ?new, "AutoNAT: reachability changed");
            self.relays.autonat = nat;
        }
    }

    /// Whether this node's relay serves members: as configured, else as
    /// the relay decided from this node's confirmed external addresses.
    pub(in crate::engine) fn relay_serving(&self) -> bool {
        self.settings.relay.server.unwrap_or(self.relays.serving)
    }

    /// The members holding a reservation for this node.
    pub(in crate::engine) fn relay_teams(&self) -> Vec<TeamId> {
        self.relays.accepted().filter_map(team_of).collect()
    }
}

#[cfg(test)]
mod tests;
