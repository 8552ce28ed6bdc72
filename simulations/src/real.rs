//! The real-stack mode: the same kind of run with real `trustmesh`
//! processes on loopback, measured into the same [`RunMetrics`], so the
//! simulator's model can be held against reality.
//!
//! Every node is a founder (k = 2) started with `trustmesh run`. In the
//! mesh every node is given node 0's address and finds the rest by peer
//! exchange; in the hub baseline every other node may hold one connection
//! (`max_connections = 1`), to node 0, so everything goes through it.
//! Advisories are published one by one from nodes a seeded generator
//! picks, and every node's API is polled for their arrival. Bytes and
//! messages are the nodes' own counters of core messages (libp2p framing,
//! Noise and Yamux not included). Wall-clock times: the figures vary from
//! run to run, unlike the simulator's.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use thiserror::Error;

use crate::metrics::{Check, RunMetrics, Sample};
use crate::rng::SimRng;
use crate::simulation::Topology;

/// How real-stack figures are made, for the report.
pub const NOTE: &str = "Real-stack runs: real `trustmesh` processes (debug build) on loopback, \
     every node a founder. Mesh: every node is given node 0's address and finds the others by \
     peer exchange. Hub: every other node may hold one connection, to node 0, so everything \
     passes through it (gossipsub and anti-entropy as in production; the hub forwards to its \
     gossipsub mesh of at most 12 peers, the rest hear by lazy gossip or anti-entropy). \
     Arrival is when a node's API first lists the advisory (polled every 20 ms or so). Bytes \
     and messages are the nodes' counters of core messages sent, without libp2p framing, Noise \
     or Yamux. Wall-clock figures: they vary from run to run.";

/// What a real-stack run does.
#[derive(Debug, Clone)]
pub struct RealConfig {
    /// The `trustmesh` binary.
    pub binary: PathBuf,
    /// Where the nodes' data directories go (emptied first).
    pub dir: PathBuf,
    /// How many nodes.
    pub nodes: usize,
    /// How many advisories are published.
    pub advisories: usize,
    /// Pause between two publications.
    pub interval: Duration,
    /// Anti-entropy interval of every node.
    pub sync_interval_ms: u64,
    /// How long to wait for an advisory to reach every node.
    pub deadline: Duration,
    /// Seed of the choice of publishers.
    pub seed: u64,
}

/// Why a real-stack run could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RealError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A `trustmesh` command failed.
    #[error("trustmesh {args}: {stderr}")]
    Command {
        /// The arguments.
        args: String,
        /// Its standard error.
        stderr: String,
    },
    /// A node did not start or answer.
    #[error("node {node}: {why}")]
    Node {
        /// Which node.
        node: usize,
        /// What went wrong.
        why: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RealError {
    let what = what.into();
    move |source| RealError::Io { what, source }
}

/// A running node, killed on drop.
struct Proc {
    child: Child,
    api: String,
    token: String,
    addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, RealError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io("picking a free port"))
}

