//! Builders shared by the document tests.

use crate::fixtures::{charter, key};
use crate::{
    ActorSuffix, Advisory, AdvisoryCategory, AdvisoryStatus, Contact, Indicator, IndicatorKind,
    PgpKey, Product, Reference, Representative, Revision, Severity, StatementSet, TeamId, TeamKind,
    Tlp, Tool,
};

/// Three founders (keys 1, 2, 3), k = 2, r = 2.
pub(crate) fn net() -> StatementSet {
    StatementSet::new(charter(&[&key(1), &key(2), &key(3)], 2, 2))
}

pub(crate) fn suffix(n: u8) -> ActorSuffix {
    ActorSuffix::from_bytes([n; 16])
}

pub(crate) fn contact(name: &str) -> Contact {
    Contact {
        name: format!("{name} Computer Emergency Response Team"),
        short_name: name.to_owned(),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: "the national government\nand vital infrastructure".to_owned(),
        postal_address: "Postbus 1\n2500 AA Den Haag".to_owned(),
        time_zone: "Europe/Amsterdam".to_owned(),
        business_hours: "Mon-Fri 09:00-17:00".to_owned(),
        email: "cert@example.org".to_owned(),
        phone: "+31 70 123 4567".to_owned(),
        emergency_phone: "+31 70 765 4321".to_owned(),
        website: "https://example.org".to_owned(),
        pgp_keys: vec![PgpKey {
            fingerprint: "0123456789ABCDEF0123456789ABCDEF01234567".to_owned(),
            armored: None,
        }],
        representatives: vec![Representative {
            name: "Alex Example".to_owned(),
            role: "team lead".to_owned(),
            email: "alex@example.org".to_owned(),
            phone: String::new(),
        }],
    }
}

pub(crate) fn advisory(id: &str, tlp: Tlp, audience: &[TeamId], co_authors: &[TeamId]) -> Advisory {
    let mut audience = audience.to_vec();
    audience.sort();
    let mut co_authors = co_authors.to_vec();
    co_authors.sort();
    Advisory {
        id: id.to_owned(),
        title: "Exploitation of a VPN appliance".to_owned(),
        category: AdvisoryCategory::Alert,
        tlp,
        audience,
        co_authors,
        severity: Severity::High,
        status: AdvisoryStatus::Final,
        revisions: vec![Revision {
            number: "1".to_owned(),
            date: 1_700_000_000,
            summary: "initial release".to_owned(),
        }],
        cves: vec!["CVE-2024-3400".to_owned()],
        products: vec![Product {
            vendor: "Example Networks".to_owned(),
            product: "GlobalGate".to_owned(),
            versions: vec!["< 10.2.9".to_owned()],
        }],
        indicators: vec![
            Indicator {
                kind: IndicatorKind::Ipv4,
                value: "192.0.2.10".to_owned(),
            },
            Indicator {
                kind: IndicatorKind::Sha256,
                value: "a".repeat(64),
            },
        ],
        summary: "Active exploitation observed.".to_owned(),
        body: "Patch now.\nThen hunt for the indicators below.".to_owned(),
        references: vec![Reference {
            url: "https://example.org/advisory".to_owned(),
            summary: "vendor advisory".to_owned(),
        }],
        acknowledgements: vec!["CERT-XY for the indicators".to_owned()],
    }
}

pub(crate) fn tool(name: &str) -> Tool {
    Tool {
        name: name.to_owned(),
        version: "1.0.0".to_owned(),
        description: "Collects triage data from a host.".to_owned(),
        homepage: "https://example.org/tools".to_owned(),
        download_url: "https://example.org/tools/collector-1.0.0.tar.gz".to_owned(),
        sha256: "b".repeat(64),
        license: "Apache-2.0".to_owned(),
        tags: vec!["forensics".to_owned(), "triage".to_owned()],
        maintainer: "CERT-NL".to_owned(),
    }
}

/// Makes a change on top of `docs`' state of `doc` without any of the
/// checks the edit helpers apply, and signs it: what a hostile or confused
/// member could send.
pub(crate) fn raw_change(
    docs: &crate::Documents,
    key: &crate::TeamKey,
    suffix: ActorSuffix,
    doc: crate::DocRef,
    write: impl FnOnce(
        &mut automerge::transaction::Transaction<'_>,
    ) -> Result<(), automerge::AutomergeError>,
) -> crate::SignedChange {
    let mut am = docs.materialized(&doc.id());
    am.set_actor(super::change::actor_id(&key.id(), &suffix));
    let mut tx = am.transaction();
    write(&mut tx).expect("the test writes valid operations");
    let (hash, _) = tx.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_time(1_700_000_500)
            .with_message(super::change::change_message(&doc.id())),
    );
    let hash = hash.expect("the test writes at least one operation");
    let change = automerge::ReadDoc::get_change_by_hash(&am, &hash).expect("just committed");
    crate::SignedChange::sign(docs.network(), doc, key, change.raw_bytes()).expect("valid change")
}

/// A revocation of `revoked` by `revoker` keeping `kept_heads`.
pub(crate) fn revoke(
    network: crate::NetworkId,
    revoker: &crate::TeamKey,
    revoked: &crate::TeamKey,
    mut kept_heads: Vec<crate::ChangeHash>,
) -> crate::SignedStatement {
    kept_heads.sort();
    kept_heads.dedup();
    crate::SignedStatement::sign(
        crate::Statement::Revocation(crate::Revocation {
            network,
            revoker: revoker.id(),
            revoked: revoked.id(),
            created_at: 1_700_000_300,
            reason: "key compromised".to_owned(),
            kept_introductions: vec![],
            kept_heads,
        }),
        revoker,
    )
    .expect("valid revocation")
}

/// Admits `who` into `set` with introductions by `sponsors`.
pub(crate) fn admit(set: &mut StatementSet, who: &crate::TeamKey, sponsors: &[&crate::TeamKey]) {
    for s in admission(set.network_id(), who, sponsors) {
        set.insert(s).expect("valid statement");
    }
}

/// The application of `who` and introductions by `sponsors`.
pub(crate) fn admission(
    network: crate::NetworkId,
    who: &crate::TeamKey,
    sponsors: &[&crate::TeamKey],
) -> Vec<crate::SignedStatement> {
    let app = crate::fixtures::application(network, who);
    let mut out = vec![app.clone()];
    out.extend(
        sponsors
            .iter()
            .map(|s| crate::fixtures::introduction(network, s, &app)),
    );
    out
}
