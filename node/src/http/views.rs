//! What the local API reads and does, as functions on the engine. Each
//! runs inside the event loop (the API sends it as a job), so it sees one
//! consistent state and its edits are pushed as soon as it returns.

use trustmesh_bootstrap::{IntroductionFile, RevocationFile, TrustFile, check_network};
use trustmesh_protocol::{
    Advisory, AdvisoryDocument, AdvisoryFilter, AdvisoryUpdate, Contact, CsafImport, CsafVersion,
    DocId, DocKind, DocRef, Frontier, Ignored, Membership, Origin, SchemaError, SignedStatement,
    Status, TeamId, TeamSpec, Tlp, TlpSource, Tool, ToolRegistry,
};

use crate::api::{
    self, AdvisoryDetail, AdvisoryQuery, AdvisorySummary, Changed, ContactDetail, ContactEntry,
    CsafImported, DocMeta, EnvelopeView, Health, HealthState, Imported, IntroductionIgnored,
    IntroductionView, MemberStatus, MemberView, Members, PeerCounts, Published, RevocationView,
    Revoked, Sponsored, SyncCounters, ToolChanged, ToolEntry, ToolRemoved, Updated,
};
use crate::engine::{Engine, Snapshot, now_ms};

/// An API failure: an HTTP status and a message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// 400: the request is wrong.
    pub fn bad(message: impl std::fmt::Display) -> Self {
        Self {
            status: 400,
            message: message.to_string(),
        }
    }

    /// 404: nothing there.
    pub fn not_found(message: impl std::fmt::Display) -> Self {
        Self {
            status: 404,
            message: message.to_string(),
        }
    }

    /// 500: the node failed.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self {
            status: 500,
            message: message.to_string(),
        }
    }
}

/// How far ahead of this node's clock an author's stated date may be
/// before it is treated as wrong (as iroh-docs and Earthstar bound it).
pub const CLOCK_SKEW_SECS: u64 = 600;

/// Orders advisories newest first by their stated dates. Authors state
/// their dates, and one far in the future must not pin an advisory to the
/// top of every list: a date more than [`CLOCK_SKEW_SECS`] ahead of `now`
/// is not believed; it is marked, and sorts with the undated, last.
pub fn newest_first(list: &mut [AdvisorySummary], now: u64) {
    let bound = now + CLOCK_SKEW_SECS;
    for a in list.iter_mut() {
        a.ahead_of_clock = a.updated.is_some_and(|u| u > bound);
    }
    list.sort_by_key(|a| std::cmp::Reverse(a.updated.filter(|_| !a.ahead_of_clock)));
}

/// The result of a view.
pub type ApiResult<T> = Result<T, ApiError>;

fn member_status(s: Status) -> MemberStatus {
    match s {
        Status::Founder => MemberStatus::Founder,
        Status::Admitted => MemberStatus::Admitted,
        Status::Pending => MemberStatus::Pending,
        Status::Revoked => MemberStatus::Revoked,
    }
}

fn ignored(i: Ignored) -> IntroductionIgnored {
    match i {
        Ignored::UnknownApplication => IntroductionIgnored::UnknownApplication,
        Ignored::ApplicationMismatch => IntroductionIgnored::ApplicationMismatch,
        Ignored::SponsorRevoked => IntroductionIgnored::SponsorRevoked,
        Ignored::SponsorNotMember => IntroductionIgnored::SponsorNotMember,
    }
}

/// The node's health and counters, from a snapshot and the replica's
/// digest.
pub fn status(snap: &Snapshot, digest: [u8; 32]) -> api::Status {
    let s = &snap.core;
    api::Status {
        team_id: snap.team,
        peer_id: snap.peer_id.clone(),
        network_id: snap.network_id,
        network: snap.network.clone(),
        member: snap.member,
        members: snap.members,
        listen: snap.listen.clone(),
        peers: PeerCounts {
            connected: snap.peers.len(),
            members: snap.peers.iter().filter(|p| p.open).count(),
            known_addresses: snap.known_addresses,
        },
        statements: snap.statements,
        documents: snap.documents,
        digest: hex::encode(digest),
        uptime_secs: snap.uptime.as_secs(),
        sync: SyncCounters {
            rounds_opened: s.rounds_opened,
            rounds_finished: s.rounds_finished,
            messages_in: s.messages_in,
            messages_out: s.messages_out,
            statements_new: s.statements_new,
            changes_new: s.changes_new,
            changes_duplicate: s.changes_duplicate,
            changes_unknown_author: s.changes_unknown_author,
            changes_revoked_author: s.changes_revoked_author,
            rejected: s
                .rejected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            transmits_dropped: s.transmits_dropped,
            store_failures: s.store_failures,
            joins_admitted: s.joins_admitted,
            joins_refused: s.joins_refused,
        },
        net: snap.net.clone(),
        last_sync_secs: snap.last_sync.map(|d| d.as_secs()),
        progress: snap.progress,
        alerts: snap.alerts,
        health: health(snap),
        reachability: snap.reachability.clone(),
    }
}

