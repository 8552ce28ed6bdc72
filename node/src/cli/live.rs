//! Commands that talk to the running node through its local API.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Contact, Indicator, Reference, Revision, Severity,
    TeamKind, Tlp, Tool,
};

use super::{Report, now};
use crate::client::{ApiClient, segment};

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

/// `trustmesh export ...`
#[derive(Debug, Subcommand)]
pub(super) enum ExportCommand {
    /// An advisory (OWNER/ID) as CSAF 2.0, or its indicators as a STIX 2.1 bundle.
    Advisory {
        /// OWNER/ID: the owner team (id, prefix or short name) and the advisory id.
        target: String,
        /// csaf or stix.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write the document to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The contacts directory as JSON, with every RFC 2350 field.
    Contacts {
        /// Write the document to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// What `export advisory` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum ExportFormat {
    /// A CSAF 2.0 document.
    Csaf,
    /// A STIX 2.1 bundle of the indicators.
    Stix,
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

/// `trustmesh contact ...`
#[derive(Debug, Subcommand)]
pub(super) enum ContactCommand {
    /// Set this team's entry in the contacts directory (fields not given keep their value).
    Set(Box<ContactArgs>),
    /// List every team's entry.
    List,
    /// Show one team's entry.
    Show {
        /// The team (id, prefix or short name).
        team: String,
    },
}

/// Fields of a contact entry (RFC 2350).
#[derive(Debug, Args)]
pub(super) struct ContactArgs {
    /// The whole entry as JSON (`-` for standard input); flags override its fields.
    #[arg(long)]
    file: Option<PathBuf>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    short_name: Option<String>,
    #[arg(long)]
    country: Option<String>,
    #[arg(long)]
    kind: Option<TeamKind>,
    #[arg(long)]
    constituency: Option<String>,
    #[arg(long)]
    postal_address: Option<String>,
    #[arg(long)]
    time_zone: Option<String>,
    #[arg(long)]
    business_hours: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    emergency_phone: Option<String>,
    #[arg(long)]
    website: Option<String>,
}

/// `trustmesh tool ...`
#[derive(Debug, Subcommand)]
pub(super) enum ToolCommand {
    /// Add a tool to this team's registry.
    #[command(disable_version_flag = true)]
    Add(ToolArgs),
    /// Update a tool of this team's registry (fields not given keep their value).
    #[command(disable_version_flag = true)]
    Update(ToolArgs),
    /// Remove a tool from this team's registry.
    Remove {
        /// Its name.
        name: String,
    },
    /// List the tools of every team (or --team).
    List {
        /// Only this team's registry.
        #[arg(long)]
        team: Option<String>,
    },
}

/// Fields of a tool.
#[derive(Debug, Args)]
pub(super) struct ToolArgs {
    /// Its name, unique in the registry.
    #[arg(long)]
    name: String,
    /// The tool's version.
    #[arg(long)]
    version: Option<String>,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    homepage: Option<String>,
    #[arg(long)]
    download_url: Option<String>,
    /// SHA-256 of the download, 64 hex digits.
    #[arg(long)]
    sha256: Option<String>,
    #[arg(long)]
    license: Option<String>,
    /// A tag (repeat; replaces the tags).
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    maintainer: Option<String>,
}

fn read_text(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_str(&read_text(path)?).with_context(|| format!("parsing {}", path.display()))
}

fn split_target(target: &str) -> Result<(&str, &str)> {
    target
        .split_once('/')
        .filter(|(o, i)| !o.is_empty() && !i.is_empty())
        .ok_or_else(|| {
            anyhow!("{target:?} is not OWNER/ID (for example CERT-XY/CERT-XY-2026-0042)")
        })
}

fn resolve_audience(api: &ApiClient, names: &[String]) -> Result<Vec<trustmesh_protocol::TeamId>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let members = api.get("/members")?;
    names
        .iter()
        .map(|n| {
            if let Ok(id) = n.parse() {
                return Ok(id);
            }
            let found: Vec<&Value> = members["standings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| {
                    s["short_name"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(n))
                        || s["team"]
                            .as_str()
                            .is_some_and(|t| t.starts_with(&n.to_lowercase()))
                })
                .collect();
            match found.as_slice() {
                [one] => one["team"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| anyhow!("bad team id from the node")),
                [] => bail!("no known team matches {n:?}"),
                _ => bail!("{n:?} matches several teams; give the id"),
            }
        })
        .collect()
}

fn apply_fields(a: &mut Advisory, args: &AdvisoryArgs, api: &ApiClient) -> Result<()> {
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

fn advisory_line(a: &Value) -> String {
    format!(
        "{:<10} {:<8} {:<12} {:<16} {:<24} {}\n",
        a["owner_name"].as_str().unwrap_or("?"),
        a["severity"].as_str().unwrap_or("?"),
        a["tlp"].as_str().unwrap_or("?"),
        a["category"].as_str().unwrap_or("?"),
        a["id"].as_str().unwrap_or("?"),
        a["title"].as_str().unwrap_or("")
    )
}

pub(super) fn advisory(dir: &Path, cmd: AdvisoryCommand) -> Result<Report> {
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
            let r = api.send("POST", "/advisories", &serde_json::to_value(&a)?)?;
            Ok(Report::new(
                format!(
                    "published {} ({}, TLP:{}) as document {}\n",
                    a.id,
                    a.severity,
                    a.tlp.name().to_uppercase(),
                    r["doc"].as_str().unwrap_or("?")
                ),
                r,
            ))
        }
        AdvisoryCommand::Update {
            target,
            args,
            revision_summary,
        } => {
            let (owner, id) = split_target(&target)?;
            let path = format!("/advisories/{}/{}", segment(owner), segment(id));
            let current = api.get(&path)?;
            let mut a: Advisory = match &args.file {
                Some(f) => read_json(f)?,
                None => serde_json::from_value(current["advisory"].clone())
                    .context("the node returned an advisory this build cannot read")?,
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
            let r = api.send("PUT", &path, &serde_json::to_value(&a)?)?;
            Ok(Report::new(
                format!("updated {} to revision {next}\n", a.id),
                r,
            ))
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
            let r = api.get(&format!("/advisories{query}"))?;
            let list = r["advisories"].as_array().cloned().unwrap_or_default();
            let mut human = format!(
                "{} advisor{}\n",
                list.len(),
                if list.len() == 1 { "y" } else { "ies" }
            );
            for a in &list {
                human += &advisory_line(a);
            }
            Ok(Report::new(human, r))
        }
        AdvisoryCommand::Show { target } => {
            let (owner, id) = split_target(&target)?;
            let r = api.get(&format!("/advisories/{}/{}", segment(owner), segment(id)))?;
            let a = &r["advisory"];
            let mut human = format!(
                "{} — {}\n  owner {} · {} · severity {} · TLP:{} · {}\n",
                a["id"].as_str().unwrap_or("?"),
                a["title"].as_str().unwrap_or(""),
                r["owner_name"].as_str().unwrap_or("?"),
                a["category"].as_str().unwrap_or("?"),
                a["severity"].as_str().unwrap_or("?"),
                a["tlp"].as_str().unwrap_or("?").to_uppercase(),
                a["status"].as_str().unwrap_or("?"),
            );
            for key in ["cves"] {
                if let Some(list) = a[key].as_array().filter(|l| !l.is_empty()) {
                    human += &format!(
                        "  {key}: {}\n",
                        list.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            if let Some(s) = a["summary"].as_str().filter(|s| !s.is_empty()) {
                human += &format!("\n{s}\n");
            }
            if let Some(s) = a["body"].as_str().filter(|s| !s.is_empty()) {
                human += &format!("\n{s}\n");
            }
            human += "\nrevisions:\n";
            for rev in a["revisions"].as_array().into_iter().flatten() {
                human += &format!(
                    "  {} ({}) {}\n",
                    rev["number"].as_str().unwrap_or("?"),
                    rev["date"],
                    rev["summary"].as_str().unwrap_or("")
                );
            }
            human += &format!(
                "signed by: {}\n",
                r["meta"]["signed_by"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|s| &s[..8.min(s.len())])
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(Report::new(human, r))
        }
        AdvisoryCommand::Import { file, id } => {
            let doc: Value = read_json(&file)?;
            let path = match &id {
                Some(id) => format!("/advisories/import-csaf?id={}", segment(id)),
                None => "/advisories/import-csaf".into(),
            };
            let r = api
                .send("POST", &path, &doc)
                .with_context(|| format!("importing {}", file.display()))?;
            Ok(Report::new(
                format!(
                    "imported {} as advisory {} (TLP:{}) in document {}\n",
                    file.display(),
                    r["id"].as_str().unwrap_or("?"),
                    r["advisory"]["tlp"].as_str().unwrap_or("?").to_uppercase(),
                    r["doc"].as_str().unwrap_or("?")
                ),
                r,
            ))
        }
    }
}

/// Writes an exported document to `out`, or reports it for standard output.
fn exported(doc: Value, out: Option<&Path>, what: &str) -> Result<Report> {
    let Some(out) = out else {
        return Ok(Report::new(format!("{doc:#}\n"), doc));
    };
    std::fs::write(out, format!("{doc:#}\n"))
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(Report::new(
        format!("wrote {what} to {}\n", out.display()),
        json!({ "written": out, "what": what }),
    ))
}

pub(super) fn export(dir: &Path, cmd: ExportCommand) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    match cmd {
        ExportCommand::Advisory {
            target,
            format,
            out,
        } => {
            let (owner, id) = split_target(&target)?;
            let (route, what) = match format {
                ExportFormat::Csaf => ("csaf", format!("the CSAF 2.0 document of {id}")),
                ExportFormat::Stix => ("stix", format!("the STIX 2.1 bundle of {id}")),
            };
            let doc = api.get(&format!(
                "/advisories/{}/{}/{route}",
                segment(owner),
                segment(id)
            ))?;
            exported(doc, out.as_deref(), &what)
        }
        ExportCommand::Contacts { out } => {
            let doc = api.get("/contacts/export")?;
            let n = doc["contacts"].as_array().map_or(0, Vec::len);
            exported(doc, out.as_deref(), &format!("{n} contact entries"))
        }
    }
}

pub(super) fn contact(dir: &Path, cmd: ContactCommand) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    match cmd {
        ContactCommand::Set(args) => {
            let me = api.get("/status")?["team_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut c: Contact = match &args.file {
                Some(f) => read_json(f)?,
                None => match api.get(&format!("/contacts/{me}")) {
                    Ok(v) => serde_json::from_value(v["contact"].clone())?,
                    Err(_) => {
                        let profile = crate::DataDir::new(dir).profile()?;
                        Contact {
                            name: profile.name,
                            short_name: profile.short_name,
                            country: profile.country,
                            kind: profile.kind,
                            constituency: profile.constituency,
                            postal_address: String::new(),
                            time_zone: String::new(),
                            business_hours: String::new(),
                            email: profile.email,
                            phone: String::new(),
                            emergency_phone: String::new(),
                            website: profile.website,
                            pgp_keys: vec![],
                            representatives: vec![],
                        }
                    }
                },
            };
            macro_rules! set {
                ($($f:ident),*) => { $( if let Some(v) = &args.$f { c.$f = v.clone(); } )* };
            }
            set!(
                name,
                short_name,
                country,
                constituency,
                postal_address,
                time_zone,
                business_hours,
                email,
                phone,
                emergency_phone,
                website
            );
            if let Some(k) = args.kind {
                c.kind = k;
            }
            let r = api.send("PUT", "/contacts", &serde_json::to_value(&c)?)?;
            let what = if r["changed"] == json!(true) {
                "updated"
            } else {
                "unchanged:"
            };
            Ok(Report::new(
                format!("{what} the contact entry of {}\n", c.short_name),
                r,
            ))
        }
        ContactCommand::List => {
            let r = api.get("/contacts")?;
            let mut human = String::new();
            for c in r["contacts"].as_array().into_iter().flatten() {
                let x = &c["contact"];
                human += &format!(
                    "{:<12} {:<3} {:<32} {:<28} {}\n",
                    x["short_name"].as_str().unwrap_or("?"),
                    x["country"].as_str().unwrap_or("?"),
                    x["email"].as_str().unwrap_or(""),
                    x["phone"].as_str().unwrap_or(""),
                    x["emergency_phone"].as_str().unwrap_or("")
                );
            }
            Ok(Report::new(human, r))
        }
        ContactCommand::Show { team } => {
            let r = api.get(&format!("/contacts/{}", segment(&team)))?;
            let human = format!("{:#}\n", r["contact"]);
            Ok(Report::new(human, r))
        }
    }
}

pub(super) fn tool(dir: &Path, cmd: ToolCommand) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    let build = |args: &ToolArgs, base: Option<Tool>| -> Tool {
        let mut t = base.unwrap_or(Tool {
            name: args.name.clone(),
            version: String::new(),
            description: String::new(),
            homepage: String::new(),
            download_url: String::new(),
            sha256: String::new(),
            license: String::new(),
            tags: vec![],
            maintainer: String::new(),
        });
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &args.$f { t.$f = v.clone(); } )* };
        }
        set!(
            version,
            description,
            homepage,
            download_url,
            sha256,
            license,
            maintainer
        );
        if !args.tags.is_empty() {
            t.tags = args.tags.clone();
        }
        t
    };
    match cmd {
        ToolCommand::Add(args) => {
            let t = build(&args, None);
            let r = api.send("POST", "/tools", &serde_json::to_value(&t)?)?;
            Ok(Report::new(format!("added {} {}\n", t.name, t.version), r))
        }
        ToolCommand::Update(args) => {
            let me = api.get("/status")?["team_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let list = api.get(&format!("/tools?team={me}"))?;
            let current = list["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["tool"]["name"].as_str() == Some(&args.name))
                .map(|t| serde_json::from_value::<Tool>(t["tool"].clone()))
                .transpose()?
                .ok_or_else(|| anyhow!("your registry has no tool named {:?}", args.name))?;
            let t = build(&args, Some(current));
            let r = api.send(
                "PUT",
                &format!("/tools/{}", segment(&t.name)),
                &serde_json::to_value(&t)?,
            )?;
            Ok(Report::new(
                format!("updated {} to {}\n", t.name, t.version),
                r,
            ))
        }
        ToolCommand::Remove { name } => {
            let r = api.send(
                "DELETE",
                &format!("/tools/{}", segment(&name)),
                &Value::Null,
            )?;
            Ok(Report::new(format!("removed {name}\n"), r))
        }
        ToolCommand::List { team } => {
            let path = match &team {
                Some(t) => format!("/tools?team={}", segment(t)),
                None => "/tools".into(),
            };
            let r = api.get(&path)?;
            let mut human = String::new();
            for t in r["tools"].as_array().into_iter().flatten() {
                human += &format!(
                    "{:<12} {:<24} {:<10} {}\n",
                    t["team_name"].as_str().unwrap_or("?"),
                    t["tool"]["name"].as_str().unwrap_or("?"),
                    t["tool"]["version"].as_str().unwrap_or(""),
                    t["tool"]["description"].as_str().unwrap_or("")
                );
            }
            Ok(Report::new(human, r))
        }
    }
}

pub(super) fn peers(dir: &Path) -> Result<Report> {
    let r = ApiClient::require(dir)?.get("/peers")?;
    let list = r["peers"].as_array().cloned().unwrap_or_default();
    let mut human = format!(
        "{} connected; {} member address(es) known\n",
        list.len(),
        r["known_addresses"]
    );
    for p in &list {
        human += &format!(
            "  {} {:<10} {:>5}s {}\n",
            p["peer_id"].as_str().unwrap_or("?"),
            if p["open"] == json!(true) {
                "member"
            } else if p["member"] == json!(true) {
                "member*"
            } else {
                "non-member"
            },
            p["connected_secs"],
            p["address"].as_str().unwrap_or("(inbound)")
        );
    }
    Ok(Report::new(human, r))
}

pub(super) fn status(dir: &Path) -> Result<Report> {
    let r = ApiClient::require(dir)?.get("/status")?;
    let mut human = format!(
        "{}\n",
        r["health"]["summary"].as_str().unwrap_or("health: unknown")
    );
    let p = &r["progress"];
    let received = ["changes", "statements", "documents"].map(|k| p[k].as_u64().unwrap_or(0));
    if received.iter().any(|n| *n > 0) {
        human.push_str(&format!(
            "  receiving: +{} changes, +{} statements, +{} documents in the last {} s\n",
            received[0], received[1], received[2], p["window_secs"]
        ));
    }
    if r["alerts"]["rules"].as_u64().unwrap_or(0) > 0 {
        human.push_str(&format!(
            "  alerts: {} rules, {} delivered, {} failed attempts, {} pending\n",
            r["alerts"]["rules"],
            r["alerts"]["delivered"],
            r["alerts"]["failed"],
            r["alerts"]["pending"]
        ));
    }
    human += &format!(
        "node {} in network \"{}\" ({})\n  {}; {} member(s); {} statement(s); {} document(s)\n  peers: {} connected, {} with member protocols; up {} s\n  listening: {}\n  sync: {} rounds, {} changes received, {} rejected\n",
        r["team_id"].as_str().map_or("?", |s| &s[..8.min(s.len())]),
        r["network"].as_str().unwrap_or("?"),
        r["network_id"]
            .as_str()
            .map_or("?", |s| &s[..8.min(s.len())]),
        if r["member"] == json!(true) {
            "a member"
        } else {
            "NOT a member yet"
        },
        r["members"],
        r["statements"],
        r["documents"],
        r["peers"]["connected"],
        r["peers"]["members"],
        r["uptime_secs"],
        r["listen"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        r["sync"]["rounds_finished"],
        r["sync"]["changes_new"],
        r["sync"]["rejected"]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>()),
    );
    Ok(Report::new(human, r))
}

/// `trustmesh web`: the running node's web page, and a link that logs a
/// browser in with the API token (it sets an HttpOnly cookie and redirects).
pub(super) fn web(dir: &Path) -> Result<Report> {
    let api = ApiClient::require(dir)?;
    let status = api.get("/status")?;
    let file = crate::run::node_file(dir);
    let info: Value = serde_json::from_str(
        &std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?,
    )
    .with_context(|| format!("reading {}", file.display()))?;
    let mut addr: std::net::SocketAddr = info["api"]
        .as_str()
        .ok_or_else(|| anyhow!("{} names no API address", file.display()))?
        .parse()
        .with_context(|| format!("the API address in {}", file.display()))?;
    if addr.ip().is_unspecified() {
        // Bound to every interface: the browser on this host uses loopback.
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let token_path = crate::run::token_file(dir);
    let token = std::fs::read_to_string(&token_path)
        .with_context(|| format!("reading {}", token_path.display()))?;
    let base = format!("http://{addr}/");
    let login = format!("{base}login?token={}", segment(token.trim()));
    let human = format!(
        "The web page of team {} in network \"{}\":\n  {login}\nOpen it in a browser on this host; the link holds the API token, so keep it to yourself.\n",
        status["team_id"]
            .as_str()
            .map_or("?", |s| &s[..8.min(s.len())]),
        status["network"].as_str().unwrap_or("?"),
    );
    Ok(Report::new(
        human,
        json!({ "url": base, "login_url": login }),
    ))
}
