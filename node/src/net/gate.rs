//! The admission gate as a behaviour (DESIGN.md section 5).
//!
//! [`Gate`] wraps a behaviour (gossipsub, the sync protocol, the relay) so
//! that only the connections its policy admits ever get its connection
//! handler. Every other connection gets a handler that speaks no protocol
//! at all: a non-member cannot subscribe to the gossip topic, open a sync
//! stream or ask for a relay reservation, so nothing from those protocols
//! can reach it, whatever the inner behaviour does.
//!
//! Two questions make the policy: must the peer be a member
//! ([`Gate::members`]) or may anyone use it ([`Gate::anyone`]), and does
//! the protocol run on relayed connections too ([`Gate::over_relays`]).
//! libp2p 0.57 runs every protocol on a relayed circuit as on a direct
//! connection (it has no notion of a limited connection a protocol must
//! opt into), so the gate is where that is decided: the sync protocol runs
//! over relays, gossip and the join exchange do not. A relayed connection
//! carries only what its two ends say, Noise-encrypted end to end; the
//! relay sees bytes it cannot read, and a circuit's bytes are counted
//! against the relay's limits, so bulk gossip stays off them.
//!
//! The decision is made per connection, when it is established. A peer
//! admitted later needs a new connection (the engine redials it); a member
//! revoked later is disconnected by the engine.
//!
//! **Invariant:** the inner behaviour sees only the connections it has a
//! handler on. `ConnectionEstablished`/`ConnectionClosed` of gated
//! connections are withheld and the connection counts it sees are
//! recomputed, so its idea of "first connection to a peer" stays right.

use std::collections::{BTreeMap, HashSet};
use std::task::{Context, Poll};

use either::Either;
use libp2p::PeerId;
use libp2p::core::multiaddr::Protocol;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};

/// How a member is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Over a direct connection.
    Direct,
    /// Only through a relay's circuit.
    Relayed,
}

/// Whether a connection at `addr` (the remote address of an outbound one,
/// the local address of an inbound one) runs through a relay.
pub fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

/// A behaviour whose protocols only the connections its policy admits
/// speak.
pub struct Gate<B> {
    inner: B,
    /// Whether only members get the handler.
    members_only: bool,
    /// Whether relayed connections get it too.
    over_relays: bool,
    members: HashSet<PeerId>,
    /// The connections the inner behaviour has a handler on, by peer, each
    /// with whether it is relayed.
    open: BTreeMap<PeerId, BTreeMap<ConnectionId, bool>>,
}

impl<B> Gate<B> {
    /// Wraps `inner` for members' direct connections; no peer is a member
    /// until [`Gate::set_members`].
    pub fn members(inner: B) -> Self {
        Self {
            inner,
            members_only: true,
            over_relays: false,
            members: HashSet::new(),
            open: BTreeMap::new(),
        }
    }

    /// Wraps `inner` for anyone's direct connections.
    pub fn anyone(inner: B) -> Self {
        Self {
            members_only: false,
            ..Self::members(inner)
        }
    }

    /// The protocol runs on relayed connections too.
    pub fn over_relays(self) -> Self {
        Self {
            over_relays: true,
            ..self
        }
    }

    /// Replaces the member set. Existing connections keep their handler;
    /// the caller disconnects peers that stopped being members.
    pub fn set_members(&mut self, members: impl IntoIterator<Item = PeerId>) {
        self.members = members.into_iter().collect();
    }

    /// Whether `peer` has a connection on which the protocols run.
    pub fn is_open(&self, peer: &PeerId) -> bool {
        self.open.get(peer).is_some_and(|c| !c.is_empty())
    }

    /// How the protocols reach `peer`: directly if any of its open
    /// connections is direct, else through a relay; `None` if none is open.
    pub fn path(&self, peer: &PeerId) -> Option<Path> {
        let conns = self.open.get(peer).filter(|c| !c.is_empty())?;
        Some(if conns.values().all(|relayed| *relayed) {
            Path::Relayed
        } else {
            Path::Direct
        })
    }

    /// The relayed connections to `peer` on which the protocols run.
    pub fn relayed(&self, peer: &PeerId) -> Vec<ConnectionId> {
        self.open
            .get(peer)
            .into_iter()
            .flatten()
            .filter(|(_, relayed)| **relayed)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The inner behaviour.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The inner behaviour, mutably.
    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    fn admits(&self, peer: &PeerId, relayed: bool) -> bool {
        (!self.members_only || self.members.contains(peer)) && (self.over_relays || !relayed)
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for Gate<B> {
    type ConnectionHandler = Either<THandler<B>, dummy::ConnectionHandler>;
    type ToSwarm = B::ToSwarm;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let relayed = is_relayed(local_addr);
        if !self.admits(&peer, relayed) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )?;
        self.open
            .entry(peer)
            .or_default()
            .insert(connection_id, relayed);
        Ok(Either::Left(handler))
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let relayed = is_relayed(addr);
        if !self.admits(&peer, relayed) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )?;
        self.open
            .entry(peer)
            .or_default()
            .insert(connection_id, relayed);
        Ok(Either::Left(handler))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                let Some(open) = self.open.get(&e.peer_id) else {
                    return;
                };
                if !open.contains_key(&e.connection_id) {
                    return;
                }
                let other_established = open.len() - 1;
                self.inner.on_swarm_event(FromSwarm::ConnectionEstablished(
                    ConnectionEstablished {
                        other_established,
                        ..e
                    },
                ));
            }
            FromSwarm::ConnectionClosed(e) => {
                let Some(open) = self.open.get_mut(&e.peer_id) else {
                    return;
                };
                if open.remove(&e.connection_id).is_none() {
                    return;
                }
                let remaining_established = open.len();
                if open.is_empty() {
                    self.open.remove(&e.peer_id);
                }
                self.inner
                    .on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
                        remaining_established,
                        ..e
                    }));
            }
            FromSwarm::AddressChange(e) => {
                if self
                    .open
                    .get(&e.peer_id)
                    .is_some_and(|c| c.contains_key(&e.connection_id))
                {
                    self.inner.on_swarm_event(FromSwarm::AddressChange(e));
                }
            }
            other => self.inner.on_swarm_event(other),
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(e) => self
                .inner
                .on_connection_handler_event(peer_id, connection_id, e),
            // The dummy handler emits no events.
            Either::Right(never) => match never {},
        }
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        loop {
            let Poll::Ready(action) = self.inner.poll(cx) else {
                return Poll::Pending;
            };
            // An event for "any connection" of a peer must land on one with
            // the inner handler, never on a gated one; a direct one before a
            // relayed one.
            let action = match action {
                ToSwarm::NotifyHandler {
                    peer_id,
                    handler: NotifyHandler::Any,
                    event,
                } => {
                    let conns = self.open.get(&peer_id);
                    let direct = conns.and_then(|c| c.iter().find(|(_, r)| !**r));
                    match direct.or_else(|| conns.and_then(|c| c.iter().next())) {
                        Some((id, _)) => ToSwarm::NotifyHandler {
                            peer_id,
                            handler: NotifyHandler::One(*id),
                            event,
                        },
                        None => continue,
                    }
                }
                other => other,
            };
            return Poll::Ready(action.map_in(Either::Left));
        }
    }
}

#[cfg(test)]
mod tests;