/// The status of the engine now.
pub fn engine_status(e: &Engine) -> api::Status {
    status(&e.snapshot(), e.node().digest())
}

/// Whether the node is doing its job, with the reasons when it is not,
/// and a one-line summary such as "healthy: member, 6 peers (5 members),
/// last sync 3 s ago, 0 store failures".
pub fn health(snap: &Snapshot) -> Health {
    let peers = &snap.peers;
    let open = peers.iter().filter(|p| p.open).count();
    let others = snap.members.saturating_sub(1);
    let store_failures = snap.core.store_failures;
    let last_sync = snap.last_sync.map(|d| d.as_secs());
    // A few missed rounds are normal (fanout picks random members).
    let stale_after = (snap.sync_interval.as_secs() * 6).max(60);
    let alerts = &snap.alerts;
    let mut reasons = Vec::new();
    if !snap.member {
        reasons.push("not a member".to_owned());
    }
    if others > 0 && open == 0 {
        reasons.push("no member peer connected".to_owned());
    }
    if store_failures > 0 {
        reasons.push(format!("{store_failures} store failures"));
    }
    match last_sync {
        Some(s) if others > 0 && s > stale_after => reasons.push(format!("last sync {s} s ago")),
        None if others > 0 && snap.uptime.as_secs() > stale_after => {
            reasons.push("no sync round finished yet".to_owned());
        }
        _ => {}
    }
    if snap.reachability.restricted_without_path > 0 {
        reasons.push(format!(
            "{} restricted document(s) cannot reach an audience member",
            snap.reachability.restricted_without_path
        ));
    }
    let relaying = &snap.reachability.relaying;
    if others > 0 && relaying.nat == crate::api::Nat::Private && relaying.relays.is_empty() {
        reasons.push("not reachable and no relay holds a reservation for this node".to_owned());
    }
    if alerts.pending > 0 && alerts.failed > 0 {
        reasons.push(format!(
            "{} alert deliveries pending after failures",
            alerts.pending
        ));
    }
    let sync = last_sync.map_or_else(
        || "no sync yet".to_owned(),
        |s| format!("last sync {s} s ago"),
    );
    let state = if reasons.is_empty() {
        HealthState::Healthy
    } else {
        HealthState::Degraded
    };
    let r = &snap.reachability;
    let mut summary = format!(
        "{}: {}, {} of {} members reachable, {} peers ({} members), {sync}, {store_failures} store failures",
        match state {
            HealthState::Healthy => "healthy",
            HealthState::Degraded => "degraded",
        },
        if snap.member {
            "member"
        } else {
            "not a member"
        },
        r.reachable,
        r.reachable + r.unreachable,
        peers.len(),
        open,
    );
    if relaying.relayed_members > 0 {
        summary.push_str(&format!(", {} through relays", relaying.relayed_members));
    }
    if relaying.nat == crate::api::Nat::Private {
        summary.push_str(&format!(
            ", not reachable ({}): {} relay reservation(s)",
            relaying.nat_from,
            relaying.relays.len()
        ));
    }
    if !reasons.is_empty() {
        summary.push_str(&format!(" [{}]", reasons.join("; ")));
    }
    let unreachable: Vec<String> = r
        .members
        .iter()
        .filter(|m| !m.reachable)
        .map(|m| {
            let waiting = if m.restricted > 0 {
                format!(
                    " ({} restricted document(s) wait for a connection, direct or relayed)",
                    m.restricted
                )
            } else {
                String::new()
            };
            format!("{} for {} s{waiting}", m.team.short(), m.for_secs)
        })
        .collect();
    if !unreachable.is_empty() {
        summary.push_str(&format!("; unreachable: {}", unreachable.join(", ")));
    }
    Health {
        state,
        reasons,
        summary,
    }
}

/// Every team the node knows, with its standing and why.
pub fn members(e: &Engine) -> Members {
    members_json(e.node().statements().charter(), e.node().membership())
}

