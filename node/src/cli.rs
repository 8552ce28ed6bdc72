//! The `trustmesh` command line.
//!
//! Every command prints a readable report, or with `--json` one JSON value
//! on standard output for scripts. Logs go to standard error.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::datadir::DataDir;

mod advisory;
mod charter;
mod client;
mod contact;
mod demo;
mod export;
mod files;
mod identity;
mod membership;
mod node;
mod run;
mod status;
mod tool;

use advisory::AdvisoryCommand;
use charter::CharterCommand;
use contact::ContactCommand;
use export::ExportCommand;
use identity::ProfileArgs;
use node::RunArgs;
use tool::ToolCommand;

/// trustmesh: the node national CSIRTs run to share contacts, advisories and
/// tools with each other without a central hub.
#[derive(Debug, Parser)]
#[command(name = "trustmesh", version, propagate_version = true)]
pub struct Cli {
    /// The node's data directory (team key, profile, store).
    #[arg(long, global = true, env = "TRUSTMESH_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
    /// The settings file (default `<data-dir>/config.toml`; relative file
    /// names in it are read from its directory).
    #[arg(long, global = true, env = "TRUSTMESH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print one JSON value on standard output instead of a report.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create this team's key (mode 0600) and record its profile.
    Init(ProfileArgs),
    /// Print this team's public card, which founders exchange to draft a charter.
    Card {
        /// Write the card to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Draft, sign and seal a network's charter.
    #[command(subcommand)]
    Charter(CharterCommand),
    /// Apply to join the network a charter founds.
    Apply {
        /// The sealed charter.
        #[arg(long)]
        charter: PathBuf,
        /// Where to write the application.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign an introduction vouching for an application (as a sponsor).
    Sponsor {
        /// The application file.
        application: PathBuf,
        /// Where to write the introduction.
        #[arg(long)]
        out: PathBuf,
        /// How you know the team (recorded in the signed introduction).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Revoke a member (or, naming yourself, your own key).
    Revoke {
        /// The team to revoke: its id, PeerId or a unique id prefix.
        team: String,
        /// Why (recorded in the signed revocation).
        #[arg(long)]
        reason: String,
        /// Where to write the revocation.
        #[arg(long)]
        out: PathBuf,
        /// Keep none of the team's introductions, instead of all this node holds.
        #[arg(long)]
        keep_none: bool,
        /// Sign it: a revocation is irreversible and spreads at once from a
        /// running node. Without this, show what would be signed and stop.
        #[arg(long)]
        yes: bool,
    },
    /// Add charters, applications, introductions and revocations to this node.
    Import {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check trustmesh files and print what they say.
    Verify {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also check that they belong to this charter's network.
        #[arg(long)]
        charter: Option<PathBuf>,
    },
    /// List the members and every team the node knows, with the reason for each.
    Members,
    /// Run the node: join the mesh, replicate, serve the local API (until SIGINT/SIGTERM).
    Run(RunArgs),
    /// Join a network: adopt its charter, add your introductions, reach the
    /// bootstrap members and run the node.
    Join {
        /// The sealed charter.
        #[arg(long)]
        charter: PathBuf,
        /// An introduction file from a sponsor (repeat; each carries your application).
        #[arg(long = "introduction", required = true)]
        introductions: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Publish, update, list and show advisories (through the running node).
    #[command(subcommand)]
    Advisory(AdvisoryCommand),
    /// The contacts directory (through the running node).
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Tool registries (through the running node).
    #[command(subcommand)]
    Tool(ToolCommand),
    /// Export an advisory as CSAF 2.0 or STIX 2.1, or the contacts directory
    /// (through the running node).
    #[command(subcommand)]
    Export(ExportCommand),
    /// The running node's connected peers.
    Peers,
    /// The running node's health: membership, peers, sync counters.
    Status,
    /// Print the address of the running node's web page, with a login link.
    Web,
    /// Walk through founding a network and admitting a team, in a temporary directory.
    Demo {
        /// Keep the demo's directory instead of deleting it.
        #[arg(long)]
        keep: bool,
    },
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("trustmesh")
}

/// What a command has to say: a report for people and a value for scripts.
pub(crate) struct Report {
    human: String,
    json: Value,
}

impl Report {
    pub(crate) fn new(human: impl Into<String>, json: Value) -> Self {
        Self {
            human: human.into(),
            json,
        }
    }

    /// A report whose JSON is one of the API's answers, printed as the node
    /// gave it.
    pub(crate) fn of<T: serde::Serialize>(human: impl Into<String>, answer: &T) -> Result<Self> {
        Ok(Self::new(human, serde_json::to_value(answer)?))
    }
}

/// Parses the arguments, runs the command, prints the result.
pub fn main() -> ExitCode {
    // Everything the node writes (the store's files, tokens, cursors) is
    // for this user alone: mode 0600 files in a 0700 directory.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    init_tracing();
    let json = cli.json;
    let (out, code) = match run(cli) {
        Ok(report) if json => (format!("{}\n", report.json), ExitCode::SUCCESS),
        Ok(report) => (report.human, ExitCode::SUCCESS),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            let out = if json {
                format!("{}\n", json!({ "error": format!("{e:#}") }))
            } else {
                String::new()
            };
            (out, ExitCode::FAILURE)
        }
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`trustmesh ... | head`) is no error.
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: writing the output: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRUSTMESH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn run(cli: Cli) -> Result<Report> {
    let dir = DataDir::new(&cli.data_dir).with_config(cli.config.clone());
    match cli.command {
        Command::Init(p) => identity::init(&dir, p),
        Command::Card { out } => identity::card(&dir, out.as_deref()),
        Command::Charter(c) => charter::charter(&dir, c),
        Command::Apply { charter, out } => membership::apply(&dir, &charter, &out),
        Command::Sponsor {
            application,
            out,
            note,
        } => membership::sponsor(&dir, &application, &out, &note),
        Command::Revoke {
            team,
            reason,
            out,
            keep_none,
            yes,
        } => {
            membership::confirm_revoke(&dir, &team, &reason, keep_none, yes)?;
            membership::revoke(&dir, &team, &reason, &out, keep_none)
        }
        Command::Import { files } => membership::import(&dir, &files),
        Command::Verify { files, charter } => membership::verify(&dir, &files, charter.as_deref()),
        Command::Members => membership::members(&dir),
        Command::Run(args) => node::run_node(&dir, args),
        Command::Join {
            charter,
            introductions,
            run,
        } => node::join(&dir, &charter, &introductions, run),
        Command::Advisory(c) => advisory::advisory(&dir, c),
        Command::Contact(c) => contact::contact(&dir, c),
        Command::Tool(c) => tool::tool(&dir, c),
        Command::Export(c) => export::export(&dir, c),
        Command::Peers => status::peers(&dir),
        Command::Status => status::status(&dir),
        Command::Web => status::web(&dir),
        Command::Demo { keep } => demo::run(keep, cli.json),
    }
}

#[cfg(test)]
mod tests;
