//! The workload: advisories, updates and contact edits by live members.

use std::collections::BTreeSet;

use trustmesh_protocol::{ActorSuffix, ChangeHash, Destination, Message, TeamId, Tlp, Transmit};

use super::{Ev, Role, Simulation, Topology};
use crate::byzantine;
use crate::scenario::Behaviour;
use crate::workload;

impl Simulation<'_> {
    pub(super) fn publish(&mut self) {
        let live = self.live_members();
        let Some(pick) = self.rng.index(live.len()) else {
            return;
        };
        let author = live[pick];
        self.published += 1;
        let n = self.published;
        let now = self.now();
        if self.nodes[author].role == Role::Byzantine(Behaviour::Unauthorized) {
            let others: Vec<usize> = live.iter().copied().filter(|&v| v != author).collect();
            let Some(victim) = self.rng.index(others.len()).map(|v| others[v]) else {
                return;
            };
            let node = &self.nodes[author];
            let suffix = ActorSuffix::from_bytes([0xEE; 16]);
            if let Some(change) = byzantine::unauthorized_change(
                self.charter.network_id(),
                &node.key,
                suffix,
                self.nodes[victim].key.id(),
                n,
            ) {
                self.forged.insert((change.doc(), change.hash()));
                self.route(
                    author,
                    Transmit {
                        to: Destination::Gossip,
                        message: Message::Changes(vec![change]),
                    },
                );
            }
            return;
        }
        let amber = self.rng.below(100) < self.scenario.workload.amber_pct;
        let (tlp, audience) = if amber {
            let mut aud: Vec<usize> = self.rng.sample(&live, 4);
            aud.retain(|&a| a != author);
            aud.truncate(3);
            // The owner is always in its advisory's audience (the schema
            // refuses an AMBER advisory without it), and in the hub
            // baseline so is the hub: a central portal that may not read a
            // document cannot carry it.
            aud.push(author);
            if self.topology == Topology::Hub && !aud.contains(&0) {
                aud.push(0);
            }
            (
                Tlp::Amber,
                aud.iter()
                    .map(|&a| self.nodes[a].key.id())
                    .collect::<Vec<_>>(),
            )
        } else {
            (Tlp::Green, vec![])
        };
        let advisory = workload::advisory(n, tlp, &audience);
        let Some(core) = self.nodes[author].core.as_mut() else {
            return;
        };
        match core.publish_advisory(now, &advisory) {
            Ok(change) => {
                self.check_acknowledged(author, &change);
                if amber {
                    let teams: BTreeSet<TeamId> = audience.iter().copied().collect();
                    self.audiences.insert(change.doc(), teams);
                }
                let aud = amber.then(|| self.audience_of(author, &audience));
                self.track_change(author, change.hash(), aud);
            }
            Err(_) => self.metrics.count("publish_failed", 1),
        }
        self.drain(author);
        if self.rng.below(100) < self.scenario.workload.update_pct {
            let later = now + self.rng.between(60_000, 1_800_000);
            if later <= self.scenario.duration_s * 1000 {
                self.queue.schedule(
                    later,
                    Ev::Update {
                        author,
                        n,
                        tlp,
                        audience,
                    },
                );
            }
        }
    }

    pub(super) fn audience_of(&self, author: usize, audience: &[TeamId]) -> BTreeSet<usize> {
        let mut set: BTreeSet<usize> = audience
            .iter()
            .filter_map(|t| self.by_team.get(t).copied())
            .collect();
        set.insert(author);
        set
    }

    pub(super) fn update(&mut self, author: usize, n: u64, tlp: Tlp, audience: &[TeamId]) {
        let now = self.now();
        let mut advisory = workload::advisory(n, tlp, audience);
        advisory.revisions.push(workload::revision(2));
        advisory.indicators.pop();
        let owner = self.nodes[author].key.id();
        let Some(core) = self.nodes[author].core.as_mut() else {
            return;
        };
        match core.update_advisory(now, owner, &advisory) {
            Ok(Some(change)) => {
                self.check_acknowledged(author, &change);
                let aud = (tlp != Tlp::Green).then(|| self.audience_of(author, audience));
                self.track_change(author, change.hash(), aud);
            }
            Ok(None) => {}
            Err(_) => self.metrics.count("update_failed", 1),
        }
        self.drain(author);
    }

    pub(super) fn contact_edit(&mut self) {
        let live: Vec<usize> = self
            .live_members()
            .into_iter()
            .filter(|&i| self.is_honest(i))
            .collect();
        let Some(pick) = self.rng.index(live.len()) else {
            return;
        };
        let author = live[pick];
        self.published += 1;
        let contact = workload::contact(author, self.published);
        let now = self.now();
        let Some(core) = self.nodes[author].core.as_mut() else {
            return;
        };
        match core.edit_contact(now, &contact) {
            Ok(Some(change)) => {
                self.check_acknowledged(author, &change);
                self.track_change(author, change.hash(), None);
            }
            Ok(None) => {}
            Err(_) => self.metrics.count("contact_edit_failed", 1),
        }
        self.drain(author);
    }

    /// Tracks an honest author's change (a Byzantine author's changes
    /// need not spread; the checks cover what they do).
    pub(super) fn track_change(
        &mut self,
        author: usize,
        hash: ChangeHash,
        audience: Option<BTreeSet<usize>>,
    ) {
        if !self.is_honest(author) {
            return;
        }
        let now = self.now();
        self.tracker
            .published(*hash.as_bytes(), author, now, audience);
    }
}
