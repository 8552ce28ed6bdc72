//! What the local API reads and does, as functions on the engine. Each
//! runs inside the event loop (the API sends it as a job), so it sees one
//! consistent state and its edits are pushed as soon as it returns.

use serde::Deserialize;
use serde_json::{Value, json};
use trustmesh_bootstrap::{IntroductionFile, RevocationFile, TrustFile, check_network};
use trustmesh_protocol::{
    Advisory, Contact, DocId, DocKind, DocRef, Membership, SignedStatement, Statement, Status,
    TeamId, Tool, ToolRegistry,
};

use crate::engine::{Engine, now_ms};

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

/// The result of a view.
pub type ApiResult = Result<Value, ApiError>;

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Founder => "founder",
        Status::Admitted => "admitted",
        Status::Pending => "pending",
        Status::Revoked => "revoked",
    }
}

/// The node's health and counters.
pub fn status(e: &Engine) -> Value {
    let node = e.node();
    let charter = node.statements().charter();
    let s = node.stats();
    let peers = e.connections();
    json!({
        "team_id": node.team(),
        "peer_id": e.local_peer_id().to_string(),
        "network_id": e.network(),
        "network": charter.body().name(),
        "member": node.is_member(),
        "members": node.membership().members().len(),
        "listen": e.listen_addrs().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "peers": {
            "connected": peers.len(),
            "members": peers.iter().filter(|p| p.open).count(),
            "known_addresses": e.known_addresses(),
        },
        "statements": node.statements().len(),
        "documents": node.documents().docs().count(),
        "digest": hex::encode(node.digest()),
        "uptime_secs": e.uptime().as_secs(),
        "sync": {
            "rounds_opened": s.rounds_opened,
            "rounds_finished": s.rounds_finished,
            "messages_in": s.messages_in,
            "messages_out": s.messages_out,
            "statements_new": s.statements_new,
            "changes_new": s.changes_new,
            "changes_duplicate": s.changes_duplicate,
            "changes_unknown_author": s.changes_unknown_author,
            "rejected": s.rejected,
            "transmits_dropped": s.transmits_dropped,
            "store_failures": s.store_failures,
            "joins_admitted": s.joins_admitted,
            "joins_refused": s.joins_refused,
        },
        "net": e.stats(),
        "last_sync_secs": e.last_sync().map(|d| d.as_secs()),
        "progress": e.progress(),
        "alerts": e.alert_stats(),
        "health": health(e),
    })
}

/// Whether the node is doing its job, with the reasons when it is not,
/// and a one-line summary such as "healthy: member, 6 peers (5 members),
/// last sync 3 s ago, 0 store failures".
pub fn health(e: &Engine) -> Value {
    let node = e.node();
    let peers = e.connections();
    let open = peers.iter().filter(|p| p.open).count();
    let others = node.membership().members().len().saturating_sub(1);
    let store_failures = node.stats().store_failures;
    let last_sync = e.last_sync().map(|d| d.as_secs());
    // A few missed rounds are normal (fanout picks random members).
    let stale_after = (e.sync_interval().as_secs() * 6).max(60);
    let alerts = e.alert_stats();
    let mut reasons = Vec::new();
    if !node.is_member() {
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
        None if others > 0 && e.uptime().as_secs() > stale_after => {
            reasons.push("no sync round finished yet".to_owned());
        }
        _ => {}
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
    let mut summary = format!(
        "{}: {}, {} peers ({} members), {sync}, {store_failures} store failures",
        if reasons.is_empty() {
            "healthy"
        } else {
            "degraded"
        },
        if node.is_member() {
            "member"
        } else {
            "not a member"
        },
        peers.len(),
        open,
    );
    if !reasons.is_empty() {
        summary.push_str(&format!(" [{}]", reasons.join("; ")));
    }
    json!({
        "state": if reasons.is_empty() { "healthy" } else { "degraded" },
        "reasons": reasons,
        "summary": summary,
    })
}

/// Every team the node knows, with its standing and why.
pub fn members(e: &Engine) -> Value {
    members_json(e.node().statements().charter(), e.node().membership())
}

/// The members report, shared with the offline `trustmesh members`.
pub fn members_json(charter: &trustmesh_protocol::Charter, membership: &Membership) -> Value {
    let standings: Vec<Value> = membership
        .standings()
        .map(|s| {
            // The whole standing (introductions and revocations with whether
            // each counts), plus what people and scripts look for first.
            let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({ "team": s.team }));
            v["status"] = json!(status_name(s.status));
            v["member"] = json!(membership.is_member(&s.team));
            v["short_name"] = json!(s.profile.as_ref().map(|p| p.short_name.clone()));
            v["name"] = json!(s.profile.as_ref().map(|p| p.name.clone()));
            v["country"] = json!(s.profile.as_ref().map(|p| p.country.clone()));
            v["reason"] = json!(s.reason());
            v["sponsors"] = json!(s.sponsors().collect::<Vec<_>>());
            v["revokers"] = json!(s.revokers().collect::<Vec<_>>());
            v
        })
        .collect();
    let policy = charter.body().policy();
    json!({
        "network_id": charter.network_id(),
        "network": charter.body().name(),
        "sponsors_required": policy.sponsors_required,
        "revocation_quorum": policy.revocation_quorum,
        "members": membership.members(),
        "standings": standings,
    })
}

