use serde_json::Value;
use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryDocument, AdvisoryStatus, Authored, DocRef, Revision,
    Severity, TeamId, TeamKey, Tlp,
};

use super::{ProviderSettings, file_name, listing, tree};
use crate::export::Author;
use crate::export::openpgp::CsafKey;

fn team() -> TeamId {
    TeamKey::from_secret_bytes([7; 32]).id()
}

fn author() -> Author {
    Author {
        team: team(),
        name: "CERT Example".into(),
        website: "https://cert.example".into(),
        email: "cert@cert.example".into(),
    }
}

fn advisory(id: &str, tlp: Tlp, date: u64) -> super::Advisory {
    let a = Advisory {
        id: id.into(),
        title: format!("Advisory {id}"),
        category: AdvisoryCategory::Warning,
        tlp,
        audience: if tlp.is_restricted() {
            vec![team()]
        } else {
            vec![]
        },
        co_authors: vec![],
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        revisions: vec![Revision {
            number: "1".into(),
            date,
            summary: "Initial release".into(),
        }],
        cves: vec![],
        products: vec![],
        indicators: vec![],
        summary: "Patch.".into(),
        body: String::new(),
        references: vec![],
        acknowledgements: vec![],
    };
    let doc = DocRef::advisory(team(), id).expect("name").id();
    let d = AdvisoryDocument::from_authored(&Authored::new(a), team());
    (doc, d, (date + 60) * 1000, author())
}

fn settings() -> ProviderSettings {
    ProviderSettings {
        url: "https://cert.example".into(),
        tlp: vec![Tlp::Clear, Tlp::Green],
        category: "coordinator".into(),
        list_on_aggregators: true,
        mirror_on_aggregators: true,
    }
}

#[test]
fn file_names_follow_section_5_1() {
    assert_eq!(file_name("RHSA-2023:7831"), "rhsa-2023_7831.json");
    assert_eq!(
        file_name("Example Company - 2019-YH3234"),
        "example_company_-_2019-yh3234.json"
    );
    assert_eq!(file_name("a -- b/c"), "a_--_b_c.json");
    assert_eq!(
        file_name("cisco-sa-20180328-smi2"),
        "cisco-sa-20180328-smi2.json"
    );
    assert_eq!(file_name("a+b__c..d"), "a+b_c_d.json");
    assert_eq!(file_name("ÄÖ-1"), "_-1.json");
}

#[test]
fn the_tree_holds_the_published_labels_with_hashes_signatures_and_indexes() {
    let key = CsafKey::generate("CERT Example <cert@cert.example>", 1_700_000_000).expect("key");
    let list = vec![
        advisory("CERT-EX-2026-1", Tlp::Clear, 1_767_225_600),
        advisory("CERT-EX-2025:2", Tlp::Green, 1_735_689_600),
        advisory("CERT-EX-2026-3", Tlp::Amber, 1_767_312_000),
        advisory("CERT-EX-2026-4", Tlp::Red, 1_767_312_000),
    ];
    let t = tree(&settings(), &key, &author(), &list).expect("tree");
    let mut paths: Vec<&str> = t.documents.iter().map(|d| d.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "green/2025/cert-ex-2025_2.json",
            "white/2026/cert-ex-2026-1.json"
        ]
    );
    assert_eq!(t.documents.len(), 2);
    assert!(
        t.files
            .keys()
            .all(|p| !p.starts_with("amber") && !p.starts_with("red"))
    );
    assert!(!t.files.values().any(|f| f.contains("CERT-EX-2026-3")));
    for d in &t.documents {
        let text = &t.files[&d.path];
        let doc: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(doc["document"]["csaf_version"], "2.0");
        assert!(key.verify(text.as_bytes(), &t.files[&format!("{}.asc", d.path)]));
        let name = d.path.rsplit('/').next().expect("name");
        let sha = &t.files[&format!("{}.sha256", d.path)];
        assert!(sha.ends_with(&format!("  {name}\n")), "{sha}");
        assert_eq!(sha.len(), 64 + 2 + name.len() + 1);
    }
    assert_eq!(t.files["white/index.txt"], "2026/cert-ex-2026-1.json\n");
    assert!(
        t.files["green/changes.csv"]
            .starts_with("\"2025/cert-ex-2025_2.json\",\"2025-01-01T00:00:00"),
        "{}",
        t.files["green/changes.csv"]
    );
    let meta: Value = serde_json::from_str(&t.files["provider-metadata.json"]).expect("JSON");
    assert_eq!(
        meta["canonical_url"],
        "https://cert.example/.well-known/csaf/provider-metadata.json"
    );
    assert_eq!(meta["role"], "csaf_trusted_provider");
    assert_eq!(
        meta["public_openpgp_keys"][0]["fingerprint"],
        key.fingerprint()
    );
    let feeds = meta["distributions"]
        .as_array()
        .and_then(|d| d.iter().find_map(|d| d["rolie"]["feeds"].as_array()))
        .expect("feeds");
    let labels: Vec<&str> = feeds
        .iter()
        .filter_map(|f| f["tlp_label"].as_str())
        .collect();
    assert_eq!(labels, ["GREEN", "WHITE"]);
    let feed: Value =
        serde_json::from_str(&t.files["white/csaf-feed-tlp-white.json"]).expect("JSON");
    let links = &feed["feed"]["entry"][0]["link"];
    assert_eq!(
        links[0]["href"],
        "https://cert.example/.well-known/csaf/white/2026/cert-ex-2026-1.json"
    );
    assert_eq!(links[3]["rel"], "signature");
    // The same state gives the same bytes.
    let again = tree(&settings(), &key, &author(), &list).expect("tree");
    assert_eq!(again.files, t.files);
    assert_eq!(
        listing(t.files.keys(), ""),
        ["green/", "openpgp/", "provider-metadata.json", "white/"]
    );
    assert_eq!(
        listing(t.files.keys(), "white/2026"),
        [
            "cert-ex-2026-1.json",
            "cert-ex-2026-1.json.asc",
            "cert-ex-2026-1.json.sha256",
            "cert-ex-2026-1.json.sha512"
        ]
    );
}

#[test]
fn two_advisories_with_one_file_name_keep_the_first() {
    let key = CsafKey::generate("CERT Example", 1_700_000_000).expect("key");
    let list = vec![
        advisory("X-1", Tlp::Clear, 1_767_225_600),
        advisory("x-1", Tlp::Clear, 1_767_225_600),
    ];
    let t = tree(&settings(), &key, &author(), &list).expect("tree");
    assert_eq!(t.documents.len(), 1);
    assert_eq!(t.skipped.len(), 1, "{:?}", t.skipped);
}
