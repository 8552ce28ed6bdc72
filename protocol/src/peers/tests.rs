use super::*;
use crate::document::fixtures::{admit, net};
use crate::fixtures::key;
use crate::{StatementSet, TeamKey};

/// Founders 1..=3 and members 4..=n.
fn members(n: u8) -> (StatementSet, Membership) {
    let mut set = net();
    for i in 4..=n {
        admit(&mut set, &key(i), &[&key(1), &key(2)]);
    }
    let m = set.membership();
    (set, m)
}

/// Founders 1..=3 and `n` more members.
fn many_members(n: u16) -> Membership {
    let mut set = net();
    for i in 0..n {
        let mut secret = [0xA5; 32];
        secret[..2].copy_from_slice(&i.to_be_bytes());
        admit(
            &mut set,
            &TeamKey::from_secret_bytes(secret),
            &[&key(1), &key(2)],
        );
    }
    set.membership()
}

fn addr(n: u32) -> Address {
    Address::new(format!("/ip4/10.0.0.1/tcp/{n}").into_bytes()).expect("short")
}

fn id(n: u8) -> TeamId {
    key(n).id()
}

#[test]
fn addresses_are_bounded_and_nonempty() {
    assert!(Address::new(vec![]).is_err());
    assert!(Address::new(vec![7; MAX_ADDRESS_BYTES]).is_ok());
    assert!(Address::new(vec![7; MAX_ADDRESS_BYTES + 1]).is_err());
}

#[test]
fn only_members_are_offered_to_members_only() {
    let (_, m) = members(5);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default());
    for n in 2..=5 {
        assert!(book.observed(&m, &me, id(n), addr(u32::from(n))));
    }
    assert!(!book.observed(&m, &me, id(9), addr(9)), "not a member");
    assert!(!book.observed(&m, &me, me, addr(1)), "not this node");
    assert_eq!(book.len(), 4);
    let offered: Vec<TeamId> = book.offer(&m, &id(3)).iter().map(|r| r.team).collect();
    let mut expected = vec![id(2), id(4), id(5)];
    let mut sorted = offered.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    assert!(!offered.contains(&id(3)), "a peer is not told about itself");
    assert_eq!(offered.len(), 3);
    assert!(
        book.offer(&m, &id(9)).is_empty(),
        "a non-member gets nothing"
    );
}

#[test]
fn an_offer_is_capped_and_starts_after_the_requester() {
    let m = many_members(MAX_OFFER as u16 - 1);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default());
    let all: Vec<TeamId> = m.members().iter().copied().filter(|t| *t != me).collect();
    for (i, t) in all.iter().enumerate() {
        book.observed(&m, &me, *t, addr(i as u32));
    }
    assert_eq!(book.len(), MAX_OFFER + 1);
    let to = all[10];
    let offer = book.offer(&m, &to);
    assert_eq!(offer.len(), MAX_OFFER, "everyone but the requester, capped");
    assert_eq!(offer[0].team, all[11], "starts after the requester");
    assert!(offer.iter().all(|r| r.team != to));
}

#[test]
fn learning_takes_members_only_within_the_caps() {
    let (_, m) = members(6);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default());
    let record = |team: TeamId, from: u32, n: u32| PeerRecord {
        team,
        addresses: (from..from + n).map(addr).collect(),
    };
    assert_eq!(
        book.learn(&m, &me, &id(9), vec![record(id(2), 0, 1)]),
        0,
        "a non-member is not believed"
    );
    let learned = book.learn(
        &m,
        &me,
        &id(2),
        vec![
            record(id(3), 0, 20),
            record(id(9), 0, 1),
            record(me, 0, 1),
            record(id(2), 100, 1),
        ],
    );
    assert_eq!(learned, MAX_ADDRESSES + 1);
    assert_eq!(book.addresses(&id(3)).len(), MAX_ADDRESSES);
    assert!(book.addresses(&id(9)).is_empty() && book.addresses(&me).is_empty());
    assert_eq!(book.stats().not_member, 3);
    assert_eq!(book.stats().over_cap, 12);

    // Team 4's confirmed addresses survive team 5's stories about it.
    for n in 0..MAX_ADDRESSES as u32 {
        book.observed(&m, &me, id(4), addr(1000 + n));
    }
    assert_eq!(book.learn(&m, &me, &id(5), vec![record(id(4), 0, 8)]), 0);
    assert_eq!(
        book.addresses(&id(4)),
        (0..MAX_ADDRESSES as u32)
            .map(|n| addr(1000 + n))
            .collect::<Vec<_>>()
    );
    // ... while a confirmed address replaces a learned one.
    assert!(book.observed(&m, &me, id(3), addr(5000)));
    let three = book.addresses(&id(3));
    assert_eq!(three.len(), MAX_ADDRESSES);
    assert_eq!(three.last(), Some(&addr(5000)));
    assert!(!three.contains(&addr(0)), "the oldest learned one went");
}

