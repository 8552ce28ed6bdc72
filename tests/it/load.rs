//! Load through a small network: a member pushes a steady stream of valid
//! changes into one node; three nodes must take them all and converge, and
//! their memory must grow with the data they hold, not without bound.
//!
//! `TRUSTMESH_LOAD_RATE` (changes a second, default 2000) and
//! `TRUSTMESH_LOAD_SECS` (default 10) set the load; the figures are printed
//! (`cargo test -p trustmesh-tests --test it load -- --nocapture`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use trustmesh_node::api::Status;

use crate::support::{CONVERGE, Running, Workspace};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process, in KiB.
fn rss_kib(r: &Running) -> u64 {
    std::fs::read_to_string(format!("/proc/{}/status", r.child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn changes(w: &Workspace, team: &str) -> u64 {
    w.status(team).sync.changes_new
}

#[test]
fn a_steady_stream_of_changes_converges_with_bounded_memory() {
    let rate = env_or("TRUSTMESH_LOAD_RATE", 2000);
    let secs = env_or("TRUSTMESH_LOAD_SECS", 10);
    let w = Workspace::new();
    for t in ["AA", "BB", "CC", "DD"] {
        w.init(t, t);
    }
    w.found(&["AA", "BB", "CC", "DD"], 2);
    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    let c = w.start("CC", &["run", "--bootstrap", &a.addr]);
    let nodes = [("AA", &a), ("BB", &b), ("CC", &c)];
    w.wait_api("CC", &["status"], |v: &Status| v.peers.members >= 2);
    let rss_start: Vec<u64> = nodes.iter().map(|(_, r)| rss_kib(r)).collect();

    // DD's member key pushes the load into AA over the sync protocol.
    let started = Instant::now();
    // It prints its report once the load is answered and then serves on,
    // like the member it is, until the test is done with it.
    let mut generator = Command::new(env!("CARGO_BIN_EXE_trustmesh-attacker"))
        .arg(w.path("DD"))
        .arg(&a.addr)
        .args(["load", &rate.to_string(), &secs.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the load generator runs");
    let mut line = String::new();
    BufReader::new(generator.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the generator reports");
    let _serving = Running {
        child: generator,
        addr: String::new(),
    };
    let report: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the generator's report {line:?}: {e}"));
    let sent = report["changes_sent"].as_u64().unwrap_or(0);
    assert!(
        sent >= rate * secs * 9 / 10,
        "only {sent} changes sent: {report:#}"
    );
    assert_eq!(
        report["busy"], 0,
        "the honest load was rate limited: {report:#}"
    );
    let took_in = started.elapsed();

    // Every node ends with every change; AA ingested at the offered rate.
    let deadline = Instant::now() + CONVERGE * 3;
    let mut peak: Vec<u64> = rss_start.clone();
    loop {
        for (i, (_, r)) in nodes.iter().enumerate() {
            peak[i] = peak[i].max(rss_kib(r));
        }
        if nodes.iter().all(|(t, _)| changes(&w, t) >= sent) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged: {:?} of {sent}; AA: {:#}\n--- AA's log ---\n{}",
            nodes
                .iter()
                .map(|(t, _)| changes(&w, t))
                .collect::<Vec<_>>(),
            w.ok(Some("AA"), &["status"]),
            w.log("AA")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let converged = started.elapsed();
    let digests: Vec<String> = nodes.iter().map(|(t, _)| w.status(t).digest).collect();
    assert!(digests.windows(2).all(|p| p[0] == p[1]), "{digests:?}");

    // Memory: once the load stops, nothing keeps growing; and what it grew
    // is bounded per change held (changes and their documents stay in memory
    // by design, see ARCHITECTURE.md).
    let settled: Vec<u64> = nodes.iter().map(|(_, r)| rss_kib(r)).collect();
    std::thread::sleep(Duration::from_secs(5));
    let later: Vec<u64> = nodes.iter().map(|(_, r)| rss_kib(r)).collect();
    println!(
        "load: {sent} changes at {rate}/s offered; sent in {:.1}s; all three nodes converged after {:.1}s",
        took_in.as_secs_f64(),
        converged.as_secs_f64()
    );
    for (i, (t, _)) in nodes.iter().enumerate() {
        let per_change = (peak[i].saturating_sub(rss_start[i])) * 1024 / sent.max(1);
        println!(
            "load: {t} rss start {} KiB, peak {} KiB, settled {} KiB, 5 s later {} KiB ({per_change} B per change)",
            rss_start[i], peak[i], settled[i], later[i]
        );
        assert!(
            later[i] <= settled[i] + settled[i] / 10 + 4096,
            "{t}: memory still growing after the load: {} -> {} KiB",
            settled[i],
            later[i]
        );
        assert!(
            per_change < 16 * 1024,
            "{t}: {per_change} bytes of memory per change held"
        );
    }
}
