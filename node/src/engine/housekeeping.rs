//! The one-second tick: each part of the engine does its periodic work.

use std::time::{Duration, Instant};

use libp2p::PeerId;

use super::Engine;

impl Engine {
    /// Once a second: sample progress, lift expired bans, close idle
    /// non-member connections, keep enough members connected, exchange
    /// addresses now and then.
    pub(super) fn housekeeping(&mut self) {
        let now = Instant::now();
        self.sample_progress(now);
        self.lift_bans();
        self.close_gated(now);
        self.dial_members();
        self.exchange_peers();
    }

    /// Closes connections to peers that are still not members once the
    /// join grace period is over.
    fn close_gated(&mut self, now: Instant) {
        let grace = Duration::from_secs(self.settings.limits.join_grace_secs);
        let stale: Vec<PeerId> = self
            .conns
            .iter()
            .filter(|(p, c)| {
                !self.swarm.behaviour().sync.is_open(p)
                    && !self.join_pending.contains(p)
                    && now.duration_since(c.since) > grace
            })
            .map(|(p, _)| *p)
            .collect();
        for p in stale {
            self.stats.gated_closed += 1;
            self.drop_peer(p, "not a member after the join grace period");
        }
    }
}