/// Connected peers.
pub fn peers(e: &Engine) -> Value {
    json!({ "peers": e.connections(), "known_addresses": e.known_addresses() })
}

/// Finds a team by id, PeerId, unique id prefix or unique short name.
pub fn resolve_team(membership: &Membership, text: &str) -> Result<TeamId, ApiError> {
    if let Ok(id) = text.parse::<TeamId>() {
        return Ok(id);
    }
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let found: Vec<TeamId> = membership
        .standings()
        .filter(|s| {
            (!lower.is_empty() && s.team.to_string().starts_with(&lower))
                || s.profile
                    .as_ref()
                    .is_some_and(|p| p.short_name.eq_ignore_ascii_case(t))
        })
        .map(|s| s.team)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(ApiError::not_found(format!("no known team matches {t:?}"))),
        _ => Err(ApiError::bad(format!(
            "{t:?} matches {} teams; give more of the id",
            found.len()
        ))),
    }
}

fn short_name(membership: &Membership, team: &TeamId) -> String {
    membership
        .standing(team)
        .and_then(|s| s.profile.as_ref())
        .map_or_else(|| team.short(), |p| p.short_name.clone())
}

/// Filters for the advisory list.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AdvisoryFilter {
    /// Category name, such as "alert".
    pub category: Option<String>,
    /// Lowest severity name.
    pub severity: Option<String>,
    /// TLP label, such as "CLEAR".
    pub tlp: Option<String>,
    /// Owner team (id, prefix or short name).
    pub owner: Option<String>,
    /// Status name.
    pub status: Option<String>,
    /// Text found in the id, title, summary, CVEs or body.
    pub q: Option<String>,
}

fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn severity_rank(name: &str) -> Option<usize> {
    ["none", "low", "medium", "high", "critical"]
        .iter()
        .position(|s| s.eq_ignore_ascii_case(name))
}

fn advisory_summary(membership: &Membership, doc: &DocId, r: &DocRef, a: &Advisory) -> Value {
    json!({
        "doc": doc,
        "owner": r.owner(),
        "owner_name": short_name(membership, &r.owner()),
        "id": a.id,
        "title": a.title,
        "category": a.category,
        "tlp": a.tlp,
        "severity": a.severity,
        "status": a.status,
        "cves": a.cves,
        "revision": a.revisions.last().map(|v| v.number.clone()),
        "updated": a.revisions.last().map(|v| v.date),
    })
}

/// The advisories this node may read, filtered.
pub fn advisories(e: &Engine, f: &AdvisoryFilter) -> ApiResult {
    let node = e.node();
    let membership = node.membership();
    let owner = match &f.owner {
        Some(o) => Some(resolve_team(membership, o)?),
        None => None,
    };
    let min_severity = match &f.severity {
        Some(s) => {
            Some(severity_rank(s).ok_or_else(|| ApiError::bad(format!("unknown severity {s:?}")))?)
        }
        None => None,
    };
    let q = f.q.as_ref().map(|q| q.to_lowercase());
    let mut out = Vec::new();
    for (doc, r) in node.documents().docs() {
        if r.kind() != DocKind::Advisory || owner.is_some_and(|o| o != r.owner()) {
            continue;
        }
        let Ok(Some(a)) = node.documents().get::<Advisory>(doc) else {
            continue;
        };
        let matches = f
            .category
            .as_ref()
            .is_none_or(|c| name_of(&a.category).eq_ignore_ascii_case(c))
            && f.tlp
                .as_ref()
                .is_none_or(|t| name_of(&a.tlp).eq_ignore_ascii_case(t))
            && f.status
                .as_ref()
                .is_none_or(|s| name_of(&a.status).eq_ignore_ascii_case(s))
            && min_severity.is_none_or(|m| severity_rank(&name_of(&a.severity)).unwrap_or(0) >= m)
            && q.as_ref().is_none_or(|q| {
                [&a.id, &a.title, &a.summary, &a.body]
                    .iter()
                    .any(|t| t.to_lowercase().contains(q))
                    || a.cves.iter().any(|c| c.to_lowercase().contains(q))
            });
        if matches {
            out.push(advisory_summary(membership, doc, r, &a));
        }
    }
    out.sort_by(|a, b| b["updated"].as_u64().cmp(&a["updated"].as_u64()));
    Ok(json!({ "advisories": out }))
}

