//! `advisory`: listing, reading, publishing and updating advisories
//! through the running node.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, AdvisoryView, BranchView, Indicator, Json,
    Reference, Revision, Severity, StatusGroup, TeamId, Tlp,
};

use super::client::ApiClient;
use super::files::{read_json, read_text};
use super::{Report, now};
use crate::DataDir;
use crate::api::{
    Advisories, AdvisoryDetail, AdvisorySummary, CsafImported, Published, TeamRef, Updated, segment,
};

/// `trustmesh advisory ...`
#[derive(Debug, Subcommand)]
pub(super) enum AdvisoryCommand {
    /// Publish a new advisory, from --file (JSON) or from flags.
    Publish(AdvisoryArgs),
    /// Update an advisory (OWNER/ID): set the given fields and record a revision.
    Update {
        /// OWNER/ID: the owner team (id, prefix or short name) and the advisory id.
        target: String,
        #[command(flatten)]
        args: AdvisoryArgs,
        /// What changed, for the revision history.
        #[arg(long, default_value = "Updated")]
        revision_summary: String,
    },
    /// List advisories, newest first.
    List(ListArgs),
    /// Show one advisory (OWNER/ID) in full: per vulnerability its CVE,
    /// scores, CWE, products by status, remediations and threats.
    Show {
        /// OWNER/ID.
        target: String,
        /// Also list the product tree, branch by branch.
        #[arg(long)]
        products: bool,
    },
    /// Import a CSAF 2.0 or 2.1 file as an advisory of this team, or as
    /// the next revision of the advisory holding its publisher namespace
    /// and tracking id.
    Import {
        /// The CSAF JSON file (`-` for standard input).
        file: PathBuf,
        /// The TLP label to share it under (CLEAR, GREEN, AMBER,
        /// AMBER+STRICT, RED): required when the document has none, never
        /// wider than the document's.
        #[arg(long)]
        tlp: Option<String>,
        /// A team that receives an AMBER or RED advisory (repeat; id or
        /// short name). This team is always in the audience.
        #[arg(long = "audience")]
        audience: Vec<String>,
        /// Keep the publisher's bytes and their hashes (a third party's
        /// document this team forwards).
        #[arg(long)]
        forwarded: bool,
        /// The publisher's detached OpenPGP signature over FILE (its
        /// `.asc`), kept with the bytes so any member can verify it;
        /// implies --forwarded.
        #[arg(long, value_name = "ASC")]
        signature: Option<PathBuf>,
    },
}

/// Fields of an advisory.
#[derive(Debug, Args)]
pub(super) struct AdvisoryArgs {
    /// The whole advisory as JSON (`-` for standard input); flags override its fields.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Tracking id, such as CERT-XY-2026-0042 (never changes).
    #[arg(long)]
    id: Option<String>,
    /// Title.
    #[arg(long)]
    title: Option<String>,
    /// alert, warning, current_activity, vulnerability or other.
    #[arg(long)]
    category: Option<AdvisoryCategory>,
    /// TLP 2.0: clear, green, amber, amber_strict or red.
    #[arg(long)]
    tlp: Option<Tlp>,
    /// none, low, medium, high or critical.
    #[arg(long)]
    severity: Option<Severity>,
    /// draft, final, updated or withdrawn.
    #[arg(long)]
    status: Option<AdvisoryStatus>,
    /// One-paragraph summary.
    #[arg(long)]
    summary: Option<String>,
    /// Full text.
    #[arg(long)]
    body: Option<String>,
    /// A CVE id (repeat).
    #[arg(long = "cve")]
    cves: Vec<String>,
    /// A team allowed to read an AMBER or RED advisory (repeat; id or
    /// short name). The owner is always in the audience.
    #[arg(long = "audience")]
    audience: Vec<String>,
    /// A reference URL (repeat).
    #[arg(long = "reference")]
    references: Vec<String>,
    /// An indicator as KIND:VALUE, such as ipv4:192.0.2.7 (repeat).
    #[arg(long = "indicator")]
    indicators: Vec<String>,
}

/// Filters of `advisory list`.
#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Only this category.
    #[arg(long)]
    category: Option<AdvisoryCategory>,
    /// At least this severity.
    #[arg(long)]
    severity: Option<Severity>,
    /// Only this TLP label.
    #[arg(long)]
    tlp: Option<Tlp>,
    /// Only this status.
    #[arg(long)]
    status: Option<AdvisoryStatus>,
    /// Only advisories of this team.
    #[arg(long)]
    owner: Option<String>,
    /// Text in the id, title, summary, body or CVE ids.
    #[arg(long)]
    search: Option<String>,
}

