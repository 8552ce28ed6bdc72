use super::circuit_listen_addr;
use libp2p::{Multiaddr, PeerId};

#[test]
fn the_reservation_address_is_the_relay_s_direct_address_and_circuit() {
    let relay = PeerId::random();
    let want: Multiaddr = format!("/ip4/192.0.2.1/tcp/4001/p2p/{relay}/p2p-circuit")
        .parse()
        .expect("multiaddr");
    for dialed in [
        "/ip4/192.0.2.1/tcp/4001".to_owned(),
        format!("/ip4/192.0.2.1/tcp/4001/p2p/{relay}"),
    ] {
        let dialed: Multiaddr = dialed.parse().expect("multiaddr");
        assert_eq!(circuit_listen_addr(&dialed, relay), want);
    }
}