fn doc_meta(e: &Engine, doc: &DocId) -> Value {
    let docs = e.node().documents();
    let mut authors: Vec<TeamId> = docs
        .change_hashes(doc)
        .iter()
        .filter_map(|h| docs.change(doc, h).map(|c| c.author()))
        .collect();
    authors.sort();
    authors.dedup();
    let (stored, applied) = docs.counts(doc);
    json!({
        "doc": doc,
        "heads": docs.heads(doc),
        "changes_applied": applied,
        // Stored but not applied: waiting for dependencies, or kept aside.
        "changes_held": stored - applied,
        "signed_by": authors,
    })
}

/// One advisory, in full, with who signed its changes.
pub fn advisory(e: &Engine, owner: &str, id: &str) -> ApiResult {
    let (owner, doc, a) = read_advisory(e, owner, id)?;
    Ok(json!({
        "owner": owner,
        "owner_name": short_name(e.node().membership(), &owner),
        "advisory": a,
        "meta": doc_meta(e, &doc),
    }))
}

fn edit_error<E: std::fmt::Display>(err: E) -> ApiError {
    ApiError::bad(err)
}

/// Publishes a new advisory owned by this team.
pub fn publish_advisory(e: &mut Engine, a: &Advisory) -> ApiResult {
    let change = e
        .node_mut()
        .publish_advisory(now_ms(), a)
        .map_err(edit_error)?;
    Ok(json!({ "doc": change.doc(), "change": change.hash(), "owner": change.owner(), "id": a.id }))
}

/// Updates an advisory this team owns or co-authors.
pub fn update_advisory(e: &mut Engine, owner: &str, a: &Advisory) -> ApiResult {
    let owner = resolve_team(e.node().membership(), owner)?;
    let change = e
        .node_mut()
        .update_advisory(now_ms(), owner, a)
        .map_err(edit_error)?;
    Ok(json!({
        "owner": owner,
        "id": a.id,
        "changed": change.is_some(),
        "change": change.map(|c| c.hash()),
    }))
}

/// Every contact entry.
pub fn contacts(e: &Engine) -> Value {
    let node = e.node();
    let mut out = Vec::new();
    for (doc, r) in node.documents().docs() {
        if r.kind() != DocKind::Contacts {
            continue;
        }
        if let Ok(Some(c)) = node.documents().get::<Contact>(doc) {
            out.push(json!({ "team": r.owner(), "member": node.membership().is_member(&r.owner()), "contact": c }));
        }
    }
    json!({ "contacts": out })
}

/// One team's contact entry.
pub fn contact(e: &Engine, team: &str) -> ApiResult {
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
    Ok(json!({ "team": team, "contact": c, "meta": doc_meta(e, &doc) }))
}

/// Writes this team's contact entry.
pub fn set_contact(e: &mut Engine, c: &Contact) -> ApiResult {
    let change = e.node_mut().edit_contact(now_ms(), c).map_err(edit_error)?;
    Ok(json!({ "changed": change.is_some(), "change": change.map(|c| c.hash()) }))
}

/// Tool registries, of every team or one.
pub fn tools(e: &Engine, team: Option<&str>) -> ApiResult {
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
                out.push(json!({
                    "team": r.owner(),
                    "team_name": short_name(node.membership(), &r.owner()),
                    "tool": tool,
                }));
            }
        }
    }
    Ok(json!({ "tools": out }))
}

/// Adds or updates a tool in this team's registry. `must_exist`: refuse
/// to create (an update); `must_not_exist`: refuse to replace (an add).
pub fn upsert_tool(e: &mut Engine, tool: &Tool, must_exist: Option<bool>) -> ApiResult {
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
    Ok(json!({ "name": tool.name, "changed": change.is_some() }))
}

