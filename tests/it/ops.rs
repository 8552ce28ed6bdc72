//! Operations: alert rules (a command and a webhook) delivered at least
//! once across a kill and restart, without duplicates; the Prometheus
//! endpoint; the health line of `trustmesh status`. Then https webhooks in
//! every format and mail, against tests/py-alerts/receiver.py: an https
//! server whose certificate a `trustme` test CA issued and an `aiosmtpd`
//! server requiring STARTTLS and AUTH (both from PyPI, in a venv made on
//! first use), which check each signature and body as a receiver would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

/// The Python of a venv holding tests/py-alerts/requirements.txt
/// (trustme, aiosmtpd), made on first use; `Err` says why it cannot be.
fn alerts_python() -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let venv = PathBuf::from(home).join(".cache/trustmesh-py-alerts");
    let python = venv.join("bin/python");
    let reqs = Path::new(env!("CARGO_MANIFEST_DIR")).join("py-alerts/requirements.txt");
    let ready = Command::new(&python)
        .args(["-c", "import trustme, aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ready {
        return Ok(python);
    }
    let step = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what}: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    if !venv.join("bin/pip").exists() {
        step(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv (on Debian this needs python3-venv)",
        )?;
    }
    step(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "-r"])
            .arg(&reqs),
        "pip install trustme aiosmtpd",
    )?;
    Ok(python)
}

