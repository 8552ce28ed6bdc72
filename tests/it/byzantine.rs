//! A member gone bad, against real nodes.
//!
//! Founders AA, BB, DD and RR (two sponsors needed). AA and BB run; DD's key
//! is driven by `trustmesh-attacker`, which speaks the real sync protocol
//! over the real transport; RR is revoked. Every attack must be refused and
//! counted by AA, nothing of it may apply on AA or reach BB, and both must
//! keep serving.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use trustmesh_node::api::{AdvisoryDetail, Members, Status};

use crate::support::{Workspace, has_advisory};

fn attack(w: &Workspace, target: &str, name: &str, arg: Option<&str>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trustmesh-attacker"));
    cmd.arg(w.path("DD")).arg(target).arg(name).args(arg);
    let out = cmd.output().expect("the attacker runs");
    assert!(
        out.status.success(),
        "attacker {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the attacker prints JSON");
    assert_eq!(v["connected"], true, "{name}: {v:#}");
    v
}

fn status(w: &Workspace, team: &str) -> Status {
    w.status(team)
}

fn invalid(s: &Status, reason: &str) -> u64 {
    s.net.invalid.get(reason).copied().unwrap_or(0)
}

/// Waits out AA's one-second ban (lifted by its once-a-second housekeeping)
/// so the next attack can connect.
fn after_ban() {
    std::thread::sleep(Duration::from_millis(2500));
}

fn publish(w: &Workspace, team: &str, id: &str, extra: &[&str]) {
    let mut args = vec![
        "advisory",
        "publish",
        "--id",
        id,
        "--title",
        "Honest advisory",
        "--severity",
        "medium",
    ];
    args.extend(extra);
    w.ok(Some(team), &args);
}

