//! A RED advisory lowered to CLEAR must not ship its RED history: on real
//! nodes, the update becomes a new advisory with only the current text,
//! the RED one stays with its audience, and a member outside it holds no
//! byte of the RED text, in its API or in its store's files.

use std::path::Path;

use trustmesh_node::api::{Advisories, AdvisoryDetail};

use crate::support::{Workspace, has_advisory};

/// Whether any file under `dir` holds `needle` (RocksDB's WAL and tables).
fn files_hold(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            files_hold(&p, needle)
        } else {
            std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
        }
    })
}

#[test]
fn lowering_red_to_clear_starts_a_new_advisory_and_the_red_text_stays() {
    let w = Workspace::new();
    for t in ["AA", "BB", "CC"] {
        w.init(t, t);
    }
    w.found(&["AA", "BB", "CC"], 2);
    let a = w.start("AA", &["run"]);
    let _b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    let _c = w.start("CC", &["run", "--bootstrap", &a.addr]);
    let secret = "insider-codename-nightjar";
    w.ok(
        Some("AA"),
        &[
            "advisory",
            "publish",
            "--id",
            "AA-2026-0007",
            "--title",
            "Intrusion at a ministry",
            "--severity",
            "high",
            "--tlp",
            "red",
            "--audience",
            "BB",
            "--body",
            secret,
        ],
    );
    w.wait_api("BB", &["advisory", "list"], |v: &Advisories| {
        has_advisory(v, "AA-2026-0007")
    });

    let out = w.ok(
        Some("AA"),
        &[
            "advisory",
            "update",
            "AA/AA-2026-0007",
            "--tlp",
            "clear",
            "--body",
            "A ministry was breached; indicators follow.",
        ],
    );
    assert_eq!(out["continued_as"], "AA-2026-0007~2", "{out:#}");
    assert!(
        out["note"]
            .as_str()
            .is_some_and(|n| n.contains("stays TLP:RED")),
        "{out:#}"
    );
    for t in ["BB", "CC"] {
        w.wait_api(t, &["advisory", "list"], |v: &Advisories| {
            has_advisory(v, "AA-2026-0007~2")
        });
    }
    // Let anti-entropy run a few rounds.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let cc: Advisories = w.api("CC", &["advisory", "list"]);
    assert!(!has_advisory(&cc, "AA-2026-0007"), "{cc:#?}");
    let red: AdvisoryDetail = w.api("BB", &["advisory", "show", "AA/AA-2026-0007"]);
    assert_eq!(red.summary.tlp, trustmesh_protocol::Tlp::Red);
    // The check can see the text where it belongs, and it is not at CC.
    assert!(
        files_hold(&w.path("BB"), secret.as_bytes()),
        "BB holds the RED text"
    );
    assert!(
        !files_hold(&w.path("CC"), secret.as_bytes()),
        "the RED text reached CC's store"
    );
}
