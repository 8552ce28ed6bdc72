//! Rate limits and bans through the core's [`Guard`]: a token bucket per
//! peer and a ban for a peer that sent invalid data are the core's policy;
//! this module blocks and unblocks peers in the swarm as it says.

use libp2p::PeerId;
use tracing::warn;
use trustmesh_protocol::{Guard, GuardConfig, GuardedPeer, TeamId};

use super::{Engine, now_ms};
use crate::config::LimitsSection;
use crate::net::team_of;

/// A libp2p peer as the guard keys it (any peer, a team's or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct GuardKey(pub(super) PeerId);

impl GuardedPeer for GuardKey {
    fn team(&self) -> Option<TeamId> {
        team_of(&self.0)
    }
}

/// The guard the node's `[limits]` configure.
pub(super) fn guard(limits: &LimitsSection) -> Guard<GuardKey> {
    Guard::new(
        GuardConfig::default()
            .with_rate(limits.requests_per_second, limits.request_burst)
            .with_ban(limits.ban_secs.saturating_mul(1000)),
    )
}

impl Engine {
    /// Bans `peer` for invalid data (`reason` counts it) and blocks it.
    pub(super) fn penalize(&mut self, peer: PeerId, reason: &'static str) {
        *self.stats.invalid.entry(reason.to_owned()).or_default() += 1;
        self.stats.bans += 1;
        warn!(%peer, reason, secs = self.settings.limits.ban_secs, "invalid data: banning the peer");
        self.guard.penalize(now_ms(), GuardKey(peer), reason);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
    }

    /// Takes one token from the peer's bucket; false when it is empty.
    pub(super) fn admit_rate(&mut self, peer: PeerId) -> bool {
        let ok = self.guard.admit(now_ms(), &GuardKey(peer));
        if !ok {
            self.stats.rate_limited += 1;
        }
        ok
    }

    /// Unblocks the peers whose ban is over; the guard never names a
    /// revoked key, which stays blocked for good.
    pub(super) fn lift_bans(&mut self) {
        for GuardKey(p) in self.guard.expire(now_ms(), self.node.membership()) {
            self.swarm.behaviour_mut().blocked.unblock_peer(p);
        }
    }
}
