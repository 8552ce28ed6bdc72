use trustmesh_protocol::{ActorSuffix, Message, TeamKey};

use super::{flip_signature, junk, unauthorized_change};
use crate::rng::SimRng;

#[test]
fn forgeries_parse_but_do_not_verify_and_junk_does_not_decode() {
    let network = trustmesh_protocol::NetworkId::from_bytes([7; 32]);
    let key = TeamKey::from_secret_bytes([1; 32]);
    let victim = TeamKey::from_secret_bytes([2; 32]).id();
    let change = unauthorized_change(network, &key, ActorSuffix::from_bytes([3; 16]), victim, 1)
        .expect("a well-formed change");
    change
        .verify(&network)
        .expect("validly signed by its author");
    let forged = flip_signature(&change).expect("still parses");
    assert!(forged.verify(&network).is_err());
    assert_eq!(forged.hash(), change.hash());
    let mut rng = SimRng::new(5);
    for _ in 0..100 {
        assert!(Message::decode(&junk(&mut rng)).is_err());
    }
}