/// tests/py-alerts/receiver.py running: an https server with a trustme
/// CA and an SMTP server requiring STARTTLS and AUTH; killed when dropped.
struct Receiver {
    child: std::process::Child,
    dir: PathBuf,
    https: u16,
    smtp: u16,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(python: &Path, dir: PathBuf, key: &Path, login: &str, password: &Path) -> Self {
        std::fs::create_dir_all(&dir).expect("receiver dir");
        let child = Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("py-alerts/receiver.py"))
            .arg(&dir)
            .arg(key)
            .arg(login)
            .arg(password)
            .stdin(std::process::Stdio::piped())
            .stderr(std::fs::File::create(dir.join("receiver.log")).expect("receiver log"))
            .spawn()
            .expect("python runs");
        let mut r = Self {
            child,
            dir,
            https: 0,
            smtp: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(text) = std::fs::read_to_string(r.dir.join("ready.json")) {
                let v: Value = serde_json::from_str(&text).expect("ready.json");
                r.https = v["https"]
                    .as_u64()
                    .and_then(|p| p.try_into().ok())
                    .expect("port");
                r.smtp = v["smtp"]
                    .as_u64()
                    .and_then(|p| p.try_into().ok())
                    .expect("port");
                return r;
            }
            if let Ok(Some(status)) = r.child.try_wait() {
                panic!("receiver.py exited with {status}: {}", r.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("receiver.py did not start: {}", r.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("receiver.log")).unwrap_or_default()
    }

    fn records(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// The requests that reached `path`.
    fn posts(&self, path: &str) -> Vec<Value> {
        self.records("http.jsonl")
            .into_iter()
            .filter(|r| r["path"] == path)
            .collect()
    }
}

/// Which of `ids` each request or mail names (in its body or subject,
/// not followed by a digit), sorted.
fn named(records: &[Value], ids: &[&str]) -> Vec<String> {
    let names = |text: &str, id: &str| {
        text.match_indices(id)
            .any(|(i, _)| !text[i + id.len()..].starts_with(|c: char| c.is_ascii_digit()))
    };
    let mut out: Vec<String> = records
        .iter()
        .filter_map(|r| {
            let text = format!("{} {}", r["body"], r["subject"]);
            ids.iter()
                .find(|id| names(&text, id))
                .map(|id| (*id).to_owned())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn https_and_mail_alerts_in_every_format_are_signed_and_delivered_once_across_a_restart() {
    let started = Instant::now();
    let python = match alerts_python() {
        Ok(p) => p,
        Err(why) => {
            println!("SKIPPED https_and_mail_alerts: the receivers cannot be installed: {why}");
            return;
        }
    };
    let w = Workspace::new();
    for (t, c) in [("AA", "AA"), ("BB", "BB")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB"], 1);

    // Secrets in BB's data directory, named relative to it.
    let bb = w.path("BB");
    std::fs::write(
        bb.join("alert-hmac.key"),
        "9f86d081884c7d659a2feaa0c55ad015\n",
    )
    .expect("key");
    std::fs::write(bb.join("smtp.password"), "s3cret pass\n").expect("password");
    let rx = Receiver::start(
        &python,
        w.path("receiver"),
        &bb.join("alert-hmac.key"),
        "trustmesh",
        &bb.join("smtp.password"),
    );
    let ca = rx.dir.join("ca.pem");
    let mut config = String::from("web_url = \"https://tm.cert-bb.example/\"\n");
    for (name, format) in [
        ("raw", "raw"),
        ("slack", "slack"),
        ("mattermost", "mattermost"),
        ("teams", "teams"),
        ("flaky", "raw"),
    ] {
        config.push_str(&format!(
            r#"
[[alerts]]
name = "{name}"
min_severity = "high"
webhook = "https://127.0.0.1:{port}/{name}"
format = "{format}"
headers = {{ "X-Team" = "cert-bb" }}
hmac_secret_file = "alert-hmac.key"
ca_file = "{ca}"
timeout_secs = 10
"#,
            port = rx.https,
            ca = ca.display()
        ));
    }
    config.push_str(&format!(
        r#"
[[alerts]]
name = "mail"
min_severity = "high"
mail = {{ to = ["SOC <soc@cert-bb.example>"], from = "trustmesh@cert-bb.example", server = "127.0.0.1", port = {smtp}, username = "trustmesh", password_file = "smtp.password", ca_file = "{ca}" }}
timeout_secs = 10

# The system's roots do not hold the test CA: every attempt fails.
[[alerts]]
name = "untrusted"
categories = ["warning"]
webhook = "https://127.0.0.1:{port}/untrusted"
timeout_secs = 5
"#,
        smtp = rx.smtp,
        port = rx.https,
        ca = ca.display()
    ));
    std::fs::write(bb.join("config.toml"), config).expect("config");

    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.wait_api("BB", &["status"], |v: &Status| v.peers.members >= 1);
    publish(&w, "AA-1", "alert", "critical");
    publish(&w, "AA-2", "alert", "low");
    w.wait_api("BB", &["advisory", "list"], |v| {
        has_advisory(v, "AA-1") && has_advisory(v, "AA-2")
    });
    // Six rules deliver AA-1; AA-2 is below every rule's severity.
    w.wait_api("BB", &["status"], |v: &Status| {
        v.alerts.delivered == 6 && v.alerts.pending == 0
    });
    let first = started.elapsed();

    // Down while AA publishes; the restart catches up, once.
    b.kill();
    publish(&w, "AA-3", "vulnerability", "high");
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.wait_api("BB", &["advisory", "list"], |v| has_advisory(v, "AA-3"));
    w.wait_api("BB", &["status"], |v: &Status| {
        v.alerts.delivered == 6 && v.alerts.pending == 0
    });

    let ids = ["AA-1", "AA-2", "AA-3"];
    for path in ["/raw", "/slack", "/mattermost", "/teams"] {
        let posts = rx.posts(path);
        assert_eq!(named(&posts, &ids), ["AA-1", "AA-3"], "{path}: {posts:#?}");
        for p in &posts {
            assert_eq!(p["signature_ok"], true, "{path}: {p:#}");
            assert_eq!(p["format_ok"], true, "{path}: {}", p["why"]);
            assert_eq!(p["status"], 200);
        }
    }
    // The flaky receiver failed each first attempt: the retry carries the
    // same delivery id, so a receiver can drop repeats.
    let flaky = rx.posts("/flaky");
    assert_eq!(
        named(&flaky, &ids),
        ["AA-1", "AA-1", "AA-3", "AA-3"],
        "{flaky:#?}"
    );
    let statuses: Vec<i64> = flaky.iter().filter_map(|p| p["status"].as_i64()).collect();
    assert_eq!(statuses, [503, 200, 503, 200]);
    assert_eq!(flaky[0]["delivery"], flaky[1]["delivery"]);
    assert_ne!(flaky[1]["delivery"], flaky[2]["delivery"]);

    let mails = rx.records("smtp.jsonl");
    assert_eq!(named(&mails, &ids), ["AA-1", "AA-3"], "{mails:#?}");
    for m in &mails {
        assert_eq!(m["tls"], true, "mail without STARTTLS: {m:#}");
        assert_eq!(m["login"], "trustmesh", "{m:#}");
        assert_eq!(m["rcpt_tos"], serde_json::json!(["soc@cert-bb.example"]));
        let subject = m["subject"].as_str().unwrap_or("");
        assert!(
            subject.starts_with("[trustmesh] [") && subject.contains("TLP:CLEAR"),
            "{subject}"
        );
        let body = m["body"].as_str().unwrap_or("");
        assert!(
            body.contains("Link: https://tm.cert-bb.example/advisories/"),
            "{body}"
        );
    }

    // An https receiver whose CA the node does not trust gets nothing.
    let failed_before = w.status("BB").alerts.failed;
    publish(&w, "AA-4", "warning", "low");
    w.wait_api("BB", &["status"], |v: &Status| {
        v.alerts.failed > failed_before
    });
    assert!(rx.posts("/untrusted").is_empty());
    let log = w.log("BB");
    assert!(
        log.contains("alert delivery failed") && log.contains("untrusted"),
        "{log}"
    );
    drop(b);
    println!(
        "https and mail alerts: first deliveries after {:.1} s, all checks after {:.1} s",
        first.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
