use proptest::prelude::*;

use super::*;
use crate::document::fixtures::{admission, suffix};
use crate::fixtures::{charter, key, revocation};
use crate::{Config, Event, JoinRequest, JoinResponse, MemStore, TeamKey};

fn founders() -> Vec<TeamKey> {
    (1..=3).map(key).collect()
}

fn node(n: u8) -> Node<MemStore> {
    let f = founders();
    let charter = charter(&[&f[0], &f[1], &f[2]], 2, 2);
    Node::open(
        Config::default(),
        key(n),
        suffix(n),
        charter,
        MemStore::new(),
        0,
    )
    .expect("memory store")
    .0
}

fn drain(node: &mut Node<MemStore>) -> (Vec<Transmit>, Vec<Event>) {
    let mut t = vec![];
    while let Some(x) = node.poll_transmit() {
        t.push(x);
    }
    let mut e = vec![];
    while let Some(x) = node.poll_event() {
        e.push(x);
    }
    (t, e)
}

#[test]
fn two_introductions_admit_the_applicant_who_learns_every_statement() {
    let f = founders();
    let mut founder = node(1);
    let network = founder.statements().network_id();
    // A fourth team admitted earlier, unknown to the applicant's charter.
    let earlier = admission(network, &key(4), &[&f[0], &f[1]]);
    for s in &earlier {
        founder.submit_statement(s.clone()).expect("valid");
    }
    drain(&mut founder);

    let statements = admission(network, &key(5), &[&f[1], &key(4)]);
    let response = founder.handle_join_request(0, key(5).id(), JoinRequest { statements });
    let JoinResponse::Admitted { statements: sent } = &response else {
        panic!("refused: {response:?}");
    };
    assert!(founder.membership().is_member(&key(5).id()));
    assert_eq!(sent.len(), founder.statements().len());
    assert_eq!(founder.store().load().expect("memory").statements.len(), 6);
    let (transmits, events) = drain(&mut founder);
    assert!(
        transmits.iter().any(|t| t.to == Destination::Gossip
            && matches!(&t.message, Message::Statements(l) if l.len() == 3)),
        "the new statements are gossiped: {transmits:?}"
    );
    assert!(events.iter().any(
        |e| matches!(e, Event::MembershipChanged { admitted, .. } if admitted == &vec![key(5).id()])
    ));

    // The applicant knew only the charter: now it knows team 4 is a member.
    let mut applicant = node(5);
    assert!(!applicant.is_member());
    let outcome = applicant.handle_join_response(0, key(1).id(), response);
    assert_eq!(
        outcome,
        JoinOutcome::Admitted {
            new_statements: 6,
            member: true
        }
    );
    assert!(applicant.membership().is_member(&key(4).id()));
    assert_eq!(applicant.statements().len(), founder.statements().len());
}

#[test]
fn a_refused_request_stores_nothing_and_says_why() {
    let f = founders();
    let mut founder = node(1);
    let network = founder.statements().network_id();
    let one_sponsor = admission(network, &key(5), &[&f[1]]);
    let response = founder.handle_join_request(
        0,
        key(5).id(),
        JoinRequest {
            statements: one_sponsor,
        },
    );
    let JoinResponse::Refused { reason } = response else {
        panic!("admitted with one sponsor");
    };
    assert!(reason.contains("1 of 2"), "{reason}");
    assert_eq!(founder.statements().len(), 0);
    assert_eq!(founder.store().load().expect("memory").statements.len(), 0);
    assert_eq!(founder.stats().joins_refused, 1);
    assert_eq!(drain(&mut founder).0, vec![]);
}

#[test]
fn a_request_may_only_speak_for_its_sender() {
    let f = founders();
    let mut founder = node(1);
    let network = founder.statements().network_id();
    // Team 6 presents team 5's valid admission: refused, nothing stored.
    let theirs = admission(network, &key(5), &[&f[1], &f[2]]);
    let response = founder.handle_join_request(0, key(6).id(), JoinRequest { statements: theirs });
    assert!(matches!(response, JoinResponse::Refused { .. }));
    assert!(!founder.membership().is_member(&key(5).id()));
    // A revocation smuggled in a join request is refused too.
    let rev = revocation(network, &key(5), &key(5), vec![]);
    let response = founder.handle_join_request(
        0,
        key(5).id(),
        JoinRequest {
            statements: vec![rev],
        },
    );
    let JoinResponse::Refused { reason } = response else {
        panic!("accepted a revocation");
    };
    assert!(reason.contains("revocation"), "{reason}");
    assert_eq!(founder.statements().len(), 0);
}

