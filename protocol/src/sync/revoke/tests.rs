use super::*;
use crate::document::fixtures::{admission, advisory, contact, suffix};
use crate::fixtures::{charter, key};
use crate::{
    Advisory, Config, DocRef, MemStore, Message, Revocation, SignedStatement, Statement, Tlp,
};

fn open(n: u8, store: MemStore) -> Node<MemStore> {
    let charter = charter(&[&key(1), &key(2), &key(3)], 2, 2);
    Node::open(Config::default(), key(n), suffix(n), charter, store, 0)
        .expect("memory store")
        .0
}

fn drain(node: &mut Node<MemStore>) {
    while node.poll_transmit().is_some() {}
    while node.poll_event().is_some() {}
}

/// Node 1 and node 4 (admitted by 1 and 2). Team 4 sponsors team 5 with
/// team 1, writes its contact entry and an advisory, and co-writes one of
/// team 1's advisories; node 1 receives all of it.
fn world() -> (Node<MemStore>, Node<MemStore>) {
    let mut one = open(1, MemStore::new());
    let network = one.statements().network_id();
    for s in admission(network, &key(4), &[&key(1), &key(2)]) {
        one.submit_statement(s).expect("valid");
    }
    for s in admission(network, &key(5), &[&key(1), &key(4)]) {
        one.submit_statement(s).expect("valid");
    }
    let mut four = open(4, MemStore::new());
    let all: Vec<SignedStatement> = one.statements().iter().cloned().collect();
    four.handle_message(0, key(1).id(), Message::Statements(all));
    assert!(four.is_member() && one.membership().is_member(&key(5).id()));

    one.publish_advisory(1_000, &advisory("TM-1", Tlp::Green, &[], &[]))
        .expect("publish");
    let mut shared = advisory("TM-2", Tlp::Green, &[], &[key(4).id()]);
    one.publish_advisory(1_000, &shared).expect("publish");
    let changes: Vec<_> = one
        .documents()
        .docs()
        .flat_map(|(d, _)| {
            let docs = one.documents();
            docs.change_hashes(d)
                .into_iter()
                .filter_map(move |h| docs.change(d, &h))
        })
        .collect();
    four.handle_message(0, key(1).id(), Message::Changes(changes));
    four.edit_contact(2_000, &contact("FOUR")).expect("contact");
    four.publish_advisory(2_000, &advisory("TM-4", Tlp::Green, &[], &[]))
        .expect("publish");
    shared.title = "Co-written".to_owned();
    four.update_advisory(3_000, key(1).id(), &shared)
        .expect("co-author edit")
        .expect("changed");
    let mine: Vec<_> = four
        .documents()
        .docs()
        .flat_map(|(d, _)| {
            let docs = four.documents();
            docs.change_hashes(d)
                .into_iter()
                .filter_map(move |h| docs.change(d, &h))
        })
        .collect();
    one.handle_message(0, key(4).id(), Message::Changes(mine));
    drain(&mut one);
    drain(&mut four);
    (one, four)
}

#[test]
fn the_frontier_keeps_introductions_and_the_heads_of_documents_the_key_wrote() {
    let (one, _) = world();
    let frontier = one.revocation_frontier(&key(4).id());
    let docs = one.documents();

    let intros: Vec<StatementId> = one
        .statements()
        .iter()
        .filter(|s| matches!(s.statement(), Statement::Introduction(i) if i.sponsor == key(4).id()))
        .map(|s| s.id())
        .collect();
    assert_eq!(intros.len(), 1, "team 4 sponsored team 5 once");
    assert_eq!(frontier.introductions, intros);

    let contact = DocRef::contacts(key(4).id()).id();
    let own = DocRef::advisory(key(4).id(), "TM-4").expect("id").id();
    let shared = DocRef::advisory(key(1).id(), "TM-2").expect("id").id();
    let untouched = DocRef::advisory(key(1).id(), "TM-1").expect("id").id();
    let mut expected: Vec<ChangeHash> = [contact, own, shared]
        .iter()
        .flat_map(|d| docs.heads(d))
        .collect();
    expected.sort();
    assert_eq!(frontier.heads, expected);
    assert!(docs.authors(&untouched).all(|a| *a != key(4).id()));
    assert!(!docs.heads(&untouched).is_empty());
    assert!(
        docs.heads(&untouched)
            .iter()
            .all(|h| !frontier.heads.contains(h)),
        "a document team 4 never wrote contributes no head"
    );
}

#[test]
fn a_node_opened_offline_over_the_same_store_computes_the_same_frontier() {
    let (one, four) = world();
    let offline = open(1, one.store().clone());
    for team in [key(4).id(), key(1).id(), key(5).id()] {
        assert_eq!(
            offline.revocation_frontier(&team),
            one.revocation_frontier(&team),
            "team {team}"
        );
    }
    let offline_four = open(4, four.store().clone());
    assert_eq!(
        offline_four.revocation_frontier(&key(1).id()),
        four.revocation_frontier(&key(1).id())
    );
    assert!(!one.revocation_frontier(&key(4).id()).is_empty());
}

fn revocation(by: u8, frontier: &Frontier, network: crate::NetworkId) -> SignedStatement {
    SignedStatement::sign(
        Statement::Revocation(Revocation {
            network,
            revoker: key(by).id(),
            revoked: key(4).id(),
            created_at: 1_700_000_300,
            reason: "key compromised".to_owned(),
            kept_introductions: frontier.introductions.clone(),
            kept_heads: frontier.heads.clone(),
        }),
        &key(by),
    )
    .expect("a frontier is sorted and fits a revocation")
}

/// Revoking with the frontier keeps what the key did before; revoking
/// with an empty one drops its documents and the member it sponsored.
#[test]
fn revoking_with_the_frontier_keeps_the_past_and_without_it_drops_it() {
    for keep in [true, false] {
        let (mut one, _) = world();
        let network = one.statements().network_id();
        let frontier = if keep {
            one.revocation_frontier(&key(4).id())
        } else {
            Frontier::default()
        };
        for by in [1, 2] {
            one.submit_statement(revocation(by, &frontier, network))
                .expect("valid");
        }
        assert!(one.membership().is_revoked(&key(4).id()));
        assert_eq!(one.membership().is_member(&key(5).id()), keep);
        let own = DocRef::advisory(key(4).id(), "TM-4").expect("id").id();
        let read: Option<Advisory> = one.documents().get(&own).expect("reads");
        assert_eq!(read.is_some(), keep, "keep = {keep}");
        let shared = DocRef::advisory(key(1).id(), "TM-2").expect("id").id();
        let read: Option<Advisory> = one.documents().get(&shared).expect("reads");
        let title = read.map(|a| a.title);
        assert_eq!(
            title.as_deref() == Some("Co-written"),
            keep,
            "the co-author's edit stays only when kept"
        );
    }
}
