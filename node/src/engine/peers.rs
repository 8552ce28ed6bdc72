//! Peer exchange and dialing through the core's peer book
//! ([`trustmesh_protocol::PeerBook`]): which records to offer and accept,
//! whom to dial, backoff and bootstrap redials are decided there; this
//! module only turns multiaddrs into the core's opaque [`Address`] bytes
//! and back, speaks the sync protocol's `Peers` request, dials, and keeps
//! the book in the store's `peers` column family (so a restarted node finds
//! the mesh without its bootstrap peers).

use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId};
use tracing::{debug, warn};
use trustmesh_protocol::{Address, Membership, PeerRecord as CoreRecord, PeersConfig, TeamId};

mod relay;

pub(super) use relay::Relays;

use super::guard::GuardKey;
use super::{Engine, now_ms};
use crate::net::{PeerRecord, SyncRequest, peer_id, team_of};
use crate::store::RocksStore;

/// Most members dialed per second beside the target because the node must
/// reach them directly (audiences of its restricted documents).
const WANTED_DIALS: usize = 2;

/// The core's address of a multiaddr: its bytes.
pub(super) fn address(addr: &Multiaddr) -> Option<Address> {
    Address::new(addr.to_vec()).ok()
}

/// The multiaddr an address holds.
pub(super) fn multiaddr(addr: &Address) -> Option<Multiaddr> {
    Multiaddr::try_from(addr.as_bytes().to_vec()).ok()
}

/// The core's peer book, loaded from and saved to the store.
#[derive(Debug)]
pub struct PeerBook {
    book: trustmesh_protocol::PeerBook,
    store: Option<RocksStore>,
}

impl PeerBook {
    /// A book with `target_peers` as its target, loaded from (and saved to)
    /// `store`'s peers column family. Records in the core's encoding are
    /// restored as they are; a record of the first format (a JSON list of
    /// multiaddr strings, written by earlier versions) is read as learned
    /// addresses; a record that reads neither way is skipped with a
    /// warning.
    pub fn load(store: RocksStore, target_peers: usize) -> Self {
        let mut book = trustmesh_protocol::PeerBook::new(
            PeersConfig::default().with_target_peers(target_peers),
        );
        match store.peers() {
            Ok(list) => {
                for (key, value) in list {
                    if let Err(why) = restore(&mut book, &key, &value) {
                        warn!(key = %hex::encode(&key), %why, "skipping a peer record that does not decode");
                    }
                }
            }
            Err(e) => warn!(error = %e, "the peer book could not be read; starting empty"),
        }
        Self {
            book,
            store: Some(store),
        }
    }

    /// An empty book that is never saved.
    pub fn in_memory(target_peers: usize) -> Self {
        Self {
            book: trustmesh_protocol::PeerBook::new(
                PeersConfig::default().with_target_peers(target_peers),
            ),
            store: None,
        }
    }

    /// The core's book.
    pub fn core(&self) -> &trustmesh_protocol::PeerBook {
        &self.book
    }