#[test]
fn the_whole_book_is_capped() {
    let (_, m) = members(8);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig {
        max_peers: 3,
        ..PeersConfig::default()
    });
    for n in 2..=8 {
        book.observed(&m, &me, id(n), addr(u32::from(n)));
    }
    assert_eq!(book.len(), 3);
    assert_eq!(book.stats().over_cap, 4);
}

fn plan_teams(plan: &DialPlan) -> Vec<TeamId> {
    plan.peers.iter().map(|(t, _)| *t).collect()
}

#[test]
fn the_dial_plan_fills_up_to_the_target_with_bounded_backoff() {
    let (_, m) = members(8);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default().with_target_peers(3));
    for n in 2..=8 {
        book.observed(&m, &me, id(n), addr(u32::from(n)));
    }
    book.observed(&m, &me, id(9), addr(9));
    let banned = id(2);
    let plan = book.dial_plan(0, &m, &me, 1, false, |t| *t == banned);
    assert_eq!(plan.peers.len(), 2, "two missing");
    assert!(!plan_teams(&plan).contains(&banned));
    assert!(plan.bootstrap, "nothing connected: bootstrap too");
    let first = plan_teams(&plan);

    // Planned peers wait at least `min_redial`; the others take their turn.
    let again = book.dial_plan(1, &m, &me, 1, true, |t| *t == banned);
    assert!(plan_teams(&again).iter().all(|t| !first.contains(t)));
    assert!(!again.bootstrap, "something is connected");

    // A failing peer backs off 1 s, 2 s, 4 s ... and never more than the cap.
    let p = first[0];
    let mut now = 10_000;
    let mut waits = vec![];
    for _ in 0..10 {
        book.dial_failed(now, &p);
        let mut t = now;
        while !plan_teams(&book.dial_plan(t, &m, &me, 0, true, |x| *x != p)).contains(&p) {
            t += 500;
        }
        waits.push(t - now);
        now = t;
    }
    assert_eq!(&waits[..4], &[2_000, 4_000, 8_000, 16_000], "{waits:?}");
    assert!(waits.iter().all(|w| *w <= 60_000), "{waits:?}");
    assert_eq!(*waits.last().expect("ten"), 60_000);

    // A connection, or an address not known before, resets it.
    book.dial_failed(now, &p);
    book.connected(&p);
    assert!(plan_teams(&book.dial_plan(now, &m, &me, 0, true, |x| *x != p)).contains(&p));
    book.dial_failed(now, &p);
    book.dial_failed(now, &p);
    book.observed(&m, &me, p, addr(7777));
    assert!(plan_teams(&book.dial_plan(now, &m, &me, 0, true, |x| *x != p)).contains(&p));
}

#[test]
fn at_the_target_one_more_member_is_dialed_now_and_then() {
    let (_, m) = members(6);
    let me = id(1);
    let config = PeersConfig::default()
        .with_target_peers(2)
        .with_explore_every(60_000);
    let mut book = PeerBook::new(config);
    for n in 2..=6 {
        book.observed(&m, &me, id(n), addr(u32::from(n)));
    }
    assert!(
        book.dial_plan(0, &m, &me, 2, true, |_| false)
            .peers
            .is_empty()
    );
    assert!(
        book.dial_plan(59_999, &m, &me, 2, true, |_| false)
            .peers
            .is_empty()
    );
    let mut explored = vec![];
    for round in 1..=4 {
        let plan = book.dial_plan(60_000 * round, &m, &me, 2, true, |_| false);
        assert_eq!(plan.peers.len(), 1);
        assert!(!plan.bootstrap);
        explored.extend(plan_teams(&plan));
    }
    explored.sort();
    explored.dedup();
    assert_eq!(explored.len(), 4, "members take turns");
    // No exploring once `explore_up_to` (target 2: 3) members are connected.
    assert!(
        book.dial_plan(600_000, &m, &me, 3, true, |_| false)
            .peers
            .is_empty()
    );
    assert!(
        book.dial_plan(700_000, &m, &me, 3, true, |_| false)
            .peers
            .is_empty()
    );
    assert_eq!(
        book.dial_plan(800_000, &m, &me, 2, true, |_| false)
            .peers
            .len(),
        1
    );
}

#[test]
fn bootstrap_redials_are_spaced() {
    let (_, m) = members(3);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default());
    assert!(book.dial_plan(0, &m, &me, 0, false, |_| false).bootstrap);
    assert!(
        !book
            .dial_plan(4_999, &m, &me, 0, false, |_| false)
            .bootstrap
    );
    assert!(
        book.dial_plan(5_000, &m, &me, 0, false, |_| false)
            .bootstrap
    );
}

