//! The scenario's timeline: partitions, hub failure, churn, joins,
//! revocation, failing disks.

use trustmesh_protocol::{Revocation, SignedStatement, Statement};

use super::{Ev, Role, Simulation};
use crate::scenario::Action;

impl Simulation<'_> {
    pub(super) fn timeline(&mut self, i: usize) {
        let now = self.now();
        let action = self.scenario.events[i].action.clone();
        match action {
            Action::Partition { region, duration_s } => {
                // A firewall cut: the connections across it stay open,
                // stalled, until failure detection closes them
                // (`detect_failures`).
                self.net.isolate(region);
                self.queue
                    .schedule(now + duration_s * 1000, Ev::Heal(region));
            }
            Action::HubFailure { duration_s } => {
                self.crash(0);
                self.queue.schedule(now + duration_s * 1000, Ev::Restart(0));
            }
            Action::Churn { pct, down_s } => {
                let candidates: Vec<usize> = self
                    .live_members()
                    .into_iter()
                    .filter(|&i| i != 0 && self.is_honest(i))
                    .collect();
                let count = (candidates.len() as u64 * pct / 100) as usize;
                for v in self.rng.sample(&candidates, count) {
                    self.crash(v);
                    let down = self.rng.between(down_s[0], down_s[1]) * 1000;
                    self.queue.schedule(now + down.max(1), Ev::Restart(v));
                }
            }
            Action::Join { count, over_s } => {
                for j in 0..count {
                    let region = self.rng.below(u64::from(self.scenario.regions)) as u8;
                    let idx = self.add_newcomer(region);
                    let at = now + over_s * 1000 * j as u64 / count.max(1) as u64;
                    self.queue.schedule(at, Ev::Join(idx));
                }
            }
            Action::Revoke => self.revoke(),
            Action::StoreFault {
                pct,
                duration_s,
                fault,
            } => {
                let candidates: Vec<usize> = self
                    .live_members()
                    .into_iter()
                    .filter(|&i| i != 0 && self.is_honest(i))
                    .collect();
                let count = (candidates.len() as u64 * pct).div_ceil(100) as usize;
                let chosen = self.rng.sample(&candidates, count);
                for &v in &chosen {
                    self.disk(v).set_fault(Some(fault));
                }
                self.metrics.count("store_faults", chosen.len() as u64);
                self.queue
                    .schedule(now + duration_s * 1000, Ev::StoreHeal(chosen));
            }
        }
    }

    /// The first Byzantine member is revoked by r live honest M0 members,
    /// each keeping the frontier its core computes
    /// ([`trustmesh_protocol::Node::revocation_frontier`]: its introductions,
    /// since it vouched for teams honestly before its key was stolen, and
    /// the heads of the documents it wrote), as `trustmesh revoke` does.
    pub(super) fn revoke(&mut self) {
        let Some(target) =
            (0..self.nodes.len()).find(|&i| matches!(self.nodes[i].role, Role::Byzantine(_)))
        else {
            return;
        };
        let revokers: Vec<usize> = (0..self.scenario.nodes)
            .filter(|&i| self.nodes[i].up() && self.is_honest(i) && i != target)
            .take(usize::from(self.scenario.revocation_quorum))
            .collect();
        for r in revokers {
            self.revoke_by(r, target);
        }
        self.revoked.insert(target);
    }

    /// Member `r` revokes `target`, keeping the frontier its core computes.
    /// When its store refuses the revocation (nothing is acknowledged), the
    /// operator tries again 30 s later.
    pub(super) fn revoke_by(&mut self, r: usize, target: usize) {
        let now = self.now();
        let network = self.charter.network_id();
        let revoked = self.nodes[target].key.id();
        let key = self.nodes[r].key.clone();
        let Some(core) = self.nodes[r].core.as_mut() else {
            self.queue
                .schedule(now + 30_000, Ev::Revoke { by: r, target });
            return;
        };
        let frontier = core.revocation_frontier(&revoked);
        let heads = frontier.heads.len() as u64;
        let statement = Statement::Revocation(Revocation {
            network,
            revoker: key.id(),
            revoked,
            created_at: 1_700_000_000 + now / 1000,
            reason: "key compromised".to_owned(),
            kept_introductions: frontier.introductions,
            kept_heads: frontier.heads,
        });
        let Ok(signed) = SignedStatement::sign(statement, &key) else {
            self.metrics.count("revocation_unsigned", 1);
            return;
        };
        let id = *signed.id().as_bytes();
        match core.submit_statement(signed) {
            Ok(new) => {
                self.metrics.count("revocation_kept_heads", heads);
                if new {
                    self.tracker.published(id, r, now, None);
                }
            }
            Err(_) => {
                self.metrics.count("revocation_failed", 1);
                self.queue
                    .schedule(now + 30_000, Ev::Revoke { by: r, target });
            }
        }
        self.drain(r);
    }
}
