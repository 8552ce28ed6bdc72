use super::*;
use crate::document::fixtures::advisory;
use crate::fixtures::key;

fn sample() -> Advisory {
    let mut a = advisory("NCSC-2026-0042", Tlp::Amber, &[key(2).id()], &[]);
    a.title = "Exploitation of a VPN appliance".to_owned();
    a.cves = vec!["CVE-2026-12345".to_owned()];
    a.severity = Severity::High;
    a.category = AdvisoryCategory::Alert;
    a.status = AdvisoryStatus::Final;
    a
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
        categories: vec![AdvisoryCategory::Warning, AdvisoryCategory::Alert],
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
    assert!(!wrong(|g| g.categories = vec![AdvisoryCategory::Other]));
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
