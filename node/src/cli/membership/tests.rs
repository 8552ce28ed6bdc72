use std::collections::BTreeMap;

use trustmesh_protocol::{
    Advisory, AdvisoryCategory, AdvisoryStatus, Application, CharterBody, Founder, Introduction,
    MemStore, Message, Policy, Profile, Revision, Severity, SignedChange, SignedStatement,
    TeamKind, Tlp,
};

use super::*;

fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

fn profile() -> Profile {
    Profile {
        name: "Test CSIRT".to_owned(),
        short_name: "TEST".to_owned(),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: String::new(),
        email: String::new(),
        website: String::new(),
    }
}

/// Founders 1, 2 and 3 (k = r = 2).
fn charter() -> Charter {
    let founders = (1..=3)
        .map(|n| Founder {
            id: key(n).id(),
            profile: profile(),
        })
        .collect();
    let body = CharterBody::new("n", 0, founders, Policy::default()).expect("valid body");
    let sigs: BTreeMap<_, _> = (1..=3)
        .map(|n| (key(n).id(), body.sign(&key(n)).expect("founder")))
        .collect();
    Charter::seal(body, &sigs).expect("sealed")
}

/// `who`'s application and introductions by `sponsors`.
fn admission(charter: &Charter, who: u8, sponsors: &[u8]) -> Vec<SignedStatement> {
    let network = charter.network_id();
    let app = SignedStatement::sign(
        Statement::Application(Application {
            network,
            applicant: key(who).id(),
            created_at: 1,
            profile: profile(),
        }),
        &key(who),
    )
    .expect("valid");
    let mut out = vec![app.clone()];
    for &s in sponsors {
        out.push(
            SignedStatement::sign(
                Statement::Introduction(Introduction {
                    network,
                    sponsor: key(s).id(),
                    applicant: key(who).id(),
                    application: app.id(),
                    created_at: 2,
                    note: String::new(),
                }),
                &key(s),
            )
            .expect("valid"),
        );
    }
    out
}

fn advisory(id: &str) -> Advisory {
    Advisory {
        id: id.to_owned(),
        title: "Exploitation of a VPN appliance".to_owned(),
        category: AdvisoryCategory::Alert,
        tlp: Tlp::Green,
        audience: vec![],
        co_authors: vec![],
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        revisions: vec![Revision {
            number: "1".to_owned(),
            date: 1_700_000_000,
            summary: "Initial release".to_owned(),
        }],
        cves: vec![],
        products: vec![],
        indicators: vec![],
        summary: "Patch now.".to_owned(),
        body: String::new(),
        references: vec![],
        acknowledgements: vec![],
    }
}

fn all_changes(node: &Node<MemStore>) -> Vec<SignedChange> {
    let docs = node.documents();
    docs.docs()
        .flat_map(|(d, _)| {
            docs.change_hashes(d)
                .into_iter()
                .filter_map(move |h| docs.change(d, &h))
        })
        .collect()
}

/// `trustmesh revoke` offline keeps what the running node's `/revoke`
/// keeps: both are the core's frontier, here computed by a running core
/// over a RocksDB store and by the CLI's offline path over the same store
/// reopened. The frontier holds the revoked team's introduction and the
/// heads of the documents it wrote (before, offline revocations kept no
/// heads, so the same command dropped those documents).
#[test]
fn offline_and_online_revoke_keep_the_same_frontier() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let charter = charter();
    let running_frontier = {
        let store = RocksStore::open(&path).expect("opens");
        let (mut running, _) = Node::open(
            Config::default(),
            key(1),
            ActorSuffix::from_bytes([1; 16]),
            charter.clone(),
            store,
            0,
        )
        .expect("opens");
        for s in admission(&charter, 4, &[1, 2])
            .into_iter()
            .chain(admission(&charter, 5, &[1, 4]))
        {
            running.submit_statement(s).expect("stored");
        }
        let (mut four, _) = Node::open(
            Config::default(),
            key(4),
            ActorSuffix::from_bytes([4; 16]),
            charter.clone(),
            MemStore::new(),
            0,
        )
        .expect("memory");
        let statements: Vec<SignedStatement> = running.statements().iter().cloned().collect();
        four.handle_message(0, key(1).id(), Message::Statements(statements));
        four.publish_advisory(1_000, &advisory("FOUR-1"))
            .expect("published");
        four.publish_advisory(2_000, &advisory("FOUR-2"))
            .expect("published");
        running
            .publish_advisory(3_000, &advisory("ONE-1"))
            .expect("published");
        running.handle_message(4_000, key(4).id(), Message::Changes(all_changes(&four)));
        assert!(running.membership().is_member(&key(5).id()));
        running.revocation_frontier(&key(4).id())
    };
    assert_eq!(
        running_frontier.introductions.len(),
        1,
        "team 4 sponsored team 5"
    );
    assert_eq!(
        running_frontier.heads.len(),
        2,
        "team 4 wrote two advisories"
    );

    let reopened = RocksStore::open(&path).expect("reopens");
    let offline = offline_frontier(&reopened, &key(1), &charter, &key(4).id()).expect("computes");
    assert_eq!(offline, running_frontier);
}
