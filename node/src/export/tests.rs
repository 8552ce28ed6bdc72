use expect_test::{Expect, expect};
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryDocument, AdvisoryStatus, AdvisoryView, Authored,
    AuthoredVulnerability, Contact, CsafVersion, Indicator, IndicatorKind, Json, Product,
    Reference, Revision, Severity, StatusGroup, TeamId, TeamKey, TeamKind, Tlp,
};

use super::{Author, csaf, parse_rfc3339, rfc3339, stix, stix_time};

fn team(n: u8) -> TeamId {
    TeamKey::from_secret_bytes([n; 32]).id()
}

fn author() -> Author {
    Author {
        team: team(1),
        name: "CERT Example".into(),
        website: "https://www.cert.example/about".into(),
        email: "cert@cert.example".into(),
    }
}

fn advisory() -> Advisory {
    // The audience is a set, which documents hold sorted.
    let mut audience = vec![team(1), team(2)];
    audience.sort();
    Advisory {
        id: "CERT-XY-2026-0042".into(),
        title: "Backdoor in xz".into(),
        category: AdvisoryCategory::Vulnerability,
        tlp: Tlp::AmberStrict,
        audience,
        co_authors: vec![],
        severity: Severity::Critical,
        status: AdvisoryStatus::Updated,
        revisions: vec![
            Revision {
                number: "1".into(),
                date: 1_711_843_200,
                summary: "Initial release".into(),
            },
            Revision {
                number: "2".into(),
                date: 1_711_929_600,
                summary: "More versions".into(),
            },
        ],
        cves: vec!["CVE-2024-3094".into()],
        products: vec![
            Product {
                vendor: "Tukaani".into(),
                product: "xz".into(),
                versions: vec!["5.6.0".into(), "5.6.1".into()],
            },
            Product {
                vendor: "Tukaani".into(),
                product: "liblzma".into(),
                versions: vec!["all versions before 5.6.2".into()],
            },
            Product {
                vendor: String::new(),
                product: "sshd with systemd patches".into(),
                versions: vec![],
            },
        ],
        indicators: vec![
            Indicator {
                kind: IndicatorKind::Ipv4,
                value: "192.0.2.7".into(),
            },
            Indicator {
                kind: IndicatorKind::Url,
                value: "https://bad.example/it's".into(),
            },
            Indicator {
                kind: IndicatorKind::Sha256,
                value: "AB".repeat(32),
            },
            Indicator {
                kind: IndicatorKind::Other,
                value: "a mutex named xyz".into(),
            },
        ],
        summary: "A backdoor in liblzma.".into(),
        body: "Details.\nMore details.".into(),
        references: vec![
            Reference {
                url: "https://www.openwall.com/lists/oss-security/2024/03/29/4".into(),
                summary: "oss-security".into(),
            },
            Reference {
                url: "https://nvd.nist.gov/vuln/detail/CVE-2024-3094".into(),
                summary: String::new(),
            },
        ],
        acknowledgements: vec!["Andres Freund".into()],
    }
}

fn check(actual: impl std::fmt::Display, expect: Expect) {
    expect.assert_eq(&actual.to_string());
}

