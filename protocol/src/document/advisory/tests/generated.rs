//! Generated CSAF 2.0 and 2.1 documents, shaped after the shared schemas'
//! structure (required and optional properties, product trees with
//! branches, relationships and groups, vulnerabilities with scores or
//! metrics, product statuses, remediations, threats and flags), with
//! properties no schema defines, text in any script and numbers of every
//! kind. Each round-trips through import, replication to another replica,
//! and export, equal as a tree but for what [`EXPORT_SETS`] lists.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::json::any_json;
use super::*;

fn s(v: &str) -> Json {
    Json::from(v)
}

fn obj(members: Vec<(&str, Json)>) -> Json {
    Json::object(members)
}

/// Text in several scripts, with the characters JSON must escape.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9 .,:;()-]{1,40}",
        "[äöüßéèçñøåÆ ]{1,12}",
        "[日本語中文한국어русскийΕλληνικά ]{1,12}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        Just("line one\nline two\t\"quoted\" \\ back".to_owned()),
    ]
    .boxed()
}

fn date() -> BoxedStrategy<String> {
    (2000u32..2030, 1u32..13, 1u32..29, 0u32..24)
        .prop_map(|(y, m, d, h)| format!("{y:04}-{m:02}-{d:02}T{h:02}:00:00.000Z"))
        .boxed()
}

fn version() -> BoxedStrategy<String> {
    prop_oneof![
        (1u64..50).prop_map(|n| n.to_string()),
        (0u64..5, 0u64..20, 0u64..20).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (1u64..5, 0u64..3).prop_map(|(a, b)| format!("{a}.{b}.0-rc.{b}+build.{a}")),
    ]
    .boxed()
}

/// Up to two properties no schema defines, with any value.
fn extras() -> BoxedStrategy<Vec<(String, Json)>> {
    prop::collection::vec(("x_[a-z]{1,8}", any_json()), 0..2).boxed()
}

fn with_extras(mut base: Json, extras: Vec<(String, Json)>) -> Json {
    if let Some(m) = base.as_object_mut() {
        for (k, v) in extras {
            m.insert(k, v);
        }
    }
    base
}

