//! Severity, TLP, limits, versions, CVSS, the tree in Automerge, the
//! envelope, the short form, and the typed view.

use automerge::ReadDoc;

use super::*;
use crate::document::fixtures::{admit, advisory, raw_change};
use crate::{ChangeStatus, EditError};

fn minimal(version: &str, extra_document: &str) -> String {
    format!(
        r#"{{"document":{{"category":"csaf_base","csaf_version":"{version}","title":"T",
        "publisher":{{"category":"vendor","name":"V","namespace":"https://v.example"}},
        "tracking":{{"id":"V-1","status":"final","version":"1",
          "initial_release_date":"2024-01-01T00:00:00Z","current_release_date":"2024-01-01T00:00:00Z",
          "revision_history":[{{"date":"2024-01-01T00:00:00Z","number":"1","summary":"Initial"}}]}}
        {extra_document}}}}}"#
    )
}

const WHITE: &str = r#","distribution":{"tlp":{"label":"WHITE"}}"#;

#[test]
fn severity_text_in_any_language_and_cvss_only() {
    let level = |t: &str| level_of_text(t);
    assert_eq!(level("hoch"), Some(Severity::High));
    assert_eq!(level("mittel"), Some(Severity::Medium));
    assert_eq!(level("niedrig"), Some(Severity::Low));
    assert_eq!(level("Important"), Some(Severity::High));
    assert_eq!(level("Moderate"), Some(Severity::Medium));
    assert_eq!(level("Critical"), Some(Severity::Critical));
    assert_eq!(level("Hoch (CVSS 8.1)"), Some(Severity::High));
    assert_eq!(level("élevé"), Some(Severity::High));
    assert_eq!(level("Крити́ческий"), None);
    assert_eq!(level("критический"), Some(Severity::Critical));
    assert_eq!(level("高危"), Some(Severity::High));
    assert_eq!(level("中危"), Some(Severity::Medium));
    assert_eq!(level("緊急"), Some(Severity::Critical));
    assert_eq!(level("whatever the vendor says"), None);
    assert_eq!(level(""), None);

    let view = |extra: &str, vulns: &str| {
        let text = minimal("2.0", extra).replacen(
            r#""document":"#,
            &format!(r#""vulnerabilities":{vulns},"document":"#),
            1,
        );
        AdvisoryView::of(&Json::parse(text.as_bytes()).expect("json")).severity
    };
    let scores = r#"[{"scores":[{"products":["P"],"cvss_v3":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","baseScore":9.8,"baseSeverity":"CRITICAL"}}]},
                     {"scores":[{"products":["P"],"cvss_v2":{"version":"2.0","vectorString":"AV:N/AC:L/Au:N/C:P/I:P/A:P","baseScore":7.5}}]}]"#;
    // The text wins, as written.
    let s = view(r#","aggregate_severity":{"text":"mittel"}"#, scores);
    assert_eq!(s.text.as_deref(), Some("mittel"));
    assert_eq!(
        (s.level, s.source),
        (Some(Severity::Medium), Some(LevelSource::Text))
    );
    // Without a text, the highest CVSS base score.
    let s = view("", scores);
    assert_eq!(s.text, None);
    assert_eq!(
        (s.level, s.source),
        (Some(Severity::Critical), Some(LevelSource::Cvss(9.8)))
    );
    // A text that names no level, and scores: the scores.
    let s = view(r#","aggregate_severity":{"text":"Stufe 3"}"#, scores);
    assert_eq!(s.text.as_deref(), Some("Stufe 3"));
    assert_eq!(s.level, Some(Severity::Critical));
    // Neither: no level, never an invented one.
    let s = view(r#","aggregate_severity":{"text":"Stufe 3"}"#, "[]");
    assert_eq!((s.level, s.source), (None, None));
    // CSAF 2.1 metrics count too.
    let metrics = r#"[{"metrics":[{"products":["P"],"content":{"cvss_v3":{"version":"3.1","vectorString":"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N","baseScore":5.4}}}]}]"#;
    let s = view("", metrics);
    assert_eq!(s.level, Some(Severity::Medium));
}

#[test]
fn tlp_labels_map_between_tlp_1_and_2() {
    assert_eq!(tlp_of_label("WHITE", None), Some(Tlp::Clear));
    assert_eq!(tlp_of_label("CLEAR", None), Some(Tlp::Clear));
    assert_eq!(tlp_of_label("tlp:green", None), Some(Tlp::Green));
    assert_eq!(tlp_of_label("AMBER", None), Some(Tlp::Amber));
    assert_eq!(
        tlp_of_label("AMBER", Some("TLP:AMBER+STRICT (TLP 2.0)")),
        Some(Tlp::AmberStrict)
    );
    assert_eq!(tlp_of_label("AMBER+STRICT", None), Some(Tlp::AmberStrict));
    assert_eq!(tlp_of_label("RED", None), Some(Tlp::Red));
    assert_eq!(tlp_of_label("PURPLE", None), None);
    assert_eq!(
        Tlp::ALL
            .iter()
            .map(|t| tlp_label_2_0(*t))
            .collect::<Vec<_>>(),
        ["WHITE", "GREEN", "AMBER", "AMBER", "RED"]
    );
    assert_eq!(
        Tlp::ALL.iter().map(|t| t.label()).collect::<Vec<_>>(),
        ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    );
}

/// Imports `json` relabelled, then exports both versions.
fn relabelled(json: &str, tlp: Tlp) -> (Json, Json) {
    let set = net();
    let mut docs = replica(&set);
    let mut import = CsafImport::new(json.as_bytes(), random(3));
    import.tlp = Some(tlp);
    import.audience = Some(vec![key(2).id()]);
    let imported = docs
        .import_csaf(&owner(), suffix(1), 5, &import)
        .expect("imports");
    let d = held(&docs, &imported.doc.id());
    (
        d.export_csaf(CsafVersion::V2_0, None),
        d.export_csaf(CsafVersion::V2_1, None),
    )
}

#[test]
fn exports_write_tlp_2_0_in_2_1_and_tlp_1_0_with_the_original_in_2_0() {
    let doc = minimal("2.0", WHITE);
    let (v20, v21) = relabelled(&doc, Tlp::AmberStrict);
    let d20 = v20.pointer("/document/distribution").expect("distribution");
    assert_eq!(
        d20.pointer("/tlp/label").and_then(Json::as_str),
        Some("AMBER")
    );
    assert!(
        d20.get("text")
            .and_then(Json::as_str)
            .is_some_and(|t| t.starts_with("TLP:AMBER+STRICT (TLP 2.0)"))
    );
    assert_eq!(d20.get("sharing_group"), None);
    let d21 = v21.pointer("/document/distribution").expect("distribution");
    assert_eq!(
        d21.pointer("/tlp/label").and_then(Json::as_str),
        Some("AMBER+STRICT")
    );
    assert_eq!(d21.get("text"), None);
    // AMBER+STRICT names an audience: a sharing group, a UUIDv4.
    let id = d21
        .pointer("/sharing_group/id")
        .and_then(Json::as_str)
        .expect("a sharing group");
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    assert_eq!(
        v21.get("$schema").and_then(Json::as_str),
        Some(CSAF_21_SCHEMA)
    );

    // CLEAR is WHITE in 2.0, with the TLP 2.0 label in the text, only when
    // the document's own label says otherwise.
    let (v20, _) = relabelled(
        &minimal("2.0", r#","distribution":{"tlp":{"label":"WHITE"}}"#),
        Tlp::Red,
    );
    assert_eq!(
        v20.pointer("/document/distribution/tlp/label")
            .and_then(Json::as_str),
        Some("RED")
    );
    let (v20, v21) = relabelled(
        &minimal("2.1", r#","distribution":{"tlp":{"label":"GREEN"}}"#),
        Tlp::Red,
    );
    assert_eq!(
        v20.pointer("/document/distribution/tlp/label")
            .and_then(Json::as_str),
        Some("RED")
    );
    assert!(
        v21.pointer("/document/distribution/sharing_group/id")
            .is_some()
    );
}

#[test]
fn a_document_without_tlp_is_refused_unless_the_importer_names_one() {
    let set = net();
    let mut docs = replica(&set);
    let doc = minimal("2.0", "");
    assert_eq!(
        import_into(&mut docs, doc.as_bytes(), None),
        Err(EditError::Import(ImportError::NoTlp))
    );
    assert_eq!(docs.docs().count(), 0);
    let imported = import_into(&mut docs, doc.as_bytes(), Some(Tlp::Amber)).expect("imports");
    assert_eq!(
        (imported.tlp, imported.tlp_source),
        (Tlp::Amber, TlpSource::Importer)
    );
    let d = held(&docs, &imported.doc.id());
    assert_eq!(d.envelope.tlp, Tlp::Amber);
    assert_eq!(d.envelope.audience, vec![owner().id()]);
    // Never shared wider than the document says.
    let amber = minimal("2.0", r#","distribution":{"tlp":{"label":"AMBER"}}"#);
    let mut docs = replica(&set);
    assert_eq!(
        import_into(&mut docs, amber.as_bytes(), Some(Tlp::Green)),
        Err(EditError::Import(ImportError::Widens {
            document: "AMBER",
            requested: "GREEN"
        }))
    );
    let unknown = minimal("2.0", r#","distribution":{"tlp":{"label":"PURPLE"}}"#);
    assert_eq!(
        import_into(&mut docs, unknown.as_bytes(), Some(Tlp::Red)),
        Err(EditError::Import(ImportError::UnknownTlp("PURPLE".into())))
    );
    let i = import_into(&mut docs, amber.as_bytes(), None).expect("imports");
    assert_eq!((i.tlp, i.tlp_source), (Tlp::Amber, TlpSource::Document));
}

#[test]
fn what_an_import_needs_and_its_limits_are_named() {
    let set = net();
    let err = |json: &str| {
        let mut docs = replica(&set);
        match import_into(&mut docs, json.as_bytes(), Some(Tlp::Red)) {
            Err(e) => e.to_string(),
            Ok(_) => "imported".to_owned(),
        }
    };
    assert_eq!(err("[]"), "not a CSAF document: / must be an object");
    assert_eq!(
        err("{}"),
        "not a CSAF document: /document must be an object"
    );
    assert_eq!(
        err(&minimal("2.0", WHITE).replace("\"V-1\"", "7")),
        "not a CSAF document: /document/tracking/id must be a string"
    );
    assert_eq!(
        err(&minimal("1.2", WHITE)),
        "csaf_version \"1.2\" is not supported (2.0 and 2.1 are)"
    );
    assert_eq!(
        err("{\"document\":"),
        "not JSON at byte 12: the text ends where a value should start"
    );

    let products = |n: usize| {
        let names: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"name":"p{i}","product_id":"P{i}"}}"#))
            .collect();
        minimal("2.0", WHITE).replacen(
            r#""document":"#,
            &format!(
                r#""product_tree":{{"full_product_names":[{}]}},"document":"#,
                names.join(",")
            ),
            1,
        )
    };
    assert_eq!(
        err(&products(Limit::Products.bound() + 1)),
        "the document has more than 50000 products"
    );
    let vulns = |n: usize| {
        minimal("2.0", WHITE).replacen(
            r#""document":"#,
            &format!(
                r#""vulnerabilities":[{}],"document":"#,
                vec!["{}"; n].join(",")
            ),
            1,
        )
    };
    assert_eq!(
        err(&vulns(Limit::Vulnerabilities.bound() + 1)),
        "the document has more than 10000 vulnerabilities"
    );
    assert_eq!(err(&vulns(3)), "imported");
}

#[test]
fn tracking_versions_order_as_csaf_says() {
    let v = |s: &str| TrackingVersion::parse(s).unwrap_or_else(|| panic!("{s} parses"));
    let newer = |a: &str, b: &str| v(b).precedence(&v(a)) == std::cmp::Ordering::Greater;
    assert!(newer("1", "2"));
    assert!(newer("9", "10"));
    assert!(newer("99999999999999999999998", "99999999999999999999999"));
    assert!(newer("1.9.0", "1.10.0"));
    assert!(newer("1.0.0-rc.1", "1.0.0"));
    assert!(newer("1.0.0-alpha", "1.0.0-alpha.1"));
    assert!(newer("1.0.0-alpha.1", "1.0.0-alpha.beta"));
    assert!(newer("1.0.0-beta.2", "1.0.0-beta.11"));
    assert!(newer("1.0.0-rc.1", "1.0.0-rc.1a"));
    assert!(newer("2", "2.0.1"));
    assert!(newer("2.0.1", "3"));
    assert_eq!(
        v("1.0.0+build.1").precedence(&v("1.0.0+build.2")),
        std::cmp::Ordering::Equal
    );
    assert_eq!(v("3").precedence(&v("3.0.0")), std::cmp::Ordering::Equal);
    for bad in [
        "",
        "01",
        "1.0",
        "1.0.0.0",
        "v1",
        "1.0.0-",
        "1.0.0-01",
        "1.0.0+",
        "1.0.0-a..b",
    ] {
        assert_eq!(TrackingVersion::parse(bad), None, "{bad}");
    }
}

#[test]
fn cvss_3_base_scores() {
    let score = |v: &str| Cvss3::parse(v).map(|c| (c.version, c.base_score));
    assert_eq!(
        score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        Some(("3.1", 9.8))
    );
    assert_eq!(
        score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
        Some(("3.1", 10.0))
    );
    assert_eq!(
        score("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"),
        Some(("3.1", 6.5))
    );
    assert_eq!(
        score("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
        Some(("3.0", 6.1))
    );
    assert_eq!(
        score("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N"),
        Some(("3.1", 0.0))
    );
    assert_eq!(
        score("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N/E:U/RL:O"),
        Some(("3.1", 1.6))
    );
    for bad in [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
        "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "AV:N/AC:L/Au:N/C:P/I:P/A:P",
    ] {
        assert_eq!(Cvss3::parse(bad), None, "{bad}");
    }
}

/// The Automerge document the tree lives in, read back.
fn stored(docs: &Documents, doc: &DocId) -> Json {
    held(docs, doc).csaf
}

#[test]
fn a_changed_field_is_one_operation_and_lists_keep_their_prefix_and_suffix() {
    let set = net();
    let mut docs = replica(&set);
    let mut tree = Json::parse(minimal("2.0", WHITE).as_bytes()).expect("json");
    let list: Vec<Json> = (0..50).map(|i| Json::from(format!("P{i}"))).collect();
    tree.as_object_mut()
        .expect("object")
        .insert("extra".into(), Json::Array(list.clone()));
    let imported = import_into(&mut docs, tree.to_json().as_bytes(), None).expect("imports");
    let doc = imported.doc;
    let ops = |docs: &Documents, c: &crate::SignedChange| {
        let _ = docs;
        c.change().decode().operations.len()
    };
    // One title: one put.
    let mut edited = stored(&docs, &doc.id());
    if let Some(Json::Object(d)) = edited.as_object_mut().and_then(|r| r.get_mut("document")) {
        d.insert("title".into(), Json::from("New title"));
    }
    let changes = docs
        .update_csaf(&owner(), suffix(1), 6, &doc, &edited)
        .expect("writes");
    assert_eq!(changes.len(), 1);
    assert_eq!(ops(&docs, &changes[0]), 1);
    assert_eq!(stored(&docs, &doc.id()), edited);
    // An element inserted in the middle of a list: one insert.
    let mut more = list.clone();
    more.insert(20, Json::from("NEW"));
    edited
        .as_object_mut()
        .expect("object")
        .insert("extra".into(), Json::Array(more));
    let changes = docs
        .update_csaf(&owner(), suffix(1), 7, &doc, &edited)
        .expect("writes");
    assert_eq!(ops(&docs, &changes[0]), 1);
    assert_eq!(stored(&docs, &doc.id()), edited);
    // Nothing changed: no change.
    assert_eq!(
        docs.update_csaf(&owner(), suffix(1), 8, &doc, &edited),
        Ok(vec![])
    );
}

#[test]
fn co_authors_edits_of_different_fields_merge() {
    let mut set = net();
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    let m = set.membership();
    let mut a = replica(&set);
    let text = minimal("2.0", WHITE);
    let mut import = CsafImport::new(text.as_bytes(), random(1));
    import.co_authors = Some(vec![key(4).id()]);
    let imported = a
        .import_csaf(&owner(), suffix(1), 5, &import)
        .expect("imports");
    let doc = imported.doc;
    let mut b = replica(&set);
    sync(&a, &mut b, &m);
    // The owner changes the title; the co-author, concurrently, the
    // tracking status.
    let mut x = stored(&a, &doc.id());
    if let Some(Json::Object(d)) = x.as_object_mut().and_then(|r| r.get_mut("document")) {
        d.insert("title".into(), Json::from("Owner's title"));
    }
    a.update_csaf(&owner(), suffix(1), 6, &doc, &x)
        .expect("owner edits");
    let mut y = stored(&b, &doc.id());
    if let Some(Json::Object(t)) = y
        .as_object_mut()
        .and_then(|r| r.get_mut("document"))
        .and_then(Json::as_object_mut)
        .and_then(|d| d.get_mut("tracking"))
    {
        t.insert("status".into(), Json::from("interim"));
    }
    b.update_csaf(&key(4), suffix(4), 6, &doc, &y)
        .expect("co-author edits");
    sync(&a, &mut b, &m);
    sync(&b, &mut a, &m);
    let merged = stored(&a, &doc.id());
    assert_eq!(merged, stored(&b, &doc.id()));
    assert_eq!(
        merged.pointer("/document/title").and_then(Json::as_str),
        Some("Owner's title")
    );
    assert_eq!(
        merged
            .pointer("/document/tracking/status")
            .and_then(Json::as_str),
        Some("interim")
    );
    // A co-author may not relabel.
    let mut env = held(&b, &doc.id()).envelope;
    env.tlp = Tlp::Green;
    assert_eq!(
        b.update_envelope(&key(4), suffix(4), 7, &doc, &env, random(9)),
        Err(EditError::OwnerOnly("tlp label"))
    );
    // Nor touch the original's bytes by hand.
    let sneaky = raw_change(&a, &key(4), suffix(44), doc.clone(), |tx| {
        let list = automerge::transaction::Transactable::put_object(
            tx,
            automerge::ROOT,
            "original",
            automerge::ObjType::List,
        )?;
        automerge::transaction::Transactable::insert(tx, &list, 0, vec![1u8])
    });
    assert_eq!(
        a.insert(sneaky, &m).map(|i| i.status),
        Ok(ChangeStatus::NotPermitted)
    );
}

#[test]
fn a_forwarded_document_keeps_its_bytes_hashes_and_signature() {
    let set = net();
    let m = set.membership();
    let mut docs = replica(&set);
    // Bytes as the publisher wrote them: spacing and key order kept.
    let bytes = minimal("2.0", WHITE).into_bytes();
    let sig =
        "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n";
    let mut import = CsafImport::new(&bytes, random(1));
    import.signature = Some("not armored".into());
    assert_eq!(
        docs.import_csaf(&owner(), suffix(1), 5, &import)
            .map(|_| ()),
        Err(EditError::Import(ImportError::Signature(
            "it must start with -----BEGIN PGP SIGNATURE----- and end with -----END PGP SIGNATURE-----"
        )))
    );
    import.signature = Some(sig.into());
    let imported = docs
        .import_csaf(&owner(), suffix(1), 5, &import)
        .expect("imports");
    let doc = imported.doc.id();
    let env = held(&docs, &doc).envelope;
    let o = env.original.expect("an original");
    assert_eq!(o, Original::of(&bytes, Some(sig.into())));
    assert_eq!(o.sha256.len(), 64);
    assert_eq!(o.sha512.len(), 128);
    assert_eq!(docs.advisory_original(&doc), Ok(Some(bytes.clone())));
    // Every member holds them.
    let mut other = replica(&set);
    sync(&docs, &mut other, &m);
    assert_eq!(other.advisory_original(&doc), Ok(Some(bytes)));

    // Without `forwarded`, no original.
    let mut plain = replica(&set);
    let i = import_into(&mut plain, minimal("2.0", WHITE).as_bytes(), None).expect("imports");
    assert_eq!(plain.advisory_original(&i.doc.id()), Ok(None));
    assert_eq!(held(&plain, &i.doc.id()).envelope.original, None);
}

#[test]
fn the_short_form_round_trips_and_exports_complete_csaf() {
    let set = net();
    let mut docs = replica(&set);
    let a = advisory("TM-2026-1", Tlp::Green, &[], &[]);
    let form = Authored {
        advisory: a.clone(),
        vulnerabilities: vec![AuthoredVulnerability {
            cve: "CVE-2024-3400".into(),
            title: "Command injection in GlobalProtect".into(),
            cvss_v3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
            cwe: "CWE-77".into(),
            cwe_name: "Improper Neutralization of Special Elements used in a Command".into(),
            fixed: vec![Product {
                vendor: "Example Networks".into(),
                product: "GlobalGate".into(),
                versions: vec!["10.2.9".into()],
            }],
            remediation: "Upgrade to 10.2.9.".into(),
            remediation_url: "https://example.org/fix".into(),
        }],
    };
    let changes = docs
        .publish_authored(&owner(), suffix(1), 5, &form)
        .expect("publishes");
    assert_eq!(changes.len(), 1);
    let doc = DocRef::advisory(owner().id(), "TM-2026-1")
        .expect("id")
        .id();
    assert_eq!(docs.get::<Authored>(&doc), Ok(Some(form.clone())));
    assert_eq!(docs.get::<Advisory>(&doc), Ok(Some(a.clone())));

    let d = held(&docs, &doc);
    let publisher = Publisher {
        name: "CERT Example".into(),
        namespace: "https://cert.example".into(),
        contact_details: None,
    };
    let csaf = d.export_csaf(CsafVersion::V2_0, Some(&publisher));
    let view = AdvisoryView::of(&csaf);
    assert_eq!(view.category, "csaf_security_advisory");
    assert_eq!(view.publisher.name, "CERT Example");
    assert_eq!(view.tlp_label.as_deref(), Some("GREEN"));
    assert_eq!(view.cves, vec!["CVE-2024-3400".to_owned()]);
    let v = &view.vulnerabilities[0];
    assert_eq!(v.highest_score(), Some(9.8));
    assert_eq!(v.cwes[0].id, "CWE-77");
    let names = |g| {
        v.products(g)
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(StatusGroup::Affected),
        ["Example Networks GlobalGate < 10.2.9"]
    );
    assert_eq!(
        names(StatusGroup::Fixed),
        ["Example Networks GlobalGate 10.2.9"]
    );
    assert_eq!(
        v.remediations[0].url.as_deref(),
        Some("https://example.org/fix")
    );
    assert_eq!(view.severity.level, Some(Severity::High));
    assert!(
        view.notes
            .iter()
            .any(|n| n.title.as_deref() == Some(INDICATORS_NOTE))
    );

    // Edits through the short form write what changed; details stay.
    let mut b = a.clone();
    b.title = "Updated".into();
    let c = docs
        .update_advisory(&owner(), suffix(1), 6, owner().id(), &b)
        .expect("updates")
        .expect("changed");
    assert_eq!(c.change().decode().operations.len(), 1);
    let now: Authored = docs.get(&doc).expect("reads").expect("held");
    assert_eq!(now.advisory, b);
    assert_eq!(now.vulnerabilities, form.vulnerabilities);

    // An advisory edited as CSAF no longer has a short form to edit.
    let mut tree = held(&docs, &doc).csaf;
    tree.as_object_mut()
        .expect("object")
        .insert("x_vendor".into(), Json::from("extra"));
    let r = DocRef::advisory(owner().id(), "TM-2026-1").expect("id");
    docs.update_csaf(&owner(), suffix(1), 7, &r, &tree)
        .expect("edits");
    assert_eq!(
        docs.update_advisory(&owner(), suffix(1), 8, owner().id(), &b),
        Err(EditError::NotShortForm(r))
    );
}

#[test]
fn an_imported_advisory_has_no_short_form() {
    let set = net();
    let mut docs = replica(&set);
    let i = import_into(&mut docs, minimal("2.0", WHITE).as_bytes(), None).expect("imports");
    assert_eq!(
        docs.get::<Advisory>(&i.doc.id()),
        Err(SchemaError::NotAuthored)
    );
    let mut a = advisory("V-1", Tlp::Clear, &[], &[]);
    a.id = "V-1".into();
    assert_eq!(
        docs.update_advisory(&owner(), suffix(1), 6, owner().id(), &a),
        Err(EditError::NotShortForm(i.doc.clone()))
    );
    // Its envelope is the owner's to change.
    let mut env = held(&docs, &i.doc.id()).envelope;
    env.tlp = Tlp::Red;
    env.audience = vec![owner().id(), key(2).id()];
    let changes = docs
        .update_envelope(&owner(), suffix(1), 7, &i.doc, &env, random(5))
        .expect("relabels");
    assert_eq!(changes.len(), 1);
    let d = held(&docs, &i.doc.id());
    assert_eq!(d.envelope.tlp, Tlp::Red);
    assert_eq!(d.envelope.sharing_groups.len(), 1);
    assert!(!docs.may_receive(&i.doc.id(), &key(3).id(), &set.membership()));
}

#[test]
fn hostile_values_in_the_tree_read_as_malformed_not_a_panic() {
    let set = net();
    let m = set.membership();
    let mut docs = replica(&set);
    let i = import_into(&mut docs, minimal("2.0", WHITE).as_bytes(), None).expect("imports");
    let doc = i.doc.clone();
    let am = docs.materialized(&doc.id());
    let csaf = match am.get(automerge::ROOT, "csaf") {
        Ok(Some((_, id))) => id,
        _ => panic!("a tree"),
    };
    for (n, value) in [
        automerge::ScalarValue::counter(3),
        automerge::ScalarValue::Timestamp(5),
        automerge::ScalarValue::Bytes(b"not a number".to_vec()),
        automerge::ScalarValue::F64(f64::NAN),
    ]
    .into_iter()
    .enumerate()
    {
        let mut docs = docs.clone();
        let bad = raw_change(&docs, &owner(), suffix(10 + n as u8), doc.clone(), |tx| {
            automerge::transaction::Transactable::put(tx, &csaf, "x_odd", value)
        });
        assert_eq!(
            docs.insert(bad, &m).map(|i| i.status),
            Ok(ChangeStatus::Applied)
        );
        assert_eq!(
            docs.get::<AdvisoryDocument>(&doc.id()),
            Err(SchemaError::Malformed("csaf/x_odd".into()))
        );
    }
    // A number kept as text reads back as that number.
    let big = raw_change(&docs, &owner(), suffix(20), doc.clone(), |tx| {
        automerge::transaction::Transactable::put(
            tx,
            &csaf,
            "x_big",
            automerge::ScalarValue::Bytes(b"1e999".to_vec()),
        )
    });
    docs.insert(big, &m).expect("applies");
    assert_eq!(
        held(&docs, &doc.id()).csaf.get("x_big").map(Json::to_json),
        Some("1e999".to_owned())
    );
}

#[test]
fn the_view_reads_real_documents() {
    let Some(dir) = corpus_dir() else { return };
    let read = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).expect("corpus file");
        AdvisoryView::of(&Json::parse(&bytes).expect("json"))
    };
    let wid = read("2.0/wid-sec-w-2024-0001.json");
    assert_eq!(wid.severity.text.as_deref(), Some("mittel"));
    assert_eq!(wid.severity.level, Some(Severity::Medium));
    assert_eq!(wid.lang.as_deref(), Some("de-DE"));
    let bsi = read("2.0/bsi-2022-0001.json");
    assert!(bsi.publisher.name.contains('ü') || bsi.publisher.name.contains("Sicherheit"));
    assert!(
        !bsi.vulnerabilities[0]
            .products(StatusGroup::Fixed)
            .is_empty()
    );
    let rh = read("2.0/rhsa-2023_7831.json");
    assert_eq!(rh.severity.level, Some(Severity::High));
    let v = &rh.vulnerabilities[0];
    assert!(!v.products(StatusGroup::Fixed).is_empty());
    assert!(v.remediations.iter().any(|r| r.url.is_some()));
    assert!(v.cwes.iter().any(|c| c.id.starts_with("CWE-")));
    assert!(v.scores.iter().any(|s| s.vector.is_some()));
    assert!(rh.product_tree.product_count() > 200);
    assert!(!rh.product_tree.relationships.is_empty());
    let vex = read("2.0/cve-2023-1370.json");
    assert_eq!(vex.category, "csaf_vex");
    assert!(
        !vex.vulnerabilities[0]
            .products(StatusGroup::NotAffected)
            .is_empty()
    );
    let ics = read("2.0/icsa-23-348-10.json");
    assert_eq!(ics.severity.text, None);
    assert!(matches!(ics.severity.source, Some(LevelSource::Cvss(_))));
    assert!(ics.vulnerabilities.len() > 400);
    let cisco = read("2.0/cisco-sa-20180328-smi2.json");
    assert_eq!(cisco.category, "Cisco Security Advisory");
    assert_eq!(cisco.tlp_label, None);
    let ms = read("2.0/msrc_cve-2025-49704.json");
    assert_eq!(ms.severity.level, Some(Severity::Critical));
    assert!(
        ms.vulnerabilities[0]
            .threats
            .iter()
            .any(|t| t.category == "exploit_status")
    );
    let rh21 = read("2.1/rhsa-2022_0011.json");
    assert_eq!(rh21.csaf_version, "2.1");
    assert!(!rh21.vulnerabilities[0].cwes.is_empty());
    assert!(rh21.vulnerabilities[0].disclosure_date.is_some());
    let vex21 = read("2.1/sec-vex-2022-0001.json");
    assert_eq!(vex21.tlp_label.as_deref(), Some("CLEAR"));
}

#[test]
fn exports_in_the_other_version_convert() {
    let Some(files) = corpus_files() else { return };
    let set = net();
    for file in &files {
        let bytes = std::fs::read(file).expect("corpus file");
        let mut docs = replica(&set);
        let i = import_into(&mut docs, &bytes, Some(Tlp::Amber)).expect("imports");
        let d = held(&docs, &i.doc.id());
        let v20 = d.export_csaf(CsafVersion::V2_0, None);
        let v21 = d.export_csaf(CsafVersion::V2_1, None);
        for (tree, name) in [(&v20, "2.0"), (&v21, "2.1")] {
            let view = AdvisoryView::of(tree);
            assert_eq!(view.csaf_version, name, "{}", file.display());
            // What a responder reads survives the conversion.
            let orig = d.view();
            assert_eq!(view.cves, orig.cves);
            assert_eq!(view.title, orig.title);
            assert_eq!(
                view.highest_score(),
                orig.highest_score(),
                "{}",
                file.display()
            );
            assert_eq!(
                view.product_tree.product_count(),
                orig.product_tree.product_count()
            );
        }
        assert!(v20.get("$schema").is_none());
        assert!(v20.pointer("/vulnerabilities/0/metrics").is_none());
        assert!(v21.pointer("/vulnerabilities/0/scores").is_none());
        assert!(v21.pointer("/vulnerabilities/0/cwe").is_none());
    }
}

#[test]
fn the_deepest_document_the_parser_takes_is_one_the_replica_reads() {
    let set = net();
    let nested = |levels: usize| {
        // The root object is one level; `x_deep` adds the rest.
        let deep = "[".repeat(levels - 1) + &"]".repeat(levels - 1);
        minimal("2.0", WHITE).replacen(
            r#""document":"#,
            &format!(r#""x_deep":{deep},"document":"#),
            1,
        )
    };
    let mut docs = replica(&set);
    let i = import_into(&mut docs, nested(Limit::Depth.bound()).as_bytes(), None).expect("imports");
    assert_eq!(
        held(&docs, &i.doc.id()).csaf.depth(),
        Limit::Depth.bound() - 1
    );
    let mut docs = replica(&set);
    assert_eq!(
        import_into(&mut docs, nested(Limit::Depth.bound() + 1).as_bytes(), None).map(|_| ()),
        Err(EditError::Import(ImportError::Json(JsonError::TooLarge(
            Limit::Depth
        ))))
    );
}

#[test]
fn revision_numbers_csaf_refuses_are_renumbered_and_the_short_form_still_edits() {
    let set = net();
    let mut docs = replica(&set);
    let mut a = advisory("TM-2026-9", Tlp::Clear, &[], &[]);
    a.revisions = vec![
        Revision {
            number: "0.9".into(),
            date: 1_700_000_000,
            summary: String::new(),
        },
        Revision {
            number: "1.0.0-rc1".into(),
            date: 1_700_000_100,
            summary: "Candidate".into(),
        },
    ];
    docs.publish_advisory(&owner(), suffix(1), 5, &a)
        .expect("publishes");
    let doc = DocRef::advisory(owner().id(), "TM-2026-9").expect("id");
    let view = held(&docs, &doc.id()).view();
    let numbers: Vec<(&str, &str)> = view
        .tracking
        .revisions
        .iter()
        .map(|r| (r.number.as_str(), r.summary.as_str()))
        .collect();
    assert_eq!(
        numbers,
        [
            ("1", "(trustmesh revision 0.9) Revision 0.9"),
            ("2", "(trustmesh revision 1.0.0-rc1) Candidate")
        ]
    );
    assert_eq!(view.tracking.version, "2");
    // The short form reads back what the tree says, and edits still work.
    let mut b: Advisory = docs.get(&doc.id()).expect("reads").expect("held");
    b.title = "Renamed".into();
    assert!(
        docs.update_advisory(&owner(), suffix(1), 6, owner().id(), &b)
            .expect("updates")
            .is_some()
    );
}

/// A tracking id that is no valid document name (a `/`, spaces, non-ASCII)
/// still names an imported document: its characters outside the set are
/// replaced and a digest of publisher and id added; the tree keeps the id.
#[test]
fn an_odd_tracking_id_names_an_import_safely() {
    for (id, stem) in [
        ("CERT-Bund 2024/0001", "CERT-Bund_2024_0001~"),
        ("../../etc", "etc~"),
        ("\u{202e}gnp.exe", "gnp.exe~"),
        ("Ärger-1", "rger-1~"),
        ("///", "csaf~"),
    ] {
        let names = csaf_import::names("https://v.example", id);
        assert_eq!(names.len(), 1, "{id:?}: {names:?}");
        assert!(names[0].starts_with(stem), "{id:?}: {names:?}");
        assert_eq!(
            crate::document::id::check_tracking_id(&names[0]),
            Ok(()),
            "{id:?}: {names:?}"
        );
    }
    assert_eq!(
        csaf_import::names("https://v.example", "RHSA-2024:1234")[0],
        "RHSA-2024:1234"
    );
}
