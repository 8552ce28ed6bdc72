//! A large document: written in several changes each under
//! `MAX_CHANGE_BYTES`, replicated, exported whole. The size defaults to a
//! few MiB with 10,000 products so the test suite stays quick;
//! `TRUSTMESH_LARGE_MIB=16` makes it as large as the limit allows.

use super::*;
use crate::MAX_CHANGE_BYTES;

/// A CSAF 2.0 document of about `mib` MiB with `products` products.
pub(crate) fn large(products: usize, mib: usize) -> String {
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

#[test]
fn a_large_document_spans_changes_under_the_limit_and_replicates_whole() {
    let mib = std::env::var("TRUSTMESH_LARGE_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let text = large(10_000, mib);
    let set = net();
    let m = set.membership();
    let mut docs = replica(&set);
    let imported = import_into(&mut docs, text.as_bytes(), None).expect("imports");
    let sizes: Vec<usize> = imported
        .changes
        .iter()
        .map(|c| c.change_bytes().len())
        .collect();
    println!(
        "{} bytes of JSON in {} changes: {:?} bytes",
        text.len(),
        sizes.len(),
        sizes
    );
    assert!(sizes.len() > 1);
    assert!(sizes.iter().all(|n| *n <= MAX_CHANGE_BYTES));
    let doc = imported.doc.id();
    let here = held(&docs, &doc);
    assert!(here.complete);
    assert_eq!(here.view().product_tree.product_count(), 10_000);

    // Another replica, given the changes out of order, holds an
    // incomplete document until the last one arrives.
    let mut other = replica(&set);
    let mut changes = imported.changes.clone();
    let last = changes.pop().expect("changes");
    for c in changes.into_iter().rev() {
        other.insert(c, &m).expect("verified");
    }
    let partial = held(&other, &doc);
    assert!(!partial.complete);
    other.insert(last, &m).expect("verified");
    let there = held(&other, &doc);
    assert!(there.complete);
    assert_eq!(there.csaf, here.csaf);
    let exported = there.export_csaf(CsafVersion::V2_0, None);
    assert_eq!(
        differences(
            &serde(text.as_bytes()),
            &serde(exported.to_json().as_bytes())
        ),
        Vec::<String>::new()
    );
}

#[test]
fn the_byte_limit_is_named() {
    let text = large(100, 17);
    let set = net();
    let mut docs = replica(&set);
    assert_eq!(
        import_into(&mut docs, text.as_bytes(), None).map(|_| ()),
        Err(crate::EditError::Import(ImportError::Json(
            JsonError::TooLarge(Limit::JsonBytes)
        )))
    );
}