/// Removes a tool from this team's registry.
pub fn remove_tool(e: &mut Engine, name: &str) -> ApiResult {
    let change = e
        .node_mut()
        .remove_tool(now_ms(), name)
        .map_err(edit_error)?;
    if change.is_none() {
        return Err(ApiError::not_found(format!("no tool named {name:?}")));
    }
    Ok(json!({ "name": name, "removed": true }))
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
pub fn sponsor(e: &mut Engine, application: &str, note: &str) -> ApiResult {
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
    Ok(json!({
        "introduction": TrustFile::Introduction(intro),
        "applicant": applicant,
        "applicant_is_member": e.node().membership().is_member(&applicant),
        "sponsor_is_member": e.node().is_member(),
    }))
}

/// Revokes a team: keeps (unless `keep_none`) every introduction by it and
/// the heads of every document it wrote that this node holds.
pub fn revoke(e: &mut Engine, team: &str, reason: &str, keep_none: bool) -> ApiResult {
    let revoked = resolve_team(e.node().membership(), team)?;
    let node = e.node();
    let (kept_intros, kept_heads) = if keep_none {
        (vec![], vec![])
    } else {
        let intros = node
            .statements()
            .iter()
            .filter(|s| matches!(s.statement(), Statement::Introduction(i) if i.sponsor == revoked))
            .map(SignedStatement::id)
            .collect();
        let docs = node.documents();
        let heads = docs
            .docs()
            .filter(|(d, _)| {
                docs.change_hashes(d)
                    .iter()
                    .any(|h| docs.change(d, h).is_some_and(|c| c.author() == revoked))
            })
            .flat_map(|(d, _)| docs.heads(d))
            .collect();
        (intros, heads)
    };
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
        .map(|s| (status_name(s.status), s.reason()));
    Ok(json!({
        "revocation": TrustFile::Revocation(file),
        "status": standing.as_ref().map(|s| s.0),
        "reason": standing.map(|s| s.1),
    }))
}

/// Adds the statements of trustmesh files (applications, introductions,
/// revocations) to the running node.
pub fn import(e: &mut Engine, files: &[String]) -> ApiResult {
    let charter = e.node().statements().charter().clone();
    let mut statements = Vec::new();
    for text in files {
        let file = TrustFile::parse(text).map_err(ApiError::bad)?;
        if matches!(file, TrustFile::Charter(_)) {
            continue;
        }
        check_network(&charter, &file).map_err(ApiError::bad)?;
        statements.extend(file.statements().map_err(ApiError::bad)?);
    }
    let (added, known) = submit(e, statements)?;
    Ok(json!({ "added": added, "already_known": known }))
}

/// The team an export speaks for: its contact entry, else its membership
/// profile, else just its id.
fn export_author(e: &Engine, team: TeamId) -> crate::export::Author {
    let node = e.node();
    let contact = node
        .documents()
        .get::<Contact>(&DocRef::contacts(team).id())
        .ok()
        .flatten();
    let profile = node
        .membership()
        .standing(&team)
        .and_then(|s| s.profile.clone());
    let (name, website, email) = match (contact, profile) {
        (Some(c), _) => (c.name, c.website, c.email),
        (None, Some(p)) => (p.name, p.website, p.email),
        (None, None) => Default::default(),
    };
    crate::export::Author {
        team,
        name,
        website,
        email,
    }
}

fn read_advisory(e: &Engine, owner: &str, id: &str) -> Result<(TeamId, DocId, Advisory), ApiError> {
    let owner = resolve_team(e.node().membership(), owner)?;
    let doc = DocRef::advisory(owner, id).map_err(ApiError::bad)?.id();
    let a = e
        .node()
        .documents()
        .get::<Advisory>(&doc)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no advisory {id} by {}", owner.short())))?;
    Ok((owner, doc, a))
}

/// An advisory as a CSAF 2.0 document.
pub fn advisory_csaf(e: &Engine, owner: &str, id: &str) -> ApiResult {
    let (owner, _, a) = read_advisory(e, owner, id)?;
    let doc = crate::export::csaf::export(&a, &export_author(e, owner), now_ms() / 1000);
    serde_json::to_value(doc).map_err(ApiError::internal)
}

/// An advisory's indicators as a STIX 2.1 bundle.
pub fn advisory_stix(e: &Engine, owner: &str, id: &str) -> ApiResult {
    let (owner, doc, a) = read_advisory(e, owner, id)?;
    Ok(crate::export::stix::export(
        &a,
        &doc.to_string(),
        &export_author(e, owner),
        now_ms() / 1000,
    ))
}

/// The contacts directory as one JSON document with every RFC 2350 field.
pub fn contacts_export(e: &Engine) -> ApiResult {
    let node = e.node();
    let entries: Vec<(TeamId, bool, Contact)> = node
        .documents()
        .docs()
        .filter(|(_, r)| r.kind() == DocKind::Contacts)
        .filter_map(|(doc, r)| {
            let c = node.documents().get::<Contact>(doc).ok().flatten()?;
            Some((r.owner(), node.membership().is_member(&r.owner()), c))
        })
        .collect();
    serde_json::to_value(crate::export::contacts(&entries, now_ms() / 1000))
        .map_err(ApiError::internal)
}

/// Reads a CSAF 2.0 document into an advisory of this team (under `id`
/// if given) and publishes it.
pub fn import_csaf(e: &mut Engine, csaf: &str, id: Option<&str>) -> ApiResult {
    let owner = e.node().team();
    let a = crate::export::csaf::import(csaf, &owner, id).map_err(ApiError::bad)?;
    let mut out = publish_advisory(e, &a)?;
    out["advisory"] = serde_json::to_value(&a).map_err(ApiError::internal)?;
    Ok(out)
}
