//! Membership as a pure function of a grow-only set of signed statements.
//!
//! The rules (DESIGN.md section 3):
//! 1. M0 is the least fixpoint from the founders: a team X is admitted when
//!    it has an application and introductions from at least k distinct
//!    members of M0 other than X.
//! 2. X is revoked when X revoked itself, or at least r distinct members of
//!    M0 other than X signed revocations of X. Revocation is monotone: M0
//!    only grows as statements arrive, so a revoked key stays revoked.
//! 3. A counted revocation of X keeps some of X's introductions (its
//!    frontier). The kept set is the union over X's counted revocations: each
//!    revoker lists what it held and vouches for, and a kept introduction
//!    still needs k sponsors in all. Every other introduction by a revoked
//!    key is void.
//! 4. M is the fixpoint of rule 1 again, where revoked keys are never
//!    members and only their kept introductions count. A kept introduction
//!    counts as it did in M0: its sponsor is no longer a member, but was.
//!
//! Everything iterates over ordered maps, so two nodes holding the same set
//! compute the same result whatever order the statements arrived in.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::TeamId;
use crate::statement::{
    Application, ChangeHash, Charter, Introduction, NetworkId, Policy, Profile, Revocation,
    SignedStatement, Statement, StatementError, StatementId,
};

/// The signed statements of one network, anchored to its charter.
#[derive(Debug, Clone)]
pub struct StatementSet {
    charter: Charter,
    statements: BTreeMap<StatementId, SignedStatement>,
}

impl StatementSet {
    /// An empty set for the network `charter` founds.
    pub fn new(charter: Charter) -> Self {
        Self {
            charter,
            statements: BTreeMap::new(),
        }
    }

    /// The charter.
    pub fn charter(&self) -> &Charter {
        &self.charter
    }

    /// The network id.
    pub fn network_id(&self) -> NetworkId {
        self.charter.network_id()
    }

    /// Verifies and adds a statement. Returns whether it was new.
    ///
    /// Statements that verify are kept even when they do not count yet (an
    /// introduction by a key that is not a member may count once its sponsor
    /// is admitted); membership decides what counts.
    pub fn insert(&mut self, statement: SignedStatement) -> Result<bool, StatementError> {
        if self.statements.contains_key(&statement.id()) {
            return Ok(false);
        }
        statement.verify(&self.network_id())?;
        self.statements.insert(statement.id(), statement);
        Ok(true)
    }

    /// Adds a statement the caller verified already (with
    /// [`SignedStatement::verify`] over this network). Returns whether it
    /// was new.
    pub(crate) fn insert_verified(&mut self, statement: SignedStatement) -> bool {
        if self.statements.contains_key(&statement.id()) {
            return false;
        }
        self.statements.insert(statement.id(), statement);
        true
    }

    /// Decodes, verifies and adds a statement from its encoding.
    pub fn insert_bytes(&mut self, bytes: &[u8]) -> Result<(StatementId, bool), StatementError> {
        let s = SignedStatement::decode(bytes)?;
        let id = s.id();
        Ok((id, self.insert(s)?))
    }

    /// Adds every statement of `other`, which must share the charter.
    /// Returns how many were new.
    pub fn merge(&mut self, other: &StatementSet) -> Result<usize, StatementError> {
        if other.network_id() != self.network_id() {
            return Err(StatementError::WrongNetwork {
                expected: self.network_id(),
                found: other.network_id(),
            });
        }
        let mut added = 0;
        for s in other.iter() {
            added += usize::from(self.insert(s.clone())?);
        }
        Ok(added)
    }

    /// The statement with this id.
    pub fn get(&self, id: &StatementId) -> Option<&SignedStatement> {
        self.statements.get(id)
    }

    /// Whether the set holds this statement.
    pub fn contains(&self, id: &StatementId) -> bool {
        self.statements.contains_key(id)
    }

    /// How many statements the set holds (the charter not counted).
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether the set holds no statement besides the charter.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The statements in id order.
    pub fn iter(&self) -> impl Iterator<Item = &SignedStatement> {
        self.statements.values()
    }

    /// Computes the membership this set defines.
    pub fn membership(&self) -> Membership {
        Membership::compute(self)
    }
}

/// Where a team stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A founder named in the charter, not revoked.
    Founder,
    /// Admitted through enough introductions.
    Admitted,
    /// Known (it applied or was introduced) but not admitted.
    Pending,
    /// Revoked; the key never returns.
    Revoked,
}