#[test]
fn dates_are_rfc3339_both_ways() {
    for (secs, text) in [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_711_843_200, "2024-03-31T00:00:00Z"),
        (4_102_444_799, "2099-12-31T23:59:59Z"),
    ] {
        assert_eq!(rfc3339(secs), text);
        assert_eq!(parse_rfc3339(text), Ok(secs), "{text}");
    }
    assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
    assert_eq!(stix_time(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        parse_rfc3339("2024-03-31T02:00:00.123+02:00"),
        Ok(1_711_843_200)
    );
    assert_eq!(
        parse_rfc3339("2024-03-30T19:00:00-05:00"),
        Ok(1_711_843_200)
    );
    for bad in [
        "",
        "2024-03-31",
        "2024-02-30T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-03-31T24:00:00Z",
        "2024-03-31T00:00:00",
        "2024-03-31T00:00:00.Z",
        "2024-03-31T00:00:00+2:00",
        "１９７０-01-01T00:00:00Z",
    ] {
        assert!(parse_rfc3339(bad).is_err(), "{bad:?} parsed");
    }
    check(
        parse_rfc3339("1969-12-31T23:59:59Z").expect_err("refused"),
        expect![[r#""1969-12-31T23:59:59Z" is before 1970"#]],
    );
}

#[test]
fn the_publisher_namespace_comes_from_the_web_site() {
    let mut a = author();
    for (site, want) in [
        ("https://www.cert.example/about", "https://www.cert.example"),
        ("http://CERT.example", "http://cert.example"),
        ("cert.example/en/", "https://cert.example"),
        ("", &format!("https://trustmesh.invalid/{}", a.team)),
        (
            "ftp://cert.example",
            &format!("https://trustmesh.invalid/{}", a.team),
        ),
        (
            "not a site",
            &format!("https://trustmesh.invalid/{}", a.team),
        ),
    ] {
        a.website = site.into();
        assert_eq!(a.namespace(), want, "{site:?}");
    }
}

#[test]
fn an_advisory_written_in_trustmesh_exports_as_complete_csaf() {
    let a = advisory();
    let form = Authored {
        advisory: a.clone(),
        vulnerabilities: vec![AuthoredVulnerability {
            cve: "CVE-2024-3094".into(),
            title: "Backdoor in liblzma".into(),
            cvss_v3: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".into(),
            cwe: "CWE-506".into(),
            cwe_name: "Embedded Malicious Code".into(),
            fixed: vec![Product {
                vendor: "Tukaani".into(),
                product: "xz".into(),
                versions: vec!["5.6.2".into()],
            }],
            remediation: "Downgrade to 5.4.6 or upgrade to 5.6.2.".into(),
            remediation_url: "https://tukaani.org/xz-backdoor/".into(),
        }],
    };
    let doc = AdvisoryDocument::from_authored(&form, author().team);
    for version in [CsafVersion::V2_0, CsafVersion::V2_1] {
        let csaf = csaf::export_document(&doc, &author(), version);
        let view = AdvisoryView::of(&csaf);
        assert_eq!(view.csaf_version, version.name());
        assert_eq!(view.category, "csaf_security_advisory");
        assert_eq!(view.publisher.name, "CERT Example");
        assert_eq!(view.publisher.namespace, "https://www.cert.example");
        assert_eq!(
            view.publisher.contact_details.as_deref(),
            Some("E-mail: cert@cert.example")
        );
        assert_eq!(view.tracking.id, "CERT-XY-2026-0042");
        assert_eq!(view.tracking.version, "2");
        assert_eq!(view.tracking.status, "interim");
        assert_eq!(view.severity.text.as_deref(), Some("critical"));
        let v = &view.vulnerabilities[0];
        assert_eq!(v.cve.as_deref(), Some("CVE-2024-3094"));
        assert_eq!(v.highest_score(), Some(10.0));
        assert_eq!(v.cwes[0].id, "CWE-506");
        let names = |g| {
            v.products(g)
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        check(
            names(StatusGroup::Affected),
            expect![
                "Tukaani xz 5.6.0; Tukaani xz 5.6.1; Tukaani liblzma all versions before 5.6.2; sshd with systemd patches"
            ],
        );
        check(names(StatusGroup::Fixed), expect!["Tukaani xz 5.6.2"]);
        assert_eq!(
            v.remediations[0].url.as_deref(),
            Some("https://tukaani.org/xz-backdoor/")
        );
        // AMBER+STRICT: AMBER with the TLP 2.0 label in words in 2.0, the
        // label and a sharing group in 2.1.
        match version {
            CsafVersion::V2_0 => {
                assert_eq!(view.tlp_label.as_deref(), Some("AMBER"));
                assert!(
                    view.distribution_text
                        .as_deref()
                        .is_some_and(|t| t.contains("TLP:AMBER+STRICT"))
                );
            }
            CsafVersion::V2_1 => assert_eq!(view.tlp_label.as_deref(), Some("AMBER+STRICT")),
        }
    }
    let text = csaf::export_document(&doc, &author(), CsafVersion::V2_0).to_json_pretty();
    check(
        text.lines().take(12).collect::<Vec<_>>().join("\n"),
        expect![[r#"
            {
              "document": {
                "acknowledgments": [
                  {
                    "summary": "Andres Freund"
                  }
                ],
                "aggregate_severity": {
                  "text": "critical"
                },
                "category": "csaf_security_advisory",
                "csaf_version": "2.0","#]],
    );
}

#[test]
fn the_api_bridge_exports_the_short_form_and_reads_csaf_back() {
    let a = advisory();
    let v = csaf::export(&a, &author(), 0);
    assert_eq!(v["document"]["csaf_version"], "2.0");
    assert_eq!(v["document"]["distribution"]["tlp"]["label"], "AMBER");
    let back = csaf::import(&v.to_string(), &team(1), None).expect("reads back");
    assert_eq!(back.title, a.title);
    assert_eq!(back.tlp, a.tlp);
    assert_eq!(back.severity, a.severity);
    assert_eq!(back.cves, a.cves);
    assert_eq!(back.category, a.category);
    assert_eq!(back.revisions, a.revisions);
    assert_eq!(back.summary, a.summary);
    assert_eq!(back.body, a.body);
    check(
        csaf::import(r#"{"document":{"csaf_version":"2.0"}}"#, &team(1), None)
            .expect_err("refused"),
        expect!["the document has no TLP label (document.distribution.tlp)"],
    );
}

#[test]
fn stix_tlp_markings_are_the_tlp_2_0_extension_objects() {
    check(
        Tlp::ALL
            .iter()
            .map(|t| stix::tlp_marking(*t).0)
            .collect::<Vec<_>>()
            .join("\n"),
        expect![[r#"
            marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487
            marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb
            marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421
            marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003
            marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"#]],
    );
    check(
        stix::tlp_marking(Tlp::AmberStrict).1,
        expect![[
            r#"{"created":"2022-10-01T00:00:00.000Z","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}},"id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003","name":"TLP:AMBER+STRICT","spec_version":"2.1","type":"marking-definition"}"#
        ]],
    );
}

#[test]
fn indicators_export_as_stix_patterns() {
    let a = advisory();
    let patterns: Vec<String> = a.indicators.iter().filter_map(stix::pattern).collect();
    check(
        patterns.join("\n"),
        expect![[r#"
            [ipv4-addr:value = '192.0.2.7']
            [url:value = 'https://bad.example/it\'s']
            [file:hashes.'SHA-256' = 'abababababababababababababababababababababababababababababababab']"#]],
    );
}

#[test]
fn a_stix_bundle_is_stable_and_marked() {
    let a = advisory();
    let one = stix::export(&a, "doc-1", &author(), 0);
    assert_eq!(
        one,
        stix::export(&a, "doc-1", &author(), 999),
        "same bundle again"
    );
    assert_ne!(one["id"], stix::export(&a, "doc-2", &author(), 0)["id"]);
    let objects = one["objects"].as_array().expect("objects");
    let types: Vec<&str> = objects.iter().filter_map(|o| o["type"].as_str()).collect();
    check(
        types.join(" "),
        expect!["identity marking-definition vulnerability indicator indicator indicator"],
    );
    let identity = &objects[0]["id"];
    let marking = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
    for o in objects.iter().filter(|o| o["type"] != "marking-definition") {
        assert_eq!(o["object_marking_refs"][0], marking);
    }
    for o in objects
        .iter()
        .filter(|o| o["type"] == "indicator" || o["type"] == "vulnerability")
    {
        assert_eq!(&o["created_by_ref"], identity);
        assert_eq!(o["created"], "2024-03-31T00:00:00.000Z");
        assert_eq!(o["modified"], "2024-04-01T00:00:00.000Z");
    }
    check(
        &objects[2],
        expect![[
            r#"{"created":"2024-03-31T00:00:00.000Z","created_by_ref":"identity--b379cf29-69e0-5de4-8f12-5b7a28246f60","description":"CVE-2024-3094 (advisory CERT-XY-2026-0042: Backdoor in xz)","external_references":[{"external_id":"CVE-2024-3094","source_name":"cve","url":"https://www.cve.org/CVERecord?id=CVE-2024-3094"}],"id":"vulnerability--4f64ac58-6abe-58ce-aabe-8b78d63b3e97","modified":"2024-04-01T00:00:00.000Z","name":"CVE-2024-3094","object_marking_refs":["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"],"spec_version":"2.1","type":"vulnerability"}"#
        ]],
    );
}

#[test]
fn an_imported_document_bundles_its_cves_and_the_importers_indicators() {
    let csaf = r#"{"document":{"category":"csaf_security_advisory","csaf_version":"2.1","title":"Vendor advisory",
        "publisher":{"category":"vendor","name":"Vendor","namespace":"https://vendor.example"},
        "distribution":{"tlp":{"label":"GREEN"}},
        "tracking":{"id":"VND-1","status":"final","version":"1","initial_release_date":"2025-01-01T00:00:00Z",
          "current_release_date":"2025-01-02T00:00:00Z",
          "revision_history":[{"date":"2025-01-01T00:00:00Z","number":"1","summary":"Initial"}]}},
        "vulnerabilities":[{"cve":"CVE-2025-0001","title":"Overflow"},{"cve":"CVE-2025-0002"},{"title":"no id"}]}"#;
    let tree = Json::parse(csaf.as_bytes()).expect("json");
    let mut doc = AdvisoryDocument::from_authored(&Authored::new(advisory()), team(1));
    doc.csaf = tree;
    doc.envelope.origin = trustmesh_protocol::Origin::Imported;
    doc.envelope.tlp = Tlp::Green;
    let b = stix::bundle(&doc, "doc-9", &author(), 0);
    let objects = b["objects"].as_array().expect("objects");
    let vulns: Vec<&str> = objects
        .iter()
        .filter(|o| o["type"] == "vulnerability")
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(vulns, ["CVE-2025-0001", "CVE-2025-0002"]);
    assert_eq!(objects[2]["created"], "2025-01-01T00:00:00.000Z");
    assert_eq!(objects[2]["modified"], "2025-01-02T00:00:00.000Z");
    assert_eq!(
        objects[1]["id"],
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    );
    // The publisher of an imported document is its own, not the author's.
    let exported = csaf::export_document(&doc, &author(), CsafVersion::V2_1);
    assert_eq!(
        exported
            .pointer("/document/publisher/name")
            .and_then(Json::as_str),
        Some("Vendor")
    );
}

#[test]
fn contacts_export_keeps_every_field() {
    let c = Contact {
        name: "CERT Example".into(),
        short_name: "CERT-XY".into(),
        country: "XY".into(),
        kind: TeamKind::National,
        constituency: "Everyone in XY".into(),
        postal_address: "1 Main St\nXY City".into(),
        time_zone: "UTC+1".into(),
        business_hours: "Mo-Fr 8-17".into(),
        email: "cert@cert.example".into(),
        phone: "+1 555 0100".into(),
        emergency_phone: "+1 555 0199".into(),
        website: "https://cert.example".into(),
        pgp_keys: vec![trustmesh_protocol::PgpKey {
            fingerprint: "A".repeat(40),
            armored: None,
        }],
        representatives: vec![trustmesh_protocol::Representative {
            name: "Ann".into(),
            role: "lead".into(),
            email: "ann@cert.example".into(),
            phone: String::new(),
        }],
    };
    let entries = vec![(team(1), true, c.clone())];
    let v = serde_json::to_value(super::contacts(&entries, 0)).expect("json");
    assert_eq!(v["format"], super::CONTACTS_FORMAT);
    assert_eq!(v["exported"], "1970-01-01T00:00:00Z");
    let entry = &v["contacts"][0];
    assert_eq!(entry["team"], team(1).to_string());
    assert_eq!(entry["member"], true);
    // Every field of the contact, and nothing lost: without the entry's
    // own fields it reads back equal.
    let mut fields = entry.as_object().cloned().expect("an object");
    fields.remove("team");
    fields.remove("member");
    let back: Contact = serde_json::from_value(fields.into()).expect("a contact");
    assert_eq!(back, c);
}
