//! Operations: alert rules (a command and a webhook) delivered at least
//! once across a kill and restart, without duplicates; the Prometheus
//! endpoint; the health line of `trustmesh status`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use trustmesh_node::api::Status;

use crate::support::{CONVERGE, Workspace, exe, has_advisory};

/// A tiny HTTP server collecting POST bodies; answers 200 to everything.
fn webhook_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let got = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Some(body) = read_request(stream) {
                got.lock().expect("lock").push(body);
            }
        }
    });
    (port, bodies)
}

/// Reads one request, answers 200 and returns its body.
fn read_request(stream: TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .ok()?;
    String::from_utf8(body).ok()
}

/// GET over plain TCP: (status, body).
fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the API");
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}connection: close\r\n\r\n"
    )
    .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

fn publish(w: &Workspace, id: &str, category: &str, severity: &str) {
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "publish",
            "--id",
            id,
            "--title",
            "Ops test advisory",
            "--tlp",
            "clear",
            "--category",
            category,
            "--severity",
            severity,
        ],
    );
}

/// The files the command rule wrote, one per delivery.
fn command_outputs(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .expect("outputs")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    out.sort();
    out
}

/// Which advisory ids the deliveries name.
fn ids(deliveries: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = deliveries
        .iter()
        .map(|d| {
            let v: Value = serde_json::from_str(d).expect("delivery is JSON");
            v["advisory"]["id"].as_str().unwrap_or("?").to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// Waits until `f` holds, for at most [`CONVERGE`].
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + CONVERGE;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not reached in time");
}

#[test]
fn alerts_are_delivered_once_across_a_restart_and_metrics_and_health_are_served() {
    let w = Workspace::new();
    for (t, c) in [("AA", "AA"), ("BB", "BB"), ("CC", "CC")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB", "CC"], 2);

    let outputs = w.path("alert-outputs");
    std::fs::create_dir_all(&outputs).expect("outputs dir");
    let script = w.path("alert.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat > \"$(mktemp {}/cmd-XXXXXX)\"\n",
            outputs.display()
        ),
    )
    .expect("script");
    let (port, bodies) = webhook_sink();
    std::fs::write(
        w.path("BB").join("config.toml"),
        format!(
            r#"
[[alerts]]
name = "page"
categories = ["alert"]
min_severity = "high"
command = ["/bin/sh", "{}"]
timeout_secs = 10

[[alerts]]
name = "hook"
min_severity = "high"
teams = ["AA"]
webhook = "http://127.0.0.1:{port}/alerts"
"#,
            script.display()
        ),
    )
    .expect("config");

    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.wait_api("BB", &["status"], |v: &Status| v.peers.members >= 1);

    publish(&w, "AA-1", "alert", "critical");
    publish(&w, "AA-2", "alert", "low");
    w.wait_api("BB", &["advisory", "list"], |v| {
        has_advisory(v, "AA-1") && has_advisory(v, "AA-2")
    });
    w.wait_api("BB", &["status"], |v: &Status| {
        v.alerts.delivered == 2 && v.alerts.pending == 0
    });
    assert_eq!(ids(&command_outputs(&outputs)), ["AA-1"]);
    assert_eq!(ids(&bodies.lock().expect("lock")), ["AA-1"]);

    // Down while AA publishes; the restart catches up once.
    b.kill();
    publish(&w, "AA-3", "alert", "high");
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.wait_api("BB", &["advisory", "list"], |v| has_advisory(v, "AA-3"));
    eventually("the missed alert is delivered", || {
        command_outputs(&outputs).len() >= 2 && bodies.lock().expect("lock").len() >= 2
    });
    w.wait_api("BB", &["status"], |v: &Status| {
        v.alerts.delivered == 2 && v.alerts.pending == 0
    });
    assert_eq!(ids(&command_outputs(&outputs)), ["AA-1", "AA-3"]);
    assert_eq!(ids(&bodies.lock().expect("lock")), ["AA-1", "AA-3"]);
    let cursor = std::fs::read_to_string(w.path("BB").join("alerts.json")).expect("cursor");
    assert!(
        cursor.contains("\"page\"") && cursor.contains("\"hook\""),
        "{cursor}"
    );

    // Metrics: with the token, and 401 without.
    let node: Value = serde_json::from_str(
        &std::fs::read_to_string(w.path("BB").join("node.json")).expect("node.json"),
    )
    .expect("node.json is JSON");
    let api = node["api"].as_str().expect("api address");
    let token = std::fs::read_to_string(w.path("BB").join("api.token")).expect("token");
    let (status, _) = http_get(api, "/metrics", None);
    assert_eq!(status, 401);
    let (status, text) = http_get(api, "/metrics", Some(token.trim()));
    assert_eq!(status, 200, "{text}");
    for name in [
        "trustmesh_peers_connected ",
        "trustmesh_members ",
        "trustmesh_documents ",
        "trustmesh_statements ",
        "trustmesh_changes_applied_total ",
        "# TYPE trustmesh_rejected_total counter",
        "trustmesh_bytes_in_total ",
        "trustmesh_bytes_out_total ",
        "trustmesh_sync_rounds_total ",
        "trustmesh_gossip_in_total ",
        "trustmesh_gossip_out_total ",
        "trustmesh_bans_total ",
        "trustmesh_rate_limited_total ",
        "trustmesh_alerts_delivered_total 2",
        "trustmesh_alerts_failed_total ",
        "trustmesh_gossip_latency_seconds_bucket{le=\"+Inf\"}",
        "trustmesh_gossip_latency_seconds_count ",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }

    // `status`: a health line first, and "health" in --json.
    let out = Command::new(exe())
        .arg("--data-dir")
        .arg(w.path("BB"))
        .arg("status")
        .env_remove("TRUSTMESH_DATA_DIR")
        .output()
        .expect("status runs");
    assert!(out.status.success());
    let human = String::from_utf8_lossy(&out.stdout);
    let first = human.lines().next().unwrap_or("");
    assert!(
        first.starts_with("healthy: member, ") || first.starts_with("degraded: "),
        "{human}"
    );
    assert!(first.contains("store failures"), "{human}");
    // The answer is typed: a state among healthy and degraded, a summary.
    let status = w.status("BB");
    assert!(!status.health.summary.is_empty(), "{status:#?}");
}
