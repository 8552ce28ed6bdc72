//! `tool`: tool registries.

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use trustmesh_protocol::Tool;

use super::Report;
use super::client::ApiClient;
use crate::DataDir;
use crate::api::segment;
use crate::api::{Status, ToolChanged, ToolRemoved, Tools};

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

pub(super) fn tool(dir: &DataDir, cmd: ToolCommand) -> Result<Report> {
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
            let r: ToolChanged = api.post("/tools", &t)?;
            Report::of(format!("added {} {}\n", t.name, t.version), &r)
        }
        ToolCommand::Update(args) => {
            let me = api.get::<Status>("/status")?.team_id;
            let list: Tools = api.get(&format!("/tools?team={me}"))?;
            let current = list
                .tools
                .into_iter()
                .map(|t| t.tool)
                .find(|t| t.name == args.name)
                .ok_or_else(|| anyhow!("your registry has no tool named {:?}", args.name))?;
            let t = build(&args, Some(current));
            let r: ToolChanged = api.put(&format!("/tools/{}", segment(&t.name)), &t)?;
            Report::of(format!("updated {} to {}\n", t.name, t.version), &r)
        }
        ToolCommand::Remove { name } => {
            let r: ToolRemoved = api.delete(&format!("/tools/{}", segment(&name)))?;
            Report::of(format!("removed {name}\n"), &r)
        }
        ToolCommand::List { team } => {
            let path = match &team {
                Some(t) => format!("/tools?team={}", segment(t)),
                None => "/tools".into(),
            };
            let r: Tools = api.get(&path)?;
            let mut human = String::new();
            for t in &r.tools {
                human += &format!(
                    "{:<12} {:<24} {:<10} {}\n",
                    t.team_name, t.tool.name, t.tool.version, t.tool.description
                );
            }
            Report::of(human, &r)
        }
    }
}
