use expect_test::{Expect, expect};
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Contact, Indicator, IndicatorKind, Product,
    Reference, Revision, Severity, TeamId, TeamKey, TeamKind, Tlp,
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
fn an_advisory_exports_as_a_csaf_security_advisory() {
    let doc = csaf::export(&advisory(), &author(), 0);
    let text = serde_json::to_string_pretty(&doc).expect("serializes");
    check(
        text.replace(&team(1).to_string(), "<team 1>")
            .replace(&team(2).to_string(), "<team 2>"),
        expect![[r#"
            {
              "document": {
                "category": "csaf_security_advisory",
                "csaf_version": "2.0",
                "title": "Backdoor in xz",
                "publisher": {
                  "category": "coordinator",
                  "name": "CERT Example",
                  "namespace": "https://www.cert.example",
                  "contact_details": "E-mail: cert@cert.example"
                },
                "tracking": {
                  "id": "CERT-XY-2026-0042",
                  "status": "interim",
                  "version": "2",
                  "initial_release_date": "2024-03-31T00:00:00Z",
                  "current_release_date": "2024-04-01T00:00:00Z",
                  "generator": {
                    "date": "2024-04-01T00:00:00Z",
                    "engine": {
                      "name": "trustmesh",
                      "version": "0.0.0"
                    }
                  },
                  "revision_history": [
                    {
                      "date": "2024-03-31T00:00:00Z",
                      "number": "1",
                      "summary": "Initial release"
                    },
                    {
                      "date": "2024-04-01T00:00:00Z",
                      "number": "2",
                      "summary": "More versions"
                    }
                  ]
                },
                "distribution": {
                  "text": "TLP:AMBER+STRICT (TLP 2.0): the recipients' organisations only. CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:AMBER. Audience (trustmesh team ids): <team 2>, <team 1>.",
                  "tlp": {
                    "label": "AMBER",
                    "url": "https://www.first.org/tlp/"
                  }
                },
                "aggregate_severity": {
                  "text": "critical"
                },
                "notes": [
                  {
                    "category": "summary",
                    "text": "A backdoor in liblzma.",
                    "title": "Summary"
                  },
                  {
                    "category": "details",
                    "text": "Details.\nMore details.",
                    "title": "Details"
                  },
                  {
                    "category": "other",
                    "text": "vulnerability",
                    "title": "trustmesh category"
                  },
                  {
                    "category": "other",
                    "text": "ipv4: 192.0.2.7\nurl: https://bad.example/it's\nsha256: ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\nother: a mutex named xyz",
                    "title": "Indicators of compromise"
                  }
                ],
                "references": [
                  {
                    "category": "external",
                    "summary": "oss-security",
                    "url": "https://www.openwall.com/lists/oss-security/2024/03/29/4"
                  },
                  {
                    "category": "external",
                    "summary": "https://nvd.nist.gov/vuln/detail/CVE-2024-3094",
                    "url": "https://nvd.nist.gov/vuln/detail/CVE-2024-3094"
                  }
                ],
                "acknowledgments": [
                  {
                    "summary": "Andres Freund"
                  }
                ]
              },
              "product_tree": {
                "branches": [
                  {
                    "category": "vendor",
                    "name": "Tukaani",
                    "branches": [
                      {
                        "category": "product_name",
                        "name": "xz",
                        "branches": [
                          {
                            "category": "product_version",
                            "name": "5.6.0",
                            "product": {
                              "name": "Tukaani xz 5.6.0",
                              "product_id": "CSAFPID-0001"
                            }
                          },
                          {
                            "category": "product_version",
                            "name": "5.6.1",
                            "product": {
                              "name": "Tukaani xz 5.6.1",
                              "product_id": "CSAFPID-0002"
                            }
                          }
                        ]
                      },
                      {
                        "category": "product_name",
                        "name": "liblzma",
                        "branches": [
                          {
                            "category": "product_version_range",
                            "name": "all versions before 5.6.2",
                            "product": {
                              "name": "Tukaani liblzma all versions before 5.6.2",
                              "product_id": "CSAFPID-0003"
                            }
                          }
                        ]
                      }
                    ]
                  },
                  {
                    "category": "product_name",
                    "name": "sshd with systemd patches",
                    "product": {
                      "name": "sshd with systemd patches",
                      "product_id": "CSAFPID-0004"
                    }
                  }
                ]
              },
              "vulnerabilities": [
                {
                  "cve": "CVE-2024-3094",
                  "notes": [
                    {
                      "category": "description",
                      "text": "CVE-2024-3094, the subject of CERT-XY-2026-0042: Backdoor in xz",
                      "title": "Description"
                    }
                  ],
                  "product_status": {
                    "known_affected": [
                      "CSAFPID-0001",
                      "CSAFPID-0002",
                      "CSAFPID-0003",
                      "CSAFPID-0004"
                    ]
                  }
                }
              ]
            }"#]],
    );
}

#[test]
fn csaf_category_follows_products() {
    let mut a = advisory();
    a.products.clear();
    let doc = csaf::export(&a, &author(), 0);
    assert_eq!(doc.document.category, "csaf_base");
    assert!(doc.product_tree.is_none());
    assert_eq!(doc.vulnerabilities.len(), 1);
    assert_eq!(doc.vulnerabilities[0].product_status, None);

    let mut a = advisory();
    a.cves.clear();
    let doc = csaf::export(&a, &author(), 0);
    assert_eq!(doc.document.category, "csaf_security_advisory");
    // One vulnerability without a CVE carries the affected products.
    assert_eq!(doc.vulnerabilities.len(), 1);
    assert_eq!(doc.vulnerabilities[0].cve, None);
    let affected = &doc.vulnerabilities[0]
        .product_status
        .as_ref()
        .expect("status")
        .known_affected;
    assert_eq!(affected.len(), 4);
}

#[test]
fn tlp_labels_map_to_tlp_1() {
    for (tlp, label, text_says) in [
        (
            Tlp::Clear,
            "WHITE",
            "TLP:CLEAR (TLP 2.0). CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:WHITE.",
        ),
        (Tlp::Green, "GREEN", "TLP:GREEN (TLP 2.0)."),
        (Tlp::Amber, "AMBER", "TLP:AMBER (TLP 2.0)."),
        (
            Tlp::AmberStrict,
            "AMBER",
            "TLP:AMBER+STRICT (TLP 2.0): the recipients' organisations only. CSAF 2.0 has TLP 1.0 labels only, so it is given as TLP:AMBER.",
        ),
        (Tlp::Red, "RED", "TLP:RED (TLP 2.0)."),
    ] {
        let mut a = advisory();
        a.tlp = tlp;
        if !tlp.is_restricted() {
            a.audience.clear();
        }
        let doc = csaf::export(&a, &author(), 0);
        let d = doc.document.distribution.expect("distribution");
        assert_eq!(d.tlp.expect("tlp").label, label);
        assert!(
            d.text.as_deref().unwrap_or("").starts_with(text_says),
            "{tlp:?}"
        );
        assert_eq!(stix::tlp_marking(tlp).1, format!("TLP:{label}"));
    }
}

#[test]
fn odd_revision_numbers_are_renumbered() {
    let mut a = advisory();
    a.revisions = vec![
        Revision {
            number: "1.0.0".into(),
            date: 200,
            summary: String::new(),
        },
        Revision {
            number: "0.9".into(),
            date: 100,
            summary: "Draft".into(),
        },
    ];
    let t = csaf::export(&a, &author(), 0).document.tracking;
    let got: Vec<String> = t
        .revision_history
        .iter()
        .map(|r| format!("{} {} {}", r.number, r.date, r.summary))
        .collect();
    check(
        got.join("\n"),
        expect![[r#"
            1 1970-01-01T00:01:40Z (trustmesh revision 0.9) Draft
            2 1970-01-01T00:03:20Z (trustmesh revision 1.0.0) Revision 1.0.0"#]],
    );
    assert_eq!(t.version, "2");

    a.revisions.clear();
    let t = csaf::export(&a, &author(), 86_400).document.tracking;
    assert_eq!(t.revision_history.len(), 1);
    assert_eq!(t.initial_release_date, "1970-01-02T00:00:00Z");
}

#[test]
fn csaf_round_trips_through_import() {
    let owner = team(1);
    for tlp in Tlp::ALL {
        for status in AdvisoryStatus::ALL {
            let mut a = advisory();
            a.tlp = *tlp;
            a.status = *status;
            if !tlp.is_restricted() {
                a.audience.clear();
            }
            let json = serde_json::to_string(&csaf::export(&a, &author(), 0)).expect("json");
            let back = csaf::import(&json, &owner, None).expect("imports");
            assert_eq!(back, a, "{tlp:?} {status:?}");
        }
    }
    // With another id, and the owner added to a restricted audience.
    let a = advisory();
    let json = serde_json::to_string(&csaf::export(&a, &author(), 0)).expect("json");
    let back = csaf::import(&json, &team(3), Some("COPY-1")).expect("imports");
    assert_eq!(back.id, "COPY-1");
    assert_eq!(back.audience.len(), 3);
}

#[test]
fn foreign_csaf_imports_what_it_can() {
    let json = r#"{
      "document": {
        "category": "csaf_security_advisory",
        "csaf_version": "2.0",
        "title": "Example",
        "publisher": {"category": "vendor", "name": "Vendor", "namespace": "https://vendor.example"},
        "tracking": {
          "id": "VENDOR-2024-1", "status": "final", "version": "1.0.0",
          "initial_release_date": "2024-01-01T00:00:00.000Z",
          "current_release_date": "2024-01-02T00:00:00+01:00",
          "revision_history": [
            {"date": "2024-01-01T00:00:00.000Z", "number": "1.0.0", "summary": "First"}
          ]
        },
        "distribution": {"tlp": {"label": "AMBER"}},
        "aggregate_severity": {"text": "Important"},
        "notes": [{"category": "summary", "text": "Sum"}],
        "lang": "en"
      },
      "product_tree": {
        "branches": [{"category": "vendor", "name": "V", "branches": [
          {"category": "product_family", "name": "Fam", "branches": [
            {"category": "product_name", "name": "P", "branches": [
              {"category": "product_version", "name": "1", "product": {"name": "V P 1", "product_id": "A"}},
              {"category": "product_version", "name": "2", "product": {"name": "V P 2", "product_id": "B"}}
            ]}
          ]}
        ]}],
        "full_product_names": [{"name": "Other thing", "product_id": "C"}]
      },
      "vulnerabilities": [{"cve": "CVE-2024-0001"}, {"cve": "CVE-2024-0001"}, {"title": "no cve"}]
    }"#;
    let a = csaf::import(json, &team(1), None).expect("imports");
    assert_eq!(a.tlp, Tlp::Amber);
    assert_eq!(a.audience, vec![team(1)]);
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.category, AdvisoryCategory::Vulnerability);
    assert_eq!(a.cves, vec!["CVE-2024-0001".to_owned()]);
    assert_eq!(a.revisions[0].date, 1_704_067_200);
    assert_eq!(a.summary, "Sum");
    check(
        format!("{:?}", a.products),
        expect![[
            r#"[Product { vendor: "V", product: "Fam P", versions: ["1", "2"] }, Product { vendor: "", product: "Other thing", versions: [] }]"#
        ]],
    );
}

#[test]
fn unsupported_csaf_is_refused_clearly() {
    let owner = team(1);
    let base = serde_json::to_value(csaf::export(&advisory(), &author(), 0)).expect("json");
    let with = |path: &str, v: serde_json::Value| {
        let mut doc = base.clone();
        *doc.pointer_mut(path).expect("path exists") = v;
        csaf::import(&doc.to_string(), &owner, None)
            .expect_err("refused")
            .to_string()
    };
    check(
        csaf::import("not json", &owner, None).expect_err("refused"),
        expect!["not JSON: expected ident at line 1 column 2"],
    );
    check(
        csaf::import("{}", &owner, None).expect_err("refused"),
        expect![[r#"csaf_version "(missing)" is not supported (only 2.0)"#]],
    );
    check(
        with("/document/csaf_version", "2.1".into()),
        expect![[r#"csaf_version "2.1" is not supported (only 2.0)"#]],
    );
    check(
        with(
            "/document/tracking/revision_history/0/date",
            "yesterday".into(),
        ),
        expect![[
            r#"/document/tracking/revision_history/0/date: "yesterday" is not an RFC 3339 date-time such as 2026-01-31T12:00:00Z"#
        ]],
    );
    check(
        with("/document/distribution/tlp/label", "PURPLE".into()),
        expect![[r#"/document/distribution/tlp/label: unknown TLP label "PURPLE""#]],
    );
    check(
        with("/vulnerabilities/0/cve", "CVE-24-1".into()),
        expect![
            "the imported advisory is not valid: invalid cves[0]: must be a CVE id such as CVE-2024-3094"
        ],
    );
    check(
        with(
            "/product_tree/branches/0/branches/0/branches/0/product",
            serde_json::Value::Null,
        ),
        expect![
            "/product_tree/branches/0/branches/0/branches/0: a branch must have either sub-branches or a product"
        ],
    );
    check(
        with("/document/title", "".into()),
        expect!["the imported advisory is not valid: invalid title: must not be empty"],
    );
}

#[test]
fn indicators_export_as_stix_patterns() {
    let a = advisory();
    let got: Vec<String> = a
        .indicators
        .iter()
        .map(|i| format!("{:?}", stix::pattern(i)))
        .collect();
    check(
        got.join("\n"),
        expect![[r#"
        Some("[ipv4-addr:value = '192.0.2.7']")
        Some("[url:value = 'https://bad.example/it\\'s']")
        Some("[file:hashes.'SHA-256' = 'abababababababababababababababababababababababababababababababab']")
        None"#]],
    );
    let more = [
        (IndicatorKind::Ipv6, "2001:db8::/32"),
        (IndicatorKind::Domain, "bad.example"),
        (IndicatorKind::Sha1, "a".repeat(40).as_str()),
        (IndicatorKind::Md5, "B".repeat(32).as_str()),
        (IndicatorKind::Email, "x@bad.example"),
    ]
    .map(|(kind, value)| {
        stix::pattern(&Indicator {
            kind,
            value: value.into(),
        })
        .unwrap_or_default()
    });
    check(
        more.join("\n"),
        expect![[r#"
        [ipv6-addr:value = '2001:db8::/32']
        [domain-name:value = 'bad.example']
        [file:hashes.'SHA-1' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']
        [file:hashes.MD5 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb']
        [email-addr:value = 'x@bad.example']"#]],
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
        expect!["identity marking-definition indicator indicator indicator"],
    );
    let identity = &objects[0]["id"];
    for o in objects.iter().filter(|o| o["type"] == "indicator") {
        assert_eq!(&o["created_by_ref"], identity);
        assert_eq!(
            o["object_marking_refs"][0],
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
        );
        assert_eq!(o["created"], "2024-03-31T00:00:00.000Z");
        assert_eq!(o["modified"], "2024-04-01T00:00:00.000Z");
    }
    check(
        &objects[2],
        expect![[
            r#"{"created":"2024-03-31T00:00:00.000Z","created_by_ref":"identity--b379cf29-69e0-5de4-8f12-5b7a28246f60","description":"From advisory CERT-XY-2026-0042: Backdoor in xz (CVE-2024-3094)","external_references":[{"source_name":"trustmesh advisory reference","url":"https://www.openwall.com/lists/oss-security/2024/03/29/4"},{"source_name":"trustmesh advisory reference","url":"https://nvd.nist.gov/vuln/detail/CVE-2024-3094"}],"id":"indicator--858c9069-e663-59f4-80b9-94acc1345d17","indicator_types":["malicious-activity"],"labels":["vulnerability"],"modified":"2024-04-01T00:00:00.000Z","name":"ipv4 192.0.2.7","object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],"pattern":"[ipv4-addr:value = '192.0.2.7']","pattern_type":"stix","pattern_version":"2.1","spec_version":"2.1","type":"indicator","valid_from":"2024-03-31T00:00:00.000Z"}"#
        ]],
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
