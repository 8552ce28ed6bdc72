//! `trustmesh run`: starts the node on a data directory and runs it until
//! SIGINT or SIGTERM.
//!
//! While it runs, `<data-dir>/node.json` says where its API listens (and
//! its PeerId and listen addresses), so the CLI and scripts can reach it;
//! the file is removed on a clean exit. `<data-dir>/api.token` (mode 0600)
//! holds the API token, created on first start.

use anyhow::{Context, Result, anyhow, bail};
use tracing::info;
use trustmesh_protocol::{ActorSuffix, Config, Node};

use crate::alerts::Cursor;
use crate::config::Settings;
use crate::datadir::{DataDir, NodeInfo};
use crate::engine::{self, Engine, PeerBook, now_ms};

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
    if let Ok(Some(running)) = dir.node_info()
        && running.pid != std::process::id()
    {
        bail!(
            "a node (pid {}) is already running on {}",
            running.pid,
            dir.path().display()
        );
    }
    let mut suffix = [0u8; 16];
    getrandom::fill(&mut suffix).map_err(|e| anyhow!("no randomness for the actor id: {e}"))?;
    let config = Config::default()
        .with_sync_interval(settings.sync_interval.as_millis() as u64)
        .with_sync_fanout(settings.sync_fanout)
        .with_cached_documents(settings.limits.cached_documents)
        // Received changes are checked and applied on every core.
        .with_ingest_threads(std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
        .with_seed(u64::from_be_bytes(
            suffix[..8].try_into().unwrap_or_default(),
        ));
    let book = PeerBook::load(store.clone(), settings.limits.target_peers);
    let arrivals = store.clone();
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
    let token = dir.token_or_create()?;
    let listener = tokio::net::TcpListener::bind(settings.api)
        .await
        .with_context(|| format!("binding the API to {}", settings.api))?;
    let api_addr = listener.local_addr()?;
    if !api_addr.ip().is_loopback() {
        tracing::warn!(%api_addr, "the API listens beyond loopback; keep api.token secret");
    }
    let rules = settings.alerts.clone();
    let taxii = settings.taxii.clone();
    let csaf = match &settings.csaf {
        Some(c) => Some(std::sync::Arc::new(csaf_provider(dir, c)?)),
        None => None,
    };
    let mut engine = Engine::new(node, key.clone(), settings, book)?;
    engine.keep_arrivals(arrivals);
    if !rules.is_empty() {
        let cursor = Cursor::open(&dir.alerts_path(), &rules, now_ms() as i64 / 1000)
            .context("opening the alerts cursor")?;
        info!(rules = rules.len(), "alerts on");
        engine.set_alerts(crate::alerts::start(rules, cursor));
    }
    let peer_id = engine.local_peer_id().to_string();
    let base = NodeInfo {
        pid: std::process::id(),
        api: api_addr.to_string(),
        peer_id: peer_id.clone(),
        team_id: key.id(),
        network_id: charter.network_id(),
        listen: vec![],
    };
    dir.write_node_info(&base)?;
    let root = dir.clone();
    engine.on_listen(move |addrs| {
        let info = NodeInfo {
            listen: addrs.iter().map(|a| format!("{a}/p2p/{peer_id}")).collect(),
            ..base.clone()
        };
        if let Err(e) = root.write_node_info(&info) {
            tracing::warn!(error = %e, "could not describe the node in node.json");
        }
    });
    let (client, jobs) = engine::channel();
    let mut session_key = [0u8; 32];
    getrandom::fill(&mut session_key)
        .map_err(|e| anyhow!("no randomness for the web session key: {e}"))?;
    let taxii_server = match taxii {
        Some(t) => {
            let network = charter.network_id().to_string();
            Some(start_taxii(dir, &t, client.clone(), &network, csaf.clone()).await?)
        }
        None => {
            if csaf.is_some() {
                eprintln!(
                    "CSAF provider directory: `trustmesh export csaf-provider --out DIR` writes it; add [taxii] listen = ... to serve it"
                );
            }
            None
        }
    };
    let app = crate::http::router(client, token, session_key, csaf);
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
        dir.token_path().display()
    );
    engine.run(jobs, shutdown_signal()).await;
    let _ = stop_api.send(());
    let _ = server.await;
    if let Some(t) = taxii_server {
        t.abort();
    }
    dir.remove_node_info();
    Ok(())
}

/// Starts the TAXII server (and MISP feed) on its own listener, making
/// each reader's token file on first use.
async fn start_taxii(
    dir: &DataDir,
    t: &crate::config::TaxiiSettings,
    client: engine::Client,
    network: &str,
    csaf: Option<std::sync::Arc<crate::http::CsafProvider>>,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut readers = Vec::new();
    for r in &t.readers {
        let token = dir.reader_token_or_create(&r.name)?;
        readers.push(crate::http::ReaderKey {
            reader: r.clone(),
            token,
        });
    }
    let tcp = tokio::net::TcpListener::bind(t.listen)
        .await
        .with_context(|| format!("binding the TAXII server to {}", t.listen))?;
    let addr = tcp.local_addr()?;
    let served = csaf.clone();
    let app = crate::http::taxii_router(client, readers, network.to_owned(), t.tls.is_some(), csaf);
    let scheme = if t.tls.is_some() { "https" } else { "http" };
    let task = match &t.tls {
        Some((cert, key)) => {
            let listener = crate::http::TlsListener::new(tcp, cert, key)
                .context("setting up TLS for the TAXII server")?;
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        }
        None => tokio::spawn(async move {
            let _ = axum::serve(tcp, app).await;
        }),
    };
    for r in &t.readers {
        info!(
            reader = %r.name,
            tlp = ?r.tlp,
            token = %dir.reader_token_path(&r.name).display(),
            "TAXII reader"
        );
    }
    eprintln!(
        "TAXII 2.1 on {scheme}://{addr}/taxii2/ (reader tokens in {})",
        dir.path().join("taxii").display()
    );
    if let Some(p) = served {
        eprintln!(
            "CSAF provider directory on {scheme}://{addr}/.well-known/csaf/ (key {}); for security.txt: CSAF: {}",
            p.key.fingerprint(),
            crate::export::csaf_provider::metadata_url(&p.settings)
        );
    }
    Ok(task)
}

/// The CSAF provider directory's settings and key: the operator's, or
/// the one this node made for its team the first time.
fn csaf_provider(
    dir: &DataDir,
    c: &crate::config::CsafSettings,
) -> Result<crate::http::CsafProvider> {
    let profile = dir.profile()?;
    let user_id = if profile.email.trim().is_empty() {
        format!("{} CSAF signing key", profile.name)
    } else {
        format!(
            "{} CSAF signing key <{}>",
            profile.name,
            profile.email.trim()
        )
    };
    let p = crate::http::CsafProvider::load(dir, c, &user_id, now_ms() / 1000)
        .context("setting up the CSAF provider directory")?;
    info!(
        url = %crate::export::csaf_provider::metadata_url(&p.settings),
        fingerprint = %p.key.fingerprint(),
        tlp = ?p.settings.tlp,
        "CSAF provider directory"
    );
    Ok(p)
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
