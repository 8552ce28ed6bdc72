use expect_test::{Expect, expect};
use serde_json::json;
use trustmesh_protocol::{AdvisoryFacts, DocId, TeamKey};

use super::*;

fn candidate(title: &str, severity: Option<&str>) -> Candidate {
    let owner = TeamKey::from_secret_bytes([7; 32]).id();
    let doc = DocId::from_bytes([1; 32]);
    let advisory: crate::api::AdvisorySummary = serde_json::from_value(json!({
        "doc": doc,
        "owner": owner,
        "owner_name": "CERT-XX",
        "id": "XX-2026/1",
        "title": title,
        "category": "alert",
        "tlp": "amber",
        "severity": severity,
        "severity_text": null,
        "status": "final",
        "cves": ["CVE-2026-0001"],
        "revision": "2",
        "updated": 1_700_000_000u64,
        "imported": false,
        "publisher": "CERT-XX",
        "csaf_version": "2.0",
        "complete": true
    }))
    .expect("a summary");
    let facts = AdvisoryFacts {
        id: advisory.id.clone(),
        title: advisory.title.clone(),
        category: advisory.category.clone(),
        severity: advisory.severity,
        tlp: advisory.tlp,
        status: advisory.status,
        cves: advisory.cves.clone(),
        tracking_id: advisory.id.clone(),
        notes: vec![],
    };
    Candidate {
        doc,
        version: "00ff".into(),
        stated: 0,
        owner,
        owner_name: Some("CERT-XX".into()),
        advisory,
        facts,
    }
}

fn text_of(format: Format, c: &Candidate, web: Option<&str>) -> String {
    let body: Value = serde_json::from_slice(&render(format, "page", c, web)).expect("JSON");
    body["text"].as_str().expect("a text").to_owned()
}

fn check(actual: String, expect: Expect) {
    expect.assert_eq(&actual);
}

#[test]
fn chat_formats_say_severity_tlp_title_owner_and_link() {
    let c = candidate("Exploited <script> & *bold* in [x](y)", Some("critical"));
    let web = Some("https://tm.example.org/");
    check(
        text_of(Format::Slack, &c, web),
        expect![
            "*[CRITICAL] TLP:AMBER* <https://tm.example.org/advisories/ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c/XX-2026%2F1|XX-2026/1>: Exploited &lt;script&gt; &amp; *bold* in [x](y) (from CERT-XX)"
        ],
    );
    check(
        text_of(Format::Mattermost, &c, web),
        expect![[
            r#"**\[CRITICAL\] TLP:AMBER** [XX-2026/1](https://tm.example.org/advisories/ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c/XX-2026%2F1): Exploited \<script\> & \*bold\* in \[x\](y) (from CERT-XX)"#
        ]],
    );
    // Without web_url there is no link, and no severity says so.
    let c = candidate("Plain", None);
    check(
        text_of(Format::Slack, &c, None),
        expect![[r#"*[NO SEVERITY] TLP:AMBER* XX-2026/1: Plain (from CERT-XX)"#]],
    );
}

#[test]
fn raw_is_the_alert_json_and_teams_an_adaptive_card() {
    let c = candidate("Title", Some("high"));
    let raw: Value = serde_json::from_slice(&render(Format::Raw, "page", &c, None)).expect("JSON");
    assert_eq!(raw, c.payload("page"));

    let teams: Value = serde_json::from_slice(&render(
        Format::Teams,
        "page",
        &c,
        Some("https://tm.example.org"),
    ))
    .expect("JSON");
    assert_eq!(teams["type"], "message");
    let att = &teams["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["text"], "[HIGH] TLP:AMBER XX-2026/1");
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(card["body"][1]["text"], "Title");
    let facts: Vec<String> = card["body"][2]["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .map(|f| {
            format!(
                "{}={}",
                f["title"].as_str().unwrap_or(""),
                f["value"].as_str().unwrap_or("")
            )
        })
        .collect();
    check(
        facts.join("\n"),
        expect![[r#"
            Severity=HIGH
            TLP=TLP:AMBER
            Team=CERT-XX
            Category=alert
            CVE=CVE-2026-0001
            Revision=2
            Rule=page"#]],
    );
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert!(card["actions"][0]["url"].as_str().is_some_and(|u| {
        u.starts_with("https://tm.example.org/advisories/") && u.ends_with("/XX-2026%2F1")
    }));
}

#[test]
fn the_signature_is_hmac_sha256_of_the_exact_body() {
    // RFC 4231 test case 2.
    assert_eq!(
        signature(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    let c = candidate("Title", Some("low"));
    let body = render(Format::Slack, "page", &c, None);
    let mut other = body.clone();
    other.push(b' ');
    assert_ne!(
        signature(b"0123456789abcdef", &body),
        signature(b"0123456789abcdef", &other)
    );
    assert_eq!(delivery_id(&c), format!("{}.00ff", c.doc));
}

#[test]
fn mail_names_the_tlp_in_subject_and_body() {
    let c = candidate("Title", Some("medium"));
    assert_eq!(
        summary(&c),
        "[MEDIUM] TLP:AMBER XX-2026/1: Title (from CERT-XX)"
    );
    let body = mail_body("page", &c, Some("https://tm.example.org"));
    assert!(
        body.starts_with("[MEDIUM] TLP:AMBER XX-2026/1: Title (from CERT-XX)\n\n"),
        "{body}"
    );
    assert!(body.contains("\nTLP: TLP:AMBER\n"), "{body}");
    assert!(
        body.contains("\nLink: https://tm.example.org/advisories/"),
        "{body}"
    );
    assert!(body.contains("\"rule\": \"page\""), "{body}");
}