pub(super) fn split_target(target: &str) -> Result<(&str, &str)> {
    target
        .split_once('/')
        .filter(|(o, i)| !o.is_empty() && !i.is_empty())
        .ok_or_else(|| {
            anyhow!("{target:?} is not OWNER/ID (for example CERT-XY/CERT-XY-2026-0042)")
        })
}

/// The audience's teams, each named by id, id prefix or short name and
/// resolved by the node with the rules every command uses.
pub(super) fn resolve_audience(api: &ApiClient, names: &[String]) -> Result<Vec<TeamId>> {
    names
        .iter()
        .map(|n| Ok(api.get::<TeamRef>(&format!("/teams/{}", segment(n)))?.team))
        .collect()
}

pub(super) fn apply_fields(a: &mut Advisory, args: &AdvisoryArgs, api: &ApiClient) -> Result<()> {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = &args.$f { a.$f = v.clone(); } )* };
    }
    set!(title, summary, body);
    if let Some(v) = args.category {
        a.category = v;
    }
    if let Some(v) = args.tlp {
        a.tlp = v;
        // CLEAR and GREEN go to every member: no audience.
        if !v.is_restricted() {
            a.audience.clear();
        }
    }
    if let Some(v) = args.severity {
        a.severity = v;
    }
    if let Some(v) = args.status {
        a.status = v;
    }
    if !args.cves.is_empty() {
        a.cves = args.cves.clone();
    }
    if !args.audience.is_empty() {
        a.audience = resolve_audience(api, &args.audience)?;
    }
    if !args.references.is_empty() {
        a.references = args
            .references
            .iter()
            .map(|u| Reference {
                url: u.clone(),
                summary: String::new(),
            })
            .collect();
    }
    if !args.indicators.is_empty() {
        a.indicators = args
            .indicators
            .iter()
            .map(|i| {
                let (kind, value) = i
                    .split_once(':')
                    .ok_or_else(|| anyhow!("indicator {i:?} is not KIND:VALUE"))?;
                Ok(Indicator {
                    kind: kind
                        .parse()
                        .map_err(|_| anyhow!("unknown indicator kind {kind:?}"))?,
                    value: value.to_owned(),
                })
            })
            .collect::<Result<_>>()?;
    }
    Ok(())
}

pub(super) fn advisory_line(a: &AdvisorySummary) -> String {
    format!(
        "{:<10} {:<8} {:<12} {:<16} {:<24} {}\n",
        a.owner_name,
        a.severity.map_or("-", Severity::name),
        a.tlp.name(),
        a.category,
        a.id,
        a.title
    )
}

/// The product tree, one branch a line, indented by depth. Recursion
/// follows the tree, whose depth the node bounds.
fn tree_lines(branches: &[BranchView], depth: usize, out: &mut String) {
    for b in branches {
        out.push_str(&"  ".repeat(depth + 1));
        out.push_str(&format!("{} {}", b.category, b.name));
        if let Some(p) = &b.product {
            out.push_str(&format!("  [{}]", p.id));
        }
        out.push('\n');
        tree_lines(&b.branches, depth + 1, out);
    }
}

