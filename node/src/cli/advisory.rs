//! `advisory`: listing, reading, publishing and updating advisories
//! through the running node.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Indicator, Reference, Revision, Severity, TeamId,
    Tlp,
};

use super::client::ApiClient;
use super::files::{read_json, read_text};
use super::{Report, now};
use crate::DataDir;
use crate::api::{
    Advisories, AdvisoryDetail, AdvisorySummary, Published, TeamRef, Updated, segment,
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
    /// Show one advisory (OWNER/ID) in full.
    Show {
        /// OWNER/ID.
        target: String,
    },
    /// Import a CSAF 2.0 file as a new advisory of this team.
    Import {
        /// The CSAF 2.0 JSON file (`-` for standard input).
        file: PathBuf,
        /// Publish under this tracking id instead of the file's.
        #[arg(long)]
        id: Option<String>,
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
    /// A team allowed to read an AMBER or RED advisory (repeat; id or short name).
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
        a.severity.name(),
        a.tlp.name(),
        a.category.name(),
        a.id,
        a.title
    )
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
                None => api.get::<AdvisoryDetail>(&path)?.advisory,
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
            Report::of(format!("updated {} to revision {next}\n", a.id), &r)
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
        AdvisoryCommand::Show { target } => {
            let (owner, id) = split_target(&target)?;
            let r: AdvisoryDetail =
                api.get(&format!("/advisories/{}/{}", segment(owner), segment(id)))?;
            let a = &r.advisory;
            let mut human = format!(
                "{} — {}\n  owner {} · {} · severity {} · TLP:{} · {}\n",
                a.id,
                a.title,
                r.owner_name,
                a.category.name(),
                a.severity.name(),
                a.tlp.name().to_uppercase(),
                a.status.name(),
            );
            if !a.cves.is_empty() {
                human += &format!("  cves: {}\n", a.cves.join(", "));
            }
            if !a.summary.is_empty() {
                human += &format!("\n{}\n", a.summary);
            }
            if !a.body.is_empty() {
                human += &format!("\n{}\n", a.body);
            }
            human += "\nrevisions:\n";
            for rev in &a.revisions {
                human += &format!("  {} ({}) {}\n", rev.number, rev.date, rev.summary);
            }
            human += &format!(
                "signed by: {}\n",
                r.meta
                    .signed_by
                    .iter()
                    .map(TeamId::short)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Report::of(human, &r)
        }
        AdvisoryCommand::Import { file, id } => {
            let doc = read_text(&file)?;
            let path = match &id {
                Some(id) => format!("/advisories/import-csaf?id={}", segment(id)),
                None => "/advisories/import-csaf".into(),
            };
            let r: Published = api
                .post_raw(&path, doc.as_bytes())
                .with_context(|| format!("importing {}", file.display()))?;
            Report::of(
                format!(
                    "imported {} as advisory {} (TLP:{}) in document {}\n",
                    file.display(),
                    r.id,
                    r.advisory
                        .as_ref()
                        .map_or("?".to_owned(), |a| a.tlp.name().to_uppercase()),
                    r.doc
                ),
                &r,
            )
        }
    }
}
