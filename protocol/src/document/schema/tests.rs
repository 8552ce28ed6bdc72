use crate::document::fixtures::{advisory, contact, tool};
use crate::fixtures::key;
use crate::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Indicator, IndicatorKind, SchemaError, Severity,
    Tlp, is_cve_id,
};

fn problem(r: Result<(), SchemaError>) -> String {
    match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn fixtures_are_valid() {
    let owner = key(1).id();
    assert_eq!(problem(contact("CERT-A").validate()), "ok");
    assert_eq!(
        problem(advisory("TM-1", Tlp::Green, &[], &[key(2).id()]).validate(&owner)),
        "ok"
    );
    assert_eq!(
        problem(advisory("TM-1", Tlp::Red, &[owner, key(2).id()], &[key(2).id()]).validate(&owner)),
        "ok"
    );
    assert_eq!(problem(tool("collector").validate()), "ok");
}

#[test]
fn contact_fields_are_checked() {
    let check = |f: &dyn Fn(&mut crate::Contact)| {
        let mut c = contact("CERT-A");
        f(&mut c);
        problem(c.validate())
    };
    assert_eq!(
        check(&|c| c.name.clear()),
        "invalid name: must not be empty"
    );
    assert_eq!(
        check(&|c| c.country = "nl".into()),
        "invalid country: must be an ISO 3166-1 alpha-2 code such as DE"
    );
    assert_eq!(
        check(&|c| c.email = "nobody".into()),
        "invalid email: must be an e-mail address"
    );
    assert_eq!(
        check(&|c| c.phone = "call me".into()),
        "invalid phone: must be a phone number such as +31 70 123 4567"
    );
    assert_eq!(
        check(&|c| c.website = "ftp://x".into()),
        "invalid website: must be an http:// or https:// URL"
    );
    assert_eq!(
        check(&|c| c.pgp_keys[0].fingerprint = "0123 4567".into()),
        "invalid pgp keys[0].fingerprint: must be 40 or 64 hexadecimal digits without spaces"
    );
    assert_eq!(
        check(&|c| c.pgp_keys[0].armored = Some("not a key".into())),
        "invalid pgp keys[0].armored: must be an ASCII-armored public key block"
    );
    assert_eq!(
        check(&|c| c.representatives[0].name = "bell\u{7}".into()),
        "invalid representatives[0].name: contains control characters"
    );
    assert_eq!(
        check(&|c| c.short_name = "x".repeat(65)),
        "invalid short name: too long"
    );
    assert_eq!(check(&|c| c.postal_address = "a\nb".into()), "ok");
}

#[test]
fn cve_ids() {
    for ok in [
        "CVE-2024-3094",
        "CVE-1999-0001",
        "CVE-2021-44228",
        "CVE-2024-1234567",
    ] {
        assert!(is_cve_id(ok), "{ok}");
    }
    for bad in [
        "cve-2024-3094",
        "CVE-2024-123",
        "CVE-1998-0001",
        "CVE-24-1234",
        "CVE-2024-12a4",
        "CVE-2024",
        "",
    ] {
        assert!(!is_cve_id(bad), "{bad}");
    }
}

#[test]
fn indicators_match_their_kind() {
    let ok = |kind, value: &str| {
        Indicator {
            kind,
            value: value.to_owned(),
        }
        .validate("ioc")
        .is_ok()
    };
    assert!(ok(IndicatorKind::Ipv4, "192.0.2.1"));
    assert!(ok(IndicatorKind::Ipv4, "192.0.2.0/24"));
    assert!(!ok(IndicatorKind::Ipv4, "192.0.2.0/33"));
    assert!(!ok(IndicatorKind::Ipv4, "2001:db8::1"));
    assert!(ok(IndicatorKind::Ipv6, "2001:db8::1"));
    assert!(ok(IndicatorKind::Ipv6, "2001:db8::/32"));
    assert!(ok(IndicatorKind::Domain, "evil.example.com"));
    assert!(!ok(IndicatorKind::Domain, "localhost"));
    assert!(!ok(IndicatorKind::Domain, "bad..example"));
    assert!(ok(IndicatorKind::Url, "hxxp://evil.example/x"));
    assert!(!ok(IndicatorKind::Url, "evil.example/x"));
    assert!(ok(IndicatorKind::Sha256, &"A".repeat(64)));
    assert!(!ok(IndicatorKind::Sha256, &"g".repeat(64)));
    assert!(ok(IndicatorKind::Sha1, &"0".repeat(40)));
    assert!(ok(IndicatorKind::Md5, &"f".repeat(32)));
    assert!(!ok(IndicatorKind::Md5, &"f".repeat(31)));
    assert!(ok(IndicatorKind::Email, "phish@example.org"));
    assert!(!ok(IndicatorKind::Email, "phish"));
    assert!(ok(IndicatorKind::Other, "mutex Global\\xyz"));
    assert!(!ok(IndicatorKind::Other, ""));
}

#[test]
fn advisory_audience_rules() {
    let owner = key(1).id();
    let (a, b, c) = (key(2).id(), key(3).id(), key(4).id());
    let check = |tlp, audience: &[_], co: &[_]| {
        problem(advisory("TM-1", tlp, audience, co).validate(&owner))
    };
    for tlp in [Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
        assert_eq!(
            check(tlp, &[], &[]),
            "invalid audience: must include the owner for tlp amber, amber_strict and red"
        );
        assert_eq!(
            check(tlp, &[a], &[]),
            "invalid audience: must include the owner for tlp amber, amber_strict and red"
        );
        assert_eq!(
            check(tlp, &[owner, a], &[b]),
            "invalid audience: must include every co-author"
        );
        assert_eq!(check(tlp, &[owner, a, b], &[b]), "ok");
    }
    for tlp in [Tlp::Clear, Tlp::Green] {
        assert_eq!(
            check(tlp, &[owner], &[]),
            "invalid audience: must be empty for tlp clear and green, which go to every member"
        );
        assert_eq!(check(tlp, &[], &[c]), "ok");
    }
    assert_eq!(
        check(Tlp::Green, &[], &[owner]),
        "invalid co authors: must not include the owner"
    );
}

#[test]
fn advisory_fields_are_checked() {
    let owner = key(1).id();
    let check = |f: &dyn Fn(&mut Advisory)| {
        let mut a = advisory("TM-1", Tlp::Clear, &[], &[]);
        f(&mut a);
        problem(a.validate(&owner))
    };
    assert_eq!(
        check(&|a| a.title.clear()),
        "invalid title: must not be empty"
    );
    assert_eq!(
        check(&|a| a.cves.push("CVE-24-1".into())),
        "invalid cves[1]: must be a CVE id such as CVE-2024-3094"
    );
    assert_eq!(
        check(&|a| a.indicators[1].value = "abc".into()),
        "invalid indicators[1].value: does not match the indicator kind"
    );
    assert_eq!(
        check(&|a| a.references[0].url = "example.org".into()),
        "invalid references[0].url: must be an http:// or https:// URL"
    );
    assert_eq!(
        check(&|a| a.id = " x".into()),
        "invalid advisory id: must start with a letter or digit"
    );
    for bad in [
        "..",
        "a/b",
        "AA 2026",
        "x\u{202e}gnp",
        "caf\u{e9}-1",
        ".hidden",
        "a#b",
        "a?b",
        "a%2f",
    ] {
        assert!(
            check(&|a| a.id = bad.into()).starts_with("invalid advisory id"),
            "{bad:?} accepted"
        );
    }
    for good in [
        "RHSA-2024:1234",
        "cisco-sa-20180328-smi2",
        "WID-SEC-W-2024-0001",
        "msrc_CVE-2025-49704",
        "OPENSUSE-SU-2024:0001-1",
        "SSA-123456",
        "1.0+build~2",
    ] {
        let mut a = advisory(good, Tlp::Clear, &[], &[]);
        a.id = good.into();
        assert_eq!(a.validate(&owner), Ok(()), "{good:?} refused");
    }
    assert_eq!(
        check(&|a| a.products[0].product.clear()),
        "invalid products[0].product: must not be empty"
    );
    assert_eq!(
        check(&|a| a.body = "line\u{0}".into()),
        "invalid body: contains control characters"
    );
}

#[test]
fn tool_fields_are_checked() {
    let check = |f: &dyn Fn(&mut crate::Tool)| {
        let mut t = tool("collector");
        f(&mut t);
        problem(t.validate())
    };
    let sha =
        "invalid sha256: must be 64 lowercase hexadecimal digits (required with a download url)";
    assert_eq!(check(&|t| t.sha256 = "B".repeat(64)), sha);
    assert_eq!(check(&|t| t.sha256 = "b".repeat(63)), sha);
    assert_eq!(check(&|t| t.sha256.clear()), sha);
    assert_eq!(
        check(&|t| {
            t.sha256.clear();
            t.download_url.clear();
        }),
        "ok"
    );
    assert_eq!(
        check(&|t| t.name = "x ".into()),
        "invalid name: must not start or end with whitespace"
    );
    assert_eq!(
        check(&|t| t.tags = vec![String::new()]),
        "invalid tags[0]: must not be empty"
    );
}

#[test]
fn enum_names_round_trip() {
    for v in Tlp::ALL {
        assert_eq!(v.name().parse::<Tlp>().ok(), Some(*v));
    }
    for v in AdvisoryCategory::ALL {
        assert_eq!(v.name().parse::<AdvisoryCategory>().ok(), Some(*v));
    }
    for v in Severity::ALL {
        assert_eq!(v.name().parse::<Severity>().ok(), Some(*v));
    }
    for v in AdvisoryStatus::ALL {
        assert_eq!(v.name().parse::<AdvisoryStatus>().ok(), Some(*v));
    }
    for v in IndicatorKind::ALL {
        assert_eq!(v.name().parse::<IndicatorKind>().ok(), Some(*v));
    }
    assert!(
        Tlp::Red.is_restricted() && Tlp::Amber.is_restricted() && Tlp::AmberStrict.is_restricted()
    );
    assert!(!Tlp::Green.is_restricted() && !Tlp::Clear.is_restricted());
    assert_eq!(Tlp::AmberStrict.to_string(), "amber_strict");
}

#[test]
fn one_line_fields_refuse_bidirectional_formatting() {
    for bad in [
        "safe\u{202e}gnp.exe",
        "\u{2066}isolate\u{2069}",
        "mark\u{200f}",
        "arabic mark\u{061c}",
    ] {
        let err = super::check_text("title", bad, 100, true).expect_err(bad);
        assert!(err.to_string().contains("bidirectional"), "{bad:?}: {err}");
    }
    // Right-to-left text itself is fine; only the formatting characters are not.
    super::check_text("title", "تحذير أمني", 100, true).expect("Arabic");
    super::check_text("title", "אזהרה", 100, true).expect("Hebrew");
}
