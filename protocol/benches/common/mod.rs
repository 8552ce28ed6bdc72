//! Builders shared by the benchmarks of `protocol` and `node` (the node's
//! bench includes this file by path).

use std::collections::BTreeMap;

use trustmesh_protocol::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryStatus, Charter, CharterBody, Config, Founder,
    Node, Policy, Profile, Severity, Store, TeamKey, TeamKind, Tlp,
};

pub fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

pub fn charter() -> Charter {
    let founders = [key(1), key(2)];
    let body = CharterBody::new(
        "bench",
        0,
        founders
            .iter()
            .map(|k| Founder {
                id: k.id(),
                profile: Profile {
                    name: format!("Team {}", k.id().short()),
                    short_name: k.id().short(),
                    country: "EE".into(),
                    kind: TeamKind::National,
                    constituency: String::new(),
                    email: String::new(),
                    website: String::new(),
                },
            })
            .collect(),
        Policy {
            sponsors_required: 1,
            revocation_quorum: 1,
        },
    )
    .expect("valid charter");
    let sigs: BTreeMap<_, _> = founders
        .iter()
        .map(|k| (k.id(), body.sign(k).expect("founder")))
        .collect();
    Charter::seal(body, &sigs).expect("sealed")
}

pub fn advisory(i: usize) -> Advisory {
    Advisory {
        id: format!("BENCH-{i:05}"),
        title: format!("Exploitation of appliance model {i}"),
        category: AdvisoryCategory::Warning,
        tlp: Tlp::Clear,
        audience: vec![],
        co_authors: vec![],
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        revisions: vec![],
        cves: vec![format!("CVE-2026-{:04}", 1000 + i)],
        products: vec![],
        indicators: vec![],
        summary: "Patch now; exploitation is ongoing.".into(),
        body: "Apply the vendor update and review logs for the indicators.".into(),
        references: vec![],
        acknowledgements: vec![],
    }
}

/// A node of team `n` over `store`, in the benchmarks' network.
pub fn node<S: Store>(n: u8, store: S) -> Node<S> {
    Node::open(
        Config::default(),
        key(n),
        ActorSuffix::from_bytes([n; 16]),
        charter(),
        store,
        0,
    )
    .expect("the store opens")
    .0
}