#[test]
fn a_revoked_team_cannot_rejoin_with_its_old_key() {
    let f = founders();
    let mut founder = node(1);
    let network = founder.statements().network_id();
    let statements = admission(network, &key(5), &[&f[1], &f[2]]);
    for s in &statements {
        founder.submit_statement(s.clone()).expect("valid");
    }
    founder
        .submit_statement(revocation(network, &key(5), &key(5), vec![]))
        .expect("valid");
    let response = founder.handle_join_request(0, key(5).id(), JoinRequest { statements });
    assert!(
        matches!(&response, JoinResponse::Refused { reason } if reason.contains("revoked")),
        "{response:?}"
    );
}

#[test]
fn a_forged_statement_in_an_admission_is_invalid() {
    let mut applicant = node(5);
    let network = applicant.statements().network_id();
    let good = admission(network, &key(5), &[&key(1), &key(2)]);
    let mut bytes = good[1].encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let forged = crate::SignedStatement::decode(&bytes).expect("still decodes");
    let outcome = applicant.handle_join_response(
        0,
        key(1).id(),
        JoinResponse::Admitted {
            statements: vec![good[0].clone(), forged],
        },
    );
    assert!(matches!(outcome, JoinOutcome::Invalid(_)), "{outcome:?}");
    assert!(!applicant.is_member());
}

#[test]
fn join_messages_round_trip() {
    let network = node(1).statements().network_id();
    let statements = admission(network, &key(5), &[&key(1), &key(2)]);
    let req = JoinRequest {
        statements: statements.clone(),
    };
    assert_eq!(JoinRequest::decode(&req.encode()), Ok(req));
    for resp in [
        JoinResponse::Admitted { statements },
        JoinResponse::Refused {
            reason: "not admitted: 1 of 2 introductions count".into(),
        },
    ] {
        assert_eq!(JoinResponse::decode(&resp.encode()), Ok(resp));
    }
    // A reason longer than the limit is cut on a character boundary.
    let long = JoinResponse::Refused {
        reason: "é".repeat(1000),
    };
    let JoinResponse::Refused { reason } = JoinResponse::decode(&long.encode()).expect("decodes")
    else {
        panic!("kind changed");
    };
    assert_eq!(reason.len(), 1024);
}

proptest! {
    #[test]
    fn join_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = JoinRequest::decode(&bytes);
        let _ = JoinResponse::decode(&bytes);
    }

    #[test]
    fn mutated_join_messages_never_panic(flip in 0usize..4096, bit in 0u8..8) {
        let network = node(1).statements().network_id();
        let req = JoinRequest { statements: admission(network, &key(5), &[&key(1), &key(2)]) };
        let mut bytes = req.encode();
        let i = flip % bytes.len();
        bytes[i] ^= 1 << bit;
        let _ = JoinRequest::decode(&bytes);
        let _ = JoinResponse::decode(&bytes);
    }
}

#[test]
fn a_join_request_carries_the_teams_own_application_and_introductions_only() {
    let f = founders();
    let founder = node(1);
    assert!(
        founder.join_request().is_empty(),
        "a founder presents nothing"
    );

    let network = founder.statements().network_id();
    let mut newcomer = node(5);
    assert!(newcomer.join_request().is_empty(), "nothing held yet");
    let own = admission(network, &key(5), &[&f[0], &f[1]]);
    let other = admission(network, &key(6), &[&f[0], &f[1]]);
    for s in own.iter().chain(&other) {
        newcomer.submit_statement(s.clone()).expect("valid");
    }
    let request = newcomer.join_request();
    let mut expected: Vec<_> = own.iter().map(|s| s.id()).collect();
    expected.sort();
    let got: Vec<_> = request.statements.iter().map(|s| s.id()).collect();
    assert_eq!(got, expected, "in the set's order, none about team 6");

    let mut founder = founder;
    let response = founder.handle_join_request(0, key(5).id(), request);
    assert!(
        matches!(response, JoinResponse::Admitted { .. }),
        "{response:?}"
    );
}
