//! Membership: `apply`, `sponsor`, `revoke`, `import`, `verify`, `members`.
//! Each works offline on the store, or through the running node's API
//! when one runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;
use trustmesh_bootstrap::{
    ApplicationFile, IntroductionFile, RevocationFile, TrustFile, check_network,
};
use trustmesh_protocol::{
    ActorSuffix, Charter, Config, Frontier, Node, Statement, StatementSet, TeamId, TeamKey,
};

use super::client::ApiClient;
use super::files::{expect_kind, read_charter, read_file, store_charter, write_file};
use super::{Report, now};
use crate::api::{
    ImportRequest, Imported, MemberStatus, Members, RevokeRequest, Revoked, SponsorRequest,
    Sponsored, TeamRef, segment,
};
use crate::datadir::DataDir;
use crate::store::RocksStore;

pub(super) fn apply(dir: &DataDir, charter_path: &Path, out: &Path) -> Result<Report> {
    let key = dir.key()?;
    let charter = read_charter(charter_path)?;
    let store = dir.store()?;
    store.adopt_charter(&charter)?;
    let app = ApplicationFile::create(&charter, &key, dir.profile()?, now())?;
    store.put_statement(&app.statement()?)?;
    let file = TrustFile::Application(app);
    write_file(out, &file)?;
    Ok(Report::new(
        format!(
            "wrote {}\n{}send it to members who know your team and ask each to sponsor it ({} needed)\n",
            out.display(),
            file.describe(),
            charter.body().policy().sponsors_required
        ),
        json!({ "written": out, "application": file }),
    ))
}

pub(super) fn sponsor(dir: &DataDir, app_path: &Path, out: &Path, note: &str) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir)? {
        let text = fs::read_to_string(app_path)
            .with_context(|| format!("reading {}", app_path.display()))?;
        let v: Sponsored = api.post(
            "/sponsor",
            &SponsorRequest {
                application: text,
                note: note.to_owned(),
            },
        )?;
        // Checked again here: the file written is one that verifies.
        let file = TrustFile::parse(&serde_json::to_string(&v.introduction)?)
            .context("the node returned an introduction that does not verify")?;
        write_file(out, &file)?;
        return Ok(Report::new(
            format!(
                "wrote {}\n{}the running node stored and spread it; the applicant is {}a member now\n",
                out.display(),
                file.describe(),
                if v.applicant_is_member {
                    ""
                } else {
                    "not yet "
                }
            ),
            json!({ "written": out, "introduction": file, "applicant_is_member": v.applicant_is_member, "spread": true, "warnings": v.warnings }),
        ));
    }
    let key = dir.key()?;
    let store = dir.store()?;
    let charter = store_charter(&store, dir)?;
    let file = read_file(app_path)?;
    check_network(&charter, &file)?;
    let app = expect_kind(
        app_path,
        file,
        |f| match f {
            TrustFile::Application(a) => Some(a),
            _ => None,
        },
        "application",
    )?;
    if app.applicant == key.id() {
        bail!("a team cannot sponsor its own application");
    }
    let intro = IntroductionFile::create(&charter, &key, &app, note, now())?;
    let (app_st, intro_st) = intro.statements()?;
    store.put_statement(&app_st)?;
    store.put_statement(&intro_st)?;
    let membership = store.statement_set(charter)?.membership();
    let sponsor_is_member = membership.is_member(&key.id());
    let mut warning = if sponsor_is_member {
        String::new()
    } else {
        "warning: you are not a member of this network, so this introduction will not count until you are\n".to_owned()
    };
    if let Some(w) = crate::http::name_clash(&membership, &app.applicant, &app.profile.short_name) {
        warning += &format!("{w}\n");
    }
    let file = TrustFile::Introduction(intro);
    write_file(out, &file)?;
    Ok(Report::new(
        format!("wrote {}\n{}{warning}", out.display(), file.describe()),
        json!({ "written": out, "introduction": file, "sponsor_is_member": sponsor_is_member }),
    ))
}

