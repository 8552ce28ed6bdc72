//! `run` and `join`: starting the node.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use trustmesh_bootstrap::{TrustFile, check_network};

use super::Report;
use super::files::{read_charter, read_file};
use super::run;
use crate::config::NodeConfig;
use crate::datadir::DataDir;

/// Settings of a running node; each overrides `<data-dir>/config.toml`.
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// A multiaddr to listen on (repeat), e.g. /ip4/0.0.0.0/tcp/4001.
    #[arg(long = "listen")]
    listen: Vec<String>,
    /// A member's multiaddr to dial first (repeat).
    #[arg(long = "bootstrap")]
    bootstrap: Vec<String>,
    /// Address:port of the local API (port 0 picks one; see node.json).
    #[arg(long)]
    api: Option<String>,
    /// Find peers on the local network with mDNS.
    #[arg(long)]
    mdns: bool,
    /// Milliseconds between anti-entropy rounds.
    #[arg(long)]
    sync_interval_ms: Option<u64>,
}

pub(super) fn run_settings(dir: &DataDir, args: RunArgs) -> Result<crate::config::Settings> {
    let mut config = NodeConfig::load(&dir.config_path())?;
    if !args.listen.is_empty() {
        config.listen = args.listen;
    }
    config.bootstrap.extend(args.bootstrap);
    if let Some(api) = args.api {
        config.api = api;
    }
    config.mdns |= args.mdns;
    if let Some(ms) = args.sync_interval_ms {
        config.sync.interval_ms = ms;
    }
    Ok(config.validate()?)
}

pub(super) fn run_node(dir: &DataDir, args: RunArgs) -> Result<Report> {
    let settings = run_settings(dir, args)?;
    run::run(dir, settings)?;
    Ok(Report::new("stopped\n", json!({ "stopped": true })))
}

pub(super) fn join(
    dir: &DataDir,
    charter: &Path,
    introductions: &[PathBuf],
    args: RunArgs,
) -> Result<Report> {
    if args.bootstrap.is_empty() && NodeConfig::load(&dir.config_path())?.bootstrap.is_empty() {
        bail!("give at least one --bootstrap address of a member to reach");
    }
    let key = dir.key()?;
    let charter = read_charter(charter)?;
    {
        let store = dir.store()?;
        store.adopt_charter(&charter)?;
        for path in introductions {
            let file = read_file(path)?;
            check_network(&charter, &file).with_context(|| path.display().to_string())?;
            let TrustFile::Introduction(intro) = &file else {
                bail!(
                    "{} is a {} file, not an introduction",
                    path.display(),
                    file.kind_name()
                );
            };
            if intro.applicant != key.id() {
                bail!(
                    "{} introduces team {}, not this team ({})",
                    path.display(),
                    intro.applicant.short(),
                    key.id().short()
                );
            }
            for st in file.statements()? {
                store.put_statement(&st)?;
            }
        }
    }
    eprintln!(
        "joining network \"{}\" with {} introduction(s)",
        charter.body().name(),
        introductions.len()
    );
    run_node(dir, args)
}
