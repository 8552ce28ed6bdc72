//! The ban and rate-limit policy (DESIGN.md section 5: rates are bounded;
//! a peer that sends invalid data is penalized and disconnected), sans-IO:
//! time is passed in.
//!
//! Every peer gets a token bucket (`requests_per_second` tokens a second,
//! at most `request_burst` saved): each request or gossip message takes a
//! token, and one that finds the bucket empty is not served. A peer that
//! sends invalid data is banned for `ban`; the caller blocks it and closes
//! its connections. [`Guard::expire`] says whose ban is over, and never
//! names a revoked key: revoked keys stay blocked for good, whatever their
//! ban said. Both maps are capped; when one is full the entry that matters
//! least goes (the bucket used longest ago, the ban that ends soonest) and
//! is counted.
//!
//! The guard is generic over the peer key so that the node can guard every
//! connection, including a peer whose key is not a team's; the simulator
//! guards team ids.

use std::collections::BTreeMap;

use crate::identity::TeamId;
use crate::membership::Membership;
use crate::sync::Millis;

/// A peer the guard can key by: it may be a team.
pub trait GuardedPeer: Ord + Clone {
    /// The team behind the peer, when its key is a team's.
    fn team(&self) -> Option<TeamId>;
}

impl GuardedPeer for TeamId {
    fn team(&self) -> Option<TeamId> {
        Some(*self)
    }
}

/// Settings of the guard (the node's defaults).
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Tokens a peer's bucket gains per second.
    pub requests_per_second: u32,
    /// Most tokens a bucket holds (and holds at first).
    pub request_burst: u32,
    /// How long a peer that sent invalid data is banned.
    pub ban: Millis,
    /// Most peers with a bucket.
    pub max_buckets: usize,
    /// Most bans kept.
    pub max_bans: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 200,
            request_burst: 1000,
            ban: 600_000,
            max_buckets: 4096,
            max_bans: 4096,
        }
    }
}

impl GuardConfig {
    /// Sets the rate and burst.
    pub fn with_rate(mut self, per_second: u32, burst: u32) -> Self {
        self.requests_per_second = per_second;
        self.request_burst = burst;
        self
    }

    /// Sets [`GuardConfig::ban`].
    pub fn with_ban(mut self, ban: Millis) -> Self {
        self.ban = ban;
        self
    }
}

/// Counters of the guard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardStats {
    /// Requests and gossip refused for exceeding a peer's rate.
    pub rate_limited: u64,
    /// Bans imposed.
    pub bans: u64,
    /// Bans by reason (the names of [`crate::Rejection::name`] and the
    /// caller's own).
    pub invalid: BTreeMap<&'static str, u64>,
    /// Bans lifted early because the ban list was full.
    pub bans_evicted: u64,
    /// Buckets dropped because the bucket map was full.
    pub buckets_evicted: u64,
}

/// A token bucket in thousandths of a token, so that refilling is exact
/// integer arithmetic: `rate` tokens a second is `rate` thousandths a
/// millisecond.
#[derive(Debug, Clone)]
struct Bucket {
    milli: u64,
    last: Millis,
}

/// Bans and rate limits for peers keyed by `P`.
#[derive(Debug, Clone)]
pub struct Guard<P> {
    config: GuardConfig,
    buckets: BTreeMap<P, Bucket>,
    bans: BTreeMap<P, Millis>,
    /// Bans evicted early, to report from the next [`Guard::expire`].
    lifted: Vec<P>,
    stats: GuardStats,
}

impl<P: GuardedPeer> Guard<P> {
    /// A guard with no bucket and no ban.
    pub fn new(config: GuardConfig) -> Self {
        Self {
            config,
            buckets: BTreeMap::new(),
            bans: BTreeMap::new(),
            lifted: Vec::new(),
            stats: GuardStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &GuardStats {
        &self.stats
    }

    /// Takes a token from `peer`'s bucket at `now`; false (and counted)
    /// when none is left: the request or message is not served.
    pub fn admit(&mut self, now: Millis, peer: &P) -> bool {
        let full = u64::from(self.config.request_burst) * 1000;
        if !self.buckets.contains_key(peer) && self.buckets.len() >= self.config.max_buckets {
            let oldest = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(p, _)| p.clone());
            if let Some(p) = oldest {
                self.buckets.remove(&p);
                self.stats.buckets_evicted += 1;
            }
        }
        let bucket = self.buckets.entry(peer.clone()).or_insert(Bucket {
            milli: full,
            last: now,
        });
        let gained = now
            .saturating_sub(bucket.last)
            .saturating_mul(u64::from(self.config.requests_per_second));
        bucket.milli = bucket.milli.saturating_add(gained).min(full);
        bucket.last = bucket.last.max(now);
        if bucket.milli >= 1000 {
            bucket.milli -= 1000;
            true
        } else {
            self.stats.rate_limited += 1;
            false
        }
    }

    /// Bans `peer` until `now + ban` for sending invalid data (`reason`, a
    /// short name for counters). Returns when the ban ends; the caller
    /// blocks the peer and closes its connections.
    pub fn penalize(&mut self, now: Millis, peer: P, reason: &'static str) -> Millis {
        *self.stats.invalid.entry(reason).or_default() += 1;
        self.stats.bans += 1;
        let until = now.saturating_add(self.config.ban);
        if !self.bans.contains_key(&peer) && self.bans.len() >= self.config.max_bans {
            let soonest = self
                .bans
                .iter()
                .min_by_key(|(_, until)| **until)
                .map(|(p, _)| p.clone());
            if let Some(p) = soonest {
                self.bans.remove(&p);
                self.lifted.push(p);
                self.stats.bans_evicted += 1;
            }
        }
        self.bans.insert(peer, until);
        until
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, now: Millis, peer: &P) -> bool {
        self.bans.get(peer).is_some_and(|until| *until > now)
    }

    /// The bans in force, with when each ends.
    pub fn bans(&self) -> impl Iterator<Item = (&P, Millis)> {
        self.bans.iter().map(|(p, t)| (p, *t))
    }

    /// Ends the bans that are over at `now` and returns the peers to
    /// unblock: never a revoked key (in `membership`), which stays blocked.
    pub fn expire(&mut self, now: Millis, membership: &Membership) -> Vec<P> {
        let over: Vec<P> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| p.clone())
            .collect();
        for p in &over {
            self.bans.remove(p);
        }
        let mut lifted = std::mem::take(&mut self.lifted);
        lifted.extend(over);
        lifted.retain(|p| {
            !self.bans.contains_key(p) && p.team().is_none_or(|t| !membership.is_revoked(&t))
        });
        lifted
    }

    /// `peer` has no connection left: its bucket goes (a new connection
    /// starts with a full one, as the node always did).
    pub fn forget(&mut self, peer: &P) {
        self.buckets.remove(peer);
    }
}

#[cfg(test)]
mod tests;