/// The members report, shared with the offline `trustmesh members`.
pub fn members_json(charter: &trustmesh_protocol::Charter, membership: &Membership) -> Members {
    let standings = membership
        .standings()
        .map(|s| {
            let profile = s.profile.as_ref();
            MemberView {
                team: s.team,
                status: member_status(s.status),
                member: membership.is_member(&s.team),
                profile: s.profile.clone(),
                short_name: profile.map(|p| p.short_name.clone()),
                name: profile.map(|p| p.name.clone()),
                country: profile.map(|p| p.country.clone()),
                applied: s.applied,
                introductions: s
                    .introductions
                    .iter()
                    .map(|i| IntroductionView {
                        id: i.id,
                        sponsor: i.sponsor,
                        ignored: i.ignored.map(ignored),
                    })
                    .collect(),
                revocations: s
                    .revocations
                    .iter()
                    .map(|r| RevocationView {
                        id: r.id,
                        revoker: r.revoker,
                        reason: r.reason.clone(),
                        counted: r.counted,
                    })
                    .collect(),
                policy: s.policy,
                reason: s.reason(),
                sponsors: s.sponsors().copied().collect(),
                revokers: s.revokers().copied().collect(),
            }
        })
        .collect();
    let policy = charter.body().policy();
    Members {
        network_id: charter.network_id(),
        network: charter.body().name().to_owned(),
        sponsors_required: policy.sponsors_required,
        revocation_quorum: policy.revocation_quorum,
        members: membership.members().iter().copied().collect(),
        standings,
    }
}

/// Connected peers.
pub fn peers(snap: &Snapshot) -> api::Peers {
    api::Peers {
        peers: snap.peers.clone(),
        known_addresses: snap.known_addresses,
    }
}

/// A team named by id, id prefix or short name.
pub fn team(e: &Engine, name: &str) -> ApiResult<api::TeamRef> {
    let membership = e.node().membership();
    let team = resolve_team(membership, name)?;
    Ok(api::TeamRef {
        team,
        short_name: short_name(membership, &team),
        member: membership.is_member(&team),
    })
}

/// Whether a team is or was a member (not a bare applicant): only those
/// take part in name resolution, so an application nobody admitted cannot
/// make a member's short name ambiguous or borrow it.
fn admitted(s: &trustmesh_protocol::Standing) -> bool {
    s.status != Status::Pending
}

