use super::*;
use crate::document::fixtures::advisory;
use crate::fixtures::key;
use crate::{AdvisoryCategory, Authored};

/// The facts of an advisory written in trustmesh, read back from the CSAF
/// tree it is stored as.
fn sample() -> AdvisoryFacts {
    let mut a = advisory("NCSC-2026-0042", Tlp::Amber, &[key(2).id()], &[]);
    a.title = "Exploitation of a VPN appliance".to_owned();
    a.cves = vec!["CVE-2026-12345".to_owned()];
    a.severity = Severity::High;
    a.category = AdvisoryCategory::Alert;
    a.status = AdvisoryStatus::Final;
    let d = AdvisoryDocument::from_authored(&Authored::new(a), key(1).id());
    AdvisoryFacts::of(&d, &d.view())
}

#[test]
fn facts_are_read_from_the_csaf_tree() {
    let f = sample();
    assert_eq!(f.category, "alert", "the trustmesh category, not csaf_*");
    assert_eq!(f.severity, Some(Severity::High));
    assert_eq!(f.tracking_id, "NCSC-2026-0042");
    assert_eq!(f.cves, vec!["CVE-2026-12345".to_owned()]);
}

#[test]
fn an_empty_filter_matches_everything() {
    let f = AdvisoryFilter::default();
    assert!(f.is_empty());
    assert!(f.matches(&key(1).id(), None, &sample()));
}

#[test]
fn severity_compares_in_the_types_order() {
    let a = sample();
    let owner = key(1).id();
    for (min, expected) in [
        (Severity::None, true),
        (Severity::Low, true),
        (Severity::Medium, true),
        (Severity::High, true),
        (Severity::Critical, false),
    ] {
        let f = AdvisoryFilter {
            min_severity: Some(min),
            ..AdvisoryFilter::default()
        };
        assert_eq!(f.matches(&owner, None, &a), expected, "at least {min}");
    }
    assert!(Severity::ALL.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn every_criterion_must_hold() {
    let a = sample();
    let owner = key(1).id();
    let f = AdvisoryFilter {
        categories: vec!["warning".to_owned(), "ALERT".to_owned()],
        min_severity: Some(Severity::Medium),
        tlp: vec![Tlp::Amber],
        statuses: vec![AdvisoryStatus::Final],
        owners: vec![TeamSpec::ShortName("ncsc".to_owned())],
        text: Some("vpn".to_owned()),
    };
    assert!(f.matches(&owner, Some("NCSC"), &a));
    assert!(!f.matches(&owner, Some("CERT"), &a), "owner by short name");
    assert!(
        !f.matches(&owner, None, &a),
        "an unknown name matches no name"
    );
    let wrong = |change: fn(&mut AdvisoryFilter)| {
        let mut g = f.clone();
        change(&mut g);
        g.matches(&owner, Some("NCSC"), &a)
    };
    assert!(!wrong(|g| g.categories = vec!["csaf_base".to_owned()]));
    assert!(!wrong(|g| g.tlp = vec![Tlp::Red, Tlp::Clear]));
    assert!(!wrong(|g| g.statuses = vec![AdvisoryStatus::Draft]));
    assert!(!wrong(|g| g.text = Some("router".to_owned())));
    assert!(!wrong(|g| g.owners = vec![TeamSpec::Id(key(2).id())]));
    assert!(wrong(|g| g.owners = vec![TeamSpec::Id(key(1).id())]));
}

#[test]
fn text_is_found_without_case_in_the_id_title_and_cves() {
    let a = sample();
    let owner = key(1).id();
    let hit = |q: &str| {
        AdvisoryFilter {
            text: Some(q.to_owned()),
            ..AdvisoryFilter::default()
        }
        .matches(&owner, None, &a)
    };
    assert!(hit("ncsc-2026"));
    assert!(hit("EXPLOITATION"));
    assert!(hit("cve-2026-12345"));
    assert!(!hit("cve-2025"));
}

#[test]
fn a_team_spec_reads_an_id_or_a_short_name() {
    let id = key(1).id();
    assert_eq!(TeamSpec::parse(&format!(" {id} ")), TeamSpec::Id(id));
    assert_eq!(
        TeamSpec::parse(" CERT-NL "),
        TeamSpec::ShortName("CERT-NL".to_owned())
    );
}

#[test]
fn an_advisory_without_severity_meets_no_lowest_severity() {
    let a = AdvisoryFacts {
        severity: None,
        ..sample()
    };
    let f = AdvisoryFilter {
        min_severity: Some(Severity::None),
        ..AdvisoryFilter::default()
    };
    assert!(!f.matches(&key(1).id(), None, &a));
    assert!(AdvisoryFilter::default().matches(&key(1).id(), None, &a));
}

#[test]
fn categories_compare_without_case_and_separators() {
    let owner = key(1).id();
    let by = |c: &str, category: &str| {
        let a = AdvisoryFacts {
            category: category.to_owned(),
            ..sample()
        };
        AdvisoryFilter {
            categories: vec![c.to_owned()],
            ..AdvisoryFilter::default()
        }
        .matches(&owner, None, &a)
    };
    assert!(by("Current-Activity", "current_activity"));
    assert!(by("csaf_vex", "CSAF_VEX"));
    assert!(by("security advisory", "Security-Advisory"));
    assert!(!by("csaf_vex", "csaf_security_advisory"));
    assert!(!by("alert", "alerts"));
}
