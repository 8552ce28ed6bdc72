use expect_test::{Expect, expect};

use super::*;
use crate::config::AlertSection;

fn rule(toml_text: &str) -> Rule {
    let s: AlertSection = toml::from_str(toml_text).expect("rule parses");
    s.validate().expect("rule is valid")
}

fn advisory(category: &str, severity: &str, tlp: &str) -> AdvisoryFacts {
    AdvisoryFacts {
        id: "XX-2026-1".into(),
        title: "test".into(),
        category: category.into(),
        severity: Some(severity.parse().expect("a severity")),
        tlp: tlp.parse().expect("a label"),
        status: trustmesh_protocol::AdvisoryStatus::Final,
        cves: vec![],
        tracking_id: "XX-2026-1".into(),
        notes: vec![],
    }
}

fn team(seed: u8) -> TeamId {
    trustmesh_protocol::TeamKey::from_secret_bytes([seed; 32]).id()
}

fn owner() -> TeamId {
    team(7)
}

/// Runs `rule` over a grid of advisories and lists what matched.
fn check(rule_toml: &str, expect: Expect) {
    let r = rule(rule_toml);
    let mut out = String::new();
    for (cat, sev, tlp, name) in [
        ("alert", "critical", "clear", "CERT-XX"),
        ("alert", "low", "clear", "CERT-XX"),
        ("vulnerability", "high", "amber", "CERT-XX"),
        ("warning", "medium", "green", "CERT-YY"),
        ("other", "none", "red", "CERT-YY"),
    ] {
        let hit = r.matches(&owner(), Some(name), &advisory(cat, sev, tlp));
        out.push_str(&format!("{cat} {sev} {tlp} {name}: {hit}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn matcher_checks_every_given_criterion() {
    check(
        "name = \"all\"\ncommand = [\"true\"]",
        expect![[r#"
            alert critical clear CERT-XX: true
            alert low clear CERT-XX: true
            vulnerability high amber CERT-XX: true
            warning medium green CERT-YY: true
            other none red CERT-YY: true
        "#]],
    );
    check(
        "name = \"sev\"\nmin_severity = \"High\"\ncommand = [\"true\"]",
        expect![[r#"
            alert critical clear CERT-XX: true
            alert low clear CERT-XX: false
            vulnerability high amber CERT-XX: true
            warning medium green CERT-YY: false
            other none red CERT-YY: false
        "#]],
    );
    check(
        "name = \"mix\"\ncategories = [\"alert\", \"warning\"]\ntlp = [\"TLP:CLEAR\", \"green\"]\nteams = [\"cert-yy\"]\nwebhook = \"http://127.0.0.1:9/x\"",
        expect![[r#"
            alert critical clear CERT-XX: false
            alert low clear CERT-XX: false
            vulnerability high amber CERT-XX: false
            warning medium green CERT-YY: true
            other none red CERT-YY: false
        "#]],
    );
    let by_id = format!(
        "name = \"id\"\nteams = [\"{}\"]\ncommand = [\"true\"]",
        owner()
    );
    let r = rule(&by_id);
    assert!(r.matches(&owner(), None, &advisory("alert", "low", "clear")));
    assert!(!r.matches(
        &team(8),
        Some("CERT-XX"),
        &advisory("alert", "low", "clear")
    ));
}

#[test]
fn bad_rules_are_clear_errors() {
    let err = |t: &str| {
        match toml::from_str::<AlertSection>(t) {
            Ok(s) => s.validate().map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
        .expect_err("refused")
    };
    assert!(
        err("name = \"x\"\ncommand = [\"a\"]\nwebhook = \"http://h/\"")
            .contains("both command and webhook")
    );
    assert!(err("name = \"x\"").contains("needs a command or a webhook"));
    assert!(
        err("name = \"x\"\nmin_severity = \"urgent\"\ncommand = [\"a\"]")
            .contains("unknown severity \"urgent\"")
    );
    assert!(
        err("name = \"x\"\ncategories = [\"spam\"]\ncommand = [\"a\"]")
            .contains("unknown category")
    );
    assert!(err("name = \"x\"\ncommand = []").contains("must name a program"));
    assert!(err("name = \"x\"\nwebhook = \"https://h/\"").contains("http://"));
    assert!(err("name = \"x\"\ncomand = [\"a\"]").contains("comand"));
    assert!(err("name = \"\"\ncommand = [\"a\"]").contains("rule name"));
}

#[test]
fn the_cursor_survives_a_reopen_and_new_rules_skip_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = Cursor::file(dir.path());
    let rules = vec![rule("name = \"a\"\ncommand = [\"true\"]")];
    let doc = DocId::from_bytes([1; 32]);
    let mut c = Cursor::open(&path, &rules, 10_000).expect("new cursor");
    assert_eq!(c.decide("a", &doc, "v1", 10_000), Decision::Due);
    // Dated well before the rule was created: history, not an alert.
    assert_eq!(
        c.decide("a", &doc, "v1", 10_000 - HISTORY_GRACE_SECS - 1),
        Decision::History
    );
    c.record("a", &doc, "v1").expect("recorded");
    drop(c);

    // Reopened later with a second rule: the first keeps its deliveries
    // and creation time, the second starts now.
    let rules = vec![
        rule("name = \"a\"\ncommand = [\"true\"]"),
        rule("name = \"b\"\ncommand = [\"true\"]"),
    ];
    let c = Cursor::open(&path, &rules, 50_000).expect("reopened");
    assert_eq!(c.decide("a", &doc, "v1", 10_000), Decision::Delivered);
    assert_eq!(c.decide("a", &doc, "v2", 10_000), Decision::Due);
    assert_eq!(c.decide("b", &doc, "v1", 10_000), Decision::History);
    assert_eq!(c.decide("b", &doc, "v2", 50_000), Decision::Due);
    drop(c);

    // A rule removed from the configuration is forgotten.
    let rules = vec![rule("name = \"b\"\ncommand = [\"true\"]")];
    let c = Cursor::open(&path, &rules, 60_000).expect("reopened");
    assert_eq!(c.decide("a", &doc, "v1", 10_000), Decision::History);
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(!text.contains("\"a\""), "{text}");
    assert!(!dir.path().join("alerts.json.tmp").exists());

    // Garbage is refused, not silently reset (that would lose or flood).
    std::fs::write(&path, "{").expect("write");
    assert!(Cursor::open(&path, &rules, 0).is_err());
}

#[test]
fn versions_ignore_head_order() {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert_eq!(version_of([&a, &b]), version_of([&b, &a]));
    assert_ne!(version_of([&a]), version_of([&a, &b]));
}