fn opt(members: &mut Vec<(&'static str, Json)>, key: &'static str, v: Option<Json>) {
    if let Some(v) = v {
        members.push((key, v));
    }
}

fn note() -> BoxedStrategy<Json> {
    (
        prop::sample::select(vec![
            "description",
            "details",
            "general",
            "summary",
            "other",
        ]),
        text(),
        prop::option::of(text()),
    )
        .prop_map(|(c, t, title)| {
            let mut m = vec![("category", s(c)), ("text", Json::from(t))];
            opt(&mut m, "title", title.map(Json::from));
            obj(m)
        })
        .boxed()
}

fn reference() -> BoxedStrategy<Json> {
    (
        "[a-z]{1,10}",
        text(),
        prop::option::of(prop::sample::select(vec!["external", "self"])),
    )
        .prop_map(|(host, summary, c)| {
            let mut m = vec![
                ("url", Json::from(format!("https://{host}.example/a"))),
                ("summary", Json::from(summary)),
            ];
            opt(&mut m, "category", c.map(s));
            obj(m)
        })
        .boxed()
}

fn product(id: String, v21: bool) -> BoxedStrategy<Json> {
    (text(), any::<bool>(), any::<bool>())
        .prop_map(move |(name, cpe, purl)| {
            let mut m = vec![
                ("name", Json::from(name)),
                ("product_id", Json::from(id.clone())),
            ];
            let mut helper = Vec::new();
            if cpe {
                helper.push(("cpe", s("cpe:2.3:a:vendor:product:1.0:*:*:*:*:*:*:*")));
            }
            if purl {
                let p = s("pkg:generic/vendor/product@1.0");
                if v21 {
                    helper.push(("purls", Json::Array(vec![p])));
                } else {
                    helper.push(("purl", p));
                }
            }
            if !helper.is_empty() {
                m.push(("product_identification_helper", obj(helper)));
            }
            obj(m)
        })
        .boxed()
}

/// A product tree of `n` leaves (ids CSAFPID-0..n), two more products by
/// relationship, and maybe a group.
fn product_tree(n: usize, v21: bool) -> BoxedStrategy<Json> {
    let leaves: Vec<BoxedStrategy<Json>> = (0..n)
        .map(|i| product(format!("CSAFPID-{i}"), v21))
        .collect();
    (leaves, text(), text(), any::<bool>(), any::<bool>())
        .prop_map(move |(leaves, vendor, family, rel, group)| {
            // vendor -> product_name -> product_version, two leaves per name.
            let names: Vec<Json> = leaves
                .chunks(2)
                .enumerate()
                .map(|(k, chunk)| {
                    let versions = chunk
                        .iter()
                        .enumerate()
                        .map(|(j, p)| {
                            obj(vec![
                                ("category", s("product_version")),
                                ("name", Json::from(format!("{k}.{j}"))),
                                ("product", p.clone()),
                            ])
                        })
                        .collect();
                    obj(vec![
                        ("category", s("product_name")),
                        ("name", Json::from(format!("{family} {k}"))),
                        ("branches", Json::Array(versions)),
                    ])
                })
                .collect();
            let mut m = vec![(
                "branches",
                Json::Array(vec![obj(vec![
                    ("category", s("vendor")),
                    ("name", Json::from(vendor)),
                    ("branches", Json::Array(names)),
                ])]),
            )];
            if rel && n >= 2 {
                m.push((
                    "relationships",
                    Json::Array(vec![obj(vec![
                        ("category", s("default_component_of")),
                        ("product_reference", s("CSAFPID-0")),
                        ("relates_to_product_reference", s("CSAFPID-1")),
                        (
                            "full_product_name",
                            obj(vec![
                                ("name", s("component on platform")),
                                ("product_id", s("CSAFPID-REL")),
                            ]),
                        ),
                    ])]),
                ));
            }
            if group {
                m.push((
                    "product_groups",
                    Json::Array(vec![obj(vec![
                        ("group_id", s("CSAFGID-0")),
                        (
                            "product_ids",
                            Json::Array(
                                (0..n).map(|i| Json::from(format!("CSAFPID-{i}"))).collect(),
                            ),
                        ),
                    ])]),
                ));
            }
            obj(m)
        })
        .boxed()
}

const VECTORS: [(&str, &str, f64, &str); 3] = [
    (
        "3.1",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        9.8,
        "CRITICAL",
    ),
    (
        "3.1",
        "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
        6.5,
        "MEDIUM",
    ),
    (
        "3.0",
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
        6.1,
        "MEDIUM",
    ),
];

fn vulnerability(n: usize, v21: bool) -> BoxedStrategy<Json> {
    let ids = move |pick: Vec<bool>| -> Vec<Json> {
        pick.iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| Json::from(format!("CSAFPID-{i}")))
            .collect()
    };
    (
        (
            prop::option::of(
                (1999u32..2030, 1000u32..99999).prop_map(|(y, n)| format!("CVE-{y}-{n}")),
            ),
            prop::option::of(text()),
            prop::option::of((1u32..1400, text())),
            prop::option::of(0usize..VECTORS.len()),
            prop::collection::vec(0u8..4, n),
        ),
        (
            prop::collection::vec(note(), 0..2),
            prop::option::of((
                prop::sample::select(vec![
                    "vendor_fix",
                    "workaround",
                    "mitigation",
                    "none_available",
                ]),
                text(),
                any::<bool>(),
            )),
            prop::option::of((
                prop::sample::select(vec!["exploit_status", "impact", "target_set"]),
                text(),
            )),
            any::<bool>(),
            prop::option::of(date()),
            extras(),
        ),
    )
        .prop_map(
            move |(
                (cve, title, cwe, score, statuses),
                (notes, remediation, threat, flag, released, extra),
            )| {
                let mut m: Vec<(&str, Json)> = Vec::new();
                opt(&mut m, "cve", cve.map(Json::from));
                opt(&mut m, "title", title.map(Json::from));
                if let Some((id, name)) = cwe {
                    let mut c = vec![
                        ("id", Json::from(format!("CWE-{id}"))),
                        ("name", Json::from(name)),
                    ];
                    if v21 {
                        c.push(("version", s("4.13")));
                        m.push(("cwes", Json::Array(vec![obj(c)])));
                    } else {
                        m.push(("cwe", obj(c)));
                    }
                }
                // 0 known_affected, 1 fixed, 2 known_not_affected, 3 under_investigation.
                let mut status = Vec::new();
                for (k, key) in [
                    "known_affected",
                    "fixed",
                    "known_not_affected",
                    "under_investigation",
                ]
                .into_iter()
                .enumerate()
                {
                    let list = ids(statuses.iter().map(|x| usize::from(*x) == k).collect());
                    if !list.is_empty() {
                        status.push((key, Json::Array(list)));
                    }
                }
                let affected = ids(statuses.iter().map(|x| *x == 0).collect());
                if !status.is_empty() {
                    m.push(("product_status", obj(status)));
                }
                if let (Some(i), false) = (score, affected.is_empty()) {
                    let (version, vector, base, severity) = VECTORS[i];
                    let cvss = obj(vec![
                        ("version", s(version)),
                        ("vectorString", s(vector)),
                        (
                            "baseScore",
                            Json::Number(Number::from_f64(base).expect("finite")),
                        ),
                        ("baseSeverity", s(severity)),
                    ]);
                    if v21 {
                        m.push((
                            "metrics",
                            Json::Array(vec![obj(vec![
                                ("products", Json::Array(affected.clone())),
                                ("content", obj(vec![("cvss_v3", cvss)])),
                            ])]),
                        ));
                    } else {
                        m.push((
                            "scores",
                            Json::Array(vec![obj(vec![
                                ("products", Json::Array(affected.clone())),
                                ("cvss_v3", cvss),
                            ])]),
                        ));
                    }
                }
                if !notes.is_empty() {
                    m.push(("notes", Json::Array(notes)));
                }
                if let (Some((category, details, url)), false) = (remediation, affected.is_empty())
                {
                    let mut r = vec![
                        ("category", s(category)),
                        ("details", Json::from(details)),
                        ("product_ids", Json::Array(affected.clone())),
                    ];
                    if url {
                        r.push(("url", s("https://vendor.example/fix")));
                    }
                    m.push(("remediations", Json::Array(vec![obj(r)])));
                }
                if let Some((category, details)) = threat {
                    m.push((
                        "threats",
                        Json::Array(vec![obj(vec![
                            ("category", s(category)),
                            ("details", Json::from(details)),
                        ])]),
                    ));
                }
                if flag && !affected.is_empty() {
                    m.push((
                        "flags",
                        Json::Array(vec![obj(vec![
                            ("label", s("vulnerable_code_not_present")),
                            ("product_ids", Json::Array(affected)),
                        ])]),
                    ));
                }
                opt(
                    &mut m,
                    if v21 {
                        "disclosure_date"
                    } else {
                        "release_date"
                    },
                    released.map(Json::from),
                );
                with_extras(obj(m), extra)
            },
        )
        .boxed()
}

