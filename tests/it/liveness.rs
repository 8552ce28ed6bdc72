//! Dead connections are noticed: a peer that stops answering (SIGSTOP: its
//! TCP connections stay open, as behind a firewall that drops packets) is
//! reported unreachable (about 24 s here; the test allows 60 s so a loaded
//! machine does not fail it), and reachable again once it answers.

use std::time::{Duration, Instant};

use trustmesh_node::api::Status;

use crate::support::{Running, Workspace};

fn status(w: &Workspace, team: &str) -> Status {
    serde_json::from_value(w.ok(Some(team), &["status"])).expect("status")
}

/// Polls AA's status until `ok`; returns the seconds it took.
fn until(w: &Workspace, limit: Duration, ok: impl Fn(&Status) -> bool) -> f64 {
    let t0 = Instant::now();
    loop {
        let s = status(w, "AA");
        if ok(&s) {
            return t0.elapsed().as_secs_f64();
        }
        assert!(
            t0.elapsed() < limit,
            "not within {limit:?}: {}",
            s.health.summary
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// AA, BB and CC founded together and running, BB and CC dialling AA;
/// returns once AA reaches both.
fn three_members(w: &Workspace) -> (Running, Running, Running) {
    for (t, c) in [("AA", "AT"), ("BB", "BE"), ("CC", "CY")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB", "CC"], 2);
    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    let c = w.start("CC", &["run", "--bootstrap", &a.addr]);
    until(w, Duration::from_secs(30), |s| {
        s.reachability.reachable == 2
    });
    (a, b, c)
}

#[test]
fn a_peer_that_stops_answering_is_reported_unreachable_and_then_reachable() {
    let w = Workspace::new();
    let (_a, b, _c) = three_members(&w);
    let bb_id = w.team_id("BB");

    signal(b.child.id(), "-STOP");
    let took = until(&w, Duration::from_secs(60), |s| {
        s.reachability
            .members
            .iter()
            .any(|m| m.team.to_string() == bb_id && !m.reachable)
    });
    let s = status(&w, "AA");
    assert_eq!(s.reachability.reachable, 1, "{}", s.health.summary);
    assert!(
        s.health.summary.contains("1 of 2 members reachable")
            && s.health
                .summary
                .contains(&format!("unreachable: {}", &bb_id[..8])),
        "{}",
        s.health.summary
    );
    assert!(
        s.net.ping_failures >= 1,
        "the dead connection was closed by ping"
    );
    eprintln!("BB reported unreachable after {took:.1} s");

    signal(b.child.id(), "-CONT");
    let back = until(&w, Duration::from_secs(90), |s| {
        s.reachability.reachable == 2
    });
    eprintln!("BB reachable again {back:.1} s after SIGCONT");
    drop(b);
}

/// An AMBER advisory whose audience member has no path is reported, not
/// silently held: AA's status names how many restricted documents wait
/// for BB while BB is down, and the count clears once BB is back and has
/// the advisory.
#[test]
fn restricted_documents_waiting_for_an_unreachable_member_are_reported() {
    let w = Workspace::new();
    let (a, b, _c) = three_members(&w);
    let bb_id = w.team_id("BB");
    drop(b);
    until(&w, Duration::from_secs(60), |s| {
        s.reachability.reachable == 1
    });
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "publish",
            "--id",
            "AA-2026-0100",
            "--title",
            "For BB only",
            "--tlp",
            "amber",
            "--audience",
            "AA",
            "--audience",
            "BB",
        ],
    );
    let s = status(&w, "AA");
    assert_eq!(
        s.reachability.restricted_without_path, 1,
        "{}",
        s.health.summary
    );
    let bb = s
        .reachability
        .members
        .iter()
        .find(|m| m.team.to_string() == bb_id)
        .expect("BB listed");
    assert_eq!((bb.reachable, bb.restricted), (false, 1));
    assert!(
        s.health
            .reasons
            .iter()
            .any(|r| r.contains("1 restricted document(s) cannot reach an audience member")),
        "{:?}",
        s.health.reasons
    );
    assert!(
        s.health
            .summary
            .contains("wait for a connection, direct or relayed"),
        "{}",
        s.health.summary
    );

    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    until(&w, Duration::from_secs(60), |s| {
        s.reachability.restricted_without_path == 0
    });
    w.wait("BB", &["advisory", "list"], |v| {
        v.to_string().contains("AA-2026-0100")
    });
}
