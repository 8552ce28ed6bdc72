//! `trustmesh run`: starts the node on a data directory and runs it until
//! SIGINT or SIGTERM.
//!
//! While it runs, `<data-dir>/node.json` says where its API listens (and
//! its PeerId and listen addresses), so the CLI and scripts can reach it;
//! the file is removed on a clean exit. `<data-dir>/api.token` (mode 0600)
//! holds the API token, created on first start.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use tracing::info;
use trustmesh_protocol::{ActorSuffix, Config, Node};

use crate::alerts::Cursor;
use crate::config::Settings;
use crate::datadir::DataDir;
use crate::engine::{self, Engine, now_ms};
use crate::peers::PeerBook;

/// The file a running node describes itself in.
pub fn node_file(dir: &Path) -> PathBuf {
    dir.join("node.json")
}

/// The API token file.
pub fn token_file(dir: &Path) -> PathBuf {
    dir.join("api.token")
}

/// Reads the API token, creating it (mode 0600) if missing.
fn api_token(dir: &Path) -> Result<String> {
    let path = token_file(dir);
    match fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness for the API token: {e}"))?;
    let token = hex::encode(bytes);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(token.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(token)
}

fn write_node_file(dir: &Path, value: &serde_json::Value) {
    let path = node_file(dir);
    let tmp = dir.join("node.json.tmp");
    let ok = fs::write(&tmp, format!("{value:#}\n")).and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = ok {
        tracing::warn!(error = %e, "could not write {}", path.display());
    }
}

/// Runs the node until a signal. Blocks the calling thread.
pub fn run(dir: &DataDir, settings: Settings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(dir, settings))
}

async fn run_async(dir: &DataDir, settings: Settings) -> Result<()> {
    let key = dir.key()?;
    let store = dir.store()?;
    let Some(charter) = store.charter()? else {
        bail!(
            "{} belongs to no network yet: import a sealed charter (`trustmesh import charter.json`) or use `trustmesh join`",
            dir.path().display()
        );
    };
    if let Some(existing) = fs::read_to_string(node_file(dir.path())).ok()
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&existing)
        && let Some(pid) = v["pid"].as_u64()
        && Path::new(&format!("/proc/{pid}")).exists()
        && pid != u64::from(std::process::id())
    {
        bail!(
            "a node (pid {pid}) is already running on {}",
            dir.path().display()
        );
    }
    let mut suffix = [0u8; 16];
    getrandom::fill(&mut suffix).map_err(|e| anyhow!("no randomness for the actor id: {e}"))?;
    let config = Config::default()
        .with_sync_interval(settings.sync_interval.as_millis() as u64)
        .with_sync_fanout(settings.sync_fanout)
        .with_seed(u64::from_be_bytes(
            suffix[..8].try_into().unwrap_or_default(),
        ));
    let book = PeerBook::load(store.clone());
    let (node, report) = Node::open(
        config,
        key.clone(),
        ActorSuffix::from_bytes(suffix),
        charter.clone(),
        store,
        now_ms(),
    )
    .context("opening the store")?;
    info!(
        statements = report.statements,
        changes = report.changes,
        documents = report.documents,
        from_snapshot = report.from_snapshot,
        bad = report.bad_statements + report.bad_changes,
        "store opened"
    );
    let member = node.is_member();
    let token = api_token(dir.path())?;
    let listener = tokio::net::TcpListener::bind(settings.api)
        .await
        .with_context(|| format!("binding the API to {}", settings.api))?;
    let api_addr = listener.local_addr()?;
    if !api_addr.ip().is_loopback() {
        tracing::warn!(%api_addr, "the API listens beyond loopback; keep api.token secret");
    }
    let rules = settings.alerts.clone();
    let mut engine = Engine::new(node, key.clone(), settings, book)?;
    if !rules.is_empty() {
        let cursor = Cursor::open(&Cursor::file(dir.path()), &rules, now_ms() as i64 / 1000)
            .context("opening the alerts cursor")?;
        info!(rules = rules.len(), "alerts on");
        engine.set_alerts(crate::alerts::start(rules, cursor));
    }
    let peer_id = engine.local_peer_id().to_string();
    let base = json!({
        "pid": std::process::id(),
        "api": api_addr.to_string(),
        "peer_id": peer_id,
        "team_id": key.id(),
        "network_id": charter.network_id(),
        "listen": [],
    });
    write_node_file(dir.path(), &base);
    let root = dir.path().to_owned();
    engine.on_listen(move |addrs| {
        let mut v = base.clone();
        v["listen"] = json!(
            addrs
                .iter()
                .map(|a| format!("{a}/p2p/{peer_id}"))
                .collect::<Vec<_>>()
        );
        write_node_file(&root, &v);
    });
    let (client, jobs) = engine::channel();
    let app = crate::api::router(client, token);
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = api_stopped.await;
            })
            .await;
    });
    info!(%api_addr, member, network = %charter.network_id().short(), "node running");
    eprintln!(
        "trustmesh node {} running; API on http://{api_addr}/api/v1 (token in {})",
        key.id().short(),
        token_file(dir.path()).display()
    );
    engine.run(jobs, shutdown_signal()).await;
    let _ = stop_api.send(());
    let _ = server.await;
    let _ = fs::remove_file(node_file(dir.path()));
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    info!("shutting down");
}
