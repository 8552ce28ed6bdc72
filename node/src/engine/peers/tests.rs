use std::collections::BTreeMap;

use trustmesh_protocol::{
    Charter, CharterBody, Founder, Policy, Profile, StatementSet, TeamKey, TeamKind,
};

use super::*;

fn key(n: u8) -> TeamKey {
    TeamKey::from_secret_bytes([n; 32])
}

/// The libp2p peer of `key(n)`: the same ed25519 key.
fn peer(n: u8) -> PeerId {
    let key = libp2p::identity::Keypair::ed25519_from_bytes([n; 32]).expect("key");
    key.public().to_peer_id()
}

fn addr(port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("addr")
}

/// Founders 1, 2 and 3.
fn membership() -> Membership {
    let profile = Profile {
        name: "T".to_owned(),
        short_name: "T".to_owned(),
        country: "NL".to_owned(),
        kind: TeamKind::National,
        constituency: String::new(),
        email: String::new(),
        website: String::new(),
    };
    let founders: Vec<Founder> = (1..=3)
        .map(|n| Founder {
            id: key(n).id(),
            profile: profile.clone(),
        })
        .collect();
    let body = CharterBody::new("n", 0, founders, Policy::default()).expect("valid body");
    let sigs: BTreeMap<_, _> = (1..=3)
        .map(|n| (key(n).id(), body.sign(&key(n)).expect("founder")))
        .collect();
    StatementSet::new(Charter::seal(body, &sigs).expect("sealed")).membership()
}

#[test]
fn multiaddrs_travel_as_the_cores_opaque_addresses() {
    let a: Multiaddr = "/ip4/192.0.2.7/udp/4001/quic-v1".parse().expect("addr");
    let core = address(&a).expect("short enough");
    assert_eq!(multiaddr(&core), Some(a));
    assert_eq!(team_of(&peer(2)), Some(key(2).id()));
}

#[test]
fn the_book_survives_a_restart_through_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let m = membership();
    let me = key(1).id();
    {
        let mut book = PeerBook::load(RocksStore::open(&path).expect("opens"), 8);
        book.observed(&m, &me, &peer(2), &addr(4002));
        book.observed(&m, &me, &peer(3), &addr(4003));
        book.observed(&m, &me, &peer(9), &addr(4009));
        assert_eq!(book.len(), 2, "members only");
        book.save();
    }
    let book = PeerBook::load(RocksStore::open(&path).expect("reopens"), 8);
    assert_eq!(book.len(), 2);
    assert_eq!(book.addresses(&peer(2)), vec![addr(4002)]);
    assert_eq!(book.addresses(&peer(3)), vec![addr(4003)]);
}

/// A store written by the first peer book (a JSON list of multiaddr
/// strings per PeerId) still loads, and is rewritten in the core's format
/// on the next change.
#[test]
fn a_book_saved_in_the_first_format_still_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let store = RocksStore::open(&path).expect("opens");
        let legacy = serde_json::to_vec(&vec![addr(4002).to_string(), "not an address".to_owned()])
            .expect("json");
        store
            .put_peers(&[
                (peer(2).to_bytes(), legacy),
                (b"garbage".to_vec(), b"[]".to_vec()),
            ])
            .expect("writes");
    }
    let m = membership();
    let me = key(1).id();
    let mut book = PeerBook::load(RocksStore::open(&path).expect("reopens"), 8);
    assert_eq!(book.len(), 1, "the unreadable record is skipped");
    assert_eq!(book.addresses(&peer(2)), vec![addr(4002)]);
    book.observed(&m, &me, &peer(3), &addr(4003));
    book.save();
    drop(book);
    let store = RocksStore::open(&path).expect("reopens");
    let rewritten: Vec<_> = store
        .peers()
        .expect("reads")
        .into_iter()
        .filter(|(k, _)| *k == peer(2).to_bytes())
        .collect();
    assert_eq!(
        rewritten[0].1.first(),
        Some(&trustmesh_protocol::PEER_RECORD_VERSION)
    );
}