#[test]
fn attacks_by_a_member_are_refused_counted_and_not_relayed() {
    let w = Workspace::new();
    for (t, c) in [("AA", "AA"), ("BB", "BB"), ("DD", "DD"), ("RR", "RR")] {
        w.init(t, c);
    }
    w.found(&["AA", "BB", "DD", "RR"], 2);
    std::fs::write(
        w.path("AA").join("config.toml"),
        "[limits]\nban_secs = 1\nrequests_per_second = 20\nrequest_burst = 40\n\
         max_message_bytes = 1048576\n",
    )
    .expect("config");
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    publish(&w, "AA", "AA-clear", &["--tlp", "clear"]);
    publish(
        &w,
        "AA",
        "AA-amber",
        &["--tlp", "amber", "--audience", "AA", "--audience", "BB"],
    );
    w.wait_api("BB", &["advisory", "list"], |v| {
        has_advisory(v, "AA-clear") && has_advisory(v, "AA-amber")
    });
    // RR's key is compromised: it revokes itself and AA spreads that.
    w.ok(
        Some("RR"),
        &[
            "revoke",
            "--yes",
            "RR",
            "--reason",
            "key compromised",
            "--out",
            "rr.rev.json",
        ],
    );
    w.ok(Some("AA"), &["import", "rr.rev.json"]);
    for t in ["AA", "BB"] {
        w.wait_api(t, &["members"], |v: &Members| v.members.len() == 3);
    }
    let doc = |id: &str| {
        let shown: AdvisoryDetail = w.api("AA", &["advisory", "show", id]);
        Value::String(shown.meta.doc.to_string())
    };
    let (amber_doc, clear_doc) = (doc("AA/AA-amber"), doc("AA/AA-clear"));
    let before = status(&w, "AA");
    let statements = before.statements;
    let documents = before.documents;

    // 1. A change whose signature was altered.
    let s0 = status(&w, "AA");
    let out = attack(&w, &a.addr, "forged-signature", None);
    let s1 = w.wait_api("AA", &["status"], |s: &Status| {
        invalid(s, "bad_change") > invalid(&s0, "bad_change")
    });
    assert!(s1.net.bans > s0.net.bans);
    assert_eq!(
        out["disconnected"], true,
        "a peer that sent a forgery is cut off: {out:#}"
    );
    after_ban();

    // 2. A statement signed for another network.
    let s0 = status(&w, "AA");
    attack(&w, &a.addr, "other-network", None);
    w.wait_api("AA", &["status"], |s: &Status| {
        invalid(s, "bad_statement") > invalid(&s0, "bad_statement")
    });
    after_ban();

    // 3. Replayed statements: nothing new, nothing refused, no ban.
    let s0 = status(&w, "AA");
    let out = attack(&w, &a.addr, "replay", None);
    assert_eq!(out["acks"], 1, "{out:#}");
    let s1 = status(&w, "AA");
    assert_eq!(s1.statements, statements);
    assert_eq!(
        s1.net.bans, s0.net.bans,
        "replaying valid data is not punished"
    );

    // 4. A validly signed change by a key that is no member: dropped unstored.
    let s0 = status(&w, "AA");
    attack(&w, &a.addr, "stranger-change", None);
    w.wait_api("AA", &["status"], |s: &Status| {
        s.sync.changes_unknown_author > s0.sync.changes_unknown_author
    });

    // 5. A member writing the target's own contacts entry.
    let s0 = status(&w, "AA");
    attack(&w, &a.addr, "not-owner", None);
    w.wait_api("AA", &["status"], |s: &Status| {
        invalid(s, "bad_change") > invalid(&s0, "bad_change")
    });
    after_ban();

    // 6. A change signed by the revoked key, which its revocations kept
    // nothing of: dropped unstored (nothing to serve or relay), counted.
    let s0 = status(&w, "AA");
    attack(
        &w,
        &a.addr,
        "revoked-author",
        Some(w.path("RR").to_str().expect("utf-8 path")),
    );
    let s1 = w.wait_api("AA", &["status"], |s: &Status| {
        s.sync.changes_revoked_author > s0.sync.changes_revoked_author
    });
    assert_eq!(s1.sync.changes_new, s0.sync.changes_new, "nothing stored");

    // 7. Automerge bytes altered after signing (the change no longer parses).
    let s0 = status(&w, "AA");
    attack(&w, &a.addr, "malformed-automerge", None);
    w.wait_api("AA", &["status"], |s: &Status| {
        invalid(s, "malformed") > invalid(&s0, "malformed")
    });
    after_ban();

    // 8. One request twice the size limit.
    let s0 = status(&w, "AA");
    attack(&w, &a.addr, "oversized", Some("2097152"));
    w.wait_api("AA", &["status"], |s: &Status| {
        invalid(s, "oversized") > invalid(&s0, "oversized")
    });
    after_ban();

    // 9. A flood far beyond 20 requests per second (burst 40).
    let s0 = status(&w, "AA");
    let out = attack(&w, &a.addr, "flood", Some("2000"));
    assert!(
        out["busy"].as_u64() > Some(0),
        "nothing was refused: {out:#}"
    );
    let s1 = status(&w, "AA");
    assert!(s1.net.rate_limited > s0.net.rate_limited);

    // 10. A member outside an AMBER advisory's audience syncing like a node:
    // it gets the CLEAR advisory, never the AMBER one, not even its id.
    let out = attack(&w, &a.addr, "restricted", None);
    let got = |doc: &Value| {
        out["received_docs"]
            .as_array()
            .is_some_and(|l| l.contains(doc))
    };
    assert!(
        got(&clear_doc),
        "the control document did not arrive: {out:#}"
    );
    assert!(
        !got(&amber_doc),
        "an AMBER advisory reached a member outside its audience"
    );

    // Nothing of it applied anywhere, and the honest nodes still serve.
    for t in ["AA", "BB"] {
        let list = w.api(t, &["advisory", "list"]);
        assert!(!has_advisory(&list, "EVIL-2026-0001"), "{t}: {list:#?}");
        assert!(!has_advisory(&list, "EVIL-2026-0002"), "{t}: {list:#?}");
        let contacts = w.ok(Some(t), &["contact", "list"]).to_string();
        for bad in ["spam", "hijacked", "after revocation"] {
            assert!(!contacts.contains(bad), "{t} applied {bad:?}: {contacts}");
        }
        assert_eq!(status(&w, t).statements, statements, "{t}");
    }
    assert_eq!(status(&w, "BB").net.bans, 0, "BB never saw invalid data");
    let after = status(&w, "AA");
    assert!(after.documents <= documents + 1);
    publish(&w, "BB", "BB-after", &["--tlp", "clear"]);
    w.wait_api("AA", &["advisory", "list"], |v| has_advisory(v, "BB-after"));
}
