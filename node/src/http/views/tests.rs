use trustmesh_protocol::{AdvisoryCategory, AdvisoryStatus, DocRef, Severity, TeamKey, Tlp};

use super::*;

fn summary(id: &str, updated: Option<u64>) -> AdvisorySummary {
    let owner = TeamKey::from_secret_bytes([1; 32]).id();
    AdvisorySummary {
        doc: DocRef::contacts(owner).id(),
        owner,
        owner_name: "AA".into(),
        id: id.into(),
        title: id.into(),
        category: AdvisoryCategory::Alert,
        tlp: Tlp::Clear,
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        cves: vec![],
        revision: Some("1".into()),
        updated,
        ahead_of_clock: false,
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
