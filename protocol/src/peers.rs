//! Peer exchange, sans-IO (DESIGN.md section 5, discovery): where members
//! listen, what to tell a member about the others, what to believe of what
//! a member says, and whom to dial.
//!
//! Addresses are opaque byte strings ([`Address`]: the node keeps multiaddr
//! bytes, the simulator its own), so no transport type enters the core.
//! Time is passed in. The book holds members' addresses only: a record
//! about a key that is not a member, from a peer that is not a member, or
//! beyond the caps is dropped and counted. Addresses a member reported
//! itself, or that a dial proved, are `confirmed`; addresses heard from a
//! third member are `learned` and never push a confirmed one out, so a
//! member that lies about the others cannot cut them off.
//!
//! Dialing: [`PeerBook::dial_plan`] keeps up to `target_peers` members
//! connected, skipping those the caller says are connected, dialing or
//! banned, with a per-peer backoff that doubles on each failure up to
//! `max_backoff` and resets when a path reappears (a connection either
//! way, or an address not known before). At the target it still dials one
//! more member every `explore_every`, in rotation, up to `explore_up_to`
//! connections, so two halves of a healed partition that each filled their
//! connections on their own side meet again. With nothing connected it asks for the bootstrap addresses
//! to be dialed, every `bootstrap_every` at most.
//!
//! Persistence: [`PeerBook::to_save`] gives one record per member, keyed by
//! its PeerId bytes, in a versioned encoding ([`PEER_RECORD_VERSION`]); the
//! node writes them to its `peers` column family and reads them back with
//! [`PeerBook::restore`]. The book is a cache: losing it costs a bootstrap.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::codec::{DecodeError, Reader, Writer};
use crate::identity::{IdentityError, TeamId};
use crate::membership::Membership;
use crate::sync::Millis;

/// Longest address, in bytes.
pub const MAX_ADDRESS_BYTES: usize = 512;
/// Most addresses kept, offered or accepted per member.
pub const MAX_ADDRESSES: usize = 8;
/// Most records offered in one exchange, and accepted from one peer in one.
pub const MAX_OFFER: usize = 256;
/// The version byte that starts a saved record. (The node's first peer
/// book saved a JSON list of address strings, which starts with `[`.)
pub const PEER_RECORD_VERSION: u8 = 1;

/// Why peer-exchange bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PeersError {
    /// An address is empty or longer than [`MAX_ADDRESS_BYTES`].
    #[error("an address of {0} bytes is empty or over the limit")]
    BadAddress(usize),
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A key is not a team's PeerId.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// An address a member listens on, opaque to the core.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(Vec<u8>);

