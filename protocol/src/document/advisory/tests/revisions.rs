//! Revisions: a newer `tracking.version` of a held document updates the
//! advisory with a diff; an older or equal one is refused naming the
//! revision held; every revision stays in the history.

use super::*;
use crate::EditError;

/// A corpus document, edited as its publisher would for a new revision:
/// `version` as `tracking.version`, a revision_history entry, and the
/// first `known_affected` product of the first vulnerability moved to
/// `fixed`.
fn revise(original: &serde_json::Value, version: &str) -> serde_json::Value {
    let mut v = original.clone();
    let tracking = &mut v["document"]["tracking"];
    tracking["version"] = version.into();
    tracking["current_release_date"] = "2025-06-01T00:00:00Z".into();
    tracking["revision_history"]
        .as_array_mut()
        .expect("a revision history")
        .push(serde_json::json!({
            "date": "2025-06-01T00:00:00Z",
            "number": version,
            "summary": "Fixed versions available",
        }));
    let status = &mut v["vulnerabilities"][0]["product_status"];
    let from = [
        "known_affected",
        "known_not_affected",
        "under_investigation",
    ]
    .into_iter()
    .find(|k| status[*k].as_array().is_some_and(|a| !a.is_empty()))
    .expect("a product status to change");
    let moved = status[from]
        .as_array_mut()
        .expect("a status list")
        .remove(0);
    match status["fixed"].as_array_mut() {
        Some(fixed) => fixed.push(moved),
        None => status["fixed"] = serde_json::json!([moved]),
    }
    v
}

fn bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serializes")
}

#[test]
fn a_newer_revision_of_a_corpus_document_updates_the_advisory() {
    let Some(dir) = corpus_dir() else { return };
    let set = net();
    let m = set.membership();
    let original_bytes = std::fs::read(dir.join("2.0/rhsa-2023_7831.json")).expect("corpus file");
    let original = serde(&original_bytes);
    let mut docs = replica(&set);
    let first = import_into(&mut docs, &original_bytes, None).expect("imports");
    assert_eq!(first.previous, None);
    let doc = first.doc.clone();
    assert_eq!(doc.name(), "RHSA-2023:7831");
    let held_version = original["document"]["tracking"]["version"]
        .as_str()
        .expect("a version")
        .to_owned();
    assert_eq!(held_version, "3");

    let next = revise(&original, "4");
    let second = import_into(&mut docs, &bytes(&next), None).expect("the newer revision imports");
    assert_eq!(second.doc, doc, "the same advisory, not a duplicate");
    assert_eq!(second.previous.as_deref(), Some("3"));
    // A diff: one change, a fraction of the first import.
    assert_eq!(second.changes.len(), 1);
    let first_size: usize = first.changes.iter().map(|c| c.change_bytes().len()).sum();
    let second_size = second.changes[0].change_bytes().len();
    assert!(
        second_size * 50 < first_size,
        "the revision's change is {second_size} bytes, the first import {first_size}"
    );
    let now = held(&docs, &doc.id());
    assert_eq!(now.view().tracking.version, "4");
    assert_eq!(
        differences(
            &next,
            &serde(
                now.export_csaf(CsafVersion::V2_0, None)
                    .to_json()
                    .as_bytes()
            )
        ),
        Vec::<String>::new()
    );
    let moved = original["vulnerabilities"][0]["product_status"]["known_not_affected"][0]
        .as_str()
        .expect("a product id");
    assert!(
        now.view().vulnerabilities[0]
            .products(StatusGroup::Fixed)
            .iter()
            .any(|p| p.id == moved)
    );
    assert_eq!(docs.docs().count(), 1);

    // Older or equal: refused, naming the revision held.
    for older in ["3", "2", "4"] {
        let stale = revise(&original, older);
        let e = import_into(&mut docs, &bytes(&stale), None).expect_err("refused");
        assert_eq!(
            e,
            EditError::Import(ImportError::NotNewer {
                id: "RHSA-2023:7831".into(),
                held: "4".into(),
                offered: older.into(),
            })
        );
        assert_eq!(
            e.to_string(),
            format!("revision 4 of RHSA-2023:7831 is held here; {older} is not newer")
        );
    }
    // Not a CSAF version: cannot be ordered, refused.
    let odd = revise(&original, "4.1");
    assert!(matches!(
        import_into(&mut docs, &bytes(&odd), None),
        Err(EditError::Import(ImportError::Unordered { .. }))
    ));

    // Every revision stays in the history: a replica given only the first
    // import's changes holds revision 3, then all of them revision 4.
    let mut old = replica(&set);
    for c in &first.changes {
        old.insert(c.clone(), &m).expect("verified");
    }
    assert_eq!(held(&old, &doc.id()).view().tracking.version, "3");
    sync(&docs, &mut old, &m);
    assert_eq!(held(&old, &doc.id()).view().tracking.version, "4");
    assert_eq!(
        docs.change_hashes(&doc.id()).len(),
        first.changes.len() + second.changes.len()
    );
}