/// Why an introduction does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ignored {
    /// The application it vouches for is not in the set.
    UnknownApplication,
    /// The application it names is by another key.
    ApplicationMismatch,
    /// The sponsor was revoked and no revocation kept this introduction.
    SponsorRevoked,
    /// The sponsor is not a member.
    SponsorNotMember,
}

/// One introduction of a team and whether it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntroductionNote {
    /// The introduction.
    pub id: StatementId,
    /// Its sponsor.
    pub sponsor: TeamId,
    /// Why it does not count, if it does not.
    pub ignored: Option<Ignored>,
}

/// One revocation of a team and whether it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationNote {
    /// The revocation.
    pub id: StatementId,
    /// Who signed it.
    pub revoker: TeamId,
    /// Why.
    pub reason: String,
    /// Whether it counts (a self-revocation, or by a member of M0 other
    /// than the revoked team).
    pub counted: bool,
}

/// Where one team stands and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// The team.
    pub team: TeamId,
    /// Its status.
    pub status: Status,
    /// Its profile: the charter's for a founder, else its latest application's.
    pub profile: Option<Profile>,
    /// Whether an application by it is in the set.
    pub applied: bool,
    /// Its introductions and whether each counts.
    pub introductions: Vec<IntroductionNote>,
    /// Revocations of it and whether each counts.
    pub revocations: Vec<RevocationNote>,
    /// Introductions needed (k) and revocations needed (r).
    pub policy: Policy,
}

impl Standing {
    /// The distinct sponsors whose introductions count (a sponsor who
    /// signed twice counts, and is listed, once), in id order.
    pub fn sponsors(&self) -> impl Iterator<Item = &TeamId> {
        self.introductions
            .iter()
            .filter(|i| i.ignored.is_none())
            .map(|i| &i.sponsor)
            .collect::<BTreeSet<_>>()
            .into_iter()
    }

    /// The distinct revokers whose revocations count, in id order.
    pub fn revokers(&self) -> impl Iterator<Item = &TeamId> {
        self.revocations
            .iter()
            .filter(|r| r.counted)
            .map(|r| &r.revoker)
            .collect::<BTreeSet<_>>()
            .into_iter()
    }

    /// Revocations that count but are not yet a quorum (a member some, not
    /// enough, members revoked), as "1 of 2 (by 8e3162ff)"; none when the
    /// team is revoked or nobody revoked it.
    pub fn revocation_pending(&self) -> Option<String> {
        let revokers: Vec<&TeamId> = self.revokers().collect();
        if self.status == Status::Revoked || revokers.is_empty() {
            return None;
        }
        Some(format!(
            "revocation pending: {} of {} (by {})",
            revokers.len(),
            self.policy.revocation_quorum,
            revokers
                .iter()
                .map(|t| t.short())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// One line saying why the team is or is not a member.
    pub fn reason(&self) -> String {
        let short = |ids: Vec<&TeamId>| -> String {
            ids.iter().map(|i| i.short()).collect::<Vec<_>>().join(", ")
        };
        let sponsors: Vec<_> = self.sponsors().collect();
        let k = self.policy.sponsors_required;
        let pending = self
            .revocation_pending()
            .map_or_else(String::new, |p| format!("; {p}"));
        match self.status {
            Status::Founder => format!("founder named in the charter{pending}"),
            Status::Admitted => format!(
                "introduced by {} ({} sponsor{}, {k} required){pending}",
                short(sponsors.clone()),
                sponsors.len(),
                if sponsors.len() == 1 { "" } else { "s" }
            ),
            Status::Revoked => {
                let revokers: Vec<_> = self.revokers().collect();
                if revokers.contains(&&self.team) {
                    "revoked by itself".to_owned()
                } else {
                    format!(
                        "revoked by {} (quorum {})",
                        short(revokers),
                        self.policy.revocation_quorum
                    )
                }
            }
            Status::Pending => {
                let mut parts = vec![];
                if !self.applied {
                    parts.push("no application".to_owned());
                }
                parts.push(format!(
                    "{} of {k} introductions count{}",
                    sponsors.len(),
                    if sponsors.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", short(sponsors.clone()))
                    }
                ));
                for i in self.introductions.iter() {
                    if let Some(why) = i.ignored {
                        let why = match why {
                            Ignored::UnknownApplication => "its application is not known here",
                            Ignored::ApplicationMismatch => "it names another team's application",
                            Ignored::SponsorRevoked => "the sponsor was revoked",
                            Ignored::SponsorNotMember => "the sponsor is not a member",
                        };
                        parts.push(format!(
                            "introduction by {} ignored: {why}",
                            i.sponsor.short()
                        ));
                    }
                }
                parts.extend(self.revocation_pending());
                parts.join("; ")
            }
        }
    }
}

/// The members of a network and the standing of every team it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    members: BTreeSet<TeamId>,
    standings: BTreeMap<TeamId, Standing>,
    /// For each revoked key, the union of the document heads its counted
    /// revocations keep.
    #[serde(skip)]
    kept_heads: BTreeMap<TeamId, BTreeSet<ChangeHash>>,
}

impl Membership {
    /// Whether `id` is a member.
    pub fn is_member(&self, id: &TeamId) -> bool {
        self.members.contains(id)
    }

