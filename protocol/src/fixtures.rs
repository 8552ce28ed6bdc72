//! Builders shared by the unit tests.

use std::collections::BTreeMap;

use crate::{
    Application, ChangeHash, Charter, CharterBody, Founder, Introduction, NetworkId, Policy,
    Profile, Revocation, SignedStatement, Statement, StatementId, TeamKey, TeamKind,
};

pub(crate) fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

pub(crate) fn profile(name: &str) -> Profile {
    Profile {
        name: format!("{name} Computer Emergency Response Team"),
        short_name: name.to_owned(),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: "the national government".to_owned(),
        email: "cert@example.org".to_owned(),
        website: "https://example.org".to_owned(),
    }
}

pub(crate) fn charter(founders: &[&TeamKey], k: u16, r: u16) -> Charter {
    let body = CharterBody::new(
        "test network",
        1_700_000_000,
        founders
            .iter()
            .map(|f| Founder {
                id: f.id(),
                profile: profile(&f.id().short()),
            })
            .collect(),
        Policy {
            sponsors_required: k,
            revocation_quorum: r,
        },
    )
    .expect("valid charter body");
    let sigs: BTreeMap<_, _> = founders
        .iter()
        .map(|f| (f.id(), body.sign(f).expect("founder")))
        .collect();
    Charter::seal(body, &sigs).expect("all founders signed")
}

pub(crate) fn application(network: NetworkId, applicant: &TeamKey) -> SignedStatement {
    SignedStatement::sign(
        Statement::Application(Application {
            network,
            applicant: applicant.id(),
            created_at: 1_700_000_100,
            profile: profile(&applicant.id().short()),
        }),
        applicant,
    )
    .expect("valid application")
}

pub(crate) fn introduction(
    network: NetworkId,
    sponsor: &TeamKey,
    application: &SignedStatement,
) -> SignedStatement {
    let Statement::Application(a) = application.statement() else {
        panic!("fixture misuse: not an application");
    };
    SignedStatement::sign(
        Statement::Introduction(Introduction {
            network,
            sponsor: sponsor.id(),
            applicant: a.applicant,
            application: application.id(),
            created_at: 1_700_000_200,
            note: "met at the annual conference".to_owned(),
        }),
        sponsor,
    )
    .expect("valid introduction")
}

pub(crate) fn revocation(
    network: NetworkId,
    revoker: &TeamKey,
    revoked: &TeamKey,
    mut kept: Vec<StatementId>,
) -> SignedStatement {
    kept.sort();
    kept.dedup();
    SignedStatement::sign(
        Statement::Revocation(Revocation {
            network,
            revoker: revoker.id(),
            revoked: revoked.id(),
            created_at: 1_700_000_300,
            reason: "key compromised".to_owned(),
            kept_introductions: kept,
            kept_heads: vec![ChangeHash::from_bytes([0xab; 32])],
        }),
        revoker,
    )
    .expect("valid revocation")
}