fn tlp_label(v21: bool) -> BoxedStrategy<&'static str> {
    if v21 {
        prop::sample::select(vec!["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]).boxed()
    } else {
        prop::sample::select(vec!["WHITE", "GREEN", "AMBER", "RED"]).boxed()
    }
}

/// A CSAF document of either version.
fn csaf() -> BoxedStrategy<Json> {
    (any::<bool>(), 0usize..6)
        .prop_flat_map(|(v21, n)| {
            let document = (
                (
                    prop::sample::select(vec![
                        "csaf_base",
                        "csaf_security_advisory",
                        "csaf_vex",
                        "CERT Warnmeldung",
                    ]),
                    text(),
                    prop::option::of(prop::sample::select(vec!["en", "de-DE", "ja", "fr-CA"])),
                    (
                        prop::sample::select(vec!["vendor", "coordinator", "discoverer", "other"]),
                        text(),
                        "[a-z]{1,12}",
                    ),
                    (
                        "[A-Z]{2,6}-[0-9]{4}-[0-9]{1,5}",
                        prop::sample::select(vec!["draft", "interim", "final"]),
                        version(),
                    ),
                    prop::collection::vec((date(), version(), text()), 1..4),
                ),
                (
                    tlp_label(v21),
                    prop::option::of(text()),
                    prop::option::of(prop::sample::select(vec![
                        "hoch",
                        "mittel",
                        "Important",
                        "Critical",
                        "low",
                        "élevé",
                        "高",
                        "Stufe 3",
                    ])),
                    prop::collection::vec(note(), 0..3),
                    prop::collection::vec(reference(), 0..3),
                    prop::option::of(prop::collection::vec(text(), 1..3)),
                    extras(),
                ),
            )
                .prop_map(move |(a, b)| {
                    let (category, title, lang, (pcat, pname, host), (id, status, tv), history) = a;
                    let (label, dist_text, severity, notes, references, names, extra) = b;
                    let mut d = vec![
                        ("category", s(category)),
                        ("csaf_version", s(if v21 { "2.1" } else { "2.0" })),
                        ("title", Json::from(title)),
                        (
                            "publisher",
                            obj(vec![
                                ("category", s(pcat)),
                                ("name", Json::from(pname)),
                                ("namespace", Json::from(format!("https://{host}.example"))),
                            ]),
                        ),
                        (
                            "tracking",
                            obj(vec![
                                ("id", Json::from(id)),
                                ("status", s(status)),
                                ("version", Json::from(tv)),
                                ("initial_release_date", Json::from(history[0].0.clone())),
                                (
                                    "current_release_date",
                                    Json::from(history[history.len() - 1].0.clone()),
                                ),
                                (
                                    "revision_history",
                                    Json::Array(
                                        history
                                            .into_iter()
                                            .map(|(date, number, summary)| {
                                                obj(vec![
                                                    ("date", Json::from(date)),
                                                    ("number", Json::from(number)),
                                                    ("summary", Json::from(summary)),
                                                ])
                                            })
                                            .collect(),
                                    ),
                                ),
                            ]),
                        ),
                    ];
                    let mut dist = vec![(
                        "tlp",
                        obj(vec![
                            ("label", s(label)),
                            ("url", s("https://www.first.org/tlp/")),
                        ]),
                    )];
                    opt(&mut dist, "text", dist_text.map(Json::from));
                    d.push(("distribution", obj(dist)));
                    opt(&mut d, "lang", lang.map(s));
                    opt(
                        &mut d,
                        "aggregate_severity",
                        severity.map(|t| obj(vec![("text", s(t))])),
                    );
                    if !notes.is_empty() {
                        d.push(("notes", Json::Array(notes)));
                    }
                    if !references.is_empty() {
                        d.push(("references", Json::Array(references)));
                    }
                    opt(
                        &mut d,
                        "acknowledgments",
                        names.map(|names| {
                            Json::Array(vec![obj(vec![(
                                "names",
                                Json::Array(names.into_iter().map(Json::from).collect()),
                            )])])
                        }),
                    );
                    with_extras(obj(d), extra)
                });
            (
                document,
                prop::option::of(product_tree(n.max(1), v21)),
                prop::collection::vec(vulnerability(n, v21), 0..4),
                extras(),
            )
                .prop_map(move |(document, tree, vulns, extra)| {
                    let mut root = vec![("document", document)];
                    if v21 {
                        root.push(("$schema", s(CSAF_21_SCHEMA)));
                    }
                    opt(&mut root, "product_tree", tree);
                    if !vulns.is_empty() {
                        root.push(("vulnerabilities", Json::Array(vulns)));
                    }
                    with_extras(obj(root), extra)
                })
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_documents_round_trip_through_import_replication_and_export(
        csaf in csaf(),
        audience in prop::collection::btree_set(2u8..4, 0..2),
    ) {
        let set = net();
        let m = set.membership();
        let mut docs = replica(&set);
        let text = csaf.to_json_pretty();
        let version = CsafVersion::from_name(
            csaf.pointer("/document/csaf_version").and_then(Json::as_str).unwrap_or_default(),
        ).expect("generated as 2.0 or 2.1");
        let mut import = CsafImport::new(text.as_bytes(), random(9));
        let label = csaf.pointer("/document/distribution/tlp/label").and_then(Json::as_str);
        if label.and_then(|l| tlp_of_label(l, None)).is_some_and(Tlp::is_restricted) {
            import.audience = Some(audience.iter().map(|n| key(*n).id()).collect());
        }
        import.forwarded = true;
        let imported = docs
            .import_csaf(&owner(), suffix(1), 1_700_000_000, &import)
            .expect("a generated document imports");
        let doc = imported.doc.id();

        let mut other = replica(&set);
        sync(&docs, &mut other, &m);
        let there = held(&other, &doc);
        prop_assert_eq!(&there, &held(&docs, &doc));
        prop_assert_eq!(&there.csaf, &csaf);
        prop_assert_eq!(other.advisory_original(&doc), Ok(Some(text.clone().into_bytes())));

        let exported = there.export_csaf(version, None);
        let diffs = differences(
            &serde(text.as_bytes()),
            &serde(exported.to_json().as_bytes()),
        );
        for d in &diffs {
            prop_assert!(allowed(d), "difference outside EXPORT_SETS: {}", d);
        }
        // Outside the distribution the export is the document itself.
        let strip = |mut j: Json| {
            if let Some(Json::Object(d)) = j.as_object_mut().and_then(|r| r.get_mut("document")) {
                d.remove("distribution");
            }
            j
        };
        prop_assert_eq!(strip(exported), strip(csaf));
    }
}

/// The corpus documents, read once.
fn corpus_texts() -> Vec<Vec<u8>> {
    corpus_files()
        .unwrap_or_default()
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .filter(|b| b.len() < 50_000)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Hostile input: corpus documents with bytes flipped, cut or
    /// inserted, and arbitrary JSON where CSAF parts should be. Import
    /// either succeeds or says why; nothing panics, and what imports reads
    /// back, views and exports.
    #[test]
    fn damaged_documents_import_or_fail_cleanly(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
        junk in any_json(),
        place in prop::sample::select(vec!["document", "product_tree", "vulnerabilities", "tracking", "distribution"]),
    ) {
        let texts = corpus_texts();
        let set = net();
        let mut docs = replica(&set);
        let mut inputs = Vec::new();
        if !texts.is_empty() {
            let mut bytes = texts[pick.index(texts.len())].clone();
            for (at, b, kind) in &edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = *b,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, *b),
                }
            }
            inputs.push(bytes);
        }
        let mut tree = Json::parse(minimal_csaf().as_bytes()).expect("json");
        match place {
            "tracking" | "distribution" => {
                if let Some(Json::Object(d)) = tree.as_object_mut().and_then(|r| r.get_mut("document")) {
                    d.insert(place.to_owned(), junk.clone());
                }
            }
            _ => {
                tree.as_object_mut().expect("object").insert(place.to_owned(), junk.clone());
            }
        }
        inputs.push(tree.to_json().into_bytes());
        for bytes in inputs {
            if let Ok(i) = import_into(&mut docs, &bytes, Some(Tlp::Red)) {
                let d = held(&docs, &i.doc.id());
                let _ = d.view();
                for v in [CsafVersion::V2_0, CsafVersion::V2_1] {
                    let _ = d.export_csaf(v, None).to_json();
                }
            }
        }
    }
}

fn minimal_csaf() -> String {
    r#"{"document":{"category":"csaf_base","csaf_version":"2.0","title":"T",
        "publisher":{"category":"vendor","name":"V","namespace":"https://v.example"},
        "tracking":{"id":"V-1","status":"final","version":"1"}}}"#
        .to_owned()
}