/// Finds a team by full id, PeerId or a unique prefix of a known id.
/// A team by id, id prefix or short name: the same rules as the API.
pub(super) fn resolve_team(set: &StatementSet, text: &str) -> Result<TeamId> {
    crate::http::resolve_team(&set.membership(), text).map_err(|e| anyhow::anyhow!(e.message))
}

/// Stops before an irreversible revocation unless `yes`, saying what would
/// be signed and where it would go.
pub(super) fn confirm_revoke(
    dir: &DataDir,
    team: &str,
    reason: &str,
    keep_none: bool,
    yes: bool,
) -> Result<()> {
    if yes {
        return Ok(());
    }
    let (who, spread) = match ApiClient::find(dir)? {
        Some(api) => {
            let t: TeamRef = api.get(&format!("/teams/{}", segment(team)))?;
            (
                format!("{} ({})", t.short_name, t.team),
                "the running node would spread it to every member at once",
            )
        }
        None => {
            let store = dir.store_read_only()?;
            let charter = store_charter(&store, dir)?;
            let id = resolve_team(&store.statement_set(charter)?, team)?;
            (
                id.to_string(),
                "it would be stored here and spread when the node next runs",
            )
        }
    };
    bail!(
        "not revoked: this would sign an irreversible revocation of {who} with the reason {reason:?}, keeping {} of its introductions and documents; {spread}. Run again with --yes to sign it",
        if keep_none {
            "none"
        } else {
            "every one this node holds"
        }
    )
}

pub(super) fn revoke(
    dir: &DataDir,
    team: &str,
    reason: &str,
    out: &Path,
    keep_none: bool,
) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir)? {
        let v: Revoked = api.post(
            "/revoke",
            &RevokeRequest {
                team: team.to_owned(),
                reason: reason.to_owned(),
                keep_none,
            },
        )?;
        let file = TrustFile::parse(&serde_json::to_string(&v.revocation)?)
            .context("the node returned a revocation that does not verify")?;
        write_file(out, &file)?;
        return Ok(Report::new(
            format!(
                "wrote {}\n{}the running node stored and spread it; the team is now {}\n",
                out.display(),
                file.describe(),
                v.status.map_or("?", MemberStatus::name)
            ),
            json!({ "written": out, "revocation": file, "status": v.status, "spread": true }),
        ));
    }
    let key = dir.key()?;
    let store = dir.store()?;
    let charter = store_charter(&store, dir)?;
    let set = store.statement_set(charter.clone())?;
    let revoked = resolve_team(&set, team)?;
    // The frontier, listed for review unless the operator keeps none: the
    // core's rule over a core opened on this store, so it is what the
    // running node would keep.
    let frontier = if keep_none {
        Frontier::default()
    } else {
        offline_frontier(&store, &key, &charter, &revoked)?
    };
    let rev = RevocationFile::create(
        &charter,
        &key,
        revoked,
        reason,
        now(),
        frontier.introductions.clone(),
        frontier.heads.clone(),
    )?;
    store.put_statement(&rev.statement()?)?;
    let file = TrustFile::Revocation(rev);
    write_file(out, &file)?;
    let mut human = format!("wrote {}\n{}", out.display(), file.describe());
    for id in &frontier.introductions {
        if let Some(Statement::Introduction(i)) = set.get(id).map(|s| s.statement()) {
            human += &format!(
                "  keeps introduction {} of {}\n",
                id.short(),
                i.applicant.short()
            );
        }
    }
    if !frontier.heads.is_empty() {
        human += &format!(
            "  keeps {} document head(s): what it wrote before stays\n",
            frontier.heads.len()
        );
    }
    Ok(Report::new(
        human,
        json!({ "written": out, "revocation": file }),
    ))
}

/// The frontier a revocation of `team` made offline keeps: a core opened
/// over `store` (it makes no edit, so its actor suffix is never used)
/// computes it with the rule the running node uses
/// ([`trustmesh_protocol::Node::revocation_frontier`]).
pub(crate) fn offline_frontier(
    store: &RocksStore,
    key: &TeamKey,
    charter: &Charter,
    team: &TeamId,
) -> Result<Frontier> {
    let (node, _) = Node::open(
        Config::default(),
        key.clone(),
        ActorSuffix::from_bytes([0; 16]),
        charter.clone(),
        store.clone(),
        crate::engine::now_ms(),
    )
    .context("opening the store")?;
    Ok(node.revocation_frontier(team))
}