/// What a responder reads of an advisory.
pub(super) fn show(r: &AdvisoryDetail, products: bool) -> String {
    let a = &r.summary;
    let csaf = Json::parse(r.csaf.to_string().as_bytes()).unwrap_or(Json::Null);
    let view = AdvisoryView::of(&csaf);
    let severity = match (&view.severity.text, view.severity.level) {
        (Some(t), Some(l)) if !t.eq_ignore_ascii_case(l.name()) => format!("{t} ({l})"),
        (Some(t), _) => t.clone(),
        (None, Some(l)) => format!("{l} (from CVSS)"),
        (None, None) => "not stated".to_owned(),
    };
    let mut out = format!(
        "{} — {}\n  {} · severity {} · TLP:{} · {} · CSAF {}\n",
        a.id,
        a.title,
        a.category,
        severity,
        a.tlp.label(),
        a.status.name(),
        a.csaf_version,
    );
    out += &format!(
        "  published by {}{} · {} by {}\n",
        view.publisher.name,
        if view.publisher.namespace.is_empty() {
            String::new()
        } else {
            format!(" ({})", view.publisher.namespace)
        },
        if a.imported { "forwarded" } else { "written" },
        r.owner_name
    );
    out += &format!(
        "  tracking {} version {} ({})\n",
        view.tracking.id, view.tracking.version, view.tracking.status
    );
    if let Some(h) = &r.envelope.original_sha256 {
        out += &format!(
            "  original bytes kept: sha256 {h}{}\n",
            if r.envelope.original_signature.is_some() {
                ", with the publisher's OpenPGP signature"
            } else {
                ""
            }
        );
    }
    if !a.complete {
        out += "  (still arriving: part of the document is not here yet)\n";
    }
    for n in view
        .notes
        .iter()
        .filter(|n| matches!(n.category.as_str(), "summary" | "description"))
    {
        out += &format!("\n{}\n", n.text);
    }
    for v in &view.vulnerabilities {
        out += &format!(
            "\n{}{}\n",
            v.cve.as_deref().unwrap_or("(no CVE id)"),
            v.title
                .as_deref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        );
        for s in &v.scores {
            out += &format!(
                "  {} {} {}\n",
                s.kind,
                s.base_score.map_or("-".to_owned(), |b| b.to_string()),
                s.vector.as_deref().unwrap_or("")
            );
        }
        for c in &v.cwes {
            out += &format!("  {} {}\n", c.id, c.name);
        }
        for g in [
            StatusGroup::Affected,
            StatusGroup::Fixed,
            StatusGroup::NotAffected,
            StatusGroup::UnderInvestigation,
            StatusGroup::Recommended,
            StatusGroup::Other,
        ] {
            let list = v.products(g);
            if !list.is_empty() {
                let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
                out += &format!("  {} ({}): {}\n", g.name(), names.len(), names.join("; "));
            }
        }
        for m in &v.remediations {
            out += &format!(
                "  remedy {}: {}{}\n",
                m.category,
                m.details,
                m.url
                    .as_deref()
                    .map(|u| format!(" <{u}>"))
                    .unwrap_or_default()
            );
        }
        for t in &v.threats {
            out += &format!("  threat {}: {}\n", t.category, t.details);
        }
    }
    if products {
        out += "\nproduct tree:\n";
        tree_lines(&view.product_tree.branches, 0, &mut out);
        for p in &view.product_tree.full_product_names {
            out += &format!("  {}  [{}]\n", p.name, p.id);
        }
        for rel in &view.product_tree.relationships {
            out += &format!(
                "  {} {} {}\n",
                rel.product_reference, rel.category, rel.relates_to_product_reference
            );
        }
    }
    out += "\nrevisions:\n";
    for rev in &view.tracking.revisions {
        out += &format!("  {} ({}) {}\n", rev.number, rev.date, rev.summary);
    }
    out += &format!(
        "signed by: {}\n",
        r.meta
            .signed_by
            .iter()
            .map(TeamId::short)
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

pub(super) fn advisory(dir: &DataDir, cmd: AdvisoryCommand) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    match cmd {
        AdvisoryCommand::Publish(args) => {
            let mut a: Advisory = match &args.file {
                Some(f) => read_json(f)?,
                None => Advisory {
                    id: args
                        .id
                        .clone()
                        .ok_or_else(|| anyhow!("--id is required (or --file)"))?,
                    title: args
                        .title
                        .clone()
                        .ok_or_else(|| anyhow!("--title is required (or --file)"))?,
                    category: AdvisoryCategory::Alert,
                    tlp: Tlp::Clear,
                    audience: vec![],
                    co_authors: vec![],
                    severity: Severity::Medium,
                    status: AdvisoryStatus::Final,
                    revisions: vec![Revision {
                        number: "1".into(),
                        date: now(),
                        summary: "Initial release".into(),
                    }],
                    cves: vec![],
                    products: vec![],
                    indicators: vec![],
                    summary: String::new(),
                    body: String::new(),
                    references: vec![],
                    acknowledgements: vec![],
                },
            };
            if let Some(id) = &args.id {
                a.id = id.clone();
            }
            apply_fields(&mut a, &args, &api)?;
            let r: Published = api.post("/advisories", &a)?;
            Report::of(
                format!(
                    "published {} ({}, TLP:{}) as document {}\n",
                    a.id,
                    a.severity,
                    a.tlp.name().to_uppercase(),
                    r.doc
                ),
                &r,
            )
        }
        AdvisoryCommand::Update {
            target,
            args,
            revision_summary,
        } => {
            let (owner, id) = split_target(&target)?;
            let path = format!("/advisories/{}/{}", segment(owner), segment(id));
            let mut a: Advisory = match &args.file {
                Some(f) => read_json(f)?,
                None => api.get::<AdvisoryDetail>(&path)?.advisory.ok_or_else(|| {
                    anyhow!(
                        "{target} was imported from CSAF; import its next revision instead (advisory import)"
                    )
                })?,
            };
            let status_given = args.status.is_some();
            apply_fields(&mut a, &args, &api)?;
            if !status_given && a.status == AdvisoryStatus::Final {
                a.status = AdvisoryStatus::Updated;
            }
            let next = a
                .revisions
                .last()
                .and_then(|r| r.number.split('.').next()?.parse::<u64>().ok())
                .map_or(1, |n| n + 1);
            a.revisions.push(Revision {
                number: next.to_string(),
                date: now(),
                summary: revision_summary,
            });
            let r: Updated = api.put(&path, &a)?;
            let mut human = match &r.continued_as {
                Some(new) => format!("published the update as a new advisory {new}\n"),
                None => format!("updated {} to revision {next}\n", a.id),
            };
            if let Some(note) = &r.note {
                human.push_str(&format!("note: {note}\n"));
            }
            Report::of(human, &r)
        }
        AdvisoryCommand::List(f) => {
            let mut q = Vec::new();
            if let Some(v) = f.category {
                q.push(format!("category={}", v.name()));
            }
            if let Some(v) = f.severity {
                q.push(format!("severity={}", v.name()));
            }
            if let Some(v) = f.tlp {
                q.push(format!("tlp={}", v.name()));
            }
            if let Some(v) = f.status {
                q.push(format!("status={}", v.name()));
            }
            if let Some(v) = &f.owner {
                q.push(format!("owner={}", segment(v)));
            }
            if let Some(v) = &f.search {
                q.push(format!("q={}", segment(v)));
            }
            let query = if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            };
            let r: Advisories = api.get(&format!("/advisories{query}"))?;
            let list = &r.advisories;
            let mut human = format!(
                "{} advisor{}\n",
                list.len(),
                if list.len() == 1 { "y" } else { "ies" }
            );
            for a in list {
                human += &advisory_line(a);
            }
            Report::of(human, &r)
        }
        AdvisoryCommand::Show { target, products } => {
            let (owner, id) = split_target(&target)?;
            let r: AdvisoryDetail =
                api.get(&format!("/advisories/{}/{}", segment(owner), segment(id)))?;
            Report::of(show(&r, products), &r)
        }
        AdvisoryCommand::Import {
            file,
            tlp,
            audience,
            forwarded,
            signature,
        } => {
            let doc = read_text(&file)?;
            let limit = trustmesh_protocol::Limit::JsonBytes.bound();
            if doc.len() > limit {
                bail!(
                    "{} holds {} bytes of JSON; an import takes at most {limit} ({} MiB)",
                    file.display(),
                    doc.len(),
                    limit >> 20
                );
            }
            let mut q = Vec::new();
            if let Some(t) = &tlp {
                q.push(format!("tlp={}", segment(t)));
            }
            if !audience.is_empty() {
                let teams = resolve_audience(&api, &audience)?;
                let list: Vec<String> = teams.iter().map(TeamId::to_string).collect();
                q.push(format!("audience={}", list.join(",")));
            }
            if forwarded {
                q.push("forwarded=true".into());
            }
            if let Some(f) = &signature {
                let asc = std::fs::read_to_string(f)
                    .with_context(|| format!("reading the signature {}", f.display()))?;
                q.push(format!("signature={}", segment(&asc)));
            }
            let path = if q.is_empty() {
                "/advisories/import-csaf".to_owned()
            } else {
                format!("/advisories/import-csaf?{}", q.join("&"))
            };
            let r: CsafImported = api
                .post_raw(&path, doc.as_bytes())
                .with_context(|| format!("importing {}", file.display()))?;
            let what = match &r.previous {
                Some(p) => format!("as the next revision of {} (was {p})", r.id),
                None => format!("as advisory {}", r.id),
            };
            Report::of(
                format!(
                    "imported {} {what}, TLP:{} ({}), in {} change{} to document {}\n",
                    file.display(),
                    r.tlp.label(),
                    match r.tlp_from.as_str() {
                        "document" => "the document's label",
                        "importer" => "the label named",
                        _ => "the label held",
                    },
                    r.changes.len(),
                    if r.changes.len() == 1 { "" } else { "s" },
                    r.doc
                ),
                &r,
            )
        }
    }
}