/// Runs `trustmesh --json [--data-dir dir] args` and returns its output.
fn trustmesh(c: &RealConfig, dir: Option<&Path>, args: &[&str]) -> Result<Value, RealError> {
    let mut cmd = Command::new(&c.binary);
    cmd.current_dir(&c.dir).arg("--json");
    if let Some(d) = dir {
        cmd.arg("--data-dir").arg(d);
    }
    let out = cmd
        .args(args)
        .env_remove("TRUSTMESH_DATA_DIR")
        .output()
        .map_err(io(format!("running {}", c.binary.display())))?;
    if !out.status.success() {
        return Err(RealError::Command {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null))
}

/// One HTTP request to a node's API; the parsed JSON body.
fn api(p: &Proc, method: &str, path: &str) -> Option<Value> {
    let mut s = TcpStream::connect(&p.api).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} /api/v1{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        p.api, p.token
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

fn node_dir(c: &RealConfig, i: usize) -> PathBuf {
    c.dir.join(format!("n{i:03}"))
}

/// Creates every node's key and a charter they all sign.
fn found(c: &RealConfig) -> Result<(), RealError> {
    if c.dir.exists() {
        std::fs::remove_dir_all(&c.dir).map_err(io(format!("emptying {}", c.dir.display())))?;
    }
    std::fs::create_dir_all(&c.dir).map_err(io(format!("creating {}", c.dir.display())))?;
    let mut draft: Vec<String> = ["charter", "draft", "--name", "Real-stack run"]
        .map(String::from)
        .to_vec();
    for i in 0..c.nodes {
        let d = node_dir(c, i);
        let short = format!("T{i:03}");
        trustmesh(
            c,
            Some(&d),
            &[
                "init",
                "--name",
                &format!("Team {i} CSIRT"),
                "--short-name",
                &short,
                "--country",
                "NL",
            ],
        )?;
        let card = format!("{short}.card.json");
        trustmesh(c, Some(&d), &["card", "--out", &card])?;
        draft.extend(["--founder".into(), card]);
    }
    draft.extend(["--sponsors-required", "2", "--out", "draft.json"].map(String::from));
    let refs: Vec<&str> = draft.iter().map(String::as_str).collect();
    trustmesh(c, None, &refs)?;
    for i in 0..c.nodes {
        trustmesh(c, Some(&node_dir(c, i)), &["charter", "sign", "draft.json"])?;
    }
    trustmesh(
        c,
        None,
        &["charter", "seal", "draft.json", "--out", "charter.json"],
    )?;
    for i in 0..c.nodes {
        trustmesh(c, Some(&node_dir(c, i)), &["import", "charter.json"])?;
    }
    Ok(())
}

fn start(
    c: &RealConfig,
    i: usize,
    topology: Topology,
    hub: Option<&str>,
) -> Result<Proc, RealError> {
    let d = node_dir(c, i);
    let star_leaf = topology == Topology::Hub && i != 0;
    let config = if star_leaf {
        "[limits]\nmax_connections = 1\ntarget_peers = 1\n"
    } else {
        ""
    };
    std::fs::write(d.join("config.toml"), config).map_err(io("writing config.toml"))?;
    let _ = std::fs::remove_file(d.join("node.json"));
    let log = std::fs::File::create(c.dir.join(format!("n{i:03}.log"))).map_err(io("log file"))?;
    let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port()?);
    let interval = c.sync_interval_ms.to_string();
    let mut cmd = Command::new(&c.binary);
    cmd.arg("--data-dir")
        .arg(&d)
        .args(["run", "--listen", &listen, "--api", "127.0.0.1:0"])
        .args(["--sync-interval-ms", &interval]);
    if let Some(h) = hub {
        cmd.args(["--bootstrap", h]);
    }
    let child = cmd
        .env_remove("TRUSTMESH_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(io("starting a node"))?;
    let mut proc = Proc {
        child,
        api: String::new(),
        token: String::new(),
        addr: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(d.join("node.json"))
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && let Some(addr) = v["listen"]
                .as_array()
                .and_then(|l| l.first())
                .and_then(Value::as_str)
        {
            proc.api = v["api"].as_str().unwrap_or_default().to_owned();
            proc.addr = addr.to_owned();
            proc.token = std::fs::read_to_string(d.join("api.token"))
                .map_err(io("reading api.token"))?
                .trim()
                .to_owned();
            return Ok(proc);
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            return Err(RealError::Node {
                node: i,
                why: format!("exited with {status}"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(RealError::Node {
        node: i,
        why: "did not start within 60 s".into(),
    })
}

fn counter(v: &Value, path: &[&str]) -> u64 {
    path.iter().fold(v, |v, k| &v[*k]).as_u64().unwrap_or(0)
}

/// Runs one topology and returns its figures.
pub fn run(c: &RealConfig, topology: Topology) -> Result<RunMetrics, RealError> {
    let started = Instant::now();
    found(c)?;
    let hub = start(c, 0, topology, None)?;
    let hub_addr = hub.addr.clone();
    let mut procs = vec![hub];
    for i in 1..c.nodes {
        procs.push(start(c, i, topology, Some(&hub_addr))?);
    }
    // Let the overlay form: every node connected to at least one member.
    let formed = Instant::now() + Duration::from_secs(60);
    while Instant::now() < formed {
        let ready = procs.iter().all(|p| {
            api(p, "GET", "/status").is_some_and(|s| counter(&s, &["peers", "members"]) >= 1)
        });
        if ready {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }

    let mut m = RunMetrics {
        label: format!("real {}", topology.label()),
        nodes: c.nodes,
        ..RunMetrics::default()
    };
    let mut rng = SimRng::new(c.seed);
    let t0 = Instant::now();
    for k in 0..c.advisories {
        let from = rng.below(c.nodes as u64) as usize;
        let id = format!("REAL-2026-{k:04}");
        trustmesh(
            c,
            Some(&node_dir(c, from)),
            &[
                "advisory",
                "publish",
                "--id",
                &id,
                "--title",
                "Real-stack advisory",
                "--severity",
                "medium",
                "--tlp",
                "clear",
            ],
        )?;
        let published = Instant::now();
        let mut arrived: BTreeMap<usize, u64> = BTreeMap::from([(from, 0)]);
        let deadline = published + c.deadline;
        while arrived.len() < c.nodes && Instant::now() < deadline {
            for (i, p) in procs.iter().enumerate() {
                if arrived.contains_key(&i) {
                    continue;
                }
                let has = api(p, "GET", "/advisories").is_some_and(|v| {
                    v["advisories"]
                        .as_array()
                        .is_some_and(|l| l.iter().any(|a| a["id"] == id.as_str()))
                });
                if has {
                    arrived.insert(i, published.elapsed().as_millis() as u64);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        m.items += 1;
        m.delays_ms.extend(arrived.values().filter(|d| **d > 0));
        if arrived.len() == c.nodes {
            m.convergence_ms
                .push(arrived.values().copied().max().unwrap_or(0));
        } else {
            m.unconverged += 1;
        }
        let statuses: Vec<Value> = procs
            .iter()
            .filter_map(|p| api(p, "GET", "/status"))
            .collect();
        m.timeline.push(Sample {
            at_ms: t0.elapsed().as_millis() as u64,
            bytes: statuses
                .iter()
                .map(|s| counter(s, &["net", "bytes_out"]))
                .sum(),
            messages: statuses
                .iter()
                .map(|s| counter(s, &["net", "sync_out"]) + counter(s, &["net", "gossip_out"]))
                .sum(),
            delivered: (k + 1 - m.unconverged.min(k + 1)) as f64 / (k + 1) as f64,
        });
        std::thread::sleep(c.interval);
    }

    // End state: identical replicas everywhere, nothing refused.
    let settle = Instant::now() + c.deadline;
    let mut statuses: Vec<Value>;
    loop {
        statuses = procs
            .iter()
            .filter_map(|p| api(p, "GET", "/status"))
            .collect();
        let same = statuses.len() == c.nodes
            && statuses
                .windows(2)
                .all(|w| w[0]["digest"] == w[1]["digest"]);
        if same || Instant::now() > settle {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let digests: std::collections::BTreeSet<String> = statuses
        .iter()
        .map(|s| s["digest"].as_str().unwrap_or_default().to_owned())
        .collect();
    m.checks.push(Check {
        name: "every node holds identical statements and documents".into(),
        passed: statuses.len() == c.nodes && digests.len() == 1,
        detail: format!(
            "{} answering, {} distinct digests",
            statuses.len(),
            digests.len()
        ),
    });
    m.checks.push(Check {
        name: "every advisory reached every node".into(),
        passed: m.unconverged == 0,
        detail: format!("{} of {} unconverged", m.unconverged, m.items),
    });
    for s in &statuses {
        m.bytes_per_node.push(counter(s, &["net", "bytes_out"]));
        m.messages_per_node
            .push(counter(s, &["net", "sync_out"]) + counter(s, &["net", "gossip_out"]));
        for (reason, n) in s["sync"]["rejected"].as_object().into_iter().flatten() {
            m.count(&format!("rejected {reason}"), n.as_u64().unwrap_or(0));
        }
        m.count("bans", counter(s, &["net", "bans"]));
    }
    m.virtual_ms = t0.elapsed().as_millis() as u64;
    m.wall_ms = started.elapsed().as_millis() as u64;
    m.peak_rss_kib = procs.iter().filter_map(|p| rss_kib(p.child.id())).max();
    m.trace_hash = "(real run: not replayable)".into();
    Ok(m)
}

/// Resident memory of a process (KiB).
fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
