//! A 10 MiB CSAF advisory with 10,000 products between two real nodes:
//! imported on one, replicated to the other, exported there whole. Prints
//! the number of changes, the time to replicate and the memory the
//! receiving node grew by.

use std::time::Instant;

use serde_json::Value;
use trustmesh_node::api::{Advisories, AdvisoryDetail, CsafImported, Peers};

use crate::support::Workspace;

/// A CSAF 2.0 document of about `mib` MiB with `products` products.
fn large(products: usize, mib: usize) -> String {
    let leaves: Vec<String> = (0..products)
        .map(|i| {
            format!(
                r#"{{"category":"product_version","name":"{i}.0","product":{{"name":"Example Product {} {i}.0","product_id":"CSAFPID-{i}","product_identification_helper":{{"purl":"pkg:rpm/example/product-{}@{i}.0"}}}}}}"#,
                i % 97,
                i % 97
            )
        })
        .collect();
    let tree = format!(
        r#"{{"branches":[{{"category":"vendor","name":"Example","branches":[{{"category":"product_name","name":"Product","branches":[{}]}}]}}]}}"#,
        leaves.join(",")
    );
    let mut vulns = Vec::new();
    let mut size = tree.len();
    let mut n = 0;
    while size < mib << 20 {
        let ids: Vec<String> = (0..40)
            .map(|k| format!("\"CSAFPID-{}\"", (n * 40 + k) % products))
            .collect();
        let v = format!(
            r#"{{"cve":"CVE-2025-{:05}","title":"Vulnerability {n}","notes":[{{"category":"description","text":"{}"}}],"product_status":{{"known_affected":[{}]}},"scores":[{{"products":[{}],"cvss_v3":{{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL"}}}}]}}"#,
            10_000 + n,
            "A long description of the flaw, its impact and its workarounds. ".repeat(20),
            ids.join(","),
            ids.join(",")
        );
        size += v.len();
        vulns.push(v);
        n += 1;
    }
    format!(
        r#"{{"document":{{"category":"csaf_security_advisory","csaf_version":"2.0","title":"A large advisory",
        "publisher":{{"category":"vendor","name":"Example","namespace":"https://example.com"}},
        "distribution":{{"tlp":{{"label":"WHITE"}}}},
        "tracking":{{"id":"EX-2025-0001","status":"final","version":"1",
          "initial_release_date":"2025-01-01T00:00:00Z","current_release_date":"2025-01-01T00:00:00Z",
          "revision_history":[{{"date":"2025-01-01T00:00:00Z","number":"1","summary":"Initial"}}]}}}},
        "product_tree":{tree},"vulnerabilities":[{}]}}"#,
        vulns.join(",")
    )
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_10_mib_advisory_with_10000_products_replicates_between_two_nodes() {
    let w = Workspace::new();
    w.init("AA", "AA");
    w.init("BB", "BB");
    w.found(&["AA", "BB"], 2);
    let a = w.start("AA", &["run"]);
    let b = w.start("BB", &["run", "--bootstrap", &a.addr]);
    w.wait_api("BB", &["peers"], |v: &Peers| v.peers.iter().any(|p| p.open));
    let text = large(10_000, 10);
    std::fs::write(w.path("large.json"), &text).expect("write");
    let before = rss_kib(b.child.id());
    let start = Instant::now();
    let imported: CsafImported = w.api("AA", &["advisory", "import", "large.json"]);
    let imported_in = start.elapsed();
    w.wait_api("BB", &["advisory", "list"], |v: &Advisories| {
        v.advisories
            .iter()
            .any(|a| a.id == "EX-2025-0001" && a.complete)
    });
    let replicated_in = start.elapsed();
    let after = rss_kib(b.child.id());
    eprintln!(
        "{} bytes of CSAF, 10,000 products: imported on AA in {imported_in:?} as {} changes; whole on BB {replicated_in:?} after the import began; BB's resident memory {} MiB -> {} MiB",
        text.len(),
        imported.changes.len(),
        before / 1024,
        after / 1024
    );
    assert!(imported.changes.len() > 1);
    let target = "AA/EX-2025-0001".to_owned();
    // The list reads summaries kept between requests; a detail reads the
    // whole tree. Both through the CLI (a process start each).
    let t = Instant::now();
    for _ in 0..5 {
        let list: Advisories = w.api("BB", &["advisory", "list"]);
        assert_eq!(list.advisories.len(), 1);
    }
    let listed = t.elapsed() / 5;
    let t = Instant::now();
    let shown: AdvisoryDetail = w.api("BB", &["advisory", "show", &target]);
    eprintln!(
        "advisory list on BB: {listed:?} per call (summary kept); advisory show: {:?} (the whole tree read)",
        t.elapsed()
    );
    assert_eq!(shown.meta.changes_applied, imported.changes.len());
    w.ok(
        Some("BB"),
        &[
            "export",
            "advisory",
            &target,
            "--format",
            "csaf",
            "--out",
            "there.json",
        ],
    );
    let there: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("there.json")).expect("read"))
            .expect("JSON");
    let here: Value = serde_json::from_str(&text).expect("JSON");
    assert!(
        there == here,
        "the export on BB differs from the document imported on AA"
    );

    // Beyond the import limit: a clear error naming it, before sending.
    std::fs::write(w.path("huge.json"), large(2_000, 17)).expect("write");
    let err = w.fails(Some("AA"), &["advisory", "import", "huge.json"]);
    assert!(
        err.contains("an import takes at most 16777216 (16 MiB)"),
        "{err}"
    );
}
