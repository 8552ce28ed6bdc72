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
            .contains("more than one of command, webhook and mail")
    );
    assert!(err("name = \"x\"").contains("needs one of command, webhook or mail"));
    assert!(
        err("name = \"x\"\nmin_severity = \"urgent\"\ncommand = [\"a\"]")
            .contains("unknown severity \"urgent\"")
    );
    assert!(
        err("name = \"x\"\ncategories = [\"spam\"]\ncommand = [\"a\"]")
            .contains("unknown category")
    );
    assert!(err("name = \"x\"\ncommand = []").contains("must name a program"));
    assert!(err("name = \"x\"\nwebhook = \"ftp://h/\"").contains("https:// or http://"));
    assert!(
        err("name = \"x\"\nwebhook = \"https://h/\"\nformat = \"irc\"")
            .contains("unknown format \"irc\"")
    );
    assert!(
        err("name = \"x\"\ncommand = [\"a\"]\nformat = \"slack\"")
            .contains("format applies to webhooks only")
    );
    assert!(
        err("name = \"x\"\nwebhook = \"https://h/\"\nheaders = { \"Content-Type\" = \"x\" }")
            .contains("set by the node")
    );
    assert!(
        err("name = \"x\"\nwebhook = \"https://h/\"\nheaders = { \"X a\" = \"x\" }")
            .contains("not an HTTP token")
    );
    assert!(
        err("name = \"x\"\nwebhook = \"https://h/\"\nheaders = { \"X-A\" = \"a\\nb\" }")
            .contains("printable ASCII")
    );
    assert!(
        err("name = \"x\"\nwebhook = \"https://h/\"\nhmac_secret_file = \"/nonexistent/k\"")
            .contains("hmac_secret_file /nonexistent/k: ")
    );
    assert!(
        err("name = \"x\"\nmail = { to = [], from = \"a@b.c\", server = \"smtp.b.c\" }")
            .contains("no recipient")
    );
    assert!(
        err("name = \"x\"\nmail = { to = [\"nope\"], from = \"a@b.c\", server = \"smtp.b.c\" }")
            .contains("to \"nope\" is not a mail address")
    );
    assert!(err("name = \"x\"\nmail = { to = [\"s@b.c\"], from = \"a@b.c\", server = \"smtp.b.c\", starttls = false }").contains("clear text"));
    assert!(err("name = \"x\"\nmail = { to = [\"s@b.c\"], from = \"a@b.c\", server = \"smtp.b.c\", username = \"u\" }").contains("username needs password_file"));
    assert!(err("name = \"x\"\nmail = { to = [\"s@b.c\"], from = \"a@b.c\", server = \"smtp.b.c\" }\nca_file = \"ca.pem\"").contains("inside mail"));
    assert!(err("name = \"x\"\ncomand = [\"a\"]").contains("comand"));
    assert!(err("name = \"\"\ncommand = [\"a\"]").contains("rule name"));
}

#[test]
fn rule_files_are_read_from_the_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("short.key"), "tooshort\n").expect("write");
    std::fs::write(dir.path().join("hmac.key"), "0123456789abcdef0123\n").expect("write");
    std::fs::write(dir.path().join("not-a-cert.pem"), "hello\n").expect("write");
    std::fs::write(dir.path().join("smtp.password"), "p@ss word\n").expect("write");
    let section = |t: &str| toml::from_str::<AlertSection>(t).expect("parses");
    let e = section("name = \"x\"\nwebhook = \"https://h/\"\nhmac_secret_file = \"short.key\"")
        .validate_in(dir.path())
        .expect_err("short key");
    assert!(
        e.to_string().contains("holds 8 bytes; use at least 16"),
        "{e}"
    );
    let e = section("name = \"x\"\nwebhook = \"https://h/\"\nca_file = \"not-a-cert.pem\"")
        .validate_in(dir.path())
        .expect_err("no certificate");
    assert!(e.to_string().contains("holds no CERTIFICATE"), "{e}");
    let r = section("name = \"x\"\nwebhook = \"https://h/\"\nformat = \"Teams\"\nhmac_secret_file = \"hmac.key\"\nheaders = { \"X-Team\" = \"xx\" }")
        .validate_in(dir.path())
        .expect("valid");
    let Action::Webhook(w) = &r.action else {
        panic!("a webhook: {r:?}")
    };
    assert_eq!(w.format, Format::Teams);
    assert_eq!(
        w.hmac_secret.as_ref().map(Secret::expose),
        Some(&b"0123456789abcdef0123"[..])
    );
    assert_eq!(w.headers, [("X-Team".to_owned(), "xx".to_owned())]);
    // The secret never shows in logs or errors.
    assert!(!format!("{r:?}").contains("0123456789"), "{r:?}");
    let r = section("name = \"m\"\nmail = { to = [\"SOC <soc@example.org>\"], from = \"tm@example.org\", server = \"smtp.example.org\", username = \"tm\", password_file = \"smtp.password\" }")
        .validate_in(dir.path())
        .expect("valid");
    let Action::Mail(m) = &r.action else {
        panic!("a mail: {r:?}")
    };
    assert_eq!((m.port, m.starttls), (587, true));
    assert_eq!(
        m.password.as_ref().map(Secret::expose),
        Some(&b"p@ss word"[..])
    );
    assert!(!format!("{r:?}").contains("p@ss"), "{r:?}");
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
