//! What the node knows of other peers: where members listen (persisted in
//! the store's `peers` column family, so a restarted node finds the mesh
//! without its bootstrap peers), dial backoff, and per-peer rate buckets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId};
use tracing::{debug, warn};

use super::Engine;
use crate::net::{PeerRecord, SyncRequest, team_of};
use crate::store::RocksStore;

/// Most addresses kept per peer.
const MAX_ADDRS: usize = 8;
/// Most peers kept.
const MAX_PEERS: usize = 4096;
/// Longest wait between dials of an unreachable peer.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
struct Entry {
    addrs: Vec<Multiaddr>,
    failures: u32,
    next_dial: Option<Instant>,
}

/// Member addresses and dial state.
#[derive(Debug, Default)]
pub struct PeerBook {
    entries: BTreeMap<PeerId, Entry>,
    store: Option<RocksStore>,
    dirty: bool,
    bootstrap_next: Option<Instant>,
}

impl PeerBook {
    /// A book loaded from (and saved to) `store`'s peers column family.
    pub fn load(store: RocksStore) -> Self {
        let mut book = Self::default();
        match store.peers() {
            Ok(list) => {
                for (peer, addrs) in list {
                    let Ok(peer) = PeerId::from_bytes(&peer) else {
                        continue;
                    };
                    for a in addrs.iter().filter_map(|a| a.parse().ok()) {
                        book.add(peer, a);
                    }
                }
            }
            Err(e) => warn!(error = %e, "the peer book could not be read; starting empty"),
        }
        book.dirty = false;
        book.store = Some(store);
        book
    }

    /// Records an address of `peer`; returns whether it was new.
    pub fn add(&mut self, peer: PeerId, addr: Multiaddr) -> bool {
        if !self.entries.contains_key(&peer) && self.entries.len() >= MAX_PEERS {
            return false;
        }
        let e = self.entries.entry(peer).or_default();
        if e.addrs.contains(&addr) {
            return false;
        }
        if e.addrs.len() >= MAX_ADDRS {
            e.addrs.remove(0);
        }
        e.addrs.push(addr);
        self.dirty = true;
        true
    }

    /// The known addresses of `peer`.
    pub fn addresses(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.entries
            .get(peer)
            .map(|e| e.addrs.clone())
            .unwrap_or_default()
    }

    /// Every peer with its addresses.
    pub fn entries(&self) -> impl Iterator<Item = (&PeerId, &Vec<Multiaddr>)> {
        self.entries.iter().map(|(p, e)| (p, &e.addrs))
    }

    /// How many peers are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Peers whose backoff has passed.
    pub fn dialable(&self, now: Instant) -> impl Iterator<Item = (PeerId, Vec<Multiaddr>)> + '_ {
        self.entries
            .iter()
            .filter(move |(_, e)| !e.addrs.is_empty() && e.next_dial.is_none_or(|t| t <= now))
            .map(|(p, e)| (*p, e.addrs.clone()))
    }

    fn backoff(failures: u32) -> Duration {
        Duration::from_secs(1u64 << failures.min(6)).min(MAX_BACKOFF)
    }

    /// A dial to `peer` started: do not start another before its backoff.
    pub fn dialing(&mut self, peer: &PeerId, now: Instant) {
        if let Some(e) = self.entries.get_mut(peer) {
            e.next_dial = Some(now + Self::backoff(e.failures).max(Duration::from_secs(2)));
        }
    }

    /// A dial to `peer` failed: back off further.
    pub fn dial_failed(&mut self, peer: &PeerId, now: Instant) {
        if let Some(e) = self.entries.get_mut(peer) {
            e.failures = e.failures.saturating_add(1);
            e.next_dial = Some(now + Self::backoff(e.failures));
        }
    }

    /// A connection to `peer` succeeded.
    pub fn dial_succeeded(&mut self, peer: &PeerId) {
        if let Some(e) = self.entries.get_mut(peer) {
            e.failures = 0;
            e.next_dial = None;
        }
    }

    /// Whether to dial the bootstrap addresses again (every 5 s at most).
    pub fn bootstrap_due(&mut self, now: Instant) -> bool {
        if self.bootstrap_next.is_some_and(|t| t > now) {
            return false;
        }
        self.bootstrap_next = Some(now + Duration::from_secs(5));
        true
    }

    /// Writes the book to the store if it changed. The book is a cache:
    /// a failed write is logged, never fatal.
    pub fn save(&mut self) {
        if !self.dirty {
            return;
        }
        let Some(store) = &self.store else {
            return;
        };
        let list: Vec<(Vec<u8>, Vec<String>)> = self
            .entries
            .iter()
            .map(|(p, e)| {
                (
                    p.to_bytes(),
                    e.addrs.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        match store.put_peers(&list) {
            Ok(()) => self.dirty = false,
            Err(e) => warn!(error = %e, "the peer book could not be saved"),
        }
    }
}

/// A token bucket: `rate` tokens a second, at most `burst` saved.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Option<Instant>,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: None,
        }
    }

    /// Takes a token at `now`; false when none is left.
    pub fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests;

