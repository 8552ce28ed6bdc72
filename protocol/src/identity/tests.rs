use super::*;
use proptest::prelude::*;

fn key(seed: u8) -> TeamKey {
    TeamKey::from_secret_bytes([seed; 32])
}

#[test]
fn peer_id_matches_libp2p_for_the_same_key() {
    let k = key(7);
    let lib = libp2p_identity::Keypair::ed25519_from_bytes(k.secret_bytes())
        .expect("32 bytes are a valid ed25519 secret");
    let lib_peer = lib.public().to_peer_id();
    assert_eq!(k.id().to_peer_id_bytes(), lib_peer.to_bytes());
    assert_eq!(k.id().peer_id(), lib_peer.to_base58());
    let back = TeamId::from_peer_id_bytes(&lib_peer.to_bytes()).expect("ed25519 PeerId");
    assert_eq!(back, k.id());
    let parsed: TeamId = lib_peer.to_base58().parse().expect("PeerId string");
    assert_eq!(parsed, k.id());
}

#[test]
fn a_peer_id_of_another_key_type_is_rejected() {
    // A PeerId that hashes its key (sha2-256 multihash) carries no inline key.
    let mut bytes = vec![0x12, 0x20];
    bytes.extend_from_slice(&[1u8; 32]);
    assert_eq!(
        TeamId::from_peer_id_bytes(&bytes),
        Err(IdentityError::NotEd25519PeerId)
    );
}

#[test]
fn text_forms_parse_back() {
    let id = key(3).id();
    assert_eq!(id.to_string().parse::<TeamId>(), Ok(id));
    assert_eq!(id.peer_id().parse::<TeamId>(), Ok(id));
    assert!(matches!(
        "not-a-key".parse::<TeamId>(),
        Err(IdentityError::Unparsable(_))
    ));
}

#[test]
fn weak_keys_are_not_team_ids() {
    // The identity point (a small-order point) is a weak key.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(TeamId::from_bytes(identity), Err(IdentityError::InvalidKey));
}

#[test]
fn debug_hides_the_secret() {
    let k = key(9);
    let shown = format!("{k:?}");
    assert!(!shown.contains(&hex::encode(k.secret_bytes())));
}

proptest! {
    #[test]
    fn verify_accepts_own_signature_and_rejects_any_change(
        secret in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        flip in any::<usize>(),
    ) {
        let k = TeamKey::from_secret_bytes(secret);
        let sig = k.sign(&msg);
        prop_assert!(k.id().verify(&msg, &sig));
        let mut other = msg.clone();
        if other.is_empty() {
            other.push(0);
        } else {
            let i = flip % other.len();
            other[i] ^= 1;
        }
        prop_assert!(!k.id().verify(&other, &sig));
    }
}