pub(super) fn import(dir: &DataDir, paths: &[PathBuf]) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir)? {
        let files = paths
            .iter()
            .map(|p| fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .collect::<Result<Vec<_>>>()?;
        let v: Imported = api.post("/import", &ImportRequest { files })?;
        return Report::of(
            format!(
                "{} new statement(s), {} already known (spread by the running node)\n",
                v.added, v.already_known
            ),
            &v,
        );
    }
    let store = dir.store()?;
    let files = paths
        .iter()
        .map(|p| Ok((p, read_file(p)?)))
        .collect::<Result<Vec<_>>>()?;
    // Charters first, so statements in the same call can follow them.
    let mut adopted = false;
    for (_, f) in &files {
        if let TrustFile::Charter(c) = f {
            adopted |= store.adopt_charter(&c.charter()?)?;
        }
    }
    let mut added = 0;
    let mut known = 0;
    for (path, f) in &files {
        let statements = f.statements()?;
        if statements.is_empty() {
            continue;
        }
        let charter = store_charter(&store, dir)?;
        check_network(&charter, f).with_context(|| path.display().to_string())?;
        for st in statements {
            if store.put_statement(&st)? {
                added += 1;
            } else {
                known += 1;
            }
        }
    }
    Ok(Report::new(
        format!(
            "{}{added} new statement(s), {known} already known\n",
            if adopted { "adopted the charter; " } else { "" }
        ),
        json!({ "adopted_charter": adopted, "added": added, "already_known": known }),
    ))
}

pub(super) fn verify(dir: &DataDir, paths: &[PathBuf], charter: Option<&Path>) -> Result<Report> {
    let charter = match charter {
        Some(p) => Some(read_charter(p)?),
        None if dir.has_store() => dir.store_read_only()?.charter()?,
        None => None,
    };
    let mut human = String::new();
    let mut results = vec![];
    let mut failed = 0;
    for path in paths {
        let outcome = read_file(path).and_then(|f| {
            if let Some(c) = &charter {
                check_network(c, &f)?;
            }
            Ok(f)
        });
        match outcome {
            Ok(f) => {
                human += &format!(
                    "{}: valid {}\n{}",
                    path.display(),
                    f.kind_name(),
                    f.describe()
                );
                results.push(json!({ "file": path, "valid": true, "content": f }));
            }
            Err(e) => {
                failed += 1;
                human += &format!("{}: INVALID: {e:#}\n", path.display());
                results.push(json!({ "file": path, "valid": false, "error": format!("{e:#}") }));
            }
        }
    }
    if failed > 0 {
        // Print what was found, then fail so scripts notice.
        eprint!("{human}");
        bail!("{failed} of {} file(s) failed verification", paths.len());
    }
    Ok(Report::new(human, json!({ "files": results })))
}

pub(super) fn members(dir: &DataDir) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir)? {
        let v: Members = api.get("/members")?;
        return Report::of(members_human(&v), &v);
    }
    let store = dir.store_read_only()?;
    let charter = store_charter(&store, dir)?;
    let set = store.statement_set(charter.clone())?;
    let v = crate::http::members_json(&charter, &set.membership());
    Report::of(members_human(&v), &v)
}

pub(super) fn members_human(v: &Members) -> String {
    let mut human = format!(
        "network \"{}\" {}\n{} member(s); {} sponsors to join, {} revokers to revoke\n",
        v.network,
        v.network_id.short(),
        v.members.len(),
        v.sponsors_required,
        v.revocation_quorum,
    );
    for s in &v.standings {
        let status = match s.status {
            MemberStatus::Admitted => "member",
            other => other.name(),
        };
        human += &format!(
            "  {status:<8} {} {:<14} {}\n",
            s.team.short(),
            s.short_name.as_deref().unwrap_or("(no profile)"),
            s.reason
        );
    }
    human
}

#[cfg(test)]
mod tests;