impl Address {
    /// An address from its bytes (1 to [`MAX_ADDRESS_BYTES`]).
    pub fn new(bytes: Vec<u8>) -> Result<Self, PeersError> {
        if bytes.is_empty() || bytes.len() > MAX_ADDRESS_BYTES {
            return Err(PeersError::BadAddress(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A member and where it listens, as members exchange them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The member.
    pub team: TeamId,
    /// Its addresses, at most [`MAX_ADDRESSES`].
    pub addresses: Vec<Address>,
}

/// Encodes records for an exchange: count, then each team key and its
/// addresses.
pub fn encode_records(records: &[PeerRecord]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(PEER_RECORD_VERSION);
    let records = &records[..records.len().min(MAX_OFFER)];
    w.len(records.len());
    for r in records {
        w.raw(r.team.as_bytes());
        let addrs = &r.addresses[..r.addresses.len().min(MAX_ADDRESSES)];
        w.len(addrs.len());
        for a in addrs {
            w.len(a.0.len()).raw(&a.0);
        }
    }
    w.finish()
}

/// Decodes what [`encode_records`] made, within the caps.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<PeerRecord>, PeersError> {
    let mut r = Reader::new(bytes);
    let version = r.u8("peer records version")?;
    if version != PEER_RECORD_VERSION {
        return Err(DecodeError::UnknownVersion(version).into());
    }
    let n = r.len("peer records", MAX_OFFER)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let team = TeamId::from_bytes(r.array("peer record team")?)?;
        let m = r.len("addresses", MAX_ADDRESSES)?;
        let mut addresses = Vec::with_capacity(m);
        for _ in 0..m {
            let len = r.len("address", MAX_ADDRESS_BYTES)?;
            addresses.push(Address::new(r.take(len, "address")?.to_vec())?);
        }
        out.push(PeerRecord { team, addresses });
    }
    r.finish()?;
    Ok(out)
}

/// Settings of the peer book and dial policy.
#[derive(Debug, Clone)]
pub struct PeersConfig {
    /// Most members kept.
    pub max_peers: usize,
    /// Members to keep connected.
    pub target_peers: usize,
    /// Shortest wait between two dials of one member.
    pub min_redial: Millis,
    /// Longest wait between dials of an unreachable member.
    pub max_backoff: Millis,
    /// Shortest wait between two bootstrap redials.
    pub bootstrap_every: Millis,
    /// How often to exchange records with every connected member.
    pub exchange_every: Millis,
    /// How often to dial one more member while at or above the target.
    pub explore_every: Millis,
    /// Most member connections at which the book still explores (above
    /// the target, so that connections do not pile up to the transport's
    /// limit and leave no room for newcomers).
    pub explore_up_to: usize,
}

impl Default for PeersConfig {
    fn default() -> Self {
        Self {
            max_peers: 4096,
            target_peers: 8,
            min_redial: 2_000,
            max_backoff: 60_000,
            bootstrap_every: 5_000,
            exchange_every: 15_000,
            explore_every: 60_000,
            explore_up_to: 12,
        }
    }
}

impl PeersConfig {
    /// Sets [`PeersConfig::target_peers`], and [`PeersConfig::explore_up_to`]
    /// to half as many again (at least one more).
    pub fn with_target_peers(mut self, n: usize) -> Self {
        self.target_peers = n;
        self.explore_up_to = n + (n / 2).max(1);
        self
    }

    /// Sets [`PeersConfig::explore_every`].
    pub fn with_explore_every(mut self, ms: Millis) -> Self {
        self.explore_every = ms.max(1);
        self
    }
}

/// Counters of the peer book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Addresses learned that were new.
    pub learned: u64,
    /// Records dropped: from or about a non-member, or about this node.
    pub not_member: u64,
    /// Records or addresses dropped over a cap (per exchange, per member,
    /// or the whole book).
    pub over_cap: u64,
    /// Dials that failed.
    pub dial_failures: u64,
}

/// What to dial now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialPlan {
    /// Members to dial, each with the addresses to try.
    pub peers: Vec<(TeamId, Vec<Address>)>,
    /// Whether to dial the bootstrap addresses (nothing is connected).
    pub bootstrap: bool,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// Addresses, oldest first, each with whether it is confirmed.
    addrs: Vec<(Address, bool)>,
    failures: u32,
    next_dial: Option<Millis>,
}

impl Entry {
    /// Adds `addr`; returns whether it was new. A learned address never
    /// replaces a confirmed one; a confirmed one replaces the oldest learned
    /// one, else the oldest.
    fn add(&mut self, addr: Address, confirmed: bool) -> Result<bool, ()> {
        if let Some(known) = self.addrs.iter_mut().find(|(a, _)| *a == addr) {
            known.1 |= confirmed;
            return Ok(false);
        }
        if self.addrs.len() >= MAX_ADDRESSES {
            let victim = match self.addrs.iter().position(|(_, c)| !c) {
                Some(i) => i,
                None if confirmed => 0,
                None => return Err(()),
            };
            self.addrs.remove(victim);
        }
        self.addrs.push((addr, confirmed));
        // A path that was not known before: try it without waiting.
        self.failures = 0;
        self.next_dial = None;
        Ok(true)
    }
}

/// Members' addresses and the dial state.
#[derive(Debug, Clone, Default)]
pub struct PeerBook {
    config: PeersConfig,
    entries: BTreeMap<TeamId, Entry>,
    dirty: bool,
    bootstrap_next: Millis,
    exchange_next: Option<Millis>,
    explore_next: Option<Millis>,
    /// Where the last dial plan stopped, so candidates take turns.
    cursor: Option<TeamId>,
    /// The same for [`PeerBook::dial_wanted`].
    wanted_cursor: Option<TeamId>,
    stats: PeerStats,
}

