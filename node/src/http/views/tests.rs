use trustmesh_protocol::{AdvisoryStatus, DocRef, Severity, TeamKey, Tlp};

use super::*;

fn summary(id: &str, updated: Option<u64>) -> AdvisorySummary {
    let owner = TeamKey::from_secret_bytes([1; 32]).id();
    AdvisorySummary {
        doc: DocRef::contacts(owner).id(),
        owner,
        owner_name: "AA".into(),
        id: id.into(),
        title: id.into(),
        category: "alert".into(),
        tlp: Tlp::Clear,
        severity: Some(Severity::High),
        severity_text: None,
        status: AdvisoryStatus::Final,
        cves: vec![],
        revision: Some("1".into()),
        updated,
        ahead_of_clock: false,
        imported: false,
        publisher: "AA".into(),
        csaf_version: "2.0".into(),
        complete: true,
    }
}

#[test]
fn a_date_far_ahead_of_the_clock_is_not_believed() {
    let now = 1_800_000_000;
    let mut list = vec![
        summary("old", Some(now - 86_400)),
        summary("year-2100", Some(4_102_444_800)),
        summary("undated", None),
        summary("a-bit-ahead", Some(now + 300)),
        summary("new", Some(now - 60)),
    ];
    newest_first(&mut list, now);
    let order: Vec<(&str, bool)> = list
        .iter()
        .map(|a| (a.id.as_str(), a.ahead_of_clock))
        .collect();
    assert_eq!(
        order,
        vec![
            ("a-bit-ahead", false),
            ("new", false),
            ("old", false),
            ("year-2100", true),
            ("undated", false),
        ]
    );
}

fn founder_membership() -> Membership {
    use std::collections::BTreeMap;
    use trustmesh_protocol::{
        Charter, CharterBody, Founder, Policy, Profile, StatementSet, TeamKind,
    };
    let key = TeamKey::from_secret_bytes([1; 32]);
    let profile = Profile {
        name: "Alpha CSIRT".into(),
        short_name: "AA".into(),
        country: "NL".into(),
        kind: TeamKind::National,
        constituency: String::new(),
        email: String::new(),
        website: String::new(),
    };
    let body = CharterBody::new(
        "n",
        0,
        vec![Founder {
            id: key.id(),
            profile,
        }],
        Policy {
            sponsors_required: 1,
            revocation_quorum: 1,
        },
    )
    .expect("valid body");
    let sigs = BTreeMap::from([(key.id(), body.sign(&key).expect("founder"))]);
    StatementSet::new(Charter::seal(body, &sigs).expect("sealed")).membership()
}

/// The API's query strings become the core's typed filter: names in any
/// case, TLP labels as written on documents, the owner resolved; an
/// unknown value is refused rather than silently matching nothing.
#[test]
fn an_advisory_query_becomes_the_cores_typed_filter() {
    let m = founder_membership();
    let q = |f: fn(&mut AdvisoryQuery)| {
        let mut q = AdvisoryQuery::default();
        f(&mut q);
        advisory_filter(&m, &q)
    };
    let f = q(|q| {
        q.category = Some("Current-Activity".into());
        q.severity = Some("HIGH".into());
        q.tlp = Some("TLP:AMBER+STRICT".into());
        q.status = Some("final".into());
        q.owner = Some("AA".into());
        q.q = Some("vpn".into());
    })
    .expect("valid");
    assert_eq!(f.categories, vec!["Current-Activity".to_owned()]);
    assert_eq!(f.min_severity, Some(Severity::High));
    assert_eq!(f.tlp, vec![Tlp::AmberStrict]);
    assert_eq!(f.statuses, vec![AdvisoryStatus::Final]);
    let owner = TeamKey::from_secret_bytes([1; 32]).id();
    assert_eq!(f.owners, vec![TeamSpec::Id(owner)]);
    assert_eq!(f.text.as_deref(), Some("vpn"));
    assert!(q(|_| {}).expect("empty").is_empty());
    assert!(q(|q| q.severity = Some("urgent".into())).is_err());
    assert!(q(|q| q.tlp = Some("purple".into())).is_err());
    assert!(q(|q| q.owner = Some("nobody".into())).is_err());
}