    /// The known addresses of `peer`.
    pub fn addresses(&self, peer: &PeerId) -> Vec<Multiaddr> {
        team_of(peer)
            .map(|t| {
                self.book
                    .addresses(&t)
                    .iter()
                    .filter_map(multiaddr)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many members are known.
    pub fn len(&self) -> usize {
        self.book.len()
    }

    /// Whether no member is known.
    pub fn is_empty(&self) -> bool {
        self.book.is_empty()
    }

    /// `peer` is at `addr` by its own word or a dial's proof.
    pub(super) fn observed(
        &mut self,
        membership: &Membership,
        me: &TeamId,
        peer: &PeerId,
        addr: &Multiaddr,
    ) {
        if let (Some(team), Some(a)) = (team_of(peer), address(addr)) {
            self.book.observed(membership, me, team, a);
        }
    }

    /// Writes the book to the store if it changed. The book is a cache:
    /// a failed write is logged, never fatal.
    pub fn save(&mut self) {
        if !self.book.is_dirty() {
            return;
        }
        let Some(store) = &self.store else {
            return;
        };
        match store.put_peers(&self.book.to_save()) {
            Ok(()) => self.book.saved(),
            Err(e) => warn!(error = %e, "the peer book could not be saved"),
        }
    }
}

/// Restores one saved record into `book`.
fn restore(
    book: &mut trustmesh_protocol::PeerBook,
    key: &[u8],
    value: &[u8],
) -> Result<(), String> {
    if value.first() != Some(&b'[') {
        return book
            .restore(key, value)
            .map(drop)
            .map_err(|e| e.to_string());
    }
    let team = TeamId::from_peer_id_bytes(key).map_err(|e| e.to_string())?;
    let addrs: Vec<String> = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    let addrs = addrs
        .iter()
        .filter_map(|a| a.parse::<Multiaddr>().ok())
        .filter_map(|a| address(&a))
        .map(|a| (a, false));
    book.restore_addresses(team, addrs);
    Ok(())
}

impl Engine {
    /// The members' records this node offers `to` in a peer exchange (the
    /// core decides which), in the sync protocol's form.
    pub(super) fn peer_records(&self, to: &PeerId) -> Vec<PeerRecord> {
        let Some(team) = team_of(to) else {
            return vec![];
        };
        self.book
            .book
            .offer(self.node.membership(), &team)
            .into_iter()
            .map(|r| PeerRecord {
                peer: r.team.to_peer_id_bytes(),
                addrs: r
                    .addresses
                    .iter()
                    .filter_map(multiaddr)
                    .map(|a| a.to_string())
                    .collect(),
            })
            .collect()
    }

    /// Takes the records `from` offered: the core's book decides what to
    /// believe (members only, within its caps).
    pub(super) fn learn_peers(&mut self, from: PeerId, records: Vec<PeerRecord>) {
        let Some(from_team) = team_of(&from) else {
            return;
        };
        // Bound the parsing before the book's own caps apply.
        let records: Vec<CoreRecord> = records
            .into_iter()
            .take(trustmesh_protocol::MAX_OFFER)
            .filter_map(|r| {
                let team = TeamId::from_peer_id_bytes(&r.peer).ok()?;
                let addresses = r
                    .addrs
                    .iter()
                    .take(trustmesh_protocol::MAX_ADDRESSES)
                    .filter_map(|a| a.parse::<Multiaddr>().ok())
                    .filter_map(|a| address(&a))
                    .collect();
                Some(CoreRecord { team, addresses })
            })
            .collect();
        let me = self.node.team();
        let learned = self
            .book
            .book
            .learn(self.node.membership(), &me, &from_team, records);
        debug!(peer = %from, learned, "peer exchange");
    }

    /// Dials what the core's book plans: members up to
    /// `limits.target_peers` (and now and then one more), the members this
    /// node must reach directly, and the bootstrap addresses when nothing
    /// is connected.
    pub(super) fn dial_members(&mut self) {
        let now = now_ms();
        let open = self
            .conns
            .keys()
            .filter(|p| self.swarm.behaviour().sync.is_open(p))
            .count();
        let me = self.node.team();
        let membership = self.node.membership();
        let conns = &self.conns;
        let guard = &self.guard;
        let skip = |t: &TeamId| {
            let p = peer_id(t);
            conns.contains_key(&p) || guard.is_banned(now, &GuardKey(p))
        };
        let mut plan =
            self.book
                .book
                .dial_plan(now, membership, &me, open, !conns.is_empty(), skip);
        let wanted = self.node.audience_peers();
        plan.peers.extend(self.book.book.dial_wanted(
            now,
            membership,
            &me,
            &wanted,
            WANTED_DIALS,
            skip,
        ));
        for (team, addrs) in plan.peers {
            let addrs: Vec<Multiaddr> = addrs.iter().filter_map(multiaddr).collect();
            let opts = DialOpts::peer_id(peer_id(&team))
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            let _ = self.swarm.dial(opts);
        }
        if plan.bootstrap {
            for addr in self.settings.bootstrap.clone() {
                self.dial_addr(addr);
            }
        }
        // The book is a cache, written without a sync: cheap enough to keep
        // current, so even a node killed seconds after meeting its peers
        // finds them again.
        self.book.save();
        self.keep_relays();
    }

    /// Asks every member peer for the addresses it knows, when the book
    /// says an exchange is due.
    pub(super) fn exchange_peers(&mut self) {
        if !self.book.book.exchange_due(now_ms()) {
            return;
        }
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

    /// A connection to `peer` is up (dialed at `dialed`, or inbound): a
    /// path exists, so its backoff starts over; a dialed member's address
    /// is proven.
    pub(super) fn book_connected(&mut self, peer: &PeerId, dialed: Option<&Multiaddr>) {
        let Some(team) = team_of(peer) else {
            return;
        };
        self.book.book.connected(&team);
        if let Some(a) = dialed {
            let me = self.node.team();
            self.book.observed(self.node.membership(), &me, peer, a);
        }
    }

    /// A dial to `peer` failed.
    pub(super) fn book_dial_failed(&mut self, peer: &PeerId) {
        if let Some(team) = team_of(peer) {
            self.book.book.dial_failed(now_ms(), &team);
        }
    }

    /// `peer` listed where it listens (identify).
    pub(super) fn book_listens(&mut self, peer: &PeerId, addrs: Vec<Multiaddr>) {
        let me = self.node.team();
        for a in addrs.iter().take(trustmesh_protocol::MAX_ADDRESSES) {
            self.book.observed(self.node.membership(), &me, peer, a);
        }
    }
}

#[cfg(test)]
mod tests;