impl PeerBook {
    /// An empty book.
    pub fn new(config: PeersConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &PeersConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &PeerStats {
        &self.stats
    }

    /// How many members are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no member is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The known addresses of `team`, oldest first.
    pub fn addresses(&self, team: &TeamId) -> Vec<Address> {
        self.entries
            .get(team)
            .map(|e| e.addrs.iter().map(|(a, _)| a.clone()).collect())
            .unwrap_or_default()
    }

    /// Every known member with its addresses.
    pub fn entries(&self) -> impl Iterator<Item = (&TeamId, Vec<&Address>)> {
        self.entries
            .iter()
            .map(|(t, e)| (t, e.addrs.iter().map(|(a, _)| a).collect()))
    }

    fn add(&mut self, team: TeamId, addr: Address, confirmed: bool) -> bool {
        if !self.entries.contains_key(&team) && self.entries.len() >= self.config.max_peers {
            self.stats.over_cap += 1;
            return false;
        }
        match self.entries.entry(team).or_default().add(addr, confirmed) {
            Ok(true) => {
                self.dirty = true;
                true
            }
            Ok(false) => false,
            Err(()) => {
                self.stats.over_cap += 1;
                false
            }
        }
    }

    /// `team` is reachable at `addr` on its own word or by proof: it
    /// listed the address itself (identify), or a dial to it succeeded
    /// there. Kept for members other than `me` only. Returns whether the
    /// address was new.
    pub fn observed(
        &mut self,
        membership: &Membership,
        me: &TeamId,
        team: TeamId,
        addr: Address,
    ) -> bool {
        if team == *me || !membership.is_member(&team) {
            self.stats.not_member += 1;
            return false;
        }
        self.add(team, addr, true)
    }

    /// What to tell `to` (a member) in an exchange: members' records, at
    /// most [`MAX_OFFER`], starting after `to` in key order so that
    /// different peers hear about different members in a large network.
    /// Nothing for a non-member.
    pub fn offer(&self, membership: &Membership, to: &TeamId) -> Vec<PeerRecord> {
        if !membership.is_member(to) {
            return vec![];
        }
        use std::ops::Bound::{Excluded, Unbounded};
        let after = self.entries.range((Excluded(*to), Unbounded));
        let before = self.entries.range(..*to);
        after
            .chain(before)
            .filter(|(t, e)| membership.is_member(t) && !e.addrs.is_empty())
            .take(MAX_OFFER)
            .map(|(t, e)| PeerRecord {
                team: *t,
                addresses: e.addrs.iter().map(|(a, _)| a.clone()).collect(),
            })
            .collect()
    }

    /// Takes the records a peer offered: only from a member, only about
    /// other members (not `me`), at most [`MAX_OFFER`] records and
    /// [`MAX_ADDRESSES`] addresses each. What `from` says about itself is
    /// confirmed; what it says about others is learned. Returns how many
    /// addresses were new.
    pub fn learn(
        &mut self,
        membership: &Membership,
        me: &TeamId,
        from: &TeamId,
        records: Vec<PeerRecord>,
    ) -> usize {
        if !membership.is_member(from) {
            self.stats.not_member += records.len() as u64;
            return 0;
        }
        let over = records.len().saturating_sub(MAX_OFFER) as u64;
        self.stats.over_cap += over;
        let mut new = 0;
        for r in records.into_iter().take(MAX_OFFER) {
            if r.team == *me || !membership.is_member(&r.team) {
                self.stats.not_member += 1;
                continue;
            }
            let extra = r.addresses.len().saturating_sub(MAX_ADDRESSES) as u64;
            self.stats.over_cap += extra;
            for a in r.addresses.into_iter().take(MAX_ADDRESSES) {
                if self.add(r.team, a, r.team == *from) {
                    new += 1;
                }
            }
        }
        self.stats.learned += new as u64;
        new
    }

    /// A connection to `team` exists (dialed or inbound): a path is there,
    /// so its backoff starts over.
    pub fn connected(&mut self, team: &TeamId) {
        if let Some(e) = self.entries.get_mut(team) {
            e.failures = 0;
            e.next_dial = None;
        }
    }

    /// A dial to `team` failed: wait longer before the next.
    pub fn dial_failed(&mut self, now: Millis, team: &TeamId) {
        self.stats.dial_failures += 1;
        let max = self.config.max_backoff;
        if let Some(e) = self.entries.get_mut(team) {
            e.failures = e.failures.saturating_add(1);
            e.next_dial = Some(now.saturating_add(backoff(e.failures, max)));
        }
    }

    /// Whom to dial at `now`, given `open` member connections and whether
    /// the node has any connection at all. Candidates are members other
    /// than `me` with an address, whose backoff has passed and that `skip`
    /// does not exclude (connected, being dialed, banned). Below the target
    /// as many as are missing; from the target up to `explore_up_to`, one
    /// every `explore_every`.
    /// Every member planned is not planned again before its backoff (at
    /// least `min_redial`).
    pub fn dial_plan(
        &mut self,
        now: Millis,
        membership: &Membership,
        me: &TeamId,
        open: usize,
        connected: bool,
        skip: impl Fn(&TeamId) -> bool,
    ) -> DialPlan {
        let missing = self.config.target_peers.saturating_sub(open);
        let want = if missing > 0 {
            missing
        } else if open >= self.config.explore_up_to {
            0
        } else {
            match self.explore_next {
                Some(t) if t <= now => {
                    self.explore_next = Some(now.saturating_add(self.config.explore_every));
                    usize::from(self.config.target_peers > 0)
                }
                Some(_) => 0,
                None => {
                    self.explore_next = Some(now.saturating_add(self.config.explore_every));
                    0
                }
            }
        };
        let mut plan = DialPlan::default();
        if want > 0 {
            // Candidates in key order, starting after the last one planned.
            let mut order: Vec<TeamId> = self.entries.keys().copied().collect();
            if let Some(c) = self.cursor {
                let split = order.partition_point(|t| *t <= c);
                order.rotate_left(split);
            }
            let chosen: Vec<TeamId> = order
                .into_iter()
                .filter(|t| {
                    self.entries.get(t).is_some_and(|e| {
                        t != me
                            && membership.is_member(t)
                            && !e.addrs.is_empty()
                            && e.next_dial.is_none_or(|at| at <= now)
                            && !skip(t)
                    })
                })
                .take(want)
                .collect();
            let (min, max) = (self.config.min_redial, self.config.max_backoff);
            for t in chosen {
                if let Some(e) = self.entries.get_mut(&t) {
                    let wait = backoff(e.failures, max).max(min);
                    e.next_dial = Some(now.saturating_add(wait));
                    plan.peers
                        .push((t, e.addrs.iter().map(|(a, _)| a.clone()).collect()));
                }
                self.cursor = Some(t);
            }
        }
        if missing > 0 && !connected && self.bootstrap_next <= now {
            self.bootstrap_next = now.saturating_add(self.config.bootstrap_every);
            plan.bootstrap = true;
        }
        plan
    }

    /// Members of `wanted` to dial now, beside the target: those with an
    /// address, not `me`, not excluded by `skip` (connected, dialing,
    /// banned), whose backoff has passed; at most `max` of them, taking
    /// turns. The node asks for the members it must reach directly (the
    /// audiences of its restricted documents,
    /// [`crate::Node::audience_peers`]). Planned members wait their backoff
    /// like any other.
    pub fn dial_wanted(
        &mut self,
        now: Millis,
        membership: &Membership,
        me: &TeamId,
        wanted: &std::collections::BTreeSet<TeamId>,
        max: usize,
        skip: impl Fn(&TeamId) -> bool,
    ) -> Vec<(TeamId, Vec<Address>)> {
        let mut order: Vec<TeamId> = wanted.iter().copied().collect();
        if let Some(c) = self.wanted_cursor {
            let split = order.partition_point(|t| *t <= c);
            order.rotate_left(split);
        }
        let chosen: Vec<TeamId> = order
            .into_iter()
            .filter(|t| {
                t != me
                    && membership.is_member(t)
                    && !skip(t)
                    && self.entries.get(t).is_some_and(|e| {
                        !e.addrs.is_empty() && e.next_dial.is_none_or(|at| at <= now)
                    })
            })
            .take(max)
            .collect();
        let (min, max_wait) = (self.config.min_redial, self.config.max_backoff);
        let mut out = Vec::new();
        for t in chosen {
            if let Some(e) = self.entries.get_mut(&t) {
                let wait = backoff(e.failures, max_wait).max(min);
                e.next_dial = Some(now.saturating_add(wait));
                out.push((t, e.addrs.iter().map(|(a, _)| a.clone()).collect()));
            }
            self.wanted_cursor = Some(t);
        }
        out
    }

    /// Whether it is time to exchange records with every connected member
    /// (the first time one `exchange_every` after the first call; a node
    /// also exchanges with each member as it connects).
    pub fn exchange_due(&mut self, now: Millis) -> bool {
        match self.exchange_next {
            None => {
                self.exchange_next = Some(now.saturating_add(self.config.exchange_every));
                false
            }
            Some(t) if t <= now => {
                self.exchange_next = Some(now.saturating_add(self.config.exchange_every));
                true
            }
            Some(_) => false,
        }
    }

    /// Whether the book changed since it was last saved.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Every member's record to save: (its PeerId bytes, the encoded
    /// addresses). Call [`PeerBook::saved`] once they are written.
    pub fn to_save(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.entries
            .iter()
            .map(|(t, e)| {
                let mut w = Writer::new();
                w.u8(PEER_RECORD_VERSION).len(e.addrs.len());
                for (a, confirmed) in &e.addrs {
                    w.u8(u8::from(*confirmed)).len(a.0.len()).raw(&a.0);
                }
                (t.to_peer_id_bytes(), w.finish())
            })
            .collect()
    }

    /// The records from [`PeerBook::to_save`] are durable.
    pub fn saved(&mut self) {
        self.dirty = false;
    }

    /// Adds a record saved by [`PeerBook::to_save`] (membership is checked
    /// when the book offers or dials, not here: the book may load before
    /// the statements do). Returns how many addresses were new.
    pub fn restore(&mut self, key: &[u8], value: &[u8]) -> Result<usize, PeersError> {
        let team = TeamId::from_peer_id_bytes(key)?;
        let mut r = Reader::new(value);
        let version = r.u8("peer record version")?;
        if version != PEER_RECORD_VERSION {
            return Err(DecodeError::UnknownVersion(version).into());
        }
        let n = r.len("addresses", MAX_ADDRESSES)?;
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let confirmed = match r.u8("address origin")? {
                0 => false,
                1 => true,
                tag => {
                    return Err(DecodeError::UnknownTag {
                        field: "address origin",
                        tag,
                    }
                    .into());
                }
            };
            let len = r.len("address", MAX_ADDRESS_BYTES)?;
            addrs.push((Address::new(r.take(len, "address")?.to_vec())?, confirmed));
        }
        r.finish()?;
        Ok(self.restore_addresses(team, addrs))
    }

    /// Adds saved addresses of `team` read some other way (the node's first
    /// format), each with whether it is confirmed. Returns how many were new.
    pub fn restore_addresses(
        &mut self,
        team: TeamId,
        addrs: impl IntoIterator<Item = (Address, bool)>,
    ) -> usize {
        let dirty = self.dirty;
        let new = addrs
            .into_iter()
            .filter(|(a, c)| self.add(team, a.clone(), *c))
            .count();
        self.dirty = dirty;
        new
    }
}

/// The wait after `failures` failed dials: 1 s doubling, at most `max`.
fn backoff(failures: u32, max: Millis) -> Millis {
    (1_000u64 << failures.min(16)).min(max)
}

#[cfg(test)]
mod tests;
