//! Members behind firewalls (issue 16, items 2 and 4): real nodes on
//! loopback, two of which listen on no address at all, so they can only
//! dial out, which is what a stateful firewall that refuses inbound
//! connections leaves a member. They reach each other through a third
//! member's relay (circuit relay v2); an AMBER advisory whose audience is
//! the two of them arrives over that circuit, end-to-end encrypted, and
//! the relay never holds it. A member joining from behind such a firewall
//! into a network with many documents trips no stream limit.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use trustmesh_node::api::{Advisories, Nat, Route, Status};

use crate::support::{CONVERGE, Running, Workspace, exe, has_advisory};

/// The warning libp2p's request-response handler logs for each stream it
/// drops because the connection's streams are at their bound.
const AT_CAPACITY: &str = "Dropping inbound stream because we are at capacity";

/// Writes `team`'s config.toml.
fn config(w: &Workspace, team: &str, text: &str) {
    std::fs::write(w.path(team).join("config.toml"), text).expect("config.toml");
}

/// Starts `team`'s node with `args` and no `--listen`, so its config.toml
/// decides (`listen = []`: it only dials out); waits until its API
/// answers.
fn start_dialing_out(w: &Workspace, team: &str, args: &[&str]) -> Running {
    let dir = w.path(team);
    let _ = std::fs::remove_file(dir.join("node.json"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(w.path(&format!("{team}.log")))
        .expect("log file");
    let child = Command::new(exe())
        .current_dir(w.dir.path())
        .arg("--data-dir")
        .arg(&dir)
        .args(args)
        .args(["--api", "127.0.0.1:0", "--sync-interval-ms", "1000"])
        .env(
            "TRUSTMESH_LOG",
            std::env::var("TRUSTMESH_TEST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .env_remove("TRUSTMESH_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the binary starts");
    let mut running = Running {
        child,
        addr: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if dir.join("node.json").exists() && w.raw(Some(team), &["status"]).status.success() {
            return running;
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            panic!("{team}'s node exited with {status}: {}", w.log(team));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{team}'s node did not start: {}", w.log(team));
}

/// The entry for `team_id` in `s`'s reachability list.
fn member<'a>(s: &'a Status, team_id: &str) -> Option<&'a trustmesh_node::api::MemberReach> {
    s.reachability
        .members
        .iter()
        .find(|m| m.team.to_string() == team_id)
}

/// How many times `AT_CAPACITY` is in `team`'s log.
fn at_capacity(w: &Workspace, team: &str) -> usize {
    w.log(team).matches(AT_CAPACITY).count()
}

/// `team`'s `/metrics` page, with its API token.
fn metrics(w: &Workspace, team: &str) -> String {
    use std::io::{Read, Write};
    let node: Value = serde_json::from_str(
        &std::fs::read_to_string(w.path(team).join("node.json")).expect("node.json"),
    )
    .expect("node.json is JSON");
    let api = node["api"].as_str().expect("api address");
    let token = std::fs::read_to_string(w.path(team).join("api.token")).expect("token");
    let mut s = std::net::TcpStream::connect(api).expect("connect to the API");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nhost: {api}\r\nauthorization: Bearer {}\r\nconnection: close\r\n\r\n",
        token.trim()
    )
    .expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// The listen address a node reports.
fn listens(s: &Status) -> Vec<String> {
    s.listen.clone()
}

#[test]
fn an_amber_advisory_between_two_members_that_refuse_inbound_goes_through_a_relay() {
    let w = Workspace::new();
    for (t, c) in [("AA", "AT"), ("BB", "BE"), ("CC", "CY")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB", "CC"], 2);
    let (aa, bb, cc) = (w.team_id("AA"), w.team_id("BB"), w.team_id("CC"));
    // AA is reachable and hosts a relay for members; BB and CC listen on
    // no address.
    config(&w, "AA", "[relay]\nreachable = true\nserver = true\n");
    let a = w.start("AA", &["run"]);
    let firewalled = format!("listen = []\nbootstrap = [\"{}\"]\n", a.addr);
    config(&w, "BB", &firewalled);
    config(&w, "CC", &firewalled);
    let _b = start_dialing_out(&w, "BB", &["run"]);
    let _c = start_dialing_out(&w, "CC", &["run"]);

    // Each holds a reservation on AA's relay, and reaches the other only
    // through it.
    let t0 = Instant::now();
    for (me, other) in [("BB", &cc), ("CC", &bb)] {
        let s = w.wait_api(me, &["status"], |s: &Status| {
            let r = &s.reachability;
            r.relaying.relays.iter().any(|t| t.to_string() == aa)
                && member(s, other).is_some_and(|m| m.reachable)
        });
        let r = &s.reachability;
        assert_eq!(r.relaying.nat, Nat::Private, "{}", s.health.summary);
        assert_eq!(r.relaying.nat_from, "no listen address");
        assert_eq!(
            member(&s, other).and_then(|m| m.path),
            Some(Route::Relayed),
            "{:#?}",
            r
        );
        assert_eq!(member(&s, &aa).and_then(|m| m.path), Some(Route::Direct));
        assert_eq!(r.relaying.relayed_members, 1);
        assert!(
            listens(&s).iter().any(|l| l.contains("/p2p-circuit")),
            "{me} advertises its circuit address: {:?}",
            s.listen
        );
        assert!(
            s.health.summary.contains("1 through relays"),
            "{}",
            s.health.summary
        );
    }
    eprintln!(
        "BB and CC reached each other through AA's relay after {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // An AMBER advisory for BB and CC only.
    let t1 = Instant::now();
    w.ok(
        Some("BB"),
        &[
            "advisory",
            "publish",
            "--id",
            "BB-2026-0001",
            "--title",
            "For BB and CC only",
            "--tlp",
            "amber",
            "--audience",
            "CC",
        ],
    );
    w.wait_api("CC", &["advisory", "list"], |v: &Advisories| {
        has_advisory(v, "BB-2026-0001")
    });
    eprintln!(
        "the AMBER advisory reached CC through the relay in {:.1} s",
        t1.elapsed().as_secs_f64()
    );
    let shown: Value = w.ok(Some("CC"), &["advisory", "show", "BB/BB-2026-0001"]);
    assert_eq!(shown["summary"]["title"], "For BB and CC only", "{shown:#}");

    // BB has a path to its audience: nothing waits.
    let s = w.status("BB");
    assert_eq!(
        s.reachability.restricted_without_path, 0,
        "{}",
        s.health.summary
    );
    assert_eq!(member(&s, &cc).map(|m| m.restricted), Some(1));

    // AA relayed the circuit but holds nothing of the advisory: it is not
    // in the audience, and a relay sees only Noise-encrypted bytes.
    let a_status = w.status("AA");
    assert!(
        a_status.net.relay_reservations_accepted >= 2 && a_status.net.relay_circuits_accepted >= 1,
        "{:#?}",
        a_status.net
    );
    assert!(a_status.reachability.relaying.server);
    assert_eq!(a_status.reachability.relaying.nat, Nat::Public);
    let listed: Advisories = w.api("AA", &["advisory", "list"]);
    assert!(!has_advisory(&listed, "BB-2026-0001"), "{listed:#?}");
    w.fails(Some("AA"), &["advisory", "show", "BB/BB-2026-0001"]);
    assert_eq!(
        a_status.documents + 1,
        w.status("CC").documents,
        "CC holds one document more than AA: the advisory"
    );

    // The metrics say so too.
    let text = metrics(&w, "BB");
    for line in [
        "trustmesh_members_relayed 1",
        "trustmesh_relay_reservations 1",
        "trustmesh_reachable 0",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[test]
fn a_member_joining_from_behind_a_firewall_trips_no_stream_limit() {
    let w = Workspace::new();
    for (t, c) in [("AA", "AT"), ("BB", "BE"), ("CC", "CY")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB", "CC"], 2);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);

    // CC's key fills the network: 3,000 changes to 300 advisories into AA.
    let mut generator = Command::new(env!("CARGO_BIN_EXE_trustmesh-attacker"))
        .arg(w.path("CC"))
        .arg(&a.addr)
        .args(["load", "1000", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the load generator runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(generator.stdout.take().expect("piped")),
        &mut line,
    )
    .expect("the generator reports");
    // It serves on (anti-entropy) until AA and BB hold the whole load.
    let generator = Running {
        child: generator,
        addr: String::new(),
    };
    let report: Value = serde_json::from_str(&line).expect("the generator's report");
    let sent = report["changes_sent"].as_u64().unwrap_or(0);
    assert!(sent >= 2700, "{report:#}");
    let held = |w: &Workspace, t: &str| w.status(t).sync.changes_new;
    let deadline = Instant::now() + CONVERGE;
    while held(&w, "AA") < sent || held(&w, "BB") < sent {
        assert!(
            Instant::now() < deadline,
            "the load did not spread: AA {} BB {} of {sent}",
            held(&w, "AA"),
            held(&w, "BB"),
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(generator);
    // The generator's own flood is no join: only what comes after counts.
    let before: Vec<usize> = ["AA", "BB"].iter().map(|t| at_capacity(&w, t)).collect();

    // DD applies, AA and BB sponsor it, and it joins from behind a
    // firewall (no listen address) through AA.
    w.init("DD", "DK");
    w.ok(
        Some("DD"),
        &["apply", "--charter", "charter.json", "--out", "dd.app.json"],
    );
    w.ok(
        Some("AA"),
        &["sponsor", "dd.app.json", "--out", "dd.aa.json"],
    );
    w.ok(
        Some("BB"),
        &["sponsor", "dd.app.json", "--out", "dd.bb.json"],
    );
    config(
        &w,
        "DD",
        &format!("listen = []\nbootstrap = [\"{}\"]\n", a.addr),
    );
    let t0 = Instant::now();
    let _d = start_dialing_out(
        &w,
        "DD",
        &[
            "join",
            "--charter",
            "charter.json",
            "--introduction",
            "dd.aa.json",
            "--introduction",
            "dd.bb.json",
        ],
    );
    let deadline = Instant::now() + CONVERGE * 2;
    loop {
        let s = w.status("DD");
        if s.member && s.sync.changes_new >= sent && s.digest == w.status("AA").digest {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "DD did not catch up: {} of {sent} changes; {}",
            s.sync.changes_new,
            s.health.summary
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let took = t0.elapsed().as_secs_f64();
    let counts = vec![
        ("DD", at_capacity(&w, "DD")),
        ("AA", at_capacity(&w, "AA") - before[0]),
        ("BB", at_capacity(&w, "BB") - before[1]),
    ];
    let dropped = w.status("DD").net.sync_dropped;
    eprintln!(
        "DD joined and caught up {sent} changes in {took:.1} s; \"at capacity\" warnings: {counts:?}; sync_dropped at DD: {dropped}"
    );
    assert!(
        counts.iter().all(|(_, n)| *n == 0),
        "streams dropped at capacity: {counts:?}"
    );
}
