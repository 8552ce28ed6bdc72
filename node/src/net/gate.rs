//! The admission gate as a behaviour (DESIGN.md section 5).
//!
//! [`MembersOnly`] wraps a behaviour (gossipsub, the sync protocol) so that
//! only connections to members ever get its connection handler. Every other
//! connection gets a handler that speaks no protocol at all: a non-member
//! cannot subscribe to the gossip topic or open a sync stream, so nothing
//! from those protocols can reach it, whatever the inner behaviour does.
//!
//! The decision is made per connection, when it is established. A peer
//! admitted later needs a new connection (the engine redials it); a member
//! revoked later is disconnected by the engine.
//!
//! **Invariant:** the inner behaviour sees only the connections it has a
//! handler on. `ConnectionEstablished`/`ConnectionClosed` of gated
//! connections are withheld and the connection counts it sees are
//! recomputed, so its idea of "first connection to a peer" stays right.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::task::{Context, Poll};

use either::Either;
use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, NotifyHandler, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};

/// A behaviour whose protocols only members' connections speak.
pub struct MembersOnly<B> {
    inner: B,
    members: HashSet<PeerId>,
    /// The connections the inner behaviour has a handler on, by peer.
    open: BTreeMap<PeerId, BTreeSet<ConnectionId>>,
}

impl<B> MembersOnly<B> {
    /// Wraps `inner`; no peer is a member until [`MembersOnly::set_members`].
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            members: HashSet::new(),
            open: BTreeMap::new(),
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

    /// The inner behaviour.
    pub fn inner(&self) -> &B {
        &self.inner
    }

    /// The inner behaviour, mutably.
    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    fn admits(&self, peer: &PeerId) -> bool {
        self.members.contains(peer)
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for MembersOnly<B> {
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
        if !self.admits(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )?;
        self.open.entry(peer).or_default().insert(connection_id);
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
        if !self.admits(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )?;
        self.open.entry(peer).or_default().insert(connection_id);
        Ok(Either::Left(handler))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                let Some(open) = self.open.get(&e.peer_id) else {
                    return;
                };
                if !open.contains(&e.connection_id) {
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
                if !open.remove(&e.connection_id) {
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
                    .is_some_and(|c| c.contains(&e.connection_id))
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
            // the inner handler, never on a gated one.
            let action = match action {
                ToSwarm::NotifyHandler {
                    peer_id,
                    handler: NotifyHandler::Any,
                    event,
                } => match self.open.get(&peer_id).and_then(|c| c.first()) {
                    Some(id) => ToSwarm::NotifyHandler {
                        peer_id,
                        handler: NotifyHandler::One(*id),
                        event,
                    },
                    None => continue,
                },
                other => other,
            };
            return Poll::Ready(action.map_in(Either::Left));
        }
    }
}

#[cfg(test)]
mod tests;
