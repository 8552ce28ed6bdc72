use expect_test::expect;
use proptest::prelude::*;

use super::*;
use crate::fixtures::{application, charter, introduction, key, profile, revocation};

/// Builds a signed statement without the field checks `sign` applies, to
/// test that verification catches what a hostile peer could send.
fn sign_unchecked(statement: Statement, key: &TeamKey) -> SignedStatement {
    let sig = key.sign(&statement.signing_bytes());
    SignedStatement::assemble(statement, sig)
}

fn network() -> (Charter, NetworkId) {
    let c = charter(&[&key(1), &key(2)], 2, 2);
    let id = c.network_id();
    (c, id)
}

#[test]
fn golden_charter_encoding() {
    let (c, id) = network();
    let bytes = c.encode();
    expect![[r#"
        1cfc874584dfc5baec67c6549f936189b1f2029e98694647e16d185207f34a4b
        len 494
    "#]]
    .assert_eq(&format!("{id}\nlen {}\n", bytes.len()));
    assert_eq!(Charter::decode(&bytes), Ok(c));
}

#[test]
fn golden_statement_encodings() {
    let (_, net) = network();
    let app = application(net, &key(3));
    let intro = introduction(net, &key(1), &app);
    let rev = revocation(net, &key(1), &key(3), vec![intro.id()]);
    let shown: String = [&app, &intro, &rev]
        .iter()
        .map(|s| {
            format!(
                "{} {} {}\n",
                s.statement().kind_name(),
                s.id(),
                hex::encode(s.encode())
            )
        })
        .collect();
    expect![[r#"
        application 5a61b09c9daa4cc2e28cde498dfe0d85a12c15efd7c3f349256f35f5930bb172 01011cfc874584dfc5baec67c6549f936189b1f2029e98694647e16d185207f34a4bed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1000000006553f16400000029656434393238633620436f6d707574657220456d657267656e637920526573706f6e7365205465616d000000086564343932386336000000024e4c0100000017746865206e6174696f6e616c20676f7665726e6d656e740000001063657274406578616d706c652e6f72670000001368747470733a2f2f6578616d706c652e6f7267896aad78bf059922ae742c7b7c5f29f049c609ddce45766913dc5b7538814389875d0541c1f2aa24561728631fee10a59e5af5f555b9c40b12b189234c45e600
        introduction b8c93344fed7bbd3f439acd8bc8ac844293c310b56ede218b43e92be2b745592 01021cfc874584dfc5baec67c6549f936189b1f2029e98694647e16d185207f34a4b8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5ced4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d15a61b09c9daa4cc2e28cde498dfe0d85a12c15efd7c3f349256f35f5930bb172000000006553f1c80000001c6d65742061742074686520616e6e75616c20636f6e666572656e63654ff0e6ac9bd93e0e738ae2effcf8c689d0a9126adc08c9ab0edcd5d3c5e56a5a1c68f501b563bc99d54e9fb190274622bdac0463d594e49c9be901d249fa2a0e
        revocation 07c471e852ddb3da378ec25b72cf67e44c5ad8e3d8ab4d1a8e0fc3bd33aef7ef 01031cfc874584dfc5baec67c6549f936189b1f2029e98694647e16d185207f34a4b8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5ced4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1000000006553f22c0000000f6b657920636f6d70726f6d6973656400000001b8c93344fed7bbd3f439acd8bc8ac844293c310b56ede218b43e92be2b74559200000001ababababababababababababababababababababababababababababababababda0972811d7b2fd31fa85f86f7da4e2f53e9c4102a2548a1a5e98f215c741c8c43a838620b4643836b0d7c08e0e70bf2d25aef1208952f59e3cb83b0f3ef8104
    "#]].assert_eq(&shown);
}

#[test]
fn round_trip_is_byte_exact() {
    let (_, net) = network();
    let app = application(net, &key(3));
    let intro = introduction(net, &key(1), &app);
    let rev = revocation(net, &key(2), &key(3), vec![intro.id()]);
    for s in [app, intro, rev] {
        let bytes = s.encode();
        let back = SignedStatement::decode_verified(&bytes, &net).expect("verifies");
        assert_eq!(back, s);
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.id(), s.id());
    }
}

#[test]
fn a_flipped_signature_bit_is_a_bad_signature() {
    let (_, net) = network();
    let app = application(net, &key(3));
    let mut bytes = app.encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert_eq!(
        SignedStatement::decode_verified(&bytes, &net),
        Err(StatementError::BadSignature(key(3).id()))
    );
}

#[test]
fn a_changed_field_is_a_bad_signature() {
    let (_, net) = network();
    let app = application(net, &key(3));
    let Statement::Application(mut a) = app.statement().clone() else {
        unreachable!()
    };
    a.profile.name.push('!');
    let forged = SignedStatement::assemble(Statement::Application(a), *app.signature());
    assert_eq!(
        forged.verify(&net),
        Err(StatementError::BadSignature(key(3).id()))
    );
}

#[test]
fn a_statement_for_another_network_is_rejected() {
    let (_, net) = network();
    let other = charter(&[&key(1), &key(2)], 1, 1).network_id();
    assert_ne!(net, other, "policy is part of the network id");
    let app = application(other, &key(3));
    assert_eq!(
        SignedStatement::decode_verified(&app.encode(), &net),
        Err(StatementError::WrongNetwork {
            expected: net,
            found: other
        })
    );
}

#[test]
fn a_signature_for_one_kind_is_not_valid_for_another() {
    // Domain separation: the same body bytes under another kind tag fail.
    let (_, net) = network();
    let app = application(net, &key(3));
    let mut bytes = app.encode();
    bytes[1] = KIND_INTRODUCTION;
    assert!(SignedStatement::decode_verified(&bytes, &net).is_err());
}

#[test]
fn self_introduction_is_refused_when_signing_and_when_received() {
    let (_, net) = network();
    let app = application(net, &key(3));
    let intro = Statement::Introduction(Introduction {
        network: net,
        sponsor: key(3).id(),
        applicant: key(3).id(),
        application: app.id(),
        created_at: 5,
        note: String::new(),
    });
    assert_eq!(
        SignedStatement::sign(intro.clone(), &key(3)),
        Err(StatementError::SelfIntroduction)
    );
    let forged = sign_unchecked(intro, &key(3));
    assert_eq!(
        SignedStatement::decode_verified(&forged.encode(), &net),
        Err(StatementError::SelfIntroduction)
    );
}

#[test]
fn signing_with_someone_elses_key_is_refused() {
    let (_, net) = network();
    let app = application(net, &key(3));
    assert_eq!(
        SignedStatement::sign(app.statement().clone(), &key(4)),
        Err(StatementError::WrongKey {
            key: key(4).id(),
            signer: key(3).id()
        })
    );
}

#[test]
fn an_invalid_profile_is_refused() {
    let (_, net) = network();
    let mut p = profile("X");
    p.country = "Netherlands".into();
    let st = Statement::Application(Application {
        network: net,
        applicant: key(3).id(),
        created_at: 0,
        profile: p,
    });
    assert!(matches!(
        SignedStatement::sign(st.clone(), &key(3)),
        Err(StatementError::InvalidField {
            field: "country",
            ..
        })
    ));
    let forged = sign_unchecked(st, &key(3));
    assert!(matches!(
        forged.verify(&net),
        Err(StatementError::InvalidField {
            field: "country",
            ..
        })
    ));
}

#[test]
fn an_unsorted_frontier_is_refused() {
    let (_, net) = network();
    let st = Statement::Revocation(Revocation {
        network: net,
        revoker: key(1).id(),
        revoked: key(2).id(),
        created_at: 0,
        reason: "test".into(),
        kept_introductions: vec![StatementId([2; 32]), StatementId([1; 32])],
        kept_heads: vec![],
    });
    assert!(matches!(
        sign_unchecked(st, &key(1)).verify(&net),
        Err(StatementError::InvalidField {
            field: "kept introductions",
            ..
        })
    ));
}

#[test]
fn malformed_bytes_are_errors() {
    let (_, net) = network();
    let bytes = application(net, &key(3)).encode();
    // Every truncation fails cleanly.
    for n in 0..bytes.len() {
        assert!(SignedStatement::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        SignedStatement::decode(&longer),
        Err(DecodeError::TrailingBytes(1))
    );
    let mut version = bytes.clone();
    version[0] = 9;
    assert_eq!(
        SignedStatement::decode(&version),
        Err(DecodeError::UnknownVersion(9))
    );
    let mut kind = bytes.clone();
    kind[1] = 77;
    assert_eq!(
        SignedStatement::decode(&kind),
        Err(DecodeError::UnknownTag {
            field: "statement kind",
            tag: 77
        })
    );
    let mut bad_key = bytes;
    // The applicant key follows version, kind and network id. The identity
    // point (1, 0, ...) is small-order, so it is never a team key.
    bad_key[34..66].copy_from_slice(&{
        let mut k = [0u8; 32];
        k[0] = 1;
        k
    });
    assert_eq!(
        SignedStatement::decode(&bad_key),
        Err(DecodeError::InvalidKey("applicant"))
    );
}

#[test]
fn charter_needs_every_founder_signature() {
    let (a, b) = (key(1), key(2));
    let c = charter(&[&a, &b], 2, 2);
    let body = c.body().clone();
    let mut sigs = BTreeMap::new();
    sigs.insert(a.id(), body.sign(&a).expect("founder"));
    assert_eq!(
        Charter::seal(body.clone(), &sigs),
        Err(StatementError::MissingFounderSignature(b.id()))
    );
    // A signature by a non-founder is refused, both when signing and sealing.
    assert_eq!(
        body.sign(&key(5)),
        Err(StatementError::NotAFounder(key(5).id()))
    );
    sigs.insert(key(5).id(), key(5).sign(b"x"));
    assert_eq!(
        Charter::seal(body.clone(), &sigs),
        Err(StatementError::NotAFounder(key(5).id()))
    );
    // A founder's signature over something else is a bad signature.
    sigs.remove(&key(5).id());
    sigs.insert(b.id(), b.sign(b"something else"));
    assert_eq!(
        Charter::seal(body, &sigs),
        Err(StatementError::BadSignature(b.id()))
    );
}

#[test]
fn charter_decoding_checks_signatures() {
    let c = charter(&[&key(1), &key(2)], 2, 2);
    let mut bytes = c.encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    assert!(matches!(
        Charter::decode(&bytes),
        Err(StatementError::BadSignature(_))
    ));
}

#[test]
fn charter_policy_must_be_workable() {
    let f = |n: u8| Founder {
        id: key(n).id(),
        profile: profile("F"),
    };
    let policy = |k, r| Policy {
        sponsors_required: k,
        revocation_quorum: r,
    };
    assert!(matches!(
        CharterBody::new("n", 0, vec![f(1)], policy(2, 1)),
        Err(StatementError::InvalidPolicy(_))
    ));
    assert!(matches!(
        CharterBody::new("n", 0, vec![f(1)], policy(0, 1)),
        Err(StatementError::InvalidPolicy(_))
    ));
    assert!(matches!(
        CharterBody::new("n", 0, vec![f(1)], policy(1, 0)),
        Err(StatementError::InvalidPolicy(_))
    ));
    assert!(matches!(
        CharterBody::new("n", 0, vec![f(1), f(1)], policy(1, 1)),
        Err(StatementError::InvalidPolicy(_))
    ));
    assert!(matches!(
        CharterBody::new("n", 0, vec![], policy(1, 1)),
        Err(StatementError::InvalidPolicy(_))
    ));
    // Founder order does not change the body or the network id.
    let ab = CharterBody::new("n", 0, vec![f(1), f(2)], policy(1, 1)).expect("valid");
    let ba = CharterBody::new("n", 0, vec![f(2), f(1)], policy(1, 1)).expect("valid");
    assert_eq!(ab.network_id(), ba.network_id());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = SignedStatement::decode(&bytes);
        let _ = Charter::decode(&bytes);
    }

    #[test]
    fn any_decodable_mutation_re_encodes_exactly_and_fails_verification(
        pos in any::<prop::sample::Index>(),
        xor in 1u8..,
    ) {
        let (_, net) = network();
        let app = application(net, &key(3));
        let mut bytes = app.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        if let Ok(s) = SignedStatement::decode(&bytes) {
            prop_assert_eq!(s.encode(), bytes);
            prop_assert!(s.verify(&net).is_err());
        }
    }
}
