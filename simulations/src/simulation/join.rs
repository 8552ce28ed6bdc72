//! Newcomers: sponsorship out of band, then the join exchange.

use std::rc::Rc;

use trustmesh_protocol::{
    Application, Introduction, JoinRequest, SignedStatement, Statement, TeamKey,
};

use super::{Ev, Packet, Role, SimNode, Simulation, profile};

impl Simulation<'_> {
    pub(super) fn add_newcomer(&mut self, region: u8) -> usize {
        let key = TeamKey::from_secret_bytes(self.rng.bytes32());
        let idx = self.net.add_node(region);
        debug_assert_eq!(idx, self.nodes.len());
        self.by_team.insert(key.id(), idx);
        self.nodes
            .push(SimNode::new(key, Role::Honest, None, Some(vec![])));
        idx
    }

    /// A newcomer asks k live honest members to sponsor it (out of band:
    /// they sign introductions), then sends its join request to one of
    /// them, retrying every 30 s until admitted.
    pub(super) fn attempt_join(&mut self, i: usize) {
        if self.nodes[i].member_since.is_some() {
            return;
        }
        if !self.nodes[i].up() {
            self.start(i);
        }
        let now = self.now();
        let sponsors_live: Vec<usize> = self
            .live_members()
            .into_iter()
            .filter(|&j| self.is_honest(j) && j != i)
            .collect();
        if self.nodes[i].join.as_ref().is_some_and(Vec::is_empty) {
            let k = usize::from(self.scenario.sponsors_required);
            let sponsors = self.rng.sample(&sponsors_live, k);
            if sponsors.len() < k {
                self.queue.schedule(now + 30_000, Ev::Join(i));
                return;
            }
            let network = self.charter.network_id();
            let keys: Vec<&TeamKey> = sponsors.iter().map(|&s| &self.nodes[s].key).collect();
            match admission(network, &self.nodes[i].key, i, keys.into_iter()) {
                Ok(statements) => {
                    for s in &statements {
                        self.tracker.published(*s.id().as_bytes(), i, now, None);
                    }
                    self.nodes[i].join = Some(statements);
                }
                Err(_) => return,
            }
        }
        let Some(&to) = sponsors_live.get(self.rng.below(sponsors_live.len() as u64) as usize)
        else {
            self.queue.schedule(now + 30_000, Ev::Join(i));
            return;
        };
        let request = JoinRequest {
            statements: self.nodes[i].join.clone().unwrap_or_default(),
        };
        self.send(i, to, Packet::JoinRequest(Rc::from(request.encode())));
        self.queue.schedule(now + 30_000, Ev::Join(i));
    }
}

/// The application of `key` (team number `n`) and introductions by
/// `sponsors`.
pub(super) fn admission<'k>(
    network: trustmesh_protocol::NetworkId,
    key: &TeamKey,
    n: usize,
    sponsors: impl Iterator<Item = &'k TeamKey>,
) -> Result<Vec<SignedStatement>, trustmesh_protocol::StatementError> {
    let app = SignedStatement::sign(
        Statement::Application(Application {
            network,
            applicant: key.id(),
            created_at: 1_700_000_100,
            profile: profile(n),
        }),
        key,
    )?;
    let mut out = vec![app.clone()];
    for s in sponsors {
        out.push(SignedStatement::sign(
            Statement::Introduction(Introduction {
                network,
                sponsor: s.id(),
                applicant: key.id(),
                application: app.id(),
                created_at: 1_700_000_200,
                note: String::new(),
            }),
            s,
        )?);
    }
    Ok(out)
}
