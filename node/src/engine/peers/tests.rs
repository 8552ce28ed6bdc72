use super::*;

fn peer(n: u8) -> PeerId {
    let key = libp2p::identity::Keypair::ed25519_from_bytes([n; 32]).expect("key");
    key.public().to_peer_id()
}

fn addr(port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("addr")
}

#[test]
fn a_bucket_allows_its_burst_then_its_rate() {
    let t0 = Instant::now();
    let mut b = Bucket::new(10, 5);
    assert_eq!((0..8).filter(|_| b.take(t0)).count(), 5);
    // 0.5 s later, 5 more tokens at 10/s.
    let t1 = t0 + Duration::from_millis(500);
    assert_eq!((0..8).filter(|_| b.take(t1)).count(), 5);
    // Never more than the burst, however long the wait.
    let t2 = t1 + Duration::from_secs(3600);
    assert_eq!((0..100).filter(|_| b.take(t2)).count(), 5);
}

#[test]
fn the_book_caps_addresses_and_backs_off_failed_dials() {
    let mut book = PeerBook::default();
    let p = peer(1);
    assert!(book.add(p, addr(1)));
    assert!(!book.add(p, addr(1)), "an address is kept once");
    for port in 2..20 {
        book.add(p, addr(port));
    }
    assert_eq!(book.addresses(&p).len(), MAX_ADDRS);
    assert_eq!(book.addresses(&p).last(), Some(&addr(19)), "newest kept");

    let now = Instant::now();
    assert_eq!(book.dialable(now).count(), 1);
    book.dial_failed(&p, now);
    book.dial_failed(&p, now);
    assert_eq!(book.dialable(now).count(), 0);
    assert_eq!(book.dialable(now + Duration::from_secs(4)).count(), 1);
    book.dial_succeeded(&p);
    assert_eq!(book.dialable(now).count(), 1);
}

#[test]
fn the_book_survives_a_restart_through_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let mut book = PeerBook::load(RocksStore::open(&path).expect("opens"));
        book.add(peer(1), addr(4001));
        book.add(peer(2), addr(4002));
        book.save();
    }
    let book = PeerBook::load(RocksStore::open(&path).expect("reopens"));
    assert_eq!(book.len(), 2);
    assert_eq!(book.addresses(&peer(2)), vec![addr(4002)]);
}
