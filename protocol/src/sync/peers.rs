//! The connected member peers: when each was last heard from and the
//! anti-entropy round this node has open with it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Event, Millis, Node};
use crate::identity::TeamId;
use crate::store::Store;

#[derive(Debug, Clone, Default)]
struct PeerState {
    /// The round this node opened with the peer and when.
    round: Option<(u64, Millis)>,
    /// When the peer last sent a message.
    last_heard: Millis,
}

/// Connected member peers. Only members are ever added, so the map is
/// bounded by the membership.
#[derive(Debug, Clone, Default)]
pub(super) struct Peers {
    map: BTreeMap<TeamId, PeerState>,
}

impl Peers {
    pub(super) fn connect(&mut self, now: Millis, peer: TeamId) {
        self.map.entry(peer).or_default().last_heard = now;
    }

    /// Forgets `peer`; returns whether it was connected.
    pub(super) fn disconnect(&mut self, peer: &TeamId) -> bool {
        self.map.remove(peer).is_some()
    }

    pub(super) fn contains(&self, peer: &TeamId) -> bool {
        self.map.contains_key(peer)
    }

    pub(super) fn heard(&mut self, now: Millis, peer: &TeamId) {
        if let Some(p) = self.map.get_mut(peer) {
            p.last_heard = now;
        }
    }

    pub(super) fn start_round(&mut self, peer: &TeamId, round: u64, now: Millis) {
        if let Some(p) = self.map.get_mut(peer) {
            p.round = Some((round, now));
        }
    }

    /// Closes `round` with `peer` if it is the one open; returns whether it was.
    pub(super) fn finish_round(&mut self, peer: &TeamId, round: u64) -> bool {
        match self.map.get_mut(peer) {
            Some(p) if p.round.is_some_and(|(r, _)| r == round) => {
                p.round = None;
                true
            }
            _ => false,
        }
    }

    /// Gives up rounds open for `timeout` or longer.
    pub(super) fn expire_rounds(&mut self, now: Millis, timeout: Millis) {
        for p in self.map.values_mut() {
            if p.round
                .is_some_and(|(_, at)| now.saturating_sub(at) >= timeout)
            {
                p.round = None;
            }
        }
    }

    /// Peers with no round open, in order.
    pub(super) fn idle(&self) -> Vec<TeamId> {
        self.map
            .iter()
            .filter(|(_, p)| p.round.is_none())
            .map(|(t, _)| *t)
            .collect()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&TeamId, Millis)> {
        self.map.iter().map(|(t, p)| (t, p.last_heard))
    }
}

impl<S: Store> Node<S> {
    /// A connection to `peer` was established (its key proven by the
    /// transport). A member gets an anti-entropy round at once; anyone else
    /// is reported for disconnection.
    pub fn peer_connected(&mut self, now: Millis, peer: TeamId) {
        if peer == self.team() {
            return;
        }
        if !self.membership.is_member(&peer) {
            self.event(Event::Disconnect(peer));
            return;
        }
        self.peers.connect(now, peer);
        self.open_round(now, peer);
    }

    /// The connection to `peer` is gone.
    pub fn peer_disconnected(&mut self, peer: &TeamId) {
        self.peers.disconnect(peer);
    }

    /// The members this node should reach directly: the others in the
    /// audiences of the AMBER and RED documents it holds and may read.
    /// Such documents never travel by gossip, and a member relays them only
    /// to audience members, so each needs a connection of its own; the
    /// caller dials these (see [`crate::PeerBook::dial_wanted`]).
    pub fn audience_peers(&self) -> BTreeSet<TeamId> {
        let me = self.team();
        self.index
            .audiences()
            .filter(|a| a.contains(&me))
            .flatten()
            .filter(|t| **t != me && self.membership.is_member(t))
            .copied()
            .collect()
    }

    /// The connected member peers, with when each last sent a message.
    pub fn peers(&self) -> impl Iterator<Item = (&TeamId, Millis)> {
        self.peers.iter()
    }
}
