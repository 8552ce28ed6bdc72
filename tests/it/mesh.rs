//! The live mesh: real `trustmesh run` processes on loopback.

use trustmesh_node::api::{Advisories, AdvisoryDetail, Members, Peers, Status, Tools};
use trustmesh_protocol::Tlp;

use crate::support::{Workspace, has_advisory};

/// Founds a network of `founders` (k = 2) and returns the workspace.
fn network(founders: &[&str]) -> Workspace {
    let w = Workspace::new();
    for (i, f) in founders.iter().enumerate() {
        w.init(f, &format!("A{}", (b'A' + i as u8) as char));
    }
    w.found(founders, 2);
    w
}

fn publish(w: &Workspace, team: &str, id: &str, tlp: &str) {
    w.ok(
        Some(team),
        &[
            "advisory",
            "publish",
            "--id",
            id,
            "--title",
            "Test advisory",
            "--tlp",
            tlp,
            "--severity",
            "high",
            "--cve",
            "CVE-2026-0001",
        ],
    );
}

fn digest(w: &Workspace, team: &str) -> String {
    w.status(team).digest
}

fn wait_same_digest(w: &Workspace, teams: &[&str]) {
    let want = |w: &Workspace| {
        let d: Vec<String> = teams.iter().map(|t| digest(w, t)).collect();
        d.windows(2).all(|p| p[0] == p[1])
    };
    let deadline = std::time::Instant::now() + crate::support::CONVERGE;
    while std::time::Instant::now() < deadline {
        if want(w) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    panic!(
        "replicas did not converge: {:?}",
        teams.iter().map(|t| (t, digest(w, t))).collect::<Vec<_>>()
    );
}

#[test]
fn a_non_member_peer_gets_only_the_join_exchange() {
    let w = network(&["AA", "BB", "CC"]);
    std::fs::write(
        w.path("AA").join("config.toml"),
        "[limits]\njoin_grace_secs = 4\n",
    )
    .expect("config");
    let a = w.start("AA", &["run"]);
    publish(&w, "AA", "AA-1", "clear");
    w.ok(Some("AA"), &["contact", "set", "--email", "aa@example.org"]);

    // A valid key and an application, but no introductions.
    w.init("XX", "XX");
    w.ok(
        Some("XX"),
        &["apply", "--charter", "charter.json", "--out", "xx.app.json"],
    );
    let x = w.start("XX", &["run", "--bootstrap", &a.addr]);

    // The founder answers its join request with a refusal, and nothing else.
    let status = w.wait_api("AA", &["status"], |v: &Status| v.sync.joins_refused >= 1);
    assert_eq!(status.sync.joins_admitted, 0);
    let peers: Peers = w.api("AA", &["peers"]);
    if let Some(p) = peers.peers.iter().find(|p| !p.member) {
        assert!(!p.open, "member protocols run with a non-member: {p:#?}");
    }
    assert!(w.log("XX").contains("not admitted"), "{}", w.log("XX"));

    // It received no statement, no document, no gossip, no sync message.
    let x_status = w.status("XX");
    assert!(!x_status.member);
    assert_eq!(
        x_status.statements, 1,
        "only its own application: {x_status:#?}"
    );
    assert_eq!(x_status.documents, 0);
    assert_eq!(x_status.net.gossip_in, 0);
    assert_eq!(x_status.net.sync_in, 0);
    assert_eq!(x_status.sync.messages_in, 0);
    let listed: Advisories = w.api("XX", &["advisory", "list"]);
    assert!(listed.advisories.is_empty(), "{listed:#?}");

    // After the grace period the founder closes the connection.
    w.wait_api("AA", &["status"], |v: &Status| v.net.gated_closed >= 1);
    drop(x);
}

#[test]
fn sponsors_admit_a_team_that_joins_and_publishes() {
    let w = network(&["AA", "BB", "CC"]);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.init("DD", "DD");
    w.ok(
        Some("DD"),
        &["apply", "--charter", "charter.json", "--out", "dd.app.json"],
    );
    // Sponsors sign from their running nodes, which spread the introductions.
    let v = w.ok(
        Some("AA"),
        &["sponsor", "dd.app.json", "--out", "dd.aa.json"],
    );
    assert_eq!(v["spread"], true);
    w.ok(
        Some("BB"),
        &["sponsor", "dd.app.json", "--out", "dd.bb.json"],
    );
    w.wait_api("BB", &["members"], |v: &Members| v.members.len() == 4);

    let _d = w.start(
        "DD",
        &[
            "join",
            "--charter",
            "charter.json",
            "--introduction",
            "dd.aa.json",
            "--introduction",
            "dd.bb.json",
            "--bootstrap",
            &a.addr,
        ],
    );
    w.wait_api("DD", &["status"], |v: &Status| v.member && v.members == 4);
    publish(&w, "DD", "DD-1", "green");
    w.wait_api("AA", &["advisory", "list"], |v| has_advisory(v, "DD-1"));
    w.wait_api("BB", &["advisory", "list"], |v| has_advisory(v, "DD-1"));
    let shown: AdvisoryDetail = w.api("BB", &["advisory", "show", "DD/DD-1"]);
    assert_eq!(shown.summary.tlp, Tlp::Green);
    assert_eq!(shown.meta.changes_applied, 1, "{shown:#?}");
    assert_eq!(shown.meta.changes_held, 0, "{shown:#?}");
}

#[test]
fn a_restarted_node_catches_up_and_a_revoked_key_is_cut_off() {
    let w = network(&["AA", "BB", "CC"]);
    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    let c = w.start("CC", &["run", "--bootstrap", &a.addr]);
    publish(&w, "BB", "BB-1", "clear");
    w.wait_api("CC", &["advisory", "list"], |v| has_advisory(v, "BB-1"));

    // CC crashes; the others publish; CC restarts from its data directory.
    c.kill();
    publish(&w, "AA", "AA-1", "clear");
    w.ok(
        Some("BB"),
        &["tool", "add", "--name", "yara-rules", "--version", "2"],
    );
    let _c = w.start("CC", &["run"]);
    w.wait_api("CC", &["advisory", "list"], |v| {
        has_advisory(v, "AA-1") && has_advisory(v, "BB-1")
    });
    w.wait_api("CC", &["tool", "list"], |v: &Tools| v.tools.len() == 1);
    wait_same_digest(&w, &["AA", "BB", "CC"]);

    // BB revokes itself (a compromised key): everyone computes it revoked
    // and disconnects it.
    w.ok(
        Some("BB"),
        &[
            "revoke",
            "--yes",
            "BB",
            "--reason",
            "key compromised",
            "--out",
            "bb.rev.json",
        ],
    );
    let bb = w.team_id("BB");
    for t in ["AA", "CC"] {
        w.wait_api(t, &["members"], |v: &Members| v.members.len() == 2);
        w.wait_api(t, &["peers"], |v: &Peers| {
            v.peers
                .iter()
                .all(|p| p.team.map(|t| t.to_string()) != Some(bb.clone()))
        });
    }
    drop(b);
}

#[test]
fn both_sides_of_a_partition_publish_and_converge_after_healing() {
    let w = network(&["AA", "BB", "CC", "DD"]);
    // Everyone meets once, so peer books know each other.
    let a = w.start("AA", &["run"]);
    let others: Vec<_> = ["BB", "CC", "DD"]
        .iter()
        .map(|t| w.start(t, &["run", "--bootstrap", &a.addr]))
        .collect();
    w.wait_api("DD", &["status"], |v: &Status| v.peers.members >= 3);
    drop(others);
    a.kill();

    // Partition: {AA, BB} run and publish without {CC, DD}, then the other way round.
    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    publish(&w, "AA", "AA-west", "clear");
    w.ok(
        Some("BB"),
        &["contact", "set", "--email", "bb@west.example"],
    );
    w.wait_api("BB", &["advisory", "list"], |v| has_advisory(v, "AA-west"));
    a.kill();
    b.kill();
    let c = w.start("CC", &["run"]);
    let d = w.start("DD", &["run", "--bootstrap", &c.addr]);
    publish(&w, "DD", "DD-east", "green");
    w.ok(
        Some("CC"),
        &["tool", "add", "--name", "east-tool", "--version", "1"],
    );
    w.wait_api("CC", &["advisory", "list"], |v| has_advisory(v, "DD-east"));
    assert!(!has_advisory(
        &w.api("CC", &["advisory", "list"]),
        "AA-west"
    ));

    // Heal: the west side comes back; nobody is given a bootstrap address,
    // the peer books are enough.
    let _a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run"]);
    for t in ["AA", "BB", "CC", "DD"] {
        w.wait_api(t, &["advisory", "list"], |v| {
            has_advisory(v, "AA-west") && has_advisory(v, "DD-east")
        });
    }
    wait_same_digest(&w, &["AA", "BB", "CC", "DD"]);
    drop((c, d));
}