/// Finds a team by id, PeerId, unique id prefix, or short name. Short names
/// resolve among teams that are or were members, current members first;
/// two of them with one short name are told apart by the id prefix.
pub fn resolve_team(membership: &Membership, text: &str) -> Result<TeamId, ApiError> {
    if let Ok(id) = text.parse::<TeamId>() {
        return Ok(id);
    }
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let by_id: Vec<TeamId> = membership
        .standings()
        .filter(|s| lower.len() >= 4 && s.team.to_string().starts_with(&lower))
        .map(|s| s.team)
        .collect();
    let named = |current: bool| -> Vec<TeamId> {
        membership
            .standings()
            .filter(|s| admitted(s) && (!current || membership.is_member(&s.team)))
            .filter(|s| {
                s.profile
                    .as_ref()
                    .is_some_and(|p| p.short_name.eq_ignore_ascii_case(t))
            })
            .map(|s| s.team)
            .collect()
    };
    let by_name = match named(true) {
        members if !members.is_empty() => members,
        _ => named(false),
    };
    let mut found = by_id;
    for id in by_name {
        if !found.contains(&id) {
            found.push(id);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(ApiError::not_found(format!("no known team matches {t:?}"))),
        many => Err(ApiError::bad(format!(
            "{t:?} matches {} teams: {}; give the id prefix",
            many.len(),
            many.iter()
                .map(|id| format!("{} ({})", short_name(membership, id), id.short()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A team as people see it: the short name of the profile the network
/// admitted it with, followed by its id prefix when another team that is
/// or was a member has the same short name.
pub fn short_name(membership: &Membership, team: &TeamId) -> String {
    let Some(name) = membership
        .standing(team)
        .and_then(|s| s.profile.as_ref())
        .map(|p| p.short_name.clone())
    else {
        return team.short();
    };
    let clash = membership.standings().any(|s| {
        s.team != *team
            && admitted(s)
            && s.profile
                .as_ref()
                .is_some_and(|p| p.short_name.eq_ignore_ascii_case(&name))
    });
    if clash {
        format!("{name} ({})", team.short())
    } else {
        name
    }
}

/// A warning when another team that is or was a member already goes by
/// `short` (the applicant's short name), for the sponsor to read before
/// the clash spreads.
pub fn name_clash(membership: &Membership, applicant: &TeamId, short: &str) -> Option<String> {
    let others: Vec<String> = membership
        .standings()
        .filter(|s| s.team != *applicant && admitted(s))
        .filter(|s| {
            s.profile
                .as_ref()
                .is_some_and(|p| p.short_name.eq_ignore_ascii_case(short))
        })
        .map(|s| s.team.short())
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "warning: {} already goes by the short name {short:?}; the two are told apart by their id prefix",
            others.join(", ")
        )
    })
}

/// A contact entry as views show it: the name, short name and country are
/// those the network admitted the team with; the entry adds the details.
fn as_admitted(membership: &Membership, team: &TeamId, mut c: Contact) -> Contact {
    if let Some(p) = membership.standing(team).and_then(|s| s.profile.as_ref()) {
        c.name.clone_from(&p.name);
        c.short_name = short_name(membership, team);
        c.country.clone_from(&p.country);
    }
    c
}

/// Reads one value of a query parameter by its lowercase name (`-` and
/// `+` read as `_`, so `amber+strict` is AMBER+STRICT, and a `TLP:`
/// prefix is allowed); an unknown value is refused.
fn parse_name<T: std::str::FromStr>(what: &str, text: &str) -> ApiResult<T> {
    let t = text.trim();
    let t = t
        .strip_prefix("TLP:")
        .or_else(|| t.strip_prefix("tlp:"))
        .unwrap_or(t);
    t.to_ascii_lowercase()
        .replace(['-', '+'], "_")
        .parse()
        .map_err(|_| ApiError::bad(format!("unknown {what} {text:?}")))
}

/// The core's typed filter for an advisory query: names parsed into the
/// schema's types (severity then compares in [`trustmesh_protocol::Severity`]'s
/// order), the owner resolved among the members.
pub fn advisory_filter(membership: &Membership, q: &AdvisoryQuery) -> ApiResult<AdvisoryFilter> {
    Ok(AdvisoryFilter {
        categories: q.category.iter().map(|c| c.trim().to_owned()).collect(),
        min_severity: q
            .severity
            .as_ref()
            .map(|s| parse_name("severity", s))
            .transpose()?,
        tlp: q
            .tlp
            .iter()
            .map(|t| parse_tlp(t))
            .collect::<ApiResult<_>>()?,
        statuses: q
            .status
            .iter()
            .map(|s| parse_name("status", s))
            .collect::<ApiResult<_>>()?,
        owners: match &q.owner {
            Some(o) => vec![TeamSpec::Id(resolve_team(membership, o)?)],
            None => vec![],
        },
        text: q.q.clone(),
    })
}

/// A TLP label as the API takes it: the TLP 2.0 label (`AMBER+STRICT`,
/// with or without `TLP:`) or trustmesh's name (`amber_strict`).
pub fn parse_tlp(text: &str) -> Result<Tlp, ApiError> {
    text.parse::<Tlp>()
        .ok()
        .or_else(|| trustmesh_protocol::tlp_of_label(text, None))
        .ok_or_else(|| ApiError::bad(format!("unknown TLP label {text:?}")))
}

/// A comma-separated list of TLP labels, sorted, each once.
pub fn parse_tlp_list(text: &str) -> Result<Vec<Tlp>, ApiError> {
    let mut list = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            crate::config::parse_tlp_label(t)
                .ok_or_else(|| ApiError::bad(format!("unknown TLP label {t:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    list.sort();
    list.dedup();
    Ok(list)
}

/// The summary of an advisory this node may read.
pub fn advisory_summary(
    membership: &Membership,
    doc: &DocId,
    d: &AdvisoryDocument,
) -> AdvisorySummary {
    AdvisorySummary::of(*doc, d, short_name(membership, &d.owner))
}

/// The advisories this node may read, filtered.
pub fn advisories(e: &mut Engine, f: &AdvisoryQuery) -> ApiResult<api::Advisories> {
    let filter = advisory_filter(e.node().membership(), f)?;
    let mut out: Vec<AdvisorySummary> = e
        .advisory_summaries()
        .into_iter()
        .filter(|(a, facts)| filter.matches(&a.owner, None, facts))
        .map(|(a, _)| a)
        .collect();
    newest_first(&mut out, now_ms() / 1000);
    Ok(api::Advisories { advisories: out })
}

fn doc_meta(e: &Engine, doc: &DocId) -> DocMeta {
    let docs = e.node().documents();
    // Sorted and distinct already.
    let authors: Vec<TeamId> = docs.authors(doc).copied().collect();
    let (stored, applied) = docs.counts(doc);
    DocMeta {
        doc: *doc,
        heads: docs.heads(doc),
        changes_applied: applied,
        // Stored but not applied: waiting for dependencies, or kept aside.
        changes_held: stored - applied,
        signed_by: authors,
    }
}

/// One advisory, in full, with who signed its changes.
pub fn advisory(e: &Engine, owner: &str, id: &str) -> ApiResult<AdvisoryDetail> {
    let (owner, doc, d) = read_document(e, owner, id)?;
    let membership = e.node().membership();
    let env = &d.envelope;
    Ok(AdvisoryDetail {
        owner,
        owner_name: short_name(membership, &owner),
        summary: advisory_summary(membership, &doc, &d),
        envelope: EnvelopeView {
            tlp: env.tlp,
            audience: env.audience.clone(),
            co_authors: env.co_authors.clone(),
            indicators: env.indicators.clone(),
            status: env.status,
            original_sha256: env.original.as_ref().map(|o| o.sha256.clone()),
            original_sha512: env.original.as_ref().map(|o| o.sha512.clone()),
            original_signature: env.original.as_ref().and_then(|o| o.signature.clone()),
            sharing_group: env.sharing_group().map(|g| g.id.clone()),
        },
        advisory: match d.envelope.origin {
            Origin::Authored => Some(d.authored().map_err(ApiError::internal)?.advisory),
            Origin::Imported => None,
        },
        csaf: crate::export::csaf::to_value(&d.csaf),
        meta: doc_meta(e, &doc),
    })
}

fn edit_error<E: std::fmt::Display>(err: E) -> ApiError {
    ApiError::bad(err)
}

/// Refuses an audience naming a team that is not a member now (revoked,
/// only applied, or unknown): such a team never receives the advisory, so
/// naming it would mislead the author about who reads it.
fn check_audience(membership: &Membership, audience: &[TeamId]) -> Result<(), ApiError> {
    for t in audience {
        if membership.is_member(t) {
            continue;
        }
        let why = match membership.standing(t).map(|s| s.status) {
            Some(Status::Revoked) => "was revoked",
            Some(_) => "is not a member",
            None => "is no team this node knows",
        };
        return Err(ApiError::bad(format!(
            "the audience names {} ({t}), which {why}; it would never receive the advisory",
            short_name(membership, t)
        )));
    }
    Ok(())
}

/// `a` with its owner in the audience of a restricted label (the owner
/// always reads its own advisory; an import adds it the same way).
fn with_owner(a: &Advisory, owner: TeamId) -> Advisory {
    let mut a = a.clone();
    if a.tlp.is_restricted() && !a.audience.contains(&owner) {
        a.audience.push(owner);
        a.audience.sort();
    }
    a
}

/// Publishes a new advisory owned by this team.
pub fn publish_advisory(e: &mut Engine, a: &Advisory) -> ApiResult<Published> {
    let a = &with_owner(a, e.node().team());
    check_audience(e.node().membership(), &a.audience)?;
    let change = e
        .node_mut()
        .publish_advisory(now_ms(), a)
        .map_err(edit_error)?;
    Ok(Published {
        doc: change.doc(),
        change: change.hash(),
        owner: change.owner(),
        id: a.id.clone(),
    })
}

/// Updates an advisory this team owns or co-authors.
pub fn update_advisory(e: &mut Engine, owner: &str, a: &Advisory) -> ApiResult<Updated> {
    let owner = resolve_team(e.node().membership(), owner)?;
    let a = &with_owner(a, owner);
    check_audience(e.node().membership(), &a.audience)?;
    let held = DocRef::advisory(owner, &a.id)
        .ok()
        .and_then(|d| e.node().documents().get::<AdvisoryDocument>(&d.id()).ok())
        .flatten()
        .map(|d| d.envelope.tlp);
    let update = e
        .node_mut()
        .update_or_continue_advisory(now_ms(), owner, a)
        .map_err(edit_error)?;
    Ok(match update {
        AdvisoryUpdate::Updated(change) => Updated {
            owner,
            id: a.id.clone(),
            changed: change.is_some(),
            change: change.map(|c| c.hash()),
            continued_as: None,
            note: held
                .filter(|h| !h.is_restricted() && a.tlp.is_restricted())
                .map(|h| {
                    format!(
                        "earlier versions went to every member as TLP:{}; TLP:{} applies from this update on and cannot recall them",
                        h.label(),
                        a.tlp.label()
                    )
                }),
        },
        AdvisoryUpdate::Continued { id, change, held } => Updated {
            owner,
            note: Some(format!(
                "{} stays TLP:{held} with its audience (its history cannot go wider); the current text was published as the new advisory {id} under TLP:{}",
                a.id,
                a.tlp.label()
            )),
            id: a.id.clone(),
            changed: true,
            change: Some(change.hash()),
            continued_as: Some(id),
        },
    })
}

/// Every contact entry.
pub fn contacts(e: &Engine) -> api::Contacts {
    let node = e.node();
    let mut out = Vec::new();
    for (doc, r) in node.documents().docs() {
        if r.kind() != DocKind::Contacts {
            continue;
        }
        if let Ok(Some(c)) = node.documents().get::<Contact>(doc) {
            out.push(ContactEntry {
                team: r.owner(),
                member: node.membership().is_member(&r.owner()),
                contact: as_admitted(node.membership(), &r.owner(), c),
            });
        }
    }
    api::Contacts { contacts: out }
}

/// One team's contact entry.
pub fn contact(e: &Engine, team: &str) -> ApiResult<ContactDetail> {
    let team = resolve_team(e.node().membership(), team)?;
    let doc = DocRef::contacts(team).id();
    let c = e
        .node()
        .documents()
        .get::<Contact>(&doc)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(format!("{} has published no contact entry", team.short()))
        })?;
    Ok(ContactDetail {
        team,
        contact: as_admitted(e.node().membership(), &team, c),
        meta: doc_meta(e, &doc),
    })
}

/// Writes this team's contact entry.
pub fn set_contact(e: &mut Engine, c: &Contact) -> ApiResult<Changed> {
    let change = e.node_mut().edit_contact(now_ms(), c).map_err(edit_error)?;
    Ok(Changed {
        changed: change.is_some(),
        change: change.map(|c| c.hash()),
    })
}

/// Tool registries, of every team or one.
pub fn tools(e: &Engine, team: Option<&str>) -> ApiResult<api::Tools> {
    let node = e.node();
    let team = match team {
        Some(t) => Some(resolve_team(node.membership(), t)?),
        None => None,
    };
    let mut out = Vec::new();
    for (doc, r) in node.documents().docs() {
        if r.kind() != DocKind::Tools || team.is_some_and(|t| t != r.owner()) {
            continue;
        }
        if let Ok(Some(reg)) = node.documents().get::<ToolRegistry>(doc) {
            for tool in reg.tools.into_values() {
                out.push(ToolEntry {
                    team: r.owner(),
                    team_name: short_name(node.membership(), &r.owner()),
                    tool,
                });
            }
        }
    }
    Ok(api::Tools { tools: out })
}

/// Adds or updates a tool in this team's registry. `must_exist`: refuse
/// to create (an update); `must_not_exist`: refuse to replace (an add).
pub fn upsert_tool(
    e: &mut Engine,
    tool: &Tool,
    must_exist: Option<bool>,
) -> ApiResult<ToolChanged> {
    let doc = DocRef::tools(e.node().team()).id();
    let exists = e
        .node()
        .documents()
        .get::<ToolRegistry>(&doc)
        .ok()
        .flatten()
        .is_some_and(|r| r.tools.contains_key(&tool.name));
    match must_exist {
        Some(true) if !exists => {
            return Err(ApiError::not_found(format!(
                "no tool named {:?} to update",
                tool.name
            )));
        }
        Some(false) if exists => {
            return Err(ApiError {
                status: 409,
                message: format!("a tool named {:?} exists; update it instead", tool.name),
            });
        }
        _ => {}
    }
    let change = e
        .node_mut()
        .upsert_tool(now_ms(), tool)
        .map_err(edit_error)?;
    Ok(ToolChanged {
        name: tool.name.clone(),
        changed: change.is_some(),
    })
}

/// Removes a tool from this team's registry.
pub fn remove_tool(e: &mut Engine, name: &str) -> ApiResult<ToolRemoved> {
    let change = e
        .node_mut()
        .remove_tool(now_ms(), name)
        .map_err(edit_error)?;
    if change.is_none() {
        return Err(ApiError::not_found(format!("no tool named {name:?}")));
    }
    Ok(ToolRemoved {
        name: name.to_owned(),
        removed: true,
    })
}

fn submit(e: &mut Engine, statements: Vec<SignedStatement>) -> Result<(usize, usize), ApiError> {
    let (mut added, mut known) = (0, 0);
    for s in statements {
        match e.node_mut().submit_statement(s) {
            Ok(true) => added += 1,
            Ok(false) => known += 1,
            Err(err) => return Err(ApiError::bad(err)),
        }
    }
    Ok((added, known))
}

/// Signs an introduction for an application file, stores and spreads it.
pub fn sponsor(e: &mut Engine, application: &str, note: &str) -> ApiResult<Sponsored> {
    let file = TrustFile::parse(application).map_err(ApiError::bad)?;
    let charter = e.node().statements().charter().clone();
    check_network(&charter, &file).map_err(ApiError::bad)?;
    let kind = file.kind_name();
    let TrustFile::Application(app) = file else {
        return Err(ApiError::bad(format!(
            "this is a {kind} file, not an application"
        )));
    };
    if app.applicant == e.node().team() {
        return Err(ApiError::bad("a team cannot sponsor its own application"));
    }
    let intro = IntroductionFile::create(&charter, e.key(), &app, note, now_ms() / 1000)
        .map_err(ApiError::bad)?;
    let (a, i) = intro.statements().map_err(ApiError::internal)?;
    submit(e, vec![a, i])?;
    let applicant = app.applicant;
    let membership = e.node().membership();
    Ok(Sponsored {
        warnings: name_clash(membership, &applicant, &app.profile.short_name)
            .into_iter()
            .collect(),
        introduction: TrustFile::Introduction(intro),
        applicant,
        applicant_is_member: membership.is_member(&applicant),
        sponsor_is_member: e.node().is_member(),
    })
}

/// Revokes a team, keeping (unless `keep_none`) the frontier the core
/// computes ([`trustmesh_protocol::Node::revocation_frontier`]: every
/// introduction by it and the heads of every document it wrote that this
/// node holds), the same one `trustmesh revoke` keeps offline.
pub fn revoke(e: &mut Engine, team: &str, reason: &str, keep_none: bool) -> ApiResult<Revoked> {
    let revoked = resolve_team(e.node().membership(), team)?;
    let node = e.node();
    let frontier = if keep_none {
        Frontier::default()
    } else {
        node.revocation_frontier(&revoked)
    };
    let (kept_intros, kept_heads) = (frontier.introductions, frontier.heads);
    let charter = node.statements().charter().clone();
    let file = RevocationFile::create(
        &charter,
        e.key(),
        revoked,
        reason,
        now_ms() / 1000,
        kept_intros,
        kept_heads,
    )
    .map_err(ApiError::bad)?;
    let st = file.statement().map_err(ApiError::internal)?;
    submit(e, vec![st])?;
    let standing = e
        .node()
        .membership()
        .standing(&revoked)
        .map(|s| (member_status(s.status), s.reason()));
    Ok(Revoked {
        revocation: TrustFile::Revocation(file),
        status: standing.as_ref().map(|s| s.0),
        reason: standing.map(|s| s.1),
    })
}

/// Adds the statements of trustmesh files (applications, introductions,
/// revocations) to the running node.
pub fn import(e: &mut Engine, files: &[String]) -> ApiResult<Imported> {
    let charter = e.node().statements().charter().clone();
    let mut statements = Vec::new();
    for text in files {
        let file = TrustFile::parse(text).map_err(ApiError::bad)?;
        // A charter carries no statements; another network's is an error.
        check_network(&charter, &file).map_err(ApiError::bad)?;
        statements.extend(file.statements().map_err(ApiError::bad)?);
    }
    let (added, known) = submit(e, statements)?;
    Ok(Imported {
        added,
        already_known: known,
    })
}

/// The team an export speaks for: the name its admitted profile gives
/// (never a name its contact entry claims), with the entry's web site and
/// e-mail where it gives them, else the profile's.
pub(crate) fn export_author(e: &Engine, team: TeamId) -> crate::export::Author {
    let node = e.node();
    let contact = node
        .documents()
        .get::<Contact>(&DocRef::contacts(team).id())
        .ok()
        .flatten();
    let Some(p) = node
        .membership()
        .standing(&team)
        .and_then(|s| s.profile.clone())
    else {
        return crate::export::Author {
            team,
            name: String::new(),
            website: String::new(),
            email: String::new(),
        };
    };
    let given = |f: fn(&Contact) -> &String, fallback: String| {
        contact
            .as_ref()
            .map(f)
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or(fallback)
    };
    crate::export::Author {
        team,
        name: p.name,
        website: given(|c| &c.website, p.website),
        email: given(|c| &c.email, p.email),
    }
}

fn read_document(
    e: &Engine,
    owner: &str,
    id: &str,
) -> Result<(TeamId, DocId, AdvisoryDocument), ApiError> {
    let owner = resolve_team(e.node().membership(), owner)?;
    let doc = DocRef::advisory(owner, id).map_err(ApiError::bad)?.id();
    let d = e
        .node()
        .documents()
        .get::<AdvisoryDocument>(&doc)
        .map_err(|err| match err {
            SchemaError::WrongKind { .. } => ApiError::not_found(err),
            other => ApiError::internal(other),
        })?
        .ok_or_else(|| ApiError::not_found(format!("no advisory {id} by {}", owner.short())))?;
    Ok((owner, doc, d))
}

/// An advisory as a CSAF 2.0 or 2.1 document (`version`, 2.0 when not
/// given): an imported one as imported, but for its distribution.
pub fn advisory_csaf(
    e: &Engine,
    owner: &str,
    id: &str,
    version: Option<&str>,
) -> ApiResult<serde_json::Value> {
    let version = match version {
        None => CsafVersion::V2_0,
        Some(v) => CsafVersion::from_name(v)
            .ok_or_else(|| ApiError::bad(format!("CSAF version {v:?}: 2.0 or 2.1")))?,
    };
    let (owner, _, d) = read_document(e, owner, id)?;
    if !d.complete {
        return Err(ApiError::bad(
            "the advisory is still arriving (a write spanning several changes); try again shortly",
        ));
    }
    let csaf = crate::export::csaf::export_document(&d, &export_author(e, owner), version);
    Ok(crate::export::csaf::to_value(&csaf))
}

/// The publisher's bytes a forwarded advisory keeps, checked against their
/// hashes, with the publisher's signature when it was given.
pub fn advisory_original(e: &Engine, owner: &str, id: &str) -> ApiResult<api::OriginalDocument> {
    let (_, doc, d) = read_document(e, owner, id)?;
    let missing = || {
        ApiError::not_found(format!(
            "{id} keeps no publisher's bytes: it was written here, or imported without --forwarded"
        ))
    };
    let original = d.envelope.original.clone().ok_or_else(missing)?;
    let bytes = e
        .node()
        .documents()
        .advisory_original(&doc)
        .map_err(ApiError::internal)?
        .ok_or_else(missing)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ApiError::internal("the publisher's bytes are not UTF-8 text"))?;
    Ok(api::OriginalDocument {
        text,
        sha256: original.sha256,
        sha512: original.sha512,
        signature: original.signature,
    })
}

/// An advisory's CVEs and indicators as a STIX 2.1 bundle.
pub fn advisory_stix(e: &Engine, owner: &str, id: &str) -> ApiResult<serde_json::Value> {
    let (owner, doc, d) = read_document(e, owner, id)?;
    Ok(crate::export::stix::bundle(
        &d,
        &doc.to_string(),
        &export_author(e, owner),
        now_ms() / 1000,
    ))
}

/// Every whole advisory this node holds with its label, the time it first
/// held the advisory's current version (Unix ms) and its STIX 2.1 bundle,
/// in document order: what the TAXII collections and the MISP feed serve.
pub fn advisory_exports(e: &Engine) -> Vec<(DocId, AdvisoryDocument, u64, crate::export::Author)> {
    let docs = e.node().documents();
    docs.docs()
        .filter(|(_, r)| r.kind() == DocKind::Advisory)
        .filter_map(|(doc, r)| {
            let d = docs.get::<AdvisoryDocument>(doc).ok().flatten()?;
            if !d.complete {
                return None;
            }
            let arrival = e.arrival(doc).unwrap_or_else(now_ms);
            Some((*doc, d, arrival, export_author(e, r.owner())))
        })
        .collect()
}

/// The TAXII catalog of every advisory's STIX 2.1 objects.
pub fn taxii_catalog(e: &Engine) -> crate::export::taxii::Catalog {
    let now = now_ms() / 1000;
    crate::export::taxii::Catalog::build(advisory_exports(e).into_iter().map(
        |(doc, d, arrival, author)| {
            let bundle = crate::export::stix::bundle(&d, &doc.to_string(), &author, now);
            (d.envelope.tlp, arrival, bundle)
        },
    ))
}

/// The MISP feed of the advisories labelled one of `tlp`.
pub fn misp_feed(e: &Engine, tlp: &[Tlp]) -> crate::export::misp::Feed {
    let events: Vec<serde_json::Value> = advisory_exports(e)
        .into_iter()
        .filter(|(_, d, _, _)| tlp.contains(&d.envelope.tlp))
        .map(|(doc, d, arrival, author)| {
            crate::export::misp::event(&d, &doc.to_string(), &author, arrival)
        })
        .collect();
    crate::export::misp::feed(&events)
}

/// The contacts directory as one JSON document with every RFC 2350 field.
pub fn contacts_export(e: &Engine) -> ApiResult<serde_json::Value> {
    let node = e.node();
    let entries: Vec<(TeamId, bool, Contact)> = node
        .documents()
        .docs()
        .filter(|(_, r)| r.kind() == DocKind::Contacts)
        .filter_map(|(doc, r)| {
            let c = node.documents().get::<Contact>(doc).ok().flatten()?;
            let c = as_admitted(node.membership(), &r.owner(), c);
            Some((r.owner(), node.membership().is_member(&r.owner()), c))
        })
        .collect();
    serde_json::to_value(crate::export::contacts(&entries, now_ms() / 1000))
        .map_err(ApiError::internal)
}

/// Imports a CSAF 2.0 or 2.1 document as an advisory of this team, or as
/// the next revision of the advisory that holds its (publisher namespace,
/// tracking id).
pub fn import_csaf(
    e: &mut Engine,
    csaf: &[u8],
    q: &api::ImportCsafQuery,
) -> ApiResult<CsafImported> {
    let membership = e.node().membership();
    let tlp = q.tlp.as_deref().map(parse_tlp).transpose()?;
    let audience = match &q.audience {
        Some(list) => {
            let teams = list
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| resolve_team(membership, t))
                .collect::<Result<Vec<_>, _>>()?;
            check_audience(membership, &teams)?;
            Some(teams)
        }
        None => None,
    };
    let mut import = CsafImport::new(csaf, [0; 16]);
    import.tlp = tlp;
    import.audience = audience;
    import.forwarded = q.forwarded.unwrap_or(false) || q.signature.is_some();
    import.signature = q.signature.clone();
    let imported = e.import_csaf(&import).map_err(edit_error)?;
    Ok(CsafImported {
        doc: imported.doc.id(),
        owner: imported.doc.owner(),
        id: imported.doc.name().to_owned(),
        changes: imported.changes.iter().map(|c| c.hash()).collect(),
        previous: imported.previous,
        tlp: imported.tlp,
        tlp_from: match imported.tlp_source {
            TlpSource::Document => "document",
            TlpSource::Importer => "importer",
            TlpSource::Held => "held",
        }
        .to_owned(),
    })
}

#[cfg(test)]
mod tests;
