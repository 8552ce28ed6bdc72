//! A peer from another libp2p implementation: js-libp2p (from npm) with a
//! valid key and no introductions connects to a real node, runs identify
//! and ping, and as a non-member gets nothing else.
//!
//! The test installs the pinned npm packages of `tests/js/` (`npm ci`) the
//! first time; it needs Node.js and npm (`./x test` installs them).

use std::process::Command;

use serde_json::Value;

use crate::support::{Workspace, npm_ci};

#[test]
fn a_js_libp2p_peer_gets_identify_and_ping_and_nothing_else() {
    let js = npm_ci("js", "libp2p");
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let a = w.start("AA", &["run"]);
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "publish",
            "--id",
            "AA-1",
            "--title",
            "Member-only data",
            "--tlp",
            "clear",
        ],
    );
    let before = w.status("AA");

    let out = Command::new("node")
        .arg(js.join("foreign-peer.mjs"))
        .arg(&a.addr)
        .arg("3000")
        .current_dir(&js)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the js peer failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_str(stdout.trim()).expect("the js peer prints JSON");

    // identify and ping work across implementations.
    let id = &r["identify"];
    assert!(
        id["agent"]
            .as_str()
            .is_some_and(|a| a.starts_with("trustmesh/")),
        "{r:#}"
    );
    let protocols: Vec<&str> = id["protocols"]
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for p in ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/trustmesh/join/1"] {
        assert!(protocols.contains(&p), "{p} not offered: {protocols:?}");
    }
    assert!(r["ping_ms"].as_f64().is_some(), "{r:#}");

    // The member protocols are neither offered nor accepted, and the node
    // opens nothing towards the stranger.
    for p in ["/trustmesh/sync/2", "/meshsub/1.1.0", "/meshsub/1.0.0"] {
        assert!(!protocols.contains(&p), "{p} offered to a non-member");
    }
    for p in ["/trustmesh/sync/2", "/meshsub/1.1.0"] {
        let attempt = r["attempts"][p].as_str().unwrap_or_default();
        assert!(attempt.starts_with("refused"), "{p}: {attempt}");
    }
    assert_eq!(r["attempts"]["/trustmesh/join/1"], "opened", "{r:#}");
    assert_eq!(r["inbound_streams"], serde_json::json!([]), "{r:#}");

    // The node kept nothing from it and sent it nothing of the network's.
    let after = w.status("AA");
    assert_eq!(after.statements, before.statements);
    assert_eq!(after.net.sync_in, before.net.sync_in);
    assert_eq!(after.net.gossip_in, before.net.gossip_in);
    assert_eq!(after.net.bytes_out, before.net.bytes_out);
}