#[test]
fn exchanges_are_periodic() {
    let mut book = PeerBook::new(PeersConfig::default());
    assert!(!book.exchange_due(0));
    assert!(!book.exchange_due(14_999));
    assert!(book.exchange_due(15_000));
    assert!(!book.exchange_due(15_001));
    assert!(book.exchange_due(30_000));
}

#[test]
fn a_saved_book_restores_and_other_formats_are_refused() {
    let (_, m) = members(5);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default());
    book.observed(&m, &me, id(2), addr(2));
    book.learn(
        &m,
        &me,
        &id(2),
        vec![PeerRecord {
            team: id(3),
            addresses: vec![addr(3), addr(33)],
        }],
    );
    assert!(book.is_dirty());
    let saved = book.to_save();
    book.saved();
    assert!(!book.is_dirty());
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0].0.len(), 38, "keyed by PeerId bytes");

    let mut restored = PeerBook::new(PeersConfig::default());
    for (k, v) in &saved {
        restored.restore(k, v).expect("restores");
    }
    assert!(!restored.is_dirty(), "restoring is not a change");
    assert_eq!(restored.to_save(), saved, "origins kept too");
    assert_eq!(restored.addresses(&id(3)), vec![addr(3), addr(33)]);

    let legacy = br#"["/ip4/127.0.0.1/tcp/4001"]"#;
    assert_eq!(
        restored.restore(&saved[0].0, legacy),
        Err(PeersError::Decode(DecodeError::UnknownVersion(b'[')))
    );
    assert!(restored.restore(b"not a peer id", &saved[0].1).is_err());
    let mut truncated = saved[0].1.clone();
    truncated.pop();
    assert!(restored.restore(&saved[0].0, &truncated).is_err());
}

#[test]
fn exchanged_records_round_trip_within_the_caps() {
    let records: Vec<PeerRecord> = (2..=4)
        .map(|n| PeerRecord {
            team: id(n),
            addresses: (0..u32::from(n)).map(addr).collect(),
        })
        .collect();
    let bytes = encode_records(&records);
    assert_eq!(decode_records(&bytes), Ok(records));
    assert!(decode_records(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(decode_records(&long).is_err());

    // Over the caps at encoding: truncated, so what is sent always decodes.
    let many: Vec<PeerRecord> = (0..MAX_OFFER + 5)
        .map(|_| PeerRecord {
            team: id(2),
            addresses: (0..20).map(addr).collect(),
        })
        .collect();
    let decoded = decode_records(&encode_records(&many)).expect("decodes");
    assert_eq!(decoded.len(), MAX_OFFER);
    assert!(decoded.iter().all(|r| r.addresses.len() == MAX_ADDRESSES));
}

#[test]
fn any_bytes_decode_or_fail_without_panicking() {
    let key = TeamKey::from_secret_bytes([5; 32]);
    let sample = encode_records(&[PeerRecord {
        team: key.id(),
        addresses: vec![addr(1)],
    }]);
    for cut in 0..sample.len() {
        let _ = decode_records(&sample[..cut]);
        let mut flipped = sample.clone();
        flipped[cut] ^= 0xff;
        let _ = decode_records(&flipped);
    }
}

#[test]
fn wanted_members_are_dialed_beside_the_target_and_take_turns() {
    let (_, m) = members(8);
    let me = id(1);
    let mut book = PeerBook::new(PeersConfig::default().with_target_peers(2));
    for n in 2..=8 {
        book.observed(&m, &me, id(n), addr(u32::from(n)));
    }
    let wanted: std::collections::BTreeSet<TeamId> =
        [id(3), id(5), id(7), id(9), me].into_iter().collect();
    let connected = id(3);
    let first: Vec<TeamId> = book
        .dial_wanted(0, &m, &me, &wanted, 1, |t| *t == connected)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let second: Vec<TeamId> = book
        .dial_wanted(0, &m, &me, &wanted, 1, |t| *t == connected)
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let mut both = [first.clone(), second.clone()].concat();
    both.sort();
    let mut expected = vec![id(5), id(7)];
    expected.sort();
    assert_eq!(
        both, expected,
        "not connected ones, not a non-member, not me"
    );
    assert!(
        book.dial_wanted(1, &m, &me, &wanted, 5, |t| *t == connected)
            .is_empty(),
        "each waits its backoff"
    );
    assert_eq!(
        book.dial_wanted(2_000, &m, &me, &wanted, 5, |_| false)
            .len(),
        3
    );
}
