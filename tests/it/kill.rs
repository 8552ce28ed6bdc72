//! A process killed with SIGKILL while writing keeps every change it had
//! acknowledged, and its store opens: 100 kill points by default, half
//! while publishing (local edits), half while taking changes from a peer
//! (the sync and gossip path).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use trustmesh_node::RocksStore;
use trustmesh_protocol::{ActorSuffix, Config, Node, OpenReport, Store, TeamKey};

/// Opens a store the writer wrote, and the core over it: the stored change
/// hashes and what the core found. No stored record may fail to verify.
pub fn reopen(db: &Path) -> (BTreeSet<String>, OpenReport) {
    let store = RocksStore::open(db).expect("the store opens");
    let loaded = store.load().expect("the store reads back");
    let stored: BTreeSet<String> = loaded
        .changes
        .iter()
        .map(|c| c.hash().to_string())
        .collect();
    let charter = store.charter().expect("readable").expect("adopted");
    // The writer's cache size: documents come back cold, as they were.
    let (node, report) = Node::open(
        Config::default().with_cached_documents(4),
        TeamKey::from_secret_bytes([1; 32]),
        ActorSuffix::from_bytes([0xEE; 16]),
        charter,
        store,
        0,
    )
    .expect("the core opens the store");
    assert_eq!(report.bad_changes, 0, "{report:?}");
    assert_eq!(node.documents().store_read_failures(), 0);
    (stored, report)
}

/// Kill points in a normal run; `TRUSTMESH_KILL_POINTS` changes it.
fn kill_points() -> usize {
    std::env::var("TRUSTMESH_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

#[test]
fn acknowledged_changes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let mut acked: BTreeSet<String> = BTreeSet::new();
    // A small deterministic generator picks how many acknowledgements to
    // wait for before each kill, so kills land at varied points.
    let mut state: u64 = 0x5EED;
    let mut cold = 0;
    for point in 0..kill_points() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let wait_for = 1 + (state >> 33) % 25;
        let mut child = Command::new(env!("CARGO_BIN_EXE_trustmesh-store-writer"))
            .arg(&db)
            .arg("100000")
            .arg(if point % 2 == 0 { "publish" } else { "sync" })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the writer starts");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < wait_for {
            let Some(Ok(line)) = lines.next() else {
                panic!("the writer stopped before its kill point {point}");
            };
            let hash = line
                .split_whitespace()
                .nth(2)
                .expect("acked DOC HASH")
                .to_owned();
            acked.insert(hash);
            seen += 1;
        }
        child.kill().expect("SIGKILL");
        // Anything acknowledged between our last read and the kill counts too.
        for line in lines.map_while(Result::ok) {
            if let Some(hash) = line.split_whitespace().nth(2) {
                acked.insert(hash.to_owned());
            }
        }
        child.wait().expect("reaped");

        let (stored, report) = reopen(&db);
        let lost: Vec<&String> = acked.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "kill point {point}: lost acknowledged changes {lost:?}"
        );
        assert_eq!(report.changes, stored.len(), "{report:?}");
        assert!(report.documents > 0, "{report:?}");
        cold += report.cold;
    }
    assert!(acked.len() >= kill_points());
    // The writer's snapshots let later starts leave documents on disk.
    assert!(cold > 0, "no start restored a document cold");
}