/// Most peer records sent or taken in one exchange.
const MAX_RECORDS: usize = 256;

impl Engine {
    /// The members' addresses this node offers in a peer exchange.
    pub(super) fn peer_records(&self) -> Vec<PeerRecord> {
        self.book
            .entries()
            .filter(|(p, _)| team_of(p).is_some_and(|t| self.node.membership().is_member(&t)))
            .take(MAX_RECORDS)
            .map(|(p, addrs)| PeerRecord {
                peer: p.to_bytes(),
                addrs: addrs.iter().map(ToString::to_string).collect(),
            })
            .collect()
    }

    /// Takes the members' addresses `from` offered.
    pub(super) fn learn_peers(&mut self, from: PeerId, records: Vec<PeerRecord>) {
        let mut learned = 0;
        for r in records.into_iter().take(MAX_RECORDS) {
            let Ok(p) = PeerId::from_bytes(&r.peer) else {
                continue;
            };
            let member = team_of(&p).is_some_and(|t| self.node.membership().is_member(&t));
            if !member || p == self.local_peer_id() {
                continue;
            }
            for a in r
                .addrs
                .iter()
                .take(MAX_ADDRS)
                .filter_map(|a| a.parse().ok())
            {
                learned += usize::from(self.book.add(p, a));
            }
        }
        debug!(peer = %from, learned, "peer exchange");
    }

    /// Dials known members until `limits.target_peers` are connected, and
    /// the bootstrap addresses when nobody is.
    pub(super) fn dial_members(&mut self, now: Instant) {
        let open = self
            .conns
            .keys()
            .filter(|p| self.swarm.behaviour().sync.is_open(p))
            .count();
        let want = self.settings.limits.target_peers.saturating_sub(open);
        if want > 0 {
            let candidates: Vec<(PeerId, Vec<Multiaddr>)> = self
                .book
                .dialable(now)
                .filter(|(p, _)| {
                    !self.conns.contains_key(p)
                        && !self.bans.contains_key(p)
                        && *p != self.local_peer_id()
                        && team_of(p).is_some_and(|t| self.node.membership().is_member(&t))
                })
                .take(want)
                .collect();
            for (p, addrs) in candidates {
                self.book.dialing(&p, now);
                let opts = DialOpts::peer_id(p)
                    .addresses(addrs)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                let _ = self.swarm.dial(opts);
            }
            if self.conns.is_empty() && self.book.bootstrap_due(now) {
                for addr in self.settings.bootstrap.clone() {
                    self.dial_addr(addr);
                }
            }
        }
        // The book is a cache, written without a sync: cheap enough to keep
        // current, so even a node killed seconds after meeting its peers
        // finds them again.
        self.book.save();
    }

    /// Asks every member peer for the addresses it knows, every 15 s.
    pub(super) fn exchange_peers(&mut self, now: Instant) {
        if now.duration_since(self.last_exchange) <= Duration::from_secs(15) {
            return;
        }
        self.last_exchange = now;
        let open: Vec<PeerId> = self
            .conns
            .keys()
            .filter(|p| self.swarm.behaviour().sync.is_open(p))
            .copied()
            .collect();
        for p in open {
            self.swarm
                .behaviour_mut()
                .sync
                .inner_mut()
                .send_request(&p, SyncRequest::Peers);
        }
    }
}
