//! The `trustmesh` command line.
//!
//! Every command prints a readable report, or with `--json` one JSON value
//! on standard output for scripts. Logs go to standard error.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use trustmesh_bootstrap::{
    ApplicationFile, CardFile, CharterDraftFile, IntroductionFile, RevocationFile, TrustFile,
    check_network,
};
use trustmesh_protocol::{Charter, Policy, Profile, Statement, StatementSet, TeamId, TeamKind};

use crate::client::ApiClient;
use crate::config::NodeConfig;
use crate::datadir::DataDir;
use crate::store::RocksStore;

mod live;
use live::{AdvisoryCommand, ContactCommand, ExportCommand, ToolCommand};

/// trustmesh: the node national CSIRTs run to share contacts, advisories and
/// tools with each other without a central hub.
#[derive(Debug, Parser)]
#[command(name = "trustmesh", version, propagate_version = true)]
pub struct Cli {
    /// The node's data directory (team key, profile, store).
    #[arg(long, global = true, env = "TRUSTMESH_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
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

#[derive(Debug, Subcommand)]
enum CharterCommand {
    /// Draft a charter from the founders' cards.
    Draft {
        /// The network's name.
        #[arg(long)]
        name: String,
        /// A founder's card file (repeat for each founder).
        #[arg(long = "founder", required = true)]
        founders: Vec<PathBuf>,
        /// k: introductions from distinct members needed to join.
        #[arg(long, default_value_t = 2)]
        sponsors_required: u16,
        /// r: revocations from distinct members needed to revoke (default: k).
        #[arg(long)]
        revocation_quorum: Option<u16>,
        /// Where to write the draft.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add this team's signature to a draft (as a founder).
    Sign {
        /// The draft file.
        draft: PathBuf,
        /// Write the signed draft here instead of updating the file in place.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Seal a draft every founder has signed.
    Seal {
        /// The draft file.
        draft: PathBuf,
        /// Where to write the sealed charter.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Settings of a running node; each overrides `<data-dir>/config.toml`.
#[derive(Debug, Args)]
struct RunArgs {
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

#[derive(Debug, Args)]
struct ProfileArgs {
    /// The team's full name.
    #[arg(long)]
    name: String,
    /// Its short name, such as CERT-XY.
    #[arg(long)]
    short_name: String,
    /// ISO 3166-1 alpha-2 country code.
    #[arg(long)]
    country: String,
    /// national, governmental, sector, academic, commercial, product or other.
    #[arg(long, default_value = "national")]
    kind: TeamKind,
    /// Whom the team serves.
    #[arg(long, default_value = "")]
    constituency: String,
    /// The team's e-mail address.
    #[arg(long, default_value = "")]
    email: String,
    /// The team's web site.
    #[arg(long, default_value = "")]
    website: String,
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
}

/// Parses the arguments, runs the command, prints the result.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let json = cli.json;
    match run(cli) {
        Ok(report) => {
            if json {
                println!("{}", report.json);
            } else {
                print!("{}", report.human);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                println!("{}", json!({ "error": format!("{e:#}") }));
            }
            eprintln!("error: {e:#}");
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

fn read_file(path: &Path) -> Result<TrustFile> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    TrustFile::parse(&text).with_context(|| format!("{}", path.display()))
}

fn write_file(path: &Path, file: &TrustFile) -> Result<()> {
    fs::write(path, file.to_json()).with_context(|| format!("writing {}", path.display()))
}

fn expect_kind<T>(
    path: &Path,
    file: TrustFile,
    pick: fn(TrustFile) -> Option<T>,
    expected: &str,
) -> Result<T> {
    let found = file.kind_name();
    pick(file).ok_or_else(|| anyhow!("{} is a {found} file, not a {expected}", path.display()))
}

fn read_draft(path: &Path) -> Result<CharterDraftFile> {
    expect_kind(
        path,
        read_file(path)?,
        |f| match f {
            TrustFile::CharterDraft(d) => Some(d),
            _ => None,
        },
        "charter draft",
    )
}

fn read_charter(path: &Path) -> Result<Charter> {
    let f = expect_kind(
        path,
        read_file(path)?,
        |f| match f {
            TrustFile::Charter(c) => Some(c),
            _ => None,
        },
        "sealed charter",
    )?;
    Ok(f.charter()?)
}

fn store_charter(store: &RocksStore, dir: &DataDir) -> Result<Charter> {
    store.charter()?.ok_or_else(|| {
        anyhow!(
            "{} belongs to no network yet: import a sealed charter first (`trustmesh import charter.json`)",
            dir.path().display()
        )
    })
}

fn run(cli: Cli) -> Result<Report> {
    let dir = DataDir::new(&cli.data_dir);
    match cli.command {
        Command::Init(p) => init(&dir, p),
        Command::Card { out } => card(&dir, out.as_deref()),
        Command::Charter(c) => charter(&dir, c),
        Command::Apply { charter, out } => apply(&dir, &charter, &out),
        Command::Sponsor {
            application,
            out,
            note,
        } => sponsor(&dir, &application, &out, &note),
        Command::Revoke {
            team,
            reason,
            out,
            keep_none,
        } => revoke(&dir, &team, &reason, &out, keep_none),
        Command::Import { files } => import(&dir, &files),
        Command::Verify { files, charter } => verify(&dir, &files, charter.as_deref()),
        Command::Members => members(&dir),
        Command::Run(args) => run_node(&dir, args),
        Command::Join {
            charter,
            introductions,
            run,
        } => join(&dir, &charter, &introductions, run),
        Command::Advisory(c) => live::advisory(dir.path(), c),
        Command::Contact(c) => live::contact(dir.path(), c),
        Command::Tool(c) => live::tool(dir.path(), c),
        Command::Export(c) => live::export(dir.path(), c),
        Command::Peers => live::peers(dir.path()),
        Command::Status => live::status(dir.path()),
        Command::Web => live::web(dir.path()),
        Command::Demo { keep } => crate::demo::run(keep, cli.json),
    }
}

fn init(dir: &DataDir, p: ProfileArgs) -> Result<Report> {
    let profile = Profile {
        name: p.name,
        short_name: p.short_name,
        country: p.country.to_ascii_uppercase(),
        kind: p.kind,
        constituency: p.constituency,
        email: p.email,
        website: p.website,
    };
    let key = dir.init(&profile)?;
    let id = key.id();
    Ok(Report::new(
        format!(
            "created the team key of {} in {}\n  team id  {id}\n  peer id  {}\n",
            profile.short_name,
            dir.path().display(),
            id.peer_id()
        ),
        json!({ "team_id": id, "peer_id": id.peer_id(), "data_dir": dir.path() }),
    ))
}

fn card(dir: &DataDir, out: Option<&Path>) -> Result<Report> {
    let file = TrustFile::Card(CardFile::new(&dir.key()?, dir.profile()?));
    match out {
        Some(path) => {
            write_file(path, &file)?;
            Ok(Report::new(
                format!("wrote {}\n{}", path.display(), file.describe()),
                json!({ "written": path, "card": file }),
            ))
        }
        None => Ok(Report::new(file.to_json(), serde_json::to_value(&file)?)),
    }
}

fn charter(dir: &DataDir, cmd: CharterCommand) -> Result<Report> {
    match cmd {
        CharterCommand::Draft {
            name,
            founders,
            sponsors_required,
            revocation_quorum,
            out,
        } => {
            let cards = founders
                .iter()
                .map(|p| {
                    expect_kind(
                        p,
                        read_file(p)?,
                        |f| match f {
                            TrustFile::Card(c) => Some(c),
                            _ => None,
                        },
                        "team card",
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let policy = Policy {
                sponsors_required,
                revocation_quorum: revocation_quorum.unwrap_or(sponsors_required),
            };
            let draft =
                TrustFile::CharterDraft(CharterDraftFile::new(&name, now(), &cards, policy)?);
            write_file(&out, &draft)?;
            Ok(Report::new(
                format!("wrote {}\n{}", out.display(), draft.describe()),
                json!({ "written": out, "draft": draft }),
            ))
        }
        CharterCommand::Sign { draft, out } => {
            let mut d = read_draft(&draft)?;
            let key = dir.key()?;
            d.sign(&key)?;
            let missing = d.missing();
            let file = TrustFile::CharterDraft(d);
            let out = out.unwrap_or(draft);
            write_file(&out, &file)?;
            let next = if missing.is_empty() {
                "every founder has signed: seal it with `trustmesh charter seal`".to_owned()
            } else {
                format!("{} founder(s) still to sign", missing.len())
            };
            Ok(Report::new(
                format!(
                    "signed as {} and wrote {}\n{}{next}\n",
                    key.id().short(),
                    out.display(),
                    file.describe()
                ),
                json!({ "written": out, "signer": key.id(), "missing": missing }),
            ))
        }
        CharterCommand::Seal { draft, out } => {
            let d = read_draft(&draft)?;
            let file = TrustFile::Charter(d.seal()?);
            write_file(&out, &file)?;
            Ok(Report::new(
                format!("sealed; wrote {}\n{}", out.display(), file.describe()),
                json!({ "written": out, "charter": file }),
            ))
        }
    }
}

fn apply(dir: &DataDir, charter_path: &Path, out: &Path) -> Result<Report> {
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

fn sponsor(dir: &DataDir, app_path: &Path, out: &Path, note: &str) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir.path())? {
        let text = fs::read_to_string(app_path)
            .with_context(|| format!("reading {}", app_path.display()))?;
        let v = api.send(
            "POST",
            "/sponsor",
            &json!({ "application": text, "note": note }),
        )?;
        let file = TrustFile::parse(&v["introduction"].to_string())
            .context("the node returned an introduction that does not verify")?;
        write_file(out, &file)?;
        return Ok(Report::new(
            format!(
                "wrote {}\n{}the running node stored and spread it; the applicant is {}a member now\n",
                out.display(),
                file.describe(),
                if v["applicant_is_member"] == json!(true) {
                    ""
                } else {
                    "not yet "
                }
            ),
            json!({ "written": out, "introduction": file, "applicant_is_member": v["applicant_is_member"], "spread": true }),
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
    let warning = if membership.is_member(&key.id()) {
        String::new()
    } else {
        "warning: you are not a member of this network, so this introduction will not count until you are\n".to_owned()
    };
    let file = TrustFile::Introduction(intro);
    write_file(out, &file)?;
    Ok(Report::new(
        format!("wrote {}\n{}{warning}", out.display(), file.describe()),
        json!({ "written": out, "introduction": file, "sponsor_is_member": warning.is_empty() }),
    ))
}

/// Finds a team by full id, PeerId or a unique prefix of a known id.
/// A team by id, id prefix or short name: the same rules as the API.
fn resolve_team(set: &StatementSet, text: &str) -> Result<TeamId> {
    crate::views::resolve_team(&set.membership(), text).map_err(|e| anyhow::anyhow!(e.message))
}

fn revoke(dir: &DataDir, team: &str, reason: &str, out: &Path, keep_none: bool) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir.path())? {
        let v = api.send(
            "POST",
            "/revoke",
            &json!({ "team": team, "reason": reason, "keep_none": keep_none }),
        )?;
        let file = TrustFile::parse(&v["revocation"].to_string())
            .context("the node returned a revocation that does not verify")?;
        write_file(out, &file)?;
        return Ok(Report::new(
            format!(
                "wrote {}\n{}the running node stored and spread it; the team is now {}\n",
                out.display(),
                file.describe(),
                v["status"].as_str().unwrap_or("?")
            ),
            json!({ "written": out, "revocation": file, "status": v["status"], "spread": true }),
        ));
    }
    let key = dir.key()?;
    let store = dir.store()?;
    let charter = store_charter(&store, dir)?;
    let set = store.statement_set(charter.clone())?;
    let revoked = resolve_team(&set, team)?;
    // The frontier: every introduction by the revoked key this node holds,
    // listed for review, unless the operator keeps none.
    let kept: Vec<_> = if keep_none {
        vec![]
    } else {
        set.iter()
            .filter(|s| matches!(s.statement(), Statement::Introduction(i) if i.sponsor == revoked))
            .map(|s| s.id())
            .collect()
    };
    let rev = RevocationFile::create(&charter, &key, revoked, reason, now(), kept.clone(), vec![])?;
    store.put_statement(&rev.statement()?)?;
    let file = TrustFile::Revocation(rev);
    write_file(out, &file)?;
    let mut human = format!("wrote {}\n{}", out.display(), file.describe());
    for id in &kept {
        if let Some(Statement::Introduction(i)) = set.get(id).map(|s| s.statement()) {
            human += &format!(
                "  keeps introduction {} of {}\n",
                id.short(),
                i.applicant.short()
            );
        }
    }
    Ok(Report::new(
        human,
        json!({ "written": out, "revocation": file }),
    ))
}

fn import(dir: &DataDir, paths: &[PathBuf]) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir.path())? {
        let files = paths
            .iter()
            .map(|p| fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
            .collect::<Result<Vec<_>>>()?;
        let v = api.send("POST", "/import", &json!({ "files": files }))?;
        return Ok(Report::new(
            format!(
                "{} new statement(s), {} already known (spread by the running node)\n",
                v["added"], v["already_known"]
            ),
            v,
        ));
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

fn verify(dir: &DataDir, paths: &[PathBuf], charter: Option<&Path>) -> Result<Report> {
    let charter = match charter {
        Some(p) => Some(read_charter(p)?),
        None if dir.path().join("db").exists() => dir.store()?.charter()?,
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

fn members(dir: &DataDir) -> Result<Report> {
    if let Some(api) = ApiClient::find(dir.path())? {
        let v = api.get("/members")?;
        return Ok(Report::new(members_human(&v), v));
    }
    let store = dir.store()?;
    let charter = store_charter(&store, dir)?;
    let set = store.statement_set(charter.clone())?;
    let v = crate::views::members_json(&charter, &set.membership());
    Ok(Report::new(members_human(&v), v))
}

fn members_human(v: &Value) -> String {
    let standings = v["standings"].as_array().cloned().unwrap_or_default();
    let mut human = format!(
        "network \"{}\" {}\n{} member(s); {} sponsors to join, {} revokers to revoke\n",
        v["network"].as_str().unwrap_or("?"),
        v["network_id"]
            .as_str()
            .map_or("?", |s| &s[..8.min(s.len())]),
        v["members"].as_array().map_or(0, Vec::len),
        v["sponsors_required"],
        v["revocation_quorum"],
    );
    for s in &standings {
        let status = match s["status"].as_str().unwrap_or("?") {
            "admitted" => "member",
            other => other,
        };
        human += &format!(
            "  {status:<8} {} {:<14} {}\n",
            s["team"].as_str().map_or("?", |t| &t[..8.min(t.len())]),
            s["short_name"].as_str().unwrap_or("(no profile)"),
            s["reason"].as_str().unwrap_or("")
        );
    }
    human
}

fn run_settings(dir: &DataDir, args: RunArgs) -> Result<crate::config::Settings> {
    let mut config = NodeConfig::load(dir.path())?;
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

fn run_node(dir: &DataDir, args: RunArgs) -> Result<Report> {
    let settings = run_settings(dir, args)?;
    crate::run::run(dir, settings)?;
    Ok(Report::new("stopped\n", json!({ "stopped": true })))
}

fn join(dir: &DataDir, charter: &Path, introductions: &[PathBuf], args: RunArgs) -> Result<Report> {
    if args.bootstrap.is_empty() && NodeConfig::load(dir.path())?.bootstrap.is_empty() {
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

#[cfg(test)]
mod tests;
