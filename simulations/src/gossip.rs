//! A model of libp2p gossipsub (v1.1) as the node configures it: one
//! topic, content-addressed message ids (SHA-256 of the data), validation
//! by the core before forwarding, and the library's default mesh
//! parameters.
//!
//! Modelled: a mesh of degree D kept between D_lo and D_hi at every
//! heartbeat (GRAFT/PRUNE), flood publishing (a node's own message goes to
//! every connected subscriber, the libp2p default), eager forwarding of
//! accepted messages to mesh peers, lazy IHAVE to D_lazy non-mesh peers at
//! each heartbeat for the messages of the last `history_gossip` windows,
//! IWANT served from the message cache, and the seen-message cache that
//! drops duplicates. Not modelled: peer scoring beyond "a rejected message
//! gets its sender banned" (which the node does itself), opportunistic
//! grafting, fanout maps (every node is subscribed), backoff timers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use sha2::{Digest, Sha256};
use trustmesh_protocol::Millis;

use crate::rng::SimRng;

/// A gossip message id: SHA-256 of the message data, as the node sets it.
pub type MsgId = [u8; 32];

/// The id of `data`.
pub fn message_id(data: &[u8]) -> MsgId {
    Sha256::digest(data).into()
}

/// Gossipsub parameters (libp2p defaults, heartbeat as the node sets it).
#[derive(Debug, Clone)]
pub struct GossipConfig {
    /// Target mesh degree.
    pub d: usize,
    /// Below this the mesh is refilled to `d`.
    pub d_lo: usize,
    /// Above this the mesh is pruned to `d`.
    pub d_hi: usize,
    /// Peers that get IHAVE each heartbeat.
    pub d_lazy: usize,
    /// Heartbeat interval.
    pub heartbeat_ms: Millis,
    /// Heartbeat windows the message cache keeps.
    pub history_length: usize,
    /// Windows advertised by IHAVE.
    pub history_gossip: usize,
    /// How long a seen id is remembered.
    pub seen_ttl_ms: Millis,
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self {
            d: 6,
            d_lo: 4,
            d_hi: 12,
            d_lazy: 6,
            heartbeat_ms: 1_000,
            history_length: 5,
            history_gossip: 3,
            seen_ttl_ms: 120_000,
        }
    }
}

/// What a heartbeat asks the caller to send.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// Peers to send GRAFT (added to the mesh).
    pub graft: Vec<usize>,
    /// Peers to send PRUNE (removed from the mesh).
    pub prune: Vec<usize>,
    /// IHAVE messages: peer and ids.
    pub ihave: Vec<(usize, Vec<MsgId>)>,
}

/// One node's gossipsub state.
#[derive(Debug, Default)]
pub struct Gossip {
    mesh: BTreeSet<usize>,
    seen: BTreeMap<MsgId, Millis>,
    seen_order: VecDeque<(Millis, MsgId)>,
    windows: VecDeque<Vec<MsgId>>,
    cache: BTreeMap<MsgId, Rc<[u8]>>,
}

impl Gossip {
    /// The mesh peers.
    pub fn mesh(&self) -> &BTreeSet<usize> {
        &self.mesh
    }

    /// Marks `id` seen; returns whether it is new.
    pub fn first_seen(&mut self, now: Millis, id: MsgId) -> bool {
        if self.seen.contains_key(&id) {
            return false;
        }
        self.seen.insert(id, now);
        self.seen_order.push_back((now, id));
        true
    }

    /// Puts an accepted (or own) message in the cache IWANT serves from.
    pub fn remember(&mut self, id: MsgId, data: Rc<[u8]>) {
        if self.windows.is_empty() {
            self.windows.push_front(Vec::new());
        }
        if self.cache.insert(id, data).is_none()
            && let Some(w) = self.windows.front_mut()
        {
            w.push(id);
        }
    }

    /// The cached message `id`, for an IWANT.
    pub fn cached(&self, id: &MsgId) -> Option<Rc<[u8]>> {
        self.cache.get(id).cloned()
    }

    /// The peer is gone (disconnected or banned).
    pub fn link_down(&mut self, peer: usize) {
        self.mesh.remove(&peer);
    }

    /// A GRAFT from `peer` (a connected subscriber): it joins the mesh
    /// unless the mesh is full.
    pub fn on_graft(&mut self, peer: usize, config: &GossipConfig) -> bool {
        if self.mesh.len() >= config.d_hi {
            return false;
        }
        self.mesh.insert(peer);
        true
    }

    /// A PRUNE from `peer`.
    pub fn on_prune(&mut self, peer: usize) {
        self.mesh.remove(&peer);
    }

    /// Which of `ids` this node wants (has not seen).
    pub fn wanted(&self, ids: &[MsgId]) -> Vec<MsgId> {
        ids.iter()
            .filter(|id| !self.seen.contains_key(*id))
            .copied()
            .collect()
    }

    /// The heartbeat: mesh maintenance over the connected `links`, IHAVE,
    /// cache shifting and seen-cache expiry.
    pub fn heartbeat(
        &mut self,
        now: Millis,
        links: &BTreeSet<usize>,
        config: &GossipConfig,
        rng: &mut SimRng,
    ) -> Heartbeat {
        let mut out = Heartbeat::default();
        self.mesh.retain(|p| links.contains(p));
        if self.mesh.len() < config.d_lo {
            let candidates: Vec<usize> = links.difference(&self.mesh).copied().collect();
            let need = config.d.saturating_sub(self.mesh.len());
            for p in rng.sample(&candidates, need) {
                self.mesh.insert(p);
                out.graft.push(p);
            }
        } else if self.mesh.len() > config.d_hi {
            let members: Vec<usize> = self.mesh.iter().copied().collect();
            let excess = self.mesh.len() - config.d;
            for p in rng.sample(&members, excess) {
                self.mesh.remove(&p);
                out.prune.push(p);
            }
        }
        let ids: Vec<MsgId> = self
            .windows
            .iter()
            .take(config.history_gossip)
            .flatten()
            .copied()
            .collect();
        if !ids.is_empty() {
            let others: Vec<usize> = links.difference(&self.mesh).copied().collect();
            for p in rng.sample(&others, config.d_lazy) {
                out.ihave.push((p, ids.clone()));
            }
        }
        // Shift the cache windows.
        if !self.windows.is_empty() || !self.cache.is_empty() {
            self.windows.push_front(Vec::new());
            while self.windows.len() > config.history_length {
                if let Some(old) = self.windows.pop_back() {
                    for id in old {
                        self.cache.remove(&id);
                    }
                }
            }
        }
        while let Some((t, id)) = self.seen_order.front().copied() {
            if now.saturating_sub(t) < config.seen_ttl_ms {
                break;
            }
            self.seen_order.pop_front();
            self.seen.remove(&id);
        }
        out
    }
}

#[cfg(test)]
mod tests;
