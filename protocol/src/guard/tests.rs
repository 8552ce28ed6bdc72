use super::*;
use crate::document::fixtures::{admit, net};
use crate::fixtures::{key, revocation};

fn guard(rate: u32, burst: u32) -> Guard<TeamId> {
    Guard::new(
        GuardConfig::default()
            .with_rate(rate, burst)
            .with_ban(600_000),
    )
}

#[test]
fn a_bucket_allows_its_burst_then_its_rate() {
    let mut g = guard(10, 5);
    let p = key(1).id();
    assert_eq!((0..8).filter(|_| g.admit(1_000, &p)).count(), 5);
    // 0.5 s later, 5 more tokens at 10/s.
    assert_eq!((0..8).filter(|_| g.admit(1_500, &p)).count(), 5);
    // 0.15 s: one and a half tokens, so one request and half a token kept.
    assert_eq!((0..8).filter(|_| g.admit(1_650, &p)).count(), 1);
    assert_eq!((0..8).filter(|_| g.admit(1_700, &p)).count(), 1);
    // Never more than the burst, however long the wait.
    assert_eq!((0..100).filter(|_| g.admit(3_600_000, &p)).count(), 5);
    assert_eq!(g.stats().rate_limited, 3 + 3 + 7 + 7 + 95);
    // Each peer has its own bucket; a forgotten peer starts full again.
    let q = key(2).id();
    assert_eq!((0..8).filter(|_| g.admit(3_600_000, &q)).count(), 5);
    g.forget(&p);
    assert_eq!((0..8).filter(|_| g.admit(3_600_000, &p)).count(), 5);
}

#[test]
fn a_clock_going_back_gives_no_tokens_and_no_panic() {
    let mut g = guard(10, 1);
    let p = key(1).id();
    assert!(g.admit(10_000, &p));
    assert!(!g.admit(5_000, &p));
    assert!(!g.admit(10_050, &p));
    assert!(g.admit(10_100, &p));
}

#[test]
fn a_ban_lasts_its_time_and_a_revoked_key_is_never_unbanned() {
    let mut set = net();
    admit(&mut set, &key(4), &[&key(1), &key(2)]);
    admit(&mut set, &key(5), &[&key(1), &key(2)]);
    let network = set.network_id();
    for by in [1, 2] {
        set.insert(revocation(network, &key(by), &key(5), vec![]))
            .expect("valid");
    }
    let m = set.membership();
    assert!(m.is_revoked(&key(5).id()) && m.is_member(&key(4).id()));

    let mut g = guard(10, 10);
    let (four, five) = (key(4).id(), key(5).id());
    assert_eq!(g.penalize(1_000, four, "malformed"), 601_000);
    g.penalize(1_000, five, "bad_change");
    g.penalize(2_000, five, "bad_change");
    assert!(g.is_banned(600_999, &four));
    assert!(g.expire(600_999, &m).is_empty());
    assert_eq!(g.expire(601_000, &m), vec![four]);
    assert!(!g.is_banned(601_000, &four));
    assert!(g.is_banned(601_000, &five), "the later offence extended it");
    assert!(
        g.expire(602_000, &m).is_empty(),
        "a revoked key stays blocked"
    );
    assert!(!g.is_banned(602_000, &five));
    assert_eq!(g.stats().bans, 3);
    assert_eq!(g.stats().invalid.get("bad_change"), Some(&2));
    assert_eq!(g.stats().invalid.get("malformed"), Some(&1));
}

#[test]
fn the_ban_list_and_the_buckets_are_capped() {
    let m = net().membership();
    let mut g: Guard<TeamId> = Guard::new(GuardConfig {
        max_bans: 2,
        max_buckets: 2,
        ..GuardConfig::default()
    });
    let (a, b, c) = (key(1).id(), key(2).id(), key(3).id());
    g.penalize(0, a, "malformed");
    g.penalize(10, b, "malformed");
    g.penalize(20, c, "malformed");
    assert_eq!(g.bans().count(), 2);
    assert_eq!(g.stats().bans_evicted, 1);
    assert!(!g.is_banned(30, &a), "the ban ending soonest went");
    assert_eq!(g.expire(30, &m), vec![a], "and is reported for unblocking");

    g.admit(0, &a);
    g.admit(5, &b);
    g.admit(9, &c);
    assert_eq!(g.stats().buckets_evicted, 1);
}