#[test]
fn semantic_versions_order_revisions_and_identity_is_namespace_and_id() {
    let Some(dir) = corpus_dir() else { return };
    let set = net();
    let bytes_of = |v: &serde_json::Value| serde_json::to_vec(v).expect("serializes");
    let cisco = serde(&std::fs::read(dir.join("2.0/cisco-sa-20180328-smi2.json")).expect("file"));
    assert_eq!(cisco["document"]["tracking"]["version"], "3.0.0");
    let mut docs = replica(&set);
    let first = import_into(&mut docs, &bytes_of(&cisco), Some(Tlp::Clear)).expect("imports");
    let revised = |version: &str| {
        let mut v = cisco.clone();
        v["document"]["tracking"]["version"] = version.into();
        v
    };
    // A revision without TLP keeps the label held.
    let i = import_into(&mut docs, &bytes_of(&revised("3.0.1")), None).expect("newer");
    assert_eq!((i.tlp, i.tlp_source), (Tlp::Clear, TlpSource::Held));
    assert_eq!(i.doc, first.doc);
    for stale in ["3.0.0", "3.0.1-rc.1", "2.10.0", "3.0.1+build.7"] {
        assert!(
            matches!(
                import_into(&mut docs, &bytes_of(&revised(stale)), None),
                Err(EditError::Import(ImportError::NotNewer { .. }))
            ),
            "{stale}"
        );
    }
    assert!(import_into(&mut docs, &bytes_of(&revised("3.1.0-beta")), None).is_ok());

    // Another publisher's document with the same tracking id is another
    // advisory, with a name of its own.
    let mut other = cisco.clone();
    other["document"]["publisher"]["namespace"] = "https://other.example".into();
    let o = import_into(&mut docs, &bytes_of(&other), Some(Tlp::Clear)).expect("imports");
    assert_ne!(o.doc, first.doc);
    assert!(o.doc.name().starts_with("cisco-sa-20180328-smi2~"));
    assert_eq!(docs.docs().count(), 2);

    // A restricted advisory's revision may not go to every member.
    let mut docs = replica(&set);
    import_into(&mut docs, &bytes_of(&cisco), Some(Tlp::Amber)).expect("imports");
    assert_eq!(
        import_into(&mut docs, &bytes_of(&revised("4.0.0")), Some(Tlp::Green)),
        Err(EditError::Import(ImportError::WidensHistory {
            held: "AMBER",
            offered: "GREEN"
        }))
    );
}

#[test]
fn a_prepared_import_names_around_advisories_held_and_applies_when_handed_over() {
    let set = net();
    let m = set.membership();
    let mut docs = replica(&set);
    // An advisory written here under the id a vendor also uses.
    let mut a = crate::document::fixtures::advisory("V-1", Tlp::Green, &[], &[]);
    a.id = "V-1".into();
    docs.publish_advisory(&owner(), suffix(1), 5, &a)
        .expect("publishes");
    let csaf = r#"{"document":{"category":"csaf_base","csaf_version":"2.0","title":"T",
        "publisher":{"category":"vendor","name":"V","namespace":"https://v.example"},
        "distribution":{"tlp":{"label":"GREEN"}},
        "tracking":{"id":"V-1","status":"final","version":"1"}}}"#;
    let import = CsafImport::new(csaf.as_bytes(), random(2));
    let prepared = docs
        .prepare_import(&owner(), suffix(9), 6, &import)
        .expect("prepares");
    assert_ne!(prepared.doc.name(), "V-1");
    assert!(prepared.doc.name().starts_with("V-1~"));
    // Nothing was inserted: the caller hands the changes over.
    assert_eq!(docs.docs().count(), 1);
    for c in &prepared.changes {
        docs.insert(c.clone(), &m).expect("verified");
    }
    assert_eq!(docs.docs().count(), 2);
    assert_eq!(
        docs.get::<Advisory>(&DocRef::advisory(owner().id(), "V-1").expect("id").id()),
        Ok(Some(a))
    );
    // The next revision, prepared the same way, updates the import.
    let next = csaf.replace(r#""version":"1""#, r#""version":"2""#);
    let import = CsafImport::new(next.as_bytes(), random(3));
    let again = docs
        .prepare_import(&owner(), suffix(10), 7, &import)
        .expect("prepares");
    assert_eq!(again.doc, prepared.doc);
    assert_eq!(again.previous.as_deref(), Some("1"));
}
