//! Rate limits and bans: a token bucket per peer, and a ban (the peer
//! blocked for `limits.ban_secs`) for a peer that sent invalid data.

use std::time::{Duration, Instant};

use libp2p::PeerId;
use tracing::warn;

use super::Engine;
use super::peers::Bucket;
use crate::net::team_of;

impl Engine {
    pub(super) fn penalize(&mut self, peer: PeerId, reason: &str) {
        *self.stats.invalid.entry(reason.to_owned()).or_default() += 1;
        self.stats.bans += 1;
        warn!(%peer, reason, secs = self.settings.limits.ban_secs, "invalid data: banning the peer");
        self.bans.insert(
            peer,
            Instant::now() + Duration::from_secs(self.settings.limits.ban_secs),
        );
        self.swarm.behaviour_mut().blocked.block_peer(peer);
    }

    /// Takes one token from the peer's bucket; false when it is empty.
    pub(super) fn admit_rate(&mut self, peer: PeerId) -> bool {
        let l = &self.settings.limits;
        let ok = self
            .buckets
            .entry(peer)
            .or_insert_with(|| Bucket::new(l.requests_per_second, l.request_burst))
            .take(Instant::now());
        if !ok {
            self.stats.rate_limited += 1;
        }
        ok
    }

    /// Lifts the bans that expired, except on revoked keys (blocked for
    /// good).
    pub(super) fn lift_bans(&mut self, now: Instant) {
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in expired {
            self.bans.remove(&p);
            let revoked = team_of(&p).and_then(|t| {
                self.node
                    .membership()
                    .standing(&t)
                    .map(|s| s.status == trustmesh_protocol::Status::Revoked)
            });
            if revoked != Some(true) {
                self.swarm.behaviour_mut().blocked.unblock_peer(p);
            }
        }
    }
}