    /// Whether `id` is revoked (a revoked key never returns).
    pub fn is_revoked(&self, id: &TeamId) -> bool {
        self.standing(id)
            .is_some_and(|s| s.status == Status::Revoked)
    }

    /// The members, in key order.
    pub fn members(&self) -> &BTreeSet<TeamId> {
        &self.members
    }

    /// Why `id` is or is not a member; `None` for a key the set never names.
    pub fn standing(&self, id: &TeamId) -> Option<&Standing> {
        self.standings.get(id)
    }

    /// Every team the set names, in key order.
    pub fn standings(&self) -> impl Iterator<Item = &Standing> {
        self.standings.values()
    }

    /// For a revoked key, the document heads its revocations keep: the
    /// union of `kept_heads` over its counted revocations. The key's
    /// document changes stay valid only within the causal past of these
    /// heads. `None` for a key that is not revoked.
    pub fn kept_heads(&self, id: &TeamId) -> Option<&BTreeSet<ChangeHash>> {
        self.kept_heads.get(id)
    }

    fn compute(set: &StatementSet) -> Self {
        let charter = set.charter();
        let policy = charter.body().policy();
        let k = usize::from(policy.sponsors_required);
        let r = usize::from(policy.revocation_quorum);
        let founders: BTreeSet<TeamId> = charter.body().founders().iter().map(|f| f.id).collect();

        let mut applications: BTreeMap<StatementId, &Application> = BTreeMap::new();
        let mut intros_of: BTreeMap<TeamId, Vec<(StatementId, &Introduction)>> = BTreeMap::new();
        let mut revocations_of: BTreeMap<TeamId, Vec<(StatementId, &Revocation)>> = BTreeMap::new();
        for s in set.iter() {
            match s.statement() {
                Statement::Application(a) => {
                    applications.insert(s.id(), a);
                }
                Statement::Introduction(i) => {
                    intros_of.entry(i.applicant).or_default().push((s.id(), i))
                }
                Statement::Revocation(v) => revocations_of
                    .entry(v.revoked)
                    .or_default()
                    .push((s.id(), v)),
            }
        }
        let application_problem = |i: &Introduction| match applications.get(&i.application) {
            None => Some(Ignored::UnknownApplication),
            Some(a) if a.applicant != i.applicant => Some(Ignored::ApplicationMismatch),
            Some(_) => None,
        };

        // Rule 1: every well-formed introduction by a member counts towards M0.
        let m0 = fixpoint(&founders, &BTreeSet::new(), &intros_of, k, |_, i, m| {
            application_problem(i).is_none() && m.contains(&i.sponsor)
        });

        // Rule 2: revocations count when self-signed or by M0 members.
        let counted = |v: &Revocation| v.revoker == v.revoked || m0.contains(&v.revoker);
        let mut revoked = BTreeSet::new();
        let mut kept: BTreeMap<TeamId, BTreeSet<StatementId>> = BTreeMap::new();
        let mut kept_heads: BTreeMap<TeamId, BTreeSet<ChangeHash>> = BTreeMap::new();
        for (x, revs) in &revocations_of {
            let self_revoked = revs.iter().any(|(_, v)| v.revoker == *x);
            let others: BTreeSet<_> = revs
                .iter()
                .filter(|(_, v)| v.revoker != *x && counted(v))
                .map(|(_, v)| v.revoker)
                .collect();
            if self_revoked || others.len() >= r {
                revoked.insert(*x);
                // Rule 3: the frontier is the union over counted revocations.
                let frontier = kept.entry(*x).or_default();
                let heads = kept_heads.entry(*x).or_default();
                for (_, v) in revs.iter().filter(|(_, v)| counted(v)) {
                    frontier.extend(v.kept_introductions.iter().copied());
                    heads.extend(v.kept_heads.iter().copied());
                }
            }
        }

        // Rule 4: a revoked sponsor's kept introductions count as they did in
        // M0 (so only if the sponsor was in M0); its others are void.
        let judge = |id: StatementId, i: &Introduction, m: &BTreeSet<TeamId>| {
            application_problem(i).or_else(|| {
                if revoked.contains(&i.sponsor) {
                    let is_kept = kept.get(&i.sponsor).is_some_and(|f| f.contains(&id));
                    match (is_kept, m0.contains(&i.sponsor)) {
                        (false, _) => Some(Ignored::SponsorRevoked),
                        (true, false) => Some(Ignored::SponsorNotMember),
                        (true, true) => None,
                    }
                } else if m.contains(&i.sponsor) {
                    None
                } else {
                    Some(Ignored::SponsorNotMember)
                }
            })
        };
        let start: BTreeSet<TeamId> = founders.difference(&revoked).copied().collect();
        let members = fixpoint(&start, &revoked, &intros_of, k, |id, i, m| {
            judge(id, i, m).is_none()
        });

        // Each applicant's latest application (by stated time, then id),
        // whose profile its standing shows: one pass, not one per team.
        let mut latest: BTreeMap<TeamId, (u64, StatementId, &Application)> = BTreeMap::new();
        for (id, a) in &applications {
            let key = (a.created_at, *id, *a);
            latest
                .entry(a.applicant)
                .and_modify(|l| {
                    if (key.0, key.1) > (l.0, l.1) {
                        *l = key;
                    }
                })
                .or_insert(key);
        }

        let mut named: BTreeSet<TeamId> = founders.clone();
        named.extend(applications.values().map(|a| a.applicant));
        named.extend(intros_of.keys().copied());
        named.extend(revoked.iter().copied());

        let standings = named
            .into_iter()
            .map(|team| {
                let status = if revoked.contains(&team) {
                    Status::Revoked
                } else if founders.contains(&team) {
                    Status::Founder
                } else if members.contains(&team) {
                    Status::Admitted
                } else {
                    Status::Pending
                };
                let profile = charter
                    .body()
                    .founders()
                    .iter()
                    .find(|f| f.id == team)
                    .map(|f| f.profile.clone())
                    .or_else(|| latest.get(&team).map(|(_, _, a)| a.profile.clone()));
                let introductions = intros_of
                    .get(&team)
                    .into_iter()
                    .flatten()
                    .map(|(id, i)| IntroductionNote {
                        id: *id,
                        sponsor: i.sponsor,
                        ignored: judge(*id, i, &members),
                    })
                    .collect();
                let revocations = revocations_of
                    .get(&team)
                    .into_iter()
                    .flatten()
                    .map(|(id, v)| RevocationNote {
                        id: *id,
                        revoker: v.revoker,
                        reason: v.reason.clone(),
                        counted: counted(v),
                    })
                    .collect();
                let standing = Standing {
                    team,
                    status,
                    profile,
                    applied: latest.contains_key(&team),
                    introductions,
                    revocations,
                    policy,
                };
                (team, standing)
            })
            .collect();
        Self {
            members,
            standings,
            kept_heads,
        }
    }
}

/// The least set containing `start` and every team outside `excluded` that
/// has introductions from at least `k` distinct sponsors other than itself,
/// counting those introductions that `counts` accepts given the set so far.
fn fixpoint(
    start: &BTreeSet<TeamId>,
    excluded: &BTreeSet<TeamId>,
    intros_of: &BTreeMap<TeamId, Vec<(StatementId, &Introduction)>>,
    k: usize,
    counts: impl Fn(StatementId, &Introduction, &BTreeSet<TeamId>) -> bool,
) -> BTreeSet<TeamId> {
    let mut members = start.clone();
    loop {
        let mut grew = false;
        for (x, intros) in intros_of {
            if members.contains(x) || excluded.contains(x) {
                continue;
            }
            let sponsors: BTreeSet<&TeamId> = intros
                .iter()
                .filter(|(id, i)| i.sponsor != *x && counts(*id, i, &members))
                .map(|(_, i)| &i.sponsor)
                .collect();
            if sponsors.len() >= k {
                members.insert(*x);
                grew = true;
            }
        }
        if !grew {
            return members;
        }
    }
}

#[cfg(test)]
mod tests;
