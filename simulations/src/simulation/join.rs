//! Newcomers: sponsorship out of band, then the join exchange, both sides
//! run by the cores ([`trustmesh_protocol::Node::join_request`],
//! `handle_join_request`, `handle_join_response`).

use std::rc::Rc;

use trustmesh_protocol::{
    Application, Introduction, JoinOutcome, JoinRequest, JoinResponse, SignedStatement, Statement,
    StatementId, TeamKey,
};

use super::{Ev, Packet, Role, SimNode, Simulation, profile};

impl Simulation<'_> {
    pub(super) fn add_newcomer(&mut self, region: u8) -> usize {
        let key = TeamKey::from_secret_bytes(self.rng.bytes32());
        let idx = self.net.add_node(region);
        debug_assert_eq!(idx, self.nodes.len());
        self.by_team.insert(key.id(), idx);
        self.nodes.push(SimNode::new(key, Role::Honest, None, true));
        idx
    }

    /// A newcomer asks k live honest members to sponsor it (out of band:
    /// they sign introductions, which the newcomer's node stores as
    /// `trustmesh join` does, and their addresses become its bootstrap
    /// list), then presents what its core's
    /// `join_request` carries to one of them, retrying every 30 s until
    /// admitted.
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
        if !self.nodes[i].sponsored {
            let k = usize::from(self.scenario.sponsors_required);
            let sponsors = self.rng.sample(&sponsors_live, k);
            if sponsors.len() < k {
                self.queue.schedule(now + 30_000, Ev::Join(i));
                return;
            }
            let network = self.charter.network_id();
            let keys: Vec<&TeamKey> = sponsors.iter().map(|&s| &self.nodes[s].key).collect();
            let Ok(statements) = admission(network, &self.nodes[i].key, i, keys.into_iter()) else {
                return;
            };
            let Some(core) = self.nodes[i].core.as_mut() else {
                return;
            };
            let mut stored = true;
            for s in &statements {
                stored &= core.submit_statement(s.clone()).is_ok();
            }
            if stored {
                for s in &statements {
                    self.tracker.published(*s.id().as_bytes(), i, now, None);
                }
                // The sponsors' addresses come with the introductions, as
                // the join flow's bootstrap list.
                self.nodes[i].sponsored = true;
                self.nodes[i].bootstrap = sponsors;
            }
            self.drain(i);
        }
        let request = match self.nodes[i].core.as_ref() {
            Some(core) => core.join_request(),
            None => JoinRequest::default(),
        };
        let to = sponsors_live
            .get(self.rng.below(sponsors_live.len() as u64) as usize)
            .copied();
        if let Some(to) = to
            && !request.is_empty()
        {
            self.send(i, to, Packet::JoinRequest(Rc::from(request.encode())));
        }
        self.queue.schedule(now + 30_000, Ev::Join(i));
    }

    /// A join request at `to` from `from` (anyone: the join exchange runs
    /// before membership), answered by `to`'s core.
    pub(super) fn on_join_request(&mut self, from: usize, to: usize, bytes: &[u8]) {
        let refusal = |reason: &str| {
            JoinResponse::Refused {
                reason: reason.to_owned(),
            }
            .encode()
        };
        if !self.admit(to, from) {
            let answer = refusal("too many requests");
            self.send(to, from, Packet::JoinResponse(Rc::from(answer)));
            return;
        }
        let request = match JoinRequest::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.ban(to, from, "malformed_join");
                let answer = refusal(&format!("malformed join request: {e}"));
                self.send(to, from, Packet::JoinResponse(Rc::from(answer)));
                return;
            }
        };
        let now = self.now();
        let team = self.nodes[from].key.id();
        let ids: Vec<StatementId> = request.statements.iter().map(|s| s.id()).collect();
        let Some(core) = self.nodes[to].core.as_mut() else {
            return;
        };
        let response = core.handle_join_request(now, team, request);
        let tracked: Vec<[u8; 32]> = ids
            .iter()
            .filter(|id| core.statements().contains(id))
            .map(|id| *id.as_bytes())
            .collect();
        for key in tracked {
            self.tracker.received(key, to, now);
        }
        self.drain(to);
        self.send(to, from, Packet::JoinResponse(Rc::from(response.encode())));
    }

    /// The answer to a join request `to` sent `from`.
    pub(super) fn on_join_response(&mut self, from: usize, to: usize, bytes: &[u8]) {
        let Ok(response) = JoinResponse::decode(bytes) else {
            self.ban(to, from, "malformed_join");
            return;
        };
        let now = self.now();
        let team = self.nodes[from].key.id();
        let Some(core) = self.nodes[to].core.as_mut() else {
            return;
        };
        let outcome = core.handle_join_response(now, team, response);
        let held: Vec<[u8; 32]> = self
            .tracker
            .pending_for(to)
            .into_iter()
            .filter(|k| core.statements().contains(&StatementId::from_bytes(*k)))
            .collect();
        for key in held {
            self.tracker.received(key, to, now);
        }
        let admitted = core.is_member() && self.nodes[to].member_since.is_none();
        self.drain(to);
        if let JoinOutcome::Invalid(r) = outcome {
            self.ban(to, from, r.name());
            return;
        }
        if admitted {
            self.nodes[to].member_since = Some(now);
            if !self.nodes[to].bootstrap.contains(&from) {
                self.nodes[to].bootstrap.push(from);
            }
            self.metrics.count("joins_admitted", 1);
            self.connect(to, from);
        }
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
